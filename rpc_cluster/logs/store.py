"""The log file: one JSON object a line, append-only, rotated by size.

JSON Lines because people can read it and programs parse it, and because
JSON escapes every newline and control character in a message, so no
message can forge an entry. Rotation is the stdlib's
``RotatingFileHandler.doRollover`` (``file``, ``file.1`` ... ``file.N``); the
file is created with mode 0600 (and so is each new one after a rotation).

A read never makes a write wait: it holds the write lock only to flush and
open the files (microseconds), then reads without it, and scans at most
``tail_bytes``: ``tail`` backwards from the newest entry, ``follow``
forwards from a cursor (``cursor.py``).
"""

from __future__ import annotations

import json
import logging.handlers
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO, Iterator, NamedTuple

from ..log_entries import FIELDS
from .cursor import LogFile, cursor_at, find
from .matching import Query

# Shippers whose progress is remembered (one number each); the oldest is forgotten first.
MAX_SHIPPERS = 10_000
# How much of the newest log is read at start to learn how far each shipper got.
REMEMBER_BYTES = 4 << 20


# How much of the log one Log.tail (or Log.follow) may scan. Measured on 2 cores, 16 MiB takes
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


def _forward_blocks(handle: BinaryIO, start: int, end: int, *, live: bool,
                    block: int = 64 * 1024) -> Iterator[tuple[int, bytes]]:
    """The file from byte ``start`` to ``end`` in blocks of whole lines, first block first: (end offset, block).

    Bytes after the last newline are a line torn by a crash: a block of their
    own in a rotated file (read past, to reach the newer files), not given at
    all in the ``live`` file (writes after the crash complete that line).
    """
    position, rest = start, b""
    while position < end:
        chunk = os.pread(handle.fileno(), min(block, end - position), position)
        if not chunk:
            break
        position += len(chunk)
        data = rest + chunk
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut:
            yield position - len(rest), data[:cut]
    if rest and not live:
        yield position, rest


class Page(NamedTuple):
    """What one ``follow`` read: the entries, where to go on from, whether it stopped early."""

    entries: list[dict[str, Any]]
    cursor: str | None
    #: True when the page stopped at ``limit`` or at the read budget: more may follow at once.
    more: bool


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


def _by_time(entries: list[dict[str, Any]], *, newest_first: bool = False) -> list[dict[str, Any]]:
    """Oldest first, entries of the same moment in arrival order. Services ship in batches,
    so the file's order is arrival order; ``newest_first``: they were read backwards."""
    if newest_first:
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
        self._end_torn_line()
        self._remember_stored()

    def _end_torn_line(self) -> None:
        """End a last line a crash cut short, so the next entry does not join it (and go unread with it)."""
        if not self._size:
            return
        with open(self.path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) == b"\n":
                return
        with self._lock:
            self._file.stream.write("\n")
            self._file.stream.flush()
            self._size += 1

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

    def _snapshot(self) -> list[LogFile]:
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
                opened.append(LogFile.open(handle))
        return opened

    def tail(self, limit: int = 100, service_name: str | None = None, min_level: int | None = None,
             trace_id: str | None = None, since: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` entries that match (by arrival), oldest first (by timestamp).

        Reads the files backwards, newest first, and stops as soon as it has
        enough or has scanned ``tail_bytes``: older entries are not found.
        """
        files = self._snapshot()
        try:
            return self._tail(files, limit, Query(service_name, min_level, trace_id, since))
        finally:
            _close(files)

    def _tail(self, files: list[LogFile], limit: int, query: Query) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        budget = self.tail_bytes
        for file in files:
            for block in _reversed_blocks(file.handle, file.size):
                budget -= len(block)
                if budget < 0:
                    return _by_time(found, newest_first=True)
                if not query.may_hold(block):
                    continue
                for line in reversed(block.split(b"\n")):
                    entry = query.match(line)
                    if entry is not None:
                        found.append(entry)
                        if len(found) >= limit:
                            return _by_time(found, newest_first=True)
        return _by_time(found, newest_first=True)

    def follow(self, cursor: str | None, limit: int = 100, service_name: str | None = None,
               min_level: int | None = None, trace_id: str | None = None, since: str | None = None) -> Page:
        """The entries written after ``cursor``, at most ``limit``, and the cursor to pass next.

        Without a cursor: the newest ``limit`` matching entries (as ``tail``)
        and a cursor at the end of the log; with ``since`` too, every entry
        newer than it, from the oldest file kept on (nothing newer is skipped).
        With a cursor: the matching entries after it, reading forwards through
        the rotated files into the live one. Reading forwards takes at most
        ``tail_bytes`` per call (``more`` then says to call again).
        Each page is oldest first (by timestamp). ``CursorError`` for a cursor
        that names no file this log keeps.
        """
        query = Query(service_name, min_level, trace_id, since)
        files = self._snapshot()
        try:
            if cursor is None and since is None:
                entries = self._tail(files, limit, query)
                return Page(entries, cursor_at(files, 0, files[0].size) if files else None, False)
            if cursor is None:
                if not files:
                    return Page([], None, False)
                index, offset = len(files) - 1, 0  # since filters the old lines (cheaply: by their first bytes)
            else:
                index, offset = find(cursor, files)
            found: list[dict[str, Any]] = []
            budget = self.tail_bytes
            while True:
                file = files[index]
                for end, block in _forward_blocks(file.handle, offset, file.size, live=index == 0):
                    # At most tail_bytes a call, and at least one block (a line may be longer).
                    if len(block) > budget and budget < self.tail_bytes:
                        return Page(_by_time(found), cursor_at(files, index, offset), True)
                    budget -= len(block)
                    if query.may_hold(block):
                        start = end - len(block)
                        for line in block.split(b"\n"):
                            start += len(line) + 1
                            entry = query.match(line)
                            if entry is not None:
                                found.append(entry)
                                if len(found) >= limit:
                                    return Page(_by_time(found), cursor_at(files, index, min(start, end)), True)
                    offset = end
                if index == 0:
                    return Page(_by_time(found), cursor_at(files, 0, offset), False)
                index, offset = index - 1, 0
        finally:
            _close(files)

    def close(self) -> None:
        with self._lock:
            self._file.close()


def _close(files: list[LogFile]) -> None:
    for file in files:
        file.handle.close()
