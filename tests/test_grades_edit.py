"""Editing grades, listing students and the class's statistics, on both stores."""

import json
import math
import sqlite3
import threading
import urllib.request
import xmlrpc.client

import pytest

from rpc_cluster import Client, InvalidParams, NotFound
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"
# The seeded sample's averages, by student id.
SEED_AVERAGES = {1: 87.0, 2: (100 + 100 + 81) / 3, 3: (67 + 0 + 75) / 3, 4: (44 + 0 + 66) / 3, 5: (23 + 0 + 44) / 3}


@pytest.fixture
def grading(store_url):
    with GradingService(port=0, registry=NOWHERE, db=store_url) as service:
        yield Client(service.url)


def listed(grading, **params) -> list[tuple]:
    """(id, average, grade_count) of every student list_students returns on one page."""
    return [(s["id"], s["average"], s["grade_count"]) for s in grading.Grades.list_students(**params)["students"]]


# -- update_grade and delete_grade ----------------------------------------------------------------


def test_update_grade_changes_only_the_given_fields(grading):
    first = grading.Grades.get_student(1)["grades"][0]
    assert first == {"id": 1, "title": "Quiz 1", "type": "Quiz", "score": 85.0}
    stored = grading.Grades.update_grade(1, score=100)
    assert stored == {"id": 1, "title": "Quiz 1", "type": "Quiz", "score": 100.0}
    stored = grading.Grades.update_grade(grade_id=1, title="  Retake  ", type="Test")
    assert stored == {"id": 1, "title": "Retake", "type": "Test", "score": 100.0}
    assert grading.Grades.update_grade(1) == stored  # nothing given: nothing changes
    nick = grading.Grades.get_student(1)
    assert nick["grades"][0] == stored
    assert nick["average"] == pytest.approx((100 + 94 + 82) / 3)
    assert grading.Grades.list_students(query="Carter")["students"][0]["average"] == nick["average"]


def test_delete_grade_removes_it_and_recomputes_the_average(grading):
    assert grading.Grades.delete_grade(2) is True
    nick = grading.Grades.get_student(1)
    assert [g["id"] for g in nick["grades"]] == [1, 3]
    assert nick["average"] == pytest.approx((85 + 82) / 2)
    with pytest.raises(NotFound) as info:
        grading.Grades.delete_grade(2)
    assert info.value.code == 404 and info.value.data == {"grade_id": 2}


def test_a_student_whose_grades_are_all_deleted_has_no_average_and_sorts_last(grading):
    for grade_id in (1, 2, 3):
        grading.Grades.delete_grade(grade_id)
    nick = grading.Grades.get_student(1)
    assert nick["grades"] == [] and nick["average"] is None
    assert listed(grading, sort="average")[-1] == (1, None, 0)
    assert listed(grading, sort="-average")[-1] == (1, None, 0)
    stats = grading.Grades.statistics()
    assert stats["students"] == 5 and stats["grades"] == 12 and sum(stats["histogram"]) == 4


@pytest.mark.parametrize(
    "method, kwargs",
    [
        ("update_grade", {"grade_id": 999, "score": 50}),
        ("update_grade", {"grade_id": 999}),
        ("delete_grade", {"grade_id": 999}),
    ],
)
def test_an_unknown_grade_is_404_naming_it(grading, method, kwargs):
    with pytest.raises(NotFound) as info:
        grading.call(f"Grades.{method}", **kwargs)
    assert info.value.code == 404 and info.value.data == {"grade_id": 999}


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"grade_id": "1", "score": 5}, "grade_id"),
        ({"grade_id": True, "score": 5}, "grade_id"),
        ({"grade_id": 1.0, "score": 5}, "grade_id"),
        ({"grade_id": 0, "score": 5}, "grade_id"),
        ({"grade_id": 2**70, "score": 5}, "grade_id"),
        ({"grade_id": 1, "score": 100.5}, "score"),
        ({"grade_id": 1, "score": -0.1}, "score"),
        ({"grade_id": 1, "score": "90"}, "score"),
        ({"grade_id": 1, "score": False}, "score"),
        ({"grade_id": 1, "score": 10**400}, "score"),
        ({"grade_id": 1, "title": ""}, "title"),
        ({"grade_id": 1, "title": "x" * 201}, "title"),
        ({"grade_id": 1, "title": "a\tb"}, "title"),
        ({"grade_id": 1, "title": 7}, "title"),
        ({"grade_id": 1, "type": "Essay"}, "type"),
        ({"grade_id": 1, "type": "quiz"}, "type"),
    ],
)
def test_update_grade_validates_like_add_grade_and_stores_nothing(grading, kwargs, field):
    before = grading.Grades.get_student(1)
    with pytest.raises(InvalidParams) as info:
        grading.Grades.update_grade(**kwargs)
    assert info.value.data["field"] == field and info.value.data["problem"]
    assert grading.Grades.get_student(1) == before


