"""PostgreSQL through psycopg 3: one database shared by several grading instances.

Every instance reads and writes the same tables, so a grade added through
one is visible through the others at once. Schema creation and seeding run
under an advisory lock, so two instances starting together seed once.
"""

from __future__ import annotations

import logging
import select
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from . import requests
from .sql_store import FILL_TOTALS, RECOMPUTE, SqlGradeStore, like_pattern
from .store import SEED, grade

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS students (
    id BIGSERIAL PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS grades (
    id BIGSERIAL PRIMARY KEY,
    student_id BIGINT NOT NULL REFERENCES students(id),
    title TEXT NOT NULL,
    type TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS grades_by_student ON grades (student_id, id);
-- The C collation: names sort by code point after lower(), as on SQLite, whatever the locale.
CREATE INDEX IF NOT EXISTS students_by_name ON students
    ((lower(last_name) COLLATE "C"), (lower(first_name) COLLATE "C"), id);
CREATE TABLE IF NOT EXISTS student_totals (
    student_id BIGINT PRIMARY KEY REFERENCES students(id) ON DELETE CASCADE,
    grade_count BIGINT NOT NULL DEFAULT 0,
    score_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
    average DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS totals_by_average ON student_totals ((average IS NULL), average, student_id);
CREATE INDEX IF NOT EXISTS totals_by_average_desc ON student_totals ((average IS NULL), average DESC, student_id);
CREATE OR REPLACE FUNCTION students_keep_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO student_totals (student_id) SELECT id FROM added;
    RETURN NULL;
END $$;
-- Statement-level: an import (one COPY) updates each of its students' totals once, not once
-- per grade. Before recomputing, the totals rows are locked, and the recount is a statement
-- of its own, so under READ COMMITTED it sees every grade committed while it waited.
CREATE OR REPLACE FUNCTION grades_keep_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE student_totals SET grade_count = grade_count + a.n, score_sum = score_sum + a.total,
            average = (score_sum + a.total) / (grade_count + a.n)
        FROM (SELECT student_id, COUNT(*) AS n, SUM(score) AS total FROM added GROUP BY student_id) AS a
        WHERE student_totals.student_id = a.student_id;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM student_totals WHERE student_id IN (SELECT student_id FROM removed) FOR UPDATE;
        {RECOMPUTE} WHERE student_id IN (SELECT student_id FROM removed);
    ELSE
        PERFORM 1 FROM student_totals
            WHERE student_id IN (SELECT student_id FROM removed UNION SELECT student_id FROM added) FOR UPDATE;
        {RECOMPUTE} WHERE student_id IN (SELECT student_id FROM removed UNION SELECT student_id FROM added);
    END IF;
    RETURN NULL;
END $$;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'grades'::regclass AND tgname = 'grade_added') THEN
        CREATE TRIGGER student_totalled AFTER INSERT ON students REFERENCING NEW TABLE AS added
            FOR EACH STATEMENT EXECUTE FUNCTION students_keep_totals();
        CREATE TRIGGER grade_added AFTER INSERT ON grades REFERENCING NEW TABLE AS added
            FOR EACH STATEMENT EXECUTE FUNCTION grades_keep_totals();
        CREATE TRIGGER grade_removed AFTER DELETE ON grades REFERENCING OLD TABLE AS removed
            FOR EACH STATEMENT EXECUTE FUNCTION grades_keep_totals();
        CREATE TRIGGER grade_changed AFTER UPDATE ON grades REFERENCING OLD TABLE AS removed NEW TABLE AS added
            FOR EACH STATEMENT EXECUTE FUNCTION grades_keep_totals();
    END IF;
END $$;
{FILL_TOTALS};
"""
log = logging.getLogger("rpc_cluster.grading")

# Any constant: the lock that serializes schema creation and seeding.
_SEED_LOCK = 7_310_551

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

    def __init__(self, url: str, *, pool_size: int = 8):
        self.url = url
        # Fail at start with the server's own message when the database is unreachable.
        with psycopg.connect(url, connect_timeout=5) as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SEED_LOCK,))
                conn.execute(SCHEMA)
                conn.execute(requests.SCHEMA)
                self._index_names(conn)
                if conn.execute("SELECT COUNT(*) FROM students").fetchone()[0] == 0:
                    for first, last, grades in SEED:
                        sid = conn.execute("INSERT INTO students (first_name, last_name) VALUES (%s, %s) "
                                           "RETURNING id", (first, last)).fetchone()[0]
                        for title, kind, score in grades:
                            conn.execute("INSERT INTO grades (student_id, title, type, score) "
                                         "VALUES (%s, %s, %s, %s)", (sid, title, kind, score))
        self._pool = ConnectionPool(url, min_size=1, max_size=pool_size, kwargs={"autocommit": True},
                                    open=True, name="grades", check=_check_alive)

    @staticmethod
    def _index_names(conn: psycopg.Connection) -> None:
        """A trigram index of names for searches (pg_trgm), where the extension can be had.

        pg_trgm ships with PostgreSQL and is trusted: a database's owner may create
        it. Without it a search reads every student (about 5 ms at 10,000).
        """
        try:
            with conn.transaction():  # a savepoint: a refusal leaves the rest of the start intact
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
                schema = conn.execute("SELECT extnamespace::regnamespace::text FROM pg_extension "
                                      "WHERE extname = 'pg_trgm'").fetchone()[0]
                conn.execute(f"CREATE INDEX IF NOT EXISTS students_name_trigrams ON students "
                             f"USING gin (first_name {schema}.gin_trgm_ops, last_name {schema}.gin_trgm_ops)")
        except psycopg.Error as exc:
            log.warning("grading: no trigram index of names (%s); searches scan every student",
                        str(exc).strip().splitlines()[0])

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

    def add_grade(self, student_id: int, title: str, type: str, score: float,
                  request_id: str | None = None) -> dict[str, Any] | None:
        def write(conn: psycopg.Connection) -> dict[str, Any] | None:
            row = conn.execute(
                "INSERT INTO grades (student_id, title, type, score) SELECT %s, %s, %s, %s "
                "WHERE EXISTS (SELECT 1 FROM students WHERE id = %s) RETURNING id, title, type, score",
                (student_id, title, type, score, student_id)).fetchone()
            return grade(row) if row else None

        return self._write(request_id, "add_grade", (student_id, title, type, score), write)

    def add_student(self, first_name: str, last_name: str, request_id: str | None = None) -> dict[str, Any]:
        def write(conn: psycopg.Connection) -> dict[str, Any]:
            sid = conn.execute("INSERT INTO students (first_name, last_name) VALUES (%s, %s) RETURNING id",
                               (first_name, last_name)).fetchone()[0]
            return {"id": sid, "first_name": first_name, "last_name": last_name, "average": None, "grades": []}

        return self._write(request_id, "add_student", (first_name, last_name), write)

    def _write(self, request_id: str | None, method: str, params: tuple, write: Any) -> Any:
        """One write, committed before it returns; done once per ``request_id``."""
        if request_id is not None:
            return self._transaction(request_id, method, params, lambda tx: write(tx.conn))
        with self._pool.connection() as conn:
            # Autocommit: the INSERT is committed (and durable) before it returns.
            return write(conn)

    def _transaction(self, request_id: str | None, method: str, params: tuple, write: Any) -> Any:
        with self._pool.connection() as conn, conn.transaction():
            tx = _Transaction(conn)
            return requests.once(tx.rows, request_id, method, params, lambda: write(tx))

    def _matching(self, query: str) -> tuple[str, tuple]:
        pattern = like_pattern(query)
        return "s.first_name ILIKE ? ESCAPE '\\' OR s.last_name ILIKE ? ESCAPE '\\'", (pattern, pattern)

    def close(self) -> None:
        self._pool.close()
