"""The log file: one JSON object a line, append-only, rotated by size.

JSON Lines because people can read it and programs parse it, and because
JSON escapes every newline and control character in a message, so no
message can forge an entry. Rotation is the stdlib's
``RotatingFileHandler.doRollover`` (``file``, ``file.1`` ... ``file.N``); the
file is created with mode 0600 (and so is each new one after a rotation).
"""

from __future__ import annotations

import json
import logging.handlers
import os
import threading
from pathlib import Path
from typing import Any, Iterator

from ..log_entries import FIELDS, LEVELS


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """The stdlib's rotating file, but every file it opens is created 0600."""

    def _open(self):  # type: ignore[override]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding="utf-8", errors="backslashreplace")


def _reversed_lines(path: Path, block: int = 64 * 1024) -> Iterator[bytes]:
    """The lines of a file, last first, reading it backwards in blocks."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return
    with handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        rest = b""
        while position > 0:
            size = min(block, position)
            position -= size
            handle.seek(position)
            chunk = handle.read(size) + rest
            lines = chunk.split(b"\n")
            rest = lines[0]
            for line in reversed(lines[1:]):
                if line:
                    yield line
        if rest:
            yield rest


def _escaped(value: Any) -> Any:
    """Text UTF-8 can carry: a lone surrogate ("\\ud800") becomes the six characters \\ud800."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(value, str) else value


def _line(entry: dict[str, Any]) -> tuple[str, int]:
    """The file's line for an entry, and its size in bytes."""
    line = json.dumps({field: entry.get(field) for field in FIELDS}, ensure_ascii=False) + "\n"
    if line.isascii():
        return line, len(line)
    try:
        return line, len(line.encode("utf-8"))
    except UnicodeEncodeError:
        # JSON text may hold a lone surrogate ("\\ud800"); UTF-8 cannot. Stored escaped, the
        # entry is kept (a notification has nobody to tell of a rejection) and the file stays UTF-8.
        line = json.dumps({field: _escaped(entry.get(field)) for field in FIELDS}, ensure_ascii=False) + "\n"
        return line, len(line.encode("utf-8"))


def _by_time(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Oldest first. Services ship in batches, so the file's order is arrival order."""
    entries.reverse()
    entries.sort(key=lambda e: str(e.get("timestamp") or ""))
    return entries


class LogStore:
    """Appends entries to the log file and finds the newest matching ones."""

    def __init__(self, path: str | os.PathLike, *, max_bytes: int = 10 << 20, backups: int = 5):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = _PrivateRotatingFile(self.path, maxBytes=max_bytes, backupCount=backups,
                                          encoding="utf-8", delay=False)
        # An existing file made by something else keeps its own mode; ours is private.
        os.chmod(self.path, 0o600)
        self.max_bytes = max_bytes
        self.backups = backups
        self._size = self.path.stat().st_size
        self._lock = threading.Lock()

    def write(self, entries: list[dict[str, Any]]) -> None:
        """Write validated entries; they reach the file at the latest on ``flush()``."""
        lines = [_line(entry) for entry in entries]
        with self._lock:
            stream = self._file.stream
            for line, size in lines:
                if self.max_bytes and self._size and self._size + size > self.max_bytes:
                    self._file.doRollover()
                    stream = self._file.stream
                    self._size = 0
                stream.write(line)
                # Counted here: TextIOWrapper.tell() costs more than writing the line.
                self._size += size

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

    def tail(self, limit: int = 100, service_name: str | None = None, min_level: int | None = None,
             trace_id: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` entries that match (by arrival), oldest first (by timestamp).

        Reads the rotated files too, newest first, stopping as soon as it has enough.
        """
        found: list[dict[str, Any]] = []
        with self._lock:
            # Flushed already; the lock only keeps a rotation from moving files mid-read.
            for path in self.files():
                for line in _reversed_lines(path):
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
                    found.append(entry)
                    if len(found) >= limit:
                        return _by_time(found)
        return _by_time(found)

    def close(self) -> None:
        with self._lock:
            self._file.close()
