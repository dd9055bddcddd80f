"""One student's report in a class: ``GET /classes/<id>/students/<sid>``, made to be printed too.

Every assignment of the class with the student's points out of its most, mark and comment;
each category's points earned over points possible (what the average weighs); the weighted
average and the letter. All from one ``Grades.gradebook(class_id, student_id=sid)``: grading
answers 404 for a student who is not in the class (archived ones have a report too).
"""

from __future__ import annotations

from typing import Any

from rpc_cluster.grading.gradebook import weighting

from ...frame import errors
from ...frame.render import render
from ...frame.traced import traced
from ..gradebook.student import id_or_404
from .grid import MARKS, due_text, gradebook_or_404, percent, points_text


@traced
def report(class_id: str, student_id: str) -> str:
    """``GET /classes/<id>/students/<sid>``: the report."""
    number = id_or_404(class_id, "class")
    wanted = id_or_404(student_id, "student")
    book = gradebook_or_404(number, wanted)
    student = next((s for s in book["students"] if s["id"] == wanted), None)
    if student is None:
        errors.not_found(f"The class has no student with id {wanted}.")
    categories = by_category(book, student)
    return render(
        "report.tpl",
        klass=book["class"],
        student=student,
        assignments=book["assignments"],
        categories=categories,
        marks=MARKS,
        points_text=points_text,
        due_text=due_text,
        percent=percent,
    )


def by_category(book: dict[str, Any], student: dict[str, Any]) -> list[dict[str, Any]]:
    """Each category of the class: ``{"name", "weight", "earned", "possible", "percent"}`` over the student's
    scores that count, by grading's own rule (``weighting``), as the average weighs them; ``percent`` None
    when nothing counted."""
    rows = {
        c["name"].casefold(): {"name": c["name"], "weight": c["weight"], "earned": 0.0, "possible": 0.0}
        for c in book["categories"]
    }
    for assignment in book["assignments"]:
        score = student["scores"].get(str(assignment["id"])) or {}
        row = rows.get(assignment["category"].casefold())
        if row is None or not weighting.counts(score.get("points"), score.get("mark")):
            continue
        row["earned"] += weighting.earned(score.get("points"), score.get("mark"))
        row["possible"] += assignment["max_points"]
    return [
        dict(row, percent=100 * row["earned"] / row["possible"] if row["possible"] else None) for row in rows.values()
    ]
