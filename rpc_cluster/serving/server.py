"""Serving a WSGI app with Granian, inside this process.

Granian (a Rust HTTP server) measured fastest here (docs/decisions.md,
"Choosing the HTTP server"). Its ordinary mode runs the app in worker *processes*, but a
service keeps state in memory (the registry's table, a provider table) and
must know the port it got when asked for port 0. So we run Granian's
thread worker in this process: the listening socket is bound here, its port
is read back, and the WSGI app runs on Granian's blocking threads beside our
own background threads.

Hostile clients (docs/operations.md, "Limits"; the values are a ``Limits``). Granian 2.8 calls the WSGI app as soon as
the request's headers are in, and ``wsgi.input.read`` then blocks that thread
on the socket with no timeout of any kind: one POST that sends one byte of a
100-byte body held grading's only request thread for as long as the client
liked (40 s measured, until it hung up). So this module runs the app itself
(``_Runner``, given Granian's response object instead of Granian's own WSGI
wrapper) and:

- reads the whole body *before* the app runs, on one of ``body_waiters``
  extra threads, and only then takes one of ``threads`` app slots: a slow body
  never holds an app slot, and the requests the service's ``priority`` callback
  names (``/health``, a heartbeat) skip the queue for one;
- bounds the time a body may take (``body_timeout``): past it a watchdog
  answers 408 and ends the connection, which is the only thing that ends the
  blocked read (see ``_BodyClock``);
- serves HTTP/1.1 only, so that hyper's header-read timeout (``idle_timeout``)
  also closes connections that send nothing, or nothing more after a
  response. In Granian's default "auto" mode the HTTP/2 sniffing waits for the
  first bytes with no timeout: an idle connection was never closed (40 s
  measured);
- accepts up to ``max_connections`` connections at once (Granian's
  "backpressure"; it defaulted to the backlog, 1,024, and 1,030 idle
  connections locked every heartbeat out), within the process's file limit,
  which ``start()`` raises to its hard maximum.

This leans on Granian internals (``MTServer`` is meant for free-threaded
builds; the WSGI worker and callback scheduler are private), which is why
``pyproject.toml`` pins Granian to one minor version; everything that touches
them is in this file and ``tests/test_pinned_internals.py`` checks them.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import resource
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

import granian.server.common as _granian_common
from granian._futures import _new_cbscheduler
from granian._granian import SocketHolder, WSGIWorker
from granian.constants import HTTPModes, Interfaces, TaskImpl
from granian.http import HTTP1Settings
from granian.server.common import WORKERS_METHODS
from granian.server.mt import MTServer, WorkerThread

from .rpc_app import DEFAULT_MAX_BODY, DRAIN_LIMIT, discard
from .settings import Limits

log = logging.getLogger("rpc_cluster.http")

# Granian's _granian.pyi lags its binary: SocketHolder is built from (fd, is_unix, backlog), and
# WSGIWorker takes arguments the stub does not list. Both are called as the binary defines them.
_SocketHolder: Any = SocketHolder
_WSGIWorker: Any = WSGIWorker


@contextlib.contextmanager
def _logging_left_alone() -> Iterator[None]:
    """While a Granian server is built: its __init__ runs logging.config.dictConfig,
    which flushes and closes every handler in the process (a service's log
    shipper, the log service's open file). Logging is the application's to configure.
    """
    # The name as that module sees it (it imports configure_logging from granian.log).
    names = vars(_granian_common)
    original = names["configure_logging"]
    names["configure_logging"] = lambda *args, **kwargs: None
    try:
        yield
    finally:
        names["configure_logging"] = original


#: Whether a request skips the queue for an app slot, from its path and its whole body.
Priority = Callable[[str, bytes], bool]
#: A WSGI application, as the server calls it.
App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# File descriptors kept free for the service's own files and outgoing calls
# when the connection cap is fitted under the process's file limit.
_FD_RESERVE = 256


# The open files counted for an unlimited soft limit: callers size pools and caps from the count.
UNLIMITED_FILES = 1 << 20


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


class _Waiting:
    """One request whose body is being read: its response object and deadline."""

    __slots__ = ("deadline", "expired", "proto")

    def __init__(self, proto: Any, deadline: float):
        self.proto = proto
        self.deadline = deadline
        self.expired = False


class _BodyClock:
    """Ends the requests whose body is late: answers 408 and closes their connection.

    A thread blocked in Granian's ``wsgi.input.read`` cannot be interrupted,
    and Granian has no body timeout; the read only returns when the
    connection ends. The one way to end it from Python is to answer with a
    response that declares one byte more than it sends: hyper then aborts the
    connection after writing it (measured: the blocked read returned at once,
    and the client got the 408 followed by end-of-file).
    """

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._lock = threading.Lock()
        self._waiting: dict[int, _Waiting] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._answer = json.dumps({"error": "Request Timeout", "limit_seconds": timeout}).encode()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="http-body-clock", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @contextlib.contextmanager
    def watch(self, proto: Any) -> Iterator[_Waiting]:
        """Watch a body read for its deadline; ``expired`` on exit: it was answered with 408."""
        waiting = _Waiting(proto, time.monotonic() + self.timeout)
        key = id(waiting)
        with self._lock:
            self._waiting[key] = waiting
        try:
            yield waiting
        finally:
            with self._lock:
                self._waiting.pop(key, None)

    def _run(self) -> None:
        # A deadline is met within a quarter of a second (or of the timeout, if shorter).
        tick = min(0.25, self.timeout / 4)
        while not self._stop.wait(tick):
            now = time.monotonic()
            with self._lock:
                late = [w for w in self._waiting.values() if w.deadline <= now]
                for waiting in late:
                    waiting.expired = True
                    del self._waiting[id(waiting)]
            for waiting in late:
                self._abort(waiting.proto)

    def _abort(self, proto: Any) -> None:
        headers = [
            ("content-type", "application/json"),
            ("content-length", str(len(self._answer) + 1)),
            ("connection", "close"),
        ]
        try:
            proto.response_iter(408, headers, iter([self._answer]))
        except Exception:  # the client may be gone already; nothing else to do
            log.debug("http: could not answer a late body", exc_info=True)


class _StartResponse:
    """The WSGI ``start_response`` of one request: keeps the status and headers."""

    __slots__ = ("headers", "status")

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[str, str]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        self.status = int(status.split(" ", 1)[0])
        self.headers = headers


def _no_priority(path: str, body: bytes) -> bool:
    """Every request waits its turn (an ``HttpServer`` given no ``priority``)."""
    return False


class BodyLimits:
    """How large a request body may be, by its path: the given paths' own limits, others ``default``.

    A path may hold ``<name>`` for one segment of any text: ``/classes/<id>/import`` is every class's.
    """

    def __init__(self, limits: Mapping[str, int], default: int):
        self.default = default
        self._exact = {path: limit for path, limit in limits.items() if "<" not in path}
        self._patterns = [
            (re.compile(re.sub(r"<[^>/]+>", "[^/]+", re.escape(path)) + r"\Z"), limit)
            for path, limit in limits.items()
            if "<" in path
        ]

    def of(self, path: str) -> int:
        """The most bytes a body sent to ``path`` may have."""
        if path in self._exact:
            return self._exact[path]
        return next((limit for pattern, limit in self._patterns if pattern.match(path)), self.default)


class _Runner:
    """Runs the WSGI app for Granian: body first (bounded), then one of ``threads`` app slots.

    The price, measured: the spare threads that read bodies hand every request
    over between threads, where Granian alone ran them all on one. With one
    slot (grading on SQLite) and 16 clients, Grades.get_student fell from about
    17k to 3.5k calls/s; with 0 spare threads it is 17k again, but then one
    client that stalls its body holds the only thread. Queueing requests for the
    slot holders instead of a semaphore measured the same 3.5k. Reading bodies
    without a thread needs Granian's async (RSGI) interface: the way out.
    """

    def __init__(
        self,
        app: App,
        *,
        threads: int,
        max_body: int,
        clock: _BodyClock,
        body_limits: Mapping[str, int] = MappingProxyType({}),
        priority: Priority = _no_priority,
        url_scheme: str = "http",
    ):
        self.app = app
        self.max_body = max_body
        self.body_limits = BodyLimits(body_limits, max_body)
        self.clock = clock
        self.priority = priority
        self._slots = threading.BoundedSemaphore(threads)
        self._base: dict[str, Any] = {
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SCRIPT_NAME": "",
            "SERVER_SOFTWARE": "Granian",
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": url_scheme,
            "wsgi.input_terminated": True,
            "wsgi.multiprocess": False,
            "wsgi.multithread": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }

    def __call__(self, proto: Any, scope: dict[str, Any]) -> None:
        environ = self._base | scope
        path: str = environ.get("PATH_INFO", "")
        limit = self.body_limits.of(path)
        with self.clock.watch(proto) as waiting:
            body = self._read_body(environ, limit)
        if waiting.expired:
            return  # answered 408 by the clock, and the connection is closed
        if isinstance(body, int):
            answer = json.dumps({"error": "Payload Too Large", "limit_bytes": limit}).encode()
            proto.response_bytes(
                body,
                [("content-type", "application/json"), ("content-length", str(len(answer))), ("connection", "close")],
                answer,
            )
            return
        environ["wsgi.input"] = io.BytesIO(body)
        start_response = _StartResponse()
        # What the service's callback names (its /health, a lone heartbeat) skips the queue.
        with contextlib.nullcontext() if self.priority(path, body) else self._slots:
            result = self.app(environ, start_response)
            try:
                # Joined, never streamed: Granian's streaming blocks this thread on a
                # client that reads slowly, and the thread holds an app slot.
                data = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        proto.response_bytes(start_response.status, start_response.headers, data)

    def _read_body(self, environ: dict[str, Any], limit: int) -> bytes | int:
        """The whole body, or 413 when it is larger than ``limit``."""
        stream: IO[bytes] = environ["wsgi.input"]
        text = environ.get("CONTENT_LENGTH")
        if text:
            length = int(text)  # hyper has refused a request whose Content-Length is not a number
            if length > limit:
                # A client sends its whole body before reading the answer: drop some of
                # an oversized one, so it gets its 413 instead of a broken pipe.
                discard(stream, min(length, DRAIN_LIMIT))
                return 413
            return stream.read(length) if length else b""
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() != "chunked":
            return b""
        body = stream.read(limit + 1)
        if len(body) > limit:
            discard(stream, DRAIN_LIMIT)
            return 413
        return body


class _InProcessGranian(MTServer):
    """Granian's thread-worker server, started and stopped from our own code."""

    def _check_gil(self) -> None:
        # One worker thread: the GIL costs nothing here (see module docstring).
        pass

    def _init_shared_socket(self) -> None:
        # We bind the socket ourselves: Granian's own sets SO_REUSEPORT, so a second
        # service on a taken port would silently share it instead of failing; and
        # binding once here gives port 0 a single answer.
        family = socket.AF_INET6 if ":" in self.bind_addr else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.bind_addr, self.bind_port))
            sock.listen(self.backlog)
        except OSError:
            sock.close()
            raise
        self.listening_socket = sock
        # Granian owns (and closes) the descriptor it is given: hand it a duplicate.
        # Granian's __init__ sets these fields to None (so that is their inferred type); its own
        # _init_shared_socket fills them the same way.
        self._shd = _SocketHolder(os.dup(sock.fileno()), False, self.backlog)
        self._sfd = sock.fileno()  # type: ignore[assignment]
        self._ssp = None

    def _serve(self, spawn_target: Any, target_loader: Any) -> None:
        self.pid = os.getpid()  # type: ignore[assignment]  # None in Granian's __init__, as above
        self._init_shared_socket()
        self._spawn_workers(spawn_target, target_loader())  # type: ignore[no-untyped-call]  # Granian's, unannotated

    def bound_port(self) -> int:
        port: int = self.listening_socket.getsockname()[1]
        return port

    @staticmethod
    @WorkerThread.wrap_target  # type: ignore[untyped-decorator]  # Granian's, unannotated
    def _spawn_wsgi_worker(
        worker_id: int,
        shutdown_event: Any,
        callback: Any,
        sock: Any,
        loop: Any,
        runtime_mode: Any,
        runtime_threads: int,
        runtime_blocking_threads: Any,
        blocking_threads: int,
        blocking_threads_idle_timeout: int,
        backpressure: int,
        task_impl: Any,
        http_mode: Any,
        http1_settings: Any,
        http2_settings: Any,
        websockets: bool,
        static_path: Any,
        log_access_fmt: Any,
        ssl_ctx: Any,
        scope_opts: Any,
        metrics: Any,
    ) -> None:
        # Granian's own, with the callback (a _Runner) given Granian's response
        # object directly instead of through Granian's WSGI wrapper.
        stopped = threading.Event()
        shutdown_event.add_cb(stopped.set)
        worker = _WSGIWorker(
            worker_id,
            sock,
            None,
            runtime_threads,
            runtime_blocking_threads,
            blocking_threads,
            blocking_threads_idle_timeout,
            backpressure,
            http_mode,
            http1_settings,
            http2_settings,
            static_path,
            *ssl_ctx,
            metrics,
        )
        serve = getattr(worker, WORKERS_METHODS[runtime_mode][(sock[0] or sock[1]).is_uds()])
        scheduler = _new_cbscheduler(  # type: ignore[no-untyped-call]  # Granian's, unannotated
            loop, callback, impl_asyncio=task_impl == TaskImpl.asyncio
        )
        serve(scheduler, loop, shutdown_event)
        stopped.wait()


