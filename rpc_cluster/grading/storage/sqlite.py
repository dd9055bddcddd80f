"""The default store: one SQLite file, in WAL mode, one connection per thread.

WAL lets readers run while one thread writes. ``synchronous=FULL`` makes
every commit reach the disk before the grade is acknowledged, so a power
cut loses nothing either (a killed process loses nothing even without it).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .. import search
from ..accounts.store import AccountStore
from ..gradebook.scores import INSERTED
from ..schema import sqlite as sqlite_schema
from .protocol import SqlRow
from .sql_writes import SqlGradeStore, Transaction, like_pattern, seed

T = TypeVar("T")

# One word (LIKE: a word too short for the trigram index) in the folded first or last name;
# then the same over names without keys, folded as they are read. "\\" escapes LIKE's wildcards.
_FOLDED_HAS = "(s.first_key LIKE ? ESCAPE '\\' OR s.last_key LIKE ? ESCAPE '\\')"
_UNFOLDED_HAS = "(grading_fold(s.first_name) LIKE ? ESCAPE '\\' OR grading_fold(s.last_name) LIKE ? ESCAPE '\\')"


def _create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite takes an empty file as a new database).

    Grades are as private as the log. Created so rather than chmod after SQLite made it
    (a moment readable by all) or under a changed umask (process-wide: other threads'
    files would get it too). SQLite gives the -wal and -shm files it creates the mode
    of the database file. An existing file keeps the mode its owner chose.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class _Transaction:
    """A SQLite connection as ``sql_writes.Transaction``."""

    # A write transaction (BEGIN IMMEDIATE) holds the whole file: nothing to lock row by row.
    locking = ""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[SqlRow]:
        # fetchall(), not fetchone(): a statement ends only when its rows are exhausted, so
        # each one here is finished (a write's RETURNING too) before the next one runs.
        return self._conn.execute(sql, args).fetchall()

    def insert_rows(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(columns))
        self._conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def insert_grades(self, grades: list[tuple[Any, ...]]) -> list[int]:
        # The write transaction holds the file and AUTOINCREMENT only counts up: the rows
        # past the largest id before are these, in order.
        before = self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM grades").fetchone()[0]
        self.insert_rows("grades", INSERTED, list(grades))
        return [gid for (gid,) in self._conn.execute("SELECT id FROM grades WHERE id > ? ORDER BY id", (before,))]


class SqliteStore(SqlGradeStore):
    name_order = "s.last_name COLLATE NOCASE, s.first_name COLLATE NOCASE, s.id"
    no_limit = -1

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _create_private(self.path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        # Commits made through this store, counted after they commit (see change_token).
        self._writes = 0
        self._all_lock = threading.Lock()
        #: Users, sessions and failed sign-ins over this store's connections.
        self.accounts = AccountStore(self._transaction, self._read)
        conn = self._conn()
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            with conn:
                conn.execute("BEGIN IMMEDIATE")  # one process seeds, even if two start at once
                self._names_indexed = sqlite_schema.open_schema(conn)
                seed(_Transaction(conn))
        except BaseException:
            # A store that failed to open (a migration refused, a newer file) holds no connection.
            self.close()
            raise

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            # Up to 32 MiB of pages a connection (the default is 2 MiB), taken only as used: an import of
            # 50,000 grades updates four indexes of grades and the totals, and with the default cache it
            # spent most of its time reading back pages it had just written (2.7 s against 1.1 s here).
            conn.execute("PRAGMA cache_size=-32768")
            # For the students whose names were changed by plain SQL (see _matching).
            conn.create_function("grading_fold", 1, search.fold, deterministic=True)
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def _transaction(self, write: Callable[[Transaction], T]) -> T:
        conn = self._conn()
        # IMMEDIATE takes the write lock at once: two instances with one request_id queue here.
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = write(_Transaction(conn))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            # Counted after the commit: the student cache must not keep what came before it.
            self._writes += 1
        return result

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[SqlRow]:
        return self._conn().execute(sql, args).fetchall()

    def _matching(self, query: str) -> tuple[str, tuple[Any, ...]]:
        folded = search.folded_words(query)
        indexed = [word for word in folded if self._names_indexed and len(word) >= sqlite_schema.INDEXED_QUERY]
        found: list[str] = []
        args: list[str] = []
        if indexed:
            # One FTS5 phrase a word: its trigrams in a row, within one column (a substring).
            found.append("s.id IN (SELECT rowid FROM student_keys WHERE student_keys MATCH ?)")
            args.append(" AND ".join('"' + word.replace('"', '""') + '"' for word in indexed))
        for word in folded:
            if word not in indexed:
                found.append(_FOLDED_HAS)
                args += [like_pattern(word)] * 2
        # Students without keys (renamed by plain SQL since the start): few, through their index.
        unfolded = ["s.first_key IS NULL"] + [_UNFOLDED_HAS] * len(folded)
        args += [like_pattern(word) for word in folded for _ in (1, 2)]
        return (
            f"SELECT s.id FROM students s WHERE {' AND '.join(found) or 's.first_key IS NOT NULL'} "
            f"UNION ALL SELECT s.id FROM students s WHERE {' AND '.join(unfolded)}",
            tuple(args),
        )

    def change_token(self) -> object:
        # PRAGMA data_version changes when another connection (another thread, or
        # another process on this file) commits; our own connection's commits are
        # counted in _writes.
        conn = self._conn()
        return (id(conn), conn.execute("PRAGMA data_version").fetchone()[0], self._writes)

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
