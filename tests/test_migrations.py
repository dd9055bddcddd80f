"""Databases made by the release at 94c6f54 open with today's stores, migrated with nothing lost.

The fixtures in tests/data (README-94c6f54.md says how they were made) are that
release's SQLite file and a dump of its PostgreSQL schema: no ``schema_version``,
names not folded for search, no users or classes. Each test works on a copy: the
file copied to tmp_path, the dump loaded into the fresh schema of ``postgres_url``.
A migration is injected by replacing the schema module's ``MIGRATIONS``, which the
store reads as it opens.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from helpers.grading_store import execute

from rpc_cluster import Client, Forbidden
from rpc_cluster.client.acting import acting_as
from rpc_cluster.grading.open_store import open_store
from rpc_cluster.grading.schema import classes, migrations
from rpc_cluster.grading.schema import postgres as postgres_schema
from rpc_cluster.grading.schema import sqlite as sqlite_schema
from rpc_cluster.grading.service import GradingService

DATA = Path(__file__).resolve().parent / "data"
SQLITE_FIXTURE = DATA / "grades-94c6f54.db"
POSTGRES_FIXTURE = DATA / "postgres-94c6f54.sql"
NOWHERE = "http://127.0.0.1:9/rpc"
NEWEST = sqlite_schema.MIGRATIONS[-1].version

# What the release left (README-94c6f54.md): José's accents are written decomposed.
STUDENTS = [
    (1, "Nick", "Carter"),
    (2, "Roberto", "Baggio"),
    (3, "Emma", "Stone"),
    (4, "zhangsan", "san"),
    (5, "xiaoqiao", "qiao"),
    (6, "Zoë", "Ångström"),
    (7, "Дмитрий", "Шостакович"),
    (8, "Jose\u0301", "Nun\u0303ez"),
    (9, "花子", "山田"),
    (10, "Ada", "Lovelace"),
]
# (id, student_id, title, type, score): 5 and 17 were deleted, 1 and 18 updated, 21 and 22 imported.
GRADES = [
    (1, 1, "Quiz 1", "Test", 87.0),
    (2, 1, "Final Exam", "Exam", 94.0),
    (3, 1, "Quiz 2", "Quiz", 82.0),
    (4, 2, "Quiz 1", "Quiz", 100.0),
    (6, 2, "Quiz 2", "Quiz", 81.0),
    (7, 3, "Quiz 1", "Quiz", 67.0),
    (8, 3, "Final Exam", "Exam", 0.0),
    (9, 3, "Quiz 2", "Quiz", 75.0),
    (10, 4, "Quiz 1", "Quiz", 44.0),
    (11, 4, "Final Exam", "Exam", 0.0),
    (12, 4, "Quiz 2", "Quiz", 66.0),
    (13, 5, "Quiz 1", "Quiz", 23.0),
    (14, 5, "Final Exam", "Exam", 0.0),
    (15, 5, "Quiz 2", "Quiz", 44.0),
    (16, 6, "Essay: Über die Zeit", "Homework", 91.5),
    (18, 7, "Контрольная работа (пересдача)", "Test", 93.0),
    (19, 8, 'Exam "final", part 2', "Exam", 64.0),
    (20, 9, "期末試験", "Exam", 99.5),
    (21, 7, "Домашнее задание", "Homework", 72.0),
    (22, 8, "Quiz 2", "Quiz", 80.75),
]
# Version 3 files every grade under an assignment of its title in its class. "Quiz 1" had grades of two
# types: most are Quizzes, which keep the title; grade 1, a Test since its edit, gets one of its own.
RETITLED = {1: "Quiz 1 (Test)"}
FILED = [(gid, sid, RETITLED.get(gid, title), kind, score) for gid, sid, title, kind, score in GRADES]


def as_filed(grades: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows of (id, student_id, title, type, score) with the titles version 3 gives them."""
    return [(gid, sid, RETITLED.get(gid, title), *rest) for gid, sid, title, *rest in grades]


# Searches as people type them, and the students each finds.
SEARCHES = {
    "zoe": [6],
    "ÅNGSTRÖM": [6],
    "angstrom zoë": [6],
    "José": [8],  # typed precomposed, stored decomposed
    "nunez": [8],
    "дмитрий": [7],
    "ШОСТАК": [7],
    "花子": [9],
    "山田": [9],
    "love ada": [10],
}
# The release's data by the columns it had: today's may only add columns and rows.
RELEASE_DATA = {
    "students": "SELECT id, first_name, last_name FROM students ORDER BY id",
    "grades": "SELECT id, student_id, title, type, score FROM grades ORDER BY id",
    "totals": "SELECT student_id, grade_count, score_sum, average FROM student_totals ORDER BY student_id",
    "requests": "SELECT request_id, method, fingerprint, result FROM requests ORDER BY request_id",
}


