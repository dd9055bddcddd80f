"""The HTTP face of a service: a ``Handler`` (and a WSGI app) around the two dispatchers.

Routes (docs/protocol.md): POST /rpc (JSON-RPC), POST /RPC2 (XML-RPC), GET /rpc
(OpenRPC document), GET /health, GET /metrics (Prometheus text; with the
token when one is set). Every request runs inside its trace (``X-Trace-Id``,
or W3C ``traceparent``: see ``tracing``), whose id is echoed back in the
``X-Trace-Id`` response header.

``HttpServer`` awaits ``respond``: each JSON-RPC call runs where its method belongs
(``Dispatcher.place``: on the loop, or on a request thread when it may block); an XML-RPC
request goes to a request thread whole. Other WSGI servers call the same app as WSGI
(``__call__``), every call then running on their thread.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import IO, Any

from ..client import acting
from ..core import tracing
from ..core.dispatch import Dispatcher, Offload
from ..core.jsonrpc import DEFAULT_MAX_BATCH, DEFAULT_MAX_RESPONSE_BYTES, JsonRpcCodec
from ..core.xmlrpc import XmlRpcCodec
from ..observability.metrics import CONTENT_TYPE, ServiceMetrics
from .body import DRAIN_LIMIT
from .exchange import EnvironHeaders, Handler, Headers, Request, Response, WsgiApp, WsgiHandler

DEFAULT_MAX_BODY = 1 << 20

_STATUS = MappingProxyType(
    {
        200: "200 OK",
        204: "204 No Content",
        400: "400 Bad Request",
        401: "401 Unauthorized",
        403: "403 Forbidden",
        404: "404 Not Found",
        405: "405 Method Not Allowed",
        411: "411 Length Required",
        413: "413 Payload Too Large",
        503: "503 Service Unavailable",
    }
)


# A browser says where a request comes from in Sec-Fetch-Site, which no page can set or remove. A page
# of any other site (another port of 127.0.0.1 is the same site) may still send a form or a text/plain
# fetch to /rpc without a preflight; without a cluster token such a call would act with the service's
# own authority, so it is refused. Programs send no such header, and neither does a person typing the URL.
_FROM_OTHER_SITES = frozenset({"cross-site", "same-site"})


def sent_by_another_site(headers: Headers) -> bool:
    """True when a browser marks the request as sent by a page of another site (or of another port)."""
    return headers.get("sec-fetch-site") in _FROM_OTHER_SITES


def discard(stream: IO[bytes], length: int) -> None:
    """Read and drop up to ``length`` bytes of ``stream``."""
    while length > 0:
        chunk = stream.read(min(length, 64 << 10))
        if not chunk:
            return
        length -= len(chunk)


def read_body(environ: dict[str, Any], limit: int) -> bytes | int:
    """The request body, or the HTTP status to answer instead (413, 400)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 400
    stream: IO[bytes] = environ["wsgi.input"]
    if length > limit:
        discard(stream, min(length, DRAIN_LIMIT))
        return 413
    if length:
        return stream.read(length)
    # No Content-Length (chunked upload): read at most one byte past the limit.
    body = stream.read(limit + 1) if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" else b""
    return 413 if len(body) > limit else body


def lone_call_method(body: bytes) -> str | None:
    """The method a JSON-RPC body calls when it is one call (not a batch); else None."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    method = message.get("method") if isinstance(message, dict) else None
    return method if isinstance(method, str) else None


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value, or None for any other scheme.

    The scheme is matched in any case (RFC 9110, section 11.1); spaces after it are skipped.
    """
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.lstrip(" ")


class Refused(Exception):
    """Raised by ``after_call``: the request is answered with ``status`` and ``payload`` instead.

    The log service refuses a batch its file could not take (503): notifications have no
    answer of their own to carry the failure.
    """

    def __init__(self, status: int, payload: dict[str, Any]):
        super().__init__(status, payload)
        self.status = status
        self.payload = payload


def request_of(environ: dict[str, Any], body: bytes) -> Request:
    """A WSGI request as a ``Request`` (the body read by the caller)."""
    return Request(
        environ.get("REQUEST_METHOD", "GET"),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
        EnvironHeaders(environ),
        body,
        environ.get("wsgi.url_scheme", "http"),
        f"{environ.get('REMOTE_ADDR', '')}:{environ.get('REMOTE_PORT', '')}",
        f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}",
    )


# An answer made without a call: status, content type, body.
_Routed = tuple[int, str, bytes]


class _InRequest:
    """The block a request is served in: its caller's trace, the service, the acting user.

    The acting user is the header as sent, checked by the service that acts on it (grading);
    absent, calls act with the service's own authority. Entering gives the request's ``Trace``.
    """

    __slots__ = ("_contexts", "current")

    def __init__(self, service_name: str, headers: Headers):
        self.current = tracing.accept(headers.get("x-trace-id"), headers.get("traceparent"), headers.get("tracestate"))
        self._contexts = (
            tracing.within(self.current),
            tracing.serving(service_name),
            acting.acting_as(headers.get("x-acting-user")),
        )

    def __enter__(self) -> tracing.Trace:
        for context in self._contexts:
            context.__enter__()
        return self.current

    def __exit__(self, *exc: object) -> None:
        for context in reversed(self._contexts):
            context.__exit__(None, None, None)


