"""The grading service on both stores: methods, validation, paging, sharing, durability."""

import signal
import threading

import pytest
from helpers.waiting import wait_until

from rpc_cluster import Client, NotFound, RpcError, connect
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"


@pytest.fixture
def grading(store_url):
    with GradingService(port=0, registry=NOWHERE, db=store_url) as service:
        yield Client(service.url)


def test_seeded_with_the_five_students_of_the_sample(grading):
    assert grading.Grades.count_students() == 5
    nick = grading.Grades.get_student(1)
    assert (nick["first_name"], nick["last_name"]) == ("Nick", "Carter")
    assert [(g["title"], g["type"], g["score"]) for g in nick["grades"]] == [
        ("Quiz 1", "Quiz", 85.0),
        ("Final Exam", "Exam", 94.0),
        ("Quiz 2", "Quiz", 82.0),
    ]
    assert nick["average"] == pytest.approx(87.0)


def test_add_grade_returns_it_and_updates_the_average(grading):
    stored = grading.Grades.add_grade(student_id=3, title="  Quiz 3 ", type="Homework", score=99.5)
    # Emma Stone is in the sample's one class, so the grade is too.
    assert stored == {"id": stored["id"], "title": "Quiz 3", "type": "Homework", "score": 99.5, "class_id": 1}
    emma = grading.Grades.get_student(3)
    assert emma["grades"][-1] == stored
    assert emma["average"] == pytest.approx((67 + 0 + 75 + 99.5) / 4)


def test_a_student_without_grades_has_a_null_average(grading):
    ada = grading.Grades.add_student("Ada", "Lovelace")
    assert ada == {"id": 6, "first_name": "Ada", "last_name": "Lovelace", "average": None, "grades": []}
    assert grading.Grades.get_student(6)["average"] is None
    assert grading.Grades.count_students() == 6


def test_unknown_student_is_404(grading):
    with pytest.raises(NotFound) as info:
        grading.Grades.get_student(999)
    assert info.value.code == 404 and info.value.data == {"student_id": 999}
    with pytest.raises(NotFound):
        grading.Grades.add_grade(999, "Quiz", "Quiz", 50)
    assert all(s["id"] != 999 for s in grading.Grades.get_students())


def test_paging_in_order(grading):
    for n in range(20):
        grading.Grades.add_student(f"First{n:02d}", f"Last{n:02d}")
    everyone = grading.Grades.get_students()
    assert [s["id"] for s in everyone] == list(range(1, 26))
    page = grading.Grades.get_students(offset=10, limit=5)
    assert [s["id"] for s in page] == [11, 12, 13, 14, 15]
    assert grading.Grades.get_students(offset=24, limit=10)[0]["first_name"] == "First19"
    assert grading.Grades.get_students(offset=100, limit=10) == []
    first = grading.Grades.get_students(limit=2)
    assert [len(s["grades"]) for s in first] == [3, 3] and first[0]["average"] == pytest.approx(87.0)


def test_two_instances_share_one_postgresql_store(postgres_url):
    with (
        GradingService(port=0, registry=NOWHERE, db=postgres_url) as first,
        GradingService(port=0, registry=NOWHERE, db=postgres_url) as second,
    ):
        a, b = Client(first.url), Client(second.url)
        assert a.Grades.count_students() == b.Grades.count_students() == 5  # seeded once
        stored = a.Grades.add_grade(2, "Shared", "Test", 77)
        assert b.Grades.get_student(2)["grades"][-1] == stored


def test_concurrent_grades_across_two_instances_are_each_stored_exactly_once(postgres_url, registry_service):
    import psycopg

    with (
        GradingService(port=0, registry=registry_service.url, db=postgres_url) as first,
        GradingService(port=0, registry=registry_service.url, db=postgres_url) as second,
    ):
        wait_until(lambda: len(registry_service.store.lookup("GradingService")) == 2, 10, message="both registered")
        client = connect("GradingService", registry_service.url)
        acknowledged: list[dict] = []
        lock = threading.Lock()

        def work(worker):
            for n in range(25):
                stored = client.Grades.add_grade(1 + (worker + n) % 5, f"w{worker}-n{n}", "Quiz", n)
                with lock:
                    acknowledged.append(stored)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert set(client.instances.urls()) == {first.url, second.url}  # calls spread over both
    assert len(acknowledged) == 200
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT id, title FROM grades WHERE title LIKE 'w%%-n%%'").fetchall()
    assert sorted(rows) == sorted((g["id"], g["title"]) for g in acknowledged)
    assert len({title for _, title in rows}) == 200


def test_an_acknowledged_grade_survives_kill_9(processes, store_url):
    grading = processes.start("cmd/gradingservice/main.py", "--port", "0", "--registry", NOWHERE, "--db", store_url)
    client = Client(grading.url())
    stored = client.Grades.add_grade(4, "Before the crash", "Exam", 88)
    grading.signal(signal.SIGKILL)  # right after the response
    grading.wait()
    restarted = processes.start("cmd/gradingservice/main.py", "--port", "0", "--registry", NOWHERE, "--db", store_url)
    student = Client(restarted.url()).Grades.get_student(4)
    assert stored in student["grades"]
    assert Client(restarted.url()).Grades.count_students() == 5  # not seeded again


