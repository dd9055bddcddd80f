"""``Grades.import_gradebook`` over real JSON-RPC, on both stores: the grid's CSV and today's per-grade CSV,
written by hand; the preview (new, changed and unchanged scores, every error by line and column), applying
exactly what it showed in one transaction and once per request id, a stale preview, new assignments and
new students, and who may import into a class."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from helpers.grading_store import accept_audit_entries, add_user, execute, refuse_audit_entries, snapshot

from rpc_cluster import Client, RpcError
from rpc_cluster.client.acting import acting_as
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"
TABLES = ("students", "grades", "classes", "enrolments", "audit", "requests", "assignments")
NAMES = (("Ada", "Lovelace"), ("Bo", "Ng"), ("Cy", "Curie"))
NOTHING = {"errors": [], "new_scores": [], "changed_scores": [], "new_assignments": [], "new_students": []}


@dataclass
class Physics:
    """Tia's class (Homework 60 %, then Quiz 40 %): Ada Lovelace, Bo Ng and Cy Curie; Q1 (Quiz, 10 points)
    and H1 (Homework, 20 points). Ada has Q1 8 and H1 15 "good", Bo Q1 6 late."""

    grades: Any
    store_url: str
    class_id: int
    ada: int
    bo: int
    cy: int
    q1: int
    h1: int

    def audit_entries(self) -> int:
        return int(execute(self.store_url, "SELECT COUNT(*) FROM audit")[0][0])

    def cells(self) -> dict[int, dict[str, Any]]:
        """Each student's scores on the grid, by student id."""
        with acting_as("tia"):
            return {s["id"]: s["scores"] for s in self.grades.gradebook(self.class_id)["students"]}

    def item(self, line: int, student: int | None, assignment: str, old: Any, new: Any) -> dict[str, Any]:
        """A preview's score item for one of the class's students (None: Dan Doe, a new one)."""
        names = {self.ada: ("Ada", "Lovelace"), self.bo: ("Bo", "Ng"), self.cy: ("Cy", "Curie"), None: ("Dan", "Doe")}
        first, last = names[student]
        return {
            "line": line,
            "student_id": student,
            "first_name": first,
            "last_name": last,
            "assignment": assignment,
            "old": None if old is None else {"points": old[0], "mark": old[1]},
            "new": {"points": new[0], "mark": new[1]},
        }


@pytest.fixture
def physics(store_url) -> Iterator[Physics]:
    with GradingService(port=0, registry=NOWHERE, db=store_url) as service:
        for name, role in (("ann", "admin"), ("tia", "teacher"), ("tom", "teacher")):
            add_user(store_url, name, role)
        g = Client(service.url).Grades
        cid = g.add_class("Physics", "tia")["id"]
        ada, bo, cy = (g.add_student(first, last, class_id=cid)["id"] for first, last in NAMES)
        g.set_categories(cid, [{"name": "Homework", "weight": 60}, {"name": "Quiz", "weight": 40}])
        q1 = g.add_assignment(cid, "Q1", "Quiz", 10, "2024-09-02")["id"]
        h1 = g.add_assignment(cid, "H1", "Homework", 20, "2024-09-03")["id"]
        g.set_scores(q1, [{"student_id": ada, "points": 8}, {"student_id": bo, "points": 6, "mark": "late"}])
        g.set_scores(h1, [{"student_id": ada, "points": 15, "comment": "good"}])
        yield Physics(g, store_url, cid, ada, bo, cy, q1, h1)


def refused(call: Callable[..., Any], *args: Any, **kwargs: Any) -> RpcError:
    with pytest.raises(RpcError) as info:
        call(*args, **kwargs)
    return info.value


def cell(points: float | None, mark: str | None = None, comment: str | None = None) -> dict[str, Any]:
    return {"points": points, "mark": mark, "comment": comment}