class SqliteCopy:
    """A copy of the release's SQLite file; ``db`` is what ``--db`` takes."""

    schema: ModuleType = sqlite_schema

    def __init__(self, folder: Path):
        self.path = folder / "grades.db"
        shutil.copyfile(SQLITE_FIXTURE, self.path)
        self.db = str(self.path)

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of one statement ("?" placeholders), committed, on a connection of its own."""
        return execute(self.db, sql, args)

    def snapshot(self) -> dict[str, list[Any]]:
        """Every object of the schema and every row of every table."""
        objects = self.rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        tables = [name for kind, name, _, _ in objects if kind == "table"]
        return {"schema": objects} | every_row(self, tables)


class PostgresCopy:
    """The release's dump loaded into the fresh schema that ``url``'s search_path names."""

    schema: ModuleType = postgres_schema

    def __init__(self, url: str):
        self.db = url
        with psycopg.connect(url, autocommit=True) as conn:
            # The release made its trigram index with pg_trgm's operator class; the dump names it.
            with contextlib.suppress(psycopg.errors.UniqueViolation):  # another test made it just now
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
            found = conn.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")
            trgm_schema = found.fetchall()[0][0]
        dump = POSTGRES_FIXTURE.read_text().replace("public.gin_trgm_ops", f"{trgm_schema}.gin_trgm_ops")
        with psycopg.connect(url) as conn:
            conn.execute(dump)

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of one statement ("?" placeholders), committed, on a connection of its own."""
        return execute(self.db, sql, args)

    def snapshot(self) -> dict[str, list[Any]]:
        """Every column, index, constraint, trigger, function and sequence of the schema, and every row."""
        here = "current_schema()::regnamespace"
        found = {
            "columns": self.rows(
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 2"
            ),
            "indexes": self.rows(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1"
            ),
            "constraints": self.rows(
                f"SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                f"WHERE connamespace = {here} ORDER BY 1, 2"
            ),
            "triggers": self.rows(
                f"SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                f"WHERE c.relnamespace = {here} AND NOT t.tgisinternal ORDER BY 1"
            ),
            "functions": self.rows(
                f"SELECT proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = {here} ORDER BY 1"
            ),
            "sequences": self.rows(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema() ORDER BY 1"
            ),
        }
        tables = self.rows(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        return found | every_row(self, [table for (table,) in tables])


Copy = SqliteCopy | PostgresCopy


def every_row(old: Copy, tables: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's rows, in an order of their own (some tables have no key to order by)."""
    return {table: sorted(old.rows(f'SELECT * FROM "{table}"'), key=repr) for table in tables}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old(request, tmp_path) -> Copy:
    """A copy of the release's database, on each store."""
    if request.param == "sqlite":
        return SqliteCopy(tmp_path)
    return PostgresCopy(request.getfixturevalue("postgres_url"))


def release_data(old: Copy) -> dict[str, list[tuple[Any, ...]]]:
    return {name: old.rows(sql) for name, sql in RELEASE_DATA.items()}


def recorded_version(old: Copy) -> int | None:
    """The version in schema_version; None when the database has no such table (the release's)."""
    try:
        found = old.rows("SELECT version FROM schema_version")
    except Exception as exc:  # sqlite3's and psycopg's "no such table": nothing else may fail here
        assert "schema_version" in str(exc), exc
        return None
    assert len(found) == 1, found
    return int(found[0][0])


def migrated(old: Copy) -> Copy:
    """``old`` after today's store opened and closed it once."""
    open_store(old.db).close()
    return old


def test_the_copies_hold_what_the_release_left(old):
    assert old.rows(RELEASE_DATA["students"]) == STUDENTS
    assert old.rows(RELEASE_DATA["grades"]) == GRADES
    assert len(old.rows(RELEASE_DATA["requests"])) == 7
    assert recorded_version(old) is None


def test_the_sqlite_fixture_is_small_and_checkpointed():
    assert SQLITE_FIXTURE.stat().st_size < 200_000
    for suffix in ("-wal", "-shm", "-journal"):
        assert not Path(f"{SQLITE_FIXTURE}{suffix}").exists(), suffix


def test_the_postgres_dump_loads_with_working_functions_and_triggers(postgres_url):
    old = PostgresCopy(postgres_url)
    assert old.rows("SELECT n FROM student_count") == [(10,)]
    assert ("students_name_trigrams",) in old.rows("SELECT indexname FROM pg_indexes WHERE tablename = 'students'")
    (student,) = old.rows("INSERT INTO students (first_name, last_name) VALUES ('Grace', 'Hopper') RETURNING id")[0]
    assert student == 11  # the sequences came along
    assert old.rows("SELECT n FROM student_count") == [(11,)]
    two = "INSERT INTO grades (student_id, title, type, score) VALUES (?, 'Quiz', 'Quiz', 50), (?, 'Exam', 'Exam', 70)"
    old.rows(two, (student, student))
    totals = "SELECT grade_count, score_sum, average FROM student_totals WHERE student_id = ?"
    assert old.rows(totals, (student,)) == [(2, 120.0, 60.0)]
    old.rows("UPDATE grades SET score = 90 WHERE student_id = ? AND title = 'Quiz'", (student,))
    assert old.rows(totals, (student,)) == [(2, 160.0, 80.0)]
    old.rows("DELETE FROM grades WHERE student_id = ? AND title = 'Exam'", (student,))
    assert old.rows(totals, (student,)) == [(1, 90.0, 90.0)]
    old.rows("DELETE FROM grades WHERE student_id = ?", (student,))
    old.rows("DELETE FROM students WHERE id = ?", (student,))
    assert old.rows("SELECT n FROM student_count") == [(10,)]


def test_every_student_and_grade_keeps_its_values_and_ids_in_one_class_for_admins(old):
    before = release_data(old)
    migrated(old)
    assert release_data(old) == {**before, "grades": as_filed(before["grades"])}
    assert recorded_version(old) == NEWEST
    # Each grade's title and type are its assignment's, out of 100 points, with the score as its points.
    filed = old.rows(
        "SELECT g.id, a.title, a.category, a.max_points, g.points, g.score FROM grades g "
        "JOIN assignments a ON a.id = g.assignment_id ORDER BY g.id"
    )
    assert filed == [(gid, title, kind, 100.0, score, score) for gid, _, title, kind, score in FILED]
    (class_id, name, teacher) = old.rows("SELECT id, name, teacher_id FROM classes")[0]
    assert old.rows("SELECT COUNT(*) FROM classes") == [(1,)]
    assert (name, teacher) == (classes.FIRST_CLASS, None)
    enrolments = old.rows("SELECT class_id, student_id, archived FROM enrolments ORDER BY student_id")
    assert enrolments == [(class_id, sid, False) for sid, _, _ in STUDENTS]
    assert old.rows("SELECT id, class_id FROM grades ORDER BY id") == [(gid, class_id) for gid, *_ in GRADES]
    assert old.rows("SELECT COUNT(*) FROM users") == [(0,)]


def test_the_service_shows_every_student_and_grade_as_it_was(old):
    totals = {sid: average for sid, _, _, average in old.rows(RELEASE_DATA["totals"])}
    with GradingService(port=0, registry=NOWHERE, db=old.db) as service:
        grading = Client(service.url).Grades
        assert grading.count_students() == len(STUDENTS)
        for sid, first, last in STUDENTS:
            student = grading.get_student(sid)
            assert (student["id"], student["first_name"], student["last_name"]) == (sid, first, last)
            assert student["average"] == totals[sid]
            shown = [(g["id"], sid, g["title"], g["type"], g["score"]) for g in student["grades"]]
            assert shown == [grade for grade in FILED if grade[1] == sid]
        # New rows go after the release's: no id is used twice, not even a deleted grade's.
        assert grading.add_student("Grace", "Hopper")["id"] == 11
        assert grading.add_grade(10, "Notes on the engine", "Homework", 100)["id"] == 23


def test_an_admin_sees_every_student_and_grade_in_the_one_class_and_a_teacher_none_of_them(old):
    with GradingService(port=0, registry=NOWHERE, db=old.db) as service:
        client = Client(service.url)
        client.Users.add("principal", "admin", "a password of the admin")
        client.Users.add("tia", "teacher", "a password of a teacher")
        grading = client.Grades
        for who in (None, "principal"):  # the service's own authority, and an admin's
            with acting_as(who):
                (only,) = grading.list_classes()
                assert only == {"id": only["id"], "name": classes.FIRST_CLASS, "teacher": None, "students": 10}
                roster = grading.list_students(class_id=only["id"], limit=50)
                assert sorted(student["id"] for student in roster["students"]) == [sid for sid, _, _ in STUDENTS]
                for sid, _, _ in STUDENTS:
                    shown = grading.get_student(sid)["grades"]
                    assert [(g["id"], sid, g["title"], g["type"], g["score"]) for g in shown] == [
                        grade for grade in FILED if grade[1] == sid
                    ]
                    assert {grade["class_id"] for grade in shown} <= {only["id"]}
        with acting_as("tia"):  # the class has no teacher: only admins see it
            assert grading.list_classes() == []
            assert grading.count_students() == 0
            with pytest.raises(Forbidden):
                grading.get_student(6)


def test_search_finds_the_names_with_accents_and_in_other_scripts(old):
    with GradingService(port=0, registry=NOWHERE, db=old.db) as service:
        grading = Client(service.url).Grades
        for query, expected in SEARCHES.items():
            found = grading.list_students(query=query)
            assert [student["id"] for student in found["students"]] == expected, query


def test_opening_again_changes_nothing(old):
    first = migrated(old).snapshot()
    assert migrated(old).snapshot() == first


class HalfWay(Exception):
    """What the injected migration raises once it has changed the schema and the data."""


def change_then_fail(conn: Any) -> None:
    """DDL and writes of every kind, then a failure: all of it must roll back."""
    conn.execute("CREATE TABLE half_way (id INTEGER PRIMARY KEY)")
    conn.execute("ALTER TABLE students ADD COLUMN nickname TEXT")
    conn.execute("DROP INDEX grades_by_student")
    conn.execute("UPDATE grades SET score = 0")
    conn.execute("DELETE FROM requests")
    raise HalfWay("the migration stopped half way")


def test_a_migration_failing_half_way_from_the_release_leaves_its_schema_and_data(old, monkeypatch):
    before = old.snapshot()
    first, second, *_ = old.schema.MIGRATIONS

    def second_then_fail(conn: Any) -> None:
        second.apply(conn)  # the whole of version 2: tables, a column, the class and its enrolments
        change_then_fail(conn)

    monkeypatch.setattr(old.schema, "MIGRATIONS", (first, second._replace(apply=second_then_fail)))
    with pytest.raises(HalfWay):
        open_store(old.db)
    assert old.snapshot() == before
    assert recorded_version(old) is None
    monkeypatch.undo()  # and the real migrations then still work on it
    assert migrated(old).rows(RELEASE_DATA["grades"]) == FILED
    assert recorded_version(old) == NEWEST


def test_a_migration_failing_half_way_from_the_newest_version_keeps_that_version(old, monkeypatch):
    before = migrated(old).snapshot()
    next_one = migrations.Migration(NEWEST + 1, "a step that fails", change_then_fail)
    monkeypatch.setattr(old.schema, "MIGRATIONS", (*old.schema.MIGRATIONS, next_one))
    with pytest.raises(HalfWay):
        open_store(old.db)
    assert old.snapshot() == before
    assert recorded_version(old) == NEWEST


def test_a_database_newer_than_the_code_refuses_to_open_in_one_line(old, processes):
    migrated(old).rows("UPDATE schema_version SET version = ?", (NEWEST + 1,))
    before = old.snapshot()
    grading = processes.start("cmd/gradingservice/main.py", "--port", "0", "--registry", NOWHERE, "--db", old.db)
    assert grading.wait(30) != 0
    output = grading.output()
    assert "Traceback" not in output
    assert output.strip().splitlines()[-1] == (
        f"rpc-cluster grading: error: cannot open the store {old.db!r}: its schema is version {NEWEST + 1}, "
        f"made by a newer release than this one (which knows up to {NEWEST}); run that release or a newer one"
    )
    assert old.snapshot() == before


def test_a_call_the_release_stored_once_is_still_stored_once_when_repeated_after_the_upgrade(old):
    """A client that repeats a call across the upgrade (it could not know the first one arrived)."""
    before = release_data(old)
    with GradingService(port=0, registry=NOWHERE, db=old.db) as service:
        grading = Client(service.url).Grades
        assert grading.add_student("Zoë", "Ångström", request_id="fixture-student-1")["id"] == 6
        repeated = grading.add_grade(6, "Essay: Über die Zeit", "Homework", 91.5, request_id="fixture-grade-1")
        assert repeated == {"id": 16, "title": "Essay: Über die Zeit", "type": "Homework", "score": 91.5}
        lines = "student_id,title,type,score\n7,Домашнее задание,Homework,72\n8,Quiz 2,Quiz,80.75\n"
        assert grading.import_grades(lines, request_id="fixture-import-1") == {"imported": 2}
    assert release_data(old) == {**before, "grades": as_filed(before["grades"])}


def test_a_sqlite_store_that_fails_to_open_keeps_no_connection(tmp_path, monkeypatch):
    from rpc_cluster.grading.schema import sqlite as sqlite_schema

    failing = migrations.Migration(NEWEST + 1, "a step that fails", change_then_fail)
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", (*sqlite_schema.MIGRATIONS, failing))
    with pytest.raises(HalfWay):
        open_store(str(tmp_path / "grades.db"))
    # The last connection to close removes the write-ahead log: none was left open.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["grades.db"]
