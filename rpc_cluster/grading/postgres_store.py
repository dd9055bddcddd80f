"""PostgreSQL through psycopg 3: one database shared by several grading instances.

Every instance reads and writes the same tables, so a grade added through
one is visible through the others at once. Schema creation and seeding run
under an advisory lock, so two instances starting together seed once.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from . import requests
from .sql_store import ADD_ONE, RECOMPUTE, SqlGradeStore, like_pattern
from .store import SEED, grade, students_from_rows

SCHEMA = """
CREATE TABLE IF NOT EXISTS students (
    id BIGSERIAL PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    grade_count BIGINT NOT NULL DEFAULT 0,
    score_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
    average DOUBLE PRECISION
);
CREATE TABLE IF NOT EXISTS grades (
    id BIGSERIAL PRIMARY KEY,
    student_id BIGINT NOT NULL REFERENCES students(id),
    title TEXT NOT NULL,
    type TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS grades_by_student ON grades (student_id, id);
"""
# A database made before the totals (issue 13) gets them, computed from its grades.
ADD_TOTALS = f"""
ALTER TABLE students ADD COLUMN grade_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN score_sum DOUBLE PRECISION NOT NULL DEFAULT 0, ADD COLUMN average DOUBLE PRECISION;
{RECOMPUTE};
"""
# The C collation: names sort by code point after lower(), as on SQLite, whatever the database's locale.
TOTALS = f"""
CREATE OR REPLACE FUNCTION grades_keep_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {ADD_ONE};
    ELSIF TG_OP = 'DELETE' THEN
        {RECOMPUTE} WHERE id = OLD.student_id;
    ELSE
        {RECOMPUTE} WHERE id IN (OLD.student_id, NEW.student_id);
    END IF;
    RETURN NULL;
END $$;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'grades'::regclass AND tgname = 'grade_added') THEN
        CREATE TRIGGER grade_added AFTER INSERT ON grades
            FOR EACH ROW EXECUTE FUNCTION grades_keep_totals();
        CREATE TRIGGER grade_removed AFTER DELETE ON grades
            FOR EACH ROW EXECUTE FUNCTION grades_keep_totals();
        CREATE TRIGGER grade_changed AFTER UPDATE OF student_id, score ON grades FOR EACH ROW
            WHEN (OLD.score IS DISTINCT FROM NEW.score OR OLD.student_id <> NEW.student_id)
            EXECUTE FUNCTION grades_keep_totals();
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS students_by_name ON students
    ((lower(last_name) COLLATE "C"), (lower(first_name) COLLATE "C"), id);
CREATE INDEX IF NOT EXISTS students_by_average ON students ((average IS NULL), average, id);
CREATE INDEX IF NOT EXISTS students_by_average_desc ON students ((average IS NULL), average DESC, id);
"""
# Any constant: the lock that serializes schema creation and seeding.
_SEED_LOCK = 7_310_551

_STUDENT = """
SELECT s.id, s.first_name, s.last_name, g.id, g.title, g.type, g.score, s.average
FROM students s LEFT JOIN grades g ON g.student_id = s.id
WHERE s.id = %s ORDER BY g.id
"""
# Page first, then only that page's grades: OFFSET skips bare student rows.
_PAGE = """
WITH page AS (SELECT id, first_name, last_name, average FROM students ORDER BY id LIMIT %s OFFSET %s)
SELECT p.id, p.first_name, p.last_name, g.id, g.title, g.type, g.score, p.average
FROM page p LEFT JOIN grades g ON g.student_id = p.id
ORDER BY p.id, g.id
"""


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
    name_order = 'lower(last_name) COLLATE "C", lower(first_name) COLLATE "C", id'

    def __init__(self, url: str, *, pool_size: int = 8):
        self.url = url
        # Fail at start with the server's own message when the database is unreachable.
        with psycopg.connect(url, connect_timeout=5) as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SEED_LOCK,))
                conn.execute(SCHEMA)
                conn.execute(requests.SCHEMA)
                if not conn.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                                    "AND table_name = 'students' AND column_name = 'grade_count'").fetchall():
                    conn.execute(ADD_TOTALS)
                conn.execute(TOTALS)
                if conn.execute("SELECT COUNT(*) FROM students").fetchone()[0] == 0:
                    for first, last, grades in SEED:
                        sid = conn.execute("INSERT INTO students (first_name, last_name) VALUES (%s, %s) "
                                           "RETURNING id", (first, last)).fetchone()[0]
                        for title, kind, score in grades:
                            conn.execute("INSERT INTO grades (student_id, title, type, score) "
                                         "VALUES (%s, %s, %s, %s)", (sid, title, kind, score))
        self._pool = ConnectionPool(url, min_size=1, max_size=pool_size, kwargs={"autocommit": True},
                                    open=True, name="grades", check=_check_alive)

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

    def get_students(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        return students_from_rows(self._read(_PAGE, (limit, offset)))

    def count_students(self) -> int:
        return self._read("SELECT COUNT(*) FROM students", ())[0][0]

    def get_student(self, student_id: int) -> dict[str, Any] | None:
        found = students_from_rows(self._read(_STUDENT, (student_id,)))
        return found[0] if found else None

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
        return "first_name ILIKE ? ESCAPE '\\' OR last_name ILIKE ? ESCAPE '\\'", (pattern, pattern)

    def close(self) -> None:
        self._pool.close()
