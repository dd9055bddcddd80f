"""A class's assignments: add one (``GET``/``POST /classes/<id>/assignments/new``), change one
(``.../assignments/<aid>/edit``) and delete one after confirming (``.../assignments/<aid>/delete``).

An assignment has a title (unique in its class, whatever the case), one of the class's
categories, the most points it gives and an optional due date. The edit form carries the values
it was opened with (``expected_*``): grading refuses the save (409) if someone changed the
assignment since, and the form comes back with the values stored now. Deleting an assignment
deletes its scores, so the confirmation says how many go with it.
"""

from __future__ import annotations

import datetime
from typing import Any

from rpc_cluster import Conflict, InvalidParams, NotFound

from ...frame import calls, csrf, errors, flash, forms
from ...frame.render import render
from ...frame.traced import traced
from ...grades_csv import parse_score
from ..gradebook.student import id_or_404
from .grid import assignment_or_404, due_text, gradebook_or_404, points_text

FIELDS = ("title", "category", "max_points", "due")
MAX_TITLE = 200


@traced
def new_form(class_id: str) -> str:
    """``GET /classes/<id>/assignments/new``: the form, its category the class's first."""
    number = id_or_404(class_id, "class")
    return form_page(gradebook_or_404(number))


@traced
def add(class_id: str) -> str:
    """``POST /classes/<id>/assignments/new``: add it, then open its column to enter the scores."""
    csrf.check()
    number = id_or_404(class_id, "class")
    values = forms.values(*FIELDS)
    params, problems = read_form(values)
    status = 400
    if not problems:
        try:
            made = calls.grading("Grades.add_assignment", class_id=number, **params)
        except InvalidParams as exc:
            problems = calls.field_error(exc)
        except Conflict as exc:
            status, problems = 409, {"title": _taken(exc)}
        except NotFound:
            errors.not_found(f"There is no class with id {number}.")
        else:
            flash.redirect(
                f"/classes/{number}/assignments/{made['id']}",
                f"Added {describe(made)}. Enter the scores below.",
            )
    return form_page(gradebook_or_404(number), status, values=values, problems=problems)


@traced
def edit_form(class_id: str, assignment_id: str) -> str:
    """``GET /classes/<id>/assignments/<aid>/edit``: the form with the assignment as stored."""
    number = id_or_404(class_id, "class")
    book = gradebook_or_404(number)
    assignment = assignment_or_404(book["assignments"], assignment_id)
    return form_page(book, assignment=assignment, values=shown(assignment), expected=shown(assignment))


@traced
def edit(class_id: str, assignment_id: str) -> str:
    """``POST /classes/<id>/assignments/<aid>/edit``: save it unless it changed since the form was opened."""
    csrf.check()
    number = id_or_404(class_id, "class")
    book = gradebook_or_404(number)
    assignment = assignment_or_404(book["assignments"], assignment_id)
    values = forms.values(*FIELDS)
    expected = {name: forms.field("expected_" + name) for name in FIELDS}
    params, problems = read_form(values)
    status = 400
    if not problems:
        # An empty date clears it: update_assignment leaves out only what is None.
        params["due"] = params["due"] or ""
        try:
            changed = calls.grading(
                "Grades.update_assignment", assignment_id=assignment["id"], **params, expected=_expected(expected)
            )
        except InvalidParams as exc:
            problems = calls.field_error(exc)
        except Conflict as exc:
            now = exc.data if isinstance(exc.data, dict) and "title" in exc.data else None
            if now is None:
                raise
            if now.get("id") != assignment["id"]:  # the title of another assignment of the class
                return form_page(
                    book, 409, assignment=assignment, values=values, problems={"title": _taken(exc)}, expected=expected
                )
            return form_page(book, 409, assignment=assignment, values=values, expected=shown(now), conflict=shown(now))
        except NotFound:
            errors.not_found("That assignment was deleted meanwhile: nothing was saved.")
        else:
            flash.redirect(f"/classes/{number}#a-{changed['id']}", f"Saved {describe(changed)}.")
    return form_page(book, status, assignment=assignment, values=values, problems=problems, expected=expected)


@traced
def confirm_delete(class_id: str, assignment_id: str) -> str:
    """``GET /classes/<id>/assignments/<aid>/delete``: what deleting it takes with it, and the button."""
    number = id_or_404(class_id, "class")
    book = gradebook_or_404(number)
    assignment = assignment_or_404(_listed(number), assignment_id)
    return render(
        "assignment_delete.tpl",
        klass=book["class"],
        assignment=assignment,
        points_text=points_text,
        due_text=due_text,
    )


