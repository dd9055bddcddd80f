"""The PostgreSQL store's schema: tables, indexes, the triggers that keep the totals and
the count of students, and the folded names that searches compare, with their trigram index.

Its numbered migrations are ``MIGRATIONS``: version 1, ``create(conn)``, makes
what the database lacks, so it brings a database of any release before
versions up to date; version 2 adds users, sessions, classes, enrolments and
the audit; version 3 assignments, each class's categories and letters, and
scores with marks and comments. ``open_schema`` runs them inside the caller's transaction, which
holds the store's advisory lock.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from .. import exactly_once, search
from ..storage.sql_writes import like_pattern
from . import assignments, classes, migrations
from .totals import FILL_TOTALS, RECOMPUTE

log = logging.getLogger("rpc_cluster.grading")

TABLES = """
CREATE TABLE IF NOT EXISTS students (
    id BIGSERIAL PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    first_key TEXT,
    last_key TEXT
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
CREATE INDEX IF NOT EXISTS totals_up ON student_totals (average ASC NULLS LAST, student_id);
CREATE INDEX IF NOT EXISTS totals_down ON student_totals (average DESC NULLS LAST, student_id);
-- One row: how many students there are. COUNT(*) reads all of them (1.5 ms at 10,000),
-- and every list_students page carries the total.
CREATE TABLE IF NOT EXISTS student_count (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    n BIGINT NOT NULL
);
"""
# Statement-level: an import (one COPY) updates each of its students' totals once, not once
# per grade. The totals rows are locked first, in student_id order, in a statement of their
# own: two writers then queue for the rows they share in the same order instead of
# deadlocking (an UPDATE ... FROM locks rows in whatever order its join produces, and two
# imports of 40 shared students deadlocked in most rounds). After the lock, the recount
# is a statement of its own, so under READ COMMITTED it sees every grade committed while
# it waited.
FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION totals_on_students() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO student_totals (student_id) SELECT id FROM added;
        UPDATE student_count SET n = n + (SELECT COUNT(*) FROM added);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE student_count SET n = n - (SELECT COUNT(*) FROM removed);
    ELSE
        UPDATE student_count SET n = 0;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION totals_on_grades() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM student_totals WHERE student_id IN (SELECT student_id FROM added)
            ORDER BY student_id FOR UPDATE;
        UPDATE student_totals SET grade_count = grade_count + a.n, score_sum = score_sum + a.total,
            average = (score_sum + a.total) / NULLIF(grade_count + a.n, 0)
        FROM (SELECT student_id, COUNT(score) AS n, COALESCE(SUM(score), 0) AS total FROM added
            GROUP BY student_id) AS a
        WHERE student_totals.student_id = a.student_id;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM student_totals WHERE student_id IN (SELECT student_id FROM removed)
            ORDER BY student_id FOR UPDATE;
        {RECOMPUTE} WHERE student_id IN (SELECT student_id FROM removed);
    ELSE
        PERFORM 1 FROM student_totals
            WHERE student_id IN (SELECT student_id FROM removed UNION SELECT student_id FROM added)
            ORDER BY student_id FOR UPDATE;
        {RECOMPUTE} WHERE student_id IN (SELECT student_id FROM removed UNION SELECT student_id FROM added);
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION keys_on_name_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.first_key := NULL;
    NEW.last_key := NULL;
    RETURN NEW;
END $$;
"""
# (table, trigger, what follows "CREATE TRIGGER name"): each created when missing.
TRIGGERS = (
    (
        "students",
        "totals_on_student_insert",
        "AFTER INSERT ON students REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION totals_on_students()",
    ),
    (
        "students",
        "totals_on_student_delete",
        "AFTER DELETE ON students REFERENCING OLD TABLE AS removed "
        "FOR EACH STATEMENT EXECUTE FUNCTION totals_on_students()",
    ),
    (
        "students",
        "totals_on_student_truncate",
        "AFTER TRUNCATE ON students FOR EACH STATEMENT EXECUTE FUNCTION totals_on_students()",
    ),
    (
        "grades",
        "totals_on_grade_insert",
        "AFTER INSERT ON grades REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION totals_on_grades()",
    ),
    (
        "grades",
        "totals_on_grade_delete",
        "AFTER DELETE ON grades REFERENCING OLD TABLE AS removed "
        "FOR EACH STATEMENT EXECUTE FUNCTION totals_on_grades()",
    ),
    (
        "grades",
        "totals_on_grade_update",
        "AFTER UPDATE ON grades REFERENCING OLD TABLE AS removed "
        "NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION totals_on_grades()",
    ),
    # A name renamed by plain SQL, which cannot fold it, loses its keys instead of keeping
    # the old name's; the store folds it before its next search (fold_names).
    (
        "students",
        "keys_on_name_update",
        "BEFORE UPDATE OF first_name, last_name ON students FOR EACH ROW "
        "WHEN (NEW.first_key IS NOT DISTINCT FROM OLD.first_key AND NEW.last_key IS NOT DISTINCT FROM OLD.last_key) "
        "EXECUTE FUNCTION keys_on_name_update()",
    ),
)
# Triggers, functions and indexes of earlier versions of this schema, replaced by the ones above.
LEGACY = """
DROP TRIGGER IF EXISTS grade_added ON grades;
DROP TRIGGER IF EXISTS grade_removed ON grades;
DROP TRIGGER IF EXISTS grade_changed ON grades;
DROP TRIGGER IF EXISTS student_totalled ON students;
DROP FUNCTION IF EXISTS grades_keep_totals();
DROP FUNCTION IF EXISTS students_keep_totals();
DROP INDEX IF EXISTS totals_by_average;
DROP INDEX IF EXISTS totals_by_average_desc;
"""


def create(conn: psycopg.Connection) -> None:
    """Create what is missing, fill in missing totals and keys, and index keys where pg_trgm can be had."""
    conn.execute(TABLES)
    conn.execute(exactly_once.SCHEMA)
    conn.execute(LEGACY)
    folded_in_sql = _key_columns(conn)  # before the triggers: one of them reads the keys
    conn.execute(FUNCTIONS)
    for table, name, definition in TRIGGERS:
        if not conn.execute(
            "SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s", (table, name)
        ).fetchall():
            conn.execute(f"CREATE TRIGGER {name} {definition}")
    conn.execute(FILL_TOTALS)
    conn.execute("INSERT INTO student_count (n) SELECT COUNT(*) FROM students ON CONFLICT (only_row) DO NOTHING")
    conn.execute(UNFOLDED_INDEX)
    fold_names(conn, every=folded_in_sql)
    _index_names(conn)


# What searches compare: each name folded by search.fold (no case, no accents), the one
# fold both stores use, written by the store with the names and filled in at start. A fold
# in SQL cannot match it: lower() depends on the database's LC_CTYPE (under C, "ZOË" stays
# "zoË") and casefold's "ß" -> "ss" has no SQL equivalent.
KEY_COLUMNS = ("first_key", "last_key")
# The students whose keys fold_names must write: none but those written by plain SQL.
UNFOLDED = "SELECT 1 FROM students WHERE first_key IS NULL OR last_key IS NULL LIMIT 1"
UNFOLDED_INDEX = (
    "CREATE INDEX IF NOT EXISTS students_unfolded ON students (id) WHERE first_key IS NULL OR last_key IS NULL"
)
# An earlier version computed the keys in SQL (generated columns over these functions).
FOLDED_IN_SQL = """
DROP FUNCTION IF EXISTS grading_pattern(text);
DROP FUNCTION IF EXISTS grading_fold(text);
"""
# One word of a search, already folded: in the first or the last name's key.
_HAS = "(s.first_key LIKE ? ESCAPE '\\' OR s.last_key LIKE ? ESCAPE '\\')"


def hits(query: str) -> tuple[str, tuple[Any, ...]]:
    """The store's ``_matching``: a SELECT of the ids of the students ``query`` finds, and its args.

    The words are folded here, by the function that folded the names.
    """
    words = search.folded_words(query)
    return (
        f"SELECT s.id FROM students s WHERE {' AND '.join([_HAS] * len(words)) or 'TRUE'}",
        tuple(like_pattern(word) for word in words for _ in (1, 2)),
    )


def fold_names(conn: psycopg.Connection, *, every: bool = False) -> int:
    """Write the keys of the students that lack them (``every``: of all whose keys differ); how many.

    The rows are locked in id order, so a rename by plain SQL waits instead of
    slipping in between the read and the write, and two instances folding at
    once queue instead of deadlocking.
    """
    where = "TRUE" if every else "first_key IS NULL OR last_key IS NULL"
    rows = conn.execute(
        f"SELECT id, first_name, last_name, first_key, last_key FROM students WHERE {where} ORDER BY id FOR UPDATE"
    ).fetchall()
    changed = []
    for sid, first, last, first_key, last_key in rows:
        keys = (search.fold(first), search.fold(last))
        if keys != (first_key, last_key):
            changed.append((*keys, sid))
    if changed:
        with conn.cursor() as cursor:
            cursor.executemany("UPDATE students SET first_key = %s, last_key = %s WHERE id = %s", changed)
    return len(changed)


def _key_columns(conn: psycopg.Connection) -> bool:
    """Make the keys plain columns: added where missing, no longer generated where they were.

    True when they were generated (folded in SQL): they then hold that fold until
    ``fold_names(every=True)`` writes search.fold's. Each column is looked up
    first: ALTER TABLE would lock the table, waiting for every read of it.
    """
    found: dict[str, str] = dict(
        conn.execute(
            "SELECT attname, attgenerated FROM pg_attribute "
            "WHERE attrelid = 'students'::regclass AND attname = ANY(%s) AND NOT attisdropped",
            (list(KEY_COLUMNS),),
        ).fetchall()
    )
    generated = False
    for column in KEY_COLUMNS:
        if column not in found:
            conn.execute(f"ALTER TABLE students ADD COLUMN {column} TEXT")
        elif found[column]:
            # The values stay (no table rewrite); the functions they were computed by can go.
            conn.execute(f"ALTER TABLE students ALTER COLUMN {column} DROP EXPRESSION")
            generated = True
    conn.execute(FOLDED_IN_SQL)
    return generated


def _index_names(conn: psycopg.Connection) -> None:
    """The trigram index of the keys (pg_trgm), where it can be had.

    pg_trgm ships with PostgreSQL and is trusted: a database's owner may create
    it. Without it a search reads every student (about 5 ms at 10,000).
    """
    conn.execute("DROP INDEX IF EXISTS students_name_trigrams")  # of the names as written, before folding
    try:
        with conn.transaction():  # a savepoint: a refusal leaves the rest of the start intact
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
            schema = conn.execute(
                "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
            ).fetchall()[0][0]
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS students_key_trigrams ON students "
                f"USING gin (first_key {schema}.gin_trgm_ops, last_key {schema}.gin_trgm_ops)"
            )
    except psycopg.Error as exc:
        log.warning(
            "grading: no trigram index of names (%s); searches scan every student", str(exc).strip().splitlines()[0]
        )


