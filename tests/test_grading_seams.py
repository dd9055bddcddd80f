"""The grade store's seam: one Protocol every store satisfies, the SQL writes written once,
the score rule public, and package docstrings that name the modules they hold."""

import ast
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rpc_cluster.grading
import rpc_cluster.logs
from rpc_cluster import NotFound
from rpc_cluster.grading import csv_import
from rpc_cluster.grading.storage import postgres, protocol, sql_writes, sqlite
from rpc_cluster.grading.storage.measured import OPERATIONS, MeasuredStore
from rpc_cluster.observability.metrics import ServiceMetrics

ROOT = Path(__file__).resolve().parents[1]


def _protocol_members() -> list[str]:
    """The names GradeStore asks of a store, read from its class body."""
    tree = ast.parse(inspect.getsource(protocol.GradeStore))
    body = tree.body[0]
    assert isinstance(body, ast.ClassDef)
    return [node.name for node in body.body if isinstance(node, ast.FunctionDef)]


def test_every_store_is_a_grade_store_to_mypy_and_one_missing_a_method_is_not(tmp_path):
    pytest.importorskip("mypy")
    snippet = tmp_path / "stores.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from rpc_cluster.grading.storage.measured import MeasuredStore
            from rpc_cluster.grading.storage.postgres import PostgresStore
            from rpc_cluster.grading.storage.protocol import GradeStore
            from rpc_cluster.grading.storage.sqlite import SqliteStore
            from rpc_cluster.observability.metrics import ServiceMetrics


            def stores(lite: SqliteStore, pg: PostgresStore, metrics: ServiceMetrics) -> list[GradeStore]:
                return [lite, pg, MeasuredStore(lite, metrics), MeasuredStore(pg, metrics)]


            class Partial:  # a store that has only some of the methods
                waits_on_network = False

                def close(self) -> None:
                    pass


            def partial(store: Partial) -> GradeStore:
                return store  # the one error expected
            """
        )
    )
    found = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-error-summary", str(snippet)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in found.stdout.splitlines() if ": error:" in line]
    expected_line = snippet.read_text().splitlines().index("    return store  # the one error expected") + 1
    assert [f"stores.py:{expected_line}:" in line for line in errors] == [True], found.stdout + found.stderr


def test_the_measured_store_defines_every_member_of_the_protocol_itself():
    # Nothing reaches the wrapped store through __getattr__: a member GradeStore gains must be written here.
    assert "__getattr__" not in vars(MeasuredStore)
    assert [name for name in _protocol_members() if name not in vars(MeasuredStore)] == []


def test_the_measured_store_times_each_operation_and_passes_the_rest_on(tmp_path):
    store = sqlite.SqliteStore(tmp_path / "grades.db")
    metrics = ServiceMetrics("GradingService")
    measured = MeasuredStore(store, metrics)
    try:
        # Every operation's series shows from the start, before its first call.
        text = metrics.exposition().decode()
        assert all(f'operation="{name}"' in text for name in OPERATIONS)
        ada = measured.add_student("Ada", "Lovelace", "seam-ada")
        assert measured.add_grade(ada["id"], "Lab", "Quiz", 90, "seam-lab")["score"] == 90.0
        assert measured.get_student(ada["id"])["grades"][0]["title"] == "Lab"
        assert measured.waits_on_network is False and measured.change_token() == store.change_token()
        text = metrics.exposition().decode()
        for name, calls in (("add_student", 1), ("add_grade", 1), ("get_student", 1), ("statistics", 0)):
            assert f'grading_store_operation_duration_seconds_count{{operation="{name}"}} {calls}.0' in text
    finally:
        measured.close()


@pytest.mark.parametrize("method", ["add_grade", "add_student", "update_grade", "delete_grade", "import_grades"])
def test_each_write_is_written_once_for_both_sql_stores(method):
    assert method in vars(sql_writes.SqlGradeStore)
    assert method not in vars(sqlite.SqliteStore)
    assert method not in vars(postgres.PostgresStore)


def test_only_the_shared_writes_claim_request_ids():
    # The claim and the write share one transaction, in one place for both databases.
    for module in (sqlite, postgres):
        assert "exactly_once" not in inspect.getsource(module)
    assert "exactly_once.once(" in inspect.getsource(sql_writes)


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_the_shared_writes_keep_search_keys_the_cache_token_and_exactly_once(store_url):
    from rpc_cluster.grading.open_store import open_store

    store = open_store(store_url)
    try:
        token = store.change_token()
        first = store.add_student("Zoë", "Ångström", "seam-student")
        assert store.add_student("Zoë", "Ångström", "seam-student") == first  # a repeat stores nothing
        assert store.add_student("Zoë", "Ångström") != first  # no id: a second student
        # The keys a search compares were written with the student: accents and case folded.
        found = store.list_students(0, 10, "zoe angstrom", "name")
        assert found["total"] == 2 and first["id"] in [s["id"] for s in found["students"]]
        grade = store.add_grade(first["id"], "Lab", "Quiz", 70, "seam-grade")
        assert store.add_grade(first["id"], "Lab", "Quiz", 70, "seam-grade") == grade
        assert store.add_grade(first["id"], "Lab", "Quiz", 71) != grade
        with pytest.raises(NotFound):  # and the refusal does not use up the id
            store.add_grade(999_999, "Lab", "Quiz", 70, "seam-nobody")
        assert store.add_grade(first["id"], "Lab", "Quiz", 72, "seam-nobody")["score"] == 72.0
        # The totals triggers counted the three grades, once each.
        assert store.get_student(first["id"])["average"] == pytest.approx(71)
        assert store.get_student(first["id"])["grades"][0]["id"] == grade["id"]
        # SQLite's cache token moved with the writes (PostgreSQL's store caches nothing).
        assert (token is None) == (store_url.startswith("postgresql://"))
        if token is not None:
            assert store.change_token() != token
    finally:
        store.close()


def test_the_score_rule_is_public_and_is_the_one_the_import_applies():
    rule = csv_import.SCORE_TEXT
    for text in ("50", "+50", ".5", "5e1", "100.0"):
        assert rule.fullmatch(text), text
    for text in ("nan", "inf", "1_0", "0x10", "\u0661\u0660", ""):
        assert rule.fullmatch(text) is None, text
        with pytest.raises(Exception, match="score"):
            csv_import.parse(f"student_id,title,type,score\n1,Lab,Quiz,{text}\n")


@pytest.mark.parametrize("package", [rpc_cluster.grading, rpc_cluster.logs], ids=lambda p: p.__name__)
def test_the_package_docstring_names_exactly_its_modules(package):
    folder = Path(package.__file__).parent
    modules = {
        path.relative_to(folder).name
        for path in folder.rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    }
    named = set(re.findall(r"``([a-z_]+\.py)``", package.__doc__ or ""))
    assert named == modules
