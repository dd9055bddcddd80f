"""Assignments of a class: added, changed and deleted with their audit in a store's transaction; read in order.

A title is unique in its class ignoring case (``title_key``, its casefold):
"Quiz 3" and "quiz 3" are one assignment. The columns of a class are its
dated assignments by due date, then the undated ones in the order they were
added. Changing an assignment's title or category changes its scores' copies
(``scores``); changing its points changes their percentages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.errors import Conflict, InvalidParams
from ..access import Actor
from ..storage import audit
from ..storage.classes import rules
from . import scores, settings, weighting
from .scores import Assignment

if TYPE_CHECKING:
    from ..storage.sql_writes import Transaction

COLUMNS = scores.ASSIGNMENT_COLUMNS
# The grid file's own columns (grid_csv): an assignment of such a title would lose its column to them.
RESERVED = frozenset({"student_id", "first_name", "last_name", "average", "letter"})
ORDER = "due IS NULL, due, id"
_ADD = (
    "INSERT INTO assignments (class_id, title, title_key, category, max_points, due) "
    f"VALUES (?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}"
)


def of(found: dict[str, Any]) -> Assignment:
    """What a score needs of an answered assignment."""
    return Assignment(found["id"], found["class_id"], found["title"], found["category"], found["max_points"])


def of_class(read: rules.Read, class_id: int) -> list[dict[str, Any]]:
    """The class's assignments in column order."""
    return [
        scores.assignment(row)
        for row in read(f"SELECT {COLUMNS} FROM assignments WHERE class_id = ? ORDER BY {ORDER}", (class_id,))
    ]


def usable(tx: Transaction, actor: Actor, assignment_id: int) -> dict[str, Any]:
    """The assignment, locked until the transaction ends; ``refused`` unless the actor may use its class.

    Its class's row is locked first (``scores.lock_class``), as by every writer of the class's scores
    and assignments: an import holds it from its preview's check to its last score, so a change of
    points or a delete waits for it instead of changing a column under it; and writers that lock
    both take them in one order, the class, then the assignment.
    """
    owner = tx.rows("SELECT class_id FROM assignments WHERE id = ?", (assignment_id,))
    if not owner or not rules.may_use_class(tx.rows, actor, int(owner[0][0])):
        raise rules.refused(actor, "assignment_id", assignment_id)
    scores.lock_class(tx, int(owner[0][0]))
    found = tx.rows(f"SELECT {COLUMNS} FROM assignments WHERE id = ?{tx.locking}", (assignment_id,))
    if not found:  # deleted while this waited for the class
        raise rules.refused(actor, "assignment_id", assignment_id)
    return scores.assignment(found[0])


def readable(read: rules.Read, actor: Actor, assignment_id: int) -> dict[str, Any]:
    """The assignment, for a read; ``refused`` unless the actor may use its class."""
    found = read(f"SELECT {COLUMNS} FROM assignments WHERE id = ?", (assignment_id,))
    if not found or not rules.may_use_class(read, actor, int(found[0][1])):
        raise rules.refused(actor, "assignment_id", assignment_id)
    return scores.assignment(found[0])


def free_title(title: str, field: str = "title") -> str:
    """``title``, unless it is one of the grid file's own columns (RESERVED): InvalidParams naming ``field``."""
    if title.casefold() in RESERVED:
        raise InvalidParams.field(field, f"{title!r} is a column of the grid's file: give the assignment another title")
    return title


def titled(read: rules.Read, class_id: int, title: str) -> dict[str, Any] | None:
    """The class's assignment of that title (ignoring case), or None."""
    found = read(
        f"SELECT {COLUMNS} FROM assignments WHERE class_id = ? AND title_key = ?", (class_id, title.casefold())
    )
    return scores.assignment(found[0]) if found else None


def add(
    tx: Transaction,
    actor: Actor,
    class_id: int,
    title: str,
    category: str,
    max_points: float,
    due: str | None,
) -> dict[str, Any]:
    """A new assignment; Conflict (with the existing one) when the class has one of that title."""
    rules.require_class(tx.rows, actor, class_id)
    scores.lock_class(tx, class_id)
    free_title(title)
    categories, _ = settings.read(tx.rows, class_id)
    category = settings.category_named(categories, category)
    existing = titled(tx.rows, class_id, title)
    if existing is not None:
        raise Conflict(f"class {class_id} has an assignment titled {existing['title']!r}", existing)
    made = scores.assignment(tx.rows(_ADD, (class_id, title, title.casefold(), category, max_points, due))[0])
    audit.record(tx, actor.username, "create", "assignment", made["id"], class_id, None, made)
    return made


