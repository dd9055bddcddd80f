"""HTTP transport for asyncio: keep-alive connections per host, bounded, answers read by llhttp.

The asyncio face of ``client/transport.py``, with the same wire: the request
written in one piece, the answer parsed by the same httptools callbacks
(``Answer``), the same size bound, TLS rules (the same ``ssl_context``) and
error translation, and the same resend rule (``retry.py``). Only the I/O
differs: each connection is an ``asyncio.Protocol`` whose ``data_received``
feeds the parser, so a call in flight costs a future, not a thread.

Connections to one host:port are bounded (``max_connections``); a call that
finds them all busy waits for one, so ``asyncio.gather`` of thousands of
calls opens no more than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import ssl
import time
from typing import cast

import httptools

from ...core.errors import TransportError
from .. import retry
from ..transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    MAX_IDLE_SECONDS,
    Answer,
    Transport,
    _Closed,
    _header_lines,
    _request_line,
    _TooLarge,
    _translate,
    http_target,
)

#: Connections per host:port at most. A service runs a call on each of its 8 threads
#: (serving/server.py) and reads the next request while one is answered: 16 keep every
#: thread busy, and past that the calls would only queue at the server instead of here.
DEFAULT_MAX_CONNECTIONS = 16
# URLs whose request line and pool are remembered; past this many they are forgotten.
_MAX_ROUTES = 1024


class _Connection(asyncio.Protocol):
    """One keep-alive connection and the parser of its answers; one request at a time."""

    def __init__(self, limit: int):
        self.answer = Answer(limit)
        self.transport: asyncio.Transport | None = None
        #: Set while a request waits for its answer; done when the answer is whole, or failed.
        self.waiter: asyncio.Future[None] | None = None
        #: Nothing of ours waits in the write buffer: the request written was handed to the kernel whole.
        self.flushed = True
        #: The server closed it, or sent bytes nobody asked for: never reused.
        self.broken = False
        self.idle_since = 0.0
        self._poller = select.poll()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self._poller.register(sock.fileno(), select.POLLIN)
        # With no room in the buffer, pause_writing/resume_writing say exactly when bytes wait to
        # be written: a connection lost before then had not carried the whole request (retry.was_sent).
        self.transport.set_write_buffer_limits(high=0)

    def closed_by_peer(self) -> bool:
        """Whether an idle connection can no longer carry a request.

        As the threaded transport's: an idle HTTP/1.1 connection has nothing to
        read, so readable means the server closed it. The event loop learns it
        only on its next turn, too late for a call taking the connection now
        (a server killed a moment ago would fail a call that cannot be sent again).
        """
        if self.broken:
            return True
        try:
            return bool(self._poller.poll(0))
        except (OSError, ValueError):
            return True

    def pause_writing(self) -> None:
        self.flushed = False

    def resume_writing(self) -> None:
        self.flushed = True

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.broken = True  # an idle connection has nothing to read: the server broke protocol
            return
        answer = self.answer
        try:
            answer.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if not answer.complete:
                waiter.set_exception(exc)
                return
            answer.extra = True  # llhttp refuses bytes after an answer that said Connection: close
        except httptools.HttpParserUpgrade as exc:
            waiter.set_exception(exc)
            return
        if answer.too_large:
            waiter.set_exception(_TooLarge(f"the answer is larger than {answer.limit:,} bytes (max_response_bytes)"))
        elif answer.complete:
            waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.broken = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        answer = self.answer
        if exc is None and answer.headers_done and not answer.framed:
            waiter.set_result(None)  # an answer framed by the end of the connection: it is whole
        else:
            waiter.set_exception(exc or _Closed(f"the server closed the connection {answer.where()}"))

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """(status, body, whether the connection may carry another request) of the answer to ``request``."""
        assert self.transport is not None
        answer = self.answer
        answer.expect()
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            self.transport.write(request)
            await self.waiter
        finally:
            self.waiter = None
        parts = answer.parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        return answer.status, body, answer.keep and not answer.extra

    def abort(self) -> None:
        if self.transport is not None:
            # abort(), not close(): a silent peer would keep unsent bytes waiting in the socket.
            with contextlib.suppress(RuntimeError):  # its event loop is closed: so is the socket
                self.transport.abort()
        self.broken = True


class _Pool:
    """The connections to one host:port: at most ``size`` open, idle ones newest last."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None, limit: int, size: int):
        self.host, self.port, self.context, self.limit = host, port, context, limit
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Connection] = []
        #: Open connections, idle or carrying a request.
        self.open = 0

    async def acquire_slot(self) -> None:
        """The right to use a connection (``take`` or ``connect``), given back by ``release``; waits while
        ``size`` are busy."""
        await self._slots.acquire()

    def take(self) -> _Connection | None:
        """A live idle connection, else None."""
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if now - conn.idle_since <= MAX_IDLE_SECONDS and not conn.closed_by_peer():
                return conn
            self._close(conn)
        return None

    async def connect(self) -> _Connection:
        """A new connection, its TLS handshake done; held by the caller as ``acquire_slot`` allowed."""
        loop = asyncio.get_running_loop()
        secure = self.context is not None
        _, conn = await loop.create_connection(
            lambda: _Connection(self.limit),
            self.host,
            self.port,
            ssl=self.context,
            server_hostname=self.host if secure else None,
        )
        self.open += 1
        return conn

    def release(self, conn: _Connection | None, keep: bool) -> None:
        """Give back the slot ``acquire_slot`` gave, with ``conn`` kept for the next call or closed."""
        if conn is not None:
            if keep and not conn.broken:
                conn.idle_since = time.monotonic()
                self._idle.append(conn)
            else:
                self._close(conn)
        self._slots.release()

    def _close(self, conn: _Connection) -> None:
        conn.abort()
        self.open -= 1

    def close(self) -> None:
        while self._idle:
            self._close(self._idle.pop())


