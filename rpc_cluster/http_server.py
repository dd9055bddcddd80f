"""Serving a WSGI app with Granian, inside this process.

Granian (a Rust HTTP server) measured fastest here (README, "Choosing the
HTTP server"). Its ordinary mode runs the app in worker *processes*, but a
service keeps state in memory (the registry's table, a provider table) and
must know the port it got when asked for port 0. So we run Granian's
thread worker in this process: the listening socket is bound here, its port
is read back, and the WSGI app runs on Granian's blocking threads beside our
own background threads.

This leans on Granian internals (``MTServer`` is meant for free-threaded
builds), which is why ``pyproject.toml`` pins Granian to one minor version;
everything that touches them is in this file.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any, Callable

from granian.constants import Interfaces
from granian.net import SocketHolder
import granian.server.common as _granian_common
from granian.server.mt import MTServer

log = logging.getLogger("rpc_cluster.http")

# Granian's server __init__ runs logging.config.dictConfig, which flushes and
# closes every handler in the process (a service's log shipper, the log
# service's open file). Logging is the application's to configure.
_granian_common.configure_logging = lambda *args, **kwargs: None
# It also warns that its thread worker is "experimental" on free-threaded builds: not our case.
logging.getLogger("_granian").setLevel(logging.ERROR)


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
        self._shd = SocketHolder(os.dup(sock.fileno()), False, self.backlog)
        self._sfd = sock.fileno()
        self._ssp = None

    def _serve(self, spawn_target: Any, target_loader: Any) -> None:
        self.pid = os.getpid()
        self._init_shared_socket()
        self._spawn_workers(spawn_target, target_loader())

    def bound_port(self) -> int:
        return self.listening_socket.getsockname()[1]


class HttpServer:
    """A running HTTP server for ``app``; ``port`` is the real one (also for port 0).

    Use as a context manager, or call ``start()`` and ``stop()``.
    """

    def __init__(self, app: Callable, host: str = "127.0.0.1", port: int = 0, *,
                 threads: int = 8, backlog: int = 1024, drain_timeout: float = 10.0):
        self.app = app
        self.host = host
        self.requested_port = port
        self.threads = threads
        self.backlog = backlog
        self.drain_timeout = drain_timeout
        self.port: int | None = None
        self._server: _InProcessGranian | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "HttpServer":
        """Bind and start serving; raises OSError when the address is taken."""
        server = _InProcessGranian(
            target="rpc_cluster", address=self.host, port=self.requested_port,
            interface=Interfaces.WSGI, workers=1, blocking_threads=self.threads,
            backlog=self.backlog, log_enabled=False, websockets=False,
            workers_kill_timeout=max(1, int(self.drain_timeout)),
        )
        server.serve(target_loader=lambda *_: self.app, wrap_loader=False)
        self._server = server
        self.port = server.bound_port()
        log.debug("http: serving on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to drain_timeout), close."""
        server, self._server = self._server, None
        if server is not None:
            server._stop_workers()
            server.listening_socket.close()

    def __enter__(self) -> "HttpServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
