"""One student's page with their grades, and the form that adds a grade: ``/students/<id>``.

The page shows the grades the signed-in user may see (grading leaves out the
others). Each grade has an Edit link, which shows that grade's form in its row
(``/students/<id>?edit=<grade_id>``), a Delete link to a confirmation page, and
a History link (``portal.pages.history``); what they post to is handled in
``portal.pages.gradebook.grade``. One edit form
at a time: a form in every row made a page of 20 grades 27 KB and took 1 ms
to render (0.2 ms before), more than the grading call it shows.
"""

from __future__ import annotations

from typing import Any

import bottle

from rpc_cluster import Conflict, InvalidParams, NotFound
from rpc_cluster.grading.storage.protocol import GRADE_TYPES, Grade, Student

from ... import grades_csv
from ...frame import calls, csrf, errors, flash, forms
from ...frame.render import render
from ...frame.traced import traced


@traced
def student(student_id: str) -> str:
    """``GET /students/<id>?edit=<grade_id>``: ``edit`` opens that grade's form (a grade not shown opens none)."""
    found = student_or_404(student_id)
    wanted = forms.number(bottle.request.query.get("edit", ""))
    grade = next((g for g in found["grades"] if g["id"] == wanted), None)
    if grade is None:
        return page(found)
    return page(found, editing=grade["id"], edit_values=shown(grade), expected=shown(grade))


@traced
def add_grade(student_id: str) -> str:
    """``POST /students/<id>/grades``: add one, then show the student's page again.

    One grading call when it works: ``add_grade`` itself answers 404 for an
    unknown student, so the student is read only to show the form again.
    """
    csrf.check()
    number = id_or_404(student_id, "student")
    values, score, problems = read_grade_form()
    values["class_id"] = forms.field("class_id")
    chosen = forms.number(values["class_id"])
    if not problems:
        try:
            stored = calls.grading(
                "Grades.add_grade",
                student_id=number,
                title=values["title"],
                type=values["type"],
                score=score,
                request_id=forms.request_id(),
                **({} if chosen is None else {"class_id": chosen}),
            )
        except InvalidParams as exc:
            problems = calls.field_error(exc)
        except NotFound:
            errors.not_found(f"There is no student with id {number}.")
        except Conflict as exc:
            used = calls.first_use(exc)
            if used is None:
                raise
            # The form came back (Back, then Add) with other values: the first grade stays, once; the
            # form is offered again as typed, with a new request_id, to add this one as well.
            return page(student_or_404(student_id), 409, errors={"form": _already_added(used)}, values=values)
        else:
            # To the add form's Title field: the browser focuses a focusable fragment target, so the
            # next grade is typed at once, without tabbing through every grade's links.
            flash.redirect(f"/students/{number}#title", f"Added {describe(stored)}.")
    # The student is in several of the user's classes (or the one chosen is not theirs): which one?
    classes = _classes() if "class_id" in problems or chosen is not None else None
    return page(student_or_404(student_id), 400, errors=problems, values=values, classes=classes)


def _classes() -> list[dict[str, Any]]:
    """The classes the user may add a grade in, for the add form's class select."""
    listed: list[dict[str, Any]] = calls.grading("Grades.list_classes")
    return listed


def _already_added(grade: dict[str, Any]) -> str:
    """What the 409 page says when the add form is sent again with other values."""
    what = describe(grade) if {"title", "type", "score"} <= grade.keys() else "a grade"
    return (
        f"This form was already used: it added {what}. Nothing was added now. "
        "To add the grade below as well, press Add grade again."
    )


def page(
    found: Student,
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    editing: int | None = None,
    edit_errors: dict[str, str] | None = None,
    edit_values: dict[str, str] | None = None,
    expected: dict[str, str] | None = None,
    edit_conflict: Grade | None = None,
    classes: list[dict[str, Any]] | None = None,
) -> str:
    """The student's page: the add form with ``errors`` and ``values``, and grade ``editing``'s form with its
    own, carrying ``expected`` (the values it was opened with; ``edit_conflict``: the grade as now stored,
    when someone changed it meanwhile); ``classes``: a class select in the add form."""
    return render(
        "student.tpl",
        status,
        student=found,
        types=GRADE_TYPES,
        errors=errors or {},
        values=values or {},
        editing=editing,
        edit_errors=edit_errors or {},
        edit_values=edit_values or {},
        expected=expected or {},
        edit_conflict=edit_conflict,
        classes=classes,
    )


def shown(grade: Grade) -> dict[str, str]:
    """A grade's title, type and score as its forms hold them: the score exactly as stored."""
    return {"title": grade["title"], "type": grade["type"], "score": grades_csv.score_text(grade["score"])}


def read_expected() -> dict[str, str | float] | None:
    """The values the posted edit or delete form was opened with, as grading's ``expected``.

    None for a form without them (a page from before they were sent): grading then stores
    what was typed, as before. A score that is not a number is left out.
    """
    posted = forms.values("expected_title", "expected_type", "expected_score")
    if not any(posted.values()):
        return None
    expected: dict[str, str | float] = {"title": posted["expected_title"], "type": posted["expected_type"]}
    score = grades_csv.parse_score(posted["expected_score"])
    if score is not None:
        expected["score"] = score
    return expected


def read_grade_form() -> tuple[dict[str, str], float | None, dict[str, str]]:
    """The posted grade fields as typed, the score as a number, and the problems found before grading is asked.

    Grading checks the title and the type and names the field; the score must
    be a finite number to be sent at all.
    """
    values = forms.values("title", "type", "score")
    score = grades_csv.parse_score(values["score"])
    if score is None:
        return values, None, {"score": "must be a number from 0 to 100"}
    return values, score, {}


def describe(grade: Grade | dict[str, Any]) -> str:
    """``Quiz 3 (Quiz, 91.5)``: how a flash message names a grade."""
    return f"{grade['title']} ({grade['type']}, {grade['score']:g})"


def id_or_404(text: str, what: str) -> int:
    """The id in a URL, or the 404 page: an id is 1 to 18 ASCII digits, not 0."""
    number = forms.number(text)
    if number is None:
        errors.not_found(f"There is no {what} {text!r}.")
    return number


def student_or_404(student_id: str) -> Student:
    """The student whose id is in the URL, with every grade; or the 404 page."""
    number = id_or_404(student_id, "student")
    try:
        found: Student = calls.grading("Grades.get_student", number)
        return found
    except NotFound:
        errors.not_found(f"There is no student with id {number}.")
