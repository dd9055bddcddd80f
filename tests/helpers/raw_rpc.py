"""One JSON-RPC call over plain HTTP, and the whole answer object as the wire carries it.

For tests that must see the answer itself (an error's code and ``data``), not
the ``RpcError`` our client would raise from it.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def rpc(
    url: str,
    method: str,
    params: list[Any] | dict[str, Any],
    timeout: float = 30,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The answer object to one call (``{"jsonrpc", "result" | "error", "id"}``), sent with ``headers``
    besides the content type (``X-Acting-User``, ``Authorization``)."""
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def refused_field(answer: dict[str, Any]) -> str:
    """The field an invalid-params answer names; fails on any other answer."""
    assert "result" not in answer, answer
    assert answer["error"]["code"] == -32602, answer
    field: str = answer["error"]["data"]["field"]
    return field
