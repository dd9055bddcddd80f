"""A class's gradebook as one answer: its assignments, each student's scores, averages, letters and statistics.

Four reads by the class's indexes (the class, its assignments, its roster and
its scores), then Python: the averages need the class's weights and every
score of a student, and a class is a few dozen students and assignments.
"""

from __future__ import annotations

import statistics as stats
from typing import Any

from ..access import Actor
from ..storage.classes import rosters, rules
from . import assignments, settings, weighting

# The active roster (or one enrolled student), by last name, first name (ignoring case), id.
_ROSTER = """SELECT s.id, s.first_name, s.last_name FROM enrolments e JOIN students s ON s.id = e.student_id
WHERE e.class_id = ? AND {which} ORDER BY LOWER(s.last_name), LOWER(s.first_name), s.id"""
_SCORES = (
    "SELECT student_id, assignment_id, points, mark, comment FROM grades "
    "WHERE class_id = ? AND assignment_id IS NOT NULL{student}"
)


def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None, "min": None, "max": None}
    return {"mean": stats.fmean(values), "median": stats.median(values), "min": min(values), "max": max(values)}


def _assignment_stats(assignment: dict[str, Any], cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Points over the scores that count (missing without points: 0), and how many of each mark."""
    counted = [weighting.earned(c["points"], c["mark"]) for c in cells if weighting.counts(c["points"], c["mark"])]
    marks = [c["mark"] for c in cells]
    return {
        "scored": sum(1 for c in cells if c["points"] is not None and c["mark"] != "excused"),
        "missing": marks.count("missing"),
        "excused": marks.count("excused"),
        "late": marks.count("late"),
        **_summary(counted),
        "histogram": weighting.histogram([points * (100 / assignment["max_points"]) for points in counted]),
    }


def gradebook(read: rules.Read, actor: Actor, class_id: int, student_id: int | None = None) -> dict[str, Any]:
    """``Grades.gradebook``'s answer; ``student_id``: only that student's row (enrolled, archived or not)."""
    school_class = rosters.get_class(read, actor, class_id)
    categories, scale = settings.read(read, class_id)
    columns = assignments.of_class(read, class_id)
    if student_id is None:
        roster = read(_ROSTER.format(which="NOT e.archived"), (class_id,))
        rows = read(_SCORES.format(student=""), (class_id,))
    else:
        roster = read(_ROSTER.format(which="e.student_id = ?"), (class_id, student_id))
        if not roster:
            raise rules.refused(actor, "student_id", student_id)
        rows = read(_SCORES.format(student=" AND student_id = ?"), (class_id, student_id))
    on_roster = {int(row[0]) for row in roster}
    by_id = {a["id"]: a for a in columns}
    cells: dict[int, dict[str, dict[str, Any]]] = {sid: {} for sid in on_roster}
    per_assignment: dict[int, list[dict[str, Any]]] = {a["id"]: [] for a in columns}
    for sid, aid, points, mark, comment in rows:
        if int(sid) not in on_roster or int(aid) not in by_id:
            continue
        cell = {"points": None if points is None else float(points), "mark": mark, "comment": comment}
        cells[int(sid)][str(aid)] = cell
        per_assignment[int(aid)].append(cell)
    weights = {c["name"]: float(c["weight"]) for c in categories}
    students = []
    for sid, first, last in roster:
        scored = cells[int(sid)]
        mean = weighting.average(
            (
                weighting.Score(by_id[int(aid)]["category"], by_id[int(aid)]["max_points"], c["points"], c["mark"])
                for aid, c in scored.items()
            ),
            weights,
        )
        students.append(
            {
                "id": int(sid),
                "first_name": first,
                "last_name": last,
                "average": mean,
                "letter": weighting.letter(mean, scale),
                "scores": scored,
            }
        )
    averages = sorted(s["average"] for s in students if s["average"] is not None)
    return {
        "class": school_class,
        "categories": categories,
        "scale": scale,
        "assignments": [{**a, "stats": _assignment_stats(a, per_assignment[a["id"]])} for a in columns],
        "students": students,
        "statistics": {
            "students": len(students),
            "graded": len(averages),
            "mean": stats.fmean(averages) if averages else None,
            "median": stats.median(averages) if averages else None,
            "histogram": weighting.histogram(averages),
        },
    }
