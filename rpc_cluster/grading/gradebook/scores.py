"""Scores: a student's points, mark and comment on an assignment, written in a store's transaction with their audit.

A score is a row of ``grades`` (one per student and assignment). Its
``title`` and ``type`` are copies of the assignment's title and category, and
its ``score`` the percentage today's unweighted average reads
(``weighting.percent``): so ``Grades.get_student`` and the totals answer as
they did before assignments. Every way of setting scores (``set_scores``, an
import, ``add_grade``) goes through ``write``, which writes only what changes
and records each change in the audit, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ...core.errors import Conflict
from ..storage import audit
from ..storage.classes.rules import CHUNK, by_chunks
from ..storage.protocol import SqlRow, grade
from . import weighting

if TYPE_CHECKING:
    from ..storage.sql_writes import Transaction

#: A score's columns as the audit records it (``recorded``).
COLUMNS = "id, student_id, class_id, title, type, score, assignment_id, points, mark, comment"
#: The columns of a new row, in the order ``Transaction.insert_grades`` takes them.
INSERTED = ("student_id", "class_id", "title", "type", "score", "assignment_id", "points", "mark", "comment")


class Assignment(NamedTuple):
    """What a score needs of its assignment."""

    id: int
    class_id: int
    title: str
    category: str
    max_points: float


#: An assignment's columns, as ``assignment`` reads them (``assignments`` and ``settings`` select them).
ASSIGNMENT_COLUMNS = "id, class_id, title, category, max_points, due"


def assignment(row: tuple[Any, ...]) -> dict[str, Any]:
    """An assignment as ``Grades.*`` answer it and the audit records it, from a row of ASSIGNMENT_COLUMNS."""
    aid, class_id, title, category, max_points, due = row
    return {
        "id": int(aid),
        "class_id": int(class_id),
        "title": title,
        "category": category,
        "max_points": float(max_points),
        "due": due,
    }


class Entry(NamedTuple):
    """One student's score as a caller wants it; points, mark and comment all None: no score."""

    student_id: int
    points: float | None
    mark: str | None
    comment: str | None

    @property
    def empty(self) -> bool:
        return self.points is None and self.mark is None and self.comment is None


def recorded(row: SqlRow) -> dict[str, Any]:
    """A score as the audit records it, from a row of COLUMNS."""
    gid, student_id, class_id, title, kind, score, assignment_id, points, mark, comment = row
    return {
        "id": int(gid),
        "student_id": int(student_id),
        "class_id": class_id,
        "title": title,
        "type": kind,
        "score": None if score is None else float(score),
        "assignment_id": assignment_id,
        "points": None if points is None else float(points),
        "mark": mark,
        "comment": comment,
    }


def answered(stored: dict[str, Any]) -> dict[str, Any]:
    """A score as today's ``Grades.*`` answer a grade (``protocol.Grade``), from its recorded form."""
    return grade((stored["id"], stored["title"], stored["type"], stored["score"], stored["class_id"]))


def current(
    tx: Transaction, class_id: int, student_ids: Sequence[int], assignment_ids: Sequence[int] = ()
) -> dict[tuple[int, int], dict[str, Any]]:
    """The stored scores of ``student_ids`` in the class (on ``assignment_ids``, if given: saving one column
    then reads 40 rows, not the 2,400 of the students' every score), by (assignment id, student id), locked
    until the transaction ends."""
    found: dict[tuple[int, int], dict[str, Any]] = {}
    columns = sorted(set(assignment_ids))
    which = f" AND assignment_id IN ({', '.join('?' * len(columns))})" if 0 < len(columns) <= CHUNK else ""
    if not which:
        columns = []
    sql = (
        f"SELECT {COLUMNS} FROM grades WHERE class_id = ? AND assignment_id IS NOT NULL{which} "
        f"AND student_id IN ({{ids}}) ORDER BY id{tx.locking}"
    )
    for row in by_chunks(tx.rows, sql, (class_id, *columns), sorted(set(student_ids))):
        stored = recorded(row)
        found[(int(stored["assignment_id"]), stored["student_id"])] = stored
    return found


def lock_class(tx: Transaction, class_id: int) -> None:
    """Hold the class's row until the transaction ends (PostgreSQL; SQLite's write transaction holds it all).

    Writers of a class's scores and assignments queue here: two that would both insert one
    student's first score (or one new assignment) wait for each other instead of one of them
    failing on the unique index.
    """
    tx.rows(f"SELECT id FROM classes WHERE id = ?{tx.locking}", (class_id,))


def as_shown(stored: dict[str, Any] | None) -> dict[str, Any]:
    """``{"points", "mark", "comment"}`` of a stored score (all None without one): what a form saw."""
    if stored is None:
        return {"points": None, "mark": None, "comment": None}
    return {"points": stored["points"], "mark": stored["mark"], "comment": stored["comment"]}


