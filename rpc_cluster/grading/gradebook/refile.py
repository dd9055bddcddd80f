"""Today's ``update_grade`` of a score: a new title moves it to that assignment, a new type changes the category.

A grade's title and type are its assignment's now. ``update_grade`` with
another title moves the student's score to the class's assignment of that
title (made, with the given type and the points of the old one, when there
is none). A new type, or a title that differs only in case, changes the
assignment itself, which is only done when the score is its only one: the
others' titles would change with it. A score given is a percentage, as it
always was, and becomes points of the assignment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.errors import InvalidParams
from ..access import Actor
from . import assignments, scores, weighting

if TYPE_CHECKING:
    from ..storage.sql_writes import Transaction

_MOVE = f"""UPDATE grades SET assignment_id = ?, title = ?, type = ?, points = ?, mark = ?, score = ?
WHERE id = ? RETURNING {scores.COLUMNS}"""


def refile(
    tx: Transaction, actor: Actor, before: dict[str, Any], title: str | None, kind: str | None, score: float | None
) -> dict[str, Any]:
    """The score ``before`` (recorded, with an assignment) after the change, as recorded."""
    column = assignments.usable(tx, actor, int(before["assignment_id"]))
    target = column
    if title is not None and title.casefold() != column["title"].casefold():
        other = assignments.titled(tx.rows, column["class_id"], title)
        if other is None:
            target = assignments.for_grade(
                tx, actor, column["class_id"], title, kind or column["category"], column["max_points"]
            )
        elif kind is not None and kind.casefold() != other["category"].casefold():
            raise InvalidParams.field("type", f"must be {other['category']}, the category of {other['title']!r}")
        elif (other["id"], before["student_id"]) in scores.current(tx, other["class_id"], [before["student_id"]]):
            raise InvalidParams.field("title", f"names {other['title']!r}, where the student has a score already")
        else:
            target = other
    else:
        changes = {
            key: value
            for key, value, now in (("title", title, column["title"]), ("category", kind, column["category"]))
            if value is not None and value != now
        }
        if changes:
            shared = tx.rows(
                "SELECT COUNT(*) FROM grades WHERE assignment_id = ? AND id <> ?", (column["id"], before["id"])
            )[0][0]
            if shared:
                field = "title" if "title" in changes else "type"
                raise InvalidParams.field(
                    field,
                    f"is assignment {column['title']!r}'s, which {shared} other scores share: "
                    "change it with Grades.update_assignment",
                )
            target = assignments.update(tx, actor, column["id"], changes, None)
    if score is None and target["max_points"] == column["max_points"]:
        points = before["points"]
    else:
        points = weighting.points_of(before["score"] if score is None else score, target["max_points"])
    mark = before["mark"] if score is None or before["mark"] == "late" else None
    row = tx.rows(
        _MOVE,
        (
            target["id"],
            target["title"],
            target["category"],
            points,
            mark,
            weighting.percent(points, mark, target["max_points"]),
            before["id"],
        ),
    )[0]
    return scores.recorded(row)
