"""Stale edits: update_grade and delete_grade with the values their form was opened with, and a
request_id reused with other params, on both stores and over raw JSON-RPC."""

import pytest
from helpers.raw_rpc import rpc as raw_call

from rpc_cluster import Client, InvalidParams, NotFound
from rpc_cluster.core.errors import Conflict
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"
# The seeded sample's first grade: Nick Carter's Quiz 1, in the sample's class.
QUIZ_1 = {"id": 1, "title": "Quiz 1", "type": "Quiz", "score": 85.0, "class_id": 1}


@pytest.fixture
def service(store_url):
    with GradingService(port=0, registry=NOWHERE, db=store_url) as running:
        yield running


@pytest.fixture
def grading(service):
    return Client(service.url)


def form(grade: dict) -> dict:
    """What an edit form opened on ``grade`` sends as ``expected``."""
    return {key: grade[key] for key in ("title", "type", "score")}


def test_a_stale_rename_does_not_undo_another_editors_score(grading):
    # Both teachers open the form at 80; B saves 95; A, still at 80, renames the title only.
    opened = form(grading.Grades.update_grade(1, score=80))
    assert grading.Grades.update_grade(1, score=95, expected=opened) == dict(QUIZ_1, score=95.0)
    with pytest.raises(Conflict) as info:
        grading.Grades.update_grade(1, title="Quiz 1 (retake)", type="Quiz", score=80, expected=opened)
    assert info.value.code == 409
    assert "grade 1 was changed since the form was opened" in info.value.message
    assert info.value.data == dict(QUIZ_1, score=95.0)
    assert grading.Grades.get_student(1)["grades"][0] == dict(QUIZ_1, score=95.0)  # nothing changed
    # A form reopened on the current values saves.
    current = info.value.data
    stored = grading.Grades.update_grade(
        1, title="Quiz 1 (retake)", expected={"title": current["title"], "score": current["score"]}
    )
    assert stored == dict(QUIZ_1, title="Quiz 1 (retake)", score=95.0)


def test_every_expected_field_is_compared_and_a_title_as_stored(grading):
    with pytest.raises(Conflict) as info:
        grading.Grades.update_grade(1, score=10, expected={"type": "Exam"})
    assert info.value.data == QUIZ_1
    with pytest.raises(Conflict):
        grading.Grades.update_grade(1, score=10, expected={"title": "Quiz 2"})
    # Validated like the fields: surrounding spaces go, an integer score is the same number.
    assert (
        grading.Grades.update_grade(1, score=10, expected={"title": "  Quiz 1 ", "score": 85, "type": "Quiz"})["score"]
        == 10.0
    )
    assert grading.Grades.update_grade(1, expected={})["score"] == 10.0  # nothing to compare


def test_a_fractional_score_compares_exactly_as_it_was_returned(grading):
    stored = grading.Grades.update_grade(1, score=100 / 3)
    assert grading.Grades.update_grade(1, title="Thirds", expected={"score": stored["score"]})["title"] == "Thirds"
    with pytest.raises(Conflict):
        grading.Grades.update_grade(1, title="Near", expected={"score": round(stored["score"], 6)})


def test_a_stale_delete_is_a_conflict_and_keeps_the_grade(grading):
    grading.Grades.update_grade(1, score=95)
    with pytest.raises(Conflict) as info:
        grading.Grades.delete_grade(1, expected={"score": 85})
    assert info.value.data == dict(QUIZ_1, score=95.0)
    assert [g["id"] for g in grading.Grades.get_student(1)["grades"]] == [1, 2, 3]
    assert grading.Grades.delete_grade(1, expected={"score": 95, "title": "Quiz 1"}) is True
    assert [g["id"] for g in grading.Grades.get_student(1)["grades"]] == [2, 3]
    assert grading.Grades.get_student(1)["average"] == pytest.approx((94 + 82) / 2)


def test_an_unknown_grade_is_still_not_found_with_expected(grading):
    with pytest.raises(NotFound):
        grading.Grades.update_grade(999, score=1, expected={"score": 1})
    with pytest.raises(NotFound):
        grading.Grades.delete_grade(999, expected={"score": 1})


def test_without_expected_the_last_writer_wins(grading):
    grading.Grades.update_grade(1, score=95)
    assert grading.Grades.update_grade(1, score=80) == dict(QUIZ_1, score=80.0)
    assert grading.Grades.update_grade(1, title="Renamed")["score"] == 80.0
    assert grading.Grades.delete_grade(1) is True


