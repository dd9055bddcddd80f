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
from ..accounts.store import AccountStore
from ..gradebook.scores import INSERTED
from ..schema import postgres as postgres_schema
from .protocol import SqlRow
from .sql_writes import SqlGradeStore, Transaction, seed

log = logging.getLogger("rpc_cluster.grading")

# Any constant: the lock that serializes schema creation and seeding.
_SEED_LOCK = 7_310_551
# What PostgreSQL answers when it rolled a transaction back whole to let another one go on:
# the same transaction may then simply run again.
_COLLIDED = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)

T = TypeVar("T")


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


def _rows(cursor: psycopg.Cursor[SqlRow]) -> list[SqlRow]:
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
    """A PostgreSQL connection as ``sql_writes.Transaction``."""

    # Other transactions write at the same time (READ COMMITTED): a row read to be changed is locked.
    locking = " FOR UPDATE"

    def __init__(self, conn: psycopg.Connection[SqlRow]):
        self.conn = conn

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[SqlRow]:
        return _rows(self.conn.execute(sql.replace("?", "%s"), args))

    def insert_grades(self, grades: list[tuple[Any, ...]]) -> list[int]:
        # The ids are taken from the sequence first, so COPY (one statement, and the totals
        # triggers once) can write them; sorted, so the file's order is the order of its ids.
        # The sequence looked up once: per row, the lookup took ten times as long as the nextval.
        sequence = self.conn.execute("SELECT pg_get_serial_sequence('grades', 'id')").fetchall()[0][0]
        ids = sorted(
            gid
            for (gid,) in self.conn.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", (sequence, len(grades))
            ).fetchall()
        )
        self.insert_rows(
            "grades",
            ("id", *INSERTED),
            [(gid, *row) for gid, row in zip(ids, grades, strict=True)],
        )
        return ids

    def insert_rows(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        # COPY: 50,000 audit entries took 0.9 s here, where INSERTs of 500 rows each took 4.7 s.
        with self.conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
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
            postgres_schema.open_schema(conn)
            seed(_Transaction(conn))
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True},
            open=True,
            name="grades",
            check=_check_alive,
        )
        #: Users, sessions and failed sign-ins over this store's connections.
        self.accounts = AccountStore(self._transaction, self._read)

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[SqlRow]:
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

    def _transaction(self, write: Callable[[Transaction], T]) -> T:
        def attempt() -> T:
            with self._pool.connection() as conn, conn.transaction():
                return write(_Transaction(conn))

        return _again_if_collided(attempt)

    def _matching(self, query: str) -> tuple[str, tuple[Any, ...]]:
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
