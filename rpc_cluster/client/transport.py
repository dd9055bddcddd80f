"""HTTP transport for the client: pooled keep-alive sockets, answers read by llhttp.

It carries the project's own HTTP calls: every JSON-RPC call (``post``) and
the small reads around the cluster (``get``: ``rpc-cluster up``'s health
checks, a local etcd's ``/health``). Three other HTTP clients remain, each
for a reason given where it lives: the registry's heartbeats run on an
asyncio loop (``registry/heartbeat_client.py``), etcd3gw brings its own
``requests`` (``registry/etcd/gateway.py``), and the portal's ``/metrics`` scraper
needs one deadline for a whole scrape (``portal/cluster_stats.py``).

A request is written with one ``sendall`` on a socket kept alive per
(tls, host, port), and its answer is parsed by httptools'
``HttpResponseParser`` (llhttp, the C parser behind uvicorn and Node.js).
``http.client`` on the same connections spent most of a call's CPU in its
header parser (the ``email`` package) and wrote each request in two sends;
see docs/decisions.md, "Choosing the client transport", for what this one
measured against it and against Pyro5.

Every transport failure is turned into the cluster's own error types here, in
``_translate``; whether a failed request may have reached the server is
``retry.was_sent``'s rule: not connected, or broken while the request was
being written, is not sent; once it is written, it is.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time

import httptools

from ..core.errors import CallTimeout, TransportError
from ..net import tls, urls
from . import retry

# A connection idle longer than this is closed rather than reused: servers close
# idle keep-alive connections after a while, and one closed just as we reuse it
# fails a request that then may not be sent again (retry.was_sent).
MAX_IDLE_SECONDS = 20.0
#: The largest answer body read; a larger one is refused, not buffered. A server's
#: own limit is 32 MiB of response text (jsonrpc.DEFAULT_MAX_RESPONSE_BYTES).
DEFAULT_MAX_RESPONSE_BYTES = 64 << 20
# Bytes asked of the socket per read: a trivial answer is about 200.
_READ_BYTES = 65536
# URLs whose request line and pool are remembered (urllib.parse takes 5 µs a URL, timeit:
# as long as llhttp takes to read a whole answer); past this many they are forgotten.
_MAX_ROUTES = 1024


class _Closed(ConnectionError):
    """The server closed the connection before its answer was complete."""


class _TooLarge(Exception):
    """The answer is larger than the transport's ``max_response_bytes``."""


