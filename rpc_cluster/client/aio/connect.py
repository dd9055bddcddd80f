"""Calling a service by name from asyncio: ``connect_async()`` and the ``AsyncServiceClient`` it makes.

    >>> grades = connect_async("GradingService", registry="http://127.0.0.1:3000/rpc")
    >>> await grades.Grades.get_student(1)

The asyncio face of ``connect()``: the registry is asked with an awaited
call every few seconds, calls are spread round-robin over the healthy
instances and move on when one refuses, by the same rules (``InstanceBook``,
``Walk``, ``retry.py``); ``NoHealthyProvider`` when none takes the call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from ...core import errors
from .. import retry
from ..client import DEFAULT_TIMEOUT, _RemoteDoc
from ..connect import InstanceBook, ServiceClient, Walk
from ..registry_client import registry_url
from .client import AsyncClient
from .transport import DEFAULT_MAX_CONNECTIONS, AsyncTransport


class _AsyncRegistryClient(AsyncClient):
    """An AsyncClient for the registry: any of several registries, moving on when one fails (as RegistryClient)."""

    def __init__(self, registry: str | None, *, token: str | None, transport: AsyncTransport):
        self.urls = [url.strip() for url in registry_url(registry).split(",") if url.strip()]
        super().__init__(",".join(self.urls), timeout=2.0, token=token, transport=transport)
        self._answering = 0

    async def _exchange(self, body: bytes, repeatable: bool = False) -> Any:
        # Registry.lookup only reads: safe to ask another registry.
        failure: errors.TransportError | None = None
        for offset in range(len(self.urls)):
            index = (self._answering + offset) % len(self.urls)
            try:
                answer = await self._post(self.urls[index], body, True)
            except errors.TransportError as exc:
                failure = exc
                continue
            self._answering = index
            return answer
        assert failure is not None
        raise failure


class _AsyncInstances(InstanceBook):
    """Where an AsyncServiceClient's URLs come from: the registry, asked with an awaited call."""

    def __init__(self, service_name: str, registry: _AsyncRegistryClient, refresh: float):
        super().__init__(service_name, refresh)
        self._registry = registry
        # One look-up at a time: a thousand calls gathered at once ask the registry once.
        self._lock = asyncio.Lock()

    async def urls(self, force: bool = False) -> list[str]:
        """The instances to call: asked of the registry when due, else the last ones known (``_remember``)."""
        if self._due(force):
            async with self._lock:
                if self._due(force):
                    self._heard(await self._lookup())
        return self._remember(self._polled)

    async def _lookup(self) -> list[str] | None:
        try:
            return list(await self._registry.call("Registry.lookup", self.service_name))
        except errors.TransportError:
            return None  # registry unreachable: keep using what we knew

    async def order(self) -> list[str]:
        """This call's candidates: round-robin start, refused ones last."""
        return self._rotate(await self.urls())


class AsyncServiceClient(AsyncClient):
    __doc__ = _RemoteDoc("An AsyncClient for every healthy instance of one service (see ``connect_async``).")

    def __init__(
        self,
        service_name: str,
        *,
        registry: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        token: str | None = None,
        refresh: float = 2.0,
        transport: AsyncTransport | None = None,
        tls_ca: str | None = None,
        read_only: Collection[str] = (),
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ):
        super().__init__(
            f"service:{service_name}",
            timeout=timeout,
            token=token,
            transport=transport,
            tls_ca=tls_ca,
            read_only=read_only,
            max_connections=max_connections,
        )
        self.service_name = service_name
        #: The registries asked (``registry``, else $RPC_CLUSTER_REGISTRY, else the default).
        self.registry = registry_url(registry)
        self.instances = _AsyncInstances(
            service_name, _AsyncRegistryClient(registry, token=self.token, transport=self._transport), refresh
        )

    def __repr__(self) -> str:
        return f"<AsyncServiceClient {self.service_name}>"

    async def _exchange(self, body: bytes, repeatable: bool = False) -> Any:
        walk = Walk(self.service_name, repeatable)
        for round_ in range(retry.FAILOVER_ROUNDS):
            if round_:
                await self.instances.urls(force=True)
            for url in walk.untried(await self.instances.order()):
                try:
                    return await self._post(url, body, repeatable)
                except errors.TransportError as exc:
                    walk.failed(exc, url, self.instances)
        raise walk.exhausted()

    def _blocking_twin(self) -> ServiceClient:
        return ServiceClient(
            self.service_name,
            registry=self.registry,
            timeout=self.timeout,
            token=self.token,
            tls_ca=self._transport.tls_ca,
        )

    def _remote_doc(self, prefix: str = "") -> str:
        return super()._remote_doc(prefix).replace(self.url, self.service_name, 1)


def connect_async(
    service_name: str,
    registry: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    token: str | None = None,
    tls_ca: str | None = None,
    read_only: Collection[str] = (),
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> AsyncServiceClient:
    """An asyncio client for ``service_name``, resolved through the registry (``connect()``'s asyncio face).

    Its calls are awaited; it spreads them over the healthy instances, asks
    the registry again every few seconds, and fails over when an instance
    refuses the connection. ``read_only``: methods that change nothing, so a
    call that timed out on one instance goes to another. ``max_connections``:
    per instance, shared by every call in flight. Nothing is sent before the
    first call: making one needs no running event loop.
    """
    return AsyncServiceClient(
        service_name,
        registry=registry,
        timeout=timeout,
        token=token,
        tls_ca=tls_ca,
        read_only=read_only,
        max_connections=max_connections,
    )
