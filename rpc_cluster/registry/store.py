"""Where the registry keeps its registrations: ``--store memory`` or ``--store etcd://...``.

Both stores hold a ``RegistryTable`` and answer the ``RegistryStore``
interface, which ``Registry.*`` and the health check use. ``MemoryStore`` is
one process's table (the default: no setup). The etcd store
(``etcd/store.py``) keeps the same table in every registry process, fed by
etcd's watch, so several registries serve one cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from .health_check import Checked
from .table import Notice, Registration, RegistryTable


class Send(Protocol):
    """How a store hands notices to the notifier (``Notifier.send``)."""

    def __call__(self, notices: Iterable[Notice], on_done: Callable[[], None] | None = None) -> None:
        """Queue ``notices`` for delivery; ``on_done()`` once for each one delivered or given up on."""


class RegistryStore(Checked, Protocol):
    """What ``Registry.*`` and the health check need of a store.

    The health check's part is ``Checked``: its methods do nothing on a
    registry that is not the one checking.
    """

    #: This registry's table of registrations (the etcd store's is its watch-fed copy).
    table: RegistryTable
    #: Called each time this registry starts to lead (it checks at once).
    on_leading: Callable[[], None]
    #: Whether its RPC methods answer from memory without waiting (then they run on the
    #: server's event loop); the etcd store waits for etcd.
    in_memory: bool

    @property
    def leader(self) -> str | None:
        """The URL of the registry that checks and pushes (None while there is none)."""

    # The RPC methods.
    def register(
        self, service_name: str, service_url: str, required_services: Iterable[str] = ()
    ) -> tuple[dict[str, list[str]], list[Notice]]: ...

    def deregister(self, service_url: str) -> list[Notice]: ...

    def lookup(self, service_name: str) -> list[str]: ...

    def services(self) -> list[dict[str, Any]]: ...

    def start(self, registry_url: str) -> None: ...

    def stop(self) -> None: ...


class MemoryStore:
    """The registrations in this process's memory: this registry alone checks and pushes."""

    in_memory = True

    def __init__(
        self,
        *,
        deregister_after: float = 60.0,
        max_registrations: int | None = None,
        notify: Callable[[list[Notice]], None] | None = None,
    ):
        self.table = RegistryTable(
            deregister_after=deregister_after, max_registrations=max_registrations, notify=notify
        )
        self.leader: str | None = None
        #: Called when this registry starts to lead: never here, it leads from the start.
        self.on_leading: Callable[[], None] = lambda: None

    @property
    def deregister_after(self) -> float:
        return self.table.deregister_after

    def start(self, registry_url: str) -> None:
        self.leader = registry_url

    def stop(self) -> None:
        """Nothing to release: the table goes with the process."""

    def register(
        self, service_name: str, service_url: str, required_services: Iterable[str] = ()
    ) -> tuple[dict[str, list[str]], list[Notice]]:
        return self.table.register(service_name, service_url, required_services)

    def deregister(self, service_url: str) -> list[Notice]:
        return self.table.deregister(service_url)

    def lookup(self, service_name: str) -> list[str]:
        return self.table.lookup(service_name)

    def services(self) -> list[dict[str, Any]]:
        return [dict(row, checked_by=self.leader) for row in self.table.services()]

    def get(self, service_url: str) -> Registration | None:
        return self.table.get(service_url)

    def check_order(self) -> list[str]:
        return self.table.check_order()

    def record_success(self, service_url: str) -> list[Notice]:
        return self.table.record_success(service_url)

    def record_failure(self, service_url: str) -> list[Notice]:
        return self.table.record_failure(service_url)

    def drop_expired(self) -> list[str]:
        return self.table.drop_expired()


def open_store(
    url: str,
    *,
    deregister_after: float,
    max_registrations: int | None,
    notify: Send,
    leader_ttl: int = 5,
    summary_interval: float = 3.0,
) -> RegistryStore:
    """The store ``--store`` names: ``memory``, or ``etcd://HOST:PORT[,HOST:PORT...][/PREFIX]``."""
    if url == "memory":
        return MemoryStore(deregister_after=deregister_after, max_registrations=max_registrations, notify=notify)
    if url.startswith("etcd://"):
        from .etcd.store import EtcdStore

        return EtcdStore(
            url,
            deregister_after=deregister_after,
            max_registrations=max_registrations,
            notify=notify,
            leader_ttl=leader_ttl,
            summary_interval=summary_interval,
        )
    raise ValueError(f"{url!r} is not a registry store (memory, or etcd://HOST:PORT[,HOST:PORT...][/PREFIX])")
