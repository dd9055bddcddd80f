"""PostgreSQL through psycopg 3: one database shared by several grading instances.

Every instance reads and writes the same tables, so a grade added through
one is visible through the others at once. Schema creation and seeding run
under an advisory lock, so two instances starting together seed once.
"""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from ...client import retry
from .. import exactly_once, search
from . import postgres_schema
from .protocol import SEED, grade
from .sql_writes import SqlGradeStore

log = logging.getLogger("rpc_cluster.grading")

# Any constant: the lock that serializes schema creation and seeding.
_SEED_LOCK = 7_310_551
# What PostgreSQL answers when it rolled a transaction back whole to let another one go on:
# the same transaction may then simply run again.
_COLLIDED = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
# A student with the folded names that searches compare (postgres_schema.KEY_COLUMNS).
_ADD_STUDENT = "INSERT INTO students (first_name, last_name, first_key, last_key) VALUES (%s, %s, %s, %s) RETURNING id"

T = TypeVar("T")


def _student(first_name: str, last_name: str) -> tuple[str, str, str, str]:
    """_ADD_STUDENT's args."""
    return first_name, last_name, search.fold(first_name), search.fold(last_name)


def _check_alive(conn: psycopg.Connection) -> None:
    """The pool's check before handing out a connection: raise if the server has closed it.

    An idle connection has nothing to read; readable means the server sent its
    goodbye (pg_terminate_backend, a restart) or closed the socket. This costs
    one poll, where psycopg's own check_connection costs a round trip per query.
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("connection closed")
    readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    if readable:
        # Closed here, so the pool sees it broken and replaces it instead of keeping it.
        conn.close()
        raise psycopg.OperationalError("the server closed this connection while it was idle")


def _rows(cursor: psycopg.Cursor) -> list:
    # psycopg refuses fetchall() on a statement that returns no rows (UPDATE, DELETE).
    return cursor.fetchall() if cursor.description is not None else []


def _again_if_collided(attempt: Callable[[], T]) -> T:
    """``attempt()``'s result, running it again while PostgreSQL rolls it back for a collision.

    Safe because a deadlock or a serialization failure rolls back the whole
    transaction, its ``request_id`` claim included: nothing of it was stored.
    The totals triggers lock in a fixed order, so this is the rare case; the
    last failure is raised after ``retry.STORE_CONFLICT``'s attempts.
    """
    failures = 0
    for pause in retry.STORE_CONFLICT.pauses():
        time.sleep(pause)
        try:
            return attempt()
        except _COLLIDED as exc:
            failures += 1
            if failures == retry.STORE_CONFLICT.attempts:
                raise
            log.info("grading: %s; running the transaction again", str(exc).strip().splitlines()[0])
    raise AssertionError("unreachable: STORE_CONFLICT has a bounded number of attempts")


class _Transaction:
    """A PostgreSQL transaction as ``sql_store.Transaction``."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        return _rows(self.conn.execute(sql.replace("?", "%s"), args))

    def insert_grades(self, grades: list[tuple[int, str, str, float]]) -> None:
        with self.conn.cursor().copy("COPY grades (student_id, title, type, score) FROM STDIN") as copy:
            for row in grades:
                copy.write_row(row)


class PostgresStore(SqlGradeStore):
    waits_on_network = True
    name_order = 'lower(s.last_name) COLLATE "C", lower(s.first_name) COLLATE "C", s.id'
    count_sql = "SELECT n FROM student_count"
    # PostgreSQL orders NULLs last itself, and answers ranges of averages from these indexes.
    average_orders = MappingProxyType(
        {"average": "t.average ASC NULLS LAST, t.student_id", "-average": "t.average DESC NULLS LAST, t.student_id"}
    )
    graded_sql = "average IS NOT NULL"

    def __init__(self, url: str, *, pool_size: int = 8):
        self.url = url
        # Fail at start with the server's own message when the database is unreachable.
        with psycopg.connect(url, connect_timeout=5) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SEED_LOCK,))
            postgres_schema.create(conn)
            if conn.execute("SELECT COUNT(*) FROM students").fetchone()[0] == 0:
                for first, last, grades in SEED:
                    sid = conn.execute(_ADD_STUDENT, _student(first, last)).fetchone()[0]
                    for title, kind, score in grades:
                        conn.execute(
                            "INSERT INTO grades (student_id, title, type, score) VALUES (%s, %s, %s, %s)",
                            (sid, title, kind, score),
                        )
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True},
            open=True,
            name="grades",
            check=_check_alive,
        )

    def _read(self, sql: str, args: tuple) -> list[tuple]:
        """The rows of one read; once more on a fresh connection if the first one was dead.

        The pool's check catches connections the server closed while they sat idle;
        one that dies between the check and the query is retried here. Reads only:
        a write that failed may have committed.
        """
        for attempt in (1, 2):
            try:
                with self._pool.connection() as conn:
                    return conn.execute(sql.replace("?", "%s"), args).fetchall()
            except psycopg.OperationalError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def add_grade(
        self, student_id: int, title: str, type: str, score: float, request_id: str | None = None
    ) -> dict[str, Any] | None:
        def write(conn: psycopg.Connection) -> dict[str, Any] | None:
            row = conn.execute(
                "INSERT INTO grades (student_id, title, type, score) SELECT %s, %s, %s, %s "
                "WHERE EXISTS (SELECT 1 FROM students WHERE id = %s) RETURNING id, title, type, score",
                (student_id, title, type, score, student_id),
            ).fetchone()
            return grade(row) if row else None

        return self._write(request_id, "add_grade", (student_id, title, type, score), write)

    def add_student(self, first_name: str, last_name: str, request_id: str | None = None) -> dict[str, Any]:
        def write(conn: psycopg.Connection) -> dict[str, Any]:
            sid = conn.execute(_ADD_STUDENT, _student(first_name, last_name)).fetchone()[0]
            return {"id": sid, "first_name": first_name, "last_name": last_name, "average": None, "grades": []}

        return self._write(request_id, "add_student", (first_name, last_name), write)

    def _write(self, request_id: str | None, method: str, params: tuple, write: Any) -> Any:
        """One write, committed before it returns; done once per ``request_id``."""
        if request_id is not None:
            return self._transaction(request_id, method, params, lambda tx: write(tx.conn))

        def autocommitted() -> Any:
            with self._pool.connection() as conn:
                # Autocommit: the INSERT is committed (and durable) before it returns.
                return write(conn)

        return _again_if_collided(autocommitted)

    def _transaction(self, request_id: str | None, method: str, params: tuple, write: Any) -> Any:
        def attempt() -> Any:
            with self._pool.connection() as conn, conn.transaction():
                tx = _Transaction(conn)
                return exactly_once.once(tx.rows, request_id, method, params, lambda: write(tx))

        return _again_if_collided(attempt)

    def _matching(self, query: str) -> tuple[str, tuple]:
        self._fold_unfolded()
        return postgres_schema.hits(query)

    def _fold_unfolded(self) -> None:
        """Write the keys of students written by plain SQL since (a search compares keys only).

        SQL cannot run search.fold, so such a row has no keys (postgres_schema's
        trigger clears them on a rename). They are rare: usually this is one read
        of an empty partial index.
        """
        if not self._read(postgres_schema.UNFOLDED, ()):
            return

        def attempt() -> int:
            with self._pool.connection() as conn, conn.transaction():
                return postgres_schema.fold_names(conn)

        _again_if_collided(attempt)

    def close(self) -> None:
        self._pool.close()
