"""The audit through ``Grades.*`` on both stores, over raw JSON-RPC: every change is recorded with who did it and
its old and new values, in the change's own transaction; an import records each grade; nothing changes an entry."""

from __future__ import annotations

import re
from typing import Any

import pytest
from helpers.grading_store import accept_audit_entries, add_user, execute, refuse_audit_entries, snapshot
from helpers.raw_rpc import rpc

from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"
CSV = "student_id,title,type,score\n"
SAMPLE = 1
# Everything a change may touch.
TABLES = ("students", "grades", "classes", "enrolments", "audit", "requests", "student_totals", "assignments")
WEIGHTS = (("Quiz", 40), ("Test", 20), ("Exam", 20), ("Homework", 20))
# A grid file changing one score of the sample class: zhangsan's Quiz 1, 44 -> 77.
GRID = "student_id,first_name,last_name,Quiz 1\n4,zhangsan,san,77\n"


class Caller:
    """Raw calls to one grading service, for one acting user."""

    def __init__(self, url: str, user: str | None):
        self.url, self.user = url, user

    def answer(self, method: str, params: Any) -> dict[str, Any]:
        headers = {} if self.user is None else {"X-Acting-User": self.user}
        return rpc(self.url, f"Grades.{method}", params, headers=headers)

    def __call__(self, method: str, params: Any) -> Any:
        answer = self.answer(method, params)
        assert "result" in answer, answer
        return answer["result"]


@pytest.fixture
def service(store_url):
    with GradingService(port=0, registry=NOWHERE, db=store_url) as running:
        add_user(store_url, "tia")
        add_user(store_url, "ann", "admin")
        yield running


