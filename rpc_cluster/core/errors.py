"""Error types of the cluster, one class per JSON-RPC error code.

Servers raise these inside methods; the dispatcher turns them into JSON-RPC
error objects (or XML-RPC Faults) with the same code. Clients raise them back
from the error objects they receive, so ``except NotFound`` works on both
sides of the wire.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

# The JSON-RPC 2.0 specification's codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# The cluster's application codes (docs/protocol.md, "Error codes and their data"), chosen to read like HTTP.
UNAUTHORIZED = 401
FORBIDDEN = 403
NOT_FOUND = 404
CONFLICT = 409
TOO_MANY_REQUESTS = 429
SERVICE_UNAVAILABLE = 503
# Client-side only: the call never got a JSON-RPC answer.
TRANSPORT_ERROR = -32000
TIMEOUT = -32001


class RpcError(Exception):
    """A JSON-RPC error: ``code``, human ``message`` and optional ``data``."""

    code = INTERNAL_ERROR
    default_message = "Internal error"

    def __init__(self, message: str | None = None, data: Any = None, *, code: int | None = None):
        self.message = message or self.default_message
        self.data = data
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        return f"{text}: {self.data}" if self.data not in (None, "", {}) else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, data={self.data!r})"

    def to_error_object(self) -> dict[str, Any]:
        """The JSON-RPC ``error`` member for this error."""
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ParseError(RpcError):
    code, default_message = PARSE_ERROR, "Parse error"


class InvalidRequest(RpcError):
    code, default_message = INVALID_REQUEST, "Invalid Request"


class MethodNotFound(RpcError):
    code, default_message = METHOD_NOT_FOUND, "Method not found"


class InvalidParams(RpcError):
    """Bad parameters. ``InvalidParams.field("score", "must be 0-100")`` names the field.

    A value read from a file (a CSV import) also names its 1-based ``line``.
    """

    code, default_message = INVALID_PARAMS, "Invalid params"

    @classmethod
    def field(cls, name: str, problem: str, *, line: int | None = None) -> InvalidParams:
        if line is None:
            return cls(f"Invalid params: {name} {problem}", {"field": name, "problem": problem})
        return cls(f"Invalid params: line {line}: {name} {problem}", {"line": line, "field": name, "problem": problem})


class InternalError(RpcError):
    code, default_message = INTERNAL_ERROR, "Internal error"


class Unauthorized(RpcError):
    code, default_message = UNAUTHORIZED, "Unauthorized: missing or wrong cluster token"


class Forbidden(RpcError):
    """The acting user may not do this, or a sign-in was refused (code 403).

    ``data`` names what was refused: ``{"class_id": 7}``, ``{"user": "bob"}``,
    ``{"method": "Users.add"}``, ``{"reason": "sign_in"}``.
    """

    code, default_message = FORBIDDEN, "Forbidden"


class NotFound(RpcError):
    code, default_message = NOT_FOUND, "Not found"


class Conflict(RpcError):
    code, default_message = CONFLICT, "Conflict"


class TooManyRequests(RpcError):
    """Refused for now, after too many attempts (code 429); ``data["retry_after"]`` is in seconds."""

    code, default_message = TOO_MANY_REQUESTS, "Too many requests"


class ServiceUnavailable(RpcError):
    code, default_message = SERVICE_UNAVAILABLE, "Service unavailable"


class StoreFull(ServiceUnavailable):
    """The service's store is out of space: the call stored nothing (code 503).

    A 503 the server answered is not a transport error, so no client sends the
    call again by itself; once space is freed the same call succeeds.
    ``data`` says why (``{"reason": "out_of_space"}``), so clients raise this
    class too, not just ServiceUnavailable.
    """

    default_message = "the store is out of space"
    reason = "out_of_space"

    def __init__(self, message: str | None = None, data: Any = None, *, code: int | None = None):
        super().__init__(message, {"reason": self.reason} if data is None else data, code=code)


class TransportError(RpcError, ConnectionError):
    """The call could not be completed over HTTP (refused, reset, bad status)."""

    code, default_message = TRANSPORT_ERROR, "Transport error"

    def __init__(
        self, message: str | None = None, data: Any = None, *, code: int | None = None, sent: bool = True
    ) -> None:
        super().__init__(message, data, code=code)
        # False when the request never left this process: safe to retry elsewhere.
        self.sent = sent


class CallTimeout(TransportError, TimeoutError):
    """The call outlived its timeout; the server may still have done the work."""

    code, default_message = TIMEOUT, "Call timed out"


class StartError(Exception):
    """A service could not start (its store or file cannot be opened); one line for the operator."""


_BY_CODE = MappingProxyType(
    {
        cls.code: cls
        for cls in (
            ParseError,
            InvalidRequest,
            MethodNotFound,
            InvalidParams,
            InternalError,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            TooManyRequests,
            ServiceUnavailable,
        )
    }
)


def error_from_object(error: Any) -> RpcError:
    """Build the matching RpcError subclass from a JSON-RPC ``error`` member."""
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return InternalError("Malformed error object in response", error)
    cls = _BY_CODE.get(error["code"], RpcError)
    data = error.get("data")
    if cls is ServiceUnavailable and isinstance(data, dict) and data.get("reason") == StoreFull.reason:
        cls = StoreFull
    return cls(str(error.get("message") or cls.default_message), data, code=error["code"])
