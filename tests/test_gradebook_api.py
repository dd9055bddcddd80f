"""The gradebook's ``Grades.*`` over real JSON-RPC, on both stores: assignments, categories and the letter
scale, a column's scores set at once, the grid with its weighted averages and statistics (each expected value
worked out by hand in a comment), who may call what, and today's grade methods over assignments."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from helpers.grading_store import add_user, execute, snapshot
from helpers.raw_rpc import rpc

from rpc_cluster import Client, RpcError
from rpc_cluster.client.acting import acting_as
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"
TABLES = ("students", "grades", "classes", "enrolments", "audit", "requests", "assignments")
DEFAULT_CATEGORIES = [{"name": name, "weight": 25.0} for name in ("Quiz", "Test", "Exam", "Homework")]
DEFAULT_SCALE = [
    {"letter": letter, "min": low} for letter, low in (("A", 90.0), ("B", 80.0), ("C", 70.0), ("D", 60.0), ("F", 0.0))
]


@dataclass
class School:
    """A grading service with users ann (admin), tia and tom (teachers); ``grades`` calls it."""

    url: str
    store_url: str
    grades: Any

    def raw(self, method: str, params: Any, user: str | None = None) -> dict[str, Any]:
        """The whole answer object to ``Grades.<method>``, for ``user`` (None: the service's authority)."""
        return rpc(self.url, f"Grades.{method}", params, headers={} if user is None else {"X-Acting-User": user})

    def audit_entries(self) -> int:
        return int(execute(self.store_url, "SELECT COUNT(*) FROM audit")[0][0])

    def students(self, class_id: int, *names: str) -> list[int]:
        """Ids of new students ("First Last") enrolled in the class."""
        return [self.grades.add_student(*name.split(), class_id=class_id)["id"] for name in names]


@pytest.fixture
def school(store_url) -> Iterator[School]:
    with GradingService(port=0, registry=NOWHERE, db=store_url) as service:
        for name, role in (("ann", "admin"), ("tia", "teacher"), ("tom", "teacher")):
            add_user(store_url, name, role)
        yield School(service.url, store_url, Client(service.url).Grades)


def refused(call: Callable[..., Any], *args: Any, **kwargs: Any) -> RpcError:
    """The error the call raises."""
    with pytest.raises(RpcError) as info:
        call(*args, **kwargs)
    return info.value


def field_of(error: RpcError) -> str:
    """The field an invalid-params error names."""
    assert error.code == -32602, error
    return str(error.data["field"])


def cells(gradebook: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Each student's scores in a gradebook answer, by student id."""
    return {s["id"]: s["scores"] for s in gradebook["students"]}


def averages(gradebook: dict[str, Any]) -> dict[int, tuple[float | None, str | None]]:
    return {s["id"]: (s["average"], s["letter"]) for s in gradebook["students"]}


# -- assignments ------------------------------------------------------------------------------------------


def test_an_assignment_is_added_once_per_title_with_the_class_spelling_of_its_category(school):
    g = school.grades
    cid = g.add_class("5B", "tia")["id"]
    with acting_as("tia"):
        quiz = g.add_assignment(cid, "Quiz 1", "quiz", 10, "2024-09-15")
        assert quiz == {
            "id": quiz["id"],
            "class_id": cid,
            "title": "Quiz 1",
            "category": "Quiz",
            "max_points": 10.0,
            "due": "2024-09-15",
        }
        duplicate = refused(g.add_assignment, cid, "QUIZ 1", "Test", 20)
        assert (duplicate.code, duplicate.data) == (409, quiz)
        unknown = refused(g.add_assignment, cid, "Lab 1", "Lab", 10)
        assert field_of(unknown) == "category" and "Quiz, Test, Exam, Homework" in unknown.data["problem"]
        for points in (0, -5, 1_000_001, True, "10", None):
            assert field_of(refused(g.add_assignment, cid, "Lab 1", "Quiz", points)) == "max_points", points
        for due in ("2024-02-30", "15/09/2024", "2024-9-1", 20240915, "2024-09-15T10:00"):
            assert field_of(refused(g.add_assignment, cid, "Lab 1", "Quiz", 10, due)) == "due", due
        test = g.add_assignment(cid, "Test 1", "TEST", 50, "2024-09-01")
    # By name, for tia over raw JSON-RPC; the title stripped, due null.
    answer = school.raw(
        "add_assignment",
        {"class_id": cid, "title": "  Essay  ", "category": "homework", "max_points": 12.5, "due": None},
        "tia",
    )
    essay = answer["result"]
    assert essay == {
        "id": essay["id"],
        "class_id": cid,
        "title": "Essay",
        "category": "Homework",
        "max_points": 12.5,
        "due": None,
    }
    # NaN and infinities are not JSON: the request is refused before any method runs.
    for points in (float("nan"), float("inf")):
        params = {"class_id": cid, "title": "Odd", "category": "Quiz", "max_points": points}
        assert school.raw("add_assignment", params, "tia")["error"]["code"] == -32700
    with acting_as("tia"):
        # Dated first by date, then the undated in the order they were added.
        assert g.list_assignments(cid) == [{**a, "scored": 0} for a in (test, quiz, essay)]


def test_an_assignment_is_renamed_recategorised_and_rescaled_with_its_scores(school):
    g = school.grades
    cid = g.add_class("5B", "tia")["id"]
    ada, bo = school.students(cid, "Ada Lovelace", "Bo Ng")
    with acting_as("tia"):
        quiz = g.add_assignment(cid, "Quiz", "Quiz", 10)
        essay = g.add_assignment(cid, "Essay", "Homework", 20)
        scored = [{"student_id": ada, "points": 8}, {"student_id": bo, "points": 5, "mark": "late"}]
        assert g.set_scores(quiz["id"], scored) == {"saved": 2}
        assert g.update_assignment(quiz["id"], title="Pop quiz") == dict(quiz, title="Pop quiz")
        (grade,) = g.get_student(ada)["grades"]
        assert grade == {"id": grade["id"], "title": "Pop quiz", "type": "Quiz", "score": 80.0, "class_id": cid}
        assert g.update_assignment(quiz["id"], category="test")["category"] == "Test"
        assert [(x["title"], x["type"]) for x in g.get_student(bo)["grades"]] == [("Pop quiz", "Test")]
        lowered = refused(g.update_assignment, quiz["id"], max_points=7.5)  # ada has 8
        assert field_of(lowered) == "max_points" and "at least 8" in lowered.data["problem"]
        # 8/20 = 40 %, 5/20 = 25 %; then 8/8 = 100 %, 5/8 = 62.5 %.
        assert g.update_assignment(quiz["id"], max_points=20)["max_points"] == 20.0
        assert [x["score"] for s in (ada, bo) for x in g.get_student(s)["grades"]] == [40.0, 25.0]
        assert g.update_assignment(quiz["id"], max_points=8)["max_points"] == 8.0
        assert [x["score"] for s in (ada, bo) for x in g.get_student(s)["grades"]] == [100.0, 62.5]
        assert g.gradebook(cid)["students"][1]["scores"] == {
            str(quiz["id"]): {"points": 5.0, "mark": "late", "comment": None}
        }
        assert g.update_assignment(quiz["id"], due="2024-10-01")["due"] == "2024-10-01"
        assert g.update_assignment(quiz["id"], title="POP QUIZ")["due"] == "2024-10-01"  # its own title, new case
        current = g.update_assignment(quiz["id"], due="")
        assert current == dict(quiz, title="POP QUIZ", category="Test", max_points=8.0, due=None)
        stale = refused(g.update_assignment, quiz["id"], title="Quiz 2", expected={"title": "Pop quiz"})
        assert (stale.code, stale.data) == (409, current)
        taken = refused(g.update_assignment, quiz["id"], title="essay")
        assert (taken.code, taken.data) == (409, essay)
        assert g.list_assignments(cid) == [{**current, "scored": 2}, {**essay, "scored": 0}]
        shown = {"title": "POP QUIZ", "category": "Test", "max_points": 8, "due": None}
        assert g.update_assignment(quiz["id"], title="Quiz 2", expected=shown)["title"] == "Quiz 2"


def test_deleting_an_assignment_deletes_its_scores_each_in_the_audit(school):
    g = school.grades
    cid = g.add_class("5B", "tia")["id"]
    ada, bo, cy = school.students(cid, "Ada Lovelace", "Bo Ng", "Cy Curie")
    with acting_as("tia"):
        quiz = g.add_assignment(cid, "Quiz", "Quiz", 10)["id"]
        essay = g.add_assignment(cid, "Essay", "Homework", 20)["id"]
        three = [
            {"student_id": ada, "points": 8},
            {"student_id": bo, "mark": "excused"},
            {"student_id": cy, "comment": "ill"},
        ]
        g.set_scores(quiz, three)
        g.set_scores(essay, [{"student_id": ada, "points": 15}])
    grade_ids = [
        row[0]
        for row in execute(school.store_url, "SELECT id FROM grades WHERE assignment_id = ? ORDER BY id", (quiz,))
    ]
    assert len(grade_ids) == 3
    (last,) = execute(school.store_url, "SELECT MAX(id) FROM audit")[0]
    with acting_as("tia"):
        assert g.delete_assignment(quiz) is True
    entries = execute(
        school.store_url, "SELECT username, action, entity, entity_id FROM audit WHERE id > ? ORDER BY id", (last,)
    )
    assert entries == [("tia", "delete", "grade", gid) for gid in grade_ids] + [("tia", "delete", "assignment", quiz)]
    with acting_as("tia"):
        assert [a["id"] for a in g.list_assignments(cid)] == [essay]
        assert [x["title"] for x in g.get_student(ada)["grades"]] == ["Essay"]
        assert cells(g.gradebook(cid)) == {
            ada: {str(essay): {"points": 15.0, "mark": None, "comment": None}},
            bo: {},
            cy: {},
        }
        assert refused(g.delete_assignment, quiz).code == 403  # gone: a teacher is told no more than that
    gone = refused(g.delete_assignment, quiz)
    assert (gone.code, gone.data) == (404, {"assignment_id": quiz})


# -- categories and the scale ---------------------------------------------------------------------------


def test_categories_weigh_100_in_all_and_a_rename_takes_the_assignments_along(school):
    g = school.grades
    cid = g.add_class("5B", "tia")["id"]
    (ada,) = school.students(cid, "Ada Lovelace")
    with acting_as("tia"):
        assert g.gradebook(cid)["categories"] == DEFAULT_CATEGORIES
        quiz = g.add_assignment(cid, "Quiz 1", "Quiz", 10)["id"]
        homework = g.add_assignment(cid, "HW 1", "Homework", 10)["id"]
        g.set_scores(quiz, [{"student_id": ada, "points": 10}])
        g.set_scores(homework, [{"student_id": ada, "points": 5}])
        before = school.audit_entries()
        short = refused(g.set_categories, cid, [{"name": "Quiz", "weight": 40}, {"name": "Homework", "weight": 50}])
        assert field_of(short) == "weight" and "add up to 90" in short.message
        twice = refused(g.set_categories, cid, [{"name": "Quiz", "weight": 50}, {"name": "quiz", "weight": 50}])
        assert field_of(twice) == "name"
        almost = [{"name": "Quiz", "weight": 39.995}, {"name": "Homework", "weight": 60}]
        assert field_of(refused(g.set_categories, cid, almost)) == "weight"  # 99.995: 0.005 short
        for weight in (-10, 110, "50", None):
            assert field_of(refused(g.set_categories, cid, [{"name": "Quiz", "weight": weight}])) == "weight"
        dropped = refused(g.set_categories, cid, [{"name": "Quiz", "weight": 100}])
        assert field_of(dropped) == "categories" and "'Homework'" in dropped.data["problem"]
        assert school.audit_entries() == before
        renamed = g.set_categories(
            cid, [{"name": "Quizzes", "weight": 40, "was": "quiz"}, {"name": "Homework", "weight": 60}]
        )
        assert renamed == {"categories": [{"name": "Quizzes", "weight": 40.0}, {"name": "Homework", "weight": 60.0}]}
        assert [(a["title"], a["category"]) for a in g.list_assignments(cid)] == [
            ("Quiz 1", "Quizzes"),
            ("HW 1", "Homework"),
        ]
        assert sorted(x["type"] for x in g.get_student(ada)["grades"]) == ["Homework", "Quizzes"]
        # Quizzes 10/10 = 100 % x 40, Homework 5/10 = 50 % x 60: 70.
        assert averages(g.gradebook(cid)) == {ada: (70.0, "C")}
        (entry,) = [e for e in g.history("class", cid) if e["action"] == "update"]
        assert (entry["before"], entry["after"]) == (
            {"categories": DEFAULT_CATEGORIES},
            {"categories": renamed["categories"]},
        )
        # Only the case of a name changes: the assignments take the new spelling, and still weigh.
        g.set_categories(cid, [{"name": "quizzes", "weight": 40}, {"name": "homework", "weight": 60}])
        assert [a["category"] for a in g.list_assignments(cid)] == ["quizzes", "homework"]
        assert averages(g.gradebook(cid)) == {ada: (70.0, "C")}
        # Thirds to the thousandth add up to 99.999: near enough.
        thirds = [{"name": n, "weight": 33.333} for n in ("quizzes", "homework")] + [{"name": "Test", "weight": 33.334}]
        assert [c["weight"] for c in g.set_categories(cid, thirds)["categories"]] == [33.333, 33.333, 33.334]
        thirds[2]["weight"] = 33.333
        assert [c["weight"] for c in g.set_categories(cid, thirds)["categories"]] == [33.333] * 3
        g.set_categories(cid, [{"name": "quizzes", "weight": 40}, {"name": "homework", "weight": 60}])
        # Two names swapped: each assignment goes with its own category. Had both ended in one category,
        # it would be 15/20 = 75.
        g.set_categories(
            cid,
            [
                {"name": "homework", "weight": 40, "was": "quizzes"},
                {"name": "quizzes", "weight": 60, "was": "homework"},
            ],
        )
        assert [a["category"] for a in g.list_assignments(cid)] == ["homework", "quizzes"]
        assert sorted(x["type"] for x in g.get_student(ada)["grades"]) == ["homework", "quizzes"]
        assert averages(g.gradebook(cid)) == {ada: (70.0, "C")}


def test_a_scale_starts_at_0_has_each_letter_and_minimum_once_and_is_kept_highest_first(school):
    g = school.grades
    cid = g.add_class("5B", "tia")["id"]
    ada, bo, cy = school.students(cid, "Ada Lovelace", "Bo Ng", "Cy Curie")
    with acting_as("tia"):
        assert g.gradebook(cid)["scale"] == DEFAULT_SCALE
        exam = g.add_assignment(cid, "Exam", "Exam", 100)["id"]
        g.set_scores(exam, [{"student_id": s, "points": p} for s, p in ((ada, 85), (bo, 84.99), (cy, 49.99))])
        before = school.audit_entries()
        no_zero = refused(g.set_scale, cid, [{"letter": "A", "min": 90}, {"letter": "B", "min": 50}])
        assert field_of(no_zero) == "min"
        same_letter = refused(g.set_scale, cid, [{"letter": "A", "min": 90}, {"letter": "a", "min": 0}])
        assert field_of(same_letter) == "letter"
        same_min = [{"letter": "A", "min": 90}, {"letter": "B", "min": 90}, {"letter": "F", "min": 0}]
        assert field_of(refused(g.set_scale, cid, same_min)) == "min"
        assert field_of(refused(g.set_scale, cid, [{"letter": "A", "min": 101}, {"letter": "F", "min": 0}])) == "min"
        assert field_of(refused(g.set_scale, cid, [{"letter": "TOOLONG", "min": 0}])) == "letter"
        assert school.audit_entries() == before
        stored = g.set_scale(cid, [{"letter": "F", "min": 0}, {"letter": "A", "min": 85}, {"letter": "P", "min": 50}])
        wanted = [{"letter": "A", "min": 85.0}, {"letter": "P", "min": 50.0}, {"letter": "F", "min": 0.0}]
        assert stored == {"scale": wanted}
        book = g.gradebook(cid)
        assert book["scale"] == wanted
        assert averages(book) == {
            ada: (pytest.approx(85.0), "A"),
            bo: (pytest.approx(84.99), "P"),
            cy: (pytest.approx(49.99), "F"),
        }


# -- set_scores ---------------------------------------------------------------------------------------------


def test_a_column_of_forty_scores_is_saved_at_once_exactly_once_or_not_at_all(school):
    g = school.grades
    cid = g.add_class("5B", "tia")["id"]
    ids = school.students(cid, *(f"S{n:02} Pupil" for n in range(40)))
    with acting_as("tia"):
        quiz = g.add_assignment(cid, "Quiz", "Quiz", 10)["id"]
        entries = [{"student_id": sid, "points": n % 11, "mark": None, "comment": None} for n, sid in enumerate(ids)]
        before = school.audit_entries()
        assert g.set_scores(quiz, entries) == {"saved": 40}
        assert school.audit_entries() == before + 40
        assert g.set_scores(quiz, entries) == {"saved": 0}  # nothing changed, nothing written
        assert school.audit_entries() == before + 40
        assert cells(g.gradebook(cid)) == {
            sid: {str(quiz): {"points": float(n % 11), "mark": None, "comment": None}} for n, sid in enumerate(ids)
        }
        # 10 - n % 11 differs from n % 11 unless n % 11 is 5 (n = 5, 16, 27, 38): 36 change.
        flipped = [dict(e, points=10 - e["points"]) for e in entries]
        assert g.set_scores(quiz, flipped, request_id="column-1") == {"saved": 36}
        g.set_scores(quiz, [{"student_id": ids[0], "points": 1}])  # someone else, in between
        after = school.audit_entries()
        assert g.set_scores(quiz, flipped, request_id="column-1") == {"saved": 36}  # the first answer
        assert school.audit_entries() == after
        assert cells(g.gradebook(cid))[ids[0]] == {str(quiz): {"points": 1.0, "mark": None, "comment": None}}

    # One bad entry among forty good ones saves nothing, and the error names it.
    (other,) = school.students(g.add_class("Other", "tia")["id"], "Oz Other")
    with acting_as("tia"):
        good = [{"student_id": sid, "points": 7, "mark": None, "comment": "fine"} for sid in ids]
        unchanged = snapshot(school.store_url, TABLES)
        bad_entries = [
            (7, {"student_id": ids[7], "points": 10.5}),  # over the assignment's 10
            (12, {"student_id": other, "points": 1}),  # in another class
            (13, {"student_id": 10**6, "points": 1}),  # no student at all
            (20, {"student_id": ids[3], "points": 1}),  # ids[3] is entry 3 too
            (39, {"student_id": ids[39], "mark": "absent"}),
            (0, {"student_id": ids[0], "comment": "x" * 1001}),
            (5, {"student_id": ids[5], "points": -1}),
            (6, {"student_id": ids[6], "points": "7"}),
            (8, {"student_id": ids[8], "points": 7, "grade": "A"}),
        ]
        for index, bad in bad_entries:
            sent = list(good)
            sent[index] = bad
            error = refused(g.set_scores, quiz, sent)
            assert error.code == -32602, error
            assert (error.data["field"], error.data["index"], error.data["student_id"]) == (
                "scores",
                index,
                bad["student_id"],
            )
        # Two bad entries: the first is named, whatever is wrong with each.
        sent = list(good)
        sent[2], sent[30] = {"student_id": other, "points": 1}, {"student_id": ids[30], "points": 11}
        error = refused(g.set_scores, quiz, sent)
        assert (error.data["index"], error.data["student_id"]) == (2, other)
        assert snapshot(school.store_url, TABLES) == unchanged


def test_an_empty_entry_clears_a_score_and_a_stale_form_saves_nothing(school):
    g = school.grades
    cid = g.add_class("5B", "tia")["id"]
    ada, bo, cy = school.students(cid, "Ada Lovelace", "Bo Ng", "Cy Curie")
    with acting_as("tia"):
        quiz = g.add_assignment(cid, "Quiz", "Quiz", 10)["id"]
        g.set_scores(quiz, [{"student_id": s, "points": 6, "comment": "ok"} for s in (ada, bo, cy)])
        cleared = [
            {"student_id": ada, "points": None, "mark": None, "comment": None},
            {"student_id": bo, "points": None, "mark": None, "comment": "  "},
        ]
        assert g.set_scores(quiz, cleared) == {"saved": 2}
        assert cells(g.gradebook(cid)) == {
            ada: {},
            bo: {},
            cy: {str(quiz): {"points": 6.0, "mark": None, "comment": "ok"}},
        }
        assert g.get_student(ada)["grades"] == []
        # Tia's form showed ada none and cy 6 "ok"; tom's late 3 "redo" for cy came in between.
        opened = {
            ada: {"points": None, "mark": None, "comment": None},
            cy: {"points": 6, "mark": None, "comment": "ok"},
        }
    g.set_scores(quiz, [{"student_id": cy, "points": 3, "mark": "late", "comment": "redo"}])
    with acting_as("tia"):
        unchanged = snapshot(school.store_url, TABLES)
        form = [{"student_id": s, "points": 9, "mark": None, "comment": None, "was": opened[s]} for s in (ada, cy)]
        stale = refused(g.set_scores, quiz, form, request_id="form-1")
        assert (stale.code, stale.data) == (
            409,
            {
                "conflicts": [
                    {"assignment_id": quiz, "student_id": cy, "points": 3.0, "mark": "late", "comment": "redo"}
                ]
            },
        )
        assert snapshot(school.store_url, TABLES) == unchanged
        form[1]["was"] = {"points": 3, "mark": "late", "comment": "redo"}
        assert g.set_scores(quiz, form, request_id="form-2") == {"saved": 2}
        assert {s: c.get(str(quiz), {}).get("points") for s, c in cells(g.gradebook(cid)).items()} == {
            ada: 9.0,
            bo: None,
            cy: 9.0,
        }


# -- the grid ----------------------------------------------------------------------------------------------


def test_the_gradebook_computes_the_worked_example_and_every_average_and_statistic(school):
    g = school.grades
    cid = g.add_class("Physics", "tia")["id"]
    # Added in this order; the grid lists them by last name.
    ada, bo, cy, di, ed, fay, gus = school.students(
        cid, "Ada Lovelace", "Bo ng", "Cy Curie", "Di Diaz", "Ed Euler", "Fay Fermat", "Gus Gone"
    )
    g.archive(cid, gus)
    with acting_as("tia"):
        g.set_categories(cid, [{"name": "Quiz", "weight": 40}, {"name": "Homework", "weight": 60}])

        def column(title: str, category: str, points: float, due: str | None, scores: dict[int, Any]) -> int:
            made = g.add_assignment(cid, title, category, points, due)["id"]
            entries = [
                {"student_id": s, "points": None, "mark": v} if isinstance(v, str) else {"student_id": s, "points": v}
                for s, v in scores.items()
            ]
            g.set_scores(made, entries)
            return made

        q1 = column("Q1", "Quiz", 10, "2024-09-02", {ada: 8, bo: "excused", gus: 10})
        h1 = column("H1", "Homework", 50, "2024-09-03", {ada: 45, bo: "excused", cy: 40, ed: 20})
        q2 = column("Q2", "Quiz", 20, "2024-09-09", {ada: 15})
        h2 = column("H2", "Homework", 10, "2024-09-10", {ada: "excused"})
        h3 = column("H3", "Homework", 10, None, {ada: "missing", ed: "missing"})
        q3 = column("Q3", "Quiz", 100, None, {fay: 89.99})
        g.set_scores(q1, [{"student_id": di, "points": 9, "mark": "late"}])
        # Ed: H1 20/50, H3 missing 0/10: 20/60 = 33.33.
        assert averages(g.gradebook(cid))[ed] == (pytest.approx(100 * 20 / 60), "F")
        g.set_scores(h3, [{"student_id": ed, "points": 7, "mark": "missing"}])  # points entered at last
        book = g.gradebook(cid)
    assert book["class"] == {"id": cid, "name": "Physics", "teacher": "tia", "students": 6}  # the active roster
    assert [a["id"] for a in book["assignments"]] == [q1, h1, q2, h2, h3, q3]
    assert [(s["first_name"], s["last_name"]) for s in book["students"]] == [
        ("Cy", "Curie"),
        ("Di", "Diaz"),
        ("Ed", "Euler"),
        ("Fay", "Fermat"),
        ("Ada", "Lovelace"),
        ("Bo", "ng"),
    ]
    assert averages(book) == {
        # Quiz 23/30 = 76.67 x 0.4 + Homework 45/60 = 75 x 0.6 (H2 excused, H3 missing) = 75.67.
        ada: (pytest.approx(0.4 * 100 * 23 / 30 + 0.6 * 75), "C"),
        bo: (None, None),  # everything excused
        cy: (80.0, "B"),  # only Homework counts: 40/50, its weight alone
        di: (90.0, "A"),  # late counts: 9/10, exactly the A
        ed: (pytest.approx(100 * 27 / 60), "F"),  # H1 20 + H3 7 of 60
        fay: (pytest.approx(89.99), "B"),
    }
    assert book["students"][4]["scores"] == {
        str(q1): {"points": 8.0, "mark": None, "comment": None},
        str(h1): {"points": 45.0, "mark": None, "comment": None},
        str(q2): {"points": 15.0, "mark": None, "comment": None},
        str(h2): {"points": None, "mark": "excused", "comment": None},
        str(h3): {"points": None, "mark": "missing", "comment": None},
    }
    stats = {a["title"]: a["stats"] for a in book["assignments"]}

    def buckets(*indexes: int) -> list[int]:
        counts = [0] * 10
        for index in indexes:
            counts[index] += 1
        return counts

    # Q1: ada 8, di 9 late; bo excused; gus archived, not on the roster. 80 % and 90 %.
    assert stats["Q1"] == {
        "scored": 2,
        "missing": 0,
        "excused": 1,
        "late": 1,
        "mean": 8.5,
        "median": 8.5,
        "min": 8.0,
        "max": 9.0,
        "histogram": buckets(8, 9),
    }
    # H1: 45, 40, 20 of 50 (90 %, 80 %, 40 %); bo excused.
    assert stats["H1"] == {
        "scored": 3,
        "missing": 0,
        "excused": 1,
        "late": 0,
        "mean": 35.0,
        "median": 40.0,
        "min": 20.0,
        "max": 45.0,
        "histogram": buckets(9, 8, 4),
    }
    # H3: ada missing (0), ed 7 marked missing: 0 % and 70 %.
    assert stats["H3"] == {
        "scored": 1,
        "missing": 2,
        "excused": 0,
        "late": 0,
        "mean": 3.5,
        "median": 3.5,
        "min": 0.0,
        "max": 7.0,
        "histogram": buckets(0, 7),
    }
    empty = {"scored": 0, "missing": 0, "excused": 1, "late": 0, "mean": None, "median": None, "min": None, "max": None}
    assert stats["H2"] == {**empty, "histogram": buckets()}
    # The averages 75.67, 80, 90, 45, 89.99 (bo has none): mean 380.66/5, median 80.
    assert book["statistics"] == {
        "students": 6,
        "graded": 5,
        "mean": pytest.approx((0.4 * 100 * 23 / 30 + 0.6 * 75 + 80 + 90 + 45 + 89.99) / 5),
        "median": 80.0,
        "histogram": buckets(7, 8, 9, 4, 8),
    }
    with acting_as("tia"):
        (only,) = g.gradebook(cid, student_id=ed)["students"]
        assert only == book["students"][2]
        (archived,) = g.gradebook(cid, student_id=gus)["students"]
        assert (archived["id"], archived["average"], archived["letter"]) == (gus, 100.0, "A")


def test_averages_without_scores_are_null_and_a_boundary_reached_in_floating_point_is_its_letter(school):
    g = school.grades
    cid = g.add_class("Empty", "tia")["id"]
    ada, bo = school.students(cid, "Ada Lovelace", "Bo Ng")
    with acting_as("tia"):
        g.add_assignment(cid, "Quiz", "Quiz", 10)
        book = g.gradebook(cid)
    assert averages(book) == {ada: (None, None), bo: (None, None)}
    assert book["statistics"] == {"students": 2, "graded": 0, "mean": None, "median": None, "histogram": [0] * 10}
    assert book["assignments"][0]["stats"]["mean"] is None
    # Quiz 10 %, Homework 90 %: 9/25 = 36 % and 24/25 = 96 % make 3.6 + 86.4 = 90 exactly, which the
    # floating point sum puts at 89.99999999999999: still an A.
    with acting_as("tia"):
        g.set_categories(cid, [{"name": "Quiz", "weight": 10}, {"name": "Homework", "weight": 90}])
        quiz = g.add_assignment(cid, "Quiz 2", "Quiz", 25)["id"]
        homework = g.add_assignment(cid, "HW", "Homework", 25)["id"]
        g.set_scores(quiz, [{"student_id": ada, "points": 9}])
        g.set_scores(homework, [{"student_id": ada, "points": 24}, {"student_id": bo, "points": 22.4975}])
        book = g.gradebook(cid)
    # Bo: Homework only, 22.4975/25 = 89.99 %: a B.
    assert averages(book) == {ada: (pytest.approx(90.0), "A"), bo: (pytest.approx(89.99), "B")}


# -- who may call what ---------------------------------------------------------------------------------


def test_a_teacher_is_refused_every_gradebook_method_on_a_class_they_do_not_teach(school):
    g = school.grades
    tias = g.add_class("Tia's", "tia")["id"]
    toms = g.add_class("Tom's", "tom")["id"]
    (ada,) = school.students(tias, "Ada Lovelace")
    (bo,) = school.students(toms, "Bo Ng")
    quiz = g.add_assignment(tias, "Quiz", "Quiz", 10)["id"]
    g.set_scores(quiz, [{"student_id": ada, "points": 5}])
    grid = f"student_id,first_name,last_name,Quiz\n{ada},Ada,Lovelace,6\n"
    categories = [{"name": "Quiz", "weight": 100}]
    scale = [{"letter": "P", "min": 50}, {"letter": "F", "min": 0}]

    def calls(class_id: int, assignment_id: int) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(method, params, the refusal's data) of every new method, aimed at that class and assignment."""
        on_class, on_assignment = {"class_id": class_id}, {"assignment_id": assignment_id}
        return [
            ("add_assignment", {**on_class, "title": "Sneaky", "category": "Quiz", "max_points": 5}, on_class),
            ("update_assignment", {**on_assignment, "title": "Sneaky"}, on_assignment),
            ("delete_assignment", on_assignment, on_assignment),
            ("list_assignments", on_class, on_class),
            ("set_categories", {**on_class, "categories": categories}, on_class),
            ("set_scale", {**on_class, "scale": scale}, on_class),
            ("set_scores", {**on_assignment, "scores": [{"student_id": ada, "points": 1}]}, on_assignment),
            ("gradebook", on_class, on_class),
            ("import_gradebook", {**on_class, "csv_text": grid}, on_class),
            ("import_gradebook", {**on_class, "csv_text": grid, "confirm": True}, on_class),
        ]

    unchanged = snapshot(school.store_url, TABLES)
    for class_id, assignment_id in ((tias, quiz), (10**6, 10**6)):
        for method, params, data in calls(class_id, assignment_id):
            answer = school.raw(method, params, "tom")
            assert answer.get("error", {}).get("code") == 403 and answer["error"]["data"] == data, (method, answer)
            if class_id != tias:
                # An id that names nothing: the service and an admin are told so.
                for user in (None, "ann"):
                    answer = school.raw(method, params, user)
                    assert answer.get("error", {}).get("code") == 404, (method, user, answer)
                    assert answer["error"]["data"] == data
    # A student of tia's class in tom's gradebook is no row of it.
    refusal = school.raw("gradebook", {"class_id": toms, "student_id": ada}, "tom")["error"]
    assert (refusal["code"], refusal["data"]) == (403, {"student_id": ada})
    assert snapshot(school.store_url, TABLES) == unchanged
    # Tom's own class; tia's for the admin and the service.
    assert school.raw("gradebook", {"class_id": toms}, "tom")["result"]["students"][0]["id"] == bo
    for user in (None, "ann"):
        title = f"By {user}"
        allowed = [
            ("add_assignment", {"class_id": tias, "title": title, "category": "Quiz", "max_points": 5}),
            ("update_assignment", {"assignment_id": quiz, "due": "2024-09-01"}),
            ("list_assignments", {"class_id": tias}),
            ("set_categories", {"class_id": tias, "categories": categories}),
            ("set_scale", {"class_id": tias, "scale": scale}),
            ("set_scores", {"assignment_id": quiz, "scores": [{"student_id": ada, "points": 1}]}),
            ("gradebook", {"class_id": tias}),
            ("import_gradebook", {"class_id": tias, "csv_text": grid}),
        ]
        for method, params in allowed:
            assert "result" in school.raw(method, params, user), (method, user)
    with acting_as("ann"):
        book = g.gradebook(tias)
    assert [a["title"] for a in book["assignments"]] == ["Quiz", "By None", "By ann"]
    assert averages(book) == {ada: (10.0, "F")}


# -- today's grade methods ------------------------------------------------------------------------------


def test_add_grade_sets_a_score_on_the_assignment_of_its_title(school):
    g = school.grades
    cid = g.add_class("5B", "tia")["id"]
    other = g.add_class("Other", "tom")["id"]
    ada, bo = school.students(cid, "Ada Lovelace", "Bo Ng")
    with acting_as("tia"):
        first = g.add_grade(ada, "Lab 1", "Test", 80)
        assert first == {"id": first["id"], "title": "Lab 1", "type": "Test", "score": 80.0, "class_id": cid}
        (lab,) = g.list_assignments(cid)
        assert lab == {
            "id": lab["id"],
            "class_id": cid,
            "title": "Lab 1",
            "category": "Test",
            "max_points": 100.0,
            "due": None,
            "scored": 1,
        }
        # The same title in another case, for the same student: that score changes, as docs/protocol.md says.
        again = g.add_grade(ada, "LAB 1", "Test", 65)
        assert again == dict(first, score=65.0)
        assert g.add_grade(bo, "lab 1", "Test", 90)["title"] == "Lab 1"
        assert [(a["title"], a["scored"]) for a in g.list_assignments(cid)] == [("Lab 1", 2)]
        assert [x["id"] for x in g.get_student(ada)["grades"]] == [first["id"]]
        # A score is a percentage of the assignment's points: 80 % of 10 is 8 points. 3 % is 0.3 points,
        # which floating point makes 0.30000000000000004, and back 3.0000000000000004 %: answered 3.
        quiz = g.add_assignment(cid, "Quiz", "Quiz", 10)["id"]
        assert g.add_grade(ada, "quiz", "Quiz", 80)["score"] == 80.0
        assert cells(g.gradebook(cid))[ada][str(quiz)] == {"points": 8.0, "mark": None, "comment": None}
        three = g.add_grade(bo, "Quiz", "Quiz", 3)
        assert three["score"] == 3.0
        assert [x["score"] for x in g.get_student(bo)["grades"] if x["id"] == three["id"]] == [3.0]
        assert g.update_grade(three["id"], score=7)["score"] == 7.0
        # An excused score is no grade of today's API, and no part of its average.
        g.set_scores(quiz, [{"student_id": bo, "mark": "excused"}])
        seen = g.get_student(bo)
        assert [(x["title"], x["score"]) for x in seen["grades"]] == [("Lab 1", 90.0)]
        assert seen["average"] == 90.0
        for grade in g.get_student(ada)["grades"]:
            assert set(grade) == {"id", "title", "type", "score", "class_id"}
    g.enroll(other, ada)
    two = refused(g.add_grade, ada, "Lab 2", "Test", 70)
    assert field_of(two) == "class_id"
    assert g.add_grade(ada, "Lab 2", "Test", 70, class_id=other)["class_id"] == other
    assert [a["title"] for a in g.list_assignments(other)] == ["Lab 2"]


def test_categories_and_a_scale_saved_from_a_stale_form_change_nothing(school):
    class_id = school.grades.add_class("Stale", "tia")["id"]
    opened = school.grades.gradebook(class_id)["categories"]
    theirs = [{"name": "Quiz", "weight": 60}, {"name": "Test", "weight": 40}]
    school.grades.set_categories(class_id, theirs, expected=opened)  # the first save of the form: applied
    mine = [{"name": "Quiz", "weight": 50}, {"name": "Test", "weight": 50}]
    before = school.audit_entries()
    error = refused(school.grades.set_categories, class_id, mine, expected=opened)  # opened before theirs
    assert error.code == 409 and error.data == {
        "categories": [{"name": "Quiz", "weight": 60.0}, {"name": "Test", "weight": 40.0}]
    }
    assert school.grades.gradebook(class_id)["categories"] == error.data["categories"]
    assert school.audit_entries() == before
    stored = school.grades.set_scale(
        class_id, [{"letter": "P", "min": 50}, {"letter": "F", "min": 0}], expected=DEFAULT_SCALE
    )
    error = refused(school.grades.set_scale, class_id, DEFAULT_SCALE, expected=DEFAULT_SCALE)
    assert error.code == 409 and error.data == stored
    for bad in ("Quiz", [{"name": "Quiz"}], [{"name": 1, "weight": 1}], [{"name": "Q", "weight": 10**400}]):
        assert field_of(refused(school.grades.set_categories, class_id, mine, expected=bad)) == "expected"


def test_an_assignment_whose_scores_changed_since_the_confirmation_is_not_deleted(school):
    class_id = school.grades.add_class("Deleting", "tia")["id"]
    (ada,) = school.students(class_id, "Ada Lovelace")
    quiz = school.grades.add_assignment(class_id, "Quiz", "Quiz", 10)
    error = refused(school.grades.delete_assignment, quiz["id"], scored=1)  # it has none
    assert error.code == 409 and error.data == {**quiz, "scored": 0}
    school.grades.set_scores(quiz["id"], [{"student_id": ada, "points": 7}])
    assert refused(school.grades.delete_assignment, quiz["id"], scored=0).code == 409
    assert [a["id"] for a in school.grades.list_assignments(class_id)] == [quiz["id"]]
    assert school.grades.delete_assignment(quiz["id"], scored=1) is True
    assert school.grades.list_assignments(class_id) == []


def test_two_settings_forms_saved_at_once_store_one_and_refuse_the_other(school):
    class_id = school.grades.add_class("Racing", "tia")["id"]
    opened = school.grades.gradebook(class_id)["categories"]

    def save(categories: list[dict[str, Any]]) -> int:
        try:
            Client(school.url).Grades.set_categories(class_id, categories, expected=opened)
        except RpcError as exc:
            return exc.code
        return 200

    for n in range(5):  # both opened on the same categories: whichever is second is stale
        forms = [[{"name": "Quiz", "weight": w}, {"name": "Test", "weight": 100 - w}] for w in (20 + n, 60 + n)]
        with ThreadPoolExecutor(2) as pool:
            assert sorted(pool.map(save, forms)) == [200, 409]
        opened = school.grades.gradebook(class_id)["categories"]
        assert opened in [[{"name": c["name"], "weight": float(c["weight"])} for c in form] for form in forms]