@pytest.mark.parametrize("kwargs", [{"grade_id": False}, {"grade_id": "2"}, {"grade_id": -1}])
def test_delete_grade_takes_only_whole_ids(grading, kwargs):
    with pytest.raises(InvalidParams) as info:
        grading.Grades.delete_grade(**kwargs)
    assert info.value.data["field"] == "grade_id"
    assert len(grading.Grades.get_student(1)["grades"]) == 3


@pytest.mark.parametrize(
    "body, code",
    [
        ({"method": "Grades.update_grade", "params": {}}, -32602),  # grade_id missing
        ({"method": "Grades.update_grade", "params": {"grade_id": 1, "student_id": 2}}, -32602),
        ({"method": "Grades.delete_grade", "params": []}, -32602),
        ({"method": "Grades.list_students", "params": [0, 50, None, "name", "extra"]}, -32602),
    ],
)
def test_missing_and_unknown_params_are_invalid_params(grading, body, code):
    request = urllib.request.Request(
        grading.url, json.dumps({"jsonrpc": "2.0", "id": 1, **body}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        answer = json.loads(response.read())
    assert answer["error"]["code"] == code and "Traceback" not in json.dumps(answer)


def test_nan_is_refused_on_both_wires(grading):
    # JSON has no NaN: the body is not JSON at all.
    request = urllib.request.Request(
        grading.url,
        b'{"jsonrpc": "2.0", "id": 1, "method": "Grades.update_grade", "params": [1, null, null, NaN]}',
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["error"]["code"] == -32700
    # XML-RPC carries one; it is outside 0-100.
    proxy = xmlrpc.client.ServerProxy(grading.url.replace("/rpc", "/RPC2"), allow_none=True)
    with pytest.raises(xmlrpc.client.Fault) as info:
        proxy.Grades.update_grade(1, None, None, math.nan)
    assert info.value.faultCode == -32602 and "score" in info.value.faultString
    assert grading.Grades.get_student(1)["grades"][0]["score"] == 85.0


# -- list_students ---------------------------------------------------------------------------------


def test_list_students_first_page_by_name_without_grades(grading):
    page = grading.Grades.list_students()
    assert page["total"] == 5
    # Last name, then first name, ignoring case: Baggio, Carter, qiao, san, Stone.
    assert [s["last_name"] for s in page["students"]] == ["Baggio", "Carter", "qiao", "san", "Stone"]
    for student in page["students"]:
        assert set(student) == {"id", "first_name", "last_name", "average", "grade_count"}
        assert student["average"] == pytest.approx(SEED_AVERAGES[student["id"]])
        assert student["grade_count"] == 3


def test_list_students_sorts_by_average_both_ways_with_the_ungraded_last_and_ties_by_id(grading):
    twin = grading.Grades.add_student("Nick", "Twin")  # the same average as Nick Carter (87)
    for score in (85, 94, 82):
        grading.Grades.add_grade(twin["id"], "Copy", "Quiz", score)
    empty = grading.Grades.add_student("Aaron", "Aardvark")  # no grades: sorts last both ways
    up = listed(grading, sort="average")
    assert [sid for sid, _, _ in up] == [5, 4, 3, 1, twin["id"], 2, empty["id"]]
    down = listed(grading, sort="-average")
    assert [sid for sid, _, _ in down] == [2, 1, twin["id"], 3, 4, 5, empty["id"]]
    assert down[-1] == (empty["id"], None, 0)
    assert listed(grading)[0] == (empty["id"], None, 0)  # by name, Aardvark comes first


def test_list_students_pages_are_stable_and_cover_everyone_once(grading):
    for n in range(23):
        student = grading.Grades.add_student(f"Pupil{n:02d}", "Same")
        if n % 3:
            grading.Grades.add_grade(student["id"], "Only", "Quiz", 50)  # many equal averages
    for sort in ("name", "average", "-average"):
        whole = [s[0] for s in listed(grading, sort=sort, limit=500)]
        pages = []
        for offset in range(0, 28, 6):
            page = grading.Grades.list_students(offset=offset, limit=6, sort=sort)
            assert page["total"] == 28
            pages += [s["id"] for s in page["students"]]
        assert pages == whole and sorted(whole) == list(range(1, 29))
    past_the_end = grading.Grades.list_students(offset=100, limit=6)
    assert past_the_end == {"total": 28, "students": []}
    assert grading.Grades.list_students(offset=100, limit=6, query="pupil") == {"total": 23, "students": []}


@pytest.mark.parametrize(
    "query, last_names",
    [
        ("CART", ["Carter"]),  # last name, any case (the trigram index)
        ("nick", ["Carter"]),  # first name
        ("qiao", ["qiao"]),  # first name xiaoqiao and last name qiao: one student, once
        ("  Stone ", ["Stone"]),  # surrounding white space ignored
        ("er", ["Baggio", "Carter"]),  # two characters: scanned, not indexed
        ("o", ["Baggio", "qiao", "Stone"]),
        ("zz", []),
        ("", ["Baggio", "Carter", "qiao", "san", "Stone"]),  # empty: everyone
    ],
)
def test_list_students_query_matches_first_or_last_name_ignoring_case(grading, query, last_names):
    page = grading.Grades.list_students(query=query)
    assert [s["last_name"] for s in page["students"]] == last_names and page["total"] == len(last_names)


def test_like_wildcards_in_a_query_match_themselves(grading):
    for first, last in (("Pat", "O_Hara"), ("Pat", "OxHara"), ("Ann", "100%"), ("Ann", "1000"), ("Bo", "Back\\slash")):
        grading.Grades.add_student(first, last)
    for query, expected in (
        ("_", ["O_Hara"]),
        ("O_H", ["O_Hara"]),
        ("%", ["100%"]),
        ("0%", ["100%"]),
        ("\\", ["Back\\slash"]),
        ("k\\s", ["Back\\slash"]),
        ('"', []),
    ):
        assert [s["last_name"] for s in grading.Grades.list_students(query=query)["students"]] == expected, query


def test_a_query_in_another_script_ignores_case_too(grading):
    grading.Grades.add_student("Émile", "Łukasiewicz")
    assert grading.Grades.list_students(query="ÉMIL")["total"] == 1
    assert grading.Grades.list_students(query="łukasiewicz")["students"][0]["first_name"] == "Émile"


def test_search_sorts_and_pages_too(grading):
    for n in range(7):
        student = grading.Grades.add_student(f"Kid{n}", "Searchable")
        grading.Grades.add_grade(student["id"], "Q", "Quiz", 10 * n)
    page = grading.Grades.list_students(query="searchable", sort="-average", offset=2, limit=3)
    assert page["total"] == 7
    assert [s["first_name"] for s in page["students"]] == ["Kid4", "Kid3", "Kid2"]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"sort": "grade"}, "sort"),
        ({"sort": "Name"}, "sort"),
        ({"sort": None}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": 10**9}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": "50"}, "limit"),
        ({"limit": None}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 1.5}, "offset"),
        ({"offset": 2**64}, "offset"),
        ({"query": 5}, "query"),
        ({"query": ["Nick"]}, "query"),
        ({"query": "x" * 101}, "query"),
    ],
)
def test_list_students_bad_params_name_the_field(grading, kwargs, field):
    with pytest.raises(InvalidParams) as info:
        grading.Grades.list_students(**kwargs)
    assert info.value.data["field"] == field and info.value.data["problem"]