def test_an_edit_shows_its_old_and_new_values_in_history_and_changes(service, store_url):
    ann, tia = Caller(service.url, "ann"), Caller(service.url, "tia")
    class_id = ann("add_class", {"name": "5B", "teacher": "tia"})["id"]
    student = tia("add_student", {"first_name": "Ada", "last_name": "Lovelace"})["id"]
    grade = tia("add_grade", {"student_id": student, "title": "Quiz", "type": "Quiz", "score": 80})
    tia("update_grade", {"grade_id": grade["id"], "score": 85.5, "expected": {"score": 80}})
    ann("delete_grade", {"grade_id": grade["id"]})
    (quiz,) = tia("list_assignments", {"class_id": class_id})  # the grade's title made it
    recorded = {
        "id": grade["id"],
        "student_id": student,
        "class_id": class_id,
        "title": "Quiz",
        "type": "Quiz",
        "assignment_id": quiz["id"],
        "mark": None,
        "comment": None,
    }
    first, second = dict(recorded, score=80.0, points=80.0), dict(recorded, score=85.5, points=85.5)
    entries = tia("history", {"entity": "grade", "id": grade["id"]})  # deleted, still tia's to read
    assert [(e["user"], e["action"], e["entity"], e["id"], e["before"], e["after"]) for e in entries] == [
        ("tia", "create", "grade", grade["id"], None, first),
        ("tia", "update", "grade", grade["id"], first, second),
        ("ann", "delete", "grade", grade["id"], second, None),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", e["at"]) for e in entries)
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    changes = tia("changes", {"class_id": class_id})
    assert [(e["entity"], e["action"]) for e in changes] == [
        ("grade", "delete"),
        ("grade", "update"),
        ("grade", "create"),
        ("assignment", "create"),
        ("enrolment", "create"),
        ("student", "create"),  # a student on the roster: their own entries are the class's too
        ("class", "create"),
    ]
    assert changes[1] == entries[1]
    assert tia("changes", {"class_id": class_id, "limit": 2}) == changes[:2]
    # A student's and a class's own changes, and who made them.
    tia("update_student", {"student_id": student, "last_name": "Byron"})
    (created, renamed) = ann("history", {"entity": "student", "id": student})
    assert (created["user"], created["after"]) == ("tia", {"id": student, "first_name": "Ada", "last_name": "Lovelace"})
    assert (renamed["before"]["last_name"], renamed["after"]["last_name"]) == ("Lovelace", "Byron")
    assert tia("changes", {"class_id": class_id, "limit": 1}) == [renamed]  # the rename shows in the class
    other = ann("add_class", {"name": "Art", "teacher": None})["id"]
    assert [e["entity"] for e in ann("changes", {"class_id": other})] == ["class"]  # Ada is not in Art
    ann("update_class", {"class_id": class_id, "name": "5C"})
    assert [e["after"]["name"] for e in tia("history", {"entity": "class", "id": class_id})] == ["5B", "5C"]
    # The service's own calls are recorded as the service's.
    Caller(service.url, None)("archive", {"class_id": class_id, "student_id": student})
    last = ann("changes", {"class_id": class_id, "limit": 1})[0]
    assert (last["user"], last["entity"], last["before"]["archived"], last["after"]["archived"]) == (
        "(service)",
        "enrolment",
        False,
        True,
    )


def test_a_change_that_changes_nothing_records_nothing(service):
    ann = Caller(service.url, "ann")
    ann("update_grade", {"grade_id": 1, "score": 85})  # already 85
    ann("enroll", {"class_id": SAMPLE, "student_id": 1})  # already enrolled
    ann("update_student", {"student_id": 1, "first_name": "Nick"})
    assert ann("changes", {"class_id": SAMPLE}) == []
    assert ann("history", {"entity": "grade", "id": 1}) == []  # seeded before anything was recorded


def test_an_import_records_each_grade_once(service):
    ann = Caller(service.url, "ann")
    text = CSV + "".join(f"{1 + n % 5},Lab {n},Homework,{n}\n" for n in range(30))
    assert ann("import_grades", {"csv_text": text, "request_id": "import-1"}) == {"imported": 30}
    assert ann("import_grades", {"csv_text": text, "request_id": "import-1"}) == {"imported": 30}  # a repeat
    # Each line's title is a new assignment of the class: 30 assignments, each with one grade.
    made = ann("changes", {"class_id": SAMPLE, "limit": 500})
    assert len(made) == 60 and {(e["user"], e["action"], e["entity"]) for e in made} == {
        ("ann", "create", "grade"),
        ("ann", "create", "assignment"),
    }
    assert sorted(e["after"]["title"] for e in made if e["entity"] == "assignment") == sorted(
        f"Lab {n}" for n in range(30)
    )
    changes = [e for e in made if e["entity"] == "grade"]
    stored = [g for s in ann("get_students", {}) for g in s["grades"] if g["title"].startswith("Lab ")]
    assert sorted(e["id"] for e in changes) == sorted(g["id"] for g in stored)
    for grade in stored:
        (entry,) = ann("history", {"entity": "grade", "id": grade["id"]})
        assert entry["after"]["title"] == grade["title"] and entry["after"]["score"] == grade["score"]


def test_no_method_changes_or_removes_an_entry(service, store_url):
    ann, tia = Caller(service.url, "ann"), Caller(service.url, "tia")
    class_id = ann("add_class", {"name": "5B", "teacher": "tia"})["id"]
    student = tia("add_student", {"first_name": "Ada", "last_name": "Lovelace"})["id"]
    grade = tia("add_grade", {"student_id": student, "title": "Quiz", "type": "Quiz", "score": 80})["id"]
    written = snapshot(store_url, ("audit",))["audit"]
    # Every kind of change, deletions and unenrolling included: the entries before stay as they were.
    tia("update_grade", {"grade_id": grade, "score": 10})
    tia("delete_grade", {"grade_id": grade})
    tia("archive", {"class_id": class_id, "student_id": student})
    tia("unenroll", {"class_id": class_id, "student_id": student})
    ann("update_class", {"class_id": class_id, "teacher": ""})
    ann("import_grades", {"csv_text": CSV + "1,Lab,Quiz,50\n"})
    after = snapshot(store_url, ("audit",))["audit"]
    # Six changes, and the import's title made an assignment.
    assert all(entry in after for entry in written) and len(after) == len(written) + 7
    # The audit's only methods read it.
    names = {m["name"] for m in rpc(service.url, "rpc.discover", [])["result"]["methods"]}
    assert {name for name in names if re.search(r"audit|history|change", name, re.IGNORECASE)} == {
        "Grades.history",
        "Grades.changes",
    }
    for statement in ("UPDATE audit SET username = 'eve'", "DELETE FROM audit"):
        with pytest.raises(Exception, match="audit entries cannot be"):
            execute(store_url, statement)
    assert snapshot(store_url, ("audit",))["audit"] == after


def _writes(class_id: int) -> list[tuple[str, dict[str, Any]]]:
    """One call of every method that changes something (each would record an entry)."""
    return [
        ("add_grade", {"student_id": 1, "title": "Q", "type": "Quiz", "score": 5, "request_id": "w-1"}),
        ("add_student", {"first_name": "Never", "last_name": "Stored", "class_id": class_id, "request_id": "w-2"}),
        ("update_student", {"student_id": 1, "first_name": "Nicola"}),
        ("update_grade", {"grade_id": 1, "score": 12}),
        ("delete_grade", {"grade_id": 2}),
        ("import_grades", {"csv_text": CSV + "1,A,Quiz,1\n2,B,Quiz,2\n", "request_id": "w-3"}),
        ("add_class", {"name": "Never", "teacher": "tia"}),
        ("update_class", {"class_id": class_id, "name": "Renamed"}),
        ("enroll", {"class_id": class_id, "student_id": 1}),
        ("archive", {"class_id": SAMPLE, "student_id": 1}),
        ("unenroll", {"class_id": SAMPLE, "student_id": 2}),
        ("add_assignment", {"class_id": SAMPLE, "title": "Essay", "category": "Homework", "max_points": 20}),
        ("set_scores", {"assignment_id": 1, "scores": [{"student_id": 3, "points": 50}], "request_id": "w-4"}),
        ("set_categories", {"class_id": SAMPLE, "categories": [{"name": n, "weight": w} for n, w in WEIGHTS]}),
        ("set_scale", {"class_id": SAMPLE, "scale": [{"letter": "P", "min": 50}, {"letter": "F", "min": 0}]}),
        ("update_assignment", {"assignment_id": 2, "title": "Final"}),
        ("delete_assignment", {"assignment_id": 3}),
        ("import_gradebook", {"class_id": SAMPLE, "csv_text": GRID, "confirm": True, "request_id": "w-5"}),
    ]


def test_a_write_whose_audit_entry_fails_is_not_stored(service, store_url):
    ann = Caller(service.url, "ann")
    class_id = ann("add_class", {"name": "Empty", "teacher": None})["id"]
    before = snapshot(store_url, TABLES)
    refuse_audit_entries(store_url)
    try:
        for method, params in _writes(class_id):
            answer = ann.answer(method, params)
            assert answer.get("error", {}).get("code") == -32603, (method, answer)
            assert snapshot(store_url, TABLES) == before, method  # the write went with its entry
        assert ann("get_student", [1])["first_name"] == "Nick"  # and no cache kept what was not stored
    finally:
        accept_audit_entries(store_url)
    # Each goes through now, the ones with a request_id too: a failed call did not use up its id.
    for method, params in _writes(class_id):
        ann(method, params)
    assert ann("get_student", [1])["first_name"] == "Nicola"
    # One entry a call, but two for add_student (the student, its enrolment), two for add_grade and four
    # for the import (each grade and its new assignment), six for delete_assignment (its five scores).
    assert len(snapshot(store_url, ("audit",))["audit"]) == len(before["audit"]) + 28