@dataclass
class _Running:
    """What ``HttpServer.start()`` made: the port stays known after ``stop()``."""

    server: _InProcessGranian
    clock: _BodyClock
    port: int
    stopped: bool = False


class HttpServer:
    """A running HTTP server for ``app``; ``port`` is the real one (also for port 0).

    Use as a context manager, or call ``start()`` and ``stop()``. ``limits``: the
    bounds described in the module docstring and in docs/operations.md ("Limits").
    ``priority(path, body)``: whether a request skips the queue for one of the
    ``threads`` (a service names its /health and its heartbeats); by default none does.
    """

    def __init__(
        self,
        app: App,
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

    def start(self) -> HttpServer:
        """Bind and start serving; raises OSError when the address is taken."""
        limits = self.limits
        clock = _BodyClock(limits.body_timeout)
        runner = _Runner(
            self.app,
            threads=self.threads,
            max_body=self.max_body,
            clock=clock,
            body_limits=self.body_limits,
            priority=self.priority,
            url_scheme="https" if self.tls_files else "http",
        )
        cert, key = self.tls_files or (None, None)
        # It warns that its thread worker is "experimental" on free-threaded builds: not our case.
        logging.getLogger("_granian").setLevel(logging.ERROR)
        with _logging_left_alone():
            server = _InProcessGranian(
                target="rpc_cluster",
                address=self.host,
                port=self.requested_port,
                interface=Interfaces.WSGI,
                workers=1,
                blocking_threads=self.threads + limits.body_waiters,
                backlog=self.backlog,
                backpressure=self._connection_cap(),
                log_enabled=False,
                websockets=False,
                http=HTTPModes.http1,
                http1_settings=HTTP1Settings(header_read_timeout=max(1, int(limits.idle_timeout * 1000))),
                workers_kill_timeout=max(1, int(limits.drain_timeout)),
                ssl_cert=cert,
                ssl_key=key,
            )
        server.serve(target_loader=lambda *_: runner, wrap_loader=False)
        clock.start()
        self._running = _Running(server, clock, server.bound_port())
        log.debug("http: serving on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to ``limits.drain_timeout``), close."""
        running = self._running
        if running is None or running.stopped:
            return
        running.stopped = True
        running.server._stop_workers()  # type: ignore[no-untyped-call]  # Granian's, unannotated
        running.server.listening_socket.close()
        running.clock.stop()

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
