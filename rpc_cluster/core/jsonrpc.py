"""JSON-RPC 2.0 codec: request text in, response text out, around the dispatch core.

No sockets here (the HTTP layer is ``serving/rpc_app.py``), so every rule of the
specification can be tested with plain strings (``dispatch(methods, text)``).
The core (``dispatch.py``) finds, binds and runs the method; this module
parses, checks requests, applies the batch and notification rules and writes
response objects.

The request checks are our own small exact ones, because jsonrpcserver's
jsonschema validation costs more than the rest of a call and, when simply
switched off, lets an empty batch through without its -32600.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Generator
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
from .dispatch import Dispatcher, Offload, Params, Place, RawJSON
from .methods import MethodTable

#: The codec's steps: each yields a call to make, (method, params), and is sent its result
#: (or thrown its RpcError); what it returns is the response text. ``handle`` makes the calls
#: where it stands, ``handle_async`` where each method belongs: one set of rules, two drivers.
Steps = Generator[tuple[str, Params], Any, str]

log = logging.getLogger("rpc_cluster.core.jsonrpc")

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


#: Seconds a request's inline calls may hold the event loop before it lets others in: a batch
#: of many quick calls never keeps /health or a heartbeat waiting longer than this.
LOOP_TURN = 0.005

#: Members a batch may have. The log shippers send up to 1,000 entries a batch.
DEFAULT_MAX_BATCH = 1000
#: Bytes of response text one request may produce. 400 members of
#: ``Grades.get_students(limit=1000)`` asked for 150 MiB, and building it took a
#: grading process to 1.25 GB. The whole roster of 10,000 students with 20
#: grades each is 13 MiB; at 32 MiB that attack peaked at 162 MiB (39 MiB at start).
DEFAULT_MAX_RESPONSE_BYTES = 32 << 20


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259), though Python's parser takes them.
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is too large")
    return value


def strict_decoder() -> json.JSONDecoder:
    """A decoder for ``parse``'s strict JSON, to keep: json.loads with hooks builds one on every
    call (4 us, a tenth of a trivial call)."""
    return json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def parse(text: str | bytes, decoder: json.JSONDecoder | None = None) -> Any:
    """Strict JSON: NaN, Infinity and numbers that overflow a float are errors (ValueError).

    ``decoder``: one ``strict_decoder()`` made earlier, to save making it again.
    """
    if not isinstance(text, str):
        # As json.loads reads bytes: UTF-8, -16 or -32, told apart by the first bytes.
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    elif text.startswith("\ufeff"):  # json.loads's own refusal, word for word
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return (decoder or strict_decoder()).decode(text)


def _dumps(obj: Any) -> str:
    # allow_nan=False: a result holding NaN is an error, never a reply that is not JSON.
    return json.dumps(obj, allow_nan=False)


class JsonRpcCodec:
    """Answers JSON-RPC 2.0 request text with one dispatcher. Thread-safe.

    ``max_batch`` caps the members of a batch (more is one -32600 error, and
    nothing runs); ``max_response_bytes`` caps the response text: a call whose
    response would pass it is answered with a -32603 error instead, and the
    calls of a batch that come after that are not run (docs/operations.md, "Limits").
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ):
        #: The core that runs the calls.
        self.dispatcher = dispatcher
        self.max_batch = max_batch
        self.max_response_bytes = max_response_bytes
        self._decoder = strict_decoder()
        # Made once, as the decoder: json.dumps with allow_nan=False builds an encoder on every call.
        self._encode = json.JSONEncoder(allow_nan=False).encode

    def handle(self, text: str | bytes) -> str:
        """Response text for request text; "" when nothing is to be answered."""
        steps = self._steps(text)
        call = self.dispatcher.call
        try:
            step = next(steps)
            while True:
                try:
                    result = call(*step)
                except errors.RpcError as exc:
                    step = steps.throw(exc)
                else:
                    step = steps.send(result)
        except StopIteration as done:
            answer: str = done.value
            return answer

    async def handle_async(self, text: str | bytes, offload: Offload) -> str:
        """``handle`` on an event loop: each call runs where its method belongs (``Dispatcher.place``).

        A method that may block goes to a request thread through ``offload``; the loop is never held by one.
        """
        steps = self._steps(text)
        dispatcher = self.dispatcher
        turn_ends = time.perf_counter() + LOOP_TURN
        try:
            step = next(steps)
            while True:
                try:
                    if dispatcher.place(step[0]) is Place.INLINE:
                        result = dispatcher.call(*step)
                        if time.perf_counter() > turn_ends:
                            # A batch of a thousand inline calls lets the other requests in between.
                            await asyncio.sleep(0)
                            turn_ends = time.perf_counter() + LOOP_TURN
                    else:
                        result = await dispatcher.call_async(step[0], step[1], offload)
                except errors.RpcError as exc:
                    step = steps.throw(exc)
                else:
                    step = steps.send(result)
        except StopIteration as done:
            answer: str = done.value
            return answer

    def _steps(self, text: str | bytes) -> Steps:
        try:
            request = parse(text, self._decoder)
        except RecursionError:
            return self._refuse(errors.PARSE_ERROR, "Parse error", None, "nested too deeply")
        except (ValueError, UnicodeDecodeError) as exc:
            return self._refuse(errors.PARSE_ERROR, "Parse error", None, str(exc))
        if isinstance(request, list):
            return (yield from self._handle_batch(request))
        problem = _check_request(request)
        if problem:
            return self._refuse(errors.INVALID_REQUEST, "Invalid Request", _echo_id(request), problem)
        response = yield from self._respond(request)
        if response is None:
            return ""
        text = self._serialize_one(response)
        if len(text) > self.max_response_bytes:
            return self._too_large(request["id"], ran=True)
        return text

    def _handle_batch(self, batch: list[Any]) -> Steps:
        if not batch:
            return self._refuse(errors.INVALID_REQUEST, "Invalid Request", None, "empty batch")
        if len(batch) > self.max_batch:
            return self._refuse(
                errors.INVALID_REQUEST,
                "Invalid Request",
                None,
                f"a batch of {len(batch)} members; at most {self.max_batch}",
            )
        # Each response is serialized as soon as it is made, so a batch holds at
        # most one result as objects, and its text stops growing at the limit.
        parts: list[str] = []
        size = 0
        valid = []
        for item in batch:
            problem = _check_request(item)
            if problem:
                parts.append(self._refuse(errors.INVALID_REQUEST, "Invalid Request", _echo_id(item), problem))
                size += len(parts[-1])
            else:
                valid.append(item)
        full = False
        for item in valid:
            if full:
                if "id" in item:
                    parts.append(self._too_large(item["id"], ran=False))
                continue
            response = yield from self._respond(item)
            if response is None:
                continue
            text = self._serialize_one(response)
            if size + len(text) > self.max_response_bytes:
                full = True
                text = self._too_large(item["id"], ran=True)
            parts.append(text)
            size += len(text)
        return "[" + ", ".join(parts) + "]" if parts else ""

    def _refuse(self, code: int, message: str, request_id: Any, data: Any) -> str:
        """The error text for a request refused before any method ran (counted by the dispatcher)."""
        self.dispatcher.rejected(code)
        return _dumps(_error(code, message, request_id, data))

    def _too_large(self, request_id: Any, *, ran: bool) -> str:
        problem = (
            "the result is larger than the response limit: ask for less (a smaller limit, fewer calls)"
            if ran
            else "not run: the batch's responses reached the response limit"
        )
        return _dumps(
            _error(
                errors.INTERNAL_ERROR,
                "Response too large",
                request_id,
                {"problem": problem, "limit_bytes": self.max_response_bytes},
            )
        )

    def _respond(self, request: dict[str, Any]) -> Generator[tuple[str, Params], Any, dict[str, Any] | None]:
        """The response object for one valid request; None for a notification (run all the same)."""
        try:
            result = yield request["method"], request.get("params", ())
        except errors.RpcError as exc:
            if "id" not in request:
                return None
            return _error(exc.code, exc.message, request["id"], exc.data)
        if "id" not in request:
            return None
        return serialize_success(SuccessResponse(result, request["id"]))

    def _serialize_one(self, response: dict[str, Any]) -> str:
        result = response.get("result")
        if isinstance(result, RawJSON):
            return '{"jsonrpc": "2.0", "result": ' + result + ', "id": ' + self._encode(response["id"]) + "}"
        try:
            return self._encode(response)
        except (TypeError, ValueError, RecursionError):
            log.exception("rpc: result of call id=%r is not JSON-serializable", response.get("id"))
            return _dumps(_error(errors.INTERNAL_ERROR, "Internal error", response.get("id")))


def dispatch(methods: MethodTable, text: str | bytes, **limits: int) -> str:
    """Dispatch one request text to ``methods``; "" means send no response body.

    ``limits``: ``max_batch``, ``max_response_bytes`` (see ``JsonRpcCodec``).
    """
    return JsonRpcCodec(Dispatcher(methods), **limits).handle(text)
