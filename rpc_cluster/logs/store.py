"""The log file: one JSON object a line, append-only, rotated by size.

JSON Lines because people can read it and programs parse it, and because
JSON escapes every newline and control character in a message, so no
message can forge an entry. Rotation is the stdlib's
``RotatingFileHandler.doRollover`` (``file``, ``file.1`` ... ``file.N``); the
file is created with mode 0600 (and so is each new one after a rotation).

A read never makes a write wait: ``tail`` holds the write lock only to flush
and open the files (microseconds), then reads them backwards without it,
and scans at most ``tail_bytes`` of the newest entries.
"""

from __future__ import annotations

import json
import logging.handlers
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

from ..log_entries import FIELDS, LEVELS

# Shippers whose progress is remembered (one number each); the oldest is forgotten first.
MAX_SHIPPERS = 10_000
# How much of the newest log is read at start to learn how far each shipper got.
REMEMBER_BYTES = 4 << 20


# How much of the newest log one Log.tail may scan. Measured on 2 cores, 16 MiB takes
# 10 ms when a filter's text is in no block (skipped whole) and 150 ms in the worst case
# (its text in every block: each line checked). A tail of every rotated file (60 MiB by
# default) took 0.85 s per 500k lines, under the write lock: 8 tail loops held writes
# back for 8-9 s and the registry marked the log service critical.
TAIL_BYTES = 16 << 20


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """The stdlib's rotating file, but every file it opens is created 0600."""

    def _open(self):  # type: ignore[override]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding="utf-8", errors="backslashreplace")


def _reversed_blocks(handle: BinaryIO, end: int, block: int = 64 * 1024) -> Iterator[bytes]:
    """The file up to byte ``end`` in blocks of whole lines, last block first (reading backwards)."""
    position = end
    rest = b""
    while position > 0:
        size = min(block, position)
        position -= size
        handle.seek(position)
        chunk = handle.read(size) + rest
        cut = chunk.find(b"\n") + 1 if position > 0 else 0
        rest, whole = chunk[:cut], chunk[cut:]
        if whole:
            yield whole
    if rest:
        yield rest


def _escaped(value: Any) -> Any:
    """Text UTF-8 can carry: a lone surrogate ("\\ud800") becomes the six characters \\ud800."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(value, str) else value


def _fields(entry: dict[str, Any]) -> dict[str, Any]:
    """What the file keeps of an entry: its fields, and its shipper's id when it has one."""
    kept = {field: entry.get(field) for field in FIELDS}
    if entry.get("entry_id"):
        kept["entry_id"] = entry["entry_id"]
    return kept


def _line(entry: dict[str, Any]) -> tuple[str, int]:
    """The file's line for an entry, and its size in bytes."""
    line = json.dumps(_fields(entry), ensure_ascii=False) + "\n"
    if line.isascii():
        return line, len(line)
    try:
        return line, len(line.encode("utf-8"))
    except UnicodeEncodeError:
        # JSON text may hold a lone surrogate ("\\ud800"); UTF-8 cannot. Stored escaped, the
        # entry is kept (a notification has nobody to tell of a rejection) and the file stays UTF-8.
        line = json.dumps({key: _escaped(value) for key, value in _fields(entry).items()}, ensure_ascii=False) + "\n"
        return line, len(line.encode("utf-8"))


def _needles(field: str, values: Iterable[str]) -> tuple[bytes, ...] | None:
    """The text ``"field": "value"`` as ``write`` puts it in a line, for each value.

    Every quote inside a JSON string is escaped, so a message cannot contain
    this text: a line without one of these does not match, and is skipped
    without being parsed (parsing is most of a scan's cost).
    """
    try:
        return tuple(f'"{field}": {json.dumps(value, ensure_ascii=False)}'.encode("utf-8") for value in values)
    except UnicodeEncodeError:
        return None  # a value no line can hold: leave it to the full check


