"""Serving a ``Handler`` over HTTP with Granian, inside this process, on an event loop of its own.

Granian (a Rust HTTP server) measured fastest here (docs/decisions.md, "Choosing the HTTP
server"). ``HttpServer`` runs Granian's embedded server (its public ``granian.server.embed``)
with the RSGI interface on a uvloop event loop, in one thread of the service's process: the
listening socket is bound here, so port 0 has one answer, and the service's state stays in
memory beside its own background threads.

Each request is read and answered on that loop (``_Front``), and the handler decides where its
work runs (``exchange.Handler``): a call that takes microseconds runs on the loop itself, one that
may block (the database) on one of ``threads`` request threads, an ``async def`` method is
awaited. Nothing waits on a thread that it did not ask for, which is what keeps every bound
against hostile clients (docs/operations.md, "Limits"; the values are a ``Limits``) free:

- a request body is awaited on the loop, never read on a thread: a slow or stalled body costs
  no request thread, and at ``body_timeout`` its read is cancelled and it is answered 408
  (``body.BodyDeadlines``); one larger than its path's limit is answered 413;
- only HTTP/1.1 is served, so that hyper's header-read timeout (``idle_timeout``) also closes
  connections that send nothing, or nothing more after a response (Granian's HTTP/2 sniffing
  in "auto" mode waits for the first bytes with no timeout);
- at most ``max_connections`` connections are served at once (Granian's "backpressure"),
  within the process's file limit, which ``start()`` raises to its hard maximum;
- TLS handshakes that stall are dropped by Granian after 10 s.

The one part of Granian beyond its public interface is ``_init_shared_socket``, overridden to
serve the socket bound here (Granian's own sets SO_REUSEPORT, so a second service on a taken
port would share it silently instead of failing); ``tests/test_pinned_internals.py`` checks it
and ``pyproject.toml`` pins Granian to one minor version for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import resource
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import uvloop
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.net import SocketHolder  # type: ignore[attr-defined]  # re-exported from _granian
from granian.server.embed import Server as EmbeddedGranian

from ..core.dispatch import SERVING_LOOP
from .body import BodyDeadlines, BodyLimits
from .exchange import Handler, Request, Response, WsgiApp, WsgiHandler
from .request_threads import RequestThreads
from .rpc_app import DEFAULT_MAX_BODY
from .settings import Limits

log = logging.getLogger("rpc_cluster.http")

#: Whether a request skips the wait for a request thread, from its path and its whole body.
Priority = Callable[[str, bytes], bool]
# File descriptors kept free for the service's own files and outgoing calls
# when the connection cap is fitted under the process's file limit.
_FD_RESERVE = 256
# The open files counted for an unlimited soft limit: callers size pools and caps from the count.
UNLIMITED_FILES = 1 << 20
# Granian's logging setup, made incremental: it only sets its own logger's level, where a whole
# configuration would close every handler in the process (a log shipper, the log service's file).
_LEAVE_LOGGING_ALONE = MappingProxyType({"version": 1, "incremental": True, "handlers": {}, "loggers": {}})
_TEXT_PLAIN_JSON = "application/json"


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit; the files it may open now.

    Every connection is a file descriptor: at the common soft limit of 1,024 a
    thousand idle connections would exhaust the process. An unlimited soft
    limit counts as ``UNLIMITED_FILES``; under an unlimited hard limit the soft
    one is raised to at least 65,536.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return UNLIMITED_FILES
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, target, exc)
    return soft


def _no_priority(path: str, body: bytes) -> bool:
    """Every request of a WSGI app waits for a request thread (an ``HttpServer`` given no ``priority``)."""
    return False


def _refusal(status: int, payload: dict[str, Any]) -> Response:
    body = json.dumps(payload).encode()
    # The connection is closed: what is left of its body may still be on the way.
    return Response(status, [("content-type", _TEXT_PLAIN_JSON), ("connection", "close")], body)


class _Front:
    """Granian's RSGI callback: reads the body (bounded), asks the handler, writes its answer."""

    def __init__(
        self,
        handler: Handler,
        *,
        deadlines: BodyDeadlines,
        limits: BodyLimits,
        pool: RequestThreads,
        scheme: str,
    ):
        self.handler = handler
        self.deadlines = deadlines
        self.limits = limits
        self.offload = pool.offload
        self.scheme = scheme
        self._late = _refusal(408, {"error": "Request Timeout", "limit_seconds": deadlines.timeout})

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        headers = scope.headers
        path: str = scope.path
        try:
            body = await self._body(headers, path, proto)
        except Exception as exc:  # the client went away mid-body: there is no one to answer
            log.debug("http: a request body ended early (%s)", exc)
            return
        if isinstance(body, int):
            if body == 408:
                response = self._late
            else:
                response = _refusal(413, {"error": "Payload Too Large", "limit_bytes": self.limits.of(path)})
        else:
            request = Request(
                scope.method, path, scope.query_string, headers, body, self.scheme, scope.client, scope.server
            )
            try:
                response = await self.handler.respond(request, self.offload)
            except Exception:
                log.exception("http: the handler failed on %s %s", scope.method, path)
                response = _refusal(500, {"error": "Internal Server Error"})
        try:
            proto.response_bytes(response.status, response.headers, response.body)
        except Exception as exc:  # the client has gone: nothing to tell it, nothing to log above debug
            log.debug("http: an answer could not be sent (%s)", exc)

    async def _body(self, headers: Any, path: str, proto: Any) -> bytes | int:
        """The request's whole body, or the status refusing it (408, 413)."""
        length = headers.get("content-length")
        if length is not None:
            size = int(length)  # hyper has refused a request whose Content-Length is not a number
            return await self.deadlines.read(proto, size, self.limits.of(path)) if size else b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return await self.deadlines.read(proto, None, self.limits.of(path))
        return b""