def for_grades(
    tx: Transaction, actor: Actor, class_id: int, wanted: dict[str, tuple[str, str]], max_points: float
) -> dict[str, dict[str, Any]]:
    """The class's assignments by title key for ``wanted`` (title key -> (title, category)), those it lacks
    made with that title, category and ``max_points`` (``add_grade`` and today's CSV name assignments by
    title); all in a few statements, however many (an import of 50,000 lines may name as many)."""
    scores.lock_class(tx, class_id)
    existing = {a["title"].casefold(): a for a in of_class(tx.rows, class_id)}
    missing = [(key, free_title(title), kind) for key, (title, kind) in wanted.items() if key not in existing]
    if missing:
        categories, _ = settings.read(tx.rows, class_id)
        tx.insert_rows(
            "assignments",
            ("class_id", "title", "title_key", "category", "max_points", "due"),
            [
                (class_id, title, key, settings.category_named(categories, kind, "type"), max_points, None)
                for key, title, kind in missing
            ],
        )
        existing = {a["title"].casefold(): a for a in of_class(tx.rows, class_id)}
        made = [existing[key] for key, _, _ in missing]
        audit.record_many(tx, actor.username, "create", "assignment", [(a["id"], class_id, None, a) for a in made])
    return {key: existing[key] for key in wanted}


def for_grade(
    tx: Transaction, actor: Actor, class_id: int, title: str, category: str, max_points: float
) -> dict[str, Any]:
    """The class's assignment of ``title``, made with ``category`` and ``max_points`` when it has none."""
    # Locked before it is read: the caller makes points of a percentage with its max_points.
    scores.lock_class(tx, class_id)
    existing = titled(tx.rows, class_id, title)
    if existing is not None:
        return existing
    key = title.casefold()
    return for_grades(tx, actor, class_id, {key: (title, category)}, max_points)[key]


def update(
    tx: Transaction,
    actor: Actor,
    assignment_id: int,
    changes: dict[str, Any],
    expected: dict[str, Any] | None,
) -> dict[str, Any]:
    """Change the assignment's given fields (title, category, max_points, due: "" clears it) and return it.

    ``expected``: fields as the caller last saw them; if the assignment holds others, Conflict
    carries it as it is. Points below a score already given are refused.
    """
    before = usable(tx, actor, assignment_id)
    if expected and any(before.get(key) != value for key, value in expected.items()):
        raise Conflict(f"assignment {assignment_id} was changed since the form was opened", before)
    after = dict(before)
    if changes.get("title") is not None:
        free_title(changes["title"])
    if changes.get("title") is not None and changes["title"] != before["title"]:
        other = titled(tx.rows, before["class_id"], changes["title"])
        if other is not None and other["id"] != assignment_id:
            raise Conflict(f"class {before['class_id']} has an assignment titled {other['title']!r}", other)
        after["title"] = changes["title"]
    if changes.get("category") is not None:
        categories, _ = settings.read(tx.rows, before["class_id"])
        after["category"] = settings.category_named(categories, changes["category"])
    if changes.get("max_points") is not None:
        over = tx.rows(
            "SELECT COUNT(*), MAX(points) FROM grades WHERE assignment_id = ? AND points > ?",
            (assignment_id, changes["max_points"]),
        )[0]
        if over[0]:
            raise InvalidParams.field(
                "max_points",
                f"must be at least {float(over[1]):g}: {over[0]} scores have more points "
                f"than {changes['max_points']:g}",
            )
        after["max_points"] = changes["max_points"]
    if changes.get("due") is not None:
        after["due"] = changes["due"] or None
    if after == before:
        return before
    tx.rows(
        "UPDATE assignments SET title = ?, title_key = ?, category = ?, max_points = ?, due = ? WHERE id = ?",
        (
            after["title"],
            after["title"].casefold(),
            after["category"],
            after["max_points"],
            after["due"],
            assignment_id,
        ),
    )
    if (after["title"], after["category"]) != (before["title"], before["category"]):
        tx.rows(
            "UPDATE grades SET title = ?, type = ? WHERE assignment_id = ?",
            (after["title"], after["category"], assignment_id),
        )
    if after["max_points"] != before["max_points"]:
        # Each score's percentage by weighting.percent, the one formula (a class is a few dozen scores).
        for gid, points, mark in tx.rows(
            "SELECT id, points, mark FROM grades WHERE assignment_id = ?", (assignment_id,)
        ):
            percent = weighting.percent(None if points is None else float(points), mark, after["max_points"])
            tx.rows("UPDATE grades SET score = ? WHERE id = ?", (percent, gid))
    audit.record(tx, actor.username, "update", "assignment", assignment_id, before["class_id"], before, after)
    return after


def delete(tx: Transaction, actor: Actor, assignment_id: int, scored: int | None = None) -> bool:
    """Delete the assignment and its scores, each recorded in the audit; True.

    ``scored``: how many scores the caller's confirmation said go with it; if it has more or fewer
    now (scores entered since), Conflict carries the assignment with its ``scored`` now.
    """
    found = usable(tx, actor, assignment_id)
    removed = [
        scores.recorded(row)
        for row in tx.rows(f"SELECT {scores.COLUMNS} FROM grades WHERE assignment_id = ? ORDER BY id", (assignment_id,))
    ]
    if scored is not None and scored != len(removed):
        raise Conflict(
            f"assignment {assignment_id} has {len(removed)} scores now, not {scored}", {**found, "scored": len(removed)}
        )
    tx.rows("DELETE FROM grades WHERE assignment_id = ?", (assignment_id,))
    audit.record_many(tx, actor.username, "delete", "grade", [(s["id"], found["class_id"], s, None) for s in removed])
    tx.rows("DELETE FROM assignments WHERE id = ?", (assignment_id,))
    audit.record(tx, actor.username, "delete", "assignment", assignment_id, found["class_id"], found, None)
    return True
