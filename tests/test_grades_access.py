"""Who may do what in ``Grades.*``: over raw JSON-RPC with ``X-Acting-User``, on both stores.

Teacher A is refused (403, ``data`` naming what) every method on teacher B's class, student and grade,
and on ids that name nothing alike; refused calls change nothing. An unknown, disabled or malformed
acting user is refused before anything runs, and with a cluster token the header is no way in.
"""

from __future__ import annotations

import urllib.error
from dataclasses import dataclass
from typing import Any

import pytest
from helpers.grading_store import add_user, execute, snapshot
from helpers.raw_rpc import rpc

from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"
CSV = "student_id,title,type,score\n"
TABLES = ("students", "grades", "classes", "enrolments", "audit", "requests", "student_totals", "assignments")


@dataclass
class School:
    """Two teachers' classes, each with one student and one grade, in one grading service."""

    url: str
    store_url: str
    class_a: int
    class_b: int
    student_a: int
    student_b: int
    grade_a: int
    grade_b: int
    enrolment_b: int
    tom: int

    def call(self, user: str | None, method: str, params: list[Any] | dict[str, Any]) -> dict[str, Any]:
        """The raw answer to ``method`` called for ``user`` (None: no header, the service's authority)."""
        headers = {} if user is None else {"X-Acting-User": user}
        return rpc(self.url, f"Grades.{method}", params, headers=headers)

    def result(self, user: str | None, method: str, params: list[Any] | dict[str, Any]) -> Any:
        answer = self.call(user, method, params)
        assert "result" in answer, answer
        return answer["result"]


@pytest.fixture
def school(store_url):
    with GradingService(port=0, registry=NOWHERE, db=store_url) as service:
        add_user(store_url, "ann", "admin")
        add_user(store_url, "tia")
        tom = add_user(store_url, "tom")
        add_user(store_url, "old", disabled=True)
        made = School(service.url, store_url, 0, 0, 0, 0, 0, 0, 0, tom)
        made.class_a = made.result(None, "add_class", {"name": "Class A", "teacher": "tia"})["id"]
        made.class_b = made.result(None, "add_class", {"name": "Class B", "teacher": "tom"})["id"]
        made.student_a = made.result("tia", "add_student", {"first_name": "Ada", "last_name": "Apple"})["id"]
        made.student_b = made.result("tom", "add_student", {"first_name": "Bo", "last_name": "Birch"})["id"]
        grade = {"title": "Quiz", "type": "Quiz", "score": 70}
        made.grade_a = made.result("tia", "add_grade", {"student_id": made.student_a, **grade})["id"]
        made.grade_b = made.result("tom", "add_grade", {"student_id": made.student_b, **grade})["id"]
        made.enrolment_b = execute(
            store_url, "SELECT id FROM enrolments WHERE class_id = ? AND student_id = ?", (made.class_b, made.student_b)
        )[0][0]
        yield made


