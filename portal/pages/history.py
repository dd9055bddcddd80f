"""The history of one grade, from its row on the student's page: ``/grades/<id>/history``.

Every change grading recorded for it, oldest first (``Grades.history``): when, who, what they did,
and each field's old and new value. Grading decides who may read it (a teacher: a grade of a class
they teach), as it does for the grade itself.
"""

from __future__ import annotations

from typing import Any

from rpc_cluster import NotFound

from .. import audit_entries
from ..frame import calls, errors, forms
from ..frame.render import render
from ..frame.traced import traced


@traced
def grade_history(grade_id: str) -> str:
    """``GET /grades/<id>/history``: one ``Grades.history`` call."""
    number = forms.number(grade_id)
    if number is None:
        errors.not_found(f"There is no grade {grade_id!r}.")
    try:
        entries: list[dict[str, Any]] = calls.grading("Grades.history", entity="grade", id=number)
    except NotFound:
        entries = []
    if not entries:
        errors.not_found(f"There is no grade with id {number}, and none was ever recorded.")
    # The grade as last recorded: its title for the heading, its student for the way back.
    latest: dict[str, Any] = {}
    for entry in entries:
        latest = entry.get("after") or entry.get("before") or latest
    return render(
        "history.tpl",
        grade_id=number,
        title=latest.get("title"),
        student_id=latest.get("student_id"),
        deleted=entries[-1].get("action") == "delete",
        entries=[audit_entries.shown(entry) for entry in entries],
    )
