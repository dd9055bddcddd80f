"""The SQLite store's schema: its numbered migrations (``MIGRATIONS``), the tables, indexes, and the
triggers that keep the totals and the name index.

Version 1, ``create(conn)``, makes what a file lacks, so it brings a file of
any release before versions up to date; version 2 adds users, sessions,
classes, enrolments and the audit; version 3 assignments, each class's
categories and letters, and scores with marks and comments. ``open_schema`` runs them in the caller's
transaction.
"""

from __future__ import annotations

import logging
import sqlite3

from .. import exactly_once, search
from . import assignments, classes, migrations
from .totals import FILL_TOTALS, RECOMPUTE

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
    "CREATE INDEX IF NOT EXISTS students_by_name ON students (last_name COLLATE NOCASE, first_name COLLATE NOCASE, id)",
    """CREATE TABLE IF NOT EXISTS student_totals (
    student_id INTEGER PRIMARY KEY,
    grade_count INTEGER NOT NULL DEFAULT 0,
    score_sum REAL NOT NULL DEFAULT 0,
    average REAL
)""",
    "CREATE INDEX IF NOT EXISTS totals_by_average ON student_totals (average IS NULL, average, student_id)",
    "CREATE INDEX IF NOT EXISTS totals_by_average_desc ON student_totals (average IS NULL, average DESC, student_id)",
    # Kept by triggers rather than a foreign key, which a connection may have switched off.
    "CREATE TRIGGER IF NOT EXISTS totals_on_student_insert AFTER INSERT ON students BEGIN "
    "INSERT OR REPLACE INTO student_totals (student_id) VALUES (NEW.id); END",
    "CREATE TRIGGER IF NOT EXISTS totals_on_student_delete AFTER DELETE ON students BEGIN "
    "DELETE FROM student_totals WHERE student_id = OLD.id; END",
    # In an UPDATE every right-hand side reads the row as it was.
    "CREATE TRIGGER IF NOT EXISTS totals_on_grade_insert AFTER INSERT ON grades WHEN NEW.score IS NOT NULL BEGIN "
    "UPDATE student_totals SET grade_count = grade_count + 1, score_sum = score_sum + NEW.score, "
    "average = (score_sum + NEW.score) / (grade_count + 1) WHERE student_id = NEW.student_id; END",
    f"CREATE TRIGGER IF NOT EXISTS totals_on_grade_delete AFTER DELETE ON grades BEGIN "
    f"{RECOMPUTE} WHERE student_id = OLD.student_id; END",
    f"CREATE TRIGGER IF NOT EXISTS totals_on_grade_update AFTER UPDATE OF student_id, score ON grades "
    f"WHEN OLD.score IS NOT NEW.score OR OLD.student_id IS NOT NEW.student_id BEGIN "
    f"{RECOMPUTE} WHERE student_id IN (OLD.student_id, NEW.student_id); END",
    FILL_TOTALS,
)
# Triggers of earlier versions of this schema, replaced by the ones above.
LEGACY = tuple(
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "grade_added",
        "grade_removed",
        "grade_changed",
        "student_totalled",
        "student_untotalled",
        "student_added",
        "student_removed",
        "student_renamed",
    )
)
# What searches compare: each name folded (search.fold: no case, no accents), written by
# the store with the names. Folding needs Python, which a trigger cannot call for a writer
# using plain SQL; a name changed that way loses its keys (a search then folds that
# student's names as it reads them) until the next start folds it again.
KEY_COLUMNS = ("first_key", "last_key")
KEYS = (
    "CREATE INDEX IF NOT EXISTS students_unfolded ON students (id) WHERE first_key IS NULL",
    "CREATE TRIGGER IF NOT EXISTS keys_on_name_update AFTER UPDATE OF first_name, last_name ON students "
    "WHEN NEW.first_key IS OLD.first_key AND NEW.last_key IS OLD.last_key BEGIN "
    "UPDATE students SET first_key = NULL, last_key = NULL WHERE id = NEW.id; END",
)
# Folded names found by substring through a trigram index (FTS5), kept by triggers on
# students: 0.1-0.4 ms a search at 10,000 students where LIKE over every row took 7 ms.
# A phrase matches within one column, so a word is found in the first or the last name.
KEY_INDEX = (
    "CREATE VIRTUAL TABLE student_keys USING fts5(first_key, last_key, content='students', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER keys_on_student_insert AFTER INSERT ON students BEGIN "
    "INSERT INTO student_keys (rowid, first_key, last_key) VALUES (NEW.id, NEW.first_key, NEW.last_key); END",
    "CREATE TRIGGER keys_on_student_delete AFTER DELETE ON students BEGIN "
    "INSERT INTO student_keys (student_keys, rowid, first_key, last_key) "
    "VALUES ('delete', OLD.id, OLD.first_key, OLD.last_key); END",
    "CREATE TRIGGER keys_on_key_update AFTER UPDATE OF first_key, last_key ON students BEGIN "
    "INSERT INTO student_keys (student_keys, rowid, first_key, last_key) "
    "VALUES ('delete', OLD.id, OLD.first_key, OLD.last_key); "
    "INSERT INTO student_keys (rowid, first_key, last_key) VALUES (NEW.id, NEW.first_key, NEW.last_key); END",
    "INSERT INTO student_keys (student_keys) VALUES ('rebuild')",
)
# The trigram index of unfolded names that KEY_INDEX replaces, and its triggers.
NAMES_LEGACY = (
    "DROP TRIGGER IF EXISTS names_on_student_insert",
    "DROP TRIGGER IF EXISTS names_on_student_delete",
    "DROP TRIGGER IF EXISTS names_on_student_update",
    "DROP TABLE IF EXISTS student_names",
)
# A trigram index finds only strings of three characters or more; shorter queries scan.
INDEXED_QUERY = 3


