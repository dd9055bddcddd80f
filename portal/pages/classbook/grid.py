"""A class's grid of scores: ``GET /classes/<id>`` (``?sort=name|average|-average``).

One row per student of the active roster, one column per assignment in the order grading keeps
them (dated first, by date; then undated ones as they were added), each student's weighted
average and letter beside their row and each assignment's mean in the footer: all from one
``Grades.gradebook`` call. A cell links to that student's row of the assignment's column page,
where the whole class is entered at once (``portal.pages.classbook.column``); a name links to the
student's report in the class (``portal.pages.classbook.report``).

Also here, for the other pages of the package: reading the gradebook, finding an assignment of
it, and how points, marks, dates and averages are written on a page.
"""

from __future__ import annotations

import datetime
from types import MappingProxyType
from typing import Any

import bottle

from rpc_cluster import InvalidParams, NotFound

from ...frame import calls, errors
from ...frame.render import render
from ...frame.traced import traced
from ...grades_csv import score_text
from ..class_ import teacher_name
from ..gradebook.student import id_or_404

#: ``?sort=``: how the rows are ordered, as the page names it.
SORTS = MappingProxyType({"name": "name", "average": "average, lowest first", "-average": "average, highest first"})
#: A mark: its badge and its word (a badge is never only a colour).
MARKS = MappingProxyType({"missing": ("M", "Missing"), "excused": ("EX", "Excused"), "late": ("L", "Late")})


@traced
def grid(class_id: str) -> str:
    """``GET /classes/<id>?sort=``: the grid; an unknown ``sort`` is by name."""
    number = id_or_404(class_id, "class")
    book = gradebook_or_404(number)
    sort = bottle.request.query.get("sort", "")
    sort = sort if sort in SORTS else "name"
    klass = book["class"]
    return render(
        "grid.tpl",
        klass=klass,
        teacher=teacher_name(klass.get("teacher")),
        assignments=book["assignments"],
        students=ordered(book["students"], sort),
        statistics=book.get("statistics") or {},
        sort=sort,
        sorts=SORTS,
        marks=MARKS,
        points_text=points_text,
        due_text=due_text,
        percent=percent,
    )


def ordered(students: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """``students`` (grading's order: by name) in the ``sort`` order; those without an average last."""
    if sort == "name":
        return students
    sign = -1 if sort == "-average" else 1
    return sorted(students, key=lambda s: (s["average"] is None, sign * (s["average"] or 0)))


def gradebook_or_404(number: int, student_id: int | None = None) -> dict[str, Any]:
    """``Grades.gradebook`` of class ``number`` (``student_id``: only that student's row); the 404 page for a
    class, or a student of it, that does not exist (the 403 page, through ``@traced``, for one not the user's)."""
    try:
        book: dict[str, Any] = calls.grading(
            "Grades.gradebook", class_id=number, **({} if student_id is None else {"student_id": student_id})
        )
    except NotFound:
        errors.not_found(f"There is no class with id {number}.")
    except InvalidParams:
        # A student who is not in the class: grading names the parameter; to a page, that is not there.
        errors.not_found(f"The class has no student with id {student_id}.")
    return book


def assignment_or_404(assignments: list[dict[str, Any]], text: str) -> dict[str, Any]:
    """The assignment whose id is ``text`` among ``assignments`` (one class's), or the 404 page."""
    wanted = id_or_404(text, "assignment")
    found = next((a for a in assignments if a["id"] == wanted), None)
    if found is None:
        errors.not_found(f"The class has no assignment with id {wanted}.")
    return found


def points_text(value: float | None) -> str:
    """Points as a form holds them and a cell shows them: ``8`` or ``7.5``, exactly as stored; "" for none."""
    return "" if value is None else score_text(float(value))


def due_text(due: str | None) -> str:
    """A due date as people write it (``3 Mar 2025``); "" for none; the text itself if it is not a date."""
    if not due:
        return ""
    try:
        day = datetime.date.fromisoformat(due)
    except ValueError:
        return due
    return f"{day.day} {day:%b %Y}"


def percent(value: float | None) -> str:
    """An average as the grid shows it: ``75.7%``; "—" for none."""
    return "—" if value is None else f"{value:.1f}%"
