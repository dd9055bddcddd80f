"""The etcd store: registrations shared by every registry process on one etcd (``--store etcd://...``).

Every registry keeps a ``RegistryTable`` fed by etcd's watch (``mirror.py``),
so ``lookup`` and ``services`` answer from memory, and a registration made
through one registry is in every other's table within milliseconds.
``register`` and ``deregister`` write to etcd and answer once this
registry's table has seen the write (read-your-writes).

One registry at a time checks and pushes: the one that holds the leader key
(``election.py``). It writes status changes to etcd; every table applies
them from the watch, in revision order, and so makes the same notices. Only
the leader sends them; once they are delivered it records their revision
under ``pushed``. The others keep theirs until they see that record
(``push_ledger.py``), so a new leader sends exactly the notices after the
last recorded revision: none is lost.

Keys, under the prefix (default ``/rpc-cluster/``): ``services/<url>`` (a
registration: name, URL, requirements, status, registration time),
``leader`` (the checking registry's URL, under its lease), ``pushed`` (a
revision), ``checks`` (the leader's last checks and failure counts, written
once a round, so every registry shows them), ``changed`` (touched by every
change to the registrations).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ...core.errors import NotFound, ServiceUnavailable
from ..table import CRITICAL, PASSING, Notice, Registration, RegistryTable
from .election import Election
from .gateway import Etcd, EtcdUnavailable, encode, parse_url
from .mirror import Keys, Mirror
from .push_ledger import PushLedger

if TYPE_CHECKING:
    # Only a type here: the store module opens this package's store, so importing it at run time is a cycle.
    from ..store import Send

log = logging.getLogger("rpc_cluster.registry.etcd.store")


class EtcdStore:
    """See the module docstring. A ``store.RegistryStore``, as ``store.MemoryStore`` is."""

    # Every change, and a lookup's catch-up read, waits for etcd: its calls go to request threads.
    in_memory = False

    def __init__(
        self,
        url: str,
        *,
        deregister_after: float = 60.0,
        max_registrations: int | None = None,
        notify: Send,
        leader_ttl: int = 5,
        summary_interval: float = 3.0,
    ):
        members, prefix = parse_url(url)
        self.url = url
        self.etcd = Etcd(members)
        self.keys = Keys(prefix)
        self.leader_ttl = leader_ttl
        self.election: Election | None = None
        self.table = RegistryTable(
            deregister_after=deregister_after, max_registrations=max_registrations, notify=self._noticed
        )
        self.ledger = PushLedger(
            self.etcd,
            pushed_key=self.keys.pushed,
            checks_key=self.keys.checks,
            send=notify,
            leading=self._leading,
            checks=self.table.checks,
            summary_interval=summary_interval,
        )
        self.mirror = Mirror(
            self.etcd,
            self.keys,
            self.table,
            on_notices=self.ledger.add,
            on_pushed=self.ledger.saw_pushed,
            leading=self._leading,
        )
        #: Called once each time this registry starts to lead (the registry checks at once).
        self.on_leading: Callable[[], None] = lambda: None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def _noticed(self, notices: list[Notice]) -> None:
        # The table is built before the mirror that feeds it: forward to it.
        self.mirror.noticed(notices)

    @property
    def leader(self) -> str | None:
        """The checking registry's URL, as etcd says (None while there is none)."""
        return self.mirror.leader

    @property
    def deregister_after(self) -> float:
        return self.table.deregister_after

    # -- queries: from the table ---------------------------------------------------------------

    def lookup(self, service_name: str) -> list[str]:
        self.mirror.catch_up()
        return self.table.lookup(service_name)

    def services(self) -> list[dict[str, Any]]:
        self.mirror.catch_up()
        return [dict(row, checked_by=self.leader) for row in self.table.services()]

    def get(self, service_url: str) -> Registration | None:
        return self.table.get(service_url)

    # -- changes: written to etcd, seen through the watch -------------------------------------

    def register(
        self, service_name: str, service_url: str, required_services: Iterable[str] = ()
    ) -> tuple[dict[str, list[str]], list[Notice]]:
        required = list(dict.fromkeys(required_services))
        self.table.check_room(service_url)
        value = {
            "service_name": service_name,
            "service_url": service_url,
            "required_services": required,
            "status": PASSING,
            "registered_at": self.table.registered_at(service_name, service_url),
        }
        _, revision = self._write(
            [{"request_put": {"key": encode(self.keys.service(service_url)), "value": encode(json.dumps(value))}}]
        )
        self.mirror.wait_applied(revision)
        return self.table.providers_for(required), []

    def deregister(self, service_url: str) -> list[Notice]:
        if self.table.get(service_url) is None:
            self.mirror.catch_up()
            if self.table.get(service_url) is None:
                raise NotFound(f"No service registered at {service_url}", {"service_url": service_url})
        # Deleting is harmless to repeat (gateway.py sends a transaction again on another member
        # when one fails mid-request): the answer is what this registry knew it had.
        _, revision = self._write([{"request_delete_range": {"key": encode(self.keys.service(service_url))}}])
        self.mirror.wait_applied(revision)
        return []

    def _write(self, success: list[dict[str, Any]]) -> tuple[bool, int]:
        try:
            return self.etcd.txn([], [*success, self._touch()])
        except EtcdUnavailable as exc:
            raise ServiceUnavailable("The registry's store (etcd) is unavailable", str(exc)) from None

    def _touch(self) -> dict[str, Any]:
        return {"request_put": {"key": encode(self.keys.changed), "value": ""}}

    # -- the health check's side (leader only) -------------------------------------------------

    def _leading(self) -> bool:
        return self.election is not None and self.election.leading

    def check_order(self) -> list[str]:
        """What the health check checks: everything while we lead, nothing otherwise."""
        return self.table.check_order() if self._leading() else []

    def record_success(self, service_url: str) -> list[Notice]:
        return self._record(service_url, PASSING)

    def record_failure(self, service_url: str) -> list[Notice]:
        return self._record(service_url, CRITICAL)

    def _record(self, service_url: str, status: str) -> list[Notice]:
        """A check's outcome: a change of status goes to etcd (every table applies it from
        the watch); the same status again only updates this table's check time and count."""
        reg = self.table.get(service_url)
        if reg is None or not self._leading():
            return []
        if reg.status != status:
            self._write_status(reg, status)
        elif status == PASSING:
            self.table.record_success(service_url)
        else:
            self.table.record_failure(service_url)
        return []

    def _write_status(self, reg: Registration, status: str) -> None:
        known = self.mirror.mod_revision(reg.service_url)
        if known is None:
            return
        key = encode(self.keys.service(reg.service_url))
        value = {
            "service_name": reg.service_name,
            "service_url": reg.service_url,
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
            log.warning("could not record %s as %s (%s); the next round tries again", reg.service_url, status, exc)

    def drop_expired(self) -> list[str]:
        if not self._leading():
            return []
        dropped = []
        for url in self.table.expired():
            key = encode(self.keys.service(url))
            try:
                gone, _ = self.etcd.txn(
                    [
                        {
                            "key": key,
                            "result": "EQUAL",
                            "target": "MOD",
                            "mod_revision": self.mirror.mod_revision(url) or 0,
                        }
                    ],
                    [{"request_delete_range": {"key": key}}, self._touch()],
                )
            except EtcdUnavailable:
                break
            if gone:
                dropped.append(url)
        return dropped

    # -- running -----------------------------------------------------------------------------------

    def start(self, registry_url: str) -> None:
        """Load the state, then follow etcd and campaign to lead; raises EtcdUnavailable."""
        election = self.election = Election(self.etcd, self.keys.leader, registry_url, self.leader_ttl)
        revision = self.mirror.load()
        self._spawn(lambda: self.mirror.follow(revision + 1, self._stopping), "etcd-watch")
        self._spawn(lambda: self._campaign(election), "etcd-election")
        self._spawn(self.ledger.run, "etcd-push")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"registry-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _campaign(self, election: Election) -> None:
        step = max(0.2, self.leader_ttl / 4)
        was_leading = False
        while not self._stopping.is_set():
            leading = election.step()
            if leading and not was_leading:
                self.ledger.take_over()
                self.on_leading()
            was_leading = leading
            # Woken early when the watch sees the leader key go (its lease ran out).
            self.mirror.leader_gone.wait(step)
            self.mirror.leader_gone.clear()

    def stop(self) -> None:
        self._stopping.set()
        self.ledger.stop()
        # Joined first: a campaign step still running could take the key again after we resign.
        for thread in self._threads:
            thread.join(timeout=5)
        if self.election is not None:
            self.election.resign()
