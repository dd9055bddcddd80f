"""A class in numbers: ``GET /classes/<id>/statistics`` and ``GET /classes/<id>/assignments/<aid>/statistics``.

The class's page sums up its students' weighted averages (the gradebook's ``statistics``) with their
distribution drawn as ``/statistics`` draws it (``chart.tpl``), then each assignment's figures; an
assignment's page gives its points and percentages, how many scores are missing, excused or late, and
the distribution of its scores. One ``Grades.gradebook`` call each: grading decides who may see the
class (a teacher who does not teach it gets the 403 page).
"""

from __future__ import annotations

from typing import Any

from ...frame import errors
from ...frame.render import render
from ...frame.traced import traced
from ..gradebook.statistics import chart
from ..gradebook.student import id_or_404
from .export import gradebook_or_404


@traced
def class_statistics(class_id: str) -> str:
    """``GET /classes/<id>/statistics``."""
    book = gradebook_or_404(id_or_404(class_id, "class"))
    numbers = book["statistics"]
    return render(
        "class_statistics.tpl",
        klass=book["class"],
        numbers=numbers,
        assignments=book["assignments"],
        chart=chart(list(numbers["histogram"])),
        percent=percent,
    )


@traced
def assignment_statistics(class_id: str, assignment_id: str) -> str:
    """``GET /classes/<id>/assignments/<aid>/statistics``: the 404 page for an assignment of another class."""
    book = gradebook_or_404(id_or_404(class_id, "class"))
    number = id_or_404(assignment_id, "assignment")
    assignment = next((a for a in book["assignments"] if a["id"] == number), None)
    if assignment is None:
        errors.not_found(f"The class has no assignment with id {number}.")
    stats = assignment["stats"]
    return render(
        "assignment_statistics.tpl",
        klass=book["class"],
        assignment=assignment,
        stats=stats,
        students=len(book["students"]),
        chart=chart(list(stats["histogram"])),
        percent=percent,
    )


def percent(points: float | None, assignment: dict[str, Any]) -> float | None:
    """``points`` of ``assignment`` as a percentage of its ``max_points``; None for None."""
    if points is None:
        return None
    possible: float = assignment["max_points"]
    return 100 * points / possible