def create(conn: sqlite3.Connection) -> bool:
    """Create what is missing; True when names have their trigram index (SQLite has FTS5)."""
    # Statement by statement: executescript() would commit the transaction first.
    for statement in (*LEGACY, *NAMES_LEGACY, *SCHEMA, exactly_once.SCHEMA):
        conn.execute(statement)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(students)")}
    for column in KEY_COLUMNS:
        if column not in columns:
            conn.execute(f"ALTER TABLE students ADD COLUMN {column} TEXT")
    for statement in KEYS:
        conn.execute(statement)
    fold_names(conn)  # before the index is built: one rebuild, not a trigger per student
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'keys_on_student_insert'").fetchall():
        return True
    conn.execute("DROP TABLE IF EXISTS student_keys")  # left without its triggers: build it again
    conn.execute("SAVEPOINT names")
    try:
        for statement in KEY_INDEX:
            conn.execute(statement)
    except sqlite3.OperationalError as exc:  # "no such module: fts5": search by scanning instead
        conn.execute("ROLLBACK TO names")
        log.warning("grading: no trigram index of names (%s); searches scan every student", exc)
        return False
    finally:
        conn.execute("RELEASE names")
    return True


def fold_names(conn: sqlite3.Connection) -> int:
    """Write the keys of every student that lacks them; how many there were."""
    rows = conn.execute("SELECT id, first_name, last_name FROM students WHERE first_key IS NULL").fetchall()
    conn.executemany(
        "UPDATE students SET first_key = ?, last_key = ? WHERE id = ?",
        [(search.fold(first), search.fold(last), sid) for sid, first, last in rows],
    )
    return len(rows)


# Users, their sessions and failed sign-ins; classes, whose students are enrolled; every grade in a
# class; and the audit of every change. Times are seconds since the epoch (UTC).
VERSION_2 = (
    """CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'teacher')),
    disabled INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT,
    created_at REAL NOT NULL
)""",
    # The id of a session is never stored, only its SHA-256: a copy of the database opens no session.
    """CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    client TEXT NOT NULL,
    created_at REAL NOT NULL,
    seen_at REAL NOT NULL,
    idle_seconds REAL NOT NULL,
    absolute_seconds REAL NOT NULL
)""",
    "CREATE INDEX sessions_by_user ON sessions (user_id)",
    """CREATE TABLE sign_in_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    at REAL NOT NULL
)""",
    "CREATE INDEX failures_by_username ON sign_in_failures (username, at)",
    "CREATE INDEX failures_by_client ON sign_in_failures (client, at)",
    """CREATE TABLE classes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    teacher_id INTEGER REFERENCES users(id)
)""",
    "CREATE INDEX classes_by_teacher ON classes (teacher_id, id)",
    """CREATE TABLE enrolments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    class_id INTEGER NOT NULL REFERENCES classes(id),
    student_id INTEGER NOT NULL REFERENCES students(id),
    archived INTEGER NOT NULL DEFAULT 0,
    UNIQUE (class_id, student_id)
)""",
    "CREATE INDEX enrolments_by_student ON enrolments (student_id, class_id)",
    "ALTER TABLE grades ADD COLUMN class_id INTEGER REFERENCES classes(id)",
    "CREATE INDEX grades_by_class ON grades (class_id, student_id)",
    """CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id INTEGER NOT NULL,
    class_id INTEGER,
    before TEXT,
    after TEXT
)""",
    "CREATE INDEX audit_by_entity ON audit (entity, entity_id, id)",
    "CREATE INDEX audit_by_class ON audit (class_id, id)",
    # The record stays as written, whoever writes SQL to this file through the store's connection.
    "CREATE TRIGGER audit_unchangeable BEFORE UPDATE ON audit BEGIN "
    "SELECT RAISE(ABORT, 'audit entries cannot be changed'); END",
    "CREATE TRIGGER audit_undeletable BEFORE DELETE ON audit BEGIN "
    "SELECT RAISE(ABORT, 'audit entries cannot be deleted'); END",
)


