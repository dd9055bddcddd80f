"""``Log.*`` over RPC: the cluster's central log (``rpc-cluster log``)."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Unpack

from ..core.errors import InvalidParams, StartError
from ..core.methods import MethodTable, rpc_method
from ..observability.log_entries import LEVELS, CentralLogHandler, entry_from_record, now_iso, timestamp_text
from ..runtime import flags, runner
from ..runtime.service import Service, ServiceOptions
from ..serving.rpc_app import Refused
from .cursor import CursorError
from .marks import ENTRY_ID
from .store import MIN_BACKUPS, TAIL_BYTES, LogStore, WriteFailed

MAX_MESSAGE = 256 * 1024
MAX_TAIL = 10_000
_ALIASES = MappingProxyType({"WARN": "WARNING", "FATAL": "CRITICAL"})
# The names shippers send, as they are stored: looked up before any case folding.
_STORED_LEVELS = MappingProxyType({**{name: name for name in LEVELS}, **_ALIASES})


def _level(field: str, value: Any) -> str:
    """The level ``value`` names (any case, or an alias), as stored; -32602 naming ``field`` if none."""
    if isinstance(value, str):
        stored = _STORED_LEVELS.get(value) or _STORED_LEVELS.get(value.upper())
        if stored is not None:
            return stored
    raise InvalidParams.field(field, f"must be one of {', '.join(LEVELS)}")


def _short_text(field: str, value: Any, limit: int = 200) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise InvalidParams.field(field, f"must be 1-{limit} printable characters, or null")
    return value


def _timestamp(value: Any, field: str = "timestamp") -> str:
    """``value`` as the log writes timestamps (now, for None); -32602 naming ``field`` if it is none."""
    if value is None:
        return now_iso()
    try:
        return timestamp_text(value)
    except ValueError as exc:
        raise InvalidParams.field(field, str(exc)) from None


class Log:
    """The ``Log`` namespace."""

    def __init__(self, store: LogStore):
        self._store = store

    # Inline: it only adds the entry to this thread's batch (the file is written once a batch, by
    # after_call on the same thread), so a batch of a thousand costs no thread hop per entry.
    @rpc_method(inline=True)
    def write(
        self,
        message: str,
        service_name: str | None = None,
        level: str = "INFO",
        trace_id: str | None = None,
        timestamp: str | float | None = None,
        entry_id: str | None = None,
    ) -> bool:
        """Append one entry to the central log (usually sent as notifications, many in a batch).

        ``entry_id`` ("SHIPPER:NUMBER", numbered in order by the shipper) makes a batch
        sent again after a lost answer store each entry once.
        """
        if entry_id is not None and (not isinstance(entry_id, str) or not ENTRY_ID.fullmatch(entry_id)):
            raise InvalidParams.field("entry_id", "must be SHIPPER:NUMBER (1-40 of A-Z a-z 0-9 . _ -, then digits)")
        if not isinstance(message, str):
            raise InvalidParams.field("message", "must be a string")
        if len(message) > MAX_MESSAGE:
            raise InvalidParams.field("message", f"must be at most {MAX_MESSAGE} characters")
        entry = {
            "timestamp": _timestamp(timestamp),
            "level": _level("level", level),
            "service_name": _short_text("service_name", service_name),
            "trace_id": _short_text("trace_id", trace_id, 128),
            "message": message,
            "entry_id": entry_id,
        }
        self._store.write([entry])
        return True

    @rpc_method
    def tail(
        self,
        limit: int = 100,
        service_name: str | None = None,
        level: str | None = None,
        trace_id: str | None = None,
        since: str | None = None,
    ) -> list[dict[str, Any]]:
        """The newest matching entries, oldest first. ``level`` means that level or above;
        ``since``: only entries newer than this timestamp.

        Looks at the newest ``--tail-bytes`` of the log (16 MiB by default): older entries are not found.
        """
        return self._store.tail(_limit(limit), **_filters(service_name, level, trace_id, since))

    @rpc_method
    def follow(
        self,
        cursor: str | None = None,
        limit: int = 100,
        service_name: str | None = None,
        level: str | None = None,
        trace_id: str | None = None,
        since: str | None = None,
    ) -> dict[str, Any]:
        """``{"entries", "cursor", "more"}``: the matching entries written after ``cursor``, oldest first.

        Without a cursor: the newest ones (as ``Log.tail``). Pass the returned
        cursor next time to get only what came after, each entry once, across
        rotations. ``more`` is true when a page stopped at ``limit`` or at the
        read budget (``--tail-bytes``): call again at once. A cursor this log
        no longer keeps (rotated away) is a -32602: follow again without one.
        """
        if cursor is not None and not isinstance(cursor, str):
            raise InvalidParams.field("cursor", "must be a cursor that Log.follow returned, or null")
        try:
            page = self._store.follow(cursor, _limit(limit), **_filters(service_name, level, trace_id, since))
        except CursorError as exc:
            raise InvalidParams.field("cursor", str(exc)) from None
        return {"entries": page.entries, "cursor": page.cursor, "more": page.more}


def _limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_TAIL:
        raise InvalidParams.field("limit", f"must be a whole number from 1 to {MAX_TAIL}")
    return limit


def _filters(service_name: Any, level: Any, trace_id: Any, since: Any) -> dict[str, Any]:
    """The store's filters from a read's params, each checked (-32602 naming the field)."""
    return {
        "service_name": _short_text("service_name", service_name),
        "min_level": LEVELS[_level("level", level)] if level is not None else None,
        "trace_id": _short_text("trace_id", trace_id, 128),
        "since": _timestamp(since, "since") if since is not None else None,
    }


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
        except WriteFailed as exc:
            # A full disk: one line, not logging's traceback for each record that cannot be kept.
            print(f"rpc-cluster log: a log record could not be stored: {exc.strerror}", file=sys.stderr)
        except Exception:
            self.handleError(record)


@dataclass(frozen=True)
class _Opened:
    """What the log service's ``open()`` makes: the file stays readable after ``stop()`` closes it."""

    store: LogStore
    #: Puts the service's own log records into its file, from ``on_start()`` to ``on_stop()``.
    own_records: _StoreHandler


