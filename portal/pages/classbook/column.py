"""Whole-class entry of one assignment: ``GET`` and ``POST /classes/<id>/assignments/<aid>``.

One form lists every student of the active roster (in the grid's order) with their points, mark
and comment. Each row also carries, hidden, the values it was opened with (``was_*``), and the
form a ``request_id`` made when the page was drawn. A submit is one ``Grades.set_scores`` call
with the rows the teacher changed, each with its ``was``: grading saves all of them or none,
once per ``request_id``, and refuses (409) if a score someone else changed meanwhile is among
them. Then the page comes back with those rows marked and their values now, keeping what was
typed; a second submit stores the typed values over them, on purpose.

The page is complete without JavaScript (Enter submits the form); ``/static/column.js`` makes
Enter in a points field go to the next student's points, as in a spreadsheet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import bottle

from rpc_cluster import Conflict, InvalidParams, NotFound

from ...frame import calls, csrf, errors, flash, forms
from ...frame.render import render
from ...frame.traced import traced
from ...grades_csv import parse_score
from ..gradebook.student import id_or_404
from .grid import MARKS, assignment_or_404, due_text, gradebook_or_404, points_text

MAX_COMMENT = 1000
#: What each row of the form holds, typed and as opened (``was_points`` ...).
FIELDS = ("points", "mark", "comment")
NOT_A_NUMBER = "must be a number, such as 8 or 7.5"


@dataclass
class Row:
    """One student's row of the form: what it shows (``typed``) and what it was opened with (``was``)."""

    student: dict[str, Any]
    typed: dict[str, str]
    was: dict[str, str]
    #: Field -> problem, shown next to the field.
    problems: dict[str, str] = field(default_factory=dict)
    #: The score as stored now, when someone changed it after the form was opened.
    now: dict[str, str] | None = None


@traced
def column(class_id: str, assignment_id: str) -> str:
    """``GET /classes/<id>/assignments/<aid>``: the form, every row as stored."""
    number = id_or_404(class_id, "class")
    return page(number, assignment_id)


@traced
def save_column(class_id: str, assignment_id: str) -> str:
    """``POST /classes/<id>/assignments/<aid>``: the changed rows, in one ``Grades.set_scores``; 303 to the grid."""
    csrf.check()
    number = id_or_404(class_id, "class")
    assignment = _assignment_of(number, assignment_id)
    posted = read_rows()
    entries: list[dict[str, Any]] = []
    problems: dict[int, dict[str, str]] = {}
    for student_id, (typed, was) in posted.items():
        entry, found = to_entry(student_id, typed, was)
        if found:
            problems[student_id] = found
        elif entry is not None:
            entries.append(entry)
    if problems:
        return page(number, assignment_id, 400, posted=posted, problems=problems)
    if not entries:
        flash.redirect(
            f"/classes/{number}#a-{assignment['id']}", f"No scores of {assignment['title']} changed: nothing to save."
        )
    try:
        saved = calls.grading(
            "Grades.set_scores", assignment_id=assignment["id"], scores=entries, request_id=forms.request_id()
        )
    except Conflict as exc:
        if calls.first_use(exc) is not None:
            problem = (
                "This form was already saved once, with other values. Nothing was saved now."
                " The page shows the scores stored now with what you typed; save again to store it."
            )
            return page(number, assignment_id, 409, posted=posted, form_error=problem)
        data = exc.data if isinstance(exc.data, dict) else {}
        now = {c["student_id"]: c for c in data.get("conflicts", []) if isinstance(c, dict) and "student_id" in c}
        return page(number, assignment_id, 409, posted=posted, conflicts=now)
    except InvalidParams as exc:
        data = exc.data if isinstance(exc.data, dict) else {}
        problem = str(data.get("problem") or exc.message)
        named = data.get("student_id")
        if isinstance(named, int) and named in posted:
            where, said = _field_named(problem)
            return page(number, assignment_id, 400, posted=posted, problems={named: {where: said}})
        return page(number, assignment_id, 400, posted=posted, form_error=problem)
    except NotFound:
        errors.not_found("That assignment was deleted meanwhile: nothing was saved.")
    done = saved.get("saved", len(entries)) if isinstance(saved, dict) else len(entries)
    # Back to the grid at this assignment's column, where the teacher was.
    flash.redirect(
        f"/classes/{number}#a-{assignment['id']}",
        f"Saved {done} score{'' if done == 1 else 's'} of {assignment['title']}.",
    )


