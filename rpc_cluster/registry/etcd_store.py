"""Registrations in etcd, shared by every registry process on it (``--store etcd://...``).

Every registry keeps a ``RegistryTable`` fed by etcd's watch, so ``lookup``
and ``services`` answer from memory, and a registration made through one
registry is in every other's table within milliseconds. ``register`` and
``deregister`` write to etcd and answer once this registry's table has seen
the write (read-your-writes).

One registry at a time checks and pushes: the one that holds the leader key
(``election.py``). It writes status changes to etcd; every table applies
them from the watch, in revision order, and so makes the same notices. Only
the leader sends them; once they are delivered it records their revision
under ``pushed``. The others keep theirs until they see that record, so a
new leader sends exactly the notices after the last recorded revision: none
is lost, and only those of a leader that died between delivering and
recording may go out twice (``Service.update`` is idempotent, and a push is
only a hint that a service checks with the registry).

Keys, under the prefix (default ``/rpc-cluster/``): ``services/<url>`` (a
registration: name, URL, requirements, status, registration time),
``leader`` (the checking registry's URL, under its lease), ``pushed`` (a
revision), ``checks`` (the leader's last checks and failure counts, written
once a round, so every registry shows them).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from typing import Any

from ..core.errors import NotFound, ServiceUnavailable
from .election import Election
from .etcd import Compacted, Etcd, EtcdUnavailable, encode, parse_url
from .table import CRITICAL, PASSING, Notice, RegistryTable

log = logging.getLogger("rpc_cluster.registry.etcd_store")

# How long register/deregister wait for the watch to bring their own write back.
READ_YOUR_WRITES_TIMEOUT = 5.0
# How long lookup and services wait to catch up with etcd before answering from the
# table as it is: well inside a client's 2 s timeout, even when etcd is unreachable.
CATCH_UP_TIMEOUT = 0.3
# Seconds between the leader's writes of its last checks (other registries show them).
MIN_SUMMARY_INTERVAL = 10.0


class EtcdStore:
    """See the module docstring. The same interface as ``store.MemoryStore``."""

    def __init__(
        self,
        url: str,
        *,
        deregister_after: float = 60.0,
        max_registrations: int | None = None,
        notify: Callable[..., None],
        leader_ttl: int = 5,
        summary_interval: float = 3.0,
    ):
        members, prefix = parse_url(url)
        self.url = url
        self.etcd = Etcd(members)
        self._services = prefix + "services/"
        self._leader_key = prefix + "leader"
        self._pushed_key = prefix + "pushed"
        self._checks_key = prefix + "checks"
        # Touched by every change to the registrations, in the same transaction: its
        # revision is how far a table must have come to hold every change made so far.
        self._changed_key = prefix + "changed"
        self._prefix = prefix
        self.table = RegistryTable(
            deregister_after=deregister_after, max_registrations=max_registrations, notify=self._noticed
        )
        self.deregister_after = deregister_after
        # The notifier's send(notices, on_done): on_done once a notice is delivered or given up.
        self._send = notify
        # Notices handed to the notifier and not yet done, by revision; how far we handed them.
        self._in_flight: dict[int, int] = {}
        self._in_flight_lock = threading.Lock()
        self._handed_up_to = 0
        self.leader_ttl = leader_ttl
        self.summary_interval = summary_interval
        self.election: Election | None = None
        #: The checking registry's URL, as etcd says (None while there is none).
        self.leader: str | None = None
        # Notices the table made, by revision, not yet known to be pushed.
        self._unpushed: deque[tuple[int, list[Notice]]] = deque()
        self._pushed = 0
        self._applied = 0
        self._event_revision = 0
        self._quiet = False
        self._mod_revision: dict[str, int] = {}
        self._applied_changed = threading.Condition()
        self._leader_gone = threading.Event()
        #: Called once each time this registry starts to lead (the registry checks at once).
        self.on_leading: Callable[[], None] = lambda: None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- queries: from the table ---------------------------------------------------------------

    def lookup(self, service_name: str) -> list[str]:
        self._catch_up()
        return self.table.lookup(service_name)

    def services(self) -> list[dict]:
        self._catch_up()
        return [dict(row, checked_by=self.leader) for row in self.table.services()]

    def _catch_up(self) -> None:
        """Wait until the table holds every change etcd has now, so a change made through
        another registry is seen here at once. One linearizable etcd read (a quorum round
        trip): lookup measured 4-6 ms against 0.6 ms with the memory store
        (benchmarks/registry_ha.py). Services call it rarely (a push to check, a REPL's
        poll every 2 s), and "visible at once" is worth it.

        If etcd is unreachable, the table as it is answers: better a slightly old
        answer than none while etcd recovers.
        """
        try:
            answer = self.etcd.quick_request("/kv/range", {"key": encode(self._changed_key)}, CATCH_UP_TIMEOUT)
            kvs = answer.get("kvs") or [{"mod_revision": 0}]
            self._wait_applied(int(kvs[0]["mod_revision"]), CATCH_UP_TIMEOUT)
        except (EtcdUnavailable, ServiceUnavailable):
            pass

    def get(self, service_url: str) -> Any:
        return self.table.get(service_url)

    def __len__(self) -> int:
        return len(self.table)

    # -- changes: written to etcd, seen through the watch -------------------------------------

    def register(self, service_name: str, service_url: str, required_services: Any = ()) -> tuple[dict, list]:
        required = list(dict.fromkeys(required_services))
        self.table.check_room(service_url)
        old = self.table.get(service_url)
        keep_time = old is not None and old.status == PASSING and old.service_name == service_name
        value = {
            "service_name": service_name,
            "service_url": service_url,
            "required_services": required,
            "status": PASSING,
            "registered_at": old.registered_at if keep_time else time.time(),
        }
        _, revision = self._write(
            [{"request_put": {"key": encode(self._key(service_url)), "value": encode(json.dumps(value))}}]
        )
        self._wait_applied(revision)
        return self.table.providers_for(required), []

    def deregister(self, service_url: str) -> list:
        if self.table.get(service_url) is None:
            self._catch_up()
            if self.table.get(service_url) is None:
                raise NotFound(f"No service registered at {service_url}", {"service_url": service_url})
        # Deleting is harmless to repeat (etcd.py sends a transaction again on another member
        # when one fails mid-request): the answer is what this registry knew it had.
        _, revision = self._write([{"request_delete_range": {"key": encode(self._key(service_url))}}])
        self._wait_applied(revision)
        return []

    def _write(self, success: list[dict], compare: list[dict] | None = None) -> tuple[bool, int]:
        try:
            return self.etcd.txn(compare or [], [*success, self._touch()])
        except EtcdUnavailable as exc:
            raise ServiceUnavailable("The registry's store (etcd) is unavailable", str(exc)) from None

    def _touch(self) -> dict:
        return {"request_put": {"key": encode(self._changed_key), "value": ""}}

    def _key(self, service_url: str) -> str:
        return self._services + urllib.parse.quote(service_url, safe="")

    def _wait_applied(self, revision: int, timeout: float = 0.0) -> None:
        deadline = time.monotonic() + (timeout or READ_YOUR_WRITES_TIMEOUT)
        with self._applied_changed:
            while self._applied < revision:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ServiceUnavailable(
                        "The registry's store (etcd) is slow to confirm the change", {"revision": revision}
                    )
                self._applied_changed.wait(left)

    # -- the health check's side (leader only) -------------------------------------------------

    def _leading(self) -> bool:
        return self.election is not None and self.election.leading

    def check_order(self) -> list[str]:
        """What the health check checks: everything while we lead, nothing otherwise."""
        return self.table.check_order() if self._leading() else []

    def record_success(self, service_url: str) -> list:
        return self._record(service_url, PASSING)

    def record_failure(self, service_url: str) -> list:
        return self._record(service_url, CRITICAL)

    def _record(self, service_url: str, status: str) -> list:
        """A check's outcome: a change of status goes to etcd (every table applies it from
        the watch); the same status again only updates this table's check time and count."""
        reg = self.table.get(service_url)
        if reg is None or not self._leading():
            return []
        if reg.status != status:
            self._write_status(service_url, status)
        elif status == PASSING:
            self.table.record_success(service_url)
        else:
            self.table.record_failure(service_url)
        return []

    def _write_status(self, service_url: str, status: str) -> None:
        reg = self.table.get(service_url)
        known = self._mod_revision.get(service_url)
        if reg is None or known is None:
            return
        key = encode(self._key(service_url))
        value = {
            "service_name": reg.service_name,
            "service_url": service_url,
            "required_services": list(reg.required_services),
            "status": status,
            "registered_at": reg.registered_at,
        }
        try:
            # Only over the registration we checked: a newer one (registered again meanwhile) wins.
            self.etcd.txn(
                [{"key": key, "result": "EQUAL", "target": "MOD", "mod_revision": known}],
                [{"request_put": {"key": key, "value": encode(json.dumps(value))}}, self._touch()],
            )
        except EtcdUnavailable as exc:
            log.warning("could not record %s as %s (%s); the next round tries again", service_url, status, exc)

    def drop_expired(self) -> list[str]:
        if not self._leading():
            return []
        dropped = []
        for url in self.table.expired():
            key = encode(self._key(url))
            try:
                gone, _ = self.etcd.txn(
                    [{"key": key, "result": "EQUAL", "target": "MOD", "mod_revision": self._mod_revision.get(url, 0)}],
                    [{"request_delete_range": {"key": key}}, self._touch()],
                )
            except EtcdUnavailable:
                break
            if gone:
                dropped.append(url)
        return dropped

    # -- the watch feeds the table -----------------------------------------------------------------

    def _noticed(self, notices: list[Notice]) -> None:
        # Called by the table under its lock, in the order of the changes.
        if not self._quiet:
            self._unpushed.append((self._event_revision, notices))

    def _load(self) -> int:
        """The whole state as etcd has it now, into the table without notices; its revision."""
        revision, rows = self.etcd.range(self._prefix)
        self._quiet = True
        try:
            present = {
                urllib.parse.unquote(key[len(self._services) :]) for key, _, _ in rows if key.startswith(self._services)
            }
            for url in set(self.table.urls()) - present:  # deleted while we could not watch
                self._apply_one({"type": "DELETE", "kv": {"key": self._key(url), "mod_revision": revision}})
            self._apply(
                [
                    {"type": "PUT", "kv": {"key": key, "value": value, "mod_revision": mod_revision}}
                    for key, value, mod_revision in rows
                ],
                0,
            )
        finally:
            self._quiet = False
        with self._applied_changed:
            self._applied = revision
            self._applied_changed.notify_all()
        return revision

    def _apply(self, events: list[dict], revision: int) -> None:
        for event in events:
            try:
                self._apply_one(event)
            except Exception:
                # One bad value must not stop the watch (it would replay it for ever).
                log.exception("could not apply etcd event on %s; skipped", event.get("kv", {}).get("key"))
        with self._applied_changed:
            self._applied = max(self._applied, revision)
            self._applied_changed.notify_all()

    def _apply_one(self, event: dict) -> None:
        kv = event["kv"]
        key, value = kv["key"], kv.get("value") or ""
        self._event_revision = int(kv.get("mod_revision") or 0)
        deleted = event.get("type") == "DELETE"
        if key.startswith(self._services):
            url = urllib.parse.unquote(key[len(self._services) :])
            if deleted:
                self._mod_revision.pop(url, None)
                with contextlib.suppress(NotFound):
                    self.table.deregister(url)
            else:
                self._mod_revision[url] = self._event_revision
                self._apply_registration(url, json.loads(value))
        elif key == self._leader_key:
            self.leader = None if deleted else value
            if deleted:
                self._leader_gone.set()  # campaign now, not at the next step
        elif key == self._pushed_key and not deleted:
            self._pushed = max(self._pushed, int(value))
            while self._unpushed and self._unpushed[0][0] <= self._pushed:
                self._unpushed.popleft()
        elif key == self._checks_key and not deleted and not self._leading():
            self.table.note_checks({url: tuple(check) for url, check in json.loads(value).items()})

    def _apply_registration(self, url: str, value: dict) -> None:
        reg = self.table.get(url)
        before = reg.status if reg is not None else None
        required = tuple(dict.fromkeys(value["required_services"]))
        if reg is None or reg.service_name != value["service_name"] or reg.required_services != required:
            # The limit was checked by the registry that wrote it; etcd's word is final here.
            self.table.register(value["service_name"], url, required, enforce_limit=False)
            reg = self.table.get(url)
        elif value["status"] == PASSING and reg.status == CRITICAL:
            self.table.record_success(url)
        if value["status"] == CRITICAL and reg.status == PASSING:
            self.table.record_failure(url)
        reg.registered_at = value["registered_at"]
        if before is not None and before != reg.status and self._leading() and not self._quiet:
            # The health check's own line cannot say it: the change lands here, from the watch.
            log.warning("%s at %s is now %s", value["service_name"], url, reg.status)

    # -- running -----------------------------------------------------------------------------------

    def start(self, registry_url: str) -> None:
        """Load the state, then follow etcd and campaign to lead; raises EtcdUnavailable."""
        self.election = Election(self.etcd, self._leader_key, registry_url, self.leader_ttl)
        revision = self._load()
        self._spawn(lambda: self._follow(revision + 1), "etcd-watch")
        self._spawn(self._campaign, "etcd-election")
        self._spawn(self._push, "etcd-push")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"registry-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _follow(self, start_revision: int) -> None:
        while not self._stopping.is_set():
            try:
                self.etcd.watch(self._prefix, start_revision, self._apply, self._stopping)
            except Compacted as exc:
                log.warning("%s: loading the registrations again", exc)
                try:
                    start_revision = self._load() + 1
                except EtcdUnavailable:
                    self._stopping.wait(1.0)

    def _campaign(self) -> None:
        step = max(0.2, self.leader_ttl / 4)
        was_leading = False
        while not self._stopping.is_set():
            leading = self.election.step()
            if leading and not was_leading:
                self.on_leading()
            was_leading = leading
            # Woken early when the watch sees the leader key go (its lease ran out).
            self._leader_gone.wait(step)
            self._leader_gone.clear()

    def _push(self) -> None:
        """While leading: send the notices after the last pushed revision, and record how far
        every notice has been delivered (a slow dependent delays only that record, not pushes)."""
        last_summary = 0.0
        was_leading = False
        while not self._stopping.wait(0.02):
            leading = self._leading()
            if leading and not was_leading:
                self._handed_up_to = self._pushed  # take over from the last recorded revision
            was_leading = leading
            if not leading:
                continue
            for revision, notices in list(self._unpushed):
                if revision <= self._handed_up_to:
                    continue
                with self._in_flight_lock:
                    self._in_flight[revision] = self._in_flight.get(revision, 0) + len(notices)
                self._send(notices, on_done=functools.partial(self._delivered, revision))
                self._handed_up_to = revision
            with self._in_flight_lock:
                waiting = list(self._in_flight)
            done_up_to = min(waiting) - 1 if waiting else self._handed_up_to
            if done_up_to > self._pushed:
                self._record_pushed(done_up_to)
            # Every few rounds, not every one: each write stays in etcd's history until compacted.
            if time.monotonic() - last_summary >= max(self.summary_interval, MIN_SUMMARY_INTERVAL):
                last_summary = time.monotonic()
                self._publish_checks()

    def _delivered(self, revision: int) -> None:
        with self._in_flight_lock:
            self._in_flight[revision] -= 1
            if not self._in_flight[revision]:
                del self._in_flight[revision]

    def _record_pushed(self, revision: int) -> None:
        try:
            self.etcd.txn([], [{"request_put": {"key": encode(self._pushed_key), "value": encode(str(revision))}}])
            self._pushed = max(self._pushed, revision)
        except EtcdUnavailable as exc:
            log.warning("could not record pushes up to revision %d (%s)", revision, exc)

    def _publish_checks(self) -> None:
        checks = self.table.checks()
        with contextlib.suppress(EtcdUnavailable):
            self.etcd.txn([], [{"request_put": {"key": encode(self._checks_key), "value": encode(json.dumps(checks))}}])

    def stop(self) -> None:
        self._stopping.set()
        # Joined first: a campaign step still running could take the key again after we resign.
        for thread in self._threads:
            thread.join(timeout=5)
        if self.election is not None:
            self.election.resign()
