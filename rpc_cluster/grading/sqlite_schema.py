"""The SQLite store's schema: tables, indexes, and the triggers that keep the totals and the name index.

``create(conn)`` makes what a file lacks, inside the caller's transaction,
so it brings a file from any earlier version up to date.
"""

from __future__ import annotations

import logging
import sqlite3

from . import requests
from .sql_store import FILL_TOTALS, RECOMPUTE

log = logging.getLogger("rpc_cluster.grading")

# Statement by statement: a trigger's body holds semicolons of its own.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS students (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS grades (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    student_id INTEGER NOT NULL REFERENCES students(id),
    title TEXT NOT NULL,
    type TEXT NOT NULL,
    score REAL NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS grades_by_student ON grades (student_id, id)",
    # NOCASE folds ASCII letters only; names in other scripts sort by code point.
    "CREATE INDEX IF NOT EXISTS students_by_name ON students "
    "(last_name COLLATE NOCASE, first_name COLLATE NOCASE, id)",
    """CREATE TABLE IF NOT EXISTS student_totals (
    student_id INTEGER PRIMARY KEY,
    grade_count INTEGER NOT NULL DEFAULT 0,
    score_sum REAL NOT NULL DEFAULT 0,
    average REAL
)""",
    "CREATE INDEX IF NOT EXISTS totals_by_average ON student_totals (average IS NULL, average, student_id)",
    "CREATE INDEX IF NOT EXISTS totals_by_average_desc ON student_totals "
    "(average IS NULL, average DESC, student_id)",
    # Kept by triggers rather than a foreign key, which a connection may have switched off.
    "CREATE TRIGGER IF NOT EXISTS totals_on_student_insert AFTER INSERT ON students BEGIN "
    "INSERT OR REPLACE INTO student_totals (student_id) VALUES (NEW.id); END",
    "CREATE TRIGGER IF NOT EXISTS totals_on_student_delete AFTER DELETE ON students BEGIN "
    "DELETE FROM student_totals WHERE student_id = OLD.id; END",
    # In an UPDATE every right-hand side reads the row as it was.
    "CREATE TRIGGER IF NOT EXISTS totals_on_grade_insert AFTER INSERT ON grades BEGIN "
    "UPDATE student_totals SET grade_count = grade_count + 1, score_sum = score_sum + NEW.score, "
    "average = (score_sum + NEW.score) / (grade_count + 1) WHERE student_id = NEW.student_id; END",
    f"CREATE TRIGGER IF NOT EXISTS totals_on_grade_delete AFTER DELETE ON grades BEGIN "
    f"{RECOMPUTE} WHERE student_id = OLD.student_id; END",
    f"CREATE TRIGGER IF NOT EXISTS totals_on_grade_update AFTER UPDATE OF student_id, score ON grades "
    f"WHEN OLD.score IS NOT NEW.score OR OLD.student_id IS NOT NEW.student_id BEGIN "
    f"{RECOMPUTE} WHERE student_id IN (OLD.student_id, NEW.student_id); END",
    FILL_TOTALS,
)
# Triggers of earlier commits on the issue-13 branch, replaced by the ones above.
LEGACY = tuple(f"DROP TRIGGER IF EXISTS {name}" for name in (
    "grade_added", "grade_removed", "grade_changed", "student_totalled", "student_untotalled",
    "student_added", "student_removed", "student_renamed"))
# Names found by substring through a trigram index (FTS5, case-insensitive by Unicode
# case folding), kept by triggers on students: 0.1-0.4 ms a search at 10,000 students
# where LIKE over every row took 7 ms.
NAMES = (
    "CREATE VIRTUAL TABLE student_names USING fts5(first_name, last_name, content='students', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER names_on_student_insert AFTER INSERT ON students BEGIN "
    "INSERT INTO student_names (rowid, first_name, last_name) VALUES (NEW.id, NEW.first_name, NEW.last_name); END",
    "CREATE TRIGGER names_on_student_delete AFTER DELETE ON students BEGIN "
    "INSERT INTO student_names (student_names, rowid, first_name, last_name) "
    "VALUES ('delete', OLD.id, OLD.first_name, OLD.last_name); END",
    "CREATE TRIGGER names_on_student_update AFTER UPDATE OF first_name, last_name ON students BEGIN "
    "INSERT INTO student_names (student_names, rowid, first_name, last_name) "
    "VALUES ('delete', OLD.id, OLD.first_name, OLD.last_name); "
    "INSERT INTO student_names (rowid, first_name, last_name) VALUES (NEW.id, NEW.first_name, NEW.last_name); END",
    "INSERT INTO student_names (student_names) VALUES ('rebuild')",
)
# A trigram index finds only strings of three characters or more; shorter queries scan.
INDEXED_QUERY = 3


def create(conn: sqlite3.Connection) -> bool:
    """Create what is missing; True when names have their trigram index (SQLite has FTS5)."""
    # Statement by statement: executescript() would commit the transaction first.
    for statement in (*LEGACY, *SCHEMA, requests.SCHEMA):
        conn.execute(statement)
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'names_on_student_insert'").fetchall():
        return True
    conn.execute("DROP TABLE IF EXISTS student_names")  # an earlier commit's, without its triggers now
    conn.execute("SAVEPOINT names")
    try:
        for statement in NAMES:
            conn.execute(statement)
    except sqlite3.OperationalError as exc:  # "no such module: fts5": search by scanning instead
        conn.execute("ROLLBACK TO names")
        log.warning("grading: no trigram index of names (%s); searches scan every student", exc)
        return False
    finally:
        conn.execute("RELEASE names")
    return True
