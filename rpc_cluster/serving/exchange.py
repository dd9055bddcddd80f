"""One HTTP exchange as values: the ``Request`` the server read, the ``Response`` a handler gives back.

A ``Handler`` is what ``HttpServer`` serves: ``await handler.respond(request, offload)`` on the
server's event loop, with the whole body already read (and bounded). ``offload(fn)`` runs a
blocking ``fn`` on one of the server's request threads and awaits its result; a handler sends
there whatever may block, so the loop stays free for ``/health``, heartbeats and the bodies still
arriving. ``RpcApp`` is a handler; ``WsgiHandler`` makes one of any WSGI application (the portal's
pages), run on the request threads.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ..core.dispatch import Offload

log = logging.getLogger("rpc_cluster.http")

#: A WSGI application, as the server calls it.
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Headers(Protocol):
    """Request headers by lower-case name (Granian's, or a WSGI environ's through ``EnvironHeaders``)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def items(self) -> list[tuple[str, str]]: ...


class Request(NamedTuple):
    """What a client asked, with its whole body."""

    method: str
    #: The path, percent-decoded, as a WSGI ``PATH_INFO``.
    path: str
    query: str
    headers: Headers
    body: bytes
    #: "http" or "https".
    scheme: str
    #: The peer's "address:port".
    client: str
    #: The listening "address:port".
    server: str


class Response(NamedTuple):
    """What the server sends back: a status, header pairs and the whole body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@runtime_checkable
class Handler(Protocol):
    """Answers requests on the server's event loop (see the module docstring)."""

    async def respond(self, request: Request, offload: Offload) -> Response: ...


class EnvironHeaders:
    """A WSGI environ's headers, read by lower-case name like Granian's."""

    __slots__ = ("_environ",)

    def __init__(self, environ: dict[str, Any]):
        self._environ = environ

    def get(self, key: str, default: Any = None) -> Any:
        name = key.upper().replace("-", "_")
        if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            return self._environ.get(name) or default
        return self._environ.get("HTTP_" + name, default)

    def items(self) -> list[tuple[str, str]]:
        pairs = [(k[5:].lower().replace("_", "-"), v) for k, v in self._environ.items() if k.startswith("HTTP_")]
        pairs += [
            (k.lower().replace("_", "-"), v) for k in ("CONTENT_TYPE", "CONTENT_LENGTH") if (v := self._environ.get(k))
        ]
        return pairs


# Header values a WSGI environ joins when a request repeats the header (RFC 9110, section 5.3).
_JOINED_WITH = MappingProxyType({"cookie": "; "})


def environ_of(request: Request) -> dict[str, Any]:
    """The WSGI environ of ``request`` (PEP 3333), its body in ``wsgi.input``."""
    server_name, _, server_port = request.server.rpartition(":")
    client_addr, _, client_port = request.client.rpartition(":")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query,
        "SERVER_NAME": server_name.strip("[]"),
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": client_addr.strip("[]"),
        "REMOTE_PORT": client_port,
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "rpc-cluster",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers.items():
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name == "content-length":
            environ["CONTENT_LENGTH"] = value
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
            if key in environ:
                value = environ[key] + _JOINED_WITH.get(name, ", ") + value
            environ[key] = value
    if "CONTENT_LENGTH" not in environ and request.body:
        environ["CONTENT_LENGTH"] = str(len(request.body))
    return environ


class _StartResponse:
    """The WSGI ``start_response`` of one request: keeps the status and headers."""

    __slots__ = ("headers", "status")

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[str, str]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        self.status = int(status.split(" ", 1)[0])
        self.headers = headers


def _never_first(request: Request) -> bool:
    """Every request goes to a request thread (a ``WsgiHandler`` given no ``priority``)."""
    return False


class WsgiHandler:
    """Serves a WSGI application: each request on a request thread, its answer joined.

    ``priority(request)``: answered on the event loop instead, never waiting for a thread (a
    service's ``/health``); only for what takes microseconds and never blocks.
    """

    def __init__(self, app: WsgiApp, priority: Callable[[Request], bool] = _never_first):
        self.app = app
        self.priority = priority

    async def respond(self, request: Request, offload: Offload) -> Response:
        if self.priority(request):
            return self.run(request)
        answer: Response = await offload(lambda: self.run(request))
        return answer

    def run(self, request: Request) -> Response:
        """The app's answer to ``request``, here and now."""
        start_response = _StartResponse()
        result = self.app(environ_of(request), start_response)
        try:
            # Joined, never streamed: the server writes it while the thread serves the next request.
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return Response(start_response.status, start_response.headers, body)