def test_the_largest_page_is_500(grading):
    assert grading.Grades.list_students(limit=500)["total"] == 5


# -- statistics ------------------------------------------------------------------------------------


def test_statistics_of_the_seeded_class(grading):
    stats = grading.Grades.statistics()
    assert set(stats) == {"students", "grades", "mean", "median", "histogram"}
    assert stats["students"] == 5 and stats["grades"] == 15
    assert stats["mean"] == pytest.approx(sum(SEED_AVERAGES.values()) / 5)  # each student counts once
    assert stats["median"] == pytest.approx(SEED_AVERAGES[3])  # 22.3, 36.7, [47.3], 87, 93.7
    assert stats["histogram"] == [0, 0, 1, 1, 1, 0, 0, 0, 1, 1]


def test_statistics_leave_out_the_ungraded_and_take_the_two_middle_averages_of_an_even_count(grading):
    grading.Grades.add_student("No", "Grades")
    stats = grading.Grades.statistics()
    assert stats["students"] == 6 and stats["mean"] == pytest.approx(sum(SEED_AVERAGES.values()) / 5)
    assert sum(stats["histogram"]) == 5
    perfect = grading.Grades.add_student("Top", "Marks")
    grading.Grades.add_grade(perfect["id"], "Final", "Exam", 100)
    stats = grading.Grades.statistics()
    assert stats["median"] == pytest.approx((SEED_AVERAGES[3] + SEED_AVERAGES[1]) / 2)
    assert stats["histogram"][9] == 2  # 93.7 and exactly 100 share the last bucket
    assert stats["grades"] == 16 and stats["students"] == 7