def page(
    number: int,
    assignment_id: str,
    status: int = 200,
    *,
    posted: dict[int, tuple[dict[str, str], dict[str, str]]] | None = None,
    problems: dict[int, dict[str, str]] | None = None,
    conflicts: dict[int, dict[str, Any]] | None = None,
    form_error: str | None = None,
) -> str:
    """The column's form for class ``number``: the gradebook as stored now, with what was ``posted`` kept.

    A row the teacher changed keeps what they typed and what it was opened with; a row in
    ``conflicts`` keeps what was typed, shows the score stored now and takes that as its ``was``
    (so saving again stores the typed values on purpose); every other row shows the score now.
    """
    book = gradebook_or_404(number)
    assignment = assignment_or_404(book["assignments"], assignment_id)
    posted, problems, conflicts = posted or {}, problems or {}, conflicts or {}
    rows = []
    for student in book["students"]:
        stored = shown(student["scores"].get(str(assignment["id"])))
        typed, was = posted.get(student["id"], (stored, stored))
        row = Row(student, typed, was, problems.get(student["id"], {}))
        if student["id"] in conflicts:
            row.now = row.was = shown(conflicts[student["id"]])
        elif same(typed, was):
            row.typed = row.was = stored
        rows.append(row)
    return render(
        "column.tpl",
        status,
        klass=book["class"],
        assignment=assignment,
        rows=rows,
        marks=MARKS,
        form_error=form_error,
        conflicted=[r for r in rows if r.now is not None],
        troubled=[r for r in rows if r.problems],
        points_text=points_text,
        due_text=due_text,
        max_comment=MAX_COMMENT,
    )


def _assignment_of(number: int, assignment_id: str) -> dict[str, Any]:
    """Assignment ``assignment_id`` of class ``number`` (``Grades.list_assignments``), or the 404 page: an
    assignment under another class's URL is not there."""
    try:
        listed: list[dict[str, Any]] = calls.grading("Grades.list_assignments", class_id=number)
    except NotFound:
        errors.not_found(f"There is no class with id {number}.")
    return assignment_or_404(listed, assignment_id)


def read_rows() -> dict[int, tuple[dict[str, str], dict[str, str]]]:
    """Student id -> (typed, was) of each row the form posted, in its order; rows without a valid id are left out."""
    forms.posted()
    rows: dict[int, tuple[dict[str, str], dict[str, str]]] = {}
    for text in bottle.request.forms.getall("student"):
        student_id = forms.number(text)
        if student_id is None or student_id in rows:
            continue
        typed = {name: forms.field(f"{name}-{student_id}") for name in FIELDS}
        # A browser sends a hidden field's line breaks as CRLF: the comment as stored has LF.
        was = {name: forms.field(f"was_{name}-{student_id}").replace("\r\n", "\n") for name in FIELDS}
        rows[student_id] = (typed, was)
    return rows


def to_entry(
    student_id: int, typed: dict[str, str], was: dict[str, str]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The ``set_scores`` entry of one row (None when the teacher changed nothing in it), and its problems."""
    problems: dict[str, str] = {}
    points = parse_score(typed["points"]) if typed["points"].strip() else None
    if typed["points"].strip() and points is None:
        problems["points"] = NOT_A_NUMBER
    mark = typed["mark"] or None
    if mark is not None and mark not in MARKS:
        problems["mark"] = "must be none, missing, excused or late"
    comment = typed["comment"].strip() or None
    if comment is not None and kept_comment(typed["comment"], was["comment"]):
        comment = was["comment"].strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        problems["comment"] = f"must be at most {MAX_COMMENT} characters"
    if problems or same(typed, was):
        return None, problems
    before = {
        "points": parse_score(was["points"]) if was["points"].strip() else None,
        "mark": was["mark"] or None,
        "comment": was["comment"] or None,
    }
    entry = {"student_id": student_id, "points": points, "mark": mark, "comment": comment, "was": before}
    return entry, {}


def same(typed: dict[str, str], was: dict[str, str]) -> bool:
    """True if a row holds what it was opened with: the same points (``8`` is ``8.0``), mark and comment."""
    if typed["mark"] != was["mark"] or not kept_comment(typed["comment"], was["comment"]):
        return False
    a, b = typed["points"].strip(), was["points"].strip()
    if a == b:
        return True
    return a != "" and b != "" and parse_score(a) is not None and parse_score(a) == parse_score(b)


def kept_comment(typed: str, was: str) -> bool:
    """True if the comment typed is the one the row was opened with: as stored, or as its one-line field
    showed it (a browser drops an input's line breaks; grading keeps those of a comment given by the API)."""
    return typed.strip() in (was.strip(), was.replace("\r", "").replace("\n", "").strip())


def shown(score: dict[str, Any] | None) -> dict[str, str]:
    """A score (``{"points", "mark", "comment"}``, or None for none) as the form's fields hold it."""
    if not score:
        return {"points": "", "mark": "", "comment": ""}
    return {
        "points": points_text(score.get("points")),
        "mark": score.get("mark") or "",
        "comment": score.get("comment") or "",
    }


def _field_named(problem: str) -> tuple[str, str]:
    """Which field of a row grading's problem is about, and the problem without its name: grading says
    "points must be from 0 to 10" of the entry it names."""
    name, _, rest = problem.partition(" ")
    if name in FIELDS and rest:
        return name, rest
    return "points", problem
