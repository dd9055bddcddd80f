"""This registry's copy of the registrations in etcd: loaded, then fed by the watch.

The mirror holds the ``RegistryTable`` that ``lookup`` and ``services``
answer from. It applies etcd's changes in revision order, so every
registry's table makes the same notices from the same changes; it hands
them, with their revision, to the push ledger (``push_ledger.py``). It also
keeps how far it has applied etcd's history, which is how a write through
this registry waits until its own table shows it (read-your-writes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...core.errors import NotFound, ServiceUnavailable
from ..table import CRITICAL, PASSING, Notice, RegistryTable
from .gateway import Compacted, Etcd, EtcdUnavailable, encode

log = logging.getLogger("rpc_cluster.registry.etcd.mirror")

# How long register/deregister wait for the watch to bring their own write back.
READ_YOUR_WRITES_TIMEOUT = 5.0
# How long lookup and services wait to catch up with etcd before answering from the
# table as it is: well inside a client's 2 s timeout, even when etcd is unreachable.
CATCH_UP_TIMEOUT = 0.3


@dataclass(frozen=True)
class Keys:
    """The registry's keys in etcd, under one prefix (default ``/rpc-cluster/``)."""

    prefix: str

    @property
    def services(self) -> str:
        """Where registrations live: ``services/<url, quoted>``."""
        return self.prefix + "services/"

    @property
    def leader(self) -> str:
        """The checking registry's URL, under its lease."""
        return self.prefix + "leader"

    @property
    def pushed(self) -> str:
        """The revision up to which every notice has been delivered."""
        return self.prefix + "pushed"

    @property
    def checks(self) -> str:
        """The leader's last checks and failure counts, written once a round, so every registry shows them."""
        return self.prefix + "checks"

    @property
    def changed(self) -> str:
        """Touched by every change to the registrations, in the same transaction: its revision
        is how far a table must have come to hold every change made so far."""
        return self.prefix + "changed"

    def service(self, service_url: str) -> str:
        return self.services + urllib.parse.quote(service_url, safe="")

    def url_of(self, key: str) -> str | None:
        """The registered URL a key holds; None for a key that is not a registration."""
        return urllib.parse.unquote(key[len(self.services) :]) if key.startswith(self.services) else None


