"""The registry's client: which registries to ask, and ``RegistryClient``, which moves to another when one fails."""

from __future__ import annotations

import os
from typing import Any

from ..core import errors
from .client import Client, _RemoteDoc
from .transport import Transport

#: The port a registry listens on by default (``rpc-cluster registry``, ``rpc-cluster up``).
DEFAULT_REGISTRY_PORT = 3000
DEFAULT_REGISTRY = f"http://127.0.0.1:{DEFAULT_REGISTRY_PORT}/rpc"
REGISTRY_ENV = "RPC_CLUSTER_REGISTRY"


def registry_url(explicit: str | None = None) -> str:
    """The registry's URL, or several comma-separated: the argument, else $RPC_CLUSTER_REGISTRY, else the default."""
    return explicit or os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY


class RegistryClient(Client):
    __doc__ = _RemoteDoc("A Client for the registry: any of several registries, moving on when one fails.")

    def __init__(
        self,
        registry: str | None = None,
        *,
        timeout: float = 2.0,
        token: str | None = None,
        transport: Transport | None = None,
        tls_ca: str | None = None,
    ):
        #: The registries, in the order given (``--registry a,b``).
        self.urls = [url.strip() for url in registry_url(registry).split(",") if url.strip()]
        super().__init__(",".join(self.urls), timeout=timeout, token=token, transport=transport, tls_ca=tls_ca)
        self._answering = 0

    def _exchange(self, body: bytes, repeatable: bool = False) -> Any:
        # Every Registry.* call is safe to repeat on another registry: register replaces
        # the entry at its URL, lookup and services read, and deregistering again is a 404.
        failure: errors.TransportError | None = None
        for offset in range(len(self.urls)):
            index = (self._answering + offset) % len(self.urls)
            try:
                answer = self._post(self.urls[index], body, True)
            except errors.TransportError as exc:
                failure = exc
                continue
            self._answering = index
            return answer
        assert failure is not None
        raise failure
