"""One fold for both stores: the same query finds the same students on SQLite and PostgreSQL,
whatever the PostgreSQL database's locale, and PostgreSQL schemas of earlier versions migrate."""

import os
import uuid

import pytest

from rpc_cluster import Client
from rpc_cluster.grading import search
from rpc_cluster.grading.service import GradingService
from rpc_cluster.grading.storage.postgres import PostgresStore
from rpc_cluster.grading.storage.sqlite import SqliteStore

NOWHERE = "http://127.0.0.1:9/rpc"
POSTGRES_URL = os.environ.get("RPC_CLUSTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

# Names that a fold in SQL (lower(), then dropping a list of mark blocks) and search.fold
# disagree on: ß, Hebrew points, accented capitals, and decomposed letters.
NAMES = (
    ("Hans", "Straße"),
    ("ZOË", "Quill"),
    ("Émile", "Zola"),
    ("שָׁלוֹם", "Levi"),  # shin with shin dot and qamats, vav with holam: pointed Hebrew
    ("Zoe\u0308", "Decomposed"),
    ("Rene\u0301e", "Fontaine"),
    ("ǅemal", "Ǆukić"),  # a title-case digraph
)
# query -> the "first last" of the students it finds, the same on both stores.
EXPECTED = {
    "strasse": ["Hans Straße"],
    "STRASSE hans": ["Hans Straße"],
    "straße": ["Hans Straße"],
    "STRAẞE": ["Hans Straße"],  # capital sharp s
    "zoe": ["ZOË Quill", "Zoe\u0308 Decomposed"],
    "ZOË": ["ZOË Quill", "Zoe\u0308 Decomposed"],
    "zoe\u0308 quill": ["ZOË Quill"],
    "emile": ["Émile Zola"],
    "ÉMILE zola": ["Émile Zola"],
    "e\u0301mile": ["Émile Zola"],
    "שלום": ["שָׁלוֹם Levi"],
    "שָׁלוֹם levi": ["שָׁלוֹם Levi"],
    "renee": ["Rene\u0301e Fontaine"],
    "RENÉE": ["Rene\u0301e Fontaine"],
    "dzemal dzukic": ["ǅemal Ǆukić"],
    "ǄEMAL": ["ǅemal Ǆukić"],
    "zoë straße": [],
}


def found(grading: Client, query: str) -> list[str]:
    """ "first last" of every student ``query`` finds, sorted (the stores order names alike,
    but the order is not what this file is about)."""
    answer = grading.Grades.list_students(query=query, limit=500)
    assert answer["total"] == len(answer["students"])
    return sorted(f"{s['first_name']} {s['last_name']}" for s in answer["students"])


@pytest.fixture
def grading(store_url):
    with GradingService(port=0, registry=NOWHERE, db=store_url) as service:
        client = Client(service.url)
        for first, last in NAMES:
            client.Grades.add_student(first, last)
        yield client


@pytest.mark.parametrize("query", sorted(EXPECTED))
def test_each_store_folds_case_sharp_s_hebrew_points_and_decomposed_letters_alike(grading, query):
    assert found(grading, query) == sorted(EXPECTED[query])


def test_sqlite_and_postgresql_find_the_same_students_for_every_query(tmp_path, postgres_url):
    # Every name, and every name's parts in upper, lower, folded, composed and decomposed
    # forms, searched on both stores at once.
    import unicodedata

    queries = {"a", "ss", "ß", "\u05b8", "e\u0301"}
    for first, last in NAMES:
        for part in (first, last):
            for form in (part, part.upper(), part.lower(), part.casefold(), search.fold(part)):
                queries.update(unicodedata.normalize(nf, form) for nf in ("NFC", "NFD", "NFKC", "NFKD"))
    stores = [SqliteStore(tmp_path / "grades.db"), PostgresStore(postgres_url)]
    try:
        for store in stores:
            for first, last in NAMES:
                store.add_student(first, last)
        for query in sorted(queries):
            on_sqlite, on_postgresql = (
                sorted(s["id"] for s in store.list_students(0, 500, query, "name")["students"]) for store in stores
            )
            assert on_sqlite == on_postgresql, query
            assert on_sqlite, query  # each query is a form of a name (or part of one): never nothing
    finally:
        for store in stores:
            store.close()


@pytest.fixture
def c_locale_postgres_url():
    """A fresh database whose LC_CTYPE and LC_COLLATE are C (lower() folds ASCII only), dropped afterwards."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_URL, connect_timeout=3, autocommit=True)
    except psycopg.Error as exc:
        if os.environ.get("RPC_CLUSTER_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    name = f"rpc_test_c_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
    try:
        base = POSTGRES_URL.split("?")[0]
        yield base[: base.rindex("/") + 1] + name
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def test_a_postgresql_database_with_the_c_locale_folds_accented_capitals(c_locale_postgres_url):
    import psycopg

    with psycopg.connect(c_locale_postgres_url) as conn:  # the behaviour an SQL fold would inherit
        assert conn.execute("SELECT lower('ZOË')").fetchone()[0] == "zoË"
    with GradingService(port=0, registry=NOWHERE, db=c_locale_postgres_url) as service:
        grading = Client(service.url)
        for first, last in NAMES:
            grading.Grades.add_student(first, last)
        assert found(grading, "zoe") == sorted(["ZOË Quill", "Zoe\u0308 Decomposed"])
        for query, expected in EXPECTED.items():
            assert found(grading, query) == sorted(expected), query


def _to_generated_keys_schema(conn) -> None:
    """Turn a store's schema back into the one of the version that folded names in SQL:
    grading_fold() and grading_pattern(), and keys as generated columns with their trigram index."""
    conn.execute("DROP TRIGGER IF EXISTS keys_on_name_update ON students")
    conn.execute("DROP FUNCTION IF EXISTS keys_on_name_update()")
    conn.execute("DROP INDEX IF EXISTS students_unfolded")
    conn.execute("ALTER TABLE students DROP COLUMN first_key, DROP COLUMN last_key")
    conn.execute(r"""
        CREATE OR REPLACE FUNCTION grading_fold(name text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            AS $$ SELECT regexp_replace(normalize(lower(name), NFKD),
                  '[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]', '', 'g') $$""")
    conn.execute(r"""
        CREATE OR REPLACE FUNCTION grading_pattern(word text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            AS $$ SELECT '%' || replace(replace(replace(grading_fold(word), '\', '\\'), '%', '\%'), '_', '\_')
                  || '%' $$""")
    for column, name in (("first_key", "first_name"), ("last_key", "last_name")):
        conn.execute(f"ALTER TABLE students ADD COLUMN {column} TEXT GENERATED ALWAYS AS (grading_fold({name})) STORED")
    conn.execute(
        "CREATE INDEX IF NOT EXISTS students_key_trigrams ON students "
        "USING gin (first_key public.gin_trgm_ops, last_key public.gin_trgm_ops)"
    )


def test_a_postgresql_store_with_keys_folded_in_sql_migrates_at_start_losing_nothing(postgres_url):
    import psycopg
    from helpers import old_schema

    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        old_schema.before_versions(conn)
        _to_generated_keys_schema(conn)
        for first, last in NAMES:
            conn.execute("INSERT INTO students (first_name, last_name) VALUES (%s, %s)", (first, last))
        conn.execute("INSERT INTO grades (student_id, title, type, score) SELECT id, 'Quiz', 'quiz', 80 FROM students")
        assert conn.execute("SELECT last_key FROM students WHERE first_name = 'Hans'").fetchone() == ("straße",)
        before = conn.execute("SELECT id, first_name, last_name FROM students ORDER BY id").fetchall()
        grades_before = conn.execute("SELECT id, student_id, title, type, score FROM grades ORDER BY id").fetchall()
    with GradingService(port=0, registry=NOWHERE, db=postgres_url) as service:
        grading = Client(service.url)
        for query, expected in EXPECTED.items():
            assert found(grading, query) == sorted(expected), query
        grading.Grades.add_student("Ödön", "Großmann")
        assert found(grading, "odon grossmann") == ["Ödön Großmann"]
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT id, first_name, last_name FROM students ORDER BY id").fetchall()[:-1] == before
        grades_after = conn.execute("SELECT id, student_id, title, type, score FROM grades ORDER BY id").fetchall()
        assert grades_after == grades_before
        keys = conn.execute("SELECT first_name, last_name, first_key, last_key FROM students").fetchall()
        assert all((search.fold(f), search.fold(la)) == (fk, lk) for f, la, fk, lk in keys), keys
        generated = conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'students'::regclass AND attgenerated <> ''"
        ).fetchall()
        assert generated == []
        functions = conn.execute(
            "SELECT proname FROM pg_proc WHERE proname IN ('grading_fold', 'grading_pattern') "
            "AND pronamespace = current_schema()::regnamespace"
        ).fetchall()
        assert functions == []
        indexes = {
            name
            for (name,) in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'students' AND schemaname = current_schema()"
            )
        }
        assert "students_key_trigrams" in indexes


def test_names_written_with_plain_sql_on_postgresql_are_folded_in_python(postgres_url):
    import psycopg

    with GradingService(port=0, registry=NOWHERE, db=postgres_url) as service:
        grading = Client(service.url)
        with psycopg.connect(postgres_url) as conn:
            conn.execute("INSERT INTO students (first_name, last_name) VALUES ('שָׁלוֹם', 'Straße')")
            conn.execute("UPDATE students SET first_name = 'ZOË' WHERE id = 1")
        assert found(grading, "שלום strasse") == ["שָׁלוֹם Straße"]
        assert found(grading, "zoe carter") == ["ZOË Carter"]
        grading.Grades.add_student("Émile", "Zola")
        with psycopg.connect(postgres_url) as conn:  # the store wrote the keys, so renaming clears them
            conn.execute("UPDATE students SET last_name = 'Straße' WHERE first_name = 'Émile'")
        assert found(grading, "emile strasse") == ["Émile Straße"]
    with psycopg.connect(postgres_url) as conn:
        keys = conn.execute("SELECT first_name, last_name, first_key, last_key FROM students").fetchall()
        assert all((search.fold(f), search.fold(la)) == (fk, lk) for f, la, fk, lk in keys), keys
