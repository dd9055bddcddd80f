"""``Grades.*`` of a class's gradebook: whole-class entry of one assignment's scores, the grid, and
importing a grid file (a preview first, then exactly what it showed)."""

from __future__ import annotations

import logging
from typing import Any

from ...core.errors import InvalidParams
from ...core.methods import rpc_method
from .. import validation
from ..exactly_once import check_request_id
from ..gradebook import grid_csv, scores
from ..gradebook.store import entry_error
from .base import GradesPart

log = logging.getLogger("rpc_cluster.grading")

# A class is far smaller; a column of more entries is a mistake, not a class.
MAX_ENTRIES = 5000
# As import_grades: the largest file the service takes (its request bodies go up to 8 MiB).
MAX_CSV = 8 * 1024 * 1024
_ENTRY_KEYS = frozenset({"student_id", "points", "mark", "comment", "was"})
_SHOWN_KEYS = frozenset({"points", "mark", "comment"})


def _entries(value: Any) -> tuple[list[scores.Entry], dict[int, dict[str, Any]]]:
    """set_scores' entries, checked, and the values each form row was opened with (``was``), by student."""
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise InvalidParams.field("scores", f"must be a list of at most {MAX_ENTRIES} scores")
    entries: list[scores.Entry] = []
    was: dict[int, dict[str, Any]] = {}
    for index, item in enumerate(value):
        student_id = item.get("student_id") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict) or not {"student_id"} <= item.keys() <= _ENTRY_KEYS:
                raise InvalidParams.field("scores", 'must hold objects of "student_id", "points", "mark", "comment"')
            entry = _entry(item)
            if any(other.student_id == entry.student_id for other in entries):
                raise InvalidParams.field("student_id", "is given twice")
            if item.get("was") is not None:
                shown = item["was"]
                if not isinstance(shown, dict) or shown.keys() != _SHOWN_KEYS:
                    raise InvalidParams.field("was", 'must be an object of "points", "mark" and "comment"')
                was[entry.student_id] = _entry({"student_id": entry.student_id, **shown})._asdict()
                del was[entry.student_id]["student_id"]
        except InvalidParams as exc:
            problem = exc.data["problem"] if isinstance(exc.data, dict) else str(exc)
            field = exc.data.get("field", "scores") if isinstance(exc.data, dict) else "scores"
            raise entry_error(index, student_id, f"{field} {problem}") from None
        entries.append(entry)
    return entries, was


def _entry(item: dict[str, Any]) -> scores.Entry:
    return scores.Entry(
        validation.whole("student_id", item["student_id"], 1),
        validation.points("points", item.get("points")),
        validation.mark(item.get("mark")),
        validation.comment(item.get("comment")),
    )


class GradebookMethods(GradesPart):
    """Scores of a column, the grid, grid files."""

    @rpc_method
    def set_scores(
        self, assignment_id: int, scores: list[dict[str, Any]], request_id: str | None = None
    ) -> dict[str, Any]:
        """Set students' scores on one assignment, all or nothing, and return {"saved": N}: how many changed.

        scores: [{"student_id", "points": number|null, "mark": null|"missing"|"excused"|"late",
        "comment": text|null}], each student once and enrolled in the assignment's class; points
        from 0 to the assignment's max_points; a comment up to 1,000 characters. An entry of all
        nulls clears that student's score. An entry may carry "was": {"points", "mark", "comment"},
        the values its form showed: if any such student's score is another now, nothing is saved:
        409 whose data is {"conflicts": [{"student_id", "points", "mark", "comment"}]}. A bad
        entry is -32602 whose data names "scores", its "index" and its "student_id". With a
        request_id, a repeat saves nothing and returns the first call's result.
        """
        actor = self._actor()
        assignment_id = validation.whole("assignment_id", assignment_id, 1)
        request_id = check_request_id(request_id)
        entries, was = _entries(scores)
        result = self._store.set_scores(assignment_id, entries, was, request_id, actor=actor)
        log.info("assignment %s: %s scores saved", assignment_id, result["saved"])
        return result

    @rpc_method
    def gradebook(self, class_id: int, student_id: int | None = None) -> dict[str, Any]:
        """A class's grid: {"class", "categories", "scale", "assignments", "students", "statistics"}.

        assignments: in column order, each with "stats" (scored, missing, excused, late, mean,
        median, min, max in points, and a histogram of percentages). students: the active roster
        by name, each {"id", "first_name", "last_name", "average", "letter", "scores"}, scores by
        assignment id (as text): {"points", "mark", "comment"}. average: the weighted mean over the
        categories with counted scores (a percentage, or null). student_id: only that student
        (archived too), for a report.
        """
        actor = self._actor()
        return self._store.gradebook(
            validation.whole("class_id", class_id, 1), validation.optional_id("student_id", student_id), actor=actor
        )

    @rpc_method
    def import_gradebook(
        self,
        class_id: int,
        csv_text: str,
        confirm: bool = False,
        add_students: bool = False,
        expected: str | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Preview or apply a grid file: the grid's export, or today's per-grade CSV.

        confirm false: nothing is stored; the answer is the preview {"token", "errors", "new_scores",
        "changed_scores", "new_assignments", "new_students", "unchanged"}, every error at once as
        {"line", "column", "value", "problem"}. confirm true with expected = the preview's token:
        all of it in one transaction, once per request_id; {"saved", "assignments", "students"}.
        A file with errors stores nothing (-32602 whose data is the preview); one whose changes
        are no longer the token's (a score changed since) is 409 whose data is the new preview.
        add_students: add the rows of students not on the class's roster (else they are left out).
        """
        actor = self._actor()
        class_id = validation.whole("class_id", class_id, 1)
        if not isinstance(csv_text, str) or len(csv_text) > MAX_CSV:
            raise InvalidParams.field("csv_text", f"must be text of at most {MAX_CSV} characters")
        if not isinstance(confirm, bool) or not isinstance(add_students, bool):
            raise InvalidParams.field("confirm", "and add_students must be true or false")
        if expected is not None and not isinstance(expected, str):
            raise InvalidParams.field("expected", "must be a preview's token, or null")
        request_id = check_request_id(request_id)
        parsed = grid_csv.parse(csv_text)
        if not confirm:
            return self._store.preview_import(class_id, parsed, actor=actor)
        result = self._store.import_gradebook(class_id, parsed, add_students, expected, request_id, actor=actor)
        log.info("class %s: grid imported, %s scores saved", class_id, result["saved"])
        return result
