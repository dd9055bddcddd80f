"""Out of space: the one place where each database's "disk full" becomes ``StoreFull``.

SQLite says ``SQLITE_FULL`` ("database or disk is full"), or a disk I/O error
when a write other than the database's own (its WAL index, a truncate) met
ENOSPC; PostgreSQL says SQLSTATE 53100 (psycopg's ``DiskFull``). Either way the
failed transaction was rolled back, so the caller is told the store is out of
space (503) and may send the call again once there is room, instead of an
"Internal error" with a traceback in the log for every call.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from ...core.errors import StoreFull

log = logging.getLogger("rpc_cluster.grading")

# psycopg.errors.DiskFull's SQLSTATE, compared as text: a SQLite-only service never imports psycopg.
_DISK_FULL_SQLSTATE = "53100"
# A disk I/O error counts as out of space when less than this is left on the store's filesystem
# (ext4 keeps blocks back for root, so "available" may be 0 while a few MiB are free).
_NEARLY_FULL_BYTES = 1 << 20


def out_of_space(exc: BaseException, folder: Path | None = None) -> bool:
    """Whether ``exc`` is a database telling that its disk is full.

    ``folder``: where a SQLite store keeps its files; a disk I/O error there
    counts when that filesystem has (almost) no space left.
    """
    if getattr(exc, "sqlstate", None) == _DISK_FULL_SQLSTATE:
        return True
    if not isinstance(exc, sqlite3.Error):
        return False
    primary = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the extended code's low byte
    if primary == sqlite3.SQLITE_FULL:
        return True
    return primary == sqlite3.SQLITE_IOERR and folder is not None and _space_left(folder) < _NEARLY_FULL_BYTES


def refused(operation: str, exc: BaseException) -> StoreFull:
    """The StoreFull to raise for ``operation``, logged in one line (no traceback: nothing is broken)."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    log.error("grading: the store is out of space; %s stored nothing (%s)", operation, detail)
    return StoreFull()


def _space_left(folder: Path) -> int:
    try:
        usage = os.statvfs(folder)
    except OSError:
        return _NEARLY_FULL_BYTES  # cannot tell: not "full"
    return usage.f_bavail * usage.f_frsize
