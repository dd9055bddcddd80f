"""The log file: one JSON object a line, append-only, rotated by size.

JSON Lines because people can read it and programs parse it, and because
JSON escapes every newline and control character in a message, so no
message can forge an entry. Rotation is the stdlib's
``RotatingFileHandler.doRollover`` (``file``, ``file.1`` ... ``file.N``); the
file is created with mode 0600 (and so is each new one after a rotation).

An entry counts as stored only once its line is in the file. ``write``
keeps a request's entries aside (per thread) and ``flush`` makes their lines
(leaving repeats out) and writes them with one ``os.write``; when that fails (a full disk) the file is cut back to its
last whole line, only the entries before it count as stored, and ``flush``
raises ``WriteFailed``: the log service then answers the batch with an error,
and its shipper sends it again (``marks.py`` makes that store nothing twice).

A read never makes a write wait: it holds the write lock only to open the
files (microseconds), then reads without it, and scans at most
``tail_bytes``: ``tail`` backwards from the newest entry, ``follow``
forwards from a cursor (``cursor.py``).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging.handlers
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from ..observability.log_entries import FIELDS
from . import marks as saved_marks
from .cursor import LogFile, cursor_at, find
from .marks import Marks
from .matching import Query

# The shippers' marks are saved at least every this many bytes of log (and at each
# rotation): the most a start reads to learn how far each shipper got.
CHECKPOINT_BYTES = 4 << 20
# An entry's shipper id, as ``_line`` writes it: last in its line, so a message cannot fake it.
_ENTRY_ID = re.compile(rb'"entry_id": "' + saved_marks.ENTRY_ID.pattern.encode() + rb'"}$', re.MULTILINE)


# Rotated files the log keeps at least. With none, the stdlib's rollover reopens the same file and
# the log grows without bound; with one, a rotation on a full disk (its marks not saved) would delete
# the file the saved marks name (see ``_rotate``).
MIN_BACKUPS = 2

# How much of the log one Log.tail (or Log.follow) may scan. Measured on 2 cores, 16 MiB takes
# 10 ms when a filter's text is in no block (skipped whole) and 150 ms in the worst case
# (its text in every block: each line checked). A tail of every rotated file (60 MiB by
# default) took 0.85 s per 500k lines, under the write lock: 8 tail loops held writes
# back for 8-9 s and the registry marked the log service critical.
TAIL_BYTES = 16 << 20


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """The stdlib's rotating file, but every file it opens is created 0600."""

    def _open(self) -> io.TextIOWrapper:
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


def _forward_blocks(
    handle: BinaryIO, start: int, end: int, *, live: bool, block: int = 64 * 1024
) -> Iterator[tuple[int, bytes]]:
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


# json.dumps(ensure_ascii=False)'s own string encoder (C): _line makes the bytes json.dumps
# would write for these fields without its set-up for each call, which was a quarter of the
# log service's own work per entry (cProfile of 1,000-entry batches, in-process).
_text = json.encoder.encode_basestring


def _line(entry: dict[str, Any]) -> bytes:
    """The file's line for an entry: ``json.dumps`` of its fields, then a newline."""
    get = entry.get
    service, trace, entry_id = get("service_name"), get("trace_id"), get("entry_id")
    text: Any = _text  # typed for str; its TypeError for anything else is what sends a line to json.dumps
    try:
        # Timestamp, level and message are text in every entry Log.write takes; anything else
        # (None included) makes _text raise TypeError, and json.dumps writes that line.
        fields = (
            f'{{"timestamp": {text(get("timestamp"))}, "level": {text(get("level"))}, '
            f'"service_name": {"null" if service is None else text(service)}, '
            f'"trace_id": {"null" if trace is None else text(trace)}, "message": {text(get("message"))}'
        )
        end = f', "entry_id": {text(entry_id)}}}\n' if entry_id else "}\n"
        return (fields + end).encode("utf-8")
    except (TypeError, UnicodeEncodeError):
        return _line_by_json(entry)