class AsyncTransport:
    """Sends HTTP POSTs over pooled keep-alive connections from one event loop.

    ``max_connections``: connections per host:port at most; calls beyond wait
    for a free one. ``tls_ca``: the CA file ``https://`` servers are verified
    against (default ``$RPC_CLUSTER_TLS_CA``, else the system's CAs).
    ``max_response_bytes``: a larger answer body is refused with a TransportError.
    Used from another event loop (a second ``asyncio.run``), it starts anew.
    """

    def __init__(
        self,
        *,
        tls_ca: str | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"rpc: max_connections must be at least 1, not {max_connections}")
        self.max_response_bytes = max_response_bytes
        self.max_connections = max_connections
        # The threaded transport's context: both trust the same CAs by the same rules.
        self._tls = Transport(tls_ca=tls_ca)
        self._pools: dict[tuple[bool, str, int], _Pool] = {}
        self._routes: dict[str, tuple[_Pool, bytes]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def tls_ca(self) -> str | None:
        return self._tls.tls_ca

    def open_connections(self) -> int:
        """Connections open now, idle or carrying a call, to every host."""
        return sum(pool.open for pool in self._pools.values())

    def _route(self, url: str) -> tuple[_Pool, bytes]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # Connections and waits belong to the loop that made them.
            self.close()
            self._loop = loop
        route = self._routes.get(url)
        if route is None:
            secure, host, port, path = http_target(url)
            key = (secure, host, port)
            pool = self._pools.get(key)
            if pool is None:
                context = self._tls.ssl_context() if secure else None
                pool = self._pools[key] = _Pool(host, port, context, self.max_response_bytes, self.max_connections)
            if len(self._routes) >= _MAX_ROUTES:
                self._routes.clear()
            route = self._routes[url] = (pool, _request_line(host, port, secure, path))
        return route

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float, *, repeatable: bool = False
    ) -> tuple[int, bytes]:
        """POST ``body``; returns (status, response body). Raises TransportError/CallTimeout.

        ``timeout`` bounds the whole call, the wait for a free connection
        included (a call that timed out waiting was not sent). A failed
        request is sent once more only when ``retry.may_send_again`` allows
        it, as the threaded transport does; a timeout is never sent again here.
        """
        pool, line = self._route(url)
        try:
            request = b"".join((b"POST", line, _header_lines(headers), b"Content-Length: %d\r\n\r\n" % len(body), body))
        except ValueError as exc:
            raise _translate(url, exc, timeout, sent=False) from None
        progress = _Progress()
        try:
            async with asyncio.timeout(timeout):
                return await self._send(pool, url, request, timeout, repeatable, progress)
        except TimeoutError as exc:
            if isinstance(exc, TransportError):
                raise
            sent = retry.was_sent(exc, connected=progress.connected, receiving=progress.receiving)
            raise _translate(url, exc, timeout, sent) from None

    async def _send(
        self, pool: _Pool, url: str, request: bytes, timeout: float, repeatable: bool, progress: _Progress
    ) -> tuple[int, bytes]:
        """(status, body) of the answer to ``request``, sent again once when ``retry.may_send_again`` allows."""
        attempt = 1
        while True:
            try:
                return await self._exchange(pool, request, progress)
            except (OSError, httptools.HttpParserError, httptools.HttpParserUpgrade, _TooLarge) as exc:
                sent = retry.was_sent(exc, connected=progress.connected, receiving=progress.receiving)
                error = _translate(url, exc, timeout, sent)
                if retry.transport_may_resend(error, attempt, repeatable=repeatable):
                    attempt += 1
                    continue
                raise error from None

    @staticmethod
    async def _exchange(pool: _Pool, request: bytes, progress: _Progress) -> tuple[int, bytes]:
        """(status, body) of the answer to ``request`` on a connection of ``pool``; ``progress`` says how far."""
        progress.connected = progress.receiving = False
        conn: _Connection | None = None
        keep = False
        await pool.acquire_slot()
        try:
            conn = pool.take()
            if conn is None:
                conn = await pool.connect()
            progress.connected = True
            exchange = conn.exchange(request)
            progress.receiving = True
            status, data, keep = await exchange
            return status, data
        except BaseException:
            # Lost while bytes of the request still waited in the buffer: not written whole.
            progress.receiving = progress.receiving and conn is not None and conn.flushed
            raise
        finally:
            pool.release(conn, keep)

    def close(self) -> None:
        """Close every idle connection; the transport stays usable (it connects anew)."""
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._routes.clear()


class _Progress:
    """How far the last attempt of a call got, for ``retry.was_sent`` when it fails."""

    __slots__ = ("connected", "receiving")

    def __init__(self) -> None:
        self.connected = False
        #: The request was written whole: the server may have run it.
        self.receiving = False