@traced
def delete(class_id: str, assignment_id: str) -> str:
    """``POST /classes/<id>/assignments/<aid>/delete``: delete it and its scores; 303 to the grid."""
    csrf.check()
    number = id_or_404(class_id, "class")
    wanted = id_or_404(assignment_id, "assignment")
    found = next((a for a in _listed(number) if a["id"] == wanted), None)
    if found is None:  # deleted already (a second click): nothing to do, and the page says so
        flash.redirect(f"/classes/{number}", "That assignment was already deleted.")
    try:
        shown = forms.field("scored")  # how many scores the confirmation said go with it (0 counts too)
        scored = int(shown) if shown.isascii() and shown.isdigit() and len(shown) < 10 else None
        calls.grading("Grades.delete_assignment", assignment_id=wanted, scored=scored)
    except NotFound:
        flash.redirect(f"/classes/{number}", "That assignment was already deleted.")
    except Conflict as exc:
        # Scores were entered since the confirmation was shown: ask again, with the number now.
        now = exc.data if isinstance(exc.data, dict) else found
        return render(
            "assignment_delete.tpl",
            409,
            klass=gradebook_or_404(number)["class"],
            assignment={**found, **now},
            points_text=points_text,
            due_text=due_text,
            changed=True,
        )
    scored = found.get("scored", 0)
    flash.redirect(
        f"/classes/{number}",
        f"Deleted {found['title']} and its {scored} score{'' if scored == 1 else 's'}.",
    )


def form_page(
    book: dict[str, Any],
    status: int = 200,
    *,
    assignment: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    expected: dict[str, str] | None = None,
    conflict: dict[str, str] | None = None,
) -> str:
    """The add form (``assignment`` None) or the edit form of ``assignment``, over the class's ``book``."""
    categories = [c["name"] for c in book["categories"]]
    values = values or {"category": categories[0] if categories else ""}
    return render(
        "assignment_form.tpl",
        status,
        klass=book["class"],
        assignment=assignment,
        categories=categories,
        values=values,
        # A date field holds a date or nothing (browsers drop anything else): what was typed is in the error.
        due_value=values.get("due", "") if _is_date(values.get("due", "")) else "",
        problems=problems or {},
        expected=expected or {},
        conflict=conflict,
        max_title=MAX_TITLE,
    )


def read_form(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Grading's parameters from the typed ``values``, and the problems found before it is asked.

    Grading checks the title, the category and the range of the points and names the field; the
    points must be a number and the date a date to be sent at all.
    """
    problems: dict[str, str] = {}
    title = values["title"].strip()
    if not title:
        problems["title"] = "must not be empty"
    max_points = parse_score(values["max_points"])
    if max_points is None or max_points <= 0:
        problems["max_points"] = "must be a number above 0, such as 10 or 20"
    due = values["due"].strip()
    if due and not _is_date(due):
        problems["due"] = f"must be a date, such as 2025-03-14 (not “{due}”)"
    params = {"title": title, "category": values["category"], "max_points": max_points, "due": due or None}
    return params, problems


def _is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _expected(typed: dict[str, str]) -> dict[str, Any] | None:
    """What the edit form was opened with, as grading's ``expected``; None for a form without it."""
    if not any(typed.values()):
        return None
    return {
        "title": typed["title"],
        "category": typed["category"],
        "max_points": parse_score(typed["max_points"]),
        "due": typed["due"] or None,
    }


def _listed(number: int) -> list[dict[str, Any]]:
    """The class's assignments, each with ``scored`` (``Grades.list_assignments``); 404 for no such class."""
    try:
        listed: list[dict[str, Any]] = calls.grading("Grades.list_assignments", class_id=number)
    except NotFound:
        errors.not_found(f"There is no class with id {number}.")
    return listed


def _taken(exc: Conflict) -> str:
    """What the title field says when the class has an assignment of that title already."""
    data = exc.data if isinstance(exc.data, dict) else {}
    name = data.get("title")
    if not name:
        return "is taken by another assignment of this class"
    return f"is taken: this class already has an assignment called “{name}” (titles are the same whatever the case)"


def shown(assignment: dict[str, Any]) -> dict[str, str]:
    """An assignment's fields as the form holds them."""
    return {
        "title": assignment["title"],
        "category": assignment["category"],
        "max_points": points_text(assignment["max_points"]),
        "due": assignment.get("due") or "",
    }


def describe(assignment: dict[str, Any]) -> str:
    """``Quiz 1 (Quiz, out of 10 points)``: how a flash message names an assignment."""
    return f"{assignment['title']} ({assignment['category']}, out of {points_text(assignment['max_points'])} points)"
