"""Students and their grades as a ``rules.View`` sees them: a teacher's classes, or one class's active roster.

A student is in a view when one of its enrolments is; a grade is in it when the
view holds an enrolment of the grade's student in the grade's class. Averages are
over the grades in the view, computed as the read runs: a view is one class or a
teacher's few, read through the indexes of enrolments by class and grades by
(class, student). Reads of the whole store use the totals the triggers keep instead
(``sql_writes``).
"""

from __future__ import annotations

import statistics as stats
from typing import Any

from ...gradebook import weighting
from ..protocol import SqlRow, students_from_rows
from .rules import Read, View

# The grades of each enrolment "e" in the view that have a score (a mark or a comment alone is the gradebook's).
_GRADES = "LEFT JOIN grades g ON g.student_id = e.student_id AND g.class_id = e.class_id AND g.score IS NOT NULL"
# (id, first, last, grade id, title, type, score, class_id, average): protocol.students_from_rows' rows.
_STUDENT = """SELECT s.id, s.first_name, s.last_name, g.id, g.title, g.type, g.score, g.class_id, AVG(g.score) OVER ()
FROM enrolments e{join} JOIN students s ON s.id = e.student_id {grades}
WHERE {where} AND e.student_id = ? ORDER BY g.id"""
_PAGE = """WITH page AS (SELECT s.id, s.first_name, s.last_name FROM students s
    WHERE s.id IN (SELECT e.student_id FROM enrolments e{join} WHERE {where}) ORDER BY s.id LIMIT ? OFFSET ?)
SELECT p.id, p.first_name, p.last_name, g.id, g.title, g.type, g.score, g.class_id,
    AVG(g.score) OVER (PARTITION BY p.id)
FROM page p JOIN enrolments e ON e.student_id = p.id{join} {grades}
WHERE {where} ORDER BY p.id, g.id"""
_COUNT = "SELECT COUNT(DISTINCT e.student_id) FROM enrolments e{join} WHERE {where}"
# Per student of the view: (student_id, average, grade_count) over the grades in it.
_SUMMARIES = """SELECT e.student_id AS student_id, AVG(g.score) AS average, COUNT(g.id) AS grade_count
FROM enrolments e{join} {grades} WHERE {where} GROUP BY e.student_id"""
# {order} is the store's (over "s" and "t"); {matching} keeps the students a search finds.
_LIST = """WITH t AS ({summaries}), listed AS (SELECT student_id, average, grade_count FROM t{matching})
SELECT s.id, s.first_name, s.last_name, t.average, t.grade_count, (SELECT COUNT(*) FROM listed)
FROM listed t JOIN students s ON s.id = t.student_id ORDER BY {order} LIMIT ? OFFSET ?"""


def _sql(template: str, view: View, **more: str) -> str:
    return template.format(join=view.join, where=view.where, grades=_GRADES, **more)


def get_student(read: Read, view: View, student_id: int) -> dict[str, Any] | None:
    """The student with the grades in ``view``; None if the student is not in it."""
    found = students_from_rows(read(_sql(_STUDENT, view), (*view.args, student_id)))
    return found[0] if found else None


def get_students(read: Read, view: View, offset: int, limit: int | None) -> list[dict[str, Any]]:
    """A page (by id) of the students in ``view``, each with its grades in it; ``limit`` None: all."""
    rows = read(_sql(_PAGE, view), (*view.args, limit, offset, *view.args))
    return students_from_rows(rows)


def count_students(read: Read, view: View) -> int:
    """How many students are in ``view``."""
    return int(read(_sql(_COUNT, view), view.args)[0][0])


def list_students(
    read: Read, view: View, offset: int, limit: int, order: str, matching: tuple[str, tuple[Any, ...]] | None
) -> tuple[int, list[SqlRow]]:
    """How many students of ``view`` match, and one page of them: rows of (id, first, last, average,
    grade_count, total). ``matching``: a SELECT of the ids a search finds, and its args; None: all."""
    where, args = ("", ()) if matching is None else (f" WHERE student_id IN ({matching[0]})", matching[1])
    sql = _LIST.format(summaries=_sql(_SUMMARIES, view), matching=where, order=order)
    rows = read(sql, (*view.args, *args, limit, offset))
    if rows:
        return int(rows[0][5]), rows
    # Past the last page, the first page's row carries the count.
    first = read(sql, (*view.args, *args, 1, 0))
    return (int(first[0][5]) if first else 0), rows


def statistics(read: Read, view: View) -> dict[str, Any]:
    """``Grades.statistics``' figures over the students of ``view`` and their grades in it."""
    rows = read(_sql(_SUMMARIES, view), view.args)
    averages = sorted(float(average) for _, average, _ in rows if average is not None)
    return {
        "students": len(rows),
        "grades": sum(int(count) for _, _, count in rows),
        "mean": stats.fmean(averages) if averages else None,
        "median": stats.median(averages) if averages else None,
        "histogram": weighting.histogram(averages),
    }
