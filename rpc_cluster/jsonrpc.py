"""JSON-RPC 2.0 codec: request text in, response text out, around the dispatch core.

No sockets here (the HTTP layer is ``wsgi.py``), so every rule of the
specification can be tested with plain strings (``dispatch(methods, text)``).
The core (``dispatch.py``) finds, binds and runs the method; this module
parses, checks requests, applies the batch and notification rules and writes
response objects.

The request checks are our own small exact ones, because jsonrpcserver's
jsonschema validation costs more than the rest of a call and, when simply
switched off, lets an empty batch through without its -32600.
"""

from __future__ import annotations

import json
import logging
from typing import Any

# jsonrpcserver writes our response objects (its named tuples and serializers,
# so the member order and the "data may be omitted" rule are the library's).
# These names are outside its __all__, so they may change in any release: the
# project pins jsonrpcserver==5.0.9, this is the one module that imports them,
# and tests/test_pinned_internals.py fails loudly if an upgrade changes them.
# Cost: about 0.3 us per response over a dict literal (timeit), some 4% of a
# trivial call in-process and well under 1% of one over HTTP: kept.
from jsonrpcserver.response import ErrorResponse, SuccessResponse, serialize_error, serialize_success
from jsonrpcserver.sentinels import NODATA

from . import errors
from .dispatch import Dispatcher, RawJSON
from .methods import MethodTable

log = logging.getLogger("rpc_cluster.jsonrpc")

_ID_TYPES = (str, int, float, type(None))


def _error(code: int, message: str, request_id: Any = None, data: Any = None) -> dict[str, Any]:
    """The error response object; ``data`` is left out when None."""
    return serialize_error(ErrorResponse(code, message, NODATA if data is None else data, request_id))


def _check_request(obj: Any) -> str | None:
    """Why ``obj`` is not a valid JSON-RPC 2.0 request object, or None if it is."""
    if not isinstance(obj, dict):
        return "a request must be a JSON object"
    if obj.get("jsonrpc") != "2.0":
        return 'member "jsonrpc" must be exactly "2.0"'
    if not isinstance(obj.get("method"), str):
        return 'member "method" must be a string'
    if "params" in obj and not isinstance(obj["params"], (list, dict)):
        return 'member "params" must be an array or an object'
    if "id" in obj and (isinstance(obj["id"], bool) or not isinstance(obj["id"], _ID_TYPES)):
        return 'member "id" must be a string, a number or null'
    return None


def _echo_id(obj: Any) -> Any:
    """The id to put in an Invalid Request answer: the request's, if it is a usable one."""
    if isinstance(obj, dict):
        value = obj.get("id")
        if not isinstance(value, bool) and isinstance(value, _ID_TYPES):
            return value
    return None


class JsonRpcCodec:
    """Answers JSON-RPC 2.0 request text with one dispatcher. Thread-safe."""

    def __init__(self, dispatcher: Dispatcher):
        #: The core that runs the calls.
        self.dispatcher = dispatcher

    def handle(self, text: str | bytes) -> str:
        """Response text for request text; "" when nothing is to be answered."""
        try:
            request = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            return json.dumps(_error(errors.PARSE_ERROR, "Parse error", None, str(exc)))
        if isinstance(request, list):
            if not request:
                return json.dumps(_error(errors.INVALID_REQUEST, "Invalid Request", None, "empty batch"))
            responses = []
            valid = []
            for item in request:
                problem = _check_request(item)
                if problem:
                    responses.append(_error(errors.INVALID_REQUEST, "Invalid Request", _echo_id(item), problem))
                else:
                    valid.append(item)
            for item in valid:
                response = self._respond(item)
                if response is not None:
                    responses.append(response)
            return self._serialize_batch(responses) if responses else ""
        problem = _check_request(request)
        if problem:
            return json.dumps(_error(errors.INVALID_REQUEST, "Invalid Request", _echo_id(request), problem))
        response = self._respond(request)
        return self._serialize_one(response) if response is not None else ""

    def _respond(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The response object for one valid request; None for a notification (run all the same)."""
        try:
            result = self.dispatcher.call(request["method"], request.get("params", ()))
        except errors.RpcError as exc:
            if "id" not in request:
                return None
            return _error(exc.code, exc.message, request["id"], exc.data)
        if "id" not in request:
            return None
        return serialize_success(SuccessResponse(result, request["id"]))

    @staticmethod
    def _serialize_one(response: dict[str, Any]) -> str:
        result = response.get("result")
        if isinstance(result, RawJSON):
            return '{"jsonrpc": "2.0", "result": ' + result + ', "id": ' + json.dumps(response["id"]) + "}"
        try:
            return json.dumps(response)
        except (TypeError, ValueError):
            log.exception("rpc: result of call id=%r is not JSON-serializable", response.get("id"))
            return json.dumps(_error(errors.INTERNAL_ERROR, "Internal error", response.get("id")))

    def _serialize_batch(self, responses: list[dict[str, Any]]) -> str:
        if any(isinstance(r.get("result"), RawJSON) for r in responses):
            return "[" + ",".join(self._serialize_one(r) for r in responses) + "]"
        try:
            return json.dumps(responses)
        except (TypeError, ValueError):
            return "[" + ",".join(self._serialize_one(r) for r in responses) + "]"


def dispatch(methods: MethodTable, text: str | bytes) -> str:
    """Dispatch one request text to ``methods``; "" means send no response body."""
    return JsonRpcCodec(Dispatcher(methods)).handle(text)
