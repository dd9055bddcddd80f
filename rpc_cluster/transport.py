"""HTTP transport for the client: pooled keep-alive connections.

Plain ``http.client`` connections kept alive per host, because on the
registry's heartbeat path and in the client it measured cheapest per call
(README, "Choosing the client transport"). Every transport failure is turned
into the cluster's own error types here, in this one place; whether a failed
request may have reached the server is ``retry.was_sent``'s rule.
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.parse

from . import retry
from .errors import CallTimeout, TransportError


class _Pool:
    """Idle keep-alive connections to one host:port."""

    def __init__(self, host: str, port: int, max_idle: int = 32):
        self.host, self.port, self.max_idle = host, port, max_idle
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def get(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                conn = self._idle.pop()
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
                return conn, True
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout), False

    def put(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        conn.close()


class Transport:
    """Sends HTTP POSTs over pooled connections. Thread-safe: a process, or a
    service, shares one so that its clients share connections."""

    def __init__(self) -> None:
        self._pools: dict[tuple[str, int], _Pool] = {}
        self._lock = threading.Lock()

    def _pool(self, host: str, port: int) -> _Pool:
        key = (host, port)
        pool = self._pools.get(key)
        if pool is None:
            with self._lock:
                pool = self._pools.setdefault(key, _Pool(host, port))
        return pool

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
        """POST ``body``; returns (status, response body). Raises TransportError/CallTimeout."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise TransportError(f"rpc: unsupported URL {url!r} (expected http://host:port/path)", sent=False)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        pool = self._pool(parts.hostname, parts.port or 80)
        attempts = retry.TRANSPORT.attempts or 1
        for attempt in range(1, attempts + 1):
            conn, reused = pool.get(timeout)
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                connected = conn.sock is not None
                conn.close()
                # Only the first attempt may find a stale pooled connection and try again.
                error = _translate(url, exc, timeout, retry.was_sent(
                    exc, connected=connected, reused=reused and attempt < attempts))
                if attempt < attempts and retry.may_send_again(error):
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
        return CallTimeout(f"rpc: call to {url} timed out after {timeout:g} s")
    if isinstance(exc, ConnectionRefusedError):
        return TransportError(f"rpc: connection to {url} refused", sent=False)
    if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                        http.client.CannotSendRequest)):
        return TransportError(f"rpc: connection to {url} lost: {exc}", sent=sent)
    return TransportError(f"rpc: HTTP request to {url} failed: {exc}", sent=sent)
