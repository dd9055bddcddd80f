"""JSON-RPC 2.0 dispatch: a pure function from request text to response text.

No sockets here (the HTTP layer is ``wsgi.py``), so every rule of the
specification can be tested with plain strings. Method calls go through
jsonrpcserver; the request checks are our own small exact ones, because
jsonrpcserver's jsonschema validation costs more than the rest of a call and,
when simply switched off, lets an empty batch through without its -32600.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from typing import Any, Callable

from jsonrpcserver.dispatcher import dispatch_to_response_pure
from jsonrpcserver.response import to_serializable_one
from jsonrpcserver.result import Error, Success
from jsonrpcserver.sentinels import NOCONTEXT

from . import errors
from .methods import MethodTable

log = logging.getLogger("rpc_cluster.dispatch")

_ID_TYPES = (str, int, float, type(None))


class RawJSON(str):
    """A method result that is already JSON text: sent as it is, not encoded again.

    For hot methods that cache their answer serialized (``Grades.get_student``).
    """


def _error(code: int, message: str, request_id: Any = None, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "error": error, "id": request_id}


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
    if isinstance(obj, dict):
        value = obj.get("id")
        if not isinstance(value, bool) and isinstance(value, _ID_TYPES):
            return value
    return None


def _wrap(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Adapt a plain method to jsonrpcserver: values become Success, our errors Error.

    ``functools.wraps`` keeps the signature, so jsonrpcserver's bind() check
    still reports wrong arguments as -32602 before the method runs.
    """

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any):
        try:
            return Success(func(*args, **kwargs))
        except errors.RpcError as exc:
            return Error(exc.code, exc.message, exc.data) if exc.data is not None else Error(exc.code, exc.message)
        except Exception:
            # The caller gets a bare -32603; the traceback is for the service's log only.
            log.exception("rpc: method %s raised", name)
            return Error(errors.INTERNAL_ERROR, "Internal error")

    # jsonrpcserver calls inspect.signature(method).bind(...) on every call: a
    # precomputed signature with a quick bind made a trivial call twice as fast.
    call.__signature__ = _QuickSignature.of(func)  # type: ignore[attr-defined]
    return call


class _QuickSignature(inspect.Signature):
    """A Signature whose bind() checks plain methods quickly.

    For parameters that are all positional-or-keyword (most RPC methods), a
    call binds when it gives no more values than there are names, names only
    known ones not already given by position, and leaves no required one out.
    Anything else, including every failure, goes through the real bind(), so
    the -32602 message is the standard one.
    """

    __slots__ = ("_names", "_required", "_simple")

    @classmethod
    def of(cls, func: Callable[..., Any]) -> "_QuickSignature":
        plain = inspect.signature(func)
        quick = cls(list(plain.parameters.values()), return_annotation=plain.return_annotation)
        params = list(plain.parameters.values())
        quick._names = tuple(p.name for p in params)
        quick._required = tuple(i for i, p in enumerate(params) if p.default is p.empty)
        quick._simple = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)
        return quick

    def bind(self, *args: Any, **kwargs: Any) -> inspect.BoundArguments:
        names = self._names
        if self._simple and len(args) <= len(names):
            given = len(args)
            if all(name in names[given:] for name in kwargs) and all(
                    i < given or names[i] in kwargs for i in self._required):
                return inspect.BoundArguments(self, dict(zip(names, args), **kwargs))
        return super().bind(*args, **kwargs)


class Dispatcher:
    """Dispatches request text to one method table. Thread-safe."""

    def __init__(self, methods: MethodTable, extra: dict[str, Callable[..., Any]] | None = None):
        self.methods = methods
        table = {name: _wrap(name, methods.get(name)) for name in methods.names()}
        for name, func in (extra or {}).items():
            table[name] = _wrap(name, func)
        self._table = table

    def dispatch(self, text: str | bytes) -> str:
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
            if valid:
                responses.extend(self._call(valid) or ())
            return self._serialize_batch(responses) if responses else ""
        problem = _check_request(request)
        if problem:
            return json.dumps(_error(errors.INVALID_REQUEST, "Invalid Request", _echo_id(request), problem))
        response = self._call(request)
        return self._serialize_one(response) if response is not None else ""

    def _call(self, request: Any) -> Any:
        return dispatch_to_response_pure(
            deserializer=_identity, validator=_identity, methods=self._table,
            context=NOCONTEXT, post_process=to_serializable_one, request=request,
        )

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


def _identity(value: Any) -> Any:
    return value


def dispatch(methods: MethodTable, text: str | bytes) -> str:
    """Dispatch one request text to ``methods``; "" means send no response body."""
    return Dispatcher(methods).dispatch(text)
