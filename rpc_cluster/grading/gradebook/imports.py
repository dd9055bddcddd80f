"""A grid file against a class's gradebook: what it would change (the preview), and applying exactly that.

The preview and the apply compute the same difference (``difference``), the
apply inside its write transaction. The preview's ``token`` is a digest of
that difference, old values included: an apply given a token that no longer
matches (someone changed a score since the preview) changes nothing, so
what a teacher confirmed is what is written. A cell that holds what is
stored already is unchanged, so the same file twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ...core.errors import Conflict, InvalidParams
from .. import search
from ..access import Actor
from ..storage.classes import rosters, rules
from . import assignments, grid_csv, scores, settings, weighting

if TYPE_CHECKING:
    from ..storage.sql_writes import Transaction

#: Points of an assignment a file's new column makes (the old per-grade file's scores are percentages).
NEW_POINTS = 100.0
_ROSTER = "SELECT student_id, archived FROM enrolments WHERE class_id = ?"
_SCORES = (
    "SELECT student_id, assignment_id, points, mark, comment FROM grades "
    "WHERE class_id = ? AND assignment_id IS NOT NULL"
)
_SHOWN = 100
# Each shape's columns before (or, per grade, besides) the assignments', in the order a file has them.
_FIXED = MappingProxyType(
    {"grid": ("student_id", "first_name", "last_name"), "grades": ("student_id", "title", "type", "score")}
)


def _error(line: int, column: str, value: object, problem: str) -> dict[str, Any]:
    return {"line": line, "column": column, "value": str(value)[:_SHOWN], "problem": problem}


def _number(value: float) -> str:
    return f"{value:g}"


def difference(read: rules.Read, actor: Actor, class_id: int, parsed: grid_csv.Parsed) -> dict[str, Any]:
    """The preview of ``parsed`` against the class as it is: ``{"token", "errors", "new_scores",
    "changed_scores", "new_assignments", "new_students", "unchanged"}`` (design of ``Grades.import_gradebook``)."""
    return _compared(read, actor, class_id, parsed)[0]


def _compared(
    read: rules.Read, actor: Actor, class_id: int, parsed: grid_csv.Parsed
) -> tuple[dict[str, Any], dict[tuple[int, int], dict[str, Any]]]:
    """``difference``'s preview, and the class's scores it was made from, by (student id, assignment id)."""
    rules.require_class(read, actor, class_id)
    errors = [_error(e.line, e.column, e.value, e.problem) for e in parsed.errors]
    categories, _ = settings.read(read, class_id)
    existing = {a["title"].casefold(): a for a in assignments.of_class(read, class_id)}
    new_assignments: list[dict[str, Any]] = []
    columns: dict[str, dict[str, Any]] = {}
    for title in parsed.titles:
        key = title.casefold()
        if key in existing:
            columns[key] = existing[key]
            continue
        try:
            kind = parsed.types.get(key) or categories[0]["name"]
            category = settings.category_named(categories, kind, "type")
        except InvalidParams as exc:
            errors.append(_error(1, title, parsed.types.get(key, ""), exc.data["problem"]))
            category = categories[0]["name"]
        made = {"title": title, "category": category, "max_points": NEW_POINTS}
        new_assignments.append(made)
        columns[key] = {**made, "id": None}
    roster = {int(sid): bool(archived) for sid, archived in read(_ROSTER, (class_id,))}
    stored: dict[tuple[int, int], dict[str, Any]] = {
        (int(sid), int(aid)): {"points": None if p is None else float(p), "mark": m, "comment": c}
        for sid, aid, p, m, c in read(_SCORES, (class_id,))
    }
    names = {int(sid): (first, last) for sid, first, last in _names(read, sorted(roster))}
    new_students: list[dict[str, Any]] = []
    outside: dict[int, tuple[str, str] | None] = {}  # students not on the roster: their names, None if not theirs
    new_scores: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    unchanged = 0
    for row in parsed.rows:
        sid = row.student_id
        first, last = row.first_name, row.last_name
        if sid is None:
            # A name the roster has already: the same file imported twice, or a row that lost its id.
            twins = sorted(i for i, named in names.items() if _same(named, (first, last)))
            new_students.append(
                {"line": row.line, "student_id": None, "first_name": first, "last_name": last, "same_name": twins}
            )
        elif sid not in roster:
            if sid not in outside:  # the per-grade CSV names a student on each of their lines: list them once
                found = _names(read, [sid]) if rules.sees_student(read, actor, sid) else []
                outside[sid] = (found[0][1], found[0][2]) if found else None
                if found:
                    new_students.append(
                        {"line": row.line, "student_id": sid, "first_name": found[0][1], "last_name": found[0][2]}
                    )
            named = outside[sid]
            if named is None:
                errors.append(_error(row.line, "student_id", sid, "names no student you may add to this class"))
                continue
            first, last = named
        else:
            first, last = names.get(sid, (first, last))
        for key, cell in row.cells.items():
            column = columns[key]
            points = cell.points
            if points is not None and cell.percent:
                points = weighting.points_of(points, column["max_points"])
            if points is not None and points > column["max_points"]:
                errors.append(
                    _error(
                        row.line, column["title"], _number(points), f"must be from 0 to {_number(column['max_points'])}"
                    )
                )
                continue
            old = None if sid is None or column["id"] is None else stored.get((sid, column["id"]))
            mark = cell.mark
            if cell.percent and old is not None and old["mark"] == "late":
                # Today's per-grade file has no marks: its points keep a late mark, as add_grade's do.
                mark = "late"
            new = {"points": points, "mark": mark}
            item = {
                "line": row.line,
                "student_id": sid,
                "first_name": first,
                "last_name": last,
                "assignment": column["title"],
                "old": None if old is None else {"points": old["points"], "mark": old["mark"]},
                "new": new,
            }
            if old is None:
                new_scores.append(item)
            elif (old["points"], old["mark"]) != (points, mark):
                changed.append(item)
            else:
                unchanged += 1
    # In the file's order, line by line and left to right, as the teacher reads it.
    order = {name: place for place, name in enumerate(("", *_FIXED[parsed.shape], *parsed.titles))}
    errors.sort(key=lambda error: (error["line"], order.get(error["column"], len(order))))
    preview = {
        "errors": errors,
        "new_scores": new_scores,
        "changed_scores": changed,
        "new_assignments": new_assignments,
        "new_students": new_students,
        "unchanged": unchanged,
    }
    digest = json.dumps({**preview, "class_id": class_id}, sort_keys=True, default=str)
    return {"token": hashlib.sha256(digest.encode()).hexdigest()[:32], **preview}, stored


def _same(one: tuple[str, str], other: tuple[str, str]) -> bool:
    """Whether two (first, last) names are one, as a search finds them (ignoring case and accents)."""
    return all(search.fold(a) == search.fold(b) for a, b in zip(one, other, strict=True))


def _names(read: rules.Read, student_ids: list[int]) -> list[tuple[Any, ...]]:
    """(id, first name, last name) of each of ``student_ids``."""
    return rules.by_chunks(read, "SELECT id, first_name, last_name FROM students WHERE id IN ({ids})", (), student_ids)


def apply(
    tx: Transaction,
    actor: Actor,
    class_id: int,
    parsed: grid_csv.Parsed,
    add_students: bool,
    expected: str | None,
) -> dict[str, Any]:
    """Write what ``difference`` finds, in ``tx``; ``{"saved", "assignments", "students"}``.

    Refused with nothing written: errors (InvalidParams whose data is the preview), or a
    difference whose token is not ``expected`` (Conflict whose data is the new preview).
    """
    # The class locked before the difference is made: a score saved meanwhile (set_scores locks the class
    # too) is either in it, so the token tells, or waits for this transaction.
    rules.require_class(tx.rows, actor, class_id)
    scores.lock_class(tx, class_id)
    preview, stored = _compared(tx.rows, actor, class_id, parsed)
    if preview["errors"]:
        first = preview["errors"][0]
        raise InvalidParams(
            f"Invalid params: line {first['line']}: {first['column']} {first['problem']}"
            + (f" (and {len(preview['errors']) - 1} more errors)" if len(preview["errors"]) > 1 else ""),
            preview,
        )
    if expected is not None and expected != preview["token"]:
        raise Conflict("the class's scores changed since the preview: look at the file's changes again", preview)
    for new in preview["new_assignments"]:
        assignments.add(tx, actor, class_id, new["title"], new["category"], new["max_points"], None)
    columns = {a["title"].casefold(): a for a in assignments.of_class(tx.rows, class_id)}
    students: dict[int, int] = {}  # a row's line -> the student it adds (a row without an id)
    for student in preview["new_students"] if add_students else []:
        if student["student_id"] is None:
            added = rosters.new_student(tx, actor, student["first_name"], student["last_name"], class_id)
            students[student["line"]] = added["id"]
        else:
            rosters.enroll(tx, actor, class_id, student["student_id"])
            students[student["line"]] = student["student_id"]
    skipped = {s["student_id"] for s in preview["new_students"] if not add_students and s["student_id"] is not None}
    items: list[tuple[scores.Assignment, scores.Entry]] = []
    was: dict[tuple[int, int], dict[str, Any]] = {}
    for item in preview["new_scores"] + preview["changed_scores"]:
        sid = item["student_id"] if item["student_id"] is not None else students.get(item["line"])
        if sid is None or sid in skipped:
            continue
        column = assignments.of(columns[item["assignment"].casefold()])
        old = stored.get((sid, column.id))
        # A cell holds points and a mark: the comment stays as it is.
        comment = None if old is None else old["comment"]
        items.append((column, scores.Entry(sid, item["new"]["points"], item["new"]["mark"], comment)))
        was[(column.id, sid)] = scores.as_shown(old)
    saved, _ = scores.write(tx, actor.username, items, was)
    return {"saved": saved, "assignments": len(preview["new_assignments"]), "students": len(students)}