class _Granian(EmbeddedGranian):
    """Granian's embedded server, serving a socket bound by ``HttpServer``."""

    listening: socket.socket

    def _init_shared_socket(self) -> None:
        # Granian owns (and closes) the descriptor it is given: hand it a duplicate.
        # Granian's __init__ sets these to None (so that is their inferred type).
        holder: Any = SocketHolder  # its stub lags the binary: built from (fd, is_unix, backlog)
        self._shd = holder(os.dup(self.listening.fileno()), False, self.backlog)
        self._sfd = self.listening.fileno()  # type: ignore[assignment]
        self._ssp = None


@dataclass
class _Running:
    """What ``HttpServer.start()`` made: the port stays known after ``stop()``."""

    thread: threading.Thread
    loop: asyncio.AbstractEventLoop
    stopping: asyncio.Event
    pool: RequestThreads
    listening: socket.socket
    port: int
    stopped: bool = False


class HttpServer:
    """A running HTTP server for ``app``; ``port`` is the real one (also for port 0).

    ``app``: a ``Handler`` (``RpcApp``), or a WSGI application, which runs on the request
    threads. Use as a context manager, or call ``start()`` and ``stop()``. ``threads``: the
    request threads for work that may block. ``limits``: the bounds described in the module
    docstring and in docs/operations.md ("Limits"). ``priority(path, body)``: a WSGI app's
    requests that are answered on the loop without waiting for a thread (a service's /health).
    """

    def __init__(
        self,
        app: Handler | WsgiApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        threads: int = 8,
        backlog: int = 1024,
        limits: Limits | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        body_limits: Mapping[str, int] = MappingProxyType({}),
        priority: Priority = _no_priority,
        tls_files: tuple[Path, Path] | None = None,
    ):
        self.app = app
        self.host = host
        self.requested_port = port
        self.threads = threads
        self.backlog = backlog
        self.limits = limits if limits is not None else Limits()
        self.max_body = max_body
        #: Paths whose bodies may be larger (or must be smaller) than ``max_body``: {"/import": 4 << 20}.
        self.body_limits = body_limits
        self.priority = priority
        #: (certificate chain, private key): serve HTTPS only (``tls.check_server_files``).
        self.tls_files = tls_files
        self._running: _Running | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one for port 0), from ``start()`` on; kept after ``stop()``."""
        if self._running is None:
            raise RuntimeError("http: the server has no port until start() binds it")
        return self._running.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls_files else 'http'}://{host}:{self.port}"

    def _connection_cap(self) -> int:
        files = raise_open_file_limit()
        wanted = self.limits.max_connections
        cap = min(wanted, max(64, files - _FD_RESERVE))
        if cap < wanted:
            log.warning("http: serving at most %d connections at once (open-file limit %d)", cap, files)
        return cap

    def _handler(self) -> Handler:
        if isinstance(self.app, Handler):
            return self.app
        priority = self.priority
        return WsgiHandler(self.app, lambda request: priority(request.path, request.body))

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.requested_port))
            sock.listen(self.backlog)
        except OSError:
            sock.close()
            raise
        return sock

    def start(self) -> HttpServer:
        """Bind and start serving; raises OSError when the address is taken."""
        limits = self.limits
        listening = self._bind()
        pool = RequestThreads(self.threads)
        deadlines = BodyDeadlines(limits.body_timeout)
        front = _Front(
            self._handler(),
            deadlines=deadlines,
            limits=BodyLimits(self.body_limits, self.max_body),
            pool=pool,
            scheme="https" if self.tls_files else "http",
        )
        cert, key = self.tls_files or (None, None)
        try:
            granian = _Granian(
                front,
                address=self.host,
                port=listening.getsockname()[1],
                interface=Interfaces.RSGI,
                backlog=self.backlog,
                backpressure=self._connection_cap(),
                log_enabled=False,
                log_dictconfig=dict(_LEAVE_LOGGING_ALONE),
                websockets=False,
                http=HTTPModes.http1,
                http1_settings=HTTP1Settings(header_read_timeout=max(1, int(limits.idle_timeout * 1000))),
                ssl_cert=cert,
                ssl_key=key,
            )
        except BaseException:
            listening.close()
            raise
        granian.listening = listening
        granian.workers_kill_timeout = max(1, int(limits.drain_timeout))
        loop = uvloop.new_event_loop()
        ready: concurrent.futures.Future[asyncio.Event] = concurrent.futures.Future()
        serving = _LoopThread(loop, granian, pool, deadlines, ready)
        thread = threading.Thread(target=serving.run, name="http-loop", daemon=True)
        thread.start()
        try:
            stopping = ready.result(timeout=30)
        except BaseException:
            listening.close()
            thread.join(timeout=5)
            raise
        self._running = _Running(thread, loop, stopping, pool, listening, listening.getsockname()[1])
        log.debug("http: serving on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to ``limits.drain_timeout``), close."""
        running = self._running
        if running is None or running.stopped:
            return
        running.stopped = True
        if not running.loop.is_closed():
            running.loop.call_soon_threadsafe(running.stopping.set)
        running.thread.join(timeout=self.limits.drain_timeout + 5)
        running.listening.close()

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@dataclass
class _LoopThread:
    """The thread that runs the loop: Granian, the deadlines and the request threads' answers."""

    loop: asyncio.AbstractEventLoop
    granian: _Granian
    pool: RequestThreads
    deadlines: BodyDeadlines
    #: Set to the stopping event once serving, or to the error that kept it from starting.
    ready: concurrent.futures.Future[asyncio.Event]

    def run(self) -> None:
        """Serve until told to stop, then drain."""
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serving())
        except BaseException as exc:
            if not self.ready.done():
                self.ready.set_exception(exc)
            else:
                log.exception("http: the server stopped with an error")
        finally:
            self.loop.close()

    async def _serving(self) -> None:
        granian = self.granian
        # Set before Granian copies this context for its requests: a request thread finds the loop
        # to await an async method on.
        SERVING_LOOP.set(self.loop)
        self.pool.start(self.loop)
        stopping = asyncio.Event()
        self.deadlines.start(self.loop)
        serving = asyncio.ensure_future(granian.serve())
        # Started once its worker runs (or the start failed: a certificate Granian cannot load).
        while not granian.wrks and not serving.done():
            await asyncio.sleep(0.005)
        if serving.done():
            serving.result()
            raise RuntimeError("http: the server stopped as it started")
        self.ready.set_result(stopping)
        await stopping.wait()
        granian.stop()  # type: ignore[no-untyped-call]  # Granian's, unannotated
        try:
            await asyncio.wait_for(serving, timeout=(granian.workers_kill_timeout or 0) + 2)
        except (TimeoutError, asyncio.CancelledError):
            log.warning("http: requests still in flight after the drain timeout were cut off")
        self.deadlines.stop()
        # Work the threads still hold has no one left to answer: they finish it and leave.
        self.pool.stop(timeout=0)
