"""The PostgreSQL store's schema: tables, indexes, the triggers that keep the totals and
the count of students, and the trigram index of names.

``create(conn)`` makes what the database lacks, inside the caller's transaction
(which holds the store's advisory lock), so it brings a database from any
earlier version up to date.
"""

from __future__ import annotations

import logging

import psycopg

from .. import exactly_once, search
from .sql_writes import FILL_TOTALS, RECOMPUTE

log = logging.getLogger("rpc_cluster.grading")

TABLES = """
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
            average = (score_sum + a.total) / (grade_count + a.n)
        FROM (SELECT student_id, COUNT(*) AS n, SUM(score) AS total FROM added GROUP BY student_id) AS a
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
)
# Triggers, functions and indexes of earlier commits on the issue-13 branch, replaced by the ones above.
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
    """Create what is missing, fill in missing totals, and index names where pg_trgm can be had."""
    conn.execute(TABLES)
    conn.execute(exactly_once.SCHEMA)
    conn.execute(LEGACY)
    conn.execute(FUNCTIONS)
    for table, name, definition in TRIGGERS:
        if not conn.execute(
            "SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s", (table, name)
        ).fetchall():
            conn.execute(f"CREATE TRIGGER {name} {definition}")
    conn.execute(FILL_TOTALS)
    conn.execute("INSERT INTO student_count (n) SELECT COUNT(*) FROM students ON CONFLICT (only_row) DO NOTHING")
    _index_names(conn)


# search.fold in SQL: case folded by lower(), then decomposed (NFKD) and the combining
# marks dropped (the Unicode blocks of them that Latin, Greek and Cyrillic use). Stored
# columns hold it for each name, so a writer of plain SQL gets them too; they and their
# index would need rewriting for a new body.
FOLD = r"""
CREATE OR REPLACE FUNCTION grading_fold(name text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT regexp_replace(normalize(lower(name), NFKD),
                                '[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]', '', 'g') $$;
"""
# normalize() needs a UTF8 database; elsewhere case is all a search ignores.
FOLD_CASE = """
CREATE OR REPLACE FUNCTION grading_fold(name text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT lower(name) $$;
"""
# A LIKE pattern (ESCAPE '\') for folded text containing the folded word, its % and _ literal.
PATTERN = r"""
CREATE OR REPLACE FUNCTION grading_pattern(word text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT '%' || replace(replace(replace(grading_fold(word), '\', '\\'), '%', '\%'), '_', '\_') || '%' $$;
"""
# Folded names: computed on write, so a search compares stored text (a regexp_replace
# per name and search cost 70-120 ms at 10,000 students) through their trigram index.
KEYS = tuple(
    (column, f"ALTER TABLE students ADD COLUMN {column} TEXT GENERATED ALWAYS AS (grading_fold({name})) STORED")
    for column, name in (("first_key", "first_name"), ("last_key", "last_name"))
)
# One word of a search: in the first or the last name, folded alike by grading_fold.
_HAS = "(s.first_key LIKE grading_pattern(?) ESCAPE '\\' OR s.last_key LIKE grading_pattern(?) ESCAPE '\\')"


def hits(query: str) -> tuple[str, tuple]:
    """The store's ``_matching``: a SELECT of the ids of the students ``query`` finds, and its args.

    Each word is folded in SQL, by the function that folded the names.
    """
    words = search.words(query)
    return (
        f"SELECT s.id FROM students s WHERE {' AND '.join([_HAS] * len(words)) or 'TRUE'}",
        tuple(word for word in words for _ in (1, 2)),
    )


def _index_names(conn: psycopg.Connection) -> None:
    """Folded names for searches, and their trigram index (pg_trgm) where it can be had.

    pg_trgm ships with PostgreSQL and is trusted: a database's owner may create
    it. Without it a search reads every student (about 5 ms at 10,000).
    """
    utf8 = conn.execute("SHOW server_encoding").fetchone()[0].upper() in ("UTF8", "UTF-8")
    conn.execute(FOLD if utf8 else FOLD_CASE)
    conn.execute(PATTERN)
    for column, add in KEYS:
        # Looked up first: ALTER TABLE would lock the table, waiting for every read of it.
        if not conn.execute(
            "SELECT 1 FROM pg_attribute WHERE attrelid = 'students'::regclass AND attname = %s AND NOT attisdropped",
            (column,),
        ).fetchall():
            conn.execute(add)
    conn.execute("DROP INDEX IF EXISTS students_name_trigrams")  # of the names as written, before folding
    try:
        with conn.transaction():  # a savepoint: a refusal leaves the rest of the start intact
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
            schema = conn.execute(
                "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
            ).fetchone()[0]
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS students_key_trigrams ON students "
                f"USING gin (first_key {schema}.gin_trgm_ops, last_key {schema}.gin_trgm_ops)"
            )
    except psycopg.Error as exc:
        log.warning(
            "grading: no trigram index of names (%s); searches scan every student", str(exc).strip().splitlines()[0]
        )