def kept(before: dict[str, Any], entry: Entry) -> Entry:
    """``entry``'s points over a stored score: its comment stays, and its mark if ``late`` (new points end
    ``missing`` and ``excused``)."""
    mark = entry.mark if entry.mark is not None else (before["mark"] if before["mark"] == "late" else None)
    return entry._replace(mark=mark, comment=entry.comment if entry.comment is not None else before["comment"])


def write(
    tx: Transaction,
    user: str,
    items: Sequence[tuple[Assignment, Entry]],
    was: Mapping[tuple[int, int], dict[str, Any]] | None = None,
    *,
    keep: bool = False,
) -> tuple[int, dict[tuple[int, int], dict[str, Any] | None]]:
    """Make each (assignment, entry)'s score what the entry says, every assignment of one class; how many
    changed, and each score after by (assignment id, student id).

    An empty entry removes the score. ``keep`` (today's ``add_grade`` and per-grade CSV, which
    only give points): an entry keeps the stored comment and a ``late`` mark. ``was``: by
    (assignment id, student id), the ``as_shown`` values a form was opened with; if any differs
    from what is stored, nothing is written and Conflict carries ``{"conflicts": [{"assignment_id",
    "student_id", "points", "mark", "comment"}]}``, their values now. The caller has checked the
    entries (points within the assignment's, students in its class).
    """
    if not items:
        return 0, {}
    class_id = items[0][0].class_id
    lock_class(tx, class_id)
    stored = current(tx, class_id, [entry.student_id for _, entry in items], [a.id for a, _ in items])
    if was:
        conflicts = [
            {"assignment_id": aid, "student_id": sid, **as_shown(stored.get((aid, sid)))}
            for (aid, sid), seen in sorted(was.items())
            if as_shown(stored.get((aid, sid))) != seen
        ]
        if conflicts:
            raise Conflict(f"{len(conflicts)} scores were changed since the form was opened", {"conflicts": conflicts})
    after: dict[tuple[int, int], dict[str, Any] | None] = {}
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    changed = 0
    for assignment, entry in items:
        pair = (assignment.id, entry.student_id)
        before = stored.get(pair)
        if keep and before is not None:
            entry = kept(before, entry)
        if entry.empty:
            after[pair] = None
            if before is not None:
                tx.rows("DELETE FROM grades WHERE id = ?", (before["id"],))
                audit.record(tx, user, "delete", "grade", before["id"], class_id, before, None)
                changed += 1
            continue
        percent = weighting.percent(entry.points, entry.mark, assignment.max_points)
        values = (entry.points, entry.mark, entry.comment, percent)
        if before is None:
            # In INSERTED's order.
            copies = (class_id, assignment.title, assignment.category, percent, assignment.id)
            inserts.append((entry.student_id, *copies, entry.points, entry.mark, entry.comment))
            continue
        if (before["points"], before["mark"], before["comment"], before["score"]) == values:
            after[pair] = before
            continue
        updates.append((before["id"], *values))
    if updates:
        changed += len(updates)
        olds = {old["id"]: old for old in stored.values()}
        updated = _update(tx, updates)
        for row in updated:
            after[(int(row["assignment_id"]), row["student_id"])] = row
        audit.record_many(tx, user, "update", "grade", [(row["id"], class_id, olds[row["id"]], row) for row in updated])
    if inserts:
        ids = tx.insert_grades(inserts)
        made = [recorded((gid, *row)) for gid, row in zip(ids, inserts, strict=True)]
        for new in made:
            after[(int(new["assignment_id"]), new["student_id"])] = new
        audit.record_many(tx, user, "create", "grade", [(new["id"], class_id, None, new) for new in made])
        changed += len(made)
    return changed, after


def _update(tx: Transaction, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Set (id, points, mark, comment, score) of many scores in a statement per 500; each as recorded after.

    One statement, not one a score: on PostgreSQL each statement is a round trip (40 of them made
    most of a column's save), and its totals trigger then runs once. The casts give the VALUES list
    its types on PostgreSQL; SQLite reads them as the same affinities.
    """
    changed: list[dict[str, Any]] = []
    number = "CAST(? AS DOUBLE PRECISION)"
    value = f"(CAST(? AS BIGINT), {number}, CAST(? AS TEXT), CAST(? AS TEXT), {number})"
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        sql = (
            f"WITH v (id, points, mark, comment, score) AS (VALUES {', '.join([value] * len(chunk))}) "
            "UPDATE grades SET points = v.points, mark = v.mark, comment = v.comment, score = v.score "
            f"FROM v WHERE grades.id = v.id RETURNING {', '.join('grades.' + c.strip() for c in COLUMNS.split(','))}"
        )
        changed += [recorded(row) for row in tx.rows(sql, tuple(item for row in chunk for item in row))]
    return sorted(changed, key=lambda row: row["id"])
