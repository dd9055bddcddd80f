"""What one entry of the central log is: its fields, its levels, its timestamp,
and which service's handler a log record belongs to.

Shared by the side that makes entries (``shipping.py``, in every service) and
the side that stores them (``logs/``), so that neither imports the other.
"""

from __future__ import annotations

import logging
import math
import re
import time
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from ..core import tracing

LEVELS = MappingProxyType({"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50})
FIELDS = ("timestamp", "level", "service_name", "trace_id", "message")
# A shipped message longer than this is cut, and says so.
MAX_MESSAGE_CHARS = 64 * 1024


def now_iso() -> str:
    """Now, as the log's timestamps are written: ISO 8601 UTC with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# What LogShipper sends, and what we store: taken as it is, no parsing.
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")


def timestamp_text(value: Any) -> str:
    """``value`` (ISO 8601 text, or seconds since the epoch) as the log writes timestamps.

    ValueError, saying what is wrong, for anything else or a moment out of range.
    In this one format text order is time order, so timestamps compare as text.
    """
    if isinstance(value, str) and _CANONICAL.match(value):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # No math.isfinite() first: it converts the value to a float, which a
        # 400-digit integer overflows. fromtimestamp refuses it, and inf, itself.
        try:
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("is out of range") from None
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be ISO 8601 text or seconds since the epoch") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    else:
        raise ValueError("must be ISO 8601 text or seconds since the epoch")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def level_name(record: logging.LogRecord) -> str:
    """The record's level, or for a custom level the nearest standard one below it."""
    return standard_level(record.levelname, record.levelno)


def standard_level(name: str, number: int) -> str:
    """``name`` if it is a standard level, else the nearest standard one below ``number``."""
    if name in LEVELS:
        return name
    return max((known for known, value in LEVELS.items() if value <= number), key=LEVELS.__getitem__, default="DEBUG")


def truncated(message: str) -> str:
    """``message``, cut to ``MAX_MESSAGE_CHARS`` (saying so) if it is longer."""
    if len(message) > MAX_MESSAGE_CHARS:
        return message[:MAX_MESSAGE_CHARS] + f"... [truncated: {len(message)} characters in all]"
    return message


class Timestamps:
    """Seconds since the epoch (a record's ``created``) as the log writes timestamps.

    To the microsecond, not ``msecs`` (whole milliseconds): one request's
    lines in two services are often less than a millisecond apart, and a trace
    is read in timestamp order, so a tie would put them in whatever order their
    shippers delivered. The text is ``datetime.fromtimestamp``'s (rounded half
    to even), built from the last whole second's text, which a shipper's
    records mostly share: a third of the cost of a datetime for each. One
    instance per thread.
    """

    def __init__(self) -> None:
        self._second = math.nan
        self._text = ""

    def __call__(self, created: float) -> str:
        """``created`` as ISO 8601 UTC with microseconds ("2026-09-21T14:13:20.000250Z")."""
        fraction, second = math.modf(created)
        micros = round(fraction * 1e6)
        if micros >= 1_000_000:
            micros, second = micros - 1_000_000, second + 1
        elif micros < 0:
            micros, second = micros + 1_000_000, second - 1
        if second != self._second:
            self._text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._text}.{micros:06d}Z"


def entry_from_record(record: logging.LogRecord, service_name: str, message: str) -> dict[str, Any]:
    """The log entry for a formatted record, stamped with the current trace id."""
    return {
        "message": truncated(message),
        "service_name": service_name,
        "level": level_name(record),
        "trace_id": getattr(record, "trace_id", None) or tracing.current_trace_id(),
        "timestamp": Timestamps()(record.created),
    }


class CentralLogHandler(logging.Handler):
    """A handler that puts records into the central log on behalf of one service.

    Several services may run in one process, each with such a handler on the
    root logger: each takes what is logged while serving it, and the first
    one attached also takes what no service's call or thread logged (start-up,
    libraries), so that no record reaches the central log twice or not at all.
    A handler on another logger takes every record that reaches it.
    """

    def __init__(self, service_name: str, level: int = logging.NOTSET):
        super().__init__(level)
        self.service_name = service_name

    def owns(self) -> bool:
        """Whether the record being logged now, in this context, is this handler's."""
        serving = tracing.current_service()
        if serving is not None:
            return serving == self.service_name
        on_root = logging.root.handlers
        first = next((h for h in on_root if isinstance(h, CentralLogHandler)), None)
        # A handler on some other logger was put there for exactly that logger's records.
        return first is None or first is self or self not in on_root