# Users, their sessions and failed sign-ins; classes, whose students are enrolled; every grade in a
# class; and the audit of every change. Times are seconds since the epoch (UTC).
VERSION_2 = """
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'teacher')),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash TEXT,
    created_at DOUBLE PRECISION NOT NULL
);
-- The id of a session is never stored, only its SHA-256: a copy of the database opens no session.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    client TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    seen_at DOUBLE PRECISION NOT NULL,
    idle_seconds DOUBLE PRECISION NOT NULL,
    absolute_seconds DOUBLE PRECISION NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE TABLE sign_in_failures (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
CREATE INDEX failures_by_username ON sign_in_failures (username, at);
CREATE INDEX failures_by_client ON sign_in_failures (client, at);
CREATE TABLE classes (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    teacher_id BIGINT REFERENCES users(id)
);
CREATE INDEX classes_by_teacher ON classes (teacher_id, id);
CREATE TABLE enrolments (
    id BIGSERIAL PRIMARY KEY,
    class_id BIGINT NOT NULL REFERENCES classes(id),
    student_id BIGINT NOT NULL REFERENCES students(id),
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (class_id, student_id)
);
CREATE INDEX enrolments_by_student ON enrolments (student_id, class_id);
ALTER TABLE grades ADD COLUMN class_id BIGINT REFERENCES classes(id);
CREATE INDEX grades_by_class ON grades (class_id, student_id);
CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    class_id BIGINT,
    before TEXT,
    after TEXT
);
CREATE INDEX audit_by_entity ON audit (entity, entity_id, id);
CREATE INDEX audit_by_class ON audit (class_id, id);
-- The record stays as written, whoever writes SQL to this database as the store's role.
CREATE FUNCTION audit_unchangeable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries cannot be changed or deleted';
END $$;
CREATE TRIGGER audit_unchangeable BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_unchangeable();
CREATE TRIGGER audit_untruncatable BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_unchangeable();
"""