class RpcApp:
    """Serves one service's method table: a ``Handler`` for ``HttpServer``, and a WSGI app."""

    def __init__(
        self,
        service_name: str,
        dispatcher: Dispatcher,
        openrpc: Callable[[], dict[str, Any]],
        *,
        token: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        health: Callable[[], bool] | None = None,
        after_call: Callable[[], None] | None = None,
        metrics: ServiceMetrics | None = None,
    ):
        self.service_name = service_name
        self.dispatcher = dispatcher
        self.jsonrpc = JsonRpcCodec(dispatcher, max_batch=max_batch, max_response_bytes=max_response_bytes)
        self.xmlrpc = XmlRpcCodec(dispatcher.methods, max_response_bytes=max_response_bytes, observe=dispatcher.observe)
        #: What GET /metrics shows (None: 404).
        self.metrics = metrics
        self._openrpc = openrpc
        self._token = token.encode() if token else None
        self.max_body = max_body
        # False while the service drains before exit: /health then says 503.
        self._healthy = health or (lambda: True)
        # Runs after every /rpc or /RPC2 dispatch, before the response goes out
        # (the log service flushes its file here: once per batch, not per entry).
        self._after_call = after_call or (lambda: None)

    def _authorized(self, headers: Headers) -> bool:
        if self._token is None:
            return True
        given = bearer_token(headers.get("authorization", ""))
        # The token is compared in constant time; the scheme is public and checked first.
        return given is not None and hmac.compare_digest(given.encode("latin-1", "replace"), self._token)

    async def respond(self, request: Request, offload: Offload) -> Response:
        """The answer to ``request``, on the server's loop; blocking calls go through ``offload``."""
        with _InRequest(self.service_name, request.headers) as current:
            routed = self._route(request)
            if routed is None:
                try:
                    if request.path == "/rpc":
                        routed = _json_answer(await self.jsonrpc.handle_async(request.body, offload))
                    else:
                        answer: bytes = await offload(lambda: self.xmlrpc.handle(request.body))
                        routed = _XML_OK, _XML, answer
                    self._after_call()
                except Refused as refused:
                    routed = _json(refused.status, refused.payload)
        return _response(routed, current.trace_id)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The same app as WSGI, for other servers: every call runs on the calling thread."""
        body = read_body(environ, self.max_body)
        request = request_of(environ, body if isinstance(body, bytes) else b"")
        with _InRequest(self.service_name, request.headers) as current:
            routed = self._route(request)
            if routed is None:
                routed = self._call_here(request.path, body)
        status, headers_out, text = _response(routed, current.trace_id)
        start_response(_STATUS.get(status, f"{status} Error"), headers_out)
        return [text]

    def beside(self, pages: WsgiApp, priority: Callable[[Request], bool]) -> Handler:
        """A handler serving this app's paths itself and every other one with ``pages``, a WSGI app
        run on the request threads (but what ``priority`` names, answered on the loop)."""
        return _Beside(self, WsgiHandler(pages, priority))

    def _call_here(self, path: str, body: bytes | int) -> _Routed:
        """The answer of a call made on this thread (the WSGI way); ``body`` the status refusing it."""
        if isinstance(body, int):
            return _json(body, {"error": _STATUS[body][4:], "limit_bytes": self.max_body})
        try:
            routed = (
                _json_answer(self.jsonrpc.handle(body)) if path == "/rpc" else (_XML_OK, _XML, self.xmlrpc.handle(body))
            )
            self._after_call()
        except Refused as refused:
            return _json(refused.status, refused.payload)
        return routed

    def _route(self, request: Request) -> _Routed | None:
        """The answer to every request but a call that passed its checks (None: dispatch its body)."""
        path = request.path
        verb = request.method
        if path in ("/rpc", "/RPC2") and verb == "POST":
            if not self._authorized(request.headers):
                return _unauthorized()
            if sent_by_another_site(request.headers):
                return _json(
                    403, {"error": "forbidden", "message": "calls sent by a web page of another site are refused"}
                )
            return None
        if path == "/rpc" and verb in ("GET", "HEAD"):
            # The document lists every method: it needs the token like a call does.
            if not self._authorized(request.headers):
                return _unauthorized()
            return _json(200, self._openrpc())
        if path == "/health" and verb in ("GET", "HEAD"):
            if self._healthy():
                return _json(200, {"status": "ok", "service": self.service_name})
            return _json(503, {"status": "stopping", "service": self.service_name})
        if path == "/metrics" and verb in ("GET", "HEAD") and self.metrics is not None:
            if not self._authorized(request.headers):
                return _unauthorized()
            return 200, CONTENT_TYPE, self.metrics.exposition()
        if path in ("/rpc", "/RPC2", "/health", "/metrics"):
            return _json(405, {"error": "method not allowed", "path": path})
        return _json(404, {"error": "not found", "path": path})


_OTHER_SITE_REFUSED = "calls sent by a web page of another site are refused"

#: The paths an RpcApp answers.
RPC_PATHS = frozenset({"/rpc", "/RPC2", "/health", "/metrics"})


class _Beside:
    """An RpcApp and the WSGI pages around it (the portal): each path to its own."""

    def __init__(self, rpc_app: RpcApp, pages: WsgiHandler):
        self.rpc_app = rpc_app
        self.pages = pages

    async def respond(self, request: Request, offload: Offload) -> Response:
        if request.path in RPC_PATHS:
            return await self.rpc_app.respond(request, offload)
        return await self.pages.respond(request, offload)


_XML_OK = 200
_XML = "text/xml; charset=utf-8"


def _response(routed: _Routed, trace_id: str) -> Response:
    status, content_type, body = routed
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        (tracing.HEADER, trace_id),
    ]
    if status == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="rpc-cluster"'))
    return Response(status, headers, body)


def _json_answer(text: str) -> tuple[int, str, bytes]:
    # Only notifications: nothing to answer (204, empty body).
    return (200, "application/json", text.encode()) if text else (204, "application/json", b"")


def _unauthorized() -> tuple[int, str, bytes]:
    return _json(401, {"error": "unauthorized", "message": "missing or wrong cluster token"})


def _json(status: int, obj: Any) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(obj).encode()
