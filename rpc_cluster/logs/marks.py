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

The table is bounded, and made-up shipper names cannot crowd a real shipper
out. A shipper's mark is *new* until it moves in a second batch, then
*established*. One batch adds at most ``NEW_PER_BATCH`` new shippers (a real
batch comes from one shipper; the rest are ``refused``: stored, not
remembered). When the table is full, the mark forgotten (``evicted``) is an
established one not moved for ``KEEP_SECONDS`` (no resend can still come for
it), else the least recently moved new one: established marks never fill
more than the table less ``PROBATION`` places, so a shipper new to it is
always remembered, until ``PROBATION`` newer shippers have come after it.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

# Shippers whose marks are remembered (one number each).
MAX_SHIPPERS = 10_000
# Places only new shippers take: how many made-up names must come after a real new shipper to push it out.
PROBATION = 2_000
# New shippers one batch may add: a shipper's batch holds its own entries only, so a real one adds one.
NEW_PER_BATCH = 4
#: An ``entry_id`` ("SHIPPER:NUMBER"): what ``Log.write`` accepts and what a start reads back from the log.
ENTRY_ID = re.compile(r"([A-Za-z0-9._-]{1,40}):([0-9]{1,18})")
# A mark is kept at least this long after its shipper's last batch. A shipper
# sends a batch again after at most 5 s of backoff plus its 5 s timeout while
# the log service answers; this covers an outage between it and us of minutes.
KEEP_SECONDS = 600.0


def parse(entry_id: str) -> tuple[str, int]:
    """(shipper, number) of a checked ``entry_id`` ("SHIPPER:NUMBER")."""
    origin, _, number = entry_id.rpartition(":")
    return origin, int(number)


class Marks:
    """Each shipper's highest entry number stored, new and established ones apart, the least recently moved first."""

    def __init__(
        self,
        *,
        limit: int = MAX_SHIPPERS,
        probation: int = PROBATION,
        new_per_batch: int = NEW_PER_BATCH,
        keep_seconds: float = KEEP_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        if not 1 <= probation <= limit:
            raise ValueError(f"probation must be from 1 to the limit ({limit}), not {probation}")
        self.limit = limit
        self.probation = probation
        self.new_per_batch = new_per_batch
        self.keep_seconds = keep_seconds
        self._clock = clock
        # Seen in one batch only: shipper -> (highest number stored, when it last moved, its batch).
        self._new: OrderedDict[str, tuple[int, float, int]] = OrderedDict()
        # Moved in two batches or more: shipper -> (highest number stored, when it last moved).
        self._established: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._batch = 0
        self._added = 0
        #: New shippers not remembered because their batch had added ``new_per_batch`` already.
        self.refused = 0
        #: Marks forgotten to make room for another shipper.
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._new) + len(self._established)

    def new_batch(self) -> None:
        """The marks that move from now on move in another batch (the store calls it once per write)."""
        self._batch += 1
        self._added = 0

    def stored_up_to(self, origin: str) -> int:
        """The highest number stored from ``origin`` (0: none that is remembered)."""
        mark = self._established.get(origin) or self._new.get(origin)
        return mark[0] if mark else 0

    def advance(self, origin: str, number: int, *, recovering: bool = False) -> None:
        """Remember that ``origin`` has its entries up to ``number`` stored.

        ``recovering``: read back from the file at start, where the newest
        shippers in the file win (no batch to bound: it was before the restart).
        """
        now = self._clock()
        if origin in self._established:
            self._established[origin] = (max(number, self._established[origin][0]), now)
            self._established.move_to_end(origin)
        elif origin in self._new:
            highest, _, batch = self._new[origin]
            if batch != self._batch and self._room_to_establish(now):
                del self._new[origin]
                self._established[origin] = (max(number, highest), now)
            else:
                self._new[origin] = (max(number, highest), now, batch)
                self._new.move_to_end(origin)
        elif not recovering and self._added >= self.new_per_batch:
            self.refused += 1
        else:
            self._added += 1
            if len(self) >= self.limit:
                self._evict(now)
            self._new[origin] = (number, now, self._batch)

    def _room_to_establish(self, now: float) -> bool:
        """Whether one more established mark fits (forgetting one not moved for ``keep_seconds``)."""
        if len(self._established) < self.limit - self.probation:
            return True
        return self._evict_stale(now)

    def _evict_stale(self, now: float) -> bool:
        """Forget the least recently moved established mark if no resend can come for it any more."""
        if self._established:
            origin, (_, moved) = next(iter(self._established.items()))
            if now - moved >= self.keep_seconds:
                del self._established[origin]
                self.evicted += 1
                return True
        return False

    def _evict(self, now: float) -> None:
        """Make room for one mark: a stale established one, else the least recently moved new one."""
        if not self._evict_stale(now):
            self._new.popitem(last=False)
            self.evicted += 1

    def to_json(self) -> list[list[Any]]:
        """The marks, least recently moved first: [shipper, number, moved, established]."""
        return [
            *([origin, number, moved, False] for origin, (number, moved, _) in self._new.items()),
            *([origin, number, moved, True] for origin, (number, moved) in self._established.items()),
        ]

    def load(self, saved: Any) -> None:
        """Take the marks of ``to_json()`` (anything else is ignored: the scan of the log follows).

        A mark saved without its fourth item (by an older version) counts as established.
        """
        if not isinstance(saved, list):
            return
        for item in saved[-self.limit :]:
            if (
                isinstance(item, list)
                and len(item) in (3, 4)
                and isinstance(item[0], str)
                and isinstance(item[1], int)
                and isinstance(item[2], (int, float))
            ):
                origin, number, moved = item[0], item[1], float(item[2])
                self._new.pop(origin, None)
                self._established.pop(origin, None)
                if (len(item) == 3 or item[3] is True) and len(self._established) < self.limit - self.probation:
                    self._established[origin] = (number, moved)
                else:
                    self._new[origin] = (number, moved, self._batch)


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
