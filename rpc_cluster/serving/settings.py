"""A service's settings as values, each built once (from the flags by ``runtime.flags``, or in Python).

``Limits``: what one client may take from a service, and how long it waits. ``Service`` hands it
whole to its ``RpcApp`` (batch and response sizes) and its ``HttpServer`` (times, connections);
docs/operations.md ("Limits") says why each default is what it is.

``TlsFiles``: the certificate and key it serves HTTPS with, and the CA it verifies the servers it
calls against (docs/operations.md, "TLS").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.jsonrpc import DEFAULT_MAX_BATCH, DEFAULT_MAX_RESPONSE_BYTES
from ..net import tls

#: Seconds a request body may take to arrive, from the end of its headers.
DEFAULT_BODY_TIMEOUT = 10.0
#: Seconds a connection may stay silent: before its first request, between
#: requests (keep-alive) and while it sends headers.
DEFAULT_IDLE_TIMEOUT = 30.0
#: Connections served at once; more wait in the listen backlog.
DEFAULT_MAX_CONNECTIONS = 10_000
#: Seconds a stop waits for the requests in flight.
DEFAULT_DRAIN_TIMEOUT = 10.0


@dataclass(frozen=True)
class Limits:
    """The bounds a service keeps against slow, idle or greedy clients, and its drain time.

    ``Service(limits=Limits(body_timeout=2.0))``; the flags of every service set the same
    fields (``--max-batch``, ``--body-timeout``, ...).
    """

    #: Members a JSON-RPC batch may have (more: one -32600 error, nothing runs).
    max_batch: int = DEFAULT_MAX_BATCH
    #: Bytes of response text one RPC request may produce.
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    #: Seconds a request body may take to arrive (then 408 and the connection is closed); None: no
    #: deadline, only for measuring what the deadline costs (benchmarks/server_tradeoff.py).
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT
    #: Seconds a connection may stay silent before it is closed.
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    #: Connections served at once (within the process's open-file limit).
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    #: Seconds a stop lets in-flight requests finish.
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: ``cert`` and ``key`` to serve HTTPS only, ``ca`` to verify the https:// servers it calls.

    All None (the default): plain HTTP, and the system's CAs (or ``$RPC_CLUSTER_TLS_CA``).
    """

    #: Certificate chain served (``--tls-cert``); with ``key``, the service registers an https:// URL.
    cert: str | None = None
    #: Private key of ``cert`` (``--tls-key``).
    key: str | None = None
    #: CA that the servers it calls are verified against (``--tls-ca``).
    ca: str | None = None

    def server_files(self) -> tuple[Path, Path] | None:
        """(cert, key) once both load as a pair; None when neither is given.

        Raises ``tls.TlsConfigError`` naming the file that is missing or does not fit.
        """
        return tls.check_server_files(self.cert, self.key)