def test_a_grid_file_previews_what_it_changes_and_is_applied_once(physics):
    p, g = physics, physics.grades
    # As the portal exports it: a byte-order mark, CRLF, the roster by last name, average and letter.
    grid = (
        "\ufeffstudent_id,first_name,last_name,Q1,H1,average,letter\r\n"
        f"{p.cy},Cy,Curie,,missing,,\r\n"
        f"{p.ada},Ada,Lovelace,8,18,78.5,C\r\n"
        f"{p.bo},Bo,Ng,6 late,excused,60,D\r\n"
    )
    unchanged = snapshot(p.store_url, TABLES)
    with acting_as("tia"):
        preview = g.import_gradebook(p.class_id, grid)
    assert preview == {
        "token": preview["token"],
        **NOTHING,
        "new_scores": [
            p.item(2, p.cy, "H1", None, (None, "missing")),
            p.item(4, p.bo, "H1", None, (None, "excused")),
        ],
        "changed_scores": [p.item(3, p.ada, "H1", (15.0, None), (18.0, None))],
        "unchanged": 2,  # Ada's Q1 8 and Bo's Q1 6 late; Cy's empty Q1 is left as it is
    }
    assert snapshot(p.store_url, TABLES) == unchanged  # a preview stores nothing
    before = p.audit_entries()
    with acting_as("tia"):
        applied = g.import_gradebook(p.class_id, grid, confirm=True, expected=preview["token"], request_id="grid-1")
        assert applied == {"saved": 3, "assignments": 0, "students": 0}
        assert p.audit_entries() == before + 3
        again = g.import_gradebook(p.class_id, grid, confirm=True, expected=preview["token"], request_id="grid-1")
        assert again == applied  # the first answer; nothing written twice
        assert p.audit_entries() == before + 3
    assert p.cells() == {
        p.cy: {str(p.h1): cell(None, "missing")},
        p.ada: {str(p.q1): cell(8.0), str(p.h1): cell(18.0, comment="good")},  # a file has no comments
        p.bo: {str(p.q1): cell(6.0, "late"), str(p.h1): cell(None, "excused")},
    }
    with acting_as("tia"):
        second = g.import_gradebook(p.class_id, grid)
        assert second == {"token": second["token"], **NOTHING, "unchanged": 5}
        assert g.import_gradebook(p.class_id, grid, confirm=True, expected=second["token"]) == {
            "saved": 0,
            "assignments": 0,
            "students": 0,
        }
    assert p.audit_entries() == before + 3


def test_every_bad_cell_is_listed_by_line_and_column_and_a_file_with_one_stores_nothing(physics):
    p, g = physics, physics.grades
    grid = (
        "student_id,first_name,last_name,Q1,H1\n"
        f"{p.ada},Ada,Lovelace,eight,15\n"
        f"{p.bo},Bo,Ng,6,25\n"
        f"{p.cy},Cy,Curie,9 sick,4\n"
        "x1,Dan,Doe,1,1\n"
        "999999,Eve,Else,1,1\n"
    )
    unchanged = snapshot(p.store_url, TABLES)
    with acting_as("tia"):
        preview = g.import_gradebook(p.class_id, grid)
    assert sorted((e["line"], e["column"], e["value"]) for e in preview["errors"]) == [
        (2, "Q1", "eight"),
        (3, "H1", "25"),  # H1 is out of 20
        (4, "Q1", "9 sick"),
        (5, "student_id", "x1"),
        (6, "student_id", "999999"),  # no student tia may add
    ]
    problems = {e["line"]: e["problem"] for e in preview["errors"]}
    assert problems[3] == "must be from 0 to 20"
    assert problems[6] == "names no student you may add to this class"
    # What is right is still previewed: Bo's Q1 loses its late mark, Cy's H1 is new.
    assert preview["changed_scores"] == [p.item(3, p.bo, "Q1", (6.0, "late"), (6.0, None))]
    assert preview["new_scores"] == [p.item(4, p.cy, "H1", None, (4.0, None))]
    with acting_as("tia"):
        error = refused(g.import_gradebook, p.class_id, grid, confirm=True, expected=preview["token"])
    assert (error.code, error.data) == (-32602, preview)
    assert "line 2: Q1" in error.message and "4 more errors" in error.message
    assert snapshot(p.store_url, TABLES) == unchanged


