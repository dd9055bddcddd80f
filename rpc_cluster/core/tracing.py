"""Trace ids: one per request path through the cluster.

The server puts the trace a request names (``X-Trace-Id``, or the W3C
``traceparent``; else a fresh id) into a context variable for the length of
the call; the client sends it on every call made inside that context, and
the log handler stamps it on records. A second context variable names the
service whose call (or thread) is running, so that each service in a
process ships its own log records.

Both headers name the same id. ``X-Trace-Id`` wins when a request carries
both and they disagree: it is the cluster's own header, the id its log is
searched by, and one a person may have set by hand, while a ``traceparent``
may come from a proxy that started a trace of its own. Our own ids are 32
hex digits, so they travel in ``traceparent`` too; an id that cannot (a
caller's ``X-Trace-Id: checkout-42``) is sent without one, rather than as
a made-up W3C id that a hop reading only ``traceparent`` would take for a
different trace.
"""

from __future__ import annotations

import contextvars
import random
from contextlib import AbstractContextManager
from typing import Any, Generic, NamedTuple, TypeVar

from . import trace_context
from .ids import is_caller_id

HEADER = "X-Trace-Id"
# WSGI environ key for the header.
ENVIRON_KEY = "HTTP_X_TRACE_ID"


class Trace(NamedTuple):
    """The trace a call runs in: its id, and what W3C Trace Context carries along with it."""

    trace_id: str
    #: The caller's sampling decision (``traceparent`` flag 01), passed on unchanged.
    sampled: bool = True
    #: The caller's ``tracestate`` header, passed on unchanged (only with a valid ``traceparent``).
    state: str | None = None


T = TypeVar("T")

_current: contextvars.ContextVar[Trace | None] = contextvars.ContextVar("rpc_cluster_trace", default=None)
_service: contextvars.ContextVar[str | None] = contextvars.ContextVar("rpc_cluster_service", default=None)
# Ids travel in headers and log lines: keep them short and printable.


def new_trace_id() -> str:
    """32 random hex digits. Not a secret (a trace id grants nothing, and travels in logs and
    headers), so from ``random``: ``secrets`` made one system call a request, 1 us against 0.3."""
    return f"{random.getrandbits(128):032x}"


def current_trace_id() -> str | None:
    """The trace id of the call being served (or started) in this context, if any."""
    current = _current.get()
    return current.trace_id if current is not None else None


def accept(trace_id: str | None, traceparent: str | None = None, tracestate: str | None = None) -> Trace:
    """The trace a request runs in, from its ``X-Trace-Id``, ``traceparent`` and ``tracestate`` headers.

    A valid ``traceparent`` is joined when there is no valid ``X-Trace-Id`` or
    it names the same id; an invalid one is ignored (with its ``tracestate``),
    never an error. Neither: a fresh trace, sampled.
    """
    own = trace_id if is_caller_id(trace_id) else None
    parent = trace_context.parse_traceparent(traceparent)
    if parent is not None and own in (None, parent.trace_id):
        return Trace(parent.trace_id, parent.sampled, trace_context.valid_tracestate(tracestate))
    return Trace(own or new_trace_id())


def trace(
    trace_id: str | None = None, *, sampled: bool = True, state: str | None = None
) -> AbstractContextManager[str]:
    """Run a block inside one trace: ``with trace(): client.call(...)``; yields its id."""
    return within(Trace(trace_id or new_trace_id(), sampled, state))


class _Setting(Generic[T]):
    """A context manager that sets one context variable for a block, and gives back ``value``.

    A class, not ``@contextmanager``: every request enters three of them, and a generator's
    setup cost a microsecond each here, some 5% of a trivial call.
    """

    __slots__ = ("_token", "_value", "_var", "given")

    def __init__(self, var: contextvars.ContextVar[Any], value: Any, given: T):
        self._var = var
        self._value = value
        self.given = given

    def __enter__(self) -> T:
        self._token = self._var.set(self._value)
        return self.given

    def __exit__(self, *exc: object) -> None:
        self._var.reset(self._token)


def setting(var: contextvars.ContextVar[Any], value: Any, given: T) -> AbstractContextManager[T]:
    """A block in which ``var`` is ``value``; entering it gives ``given``."""
    return _Setting(var, value, given)


def within(current: Trace) -> AbstractContextManager[str]:
    """Run a block inside ``current`` (a request's trace, from ``accept``); yields its id."""
    return _Setting(_current, current, current.trace_id)


def outgoing_headers() -> dict[str, str]:
    """The trace headers for one call made now: ``X-Trace-Id``, and ``traceparent`` with a new parent id.

    Nothing outside a trace. ``traceparent`` only when the id is a W3C trace
    id; ``tracestate`` only along with it, as it came in.
    """
    current = _current.get()
    if current is None:
        return {}
    headers = {HEADER: current.trace_id}
    parent = trace_context.traceparent(current.trace_id, current.sampled)
    if parent is not None:
        headers[trace_context.TRACEPARENT] = parent
        if current.state:
            headers[trace_context.TRACESTATE] = current.state
    return headers


def current_service() -> str | None:
    """The name of the service whose call or thread runs in this context, if any."""
    return _service.get()


def serving(service_name: str) -> AbstractContextManager[str]:
    """Run a block on behalf of one service (its calls, its background threads)."""
    return _Setting(_service, service_name, service_name)