def test_bad_database_is_a_one_line_error(processes, tmp_path):
    proc = processes.start(
        "cmd/gradingservice/main.py",
        "--port",
        "0",
        "--registry",
        NOWHERE,
        "--db",
        "postgresql://nobody@127.0.0.1:1/none",
    )
    assert proc.wait(30) != 0
    output = proc.output().strip().splitlines()
    assert output[-1].startswith("rpc-cluster grading: error: cannot open the store")
    assert "Traceback" not in proc.output()


def test_cached_students_never_go_stale(tmp_path):
    """get_student is cached on SQLite; every commit, from anywhere, must show at once."""
    import sqlite3
    import xmlrpc.client

    db = str(tmp_path / "grades.db")
    with (
        GradingService(port=0, registry=NOWHERE, db=db) as first,
        GradingService(port=0, registry=NOWHERE, db=db) as second,
    ):
        a, b = Client(first.url), Client(second.url)
        assert a.Grades.get_student(1) == b.Grades.get_student(1)  # both caches warm
        stored = a.Grades.add_grade(1, "Through A", "Quiz", 10)
        assert a.Grades.get_student(1)["grades"][-1] == stored  # our own write
        assert b.Grades.get_student(1)["grades"][-1] == stored  # another process's write
        with sqlite3.connect(db) as conn:  # a write from outside the service altogether
            conn.execute("UPDATE students SET first_name = 'Nicholas' WHERE id = 1")
        assert a.Grades.get_student(1)["first_name"] == "Nicholas"
        assert b.Grades.get_student(1)["first_name"] == "Nicholas"
        proxy = xmlrpc.client.ServerProxy(first.url.replace("/rpc", "/RPC2"), allow_none=True)
        assert proxy.Grades.get_student(1)["first_name"] == "Nicholas"  # cached JSON, sent as XML-RPC
        with a.batch() as batch:
            one, two = batch.call("Grades.get_student", 1), batch.call("Grades.get_student", 2)
        assert one.result()["id"] == 1 and two.result()["last_name"] == "Baggio"


# -- exactly once (request_id) --------------------------------------------------------------------


def test_a_repeated_request_id_stores_nothing_and_returns_the_first_result(grading):
    first = grading.Grades.add_grade(student_id=2, title="Lab 1", type="Homework", score=88, request_id="form-7f3a")
    again = grading.Grades.add_grade(student_id=2, title="Lab 1", type="Homework", score=88, request_id="form-7f3a")
    assert again == first
    assert [g["title"] for g in grading.Grades.get_student(2)["grades"]].count("Lab 1") == 1
    ada = grading.Grades.add_student("Ada", "Lovelace", request_id="student-ada")
    assert grading.Grades.add_student("Ada", "Lovelace", request_id="student-ada") == ada
    assert grading.Grades.count_students() == 6


def test_the_same_request_id_for_another_call_is_a_conflict_and_stores_nothing(grading):
    grading.Grades.add_grade(student_id=2, title="Lab 1", type="Homework", score=88, request_id="reused")
    with pytest.raises(RpcError) as info:
        grading.Grades.add_grade(student_id=2, title="Lab 1", type="Homework", score=12, request_id="reused")
    assert info.value.code == 409 and info.value.data["request_id"] == "reused"
    with pytest.raises(RpcError) as info:
        grading.Grades.add_student("Eve", "Mallory", request_id="reused")
    assert info.value.code == 409
    assert len(grading.Grades.get_student(2)["grades"]) == 4 and grading.Grades.count_students() == 5


def test_an_unknown_student_does_not_use_up_its_request_id(grading):
    with pytest.raises(NotFound):
        grading.Grades.add_grade(student_id=99, title="Q", type="Quiz", score=1, request_id="early")
    with pytest.raises(NotFound):
        grading.Grades.add_grade(student_id=99, title="Q", type="Quiz", score=1, request_id="early")


def test_one_request_id_racing_on_two_instances_is_stored_once(postgres_url):
    with (
        GradingService(port=0, registry=NOWHERE, db=postgres_url) as first,
        GradingService(port=0, registry=NOWHERE, db=postgres_url) as second,
    ):
        clients = [Client(first.url), Client(second.url)]
        results, barrier = [], threading.Barrier(8)

        def add(n: int) -> None:
            barrier.wait()
            results.append(
                clients[n % 2].Grades.add_grade(
                    student_id=4, title="Race", type="Test", score=70, request_id="one-click"
                )
            )

        threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(results) == 8 and all(r == results[0] for r in results)
        assert [g["title"] for g in clients[0].Grades.get_student(4)["grades"]].count("Race") == 1


def test_dead_postgresql_connections_are_replaced_not_served(postgres_url):
    """After pg_terminate_backend, no call may fail."""
    import uuid

    import psycopg

    name = f"grading-test-{uuid.uuid4().hex[:10]}"
    with GradingService(port=0, registry=NOWHERE, db=f"{postgres_url}&application_name={name}") as service:
        client = Client(service.url)
        barrier = threading.Barrier(6)

        def read() -> None:
            barrier.wait()
            client.Grades.get_students()

        threads = [threading.Thread(target=read) for _ in range(6)]  # several pooled connections
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (name,)
            ).fetchall()
            assert killed
            # pg_terminate_backend only signals: wait until those backends are gone.
            wait_until(
                lambda: (
                    not admin.execute("SELECT 1 FROM pg_stat_activity WHERE application_name = %s", (name,)).fetchall()
                ),
                5,
                message="the backends to exit",
            )
        for _ in range(8):
            assert client.Grades.get_student(1)["first_name"] == "Nick"
        assert client.Grades.add_grade(student_id=1, title="After", type="Quiz", score=50)["title"] == "After"