def version_2(conn: sqlite3.Connection) -> None:
    """Users, sessions, classes, enrolments, the audit; the students of an older store in one class."""
    for statement in VERSION_2:
        conn.execute(statement)
    classes.gather(lambda sql, args: conn.execute(sql, args).fetchall(), classes.FIRST_CLASS)


# Assignments, each class's categories and letters, and the scores of grades: points out of the
# assignment's, a mark and a comment. A score may be a mark without points, so ``score`` (the
# percentage today's unweighted average reads) becomes nullable, which SQLite can only do by
# building the table again; its triggers and indexes go with the old table and are made anew.
VERSION_3 = (
    """CREATE TABLE assignments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    class_id INTEGER NOT NULL REFERENCES classes(id),
    title TEXT NOT NULL,
    title_key TEXT NOT NULL,
    category TEXT NOT NULL,
    max_points REAL NOT NULL CHECK (max_points > 0),
    due TEXT,
    UNIQUE (class_id, title_key)
)""",
    "ALTER TABLE classes ADD COLUMN categories TEXT",
    "ALTER TABLE classes ADD COLUMN scale TEXT",
    """CREATE TABLE grades_v3 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    student_id INTEGER NOT NULL REFERENCES students(id),
    class_id INTEGER REFERENCES classes(id),
    title TEXT NOT NULL,
    type TEXT NOT NULL,
    score REAL,
    assignment_id INTEGER REFERENCES assignments(id),
    points REAL,
    mark TEXT CHECK (mark IN ('missing', 'excused', 'late')),
    comment TEXT
)""",
    "INSERT INTO grades_v3 (id, student_id, class_id, title, type, score, points) "
    "SELECT id, student_id, class_id, title, type, score, score FROM grades",
    "DROP TABLE grades",
    "ALTER TABLE grades_v3 RENAME TO grades",
    "CREATE INDEX grades_by_student ON grades (student_id, id)",
    "CREATE INDEX grades_by_class ON grades (class_id, student_id)",
    "CREATE UNIQUE INDEX grades_by_assignment ON grades (assignment_id, student_id)",
    *(statement for statement in SCHEMA if "ON grades" in statement and "TRIGGER" in statement),
)


def version_3(conn: sqlite3.Connection) -> None:
    """Assignments, categories, letters, and scores with points, marks and comments; every grade of a
    class filed under an assignment."""
    # AUTOINCREMENT never hands out an id again, a deleted grade's included (its audit entries name it):
    # the new table continues from the old one's counter.
    counter = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'grades'").fetchall()
    for statement in VERSION_3:
        conn.execute(statement)
    if counter:
        conn.execute("DELETE FROM sqlite_sequence WHERE name = 'grades'")
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('grades', ?)", (counter[0][0],))
    assignments.file_grades(lambda sql, args: conn.execute(sql, args).fetchall())


MIGRATIONS: tuple[migrations.Migration[sqlite3.Connection], ...] = (
    migrations.Migration(1, "students, grades, their totals and the index of names", create),
    migrations.Migration(2, "users, sessions, classes, enrolments and the audit", version_2),
    migrations.Migration(3, "assignments, categories, letters, and scores with marks and comments", version_3),
)


def open_schema(conn: sqlite3.Connection) -> bool:
    """Bring the file's schema to the newest version, in the caller's transaction; True when names have
    their trigram index (SQLite has FTS5).

    A student renamed by plain SQL since the last start loses its search keys; they are written again here.
    """
    migrations.migrate(conn, lambda sql, args: conn.execute(sql, args).fetchall(), MIGRATIONS)
    fold_names(conn)
    return bool(conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'keys_on_student_insert'").fetchall())