class LogService(Service):
    """The log process: serves ``Log.*`` over a ``LogStore``.

    Its own log records go straight into its store, not through a shipper.
    """

    name = "LogService"

    def __init__(
        self,
        *,
        log_file: str | Path = "data/distributed.log",
        max_bytes: int = 10 << 20,
        backups: int = 5,
        tail_bytes: int = TAIL_BYTES,
        **options: Unpack[ServiceOptions],
    ):
        super().__init__(**options)
        self.log_file = log_file
        self.max_bytes = max_bytes
        self.backups = backups
        self.tail_bytes = tail_bytes
        #: RPC requests answered 503 because the file could not take their entries.
        self.refused_batches = 0
        self._opened: _Opened | None = None

    def open(self) -> None:
        try:
            store = LogStore(self.log_file, max_bytes=self.max_bytes, backups=self.backups, tail_bytes=self.tail_bytes)
        except OSError as exc:
            raise StartError(f"cannot open the log file {str(self.log_file)!r}: {exc}") from exc
        except ValueError as exc:
            raise StartError(f"the log file {str(self.log_file)!r}: {exc}") from None
        self._opened = _Opened(store, _StoreHandler(store, self.name))
        self.metrics.counted("log_entries_written", "Log entries written to the file", lambda: store.entries_written)
        self.metrics.counted(
            "log_bytes_written", "Bytes of log entries written to the file", lambda: store.bytes_written
        )
        self.metrics.counted(
            "log_write_failures", "Writes to the log file that failed (a full disk)", lambda: store.failed_writes
        )
        self.metrics.counted(
            "log_batches_refused",
            "RPC requests answered 503 because the log file could not take their entries (sent again)",
            lambda: self.refused_batches,
        )
        self.metrics.counted(
            "log_shippers_not_remembered",
            "Shipper ids whose marks were not kept: refused (too many new ones in one batch) or evicted",
            lambda: {("refused",): store.marks.refused, ("evicted",): store.marks.evicted},
            ("reason",),
        )

    @property
    def store(self) -> LogStore:
        """The log file, from ``open()`` on; RuntimeError before it."""
        if self._opened is None:
            raise RuntimeError("rpc: LogService has a log file only once open() (start()) has opened it")
        return self._opened.store

    def expose(self, methods: MethodTable) -> None:
        methods.add_object("Log", Log(self.store))

    def after_call(self) -> None:
        """Every entry of the batch reaches the file before the HTTP response goes out.

        A batch the file could not take is a 503 (with the trace it was served in), never a 204
        or a result: notifications have no answer of their own to carry the failure, and the
        shipper keeps a batch (and sends it again) only when it is not acknowledged.
        """
        try:
            self.store.flush()
        except WriteFailed as exc:
            self.refused_batches += 1
            raise Refused(
                503,
                {
                    "error": "the log could not store the batch: send it again",
                    "problem": exc.strerror,
                    "service": self.name,
                },
            ) from exc

    def on_start(self) -> None:
        if self._opened is not None:
            logging.getLogger().addHandler(self._opened.own_records)

    def on_stop(self) -> None:
        if self._opened is not None:
            logging.getLogger().removeHandler(self._opened.own_records)
            self._opened.store.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    flags.add_service_flags(parser, "RPC_CLUSTER_LOG", 4000)
    flags.add_flag(
        parser,
        "--log-file",
        "RPC_CLUSTER_LOG_FILE",
        "./data/distributed.log",
        "the central log file (JSON Lines, mode 0600)",
    )
    flags.add_flag(
        parser,
        "--max-bytes",
        "RPC_CLUSTER_LOG_MAX_BYTES",
        10 << 20,
        "rotate the file when it would grow past this many bytes",
        type=flags.positive_int,
    )
    flags.add_flag(
        parser,
        "--backups",
        "RPC_CLUSTER_LOG_BACKUPS",
        5,
        f"rotated files to keep (file.1 ... file.N; at least {MIN_BACKUPS})",
        type=_backups,
    )
    flags.add_flag(
        parser,
        "--tail-bytes",
        "RPC_CLUSTER_LOG_TAIL_BYTES",
        TAIL_BYTES,
        "how much of the newest log one Log.tail scans, in bytes",
        type=flags.positive_int,
    )


def _backups(text: str) -> int:
    """``--backups``: a whole number of at least ``MIN_BACKUPS``."""
    value = flags.positive_int(text)
    if value < MIN_BACKUPS:
        raise argparse.ArgumentTypeError(f"{value} must be at least {MIN_BACKUPS}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the log service in the foreground (``rpc-cluster log``)."""
    return runner.service_main(
        argv,
        prog="rpc-cluster log",
        description="Run the central log service.",
        add_arguments=add_arguments,
        make=lambda args: LogService(
            log_file=args.log_file,
            max_bytes=args.max_bytes,
            backups=args.backups,
            tail_bytes=args.tail_bytes,
            **flags.service_kwargs(args),
        ),
        ship_logs=False,
    )