class Mirror:
    """The watch-fed table. ``on_notices(revision, notices)`` gets each change's notices,
    ``on_pushed(revision)`` each record of delivered pushes; ``leading()`` says whether this
    registry checks (its own checks are not taken from etcd)."""

    def __init__(
        self,
        etcd: Etcd,
        keys: Keys,
        table: RegistryTable,
        *,
        on_notices: Callable[[int, list[Notice]], None],
        on_pushed: Callable[[int], None],
        leading: Callable[[], bool],
    ):
        self.etcd = etcd
        self.keys = keys
        #: The registrations; built by the caller with ``notify=mirror.noticed``.
        self.table = table
        self._on_notices = on_notices
        self._on_pushed = on_pushed
        self._leading = leading
        #: The checking registry's URL, as etcd says (None while there is none).
        self.leader: str | None = None
        #: Set when the watch sees the leader key go (its lease ran out): campaign now.
        self.leader_gone = threading.Event()
        self._applied = 0
        self._applied_changed = threading.Condition()
        # The revision of the event being applied, and whether its notices are news (not a load).
        self._event_revision = 0
        self._quiet = False
        self._mod_revision: dict[str, int] = {}

    # -- read-your-writes --------------------------------------------------------------------------

    def mod_revision(self, service_url: str) -> int | None:
        """The revision of the registration at ``service_url`` this table holds."""
        return self._mod_revision.get(service_url)

    def wait_applied(self, revision: int, timeout: float = READ_YOUR_WRITES_TIMEOUT) -> None:
        """Return once the table holds every change up to ``revision``; ServiceUnavailable after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._applied_changed:
            while self._applied < revision:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ServiceUnavailable(
                        "The registry's store (etcd) is slow to confirm the change", {"revision": revision}
                    )
                self._applied_changed.wait(left)

    def catch_up(self) -> None:
        """Wait until the table holds every change etcd has now, so a change made through
        another registry is seen here at once. One linearizable etcd read (a quorum round
        trip): lookup measured 4-6 ms against 0.6 ms with the memory store
        (benchmarks/registry_ha.py). Services call it rarely (a push to check, a REPL's
        poll every 2 s), and "visible at once" is worth it.

        If etcd is unreachable, the table as it is answers: better a slightly old
        answer than none while etcd recovers.
        """
        try:
            answer = self.etcd.quick_request("/kv/range", {"key": encode(self.keys.changed)}, CATCH_UP_TIMEOUT)
            kvs = answer.get("kvs") or [{"mod_revision": 0}]
            self.wait_applied(int(kvs[0]["mod_revision"]), CATCH_UP_TIMEOUT)
        except (EtcdUnavailable, ServiceUnavailable):
            pass

    def _applied_up_to(self, revision: int) -> None:
        with self._applied_changed:
            self._applied = max(self._applied, revision)
            self._applied_changed.notify_all()

    # -- loading and following ---------------------------------------------------------------------

    def noticed(self, notices: list[Notice]) -> None:
        """The table's ``notify``: called under its lock, in the order of the changes."""
        if not self._quiet:
            self._on_notices(self._event_revision, notices)

    def load(self) -> int:
        """The whole state as etcd has it now, into the table without notices; its revision."""
        revision, rows = self.etcd.range(self.keys.prefix)
        self._quiet = True
        try:
            present = {url for url in (self.keys.url_of(key) for key, _, _ in rows) if url is not None}
            for url in set(self.table.urls()) - present:  # deleted while we could not watch
                self._apply_one({"type": "DELETE", "kv": {"key": self.keys.service(url), "mod_revision": revision}})
            self.apply(
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

    def follow(self, start_revision: int, stopping: threading.Event) -> None:
        """Apply etcd's changes from ``start_revision`` on until ``stopping`` (the watch thread)."""
        while not stopping.is_set():
            try:
                self.etcd.watch(self.keys.prefix, start_revision, self.apply, stopping)
            except Compacted as exc:
                log.warning("%s: loading the registrations again", exc)
                try:
                    start_revision = self.load() + 1
                except EtcdUnavailable:
                    stopping.wait(1.0)

    def apply(self, events: list[dict[str, Any]], revision: int) -> None:
        """Apply one batch of watch events, then mark the table as holding ``revision``."""
        for event in events:
            try:
                self._apply_one(event)
            except Exception:
                # One bad value must not stop the watch (it would replay it for ever).
                log.exception("could not apply etcd event on %s; skipped", event.get("kv", {}).get("key"))
        self._applied_up_to(revision)

    def _apply_one(self, event: dict[str, Any]) -> None:
        kv = event["kv"]
        key, value = kv["key"], kv.get("value") or ""
        self._event_revision = int(kv.get("mod_revision") or 0)
        deleted = event.get("type") == "DELETE"
        url = self.keys.url_of(key)
        if url is not None:
            if deleted:
                self._mod_revision.pop(url, None)
                with contextlib.suppress(NotFound):
                    self.table.deregister(url)
            else:
                self._mod_revision[url] = self._event_revision
                self._apply_registration(url, json.loads(value))
        elif key == self.keys.leader:
            self.leader = None if deleted else value
            if deleted:
                self.leader_gone.set()  # campaign now, not at the next step
        elif key == self.keys.pushed and not deleted:
            self._on_pushed(int(value))
        elif key == self.keys.checks and not deleted and not self._leading():
            self.table.note_checks({url: tuple(check) for url, check in json.loads(value).items()})

    def _apply_registration(self, url: str, value: dict[str, Any]) -> None:
        reg = self.table.get(url)
        before = reg.status if reg is not None else None
        required = tuple(dict.fromkeys(value["required_services"]))
        if reg is None or reg.service_name != value["service_name"] or reg.required_services != required:
            # The limit was checked by the registry that wrote it; etcd's word is final here.
            self.table.register(value["service_name"], url, required, enforce_limit=False)
        elif value["status"] == PASSING and reg.status == CRITICAL:
            self.table.record_success(url)
        reg = self.table.get(url)
        if reg is None:
            return
        if value["status"] == CRITICAL and reg.status == PASSING:
            self.table.record_failure(url)
        self.table.note_registered_at(url, value["registered_at"])
        if before is not None and before != reg.status and self._leading() and not self._quiet:
            # The health check's own line cannot say it: the change lands here, from the watch.
            log.warning("%s at %s is now %s", value["service_name"], url, reg.status)
