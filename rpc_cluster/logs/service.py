"""``Log.*`` over RPC: the cluster's central log (``rpc-cluster log``)."""

from __future__ import annotations

import argparse
import logging
import re
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .. import config
from ..errors import InvalidParams, StartError
from ..log_entries import LEVELS, CentralLogHandler, entry_from_record, now_iso
from ..methods import MethodTable, rpc_method
from ..service import Service
from .store import TAIL_BYTES, LogStore

MAX_MESSAGE = 256 * 1024
MAX_TAIL = 10_000
_ENTRY_ID = re.compile(r"[A-Za-z0-9._-]{1,40}:[0-9]{1,18}")
_ALIASES = MappingProxyType({"WARN": "WARNING", "FATAL": "CRITICAL"})


def _level(field: str, value: Any) -> str:
    if not isinstance(value, str) or _ALIASES.get(value.upper(), value.upper()) not in LEVELS:
        raise InvalidParams.field(field, f"must be one of {', '.join(LEVELS)}")
    return _ALIASES.get(value.upper(), value.upper())


def _short_text(field: str, value: Any, limit: int = 200) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise InvalidParams.field(field, f"must be 1-{limit} printable characters, or null")
    return value


# What LogShipper sends, and what we store: taken as it is, no parsing.
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")


def _timestamp(value: Any) -> str:
    if value is None:
        return now_iso()
    if isinstance(value, str) and _CANONICAL.match(value):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # No math.isfinite() first: it converts the value to a float, which a
        # 400-digit integer overflows. fromtimestamp refuses it, and inf, itself.
        try:
            moment = datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise InvalidParams.field("timestamp", "is out of range") from None
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidParams.field("timestamp", "must be ISO 8601 text or seconds since the epoch") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
    else:
        raise InvalidParams.field("timestamp", "must be ISO 8601 text or seconds since the epoch")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Log:
    """The ``Log`` namespace."""

    def __init__(self, store: LogStore):
        self._store = store

    @rpc_method
    def write(self, message: str, service_name: str | None = None, level: str = "INFO",
              trace_id: str | None = None, timestamp: str | float | None = None, entry_id: str | None = None) -> bool:
        """Append one entry to the central log (usually sent as notifications, many in a batch).

        ``entry_id`` ("SHIPPER:NUMBER", numbered in order by the shipper) makes a batch
        sent again after a lost answer store each entry once.
        """
        if entry_id is not None and (not isinstance(entry_id, str) or not _ENTRY_ID.fullmatch(entry_id)):
            raise InvalidParams.field("entry_id", "must be SHIPPER:NUMBER (1-40 of A-Z a-z 0-9 . _ -, then digits)")
        if not isinstance(message, str):
            raise InvalidParams.field("message", "must be a string")
        if len(message) > MAX_MESSAGE:
            raise InvalidParams.field("message", f"must be at most {MAX_MESSAGE} characters")
        entry = {"timestamp": _timestamp(timestamp), "level": _level("level", level),
                 "service_name": _short_text("service_name", service_name),
                 "trace_id": _short_text("trace_id", trace_id, 128), "message": message, "entry_id": entry_id}
        self._store.write([entry])
        return True

    @rpc_method
    def tail(self, limit: int = 100, service_name: str | None = None, level: str | None = None,
             trace_id: str | None = None) -> list:
        """The newest matching entries, oldest first. ``level`` means that level or above.

        Looks at the newest ``--tail-bytes`` of the log (16 MiB by default): older entries are not found.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_TAIL:
            raise InvalidParams.field("limit", f"must be a whole number from 1 to {MAX_TAIL}")
        return self._store.tail(
            limit, _short_text("service_name", service_name),
            LEVELS[_level("level", level)] if level is not None else None,
            _short_text("trace_id", trace_id, 128))


class _StoreHandler(CentralLogHandler):
    """The log service's own records go straight into its store (no network)."""

    def __init__(self, store: LogStore, service_name: str):
        super().__init__(service_name)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self._store = store

    def emit(self, record: logging.LogRecord) -> None:
        if not self.owns():
            return
        try:
            self._store.append([entry_from_record(record, self.service_name, self.format(record))])
        except Exception:
            self.handleError(record)


class LogService(Service):
    """The log process: serves ``Log.*`` over a ``LogStore``.

    Its own log records go straight into its store, not through a shipper.
    """

    name = "LogService"

    def __init__(self, *, log_file: str | Path = "data/distributed.log", max_bytes: int = 10 << 20,
                 backups: int = 5, tail_bytes: int = TAIL_BYTES, **kwargs: Any):
        super().__init__(**kwargs)
        self.log_file = log_file
        self.max_bytes = max_bytes
        self.backups = backups
        self.tail_bytes = tail_bytes
        #: The open log file, from ``start()`` to ``stop()``.
        self.store: LogStore | None = None
        self._own_records: _StoreHandler | None = None

    def open(self) -> None:
        try:
            self.store = LogStore(self.log_file, max_bytes=self.max_bytes, backups=self.backups,
                                  tail_bytes=self.tail_bytes)
        except OSError as exc:
            raise StartError(f"cannot open the log file {str(self.log_file)!r}: {exc}") from exc
        self._own_records = _StoreHandler(self.store, self.name)
        store = self.store
        self.metrics.counted("log_entries_written", "Log entries written to the file", lambda: store.entries_written)
        self.metrics.counted("log_bytes_written", "Bytes of log entries written to the file",
                             lambda: store.bytes_written)

    def expose(self, methods: MethodTable) -> None:
        methods.add_object("Log", Log(self.store))

    def after_call(self) -> None:
        # Every entry of the batch reaches the file before the HTTP response goes out.
        self.store.flush()

    def on_start(self) -> None:
        logging.getLogger().addHandler(self._own_records)

    def on_stop(self) -> None:
        if self.store is not None:
            logging.getLogger().removeHandler(self._own_records)
            self.store.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    config.add_service_flags(parser, "RPC_CLUSTER_LOG", 4000)
    config.add_flag(parser, "--log-file", "RPC_CLUSTER_LOG_FILE", "./data/distributed.log",
                    "the central log file (JSON Lines, mode 0600)")
    config.add_flag(parser, "--max-bytes", "RPC_CLUSTER_LOG_MAX_BYTES", 10 << 20,
                    "rotate the file when it would grow past this many bytes", type=config.positive_int)
    config.add_flag(parser, "--backups", "RPC_CLUSTER_LOG_BACKUPS", 5,
                    "rotated files to keep (file.1 ... file.N)", type=config.positive_int)
    config.add_flag(parser, "--tail-bytes", "RPC_CLUSTER_LOG_TAIL_BYTES", TAIL_BYTES,
                    "how much of the newest log one Log.tail scans, in bytes", type=config.positive_int)


def main(argv: list[str] | None = None) -> int:
    """Run the log service in the foreground (``rpc-cluster log``)."""
    return config.service_main(
        argv, prog="rpc-cluster log", description="Run the central log service.", add_arguments=add_arguments,
        make=lambda args: LogService(log_file=args.log_file, max_bytes=args.max_bytes, backups=args.backups,
                                     tail_bytes=args.tail_bytes, **config.service_kwargs(args)),
        ship_logs=False)