def test_a_preview_gone_stale_is_409_with_the_new_preview_and_another_teacher_is_refused(physics):
    p, g = physics, physics.grades
    grid = f"student_id,first_name,last_name,Q1,H1\n{p.ada},Ada,Lovelace,8,18\n"
    with acting_as("tia"):
        seen = g.import_gradebook(p.class_id, grid)
        assert seen["changed_scores"] == [p.item(2, p.ada, "H1", (15.0, None), (18.0, None))]
        g.set_scores(p.h1, [{"student_id": p.ada, "points": 16, "comment": "good"}])  # in between
        unchanged = snapshot(p.store_url, TABLES)
        stale = refused(g.import_gradebook, p.class_id, grid, confirm=True, expected=seen["token"])
        now = g.import_gradebook(p.class_id, grid)
    assert (stale.code, stale.data) == (409, now)
    assert now["changed_scores"] == [p.item(2, p.ada, "H1", (16.0, None), (18.0, None))]
    assert now["token"] != seen["token"]
    assert snapshot(p.store_url, TABLES) == unchanged
    with acting_as("tom"):
        for confirm in (False, True):
            error = refused(g.import_gradebook, p.class_id, grid, confirm=confirm, expected=now["token"])
            assert (error.code, error.data) == (403, {"class_id": p.class_id})
    assert snapshot(p.store_url, TABLES) == unchanged
    with acting_as("tia"):
        assert g.import_gradebook(p.class_id, grid, confirm=True, expected=now["token"])["saved"] == 1
    assert p.cells()[p.ada][str(p.h1)] == cell(18.0, comment="good")


def test_new_columns_are_assignments_and_new_rows_are_students_only_when_asked(physics):
    p, g = physics, physics.grades
    art = g.add_class("Art", "tia")["id"]
    eve = g.add_student("Eve", "Else", class_id=art)["id"]  # tia's student, not in Physics
    sam = g.add_student("Sam", "Stone", class_id=g.add_class("Tom's", "tom")["id"])["id"]
    grid = (
        "student_id,first_name,last_name,Q1,Lab 1,average\n"
        f"{p.ada},Ada,Lovelace,,75,\n"
        ",Dan,Doe,5,80,\n"
        f"{eve},Eve,Else,9,,\n"
    )
    lab = {"title": "Lab 1", "category": "Homework", "max_points": 100.0}  # the class's first category
    with acting_as("tia"):
        sam_row = g.import_gradebook(p.class_id, grid + f"{sam},Sam,Stone,1,1,\n")
        assert sam_row["errors"] == [
            {
                "line": 5,
                "column": "student_id",
                "value": str(sam),
                "problem": "names no student you may add to this class",
            }
        ]
        preview = g.import_gradebook(p.class_id, grid)
    eve_item = dict(p.item(4, None, "Q1", None, (9.0, None)), student_id=eve, first_name="Eve", last_name="Else")
    assert preview == {
        "token": preview["token"],
        **NOTHING,
        "new_scores": [
            p.item(2, p.ada, "Lab 1", None, (75.0, None)),
            p.item(3, None, "Q1", None, (5.0, None)),
            p.item(3, None, "Lab 1", None, (80.0, None)),
            eve_item,
        ],
        "new_assignments": [lab],
        "new_students": [
            {"line": 3, "student_id": None, "first_name": "Dan", "last_name": "Doe", "same_name": []},
            {"line": 4, "student_id": eve, "first_name": "Eve", "last_name": "Else"},
        ],
        "unchanged": 0,
    }
    # An admin may add any student: Sam's row is a new student of the class, no error.
    with acting_as("ann"):
        as_admin = g.import_gradebook(p.class_id, grid + f"{sam},Sam,Stone,1,1,\n")
    assert as_admin["errors"] == [] and as_admin["new_students"][-1] == {
        "line": 5,
        "student_id": sam,
        "first_name": "Sam",
        "last_name": "Stone",
    }
    # A write that fails half way (here: the audit refuses its entries) leaves no part of the file.
    unchanged = snapshot(p.store_url, TABLES)
    refuse_audit_entries(p.store_url)
    try:
        with acting_as("tia"):
            refused(g.import_gradebook, p.class_id, grid, confirm=True, add_students=True, expected=preview["token"])
    finally:
        accept_audit_entries(p.store_url)
    assert snapshot(p.store_url, TABLES) == unchanged
    with acting_as("tia"):
        # Without add_students, the new students' rows are left out.
        first = g.import_gradebook(p.class_id, grid, confirm=True, expected=preview["token"])
        assert first == {"saved": 1, "assignments": 1, "students": 0}
        (made,) = [a for a in g.list_assignments(p.class_id) if a["title"] == "Lab 1"]
        assert made == {**lab, "id": made["id"], "class_id": p.class_id, "due": None, "scored": 1}
        assert set(p.cells()) == {p.ada, p.bo, p.cy}
        preview = g.import_gradebook(p.class_id, grid)
        assert (preview["new_assignments"], len(preview["new_students"]), preview["unchanged"]) == ([], 2, 1)
        second = g.import_gradebook(p.class_id, grid, confirm=True, add_students=True, expected=preview["token"])
        assert second == {"saved": 3, "assignments": 0, "students": 2}
        book = g.gradebook(p.class_id)
    dan = next(s["id"] for s in book["students"] if s["last_name"] == "Doe")
    assert [s["id"] for s in book["students"]] == [p.cy, dan, eve, p.ada, p.bo]  # Curie, Doe, Else, ...
    assert p.cells()[dan] == {str(p.q1): cell(5.0), str(made["id"]): cell(80.0)}
    assert p.cells()[eve] == {str(p.q1): cell(9.0)}
    with acting_as("tia"):
        assert [c["id"] for c in g.list_classes()] == [art, p.class_id]
        assert g.list_students(class_id=art)["students"][0]["id"] == eve  # still in Art too


