"""A JSON-RPC call on HTTP: its body and headers, and what an answer means.

The one place that builds a call's body, its auth and trace headers, and the
one place that turns an HTTP status and body into a decoded answer or a typed
error, for the client (threads and asyncio alike), the registry's checks and
pushes, and the log shipper.
"""

from __future__ import annotations

import json
from typing import Any

from jsonrpcclient import notification, request

from ..core import errors, tracing
from . import acting

TOKEN_ENV = "RPC_CLUSTER_TOKEN"


def params(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
    """A call's params: the positional ones or the named ones; TypeError for both (JSON-RPC takes one)."""
    if args and kwargs:
        raise TypeError(f"rpc: {method}: JSON-RPC takes positional or named params, not both")
    return kwargs or args


def message(method: str, call_params: tuple[Any, ...] | dict[str, Any], request_id: int | None) -> dict[str, Any]:
    """The JSON-RPC request object of a call; a notification (no answer) when ``request_id`` is None."""
    if request_id is None:
        return notification(method, call_params)
    return request(method, call_params, id=request_id)


def body(messages: dict[str, Any] | list[dict[str, Any]]) -> bytes:
    """The HTTP body that carries one request object, or a batch of them."""
    return json.dumps(messages).encode()


def result(response: Any) -> Any:
    """The ``result`` of one response object, or raise its error."""
    if not isinstance(response, dict):
        raise errors.InternalError("Malformed JSON-RPC response", response)
    if "error" in response:
        raise errors.error_from_object(response["error"])
    if "result" not in response:
        raise errors.InternalError("Malformed JSON-RPC response: no result", response)
    return response["result"]


def request_headers(token: str | None) -> dict[str, str]:
    """Content type, ``Authorization: Bearer`` when a token is set, the current trace's headers, and
    ``X-Acting-User`` inside ``acting.acting_as``.

    Built for each call sent: each carries a ``traceparent`` with a parent id of its own (a
    transport-level resend of the same request keeps it: it is the same call).
    """
    headers = {"Content-Type": "application/json", **tracing.outgoing_headers(), **acting.outgoing_headers()}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def decode_answer(url: str, status: int, body: bytes) -> Any:
    """The decoded JSON-RPC answer (None for 204, a notification's), or raise its typed error."""
    if status == 200:
        try:
            return json.loads(body)
        except ValueError:
            raise errors.TransportError(f"rpc: {url} answered 200 with a body that is not JSON") from None
    if status == 204:
        return None
    if status == 401:
        raise errors.Unauthorized(data=f"{url} requires the cluster token (set {TOKEN_ENV})")
    if status == 413:
        raise errors.RpcError("Request body too large", data=url, code=413)
    raise errors.TransportError(f"rpc: {url} answered HTTP {status}", data=body[:200].decode("utf-8", "replace"))
