"""Grades.list_students(query=...): words, case and accents, bad characters, and stores made by
earlier versions, on both stores."""

import json
import re
import sqlite3
import urllib.request

import pytest
from helpers.raw_rpc import rpc as raw_call

from rpc_cluster import Client, InvalidParams
from rpc_cluster.grading.service import GradingService
from rpc_cluster.grading.storage.sqlite import SqliteStore

NOWHERE = "http://127.0.0.1:9/rpc"


@pytest.fixture
def service(store_url):
    with GradingService(port=0, registry=NOWHERE, db=store_url) as running:
        yield running


@pytest.fixture
def grading(service):
    client = Client(service.url)
    for first, last in (
        ("Zoë", "Ångström"),
        ("Zoe", "Smith"),
        ("José", "Núñez"),
        ("Nicole", "Carterson"),
        ("Anna", "Nick"),
        ("Li", "Wu"),
        ("ＡＢＣ", "Straße"),
    ):
        client.Grades.add_student(first, last)
    return client


def names(grading, query: str, **params) -> list[str]:
    """ "First Last" of every student the query finds, in the listed order."""
    found = grading.Grades.list_students(query=query, limit=500, **params)
    assert found["total"] == len(found["students"])
    return [f"{s['first_name']} {s['last_name']}" for s in found["students"]]


def test_every_word_is_found_in_the_first_or_the_last_name(grading):
    assert names(grading, "Nick Carter") == ["Nick Carter"]
    assert names(grading, "carter nick") == ["Nick Carter"]
    assert names(grading, "  NICK   carter  ") == ["Nick Carter"]
    assert names(grading, "nick") == ["Nick Carter", "Anna Nick"]
    assert names(grading, "carter") == ["Nick Carter", "Nicole Carterson"]
    assert names(grading, "nic carters") == ["Nicole Carterson"]
    assert names(grading, "Nick Stone") == []
    assert names(grading, "ckca") == []  # a word never spans the first and the last name


def test_short_words_and_long_ones_together(grading):
    assert names(grading, "li") == ["Li Wu"]
    assert names(grading, "wu li") == ["Li Wu"]
    assert names(grading, "Li Carter") == []
    assert names(grading, "x qia") == ["xiaoqiao qiao"]
    assert names(grading, "zo sm") == ["Zoe Smith"]


def test_case_and_accents_are_ignored_both_ways(grading):
    assert names(grading, "zoe") == ["Zoe Smith", "Zoë Ångström"]
    assert names(grading, "Zoë") == ["Zoe Smith", "Zoë Ångström"]
    assert names(grading, "ZOË angstrom") == ["Zoë Ångström"]
    assert names(grading, "jose") == ["José Núñez"]
    assert names(grading, "JOSÉ nunez") == ["José Núñez"]
    assert names(grading, "ñé") == ["José Núñez", "Emma Stone"]
    assert names(grading, "abc") == ["ＡＢＣ Straße"]  # full-width letters are letters too


def test_wildcards_in_a_query_are_plain_characters(grading):
    assert names(grading, "%") == []
    assert names(grading, "_") == []
    assert names(grading, "n_ck") == []
    assert names(grading, '"nick"') == []


def test_sorting_by_name_stays_last_then_first_name(grading):
    assert names(grading, "n", sort="name") == [
        "Nick Carter",
        "Nicole Carterson",
        "Anna Nick",
        "José Núñez",
        "zhangsan san",
        "Emma Stone",
        "Zoë Ångström",
    ]


@pytest.mark.parametrize(
    "query", ["\x00abc", "abc\x00", "a\udc80b", "\ud800", "ni\x07ck", "nick\ncarter", "\x1b[31m", "a\x7fb", "a\x85b"]
)
def test_a_control_character_or_a_lone_surrogate_is_invalid_params_naming_query(grading, query):
    with pytest.raises(InvalidParams) as info:
        grading.Grades.list_students(query=query)
    assert info.value.data["field"] == "query"


