"""Where the registry keeps its registrations: ``--store memory`` or ``--store etcd://...``.

Both stores answer the same small interface, which ``Registry.*`` and the
health check use:

- ``register``, ``deregister``, ``lookup``, ``services``: the RPC methods;
- ``check_order``, ``get``, ``record_success``, ``record_failure``,
  ``drop_expired``: the health check's (they do nothing on a registry that
  is not the one checking);
- ``leader``: the URL of the registry that checks and pushes;
- ``start(registry_url)`` and ``stop()``.

``MemoryStore`` is one process's table (the default: no setup). The etcd
store (``etcd_store.py``) keeps the same table in every registry process,
fed by etcd's watch, so several registries serve one cluster.
"""

from __future__ import annotations

from collections.abc import Callable

from .table import Notice, RegistryTable


class MemoryStore(RegistryTable):
    """The registrations in this process's memory: this registry alone checks and pushes."""

    def __init__(
        self,
        *,
        deregister_after: float = 60.0,
        max_registrations: int | None = None,
        notify: Callable[[list[Notice]], None] | None = None,
    ):
        super().__init__(deregister_after=deregister_after, max_registrations=max_registrations, notify=notify)
        self.leader: str | None = None
        #: Called when this registry starts to lead: never here, it leads from the start.
        self.on_leading: Callable[[], None] = lambda: None

    def start(self, registry_url: str) -> None:
        self.leader = registry_url

    def stop(self) -> None:
        """Nothing to release: the table goes with the process."""

    def services(self) -> list[dict]:
        return [dict(row, checked_by=self.leader) for row in super().services()]


def open_store(
    url: str,
    *,
    deregister_after: float,
    max_registrations: int | None,
    notify: Callable[..., None],
    leader_ttl: int = 5,
    summary_interval: float = 3.0,
) -> MemoryStore:
    """The store ``--store`` names: ``memory``, or ``etcd://HOST:PORT[,HOST:PORT...][/PREFIX]``."""
    if url == "memory":
        return MemoryStore(deregister_after=deregister_after, max_registrations=max_registrations, notify=notify)
    if url.startswith("etcd://"):
        from .etcd_store import EtcdStore

        return EtcdStore(
            url,
            deregister_after=deregister_after,
            max_registrations=max_registrations,
            notify=notify,
            leader_ttl=leader_ttl,
            summary_interval=summary_interval,
        )
    raise ValueError(f"{url!r} is not a registry store (memory, or etcd://HOST:PORT[,HOST:PORT...][/PREFIX])")