def test_todays_per_grade_file_previews_and_applies_as_percentages(physics):
    p, g = physics, physics.grades
    grades = (
        "student_id,title,type,score\n"
        f"{p.ada},Q1,Quiz,90\n"  # 9 of 10 points
        f"{p.bo},Essay,Homework,85\n"
        f"{p.ada},essay,Homework,70\n"
        f"{p.bo},Q1,Quiz,60\n"  # 6 points, as stored; the late mark stays, as add_grade keeps it
        f"{p.cy},Q1,Quiz,7\n"  # 0.7 points, not 0.7000000000000001
    )
    with acting_as("tia"):
        preview = g.import_gradebook(p.class_id, grades)
    assert preview == {
        "token": preview["token"],
        **NOTHING,
        "new_scores": [
            p.item(3, p.bo, "Essay", None, (85.0, None)),
            p.item(4, p.ada, "Essay", None, (70.0, None)),  # each score its own line
            p.item(6, p.cy, "Q1", None, (0.7, None)),
        ],
        "changed_scores": [p.item(2, p.ada, "Q1", (8.0, None), (9.0, None))],
        "new_assignments": [{"title": "Essay", "category": "Homework", "max_points": 100.0}],
        "unchanged": 1,
    }
    with acting_as("tia"):
        assert g.import_gradebook(p.class_id, grades, confirm=True, expected=preview["token"]) == {
            "saved": 4,
            "assignments": 1,
            "students": 0,
        }
        assert sorted((x["title"], x["score"]) for x in g.get_student(p.ada)["grades"]) == [
            ("Essay", 70.0),
            ("H1", 75.0),
            ("Q1", 90.0),
        ]
        assert [x["score"] for x in g.get_student(p.cy)["grades"]] == [7.0]
        again = g.import_gradebook(p.class_id, grades)
    assert again == {"token": again["token"], **NOTHING, "unchanged": 5}
    assert p.cells()[p.bo][str(p.q1)] == cell(6.0, "late")


def test_a_new_students_row_of_a_name_on_the_roster_says_so_and_errors_come_in_the_files_order(physics):
    # A file of names without ids, as a teacher might write one, imported twice.
    text = "student_id,first_name,last_name,Q1\n,Dan,Doe,5\n"
    with acting_as("tia"):
        first = physics.grades.import_gradebook(physics.class_id, text)
        assert first["new_students"][0]["same_name"] == []
        physics.grades.import_gradebook(physics.class_id, text, True, True, first["token"])
        dan = next(s["id"] for s in physics.grades.gradebook(physics.class_id)["students"] if s["first_name"] == "Dan")
        again = physics.grades.import_gradebook(physics.class_id, text.replace("Dan,Doe", "DAN,doe"))
        assert again["new_students"][0]["same_name"] == [dan]
        # Two bad cells of one line, and a bad id: by line, then left to right.
        bad = f"student_id,first_name,last_name,Q1,H1\nx,Ada,Lovelace,,\n{physics.ada},Ada,Lovelace,99,bad\n"
        errors = physics.grades.import_gradebook(physics.class_id, bad)["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [(2, "student_id"), (3, "Q1"), (3, "H1")]