def test_statistics_buckets_hold_their_lower_edge(grading):
    for score in (10, 9.99, 89.99, 90):
        student = grading.Grades.add_student("Edge", f"Case{score}")
        grading.Grades.add_grade(student["id"], "Only", "Quiz", score)
    histogram = grading.Grades.statistics()["histogram"]
    # Seed: 22.3 (2), 36.7 (3), 47.3 (4), 87 (8), 93.7 (9); then 10 (1), 9.99 (0), 89.99 (8), 90 (9).
    assert histogram == [1, 1, 1, 1, 1, 0, 0, 0, 2, 2]


def test_statistics_of_a_class_without_grades_are_null(grading):
    for grade_id in range(1, 16):
        grading.Grades.delete_grade(grade_id)
    assert grading.Grades.statistics() == {
        "students": 5,
        "grades": 0,
        "mean": None,
        "median": None,
        "histogram": [0] * 10,
    }


# -- totals stay exact --------------------------------------------------------------------------------


def test_concurrent_edits_on_two_instances_leave_exact_totals(store_url):
    with (
        GradingService(port=0, registry=NOWHERE, db=store_url) as first,
        GradingService(port=0, registry=NOWHERE, db=store_url) as second,
    ):
        clients = [Client(first.url), Client(second.url)]
        barrier = threading.Barrier(6)

        def work(n: int) -> None:
            grades = clients[n % 2].Grades
            barrier.wait()
            for k in range(15):
                stored = grades.add_grade(4, f"w{n}-{k}", "Quiz", (n * 7 + k * 3) % 101 + 0.1)
                if k % 3 == 0:
                    grades.delete_grade(stored["id"])
                elif k % 3 == 1:
                    grades.update_grade(stored["id"], score=(k * 11) % 100 + 0.3)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        scores = [g["score"] for g in clients[0].Grades.get_student(4)["grades"]]
        assert len(scores) == 3 + 6 * 10
        row = clients[1].Grades.list_students(query="zhangsan")["students"][0]
        assert row["grade_count"] == len(scores)
        assert row["average"] == pytest.approx(sum(scores) / len(scores), rel=1e-12)


def test_totals_follow_grades_written_with_plain_sql(tmp_path):
    db = str(tmp_path / "grades.db")
    with GradingService(port=0, registry=NOWHERE, db=db) as service:
        grading = Client(service.url)
        with sqlite3.connect(db) as conn:
            conn.execute("INSERT INTO grades (student_id, title, type, score) VALUES (5, 'Outside', 'Quiz', 100)")
            conn.execute("UPDATE grades SET score = 50 WHERE id = 13")  # xiaoqiao's 23 becomes 50
            conn.execute("UPDATE students SET last_name = 'Renamed' WHERE id = 5")
        assert listed(grading, query="renamed") == [(5, pytest.approx((50 + 0 + 44 + 100) / 4), 4)]
        assert grading.Grades.list_students(query="qiao")["students"][0]["last_name"] == "Renamed"  # first name


