"""What one entry of the central log is: its fields, its levels, its timestamp.

Shared by the side that makes entries (``shipping.py``, in every service) and
the side that stores them (``logs/``), so that neither imports the other.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from . import tracing

LEVELS = MappingProxyType({"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50})
FIELDS = ("timestamp", "level", "service_name", "trace_id", "message")
# A shipped message longer than this is cut, and says so.
MAX_MESSAGE_CHARS = 64 * 1024


def now_iso() -> str:
    """Now, as the log's timestamps are written: ISO 8601 UTC with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def level_name(record: logging.LogRecord) -> str:
    """The record's level, or for a custom level the nearest standard one below it."""
    if record.levelname in LEVELS:
        return record.levelname
    return max((name for name, number in LEVELS.items() if number <= record.levelno),
               key=LEVELS.__getitem__, default="DEBUG")


def entry_from_record(record: logging.LogRecord, service_name: str, message: str) -> dict[str, Any]:
    """The log entry for a formatted record, stamped with the current trace id."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + f"... [truncated: {len(message)} characters in all]"
    created = time.gmtime(record.created)
    return {
        "message": message,
        "service_name": service_name,
        "level": level_name(record),
        "trace_id": getattr(record, "trace_id", None) or tracing.current_trace_id(),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", created) + f".{int(record.msecs * 1000):06d}Z",
    }