def _line_by_json(entry: dict[str, Any]) -> bytes:
    """The file's line for an entry with values other than text (or text UTF-8 cannot carry)."""
    line = json.dumps(_fields(entry), ensure_ascii=False) + "\n"
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError:
        # JSON text may hold a lone surrogate ("\\ud800"); UTF-8 cannot. Stored escaped, the
        # entry is kept (a notification has nobody to tell of a rejection) and the file stays UTF-8.
        line = json.dumps({key: _escaped(value) for key, value in _fields(entry).items()}, ensure_ascii=False) + "\n"
        return line.encode("utf-8")


class WriteFailed(OSError):
    """Entries could not be written to the log file (a full disk): they are not stored, nor remembered."""


def _by_time(entries: list[dict[str, Any]], *, newest_first: bool = False) -> list[dict[str, Any]]:
    """Oldest first, entries of the same moment in arrival order. Services ship in batches,
    so the file's order is arrival order; ``newest_first``: they were read backwards."""
    if newest_first:
        entries.reverse()
    entries.sort(key=lambda e: str(e.get("timestamp") or ""))
    return entries


class LogStore:
    """Appends entries to the log file and finds the newest matching ones."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = 10 << 20,
        backups: int = 5,
        tail_bytes: int = TAIL_BYTES,
        marks: Marks | None = None,
    ):
        if isinstance(backups, bool) or not isinstance(backups, int) or backups < MIN_BACKUPS:
            raise ValueError(f"backups must be a whole number of at least {MIN_BACKUPS}, not {backups!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = _PrivateRotatingFile(
            self.path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=False
        )
        # An existing file made by something else keeps its own mode; ours is private.
        os.chmod(self.path, 0o600)
        self.max_bytes = max_bytes
        self.backups = backups
        #: How much of the newest log one ``tail`` may scan, in bytes.
        self.tail_bytes = tail_bytes
        #: Where the shippers' marks are saved (``marks.py``).
        self.marks_path = self.path.with_name(self.path.name + ".marks")
        self._size = self.path.stat().st_size
        #: Entries and bytes written since this store opened (GET /metrics).
        self.entries_written = 0
        self.bytes_written = 0
        #: Writes to the file that failed (a full disk), since this store opened.
        self.failed_writes = 0
        self._lock = threading.Lock()
        # Each request's lines until its flush, and a failure to write them that it was not told of yet.
        self._local = threading.local()
        #: Each shipper's highest entry number stored (see ``marks.py``).
        self.marks = marks or Marks()
        # Bytes written since the marks were last saved.
        self._unsaved = 0
        # A write that failed left part of a line that could not be cut off: end it before the next.
        self._torn = False
        self._end_torn_line()
        self._recover_marks()

    def _fd(self) -> int:
        """The live file's descriptor (opened again if a failed rotation left none)."""
        if self._file.stream is None:
            self._file.stream = self._file._open()
        return self._file.stream.fileno()

    def _live_size(self) -> int:
        """Under the lock: the live file's size (0 while it cannot be opened: the next write tries again)."""
        try:
            return os.fstat(self._fd()).st_size
        except OSError:
            return 0

    def _end_torn_line(self) -> None:
        """End a last line a crash cut short, so the next entry does not join it (and go unread with it)."""
        if not self._size:
            return
        with open(self.path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) == b"\n":
                return
        with self._lock:
            self._torn = True
            with contextlib.suppress(OSError):  # the first write tries again
                self._end_torn()

    def _end_torn(self) -> None:
        """Under the lock: a newline after a torn last line; OSError if it cannot be written."""
        if self._torn and os.write(self._fd(), b"\n") == 1:
            self._torn = False
            self._size += 1

    def _recover_marks(self) -> None:
        """After a restart: how far each shipper got, from the saved marks and the log written after them.

        Without saved marks (or when the file they name is gone), every file the log keeps is read.
        """
        checkpoint = saved_marks.load(self.marks_path)
        files = self._snapshot()
        try:
            index, offset = len(files) - 1, 0
            if checkpoint is not None:
                self.marks.load(checkpoint.marks)
                for position, file in enumerate(files):
                    if file.identity == checkpoint.identity and file.size >= checkpoint.offset:
                        index, offset = position, checkpoint.offset
                        break
            for file in reversed(files[: index + 1]):
                for _, block in _forward_blocks(file.handle, offset, file.size, live=False):
                    for match in _ENTRY_ID.finditer(block):
                        self.marks.advance(match[1].decode(), int(match[2]), recovering=True)
                offset = 0
        finally:
            _close(files)

    def write(self, entries: list[dict[str, Any]]) -> None:
        """Take validated entries; this thread's ``flush()`` writes them to the file.

        An entry with an ``entry_id`` its shipper already sent is stored once only.
        """
        pending = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = []
        pending.extend(entries)

    def flush(self) -> None:
        """Write this thread's entries to the file.

        ``WriteFailed`` if some could not be written, now or when a read of
        this thread wrote them: those are not stored (send them again).
        """
        failed = self._write_pending()
        if failed is not None:
            raise WriteFailed(failed.errno, f"the log file could not be written: {failed.strerror or failed}")

    def append(self, entries: list[dict[str, Any]]) -> None:
        """Write entries to the file before returning (``WriteFailed`` if it cannot)."""
        try:
            self._commit(entries)
        except OSError as exc:
            raise WriteFailed(exc.errno, f"the log file could not be written: {exc.strerror or exc}") from exc

    def _write_pending(self) -> OSError | None:
        """Write this thread's entries; the failure to report for them (also an earlier one), if any."""
        local = self._local
        pending, local.pending = getattr(local, "pending", None), None
        failed, local.failed = getattr(local, "failed", None), None
        if pending:
            try:
                self._commit(pending)
            except OSError as exc:
                failed = exc
        return failed

    def _commit(self, entries: list[dict[str, Any]]) -> None:
        """Write the entries that are not repeats; OSError when the file refused some.

        The lines written before a failure are stored and remembered; the others are neither.
        """
        with self._lock:
            self.marks.new_batch()
            self._end_torn()
            chunk = bytearray()
            ends: list[tuple[int, str | None, int]] = []
            # Each shipper's highest number stored or in the chunk so far: a batch holds one
            # shipper's entries many times, and the marks are asked once for each shipper.
            ahead: dict[str, int] = {}
            for entry in entries:
                entry_id = entry.get("entry_id")
                if entry_id:
                    origin, number = saved_marks.parse(entry_id)
                    highest = ahead.get(origin)
                    if highest is None:
                        highest = self.marks.stored_up_to(origin)
                    if number <= highest:
                        continue
                    ahead[origin] = number
                else:
                    origin, number = None, 0
                data = _line(entry)
                filled = self._size + len(chunk)
                if self.max_bytes and filled and filled + len(data) > self.max_bytes:
                    self._write_out(chunk, ends)
                    chunk, ends = bytearray(), []
                    self._rotate()
                chunk += data
                ends.append((len(chunk), origin, number))
            self._write_out(chunk, ends)
            if self._unsaved >= CHECKPOINT_BYTES:
                # On failure the marks saved before still name a file the log keeps: it is read from there.
                with contextlib.suppress(OSError):
                    self._save_marks()

    def _write_out(self, chunk: bytearray, ends: list[tuple[int, str | None, int]]) -> None:
        """Under the lock: append ``chunk`` (whole lines) to the live file, and remember what reached it.

        ``ends``: where each line of the chunk ends, and its shipper's id.
        """
        if not chunk:
            return
        fd, written = self._fd(), 0
        # The file's own size, not the running count: a rotation that failed half-way (or anything
        # else) may have left them apart, and cutting back by a wrong count would cut stored lines
        # off the file, or pad it with NULs. The file is O_APPEND and only written under the lock.
        start = os.fstat(fd).st_size
        view = memoryview(chunk)
        try:
            while written < len(chunk):
                count = os.write(fd, view[written:])
                if count <= 0:
                    raise OSError(28, os.strerror(28))
                written += count
        except OSError:
            self.failed_writes += 1
            whole = chunk.rfind(b"\n", 0, written) + 1
            self._size = self._cut(fd, start + whole, start + written)
            self._stored(ends, whole)
            raise
        self._size = start + written
        self._stored(ends, written)

    def _cut(self, fd: int, keep: int, end: int) -> int:
        """Under the lock: drop the part of a line a failed write left after byte ``keep``; the file's size."""
        if keep == end:
            return end
        try:
            os.ftruncate(fd, keep)
        except OSError:
            self._torn = True  # ended by a newline before the next write
            return end
        return keep

    def _stored(self, ends: list[tuple[int, str | None, int]], upto: int) -> None:
        """Under the lock: the lines of a chunk that ended by byte ``upto`` are in the file."""
        # Each shipper's mark moves once, to its highest number stored: its numbers only
        # grow within a chunk (repeats were left out), and a mark keeps the highest anyway.
        highest: dict[str, int] = {}
        stored = 0
        for end, origin, number in ends:
            if end > upto:
                break
            if origin is not None:
                highest[origin] = number
            stored += 1
        for origin, number in highest.items():
            self.marks.advance(origin, number)
        self.entries_written += stored
        self._unsaved += upto
        self.bytes_written += upto

    def _save_marks(self) -> None:
        """Under the lock: save the marks with the place they cover the log up to (the live file's end).

        The file is synced first: saved marks must never be ahead of the lines they count.
        """
        fd = self._fd()
        os.fsync(fd)
        status = os.fstat(fd)
        saved_marks.save(
            self.marks_path,
            saved_marks.Checkpoint(f"{status.st_dev}:{status.st_ino}", status.st_size, self.marks.to_json()),
        )
        self._unsaved = 0

    def _rotate(self) -> None:
        """Under the lock: save the marks, then rotate (OSError if the rotation fails).

        Saved first: a batch rotated into an old file, or out of the log, is still known after a restart.
        """
        try:
            self._save_marks()
            saved = True
        except OSError:
            # A full disk: rotate anyway, since deleting the oldest backup is what frees room.
            # The marks saved last still name a file kept after this rotation: every rotation
            # saves them (or tries again just after, below), so they name the live file (a
            # save every CHECKPOINT_BYTES) or the one the last rotation made .1, which this one
            # makes .1 or .2; the store keeps both (at least 2 backups). A restart reads on from there.
            saved = False
        try:
            self._file.doRollover()
        finally:
            # What the file holds now (not 0): a rollover that failed half-way may have left the old file.
            self._size = self._live_size()
        if not saved:
            with contextlib.suppress(OSError):
                self._save_marks()  # the oldest backup is gone: most likely there is room now

    def files(self) -> list[Path]:
        """The log files, newest first: the live file, then .1, .2 ..."""
        return [self.path] + [Path(f"{self.path}.{n}") for n in range(1, self.backups + 1)]

    def _snapshot(self) -> list[LogFile]:
        """Each log file that exists, open, with its size now; newest file first.

        Under the write lock, so that no rotation moves a file between two
        opens and no line is half written; the handles stay valid after a
        rotation renames their files (POSIX), and later writes lie past ``size``.
        """
        # This thread's own entries first (a batch may write, then read); a failure is told at its flush.
        failed = self._write_pending()
        if failed is not None:
            self._local.failed = failed
        opened = []
        with self._lock:
            for path in self.files():
                try:
                    handle = open(path, "rb")  # noqa: SIM115 (closed by the caller, with _close)
                except FileNotFoundError:
                    continue
                opened.append(LogFile.open(handle))
        return opened

    def tail(
        self,
        limit: int = 100,
        service_name: str | None = None,
        min_level: int | None = None,
        trace_id: str | None = None,
        since: str | None = None,
    ) -> list[dict[str, Any]]:
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

    def follow(
        self,
        cursor: str | None,
        limit: int = 100,
        service_name: str | None = None,
        min_level: int | None = None,
        trace_id: str | None = None,
        since: str | None = None,
    ) -> Page:
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
                # No file was deleted while there is room for another backup: until then
                # an inode cannot have been reused for a newer file.
                index, offset = find(cursor, files, all_kept=len(files) <= self.backups)
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
            # On failure the next start reads the log from the marks saved before.
            with contextlib.suppress(OSError, ValueError):
                self._save_marks()  # the next start then reads nothing of the log
            self._file.close()


def _close(files: list[LogFile]) -> None:
    for file in files:
        file.handle.close()