def test_a_store_made_before_the_totals_gets_them(tmp_path):
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:  # the schema as it was before editing and search, with grades in it
        conn.executescript("""
            CREATE TABLE students (id INTEGER PRIMARY KEY AUTOINCREMENT, first_name TEXT NOT NULL,
                                   last_name TEXT NOT NULL);
            CREATE TABLE grades (id INTEGER PRIMARY KEY AUTOINCREMENT, student_id INTEGER NOT NULL
                                 REFERENCES students(id), title TEXT NOT NULL, type TEXT NOT NULL, score REAL NOT NULL);
            INSERT INTO students (first_name, last_name) VALUES ('Old', 'Timer'), ('No', 'Marks');
            INSERT INTO grades (student_id, title, type, score) VALUES (1, 'A', 'Quiz', 40), (1, 'B', 'Test', 70);
        """)
    with GradingService(port=0, registry=NOWHERE, db=str(db)) as service:
        grading = Client(service.url)
        assert listed(grading, sort="-average") == [(1, 55.0, 2), (2, None, 0)]
        assert grading.Grades.list_students(query="timer")["total"] == 1
        assert grading.Grades.statistics()["mean"] == 55.0


def test_a_postgresql_store_made_before_the_totals_gets_them(postgres_url):
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        conn.execute("""
            CREATE TABLE students (id BIGSERIAL PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL);
            CREATE TABLE grades (id BIGSERIAL PRIMARY KEY, student_id BIGINT NOT NULL REFERENCES students(id),
                                 title TEXT NOT NULL, type TEXT NOT NULL, score DOUBLE PRECISION NOT NULL);
            INSERT INTO students (first_name, last_name) VALUES ('Old', 'Timer'), ('No', 'Marks');
            INSERT INTO grades (student_id, title, type, score) VALUES (1, 'A', 'Quiz', 40), (1, 'B', 'Test', 70);
        """)
    with GradingService(port=0, registry=NOWHERE, db=postgres_url) as service:
        grading = Client(service.url)
        assert listed(grading, sort="-average") == [(1, 55.0, 2), (2, None, 0)]
        assert grading.Grades.list_students(query="timer")["total"] == 1
        grading.Grades.add_grade(2, "First", "Quiz", 90)
        assert listed(grading, sort="average") == [(1, 55.0, 2), (2, 90.0, 1)]


def test_cached_students_stay_exact_under_every_new_write(tmp_path):
    """get_student is cached on SQLite: each new write must show at once, on both instances of one file."""
    db = str(tmp_path / "grades.db")
    with (
        GradingService(port=0, registry=NOWHERE, db=db) as first,
        GradingService(port=0, registry=NOWHERE, db=db) as second,
    ):
        a, b = Client(first.url), Client(second.url)

        def both(student_id: int) -> dict:
            one, two = a.Grades.get_student(student_id), b.Grades.get_student(student_id)
            assert one == two
            return one

        both(1), both(2)  # both caches warm
        a.Grades.update_grade(1, score=5)
        assert both(1)["grades"][0]["score"] == 5.0 and both(1)["average"] == pytest.approx((5 + 94 + 82) / 3)
        b.Grades.update_grade(1, title="Renamed")
        assert both(1)["grades"][0]["title"] == "Renamed"
        a.Grades.delete_grade(2)
        assert [g["id"] for g in both(1)["grades"]] == [1, 3]
        b.Grades.import_grades("student_id,title,type,score\n2,Imported,Exam,1\n", request_id="cache-1")
        assert both(2)["grades"][-1]["title"] == "Imported" and len(both(2)["grades"]) == 4
        a.Grades.import_grades("student_id,title,type,score\n2,Imported,Exam,1\n", request_id="cache-1")  # a repeat
        assert len(both(2)["grades"]) == 4


def test_the_postgresql_count_of_students_follows_plain_sql(postgres_url):
    import psycopg

    with GradingService(port=0, registry=NOWHERE, db=postgres_url) as service:
        grading = Client(service.url)
        with psycopg.connect(postgres_url) as conn:
            conn.execute(
                "INSERT INTO students (first_name, last_name) SELECT 'Bulk', 'Pupil' || n "
                "FROM generate_series(1, 40) AS n"
            )
            conn.execute("DELETE FROM students WHERE last_name IN ('Pupil1', 'Pupil2')")
        assert grading.Grades.count_students() == grading.Grades.list_students()["total"] == 43
        assert listed(grading, query="pupil39") == [(44, None, 0)]  # ids 6-45 for Pupil1-40
        with psycopg.connect(postgres_url) as conn:
            conn.execute("TRUNCATE grades, student_totals, enrolments, students")
        assert grading.Grades.list_students() == {"total": 0, "students": []}
        assert grading.Grades.count_students() == 0
