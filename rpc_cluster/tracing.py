"""Trace ids: one per request path through the cluster.

The server puts the ``X-Trace-Id`` header it received (or a fresh id) into a
context variable for the length of the call; the client sends it on every
call made inside that context, and the log handler stamps it on records.
A second context variable names the service whose call (or thread) is
running, so that each service in a process ships its own log records.
"""

from __future__ import annotations

import contextvars
import re
import secrets
from contextlib import contextmanager

HEADER = "X-Trace-Id"
# WSGI environ key for the header.
ENVIRON_KEY = "HTTP_X_TRACE_ID"

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("rpc_cluster_trace_id", default=None)
_service: contextvars.ContextVar[str | None] = contextvars.ContextVar("rpc_cluster_service", default=None)
# Ids travel in headers and log lines: keep them short and printable.
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_trace_id() -> str:
    return secrets.token_hex(16)


def current_trace_id() -> str | None:
    """The trace id of the call being served (or started) in this context, if any."""
    return _current.get()


def accept_trace_id(value: str | None) -> str:
    """The incoming header if it is a well-formed id, else a fresh one."""
    if value and _VALID.match(value):
        return value
    return new_trace_id()


@contextmanager
def trace(trace_id: str | None = None):
    """Run a block inside one trace: ``with trace(): client.call(...)``."""
    token = _current.set(trace_id or new_trace_id())
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current_service() -> str | None:
    """The name of the service whose call or thread runs in this context, if any."""
    return _service.get()


@contextmanager
def serving(service_name: str):
    """Run a block on behalf of one service (its calls, its background threads)."""
    token = _service.set(service_name)
    try:
        yield service_name
    finally:
        _service.reset(token)
