"""What one entry of the central log is: its fields, its levels, its timestamp,
and which service's handler a log record belongs to.

Shared by the side that makes entries (``shipping.py``, in every service) and
the side that stores them (``logs/``), so that neither imports the other.
"""

from __future__ import annotations

import logging
import re
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
    if record.levelname in LEVELS:
        return record.levelname
    return max(
        (name for name, number in LEVELS.items() if number <= record.levelno), key=LEVELS.__getitem__, default="DEBUG"
    )


def entry_from_record(record: logging.LogRecord, service_name: str, message: str) -> dict[str, Any]:
    """The log entry for a formatted record, stamped with the current trace id."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + f"... [truncated: {len(message)} characters in all]"
    return {
        "message": message,
        "service_name": service_name,
        "level": level_name(record),
        "trace_id": getattr(record, "trace_id", None) or tracing.current_trace_id(),
        # From ``created`` to the microsecond, not ``msecs`` (whole milliseconds): one request's
        # lines in two services are often less than a millisecond apart, and a trace is read
        # in timestamp order, so a tie would put them in whatever order their shippers delivered.
        "timestamp": datetime.fromtimestamp(record.created, UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z"),
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
        on_root = [h for h in logging.getLogger().handlers if isinstance(h, CentralLogHandler)]
        # A handler on some other logger was put there for exactly that logger's records.
        return self not in on_root or on_root[0] is self
