"""A JSON-RPC call on HTTP: the headers every call carries, and what an answer means.

The one place that builds the auth and trace headers, and the one place that
turns an HTTP status and body into a decoded answer or a typed error, for
the client, the registry's checks and pushes, and the log shipper alike.
"""

from __future__ import annotations

import json
from typing import Any

from ..core import errors, tracing
from . import acting

TOKEN_ENV = "RPC_CLUSTER_TOKEN"


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