def execute_in(conn: psycopg.Connection) -> migrations.Execute:
    """One statement with "?" placeholders on ``conn``, and its rows (none for a statement without any)."""

    def execute(sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        cursor = conn.execute(sql.replace("?", "%s"), args)
        return cursor.fetchall() if cursor.description is not None else []

    return execute


def version_2(conn: psycopg.Connection) -> None:
    """Users, sessions, classes, enrolments, the audit; the students of an older store in one class."""
    conn.execute(VERSION_2)
    classes.gather(execute_in(conn), classes.FIRST_CLASS)


# Assignments, each class's categories and letters, and the scores of grades: points out of the
# assignment's, a mark and a comment. A score may be a mark without points, so ``score`` (the
# percentage today's unweighted average reads) becomes nullable; the totals' functions are made
# again to count only the grades that have one.
VERSION_3 = """
CREATE TABLE assignments (
    id BIGSERIAL PRIMARY KEY,
    class_id BIGINT NOT NULL REFERENCES classes(id),
    title TEXT NOT NULL,
    title_key TEXT NOT NULL,
    category TEXT NOT NULL,
    max_points DOUBLE PRECISION NOT NULL CHECK (max_points > 0),
    due TEXT,
    UNIQUE (class_id, title_key)
);
ALTER TABLE classes ADD COLUMN categories TEXT, ADD COLUMN scale TEXT;
ALTER TABLE grades ALTER COLUMN score DROP NOT NULL,
    ADD COLUMN assignment_id BIGINT REFERENCES assignments(id),
    ADD COLUMN points DOUBLE PRECISION,
    ADD COLUMN mark TEXT CHECK (mark IN ('missing', 'excused', 'late')),
    ADD COLUMN comment TEXT;
CREATE UNIQUE INDEX grades_by_assignment ON grades (assignment_id, student_id);
"""


def version_3(conn: psycopg.Connection) -> None:
    """Assignments, categories, letters, and scores with points, marks and comments; every grade of a
    class filed under an assignment."""
    conn.execute(VERSION_3)
    conn.execute(FUNCTIONS)
    execute = execute_in(conn)
    execute("UPDATE grades SET points = score WHERE class_id IS NULL", ())
    assignments.file_grades(execute)


MIGRATIONS: tuple[migrations.Migration[psycopg.Connection], ...] = (
    migrations.Migration(1, "students, grades, their totals and the index of names", create),
    migrations.Migration(2, "users, sessions, classes, enrolments and the audit", version_2),
    migrations.Migration(3, "assignments, categories, letters, and scores with marks and comments", version_3),
)


def open_schema(conn: psycopg.Connection) -> None:
    """Bring the database's schema to the newest version, inside the caller's transaction (and lock).

    A student renamed by plain SQL since the last start loses its search keys; they are written again here.
    """
    migrations.migrate(conn, execute_in(conn), MIGRATIONS)
    fold_names(conn)
