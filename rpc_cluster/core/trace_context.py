"""W3C Trace Context (https://www.w3.org/TR/trace-context/): the ``traceparent`` and ``tracestate`` headers.

Pure text in, text out: parsing what a caller sent and making what we send.
Which id a request runs under when it also carries ``X-Trace-Id`` is
decided in ``tracing.accept``.

    traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
                 version-trace id (32 hex)-parent id (16 hex)-flags (2 hex)
"""

from __future__ import annotations

import re
import secrets
from typing import NamedTuple

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# WSGI environ keys of the two headers.
ENVIRON_TRACEPARENT = "HTTP_TRACEPARENT"
ENVIRON_TRACESTATE = "HTTP_TRACESTATE"
# The only flag version 00 defines. Others are reserved: we send them as zero.
SAMPLED = 0x01

# Lowercase only: the specification forbids uppercase hex, and a caller that sends it
# is told so by a fresh trace, not by a trace id that differs from the one it sent.
_FIELDS = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_LENGTH = 55  # 2 + 1 + 32 + 1 + 16 + 1 + 2
_ZERO_TRACE, _ZERO_PARENT = "0" * 32, "0" * 16

# tracestate (section 3.3): up to 32 comma-separated key=value members, empty members allowed.
_KEY_CHARS = r"[a-z0-9_\-*/]"
_MEMBER = re.compile(
    rf"(?:[a-z]{_KEY_CHARS}{{0,255}}|[a-z0-9]{_KEY_CHARS}{{0,240}}@[a-z]{_KEY_CHARS}{{0,13}})"
    r"=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
)
MAX_TRACESTATE_MEMBERS = 32
# The specification lets a vendor cut a longer one; we forward it whole or not at all.
MAX_TRACESTATE_CHARS = 512


class Parent(NamedTuple):
    """What a valid ``traceparent`` tells: the trace to join, and whether the caller samples it."""

    trace_id: str
    sampled: bool


def parse_traceparent(value: str | None) -> Parent | None:
    """The trace a ``traceparent`` header names, or None when it is absent or invalid.

    Version 00 is exactly 55 characters. A later version (01-fe) may be longer
    and is read as far as version 00 goes, if a dash follows (section 3.2.4).
    Version ff, an all-zero trace id or parent id, uppercase hex and wrong
    lengths are invalid: the request then starts a trace of its own.
    """
    if not value or len(value) < _LENGTH:
        return None
    match = _FIELDS.fullmatch(value[:_LENGTH])
    if match is None:
        return None
    version, trace_id, parent_id, flags = match.groups()
    if version == "ff" or trace_id == _ZERO_TRACE or parent_id == _ZERO_PARENT:
        return None
    rest = value[_LENGTH:]
    if rest and (version == "00" or not rest.startswith("-")):
        return None
    return Parent(trace_id, bool(int(flags, 16) & SAMPLED))


def is_trace_id(value: str | None) -> bool:
    """Whether ``value`` can be a W3C trace id (32 lowercase hex digits, not all zero)."""
    return value is not None and _TRACE_ID.fullmatch(value) is not None and value != _ZERO_TRACE


def new_parent_id() -> str:
    """A fresh parent id (16 hex digits, random, never all zero): one for each call sent."""
    while True:
        parent_id = secrets.token_hex(8)
        if parent_id != _ZERO_PARENT:
            return parent_id


def traceparent(trace_id: str, sampled: bool = True) -> str | None:
    """The ``traceparent`` to send for one call in ``trace_id``, or None if it is no W3C trace id."""
    if not is_trace_id(trace_id):
        return None
    return f"00-{trace_id}-{new_parent_id()}-{SAMPLED if sampled else 0:02x}"


def valid_tracestate(value: str | None) -> str | None:
    """``value`` unchanged if it is a well-formed ``tracestate`` of at most 512 characters, else None."""
    if not value or len(value) > MAX_TRACESTATE_CHARS:
        return None
    members = [member.strip(" \t") for member in value.split(",")]
    keys = [member.partition("=")[0] for member in members if member]
    if not keys or len(keys) > MAX_TRACESTATE_MEMBERS or len(set(keys)) != len(keys):
        return None
    if not all(_MEMBER.fullmatch(member) for member in members if member):
        return None
    return value