def test_bad_queries_over_raw_json_rpc(service):
    # JSON escapes reach the service as they are: a NUL, a lone surrogate.
    for escaped in ('"\\u0000abc"', '"\\udc80"', '"x\\ud83d"', '"\\u001f"'):
        body = (
            '{"jsonrpc": "2.0", "method": "Grades.list_students", "params": {"query": ' + escaped + '}, "id": 7}'
        ).encode()
        request = urllib.request.Request(service.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
        assert answer["error"]["code"] == -32602 and answer["error"]["data"]["field"] == "query", escaped
    found = raw_call(service.url, "Grades.list_students", {"query": "carter NICK"})["result"]
    assert [s["id"] for s in found["students"]] == [1]
    assert raw_call(service.url, "Grades.list_students", {"query": "\U0001f600"})["result"]["total"] == 0


def test_a_sqlite_file_of_the_previous_version_is_searched_with_folding(tmp_path):
    db = tmp_path / "grades.db"
    with sqlite3.connect(db) as conn:  # the schema as the previous version made it: names without keys
        conn.executescript("""
            CREATE TABLE students (id INTEGER PRIMARY KEY AUTOINCREMENT, first_name TEXT NOT NULL,
                                   last_name TEXT NOT NULL);
            CREATE TABLE grades (id INTEGER PRIMARY KEY AUTOINCREMENT, student_id INTEGER NOT NULL
                                 REFERENCES students(id), title TEXT NOT NULL, type TEXT NOT NULL, score REAL NOT NULL);
            CREATE VIRTUAL TABLE student_names USING fts5(first_name, last_name, content='students',
                                 content_rowid='id', tokenize='trigram');
            CREATE TRIGGER names_on_student_insert AFTER INSERT ON students BEGIN
                INSERT INTO student_names (rowid, first_name, last_name) VALUES (NEW.id, NEW.first_name, NEW.last_name);
            END;
            INSERT INTO students (first_name, last_name) VALUES ('Zoë', 'Brontë'), ('Old', 'Timer');
        """)
    with GradingService(port=0, registry=NOWHERE, db=str(db)) as service:
        grading = Client(service.url)
        assert names(grading, "zoe bronte") == ["Zoë Brontë"]
        assert names(grading, "timer old") == ["Old Timer"]
        grading.Grades.add_student("Émile", "Zola")
        assert names(grading, "emile") == ["Émile Zola"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%student_names%'").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM students WHERE first_key IS NULL").fetchone() == (0,)


def test_names_written_with_plain_sql_are_found_folded_at_once_and_after_a_restart(tmp_path):
    db = str(tmp_path / "grades.db")
    with GradingService(port=0, registry=NOWHERE, db=db) as service:
        grading = Client(service.url)
        with sqlite3.connect(db) as conn:
            conn.execute("INSERT INTO students (first_name, last_name) VALUES ('Zoë', 'Outside')")
            conn.execute("UPDATE students SET first_name = 'Nicolás' WHERE id = 1")
        assert names(grading, "zoe outside") == ["Zoë Outside"]
        assert names(grading, "nicolas carter") == ["Nicolás Carter"]
        assert names(grading, "nick") == []
    with GradingService(port=0, registry=NOWHERE, db=db) as service:
        grading = Client(service.url)
        assert names(grading, "zoe outside") == ["Zoë Outside"]
        assert names(grading, "nicolas carter") == ["Nicolás Carter"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM students WHERE first_key IS NULL").fetchone() == (0,)


def test_names_written_with_plain_sql_are_found_folded_on_postgresql(postgres_url):
    import psycopg

    with GradingService(port=0, registry=NOWHERE, db=postgres_url) as service:
        grading = Client(service.url)
        with psycopg.connect(postgres_url) as conn:
            conn.execute("INSERT INTO students (first_name, last_name) VALUES ('Zoë', 'Outside')")
            conn.execute("UPDATE students SET first_name = 'Nicolás' WHERE id = 1")
        assert names(grading, "zoe outside") == ["Zoë Outside"]
        assert names(grading, "NICOLAS carter") == ["Nicolás Carter"]


def test_a_sqlite_search_goes_through_the_trigram_index(tmp_path):
    db = tmp_path / "grades.db"
    SqliteStore(db).close()
    store = SqliteStore(db)
    try:
        for i in range(300):
            store.add_student(f"Pupil{i}", f"Family{i % 7}")
        sql, args = store._matching("pupil12 family5")
        plan = " ".join(row[3] for row in store._read("EXPLAIN QUERY PLAN " + sql, args))
        # The students with keys through the trigram index, those without through theirs.
        assert "student_keys VIRTUAL TABLE INDEX" in plan and "SCAN s USING INDEX students_unfolded" in plan, plan
        assert not re.search(r"SCAN s\b(?! USING)", plan), plan
        found = store.list_students(0, 50, "pupil12 family5", "name")["students"]
        assert [s["first_name"] for s in found] == ["Pupil12", "Pupil124"]
    finally:
        store.close()


def test_a_postgresql_store_of_the_previous_version_gets_folded_names_and_their_index(postgres_url):
    import psycopg
    from helpers import old_schema

    from rpc_cluster.grading.schema import postgres as postgres_schema
    from rpc_cluster.grading.storage.postgres import PostgresStore

    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:  # back to the previous version's schema, names in it
        old_schema.before_versions(conn)
        conn.execute("DROP TRIGGER keys_on_name_update ON students")
        conn.execute("ALTER TABLE students DROP COLUMN first_key, DROP COLUMN last_key")
        conn.execute("DROP INDEX IF EXISTS students_key_trigrams")
        conn.execute(
            "CREATE INDEX students_name_trigrams ON students USING gin "
            "(first_name public.gin_trgm_ops, last_name public.gin_trgm_ops)"
        )
        conn.execute("INSERT INTO students (first_name, last_name) VALUES ('Zoë', 'Brontë')")
    with GradingService(port=0, registry=NOWHERE, db=postgres_url) as service:
        grading = Client(service.url)
        assert names(grading, "bronte zoe") == ["Zoë Brontë"]
        assert names(grading, "carter NICK") == ["Nick Carter"]
    with psycopg.connect(postgres_url) as conn:
        indexes = {
            name
            for (name,) in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'students' AND schemaname = current_schema()"
            )
        }
        assert "students_key_trigrams" in indexes and "students_name_trigrams" not in indexes
        conn.execute("SET enable_seqscan = off")  # can the index answer a search at all?
        sql, args = postgres_schema.hits("zoe carter")
        plan = " ".join(row[0] for row in conn.execute("EXPLAIN " + sql.replace("?", "%s"), args))
        assert "students_key_trigrams" in plan, plan