@pytest.mark.parametrize(
    "expected",
    [
        "score=80",
        [80],
        {"score": 150},
        {"score": "80"},
        {"score": True},
        {"type": "quiz"},
        {"title": ""},
        {"title": "a\x00b"},
        {"grade_id": 1},
        {"score": 80, "id": 1},
    ],
)
def test_a_bad_expected_is_invalid_params_naming_expected(grading, expected):
    with pytest.raises(InvalidParams) as info:
        grading.Grades.update_grade(1, score=1, expected=expected)
    assert info.value.data["field"] == "expected"
    with pytest.raises(InvalidParams) as info:
        grading.Grades.delete_grade(1, expected=expected)
    assert info.value.data["field"] == "expected"
    assert grading.Grades.get_student(1)["grades"][0] == QUIZ_1


def test_a_request_id_reused_with_other_params_carries_the_first_result(grading):
    first = grading.Grades.add_grade(2, "Lab", "Test", 70, request_id="form-reuse-1")
    with pytest.raises(Conflict) as info:
        grading.Grades.add_grade(2, "Lab", "Test", 75, request_id="form-reuse-1")
    assert info.value.data == {"request_id": "form-reuse-1", "first_method": "add_grade", "result": first}
    student = grading.Grades.add_student("Ada", "Lovelace", request_id="form-reuse-2")
    with pytest.raises(Conflict) as info:
        grading.Grades.add_student("Ada", "Byron", request_id="form-reuse-2")
    assert info.value.data["result"] == student
    imported = grading.Grades.import_grades("student_id,title,type,score\n3,A,Quiz,1\n", request_id="form-reuse-3")
    with pytest.raises(Conflict) as info:
        grading.Grades.add_grade(3, "A", "Quiz", 1, request_id="form-reuse-3")
    assert info.value.data == {"request_id": "form-reuse-3", "first_method": "import_grades", "result": imported}
    assert [g["title"] for g in grading.Grades.get_student(2)["grades"]].count("Lab") == 1


def test_the_two_editors_over_raw_json_rpc(service):
    url = service.url
    b = raw_call(url, "Grades.update_grade", {"grade_id": 1, "score": 95, "expected": {"score": 85}})
    assert b["result"] == dict(QUIZ_1, score=95.0)
    a = raw_call(
        url,
        "Grades.update_grade",
        {
            "grade_id": 1,
            "title": "Renamed",
            "type": "Quiz",
            "score": 85,
            "expected": {"title": "Quiz 1", "type": "Quiz", "score": 85.0},
        },
    )
    assert a["error"]["code"] == 409 and a["error"]["data"] == dict(QUIZ_1, score=95.0)
    gone = raw_call(url, "Grades.delete_grade", {"grade_id": 1, "expected": {"score": 85}})
    assert gone["error"]["code"] == 409 and gone["error"]["data"]["score"] == 95.0
    bad = raw_call(url, "Grades.update_grade", {"grade_id": 1, "expected": {"score": "x"}})
    assert bad["error"]["code"] == -32602 and bad["error"]["data"]["field"] == "expected"
    last = raw_call(url, "Grades.update_grade", [1, None, None, 50])  # by position, no expected
    assert last["result"]["score"] == 50.0
    stored = raw_call(
        url, "Grades.add_grade", {"student_id": 1, "title": "T", "type": "Quiz", "score": 1, "request_id": "raw-1"}
    )["result"]
    again = raw_call(
        url, "Grades.add_grade", {"student_id": 1, "title": "T", "type": "Quiz", "score": 2, "request_id": "raw-1"}
    )
    assert again["error"]["code"] == 409
    assert again["error"]["data"] == {"request_id": "raw-1", "first_method": "add_grade", "result": stored}
    student = raw_call(url, "Grades.get_student", {"student_id": 1})["result"]
    assert student["grades"][0]["score"] == 50.0 and [g["score"] for g in student["grades"]][-1] == 1.0


def test_the_openrpc_document_describes_expected(service):
    methods = {m["name"]: m for m in raw_call(service.url, "rpc.discover", {})["result"]["methods"]}
    for name in ("Grades.update_grade", "Grades.delete_grade"):
        params = {p["name"]: p for p in methods[name]["params"]}
        assert params["expected"]["required"] is False
        assert {"type": "object"} in params["expected"]["schema"]["anyOf"]
        assert "409" in methods[name]["description"]


def test_racing_editors_of_one_form_save_once(service):
    # Eight editors opened the same form; each saves another score. One wins, the others
    # are told what it stored: compare and write are one step, whichever instance runs them.
    import threading

    barrier = threading.Barrier(8)
    outcomes: list = []

    def save(score: int) -> None:
        client = Client(service.url)
        barrier.wait(10)
        try:
            outcomes.append(client.Grades.update_grade(1, score=score, expected={"score": 85}))
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=save, args=(50 + n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    saved = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(saved) == 1 and len(refused) == 7
    assert all(exc.data == saved[0] for exc in refused)
    assert Client(service.url).Grades.get_student(1)["grades"][0] == saved[0]