def _by_time(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Oldest first. Services ship in batches, so the file's order is arrival order."""
    entries.reverse()
    entries.sort(key=lambda e: str(e.get("timestamp") or ""))
    return entries


class LogStore:
    """Appends entries to the log file and finds the newest matching ones."""

    def __init__(self, path: str | os.PathLike, *, max_bytes: int = 10 << 20, backups: int = 5,
                 tail_bytes: int = TAIL_BYTES):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = _PrivateRotatingFile(self.path, maxBytes=max_bytes, backupCount=backups,
                                          encoding="utf-8", delay=False)
        # An existing file made by something else keeps its own mode; ours is private.
        os.chmod(self.path, 0o600)
        self.max_bytes = max_bytes
        self.backups = backups
        #: How much of the newest log one ``tail`` may scan, in bytes.
        self.tail_bytes = tail_bytes
        self._size = self.path.stat().st_size
        #: Entries and bytes written since this store opened (GET /metrics).
        self.entries_written = 0
        self.bytes_written = 0
        self._lock = threading.Lock()
        # Each shipper's highest entry number stored (see ``write``), newest shippers last.
        self._stored_up_to: OrderedDict[str, int] = OrderedDict()
        self._remember_stored()

    def _remember_stored(self) -> None:
        """After a restart: how far each shipper got, from the newest part of the file."""
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            return
        with handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - REMEMBER_BYTES))
            for line in handle.read().split(b"\n"):
                if b'"entry_id"' in line:
                    try:
                        self._is_new(json.loads(line)["entry_id"])
                    except (ValueError, KeyError, TypeError):
                        continue

    def _is_new(self, entry_id: str) -> bool:
        """Whether an entry is not stored yet; records it as stored. Under the lock.

        A shipper numbers its entries in order and sends them in order, a batch
        again only after it failed: an entry at or below the highest number
        stored from its shipper is a repeat (its batch arrived, the answer did not).
        """
        origin, _, number = entry_id.rpartition(":")
        seq = int(number)
        if seq <= self._stored_up_to.get(origin, 0):
            return False
        self._stored_up_to[origin] = seq
        self._stored_up_to.move_to_end(origin)
        if len(self._stored_up_to) > MAX_SHIPPERS:
            self._stored_up_to.popitem(last=False)
        return True

    def write(self, entries: list[dict[str, Any]]) -> None:
        """Write validated entries; they reach the file at the latest on ``flush()``.

        An entry with an ``entry_id`` its shipper already sent is stored once only.
        """
        lines = [(_line(entry), entry.get("entry_id")) for entry in entries]
        with self._lock:
            stream = self._file.stream
            for (line, size), entry_id in lines:
                if entry_id and not self._is_new(entry_id):
                    continue
                if self.max_bytes and self._size and self._size + size > self.max_bytes:
                    self._file.doRollover()
                    stream = self._file.stream
                    self._size = 0
                stream.write(line)
                # Counted here: TextIOWrapper.tell() costs more than writing the line.
                self._size += size
                self.entries_written += 1
                self.bytes_written += size

    def flush(self) -> None:
        with self._lock:
            self._file.stream.flush()

    def append(self, entries: list[dict[str, Any]]) -> None:
        """Write entries and flush them to the file before returning."""
        self.write(entries)
        self.flush()

    def files(self) -> list[Path]:
        """The log files, newest first: the live file, then .1, .2 ..."""
        return [self.path] + [Path(f"{self.path}.{n}") for n in range(1, self.backups + 1)]

    def _snapshot(self) -> list[tuple[BinaryIO, int]]:
        """Each log file that exists, open, with its size now; newest file first.

        Under the write lock, so that no rotation moves a file between two
        opens and no line is half written; the handles stay valid after a
        rotation renames their files (POSIX), and later writes lie past ``size``.
        """
        opened = []
        with self._lock:
            self._file.stream.flush()
            for path in self.files():
                try:
                    handle = open(path, "rb")
                except FileNotFoundError:
                    continue
                opened.append((handle, os.fstat(handle.fileno()).st_size))
        return opened

    def tail(self, limit: int = 100, service_name: str | None = None, min_level: int | None = None,
             trace_id: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` entries that match (by arrival), oldest first (by timestamp).

        Reads the files backwards, newest first, and stops as soon as it has
        enough or has scanned ``tail_bytes``: older entries are not found.
        """
        filters = [needles for needles in (
            _needles("service_name", [service_name]) if service_name is not None else None,
            _needles("trace_id", [trace_id]) if trace_id is not None else None,
            _needles("level", [name for name, number in LEVELS.items() if number >= min_level])
            if min_level is not None else None,
        ) if needles is not None]
        found: list[dict[str, Any]] = []
        budget = self.tail_bytes
        files = self._snapshot()
        try:
            for handle, size in files:
                for block in _reversed_blocks(handle, size):
                    budget -= len(block)
                    if budget < 0:
                        return _by_time(found)
                    # A 64 KiB block without the filters' text is skipped whole: a scan
                    # that matches nothing runs at about 1 GB/s, not 120 MB/s line by line.
                    if not all(any(needle in block for needle in needles) for needles in filters):
                        continue
                    for line in reversed(block.split(b"\n")):
                        if not line or not all(any(needle in line for needle in needles) for needles in filters):
                            continue
                        try:
                            entry = json.loads(line)
                        except ValueError:
                            continue  # a torn line from a crash: skip it, keep the rest
                        if service_name is not None and entry.get("service_name") != service_name:
                            continue
                        if trace_id is not None and entry.get("trace_id") != trace_id:
                            continue
                        if min_level is not None and LEVELS.get(entry.get("level"), 0) < min_level:
                            continue
                        found.append({field: entry.get(field) for field in FIELDS})
                        if len(found) >= limit:
                            return _by_time(found)
            return _by_time(found)
        finally:
            for handle, _ in files:
                handle.close()

    def close(self) -> None:
        with self._lock:
            self._file.close()
