"""The audit table on both stores: entries written in the change's transaction, read back in order, and
never changed or removed, even by plain SQL."""

from __future__ import annotations

import re

import pytest

from rpc_cluster.grading.storage import audit


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        from rpc_cluster.grading.storage.sqlite import SqliteStore

        opened = SqliteStore(tmp_path / "grades.db")
    else:
        from rpc_cluster.grading.storage.postgres import PostgresStore

        opened = PostgresStore(request.getfixturevalue("postgres_url"))
    try:
        yield opened
    finally:
        opened.close()


def test_entries_read_back_oldest_first_by_record_and_newest_first_by_class(store):
    def write(tx):
        audit.record(tx, "ann", "create", "grade", 7, 3, None, {"score": 80.0, "title": "Quiz"})
        audit.record(tx, "tom", "update", "grade", 7, 3, {"score": 80.0}, {"score": 85.5})
        audit.record(tx, "(service)", "create", "student", 7, None, None, {"first_name": "Zoë"})

    store._transaction(write)
    entries = audit.history(store._read, "grade", 7)
    assert [(e["user"], e["action"], e["before"], e["after"]) for e in entries] == [
        ("ann", "create", None, {"score": 80.0, "title": "Quiz"}),
        ("tom", "update", {"score": 80.0}, {"score": 85.5}),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", e["at"]) for e in entries)
    assert audit.history(store._read, "student", 7)[0]["after"] == {"first_name": "Zoë"}
    assert [e["action"] for e in audit.changes(store._read, 3, 50)] == ["update", "create"]
    assert [e["action"] for e in audit.changes(store._read, 3, 1)] == ["update"]
    assert audit.classes_of(store._read, "grade", 7) == {3}


def test_many_entries_in_one_call_keep_their_order(store):
    entries = [(n, 1, None, {"n": n}) for n in range(1, 1203)]
    store._transaction(lambda tx: audit.record_many(tx, "ann", "create", "grade", entries))
    assert [e["after"]["n"] for e in audit.changes(store._read, 1, 500)] == list(range(1202, 702, -1))


def test_an_entry_goes_with_its_transaction(store):
    def write_then_fail(tx):
        audit.record(tx, "ann", "delete", "class", 9, 9, {"name": "5B"}, None)
        raise RuntimeError("the change failed after its entry was written")

    with pytest.raises(RuntimeError):
        store._transaction(write_then_fail)
    assert audit.history(store._read, "class", 9) == []


def test_plain_sql_can_neither_change_nor_delete_an_entry(store):
    store._transaction(lambda tx: audit.record(tx, "ann", "create", "user", 1, None, None, {"username": "tom"}))
    for statement in ("UPDATE audit SET username = 'eve'", "DELETE FROM audit"):
        with pytest.raises(Exception, match="audit entries cannot be"):
            store._transaction(lambda tx, statement=statement: tx.rows(statement))
    assert [e["user"] for e in audit.history(store._read, "user", 1)] == ["ann"]
