"""How far each shipper got: what makes a batch sent again store each entry once.

A shipper numbers its entries in order under a name of its own
("SHIPPER:NUMBER") and sends a batch again only when it got no answer, so an
entry at or below the highest number stored from its shipper (its mark) is a
repeat: the batch arrived, its answer did not.

Marks are saved in ``FILE.marks`` (written whole, fsync'd, then renamed over
the old one) before every rotation and every few MiB of log, with the place
in the log they were taken at. After a restart, even a kill -9, the store
loads them and reads the log from that place on only: a batch rotated into
``FILE.N``, or rotated away, is still known, and the start reads a few MiB at
most whatever the size of the log.

The table is bounded. A mark is forgotten only when the table is full and it
is the least recently moved one, and not before ``KEEP_SECONDS`` have passed
since its shipper's last batch: a shipper that lost an answer sends the batch
again within seconds, so a flood of made-up shipper names cannot push out a
real shipper's mark while a resend may still come. While such a flood fills
the table, a shipper new to it is stored but not remembered (``crowded``).
"""

from __future__ import annotations

import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

# Shippers whose marks are remembered (one number each).
MAX_SHIPPERS = 10_000
# A mark is kept at least this long after its shipper's last batch. A shipper
# sends a batch again after at most 5 s of backoff plus its 5 s timeout while
# the log service answers; this covers an outage between it and us of minutes.
KEEP_SECONDS = 600.0


def parse(entry_id: str) -> tuple[str, int]:
    """(shipper, number) of a checked ``entry_id`` ("SHIPPER:NUMBER")."""
    origin, _, number = entry_id.rpartition(":")
    return origin, int(number)


class Marks:
    """Each shipper's highest entry number stored, the least recently moved first."""

    def __init__(
        self, *, limit: int = MAX_SHIPPERS, keep_seconds: float = KEEP_SECONDS, clock: Callable[[], float] = time.time
    ):
        self.limit = limit
        self.keep_seconds = keep_seconds
        self._clock = clock
        # shipper -> (highest number stored, when it last moved: seconds since the epoch)
        self._marks: OrderedDict[str, tuple[int, float]] = OrderedDict()
        #: Entries of a shipper new to a table full of recent marks: stored, not remembered.
        self.crowded = 0

    def __len__(self) -> int:
        return len(self._marks)

    def stored_up_to(self, origin: str) -> int:
        """The highest number stored from ``origin`` (0: none that is remembered)."""
        mark = self._marks.get(origin)
        return mark[0] if mark else 0

    def advance(self, origin: str, number: int, *, recovering: bool = False) -> None:
        """Remember that ``origin`` has its entries up to ``number`` stored.

        ``recovering``: read back from the file at start, where the newest
        shippers in the file win (no time to protect: it was before the restart).
        """
        now = self._clock()
        if origin in self._marks:
            self._marks[origin] = (max(number, self._marks[origin][0]), now)
            self._marks.move_to_end(origin)
            return
        if len(self._marks) >= self.limit:
            _, (_, moved) = next(iter(self._marks.items()))
            if not recovering and now - moved < self.keep_seconds:
                self.crowded += 1
                return
            self._marks.popitem(last=False)
        self._marks[origin] = (number, now)

    def to_json(self) -> list[list[Any]]:
        return [[origin, number, moved] for origin, (number, moved) in self._marks.items()]

    def load(self, saved: Any) -> None:
        """Take the marks of ``to_json()`` (anything else is ignored: the scan of the log follows)."""
        if not isinstance(saved, list):
            return
        for item in saved[-self.limit :]:
            if (
                isinstance(item, list)
                and len(item) == 3
                and isinstance(item[0], str)
                and isinstance(item[1], int)
                and isinstance(item[2], (int, float))
            ):
                self._marks[item[0]] = (item[1], float(item[2]))
                self._marks.move_to_end(item[0])


class Checkpoint(NamedTuple):
    """Saved marks, and the place in the log (a file's ``device:inode``, an offset) they cover up to."""

    identity: str
    offset: int
    marks: Any


def save(path: Path, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` so that a crash leaves the old one or the new one whole; OSError if it cannot."""
    temporary = path.with_name(path.name + ".tmp")
    data = json.dumps(
        {"identity": checkpoint.identity, "offset": checkpoint.offset, "marks": checkpoint.marks}
    ).encode()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def load(path: Path) -> Checkpoint | None:
    """The checkpoint saved at ``path``; None when there is none or it cannot be read."""
    try:
        saved = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if (
        not isinstance(saved, dict)
        or not isinstance(saved.get("identity"), str)
        or not isinstance(saved.get("offset"), int)
    ):
        return None
    return Checkpoint(saved["identity"], saved["offset"], saved.get("marks"))