class _Answer:
    """httptools' callbacks for the answers read on one connection: status, body, framing.

    Kept with its parser for the life of the connection; ``expect()`` before each request.
    """

    __slots__ = (
        "begun",
        "complete",
        "extra",
        "framed",
        "headers_done",
        "keep",
        "limit",
        "parser",
        "parts",
        "size",
        "status",
        "too_large",
    )

    def __init__(self, limit: int):
        self.limit = limit
        self.parser = httptools.HttpResponseParser(self)
        self.expect()

    def expect(self) -> None:
        self.begun = False
        self.status = 0
        self.parts: list[bytes] = []
        self.size = 0
        # Content-Length or Transfer-Encoding seen: else the body ends with the connection.
        self.framed = False
        self.headers_done = False
        self.complete = False
        # llhttp's verdict (Connection, HTTP/1.0 rules), asked before it resets for the next answer.
        self.keep = False
        # Bytes after the answer: the connection is in a state we cannot know, so it is not reused.
        self.extra = False
        self.too_large = False

    def on_message_begin(self) -> None:
        if self.complete:
            self.extra = True
            return
        self.begun = True
        self.parts, self.size, self.framed, self.headers_done = [], 0, False, False  # anew after a 1xx

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-length":
            self.framed = True
            value = value.strip()
            if value.isdigit() and int(value) > self.limit:
                self.too_large = True  # refused before its body is read (llhttp refuses a length that is not digits)
        elif name == b"transfer-encoding":
            self.framed = True

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_done = True

    def on_body(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            self.too_large = True
        else:
            self.parts.append(data)

    def on_message_complete(self) -> None:
        if self.status < 200:
            return  # an interim answer (100 Continue): the real one follows
        self.complete = True
        self.keep = self.parser.should_keep_alive()

    def where(self) -> str:
        """How far the answer got, for the message of a connection that closed under it."""
        if self.headers_done:
            return "in the middle of the answer's body"
        if self.begun:
            return "in the middle of the answer's headers"
        return "before answering"


#: The answer parser, also for answers read outside the pool (the portal's ``/metrics`` scraper).
Answer = _Answer


class _Connection:
    """One keep-alive socket (TLS-wrapped for https) and the parser of its answers. One thread at a time."""

    __slots__ = ("answer", "idle_since", "poller", "sock")

    def __init__(self, sock: socket.socket, limit: int):
        self.sock = sock
        self.answer = _Answer(limit)
        # One poll object for the connection's life: asking it costs one system call, with no
        # limit on the descriptor's number (select.select refuses those past 1023).
        self.poller = select.poll()
        self.poller.register(sock, select.POLLIN)
        self.idle_since = 0.0

    def closed_by_peer(self) -> bool:
        """Whether an idle connection can no longer carry a request.

        An idle HTTP/1.1 connection has nothing to read: readable means the
        server closed it (end of file) or broke protocol. Checking costs one
        poll and saves a request that would fail after it may have been sent.
        """
        try:
            if self.poller.poll(0):
                return True
        except (OSError, ValueError):
            return True
        return isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0

    def receive(self) -> tuple[int, bytes, bool]:
        """(status, body, whether the connection may carry another request) of the answer to what was sent.

        Raises OSError (``_Closed`` when the server closed the connection
        early), httptools' errors for what is not an HTTP answer, ``_TooLarge``.
        """
        answer = self.answer
        parser = answer.parser
        recv = self.sock.recv
        while True:  # expect() has made the answer incomplete
            data = recv(_READ_BYTES)
            if not data:
                if answer.headers_done and not answer.framed:
                    break  # an answer framed by the end of the connection: it is whole
                raise _Closed(f"the server closed the connection {answer.where()}")
            try:
                parser.feed_data(data)
            except httptools.HttpParserError:
                if not answer.complete:
                    raise
                answer.extra = True  # llhttp refuses bytes after an answer that said Connection: close
            if answer.too_large:
                raise _TooLarge(f"the answer is larger than {answer.limit:,} bytes (max_response_bytes)")
            if answer.complete:
                break
        parts = answer.parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        return answer.status, body, answer.keep and not answer.extra

    def close(self) -> None:
        self.sock.close()
        del self.answer.parser  # the parser refers to its answer: break the cycle (a connection is closed once)


class _Pool:
    """Idle keep-alive connections to one host:port, newest last; ``context`` set for HTTPS."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None, limit: int, max_idle: int = 32):
        self.host, self.port, self.context, self.limit, self.max_idle = host, port, context, limit, max_idle
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    def take(self) -> _Connection | None:
        """A live idle connection, else None."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if time.monotonic() - conn.idle_since > MAX_IDLE_SECONDS or conn.closed_by_peer():
                conn.close()
                continue
            return conn

    def connect(self, timeout: float) -> _Connection:
        """A new connection, its TLS handshake done: ready to carry a request."""
        sock = socket.create_connection((self.host, self.port), timeout)
        try:
            # The request goes in one write, and the next only after its answer, but a
            # delayed ACK must never hold a write back.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock, self.limit)

    def close_stale(self, now: float) -> bool:
        """Close the idle connections past MAX_IDLE_SECONDS; True when none is left."""
        with self._lock:
            stale = [conn for conn in self._idle if now - conn.idle_since > MAX_IDLE_SECONDS]
            self._idle = [conn for conn in self._idle if now - conn.idle_since <= MAX_IDLE_SECONDS]
            empty = not self._idle
        for conn in stale:
            conn.close()
        return empty

    def put(self, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        conn.close()


def http_target(url: str) -> tuple[bool, str, int, str]:
    """(tls, ASCII host, port, path with query) of a URL ``urls.parse`` takes; TransportError (not sent) else.

    A URL the client cannot use fails like an instance that refuses the
    connection, so a ServiceClient moves on to the next instance.
    """
    try:
        target = urls.parse(url)
    except urls.BadUrl as exc:
        raise TransportError(f"rpc: unsupported URL: {exc}", sent=False) from None
    return target.tls, target.host, target.port, target.path


def _request_line(host: str, port: int, secure: bool, path: str) -> bytes:
    """`` path HTTP/1.1`` and the Host header, as bytes, for a target ``http_target`` returned.

    The method goes in front (``b"POST" + line``): one route serves a URL's POSTs and GETs.
    """
    return f" {path} HTTP/1.1\r\nHost: {urls.host_header(host, port, secure)}\r\n".encode("ascii")


def _header_lines(headers: dict[str, str]) -> bytes:
    """``Name: value`` lines; ValueError for a line break or NUL in one (it would forge headers)."""
    text = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    if text.count("\n") != len(headers) or text.count("\r") != len(headers) or "\0" in text:
        raise ValueError("a header holds a line break or NUL: " + ", ".join(headers))
    return text.encode("latin-1")


class Transport:
    """Sends HTTP POSTs and GETs over pooled connections. Thread-safe: a process,
    or a service, shares one so that its clients share connections.

    ``tls_ca``: the CA file that ``https://`` servers are verified against
    (default ``$RPC_CLUSTER_TLS_CA``, else the system's CAs; ``tls.client_context``).
    ``max_response_bytes``: a larger answer body is refused with a TransportError.
    """

    def __init__(self, *, tls_ca: str | None = None, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self.tls_ca = tls_ca
        self.max_response_bytes = max_response_bytes
        self._pools: dict[tuple[bool, str, int], _Pool] = {}
        # url -> (its pool, its request line and Host header).
        self._routes: dict[str, tuple[_Pool, bytes]] = {}
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

    def _route(self, url: str) -> tuple[_Pool, bytes]:
        route = self._routes.get(url)
        if route is None:
            secure, host, port, path = http_target(url)
            head = _request_line(host, port, secure, path)
            key = (secure, host, port)
            pool = self._pools.get(key)
            if pool is None:
                context = self.ssl_context() if secure else None
                self._forget_stale_pools()
                with self._lock:
                    pool = self._pools.setdefault(key, _Pool(host, port, context, self.max_response_bytes))
            if len(self._routes) >= _MAX_ROUTES:
                self._routes.clear()
            route = self._routes[url] = (pool, head)
        return route

    def _forget_stale_pools(self) -> None:
        """Close what instances that are gone left idle, when a new one appears.

        Instances come and go (restarts on new ports, failovers); each left up
        to 32 idle sockets that no call would take again. Checked as a new
        host:port is first used, which is when the set of instances changes.
        """
        now = time.monotonic()
        with self._lock:
            pools = list(self._pools.items())
        gone = [key for key, pool in pools if pool.close_stale(now)]
        if gone:
            with self._lock:
                for key in gone:
                    pool = self._pools.get(key)
                    if pool is not None and pool.close_stale(now):
                        del self._pools[key]
                self._routes.clear()  # routes hold their pool: forget the ones of removed pools

    def post(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float, *, repeatable: bool = False
    ) -> tuple[int, bytes]:
        """POST ``body``; returns (status, response body). Raises TransportError/CallTimeout.

        ``timeout`` bounds each step (connecting, writing, each read), as
        ``socket.settimeout`` does. A failed request is sent once more only
        when ``retry.may_send_again`` allows it: it never reached the server,
        or it is ``repeatable`` (the server recognises a repeat). A timeout
        is never sent again here.
        """
        pool, line = self._route(url)
        try:
            request = b"".join((b"POST", line, _header_lines(headers), b"Content-Length: %d\r\n\r\n" % len(body), body))
        except ValueError as exc:
            raise _translate(url, exc, timeout, sent=False) from None
        return self._exchange(pool, url, request, timeout, repeatable)

    def get(self, url: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
        """GET ``url``; returns (status, response body), whatever the status. Raises TransportError/CallTimeout.

        On the same pooled connections, limits and error types as ``post``;
        ``timeout`` bounds each step. Sent once more only when the first
        request never reached the server.
        """
        pool, line = self._route(url)
        try:
            request = b"".join((b"GET", line, _header_lines(headers or {}), b"\r\n"))
        except ValueError as exc:
            raise _translate(url, exc, timeout, sent=False) from None
        return self._exchange(pool, url, request, timeout, repeatable=False)

    def close(self) -> None:
        """Close every idle connection; the transport stays usable (it connects anew)."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
            self._routes.clear()
        for pool in pools:
            pool.close_stale(float("inf"))

    def _exchange(self, pool: _Pool, url: str, request: bytes, timeout: float, repeatable: bool) -> tuple[int, bytes]:
        """(status, body) of the answer to ``request``, sent on a connection of ``pool``."""
        attempt = 1
        while True:
            conn = pool.take()
            connected = conn is not None
            receiving = False
            try:
                if conn is None:
                    conn = pool.connect(timeout)
                    connected = True
                elif conn.sock.gettimeout() != timeout:
                    conn.sock.settimeout(timeout)
                conn.answer.expect()
                conn.sock.sendall(request)
                receiving = True
                status, data, keep = conn.receive()
            except (OSError, httptools.HttpParserError, httptools.HttpParserUpgrade, _TooLarge) as exc:
                if conn is not None:
                    conn.close()
                error = _translate(url, exc, timeout, retry.was_sent(exc, connected=connected, receiving=receiving))
                if retry.transport_may_resend(error, attempt, repeatable=repeatable):
                    attempt += 1
                    continue
                raise error from None
            if keep:
                pool.put(conn)
            else:
                conn.close()
            return status, data


def _translate(url: str, exc: BaseException, timeout: float, sent: bool) -> TransportError:
    """The cluster's error for a failed HTTP exchange."""
    if isinstance(exc, TimeoutError):
        return CallTimeout(f"rpc: call to {url} timed out after {timeout:g} s", sent=sent)
    if isinstance(exc, ConnectionRefusedError):
        return TransportError(f"rpc: connection to {url} refused", sent=False)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransportError(
            f"rpc: {url} has a certificate this client does not trust "
            f"({exc.verify_message}); give the cluster's CA with --tls-ca or "
            f"${tls.CA_ENV}",
            sent=False,
        )
    if isinstance(exc, ssl.SSLError):
        return TransportError(
            f"rpc: TLS with {url} failed ({exc.reason or exc}); is it serving HTTPS on that port?", sent=sent
        )
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, _Closed)):
        return TransportError(f"rpc: connection to {url} lost: {exc}", sent=sent)
    if isinstance(exc, (httptools.HttpParserError, httptools.HttpParserUpgrade)):
        return TransportError(
            f"rpc: {url} did not answer in HTTP/1.1 ({type(exc).__name__}: {exc}); "
            "is it serving HTTPS, or something other than HTTP, on that port?",
            sent=sent,
        )
    if isinstance(exc, _TooLarge):
        return TransportError(f"rpc: {url}: {exc}; ask for less", sent=sent)
    if isinstance(exc, ValueError):
        return TransportError(f"rpc: a request to {url} cannot be sent: {exc}", sent=sent)
    return TransportError(f"rpc: HTTP request to {url} failed: {exc}", sent=sent)
