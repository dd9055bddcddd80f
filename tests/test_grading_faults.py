"""Grading under faults: concurrent writers on one PostgreSQL store, and a full disk under SQLite."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from helpers.raw_rpc import rpc
from helpers.signed_in import make_user, portal_client

from portal.app import make_app
from rpc_cluster import Client, RpcError
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"

# -- concurrent writes on one PostgreSQL store -------------------------------------------------------

# Students every import names, half of the imports in ascending order, half descending: the
# lock orders of two imports differ as much as they can.
CROWD = 40
ROUNDS = 5
IMPORTERS = 8
ADDERS = 4
GRADES_PER_ADDER = 3
# Each round has this long; a hung call fails the test instead of hanging it.
ROUND_SECONDS = 60


def _csv(student_ids: list[int], title: str) -> str:
    return "student_id,title,type,score\n" + "".join(f"{sid},{title},Quiz,{sid % 101}\n" for sid in student_ids)


def test_concurrent_imports_and_grades_on_two_instances_never_fail_and_are_stored_once(postgres_url):
    import psycopg

    with (
        GradingService(port=0, registry=NOWHERE, db=postgres_url) as first,
        GradingService(port=0, registry=NOWHERE, db=postgres_url) as second,
    ):
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO students (first_name, last_name) SELECT 'Crowd', 'Member ' || n "
                "FROM generate_series(1, %s) AS n",
                (CROWD,),
            )
            everyone = [sid for (sid,) in conn.execute("SELECT id FROM students ORDER BY id").fetchall()]
        clients = [Client(first.url, timeout=ROUND_SECONDS), Client(second.url, timeout=ROUND_SECONDS)]
        imported: list[str] = []
        added: list[dict] = []
        failures: list[str] = []
        lock = threading.Lock()

        def import_one(worker: int, round_: int) -> None:
            title = f"import-{round_}-{worker}"
            order = everyone if worker % 2 else everyone[::-1]
            result = clients[worker % 2].Grades.import_grades(_csv(order, title), request_id=title)
            assert result == {"imported": len(everyone)}
            with lock:
                imported.append(title)

        def add_some(worker: int, round_: int) -> None:
            for n in range(GRADES_PER_ADDER):
                sid = everyone[(worker * 7 + round_ * 3 + n) % len(everyone)]
                stored = clients[(worker + n) % 2].Grades.add_grade(
                    sid, f"add-{round_}-{worker}-{n}", "Test", 70, request_id=f"add-{round_}-{worker}-{n}"
                )
                with lock:
                    added.append(stored)

        def run(job, worker: int, round_: int, barrier: threading.Barrier) -> None:
            try:
                barrier.wait(ROUND_SECONDS)
                job(worker, round_)
            except (RpcError, AssertionError, threading.BrokenBarrierError) as exc:
                with lock:
                    failures.append(f"{job.__name__} {worker} in round {round_}: {exc}")

        for round_ in range(ROUNDS):
            barrier = threading.Barrier(IMPORTERS + ADDERS)
            threads = [threading.Thread(target=run, args=(import_one, w, round_, barrier)) for w in range(IMPORTERS)]
            threads += [threading.Thread(target=run, args=(add_some, w, round_, barrier)) for w in range(ADDERS)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + ROUND_SECONDS
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            assert not any(thread.is_alive() for thread in threads), f"round {round_} outlived {ROUND_SECONDS} s"

    assert failures == []
    assert len(imported) == ROUNDS * IMPORTERS and len(added) == ROUNDS * ADDERS * GRADES_PER_ADDER
    with psycopg.connect(postgres_url) as conn:
        titles = Counter(title for (title,) in conn.execute("SELECT title FROM grades").fetchall())
        ids = [gid for (gid,) in conn.execute("SELECT id FROM grades WHERE title LIKE 'add-%%'").fetchall()]
        drift = conn.execute(
            "SELECT t.student_id FROM student_totals t WHERE t.grade_count <> "
            "(SELECT COUNT(*) FROM grades g WHERE g.student_id = t.student_id)"
        ).fetchall()
    assert all(titles[title] == len(everyone) for title in imported)  # every import whole, and once
    assert sorted(ids) == sorted(grade["id"] for grade in added)  # every grade once
    assert all(titles[grade["title"]] == 1 for grade in added)
    assert drift == []  # the totals still count every grade


def test_a_transaction_chosen_as_a_deadlock_victim_runs_again(postgres_url, caplog):
    """A deadlock no lock order of ours prevents (another client locks totals rows in the
    other order): the import PostgreSQL rolls back runs again, and the call succeeds."""
    import uuid

    import psycopg
    from helpers.waiting import wait_until

    name = f"grading-victim-{uuid.uuid4().hex[:10]}"
    with (
        GradingService(port=0, registry=NOWHERE, db=f"{postgres_url}&application_name={name}") as service,
        psycopg.connect(postgres_url) as other,
        psycopg.connect(postgres_url, autocommit=True) as watch,
    ):
        client = Client(service.url, timeout=30)
        # The import starts waiting first, so its deadlock check runs first and it is the victim.
        other.execute("SET deadlock_timeout = '10s'")
        other.execute("SELECT 1 FROM student_totals WHERE student_id = 2 FOR UPDATE")
        result: list = []
        importing = threading.Thread(
            target=lambda: result.append(client.Grades.import_grades(_csv([1, 2], "Victim"), request_id="victim-1"))
        )
        with caplog.at_level("INFO", logger="rpc_cluster.grading"):
            importing.start()
            try:
                wait_until(
                    lambda: watch.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
                        (name,),
                    ).fetchall(),
                    15,
                    message="the import to wait for student 2's totals",
                )
                # Student 1's totals are the import's now: this closes the cycle.
                other.execute("SELECT 1 FROM student_totals WHERE student_id = 1 FOR UPDATE")
                other.commit()
            finally:
                importing.join(30)
        assert result == [{"imported": 2}]
        assert "running the transaction again" in caplog.text
        assert [g["title"] for g in client.Grades.get_student(1)["grades"]].count("Victim") == 1
        assert [g["title"] for g in client.Grades.get_student(2)["grades"]].count("Victim") == 1


# -- a full disk under SQLite ------------------------------------------------------------------------

# Room for the seeded store, its WAL and a few writes; small enough to fill in an instant.
DISK_BYTES = 1 << 20


def test_a_full_disk_is_a_503_that_stores_nothing_and_writes_resume_once_freed(small_disk, caplog):
    from rpc_cluster import StoreFull

    disk = small_disk(DISK_BYTES)
    with (
        caplog.at_level("INFO", logger="rpc_cluster"),
        GradingService(port=0, registry=NOWHERE, db=str(disk.path / "grades.db")) as service,
    ):
        client = Client(service.url, timeout=30)
        client.Grades.add_grade(1, "Before", "Quiz", 60)
        # Signed in while there is room: a session is a row too.
        portal = portal_client(make_app(client), make_user(client))
        disk.fill()
        try:
            answer = rpc(
                service.url, "Grades.add_grade", {"student_id": 1, "title": "Refused", "type": "Quiz", "score": 70}
            )
            assert answer["error"] == {
                "code": 503,
                "message": "the store is out of space",
                "data": {"reason": "out_of_space"},
            }
            with pytest.raises(StoreFull) as refused:
                client.Grades.add_grade(1, "Refused too", "Quiz", 70, request_id="refused-1")
            assert refused.value.code == 503 and refused.value.message == "the store is out of space"
            many = _csv([1, 2, 3, 4, 5] * 400, "Refused import")
            with pytest.raises(StoreFull):
                client.Grades.import_grades(many, request_id="refused-import")
            with pytest.raises(StoreFull):
                client.Grades.add_student("Refused", "Student")
            assert client.Grades.get_student(1)["first_name"] == "Nick"  # reads go on
            # The portal shows its 503 page for it, and stores nothing either.
            token = portal.get("/students/1").csrf()
            page = portal.post(
                "/students/1/grades",
                {"csrf_token": token, "title": "Refused in the portal", "type": "Quiz", "score": "75"},
            )
            assert page.status == 503 and "the store is out of space" in page.text and "Traceback" not in page.text
        finally:
            disk.free()
        # Space is back: the same calls (request_ids too: their claims were rolled back) succeed.
        after = client.Grades.add_grade(1, "After", "Quiz", 80)
        assert client.Grades.add_grade(1, "Refused too", "Quiz", 70, request_id="refused-1")["title"] == "Refused too"
        assert client.Grades.import_grades(_csv([2], "Imported after"), request_id="refused-import-2") == {
            "imported": 1
        }
        titles = [g["title"] for sid in range(1, 6) for g in client.Grades.get_student(sid)["grades"]]
        assert [g["title"] for g in client.Grades.get_student(1)["grades"]][-3:] == ["Before", "After", "Refused too"]
        assert after["title"] == "After"
        assert (
            not {"Refused", "Refused import", "Refused in the portal"} & set(titles)
            and titles.count("Refused too") == 1
        )
        assert client.Grades.count_students() == 5
    full = [
        r for r in caplog.records if r.name.startswith("rpc_cluster") and "the store is out of space" in r.getMessage()
    ]
    assert len(full) == 5  # grading: one line for each refused call (the portal says it once more, its own way)
    assert all(r.exc_info is None for r in full)
    assert not any(r.exc_info for r in caplog.records)  # no traceback at all


def test_out_of_space_is_recognised_for_both_databases_and_nothing_else(tmp_path):
    import sqlite3

    import psycopg

    from rpc_cluster import StoreFull, TransportError
    from rpc_cluster.core.errors import error_from_object
    from rpc_cluster.grading.storage.out_of_space import out_of_space

    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    io_error = sqlite3.OperationalError("disk I/O error")
    io_error.sqlite_errorcode = sqlite3.SQLITE_IOERR | (3 << 8)  # SQLITE_IOERR_WRITE
    assert out_of_space(full) and out_of_space(psycopg.errors.DiskFull("could not extend file"))
    assert not out_of_space(io_error, tmp_path)  # a disk with room: a real I/O error, not a full disk
    assert not out_of_space(psycopg.errors.DeadlockDetected("deadlock detected"))
    assert not out_of_space(sqlite3.OperationalError("database is locked"))
    # The client raises it back as StoreFull, and it is no transport error: nothing sends it again.
    back = error_from_object(StoreFull().to_error_object())
    assert isinstance(back, StoreFull) and not isinstance(back, TransportError)
