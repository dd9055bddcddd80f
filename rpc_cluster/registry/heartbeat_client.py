"""A small HTTP/1.1 client on asyncio streams, for the registry's heartbeats.

One keep-alive connection per service URL, at most. A request that waits for
a silent peer costs a socket and a timer on the event loop, never a thread:
with 500 of 2,000 services silent, the threaded checker kept its 64 threads
blocked on them and took 28 s to notice the last one.

Why not the project's transport (``client/transport.py``): that one blocks
the calling thread for each call, and the registry checks thousands of
services at once from one asyncio loop, each check a coroutine waiting on its
own socket. This client shares the transport's URL rule (``http_target``) and
error types, and adds only the non-blocking I/O.

It speaks only what a heartbeat needs: a POST with a body, and an answer
framed by ``Content-Length``, chunked, or the end of the connection, of at
most ``MAX_BODY`` bytes. Failures are raised as the cluster's
``TransportError``/``CallTimeout``; whether to try again is the caller's
decision (``retry.HEARTBEAT``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

from ..client import retry
from ..client.transport import http_target
from ..core.errors import CallTimeout, TransportError
from ..net.tls import client_context
from ..net.urls import host_header

#: Largest answer read, head or body: a heartbeat's is under 100 bytes.
MAX_BODY = 64 * 1024

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _Lost(TransportError):
    """The connection ended before the answer's first byte."""


class HeartbeatClient:
    """POSTs over keep-alive connections, one per URL. Use from one event loop only.

    ``ssl_context``: called for the context that verifies ``https://`` servers,
    on the first one (the transport's, so both trust the same CA).
    """

    def __init__(self, *, max_idle: int, ssl_context: Callable[[], ssl.SSLContext] | None = None):
        #: Idle connections kept at most (each holds a file descriptor).
        self.max_idle = max_idle
        self._ssl_context = ssl_context or client_context
        self._idle: dict[str, _Connection] = {}
        # url -> its checked parts: urls.parse takes 10 µs (timeit), and each round checks every URL.
        self._targets: dict[str, tuple[bool, str, int, str]] = {}

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
        """(status, body) of one POST; raises TransportError, or CallTimeout after ``timeout`` s in all."""
        target = self._targets.get(url)
        if target is None:
            target = self._targets[url] = http_target(url)
        secure, host, port, path = target
        context = self._ssl_context() if secure else None
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {host_header(host, port, secure)}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body
        try:
            async with asyncio.timeout(timeout):
                # An idle connection the server closed just as we reuse it fails before any
                # answer: the heartbeat changes nothing, so it goes again on a new connection.
                for _ in range(retry.TRANSPORT.attempts or 1):
                    conn = self._take_idle(url)
                    reused = conn is not None
                    if conn is None:
                        conn = await asyncio.open_connection(
                            host, port, limit=MAX_BODY, ssl=context, server_hostname=host if secure else None
                        )
                    try:
                        conn[1].write(request)
                        status, data, keep = await _read_answer(conn[0])
                    except _Lost:
                        _close(conn)
                        if reused:
                            continue
                        raise
                    except BaseException:
                        _close(conn)
                        raise
                    if keep:
                        self._put_idle(url, conn)
                    else:
                        _close(conn)
                    return status, data
                raise TransportError(f"rpc: connection to {url} lost before an answer")
        except TimeoutError:
            raise CallTimeout(f"rpc: call to {url} timed out after {timeout:g} s") from None
        except ConnectionRefusedError:
            raise TransportError(f"rpc: connection to {url} refused", sent=False) from None
        except ssl.SSLError as exc:
            raise TransportError(f"rpc: TLS with {url} failed: {exc.reason or exc}", sent=False) from None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise TransportError(f"rpc: HTTP request to {url} failed: {exc!r}") from None

    def _take_idle(self, url: str) -> _Connection | None:
        conn = self._idle.pop(url, None)
        if conn is not None and (conn[0].at_eof() or conn[1].is_closing()):
            _close(conn)  # the server closed it while it was idle
            return None
        return conn

    def _put_idle(self, url: str, conn: _Connection) -> None:
        if len(self._idle) < self.max_idle:
            self._idle[url] = conn
        else:
            _close(conn)

    def forget_except(self, urls: set[str]) -> None:
        """Close the idle connections of URLs no longer checked (deregistered, dropped)."""
        for url in [u for u in self._idle if u not in urls]:
            _close(self._idle.pop(url))
        for url in [u for u in self._targets if u not in urls]:
            del self._targets[url]

    def close(self) -> None:
        for conn in self._idle.values():
            _close(conn)
        self._idle.clear()


def _close(conn: _Connection) -> None:
    # abort(), not close(): a silent peer would keep unsent bytes waiting in the socket.
    conn[1].transport.abort()


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the connection may carry another request)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise _Lost("rpc: connection closed before an answer") from None
        raise
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise TransportError(f"rpc: not an HTTP answer: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep = connection == "keep-alive" if version == "HTTP/1.0" else connection != "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if not 0 <= length <= MAX_BODY:
            raise TransportError(f"rpc: answer of {length} bytes is larger than {MAX_BODY}")
        body = await reader.readexactly(length)
    else:
        body, keep = await reader.read(MAX_BODY), False  # framed by the end of the connection
    return int(code), body, keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    # Each chunk adds at least one byte: the loop ends by the last chunk or by MAX_BODY.
    while len(body) <= MAX_BODY:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            # Trailer lines, if any, then an empty line; each is at most MAX_BODY bytes (the reader's limit).
            for _ in range(64):
                if await reader.readuntil(b"\r\n") == b"\r\n":
                    return body
            break
        body += (await reader.readexactly(size + 2))[:-2]
    raise TransportError(f"rpc: chunked answer longer than {MAX_BODY} bytes or 64 trailer lines")
