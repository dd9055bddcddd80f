"""HTTP transport for the client: pooled keep-alive connections.

Plain ``http.client`` connections kept alive per host, because on the
registry's heartbeat path and in the client it measured cheapest per call
(README, "Choosing the client transport"). Every transport failure is turned
into the cluster's own error types here, in this one place; whether a failed
request may have reached the server is ``retry.was_sent``'s rule.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time

from . import retry, tls
from .errors import CallTimeout, TransportError


# A connection idle longer than this is closed rather than reused: servers close
# idle keep-alive connections after a while, and one closed just as we reuse it
# fails a request that then may not be sent again (retry.was_sent).
MAX_IDLE_SECONDS = 20.0


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection can no longer carry a request.

    An idle HTTP/1.1 connection has nothing to read: readable means the server
    closed it (end of file) or broke protocol. Checking costs one poll and
    saves a request that would fail after it may have been sent.
    """
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def http_target(url: str) -> tuple[bool, str, int, str]:
    """(tls, host, port, path with query) of an ``http(s)://`` URL; TransportError for any other."""
    target = tls.split_url(url)
    if target is None:
        raise TransportError(f"rpc: unsupported URL {url!r} (expected http://host:port/path or https://...)",
                             sent=False)
    return target


class _Pool:
    """Idle keep-alive connections to one host:port, newest last; ``context`` set for HTTPS."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None, max_idle: int = 32):
        self.host, self.port, self.context, self.max_idle = host, port, context, max_idle
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()

    def get(self, timeout: float) -> http.client.HTTPConnection:
        """A live idle connection, else a new one (it connects on its first request)."""
        while True:
            with self._lock:
                if not self._idle:
                    break
                conn, idle_since = self._idle.pop()
            if time.monotonic() - idle_since > MAX_IDLE_SECONDS or _closed_by_peer(conn):
                conn.close()
                continue
            conn.timeout = timeout
            conn.sock.settimeout(timeout)
            return conn
        if self.context is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def put(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()


class Transport:
    """Sends HTTP POSTs over pooled connections. Thread-safe: a process, or a
    service, shares one so that its clients share connections.

    ``tls_ca``: the CA file that ``https://`` servers are verified against
    (default ``$RPC_CLUSTER_TLS_CA``, else the system's CAs; ``tls.client_context``).
    """

    def __init__(self, *, tls_ca: str | None = None) -> None:
        self.tls_ca = tls_ca
        self._pools: dict[tuple[bool, str, int], _Pool] = {}
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def ssl_context(self) -> ssl.SSLContext:
        """The context that verifies servers, made on first use (loading CAs takes milliseconds).

        Raises TransportError (not sent) when the CA file cannot be used.
        """
        if self._context is None:
            try:
                context = tls.client_context(self.tls_ca)
            except tls.TlsConfigError as exc:
                raise TransportError(f"rpc: {exc}", sent=False) from None
            with self._lock:
                if self._context is None:
                    self._context = context
        return self._context

    def _pool(self, secure: bool, host: str, port: int) -> _Pool:
        key = (secure, host, port)
        pool = self._pools.get(key)
        if pool is None:
            context = self.ssl_context() if secure else None
            with self._lock:
                pool = self._pools.setdefault(key, _Pool(host, port, context))
        return pool

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float, *,
             repeatable: bool = False) -> tuple[int, bytes]:
        """POST ``body``; returns (status, response body). Raises TransportError/CallTimeout.

        A failed request is sent once more only when ``retry.may_send_again``
        allows it: it never reached the server, or it is ``repeatable`` (the
        server recognises a repeat). A timeout is never sent again here.
        """
        secure, host, port, path = http_target(url)
        pool = self._pool(secure, host, port)
        attempts = retry.TRANSPORT.attempts or 1
        for attempt in range(1, attempts + 1):
            conn = pool.get(timeout)
            receiving = False
            try:
                conn.request("POST", path, body, headers)
                receiving = True
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                connected = conn.sock is not None or receiving
                conn.close()
                error = _translate(url, exc, timeout, retry.was_sent(exc, connected=connected, receiving=receiving))
                if attempt < attempts and not isinstance(error, CallTimeout) \
                        and retry.may_send_again(error, repeatable=repeatable):
                    continue
                raise error from None
            if response.will_close:
                conn.close()
            else:
                pool.put(conn)
            return response.status, data
        raise AssertionError("unreachable")


def _translate(url: str, exc: BaseException, timeout: float, sent: bool) -> TransportError:
    """The cluster's error for a failed HTTP exchange."""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return CallTimeout(f"rpc: call to {url} timed out after {timeout:g} s", sent=sent)
    if isinstance(exc, ConnectionRefusedError):
        return TransportError(f"rpc: connection to {url} refused", sent=False)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransportError(f"rpc: {url} has a certificate this client does not trust "
                              f"({exc.verify_message}); give the cluster's CA with --tls-ca or "
                              f"${tls.CA_ENV}", sent=False)
    if isinstance(exc, ssl.SSLError):
        return TransportError(f"rpc: TLS with {url} failed ({exc.reason or exc}); "
                              "is it serving HTTPS on that port?", sent=sent)
    if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                        http.client.CannotSendRequest)):
        return TransportError(f"rpc: connection to {url} lost: {exc}", sent=sent)
    return TransportError(f"rpc: HTTP request to {url} failed: {exc}", sent=sent)