def b_calls(s: School) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(method, params, the refusal's data) for every method, aimed at teacher B's class, student or grade."""
    grade = {"title": "Sneaky", "type": "Quiz", "score": 1}
    return [
        ("get_student", {"student_id": s.student_b}, {"student_id": s.student_b}),
        ("update_student", {"student_id": s.student_b, "first_name": "Eve"}, {"student_id": s.student_b}),
        ("add_grade", {"student_id": s.student_b, **grade}, {"student_id": s.student_b}),
        ("add_grade", {"student_id": s.student_b, **grade, "class_id": s.class_b}, {"class_id": s.class_b}),
        ("add_grade", {"student_id": s.student_a, **grade, "class_id": s.class_b}, {"class_id": s.class_b}),
        ("update_grade", {"grade_id": s.grade_b, "score": 1}, {"grade_id": s.grade_b}),
        ("update_grade", {"grade_id": s.grade_b, "score": 1, "expected": {"score": 3}}, {"grade_id": s.grade_b}),
        ("delete_grade", {"grade_id": s.grade_b}, {"grade_id": s.grade_b}),
        ("add_student", {"first_name": "New", "last_name": "Kid", "class_id": s.class_b}, {"class_id": s.class_b}),
        ("list_students", {"class_id": s.class_b}, {"class_id": s.class_b}),
        ("statistics", {"class_id": s.class_b}, {"class_id": s.class_b}),
        (
            "import_grades",
            {"csv_text": CSV + f"{s.student_a},Q,Quiz,5\n", "class_id": s.class_b},
            {"class_id": s.class_b},
        ),
        ("enroll", {"class_id": s.class_b, "student_id": s.student_a}, {"class_id": s.class_b}),
        ("enroll", {"class_id": s.class_a, "student_id": s.student_b}, {"student_id": s.student_b}),
        ("unenroll", {"class_id": s.class_b, "student_id": s.student_b}, {"class_id": s.class_b}),
        ("archive", {"class_id": s.class_b, "student_id": s.student_b}, {"class_id": s.class_b}),
        ("history", {"entity": "grade", "id": s.grade_b}, {"grade_id": s.grade_b}),
        ("history", {"entity": "student", "id": s.student_b}, {"student_id": s.student_b}),
        ("history", {"entity": "class", "id": s.class_b}, {"class_id": s.class_b}),
        ("history", {"entity": "enrolment", "id": s.enrolment_b}, {"enrolment_id": s.enrolment_b}),
        ("history", {"entity": "user", "id": s.tom}, {"user_id": s.tom}),
        ("changes", {"class_id": s.class_b}, {"class_id": s.class_b}),
        ("get_class", {"class_id": s.class_b}, {"class_id": s.class_b}),
        ("add_class", {"name": "Mine", "teacher": "tia"}, {"method": "Grades.add_class"}),
        ("update_class", {"class_id": s.class_a, "name": "Renamed"}, {"method": "Grades.update_class"}),
        ("update_class", {"class_id": s.class_b, "teacher": "tia"}, {"method": "Grades.update_class"}),
    ]


def nowhere_calls(s: School) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Calls on ids that name nothing: a teacher is told what B's ids tell, no more."""
    nothing = 999_999
    return [
        ("get_student", {"student_id": nothing}, {"student_id": nothing}),
        ("update_student", {"student_id": nothing, "last_name": "X"}, {"student_id": nothing}),
        ("add_grade", {"student_id": nothing, "title": "Q", "type": "Quiz", "score": 1}, {"student_id": nothing}),
        ("update_grade", {"grade_id": nothing, "score": 1}, {"grade_id": nothing}),
        ("delete_grade", {"grade_id": nothing}, {"grade_id": nothing}),
        ("list_students", {"class_id": nothing}, {"class_id": nothing}),
        ("enroll", {"class_id": nothing, "student_id": s.student_a}, {"class_id": nothing}),
        ("history", {"entity": "grade", "id": nothing}, {"grade_id": nothing}),
        ("changes", {"class_id": nothing}, {"class_id": nothing}),
        ("get_class", {"class_id": nothing}, {"class_id": nothing}),
    ]


def refusals(school: School, user: str, calls: list[tuple[str, dict[str, Any], dict[str, Any]]], code: int) -> list:
    """The calls whose answer is not the error ``code`` with exactly the expected data."""
    wrong = []
    for method, params, data in calls:
        answer = school.call(user, method, params)
        error = answer.get("error", {})
        if error.get("code") != code or error.get("data") != data:
            wrong.append((method, params, answer))
    return wrong


def test_teacher_a_is_refused_every_method_on_teacher_bs_class_student_and_grade(school):
    before = snapshot(school.store_url, TABLES)
    assert refusals(school, "tia", b_calls(school), 403) == []
    # Ids that name nothing are refused alike: a teacher cannot tell them from B's.
    assert refusals(school, "tia", nowhere_calls(school), 403) == []
    assert snapshot(school.store_url, TABLES) == before  # nothing was stored, not even an audit entry
    # The same calls for B go through (the refusals were about A, not the calls).
    assert school.result("tom", "get_student", [school.student_b])["grades"][0]["id"] == school.grade_b
    assert school.result("tom", "update_grade", {"grade_id": school.grade_b, "score": 75})["score"] == 75.0


def test_an_import_naming_teacher_bs_student_is_refused_by_its_line(school):
    text = CSV + f"{school.student_a},Fine,Quiz,50\n{school.student_b},Sneaky,Quiz,5\n"
    error = school.call("tia", "import_grades", [text])["error"]
    assert error["code"] == -32602
    assert (error["data"]["line"], error["data"]["field"]) == (3, "student_id")
    assert school.result("tia", "get_student", [school.student_a])["grades"][-1]["title"] == "Quiz"  # none stored


def test_the_service_and_an_admin_see_everything_and_unknown_ids_are_404(school):
    for user in (None, "ann"):
        assert school.result(user, "count_students", []) == 7  # the five of the sample, A's and B's
        assert [c["name"] for c in school.result(user, "list_classes", [])] == ["Class A", "Class B", "Sample class"]
        assert school.result(user, "get_student", [school.student_b])["grades"][0]["id"] == school.grade_b
        assert refusals(school, user, nowhere_calls(school), 404) == []


def test_a_teacher_reads_only_their_classes(school):
    tia = "tia"
    assert [s["id"] for s in school.result(tia, "get_students", [])] == [school.student_a]
    assert school.result(tia, "count_students", []) == 1
    assert school.result(tia, "list_students", {})["total"] == 1
    assert school.result(tia, "list_classes", []) == [
        {"id": school.class_a, "name": "Class A", "teacher": "tia", "students": 1}
    ]
    assert school.result(tia, "get_class", [school.class_a]) == school.result(tia, "list_classes", [])[0]
    assert school.result(tia, "statistics", {})["students"] == 1
    entries = school.result(tia, "changes", {"class_id": school.class_a})
    assert [(e["entity"], e["action"]) for e in entries] == [
        ("grade", "create"),
        ("assignment", "create"),  # the grade's title made an assignment of the class
        ("enrolment", "create"),
        ("student", "create"),  # the student on the class's roster
        ("class", "create"),
    ]


@pytest.mark.parametrize("name", ["nobody", "old", "TIA", "ti a", "t" * 65])
def test_an_unknown_disabled_or_malformed_acting_user_is_refused_before_anything_runs(school, name):
    before = snapshot(school.store_url, TABLES)
    for method, params in (
        ("count_students", []),
        ("add_student", {"first_name": "Never", "last_name": "Stored"}),
        ("list_classes", []),
    ):
        error = school.call(name, method, params)["error"]
        assert (error["code"], error["data"]) == (403, {"user": name[:64]})
    assert snapshot(school.store_url, TABLES) == before


def test_with_a_cluster_token_the_header_does_not_replace_it(tmp_path):
    db = str(tmp_path / "grades.db")
    with GradingService(port=0, registry=NOWHERE, db=db, token="s3cret") as service:
        add_user(db, "ann", "admin")
        with pytest.raises(urllib.error.HTTPError) as refused:
            rpc(service.url, "Grades.count_students", [], headers={"X-Acting-User": "ann"})
        assert refused.value.code == 401
        answer = rpc(
            service.url,
            "Grades.count_students",
            [],
            headers={"X-Acting-User": "ann", "Authorization": "Bearer s3cret"},
        )
        assert answer["result"] == 5


def test_every_grades_method_refuses_an_unknown_acting_user_before_it_reads_its_params(school):
    # Each required param gets a value of the wrong kind: the user is refused before any check of it.
    methods = rpc(school.url, "rpc.discover", [])["result"]["methods"]
    grades = [m for m in methods if m["name"].startswith("Grades.")]
    assert len(grades) == 29
    before = snapshot(school.store_url, TABLES)
    wrong = []
    for method in grades:
        params = {p["name"]: [] for p in method["params"] if p["required"]}
        answer = rpc(school.url, method["name"], params, headers={"X-Acting-User": "nobody"})
        if answer.get("error", {}).get("data") != {"user": "nobody"} or answer["error"]["code"] != 403:
            wrong.append((method["name"], answer))
    assert wrong == []
    assert snapshot(school.store_url, TABLES) == before
