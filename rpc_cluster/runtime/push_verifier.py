"""Applying the registry's ``Service.update`` pushes to a service's provider table, as far as the registry
confirms them."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from ..client import retry
from ..client.client import Client
from ..client.providers import ProviderTable
from ..core import errors


class PushVerifier:
    """Applies ``Service.update`` pushes only as far as the registry confirms them.

    A push is a hint, not an order (docs/protocol.md): anyone who can reach a
    service's /rpc could send one, and a forged "added" would redirect its
    traffic. So a removal is applied at once (it can only send less traffic
    to a URL), and every service a push names is then looked up in the
    registry, whose list of passing instances replaces the table's. Lookups
    run on the verifier's own thread, never in the push's request.
    """

    def __init__(self, providers: ProviderTable, registry: Client, required: Iterable[str]):
        self.providers = providers
        self.registry = registry
        self.required = frozenset(required)
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()

    def push(self, added: Iterable[dict[str, Any]] = (), removed: Iterable[dict[str, Any]] = ()) -> None:
        """Take one push: removals now, and a lookup of every service it names that we require."""
        removed = [entry for entry in removed if entry["service_name"] in self.required]
        self.providers.update(removed=removed)
        names = {entry["service_name"] for entry in [*added, *removed]} & self.required
        if names:
            with self._lock:
                self._pending |= names
            self._wake.set()

    def recheck(self) -> None:
        """Look up every required service again, soon (on the verifier's thread).

        After a registration: its answer was made when the registry read it, and
        a push that crossed it on the way (a provider added meanwhile) would
        otherwise be overwritten by the older list.
        """
        if self.required:
            with self._lock:
                self._pending |= self.required
            self._wake.set()

    def verify_pending(self) -> bool:
        """Look up every service named since the last time; False if the registry did not answer."""
        with self._lock:
            names, self._pending = self._pending, set()
        for name in sorted(names):
            try:
                self.providers.replace({name: self.registry.call("Registry.lookup", name)})
            except errors.RpcError:
                with self._lock:
                    self._pending.add(name)
                return False
        return True

    def wake(self) -> None:
        """Make ``run`` look at once (at stop: it sees ``stopping`` instead of waiting out its pause)."""
        self._wake.set()

    def run(self, stopping: threading.Event) -> None:
        """Verify pushes as they come, until ``stopping`` is set."""
        failures = 0
        while not stopping.is_set():
            if not self._wake.wait(0.5):
                continue
            self._wake.clear()
            if self.verify_pending():
                failures = 0
            else:
                failures += 1
                self._wake.set()  # try again after the pause
                stopping.wait(retry.REGISTRATION.delay(failures))
