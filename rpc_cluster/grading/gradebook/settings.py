"""A class's categories with their weights, and its letter scale: read with their defaults, and changed.

Both are kept as JSON in the class's row (NULL: the defaults), since each is
set as a whole. A category that assignments use cannot be removed; renaming
one (``"was"``) takes its assignments and their scores along.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...core.errors import Conflict, InvalidParams
from ..access import Actor
from ..storage import audit
from ..storage.classes import rules
from . import scores, weighting

if TYPE_CHECKING:
    from ..storage.sql_writes import Transaction


def _loaded(text: str | None, default: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [dict(item) for item in default] if text is None else list(json.loads(text))


def read(read: rules.Read, class_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The class's categories and scale (its own, or the defaults)."""
    rows = read("SELECT categories, scale FROM classes WHERE id = ?", (class_id,))
    if not rows:
        return _loaded(None, weighting.DEFAULT_CATEGORIES), _loaded(None, weighting.DEFAULT_SCALE)
    return _loaded(rows[0][0], weighting.DEFAULT_CATEGORIES), _loaded(rows[0][1], weighting.DEFAULT_SCALE)


def category_named(categories: list[dict[str, Any]], name: str, field: str = "category") -> str:
    """The class's spelling of category ``name`` (matched ignoring case); InvalidParams naming ``field`` if none."""
    for category in categories:
        if category["name"].casefold() == name.casefold():
            return str(category["name"])
    names = ", ".join(category["name"] for category in categories)
    raise InvalidParams.field(field, f"must be one of the class's categories: {names}")


def _still(kind: str, before: list[dict[str, Any]], expected: list[dict[str, Any]] | None) -> None:
    """Conflict, carrying ``{kind: before}``, when a form opened on ``expected`` would overwrite a newer change."""
    if expected is not None and expected != before:
        raise Conflict(f"the class's {kind} were changed since the form was opened", {kind: before})


def set_categories(
    tx: Transaction,
    actor: Actor,
    class_id: int,
    wanted: list[dict[str, Any]],
    expected: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Give the class ``wanted`` (checked by ``weighting.categories``); ``{"categories": [...]}`` as stored.

    ``expected``: the categories the caller's form showed; if the class has others now, Conflict.
    """
    rules.require_class(tx.rows, actor, class_id)
    scores.lock_class(tx, class_id)  # two forms saved at once: the second sees the first, and is stale
    before, _ = read(tx.rows, class_id)
    _still("categories", before, expected)
    stored = [{"name": entry["name"], "weight": entry["weight"]} for entry in wanted]
    # A used category's name after the change: the one renaming it ("was"), else the spelling of the
    # entry that keeps it (the case of a name may change: its assignments take the new spelling).
    spelled = {entry["name"].casefold(): entry["name"] for entry in wanted}
    renamed = {entry["was"].casefold(): entry["name"] for entry in wanted if "was" in entry}
    used = tx.rows(
        "SELECT category, COUNT(*) FROM assignments WHERE class_id = ? GROUP BY category ORDER BY category",
        (class_id,),
    )
    moves: list[tuple[str, str]] = []
    for category, count in used:
        new_name = renamed.get(category.casefold(), spelled.get(category.casefold()))
        if new_name is None:
            raise InvalidParams.field(
                "categories", f"leave out {category!r}, which {count} assignments use: move them first, or rename it"
            )
        if new_name != category:
            moves.append((category, new_name))
    if moves:
        # Each moved assignment is changed: its own history says so, as update_assignment's would.
        renames = dict(moves)
        moved = [
            scores.assignment(row)
            for row in tx.rows(
                f"SELECT {scores.ASSIGNMENT_COLUMNS} FROM assignments WHERE class_id = ? ORDER BY id", (class_id,)
            )
            if row[3] in renames
        ]
        # One statement for all of them: renamed one after the other, two names swapped would end as one.
        cases = " ".join("WHEN ? THEN ?" for _ in moves)
        names = tuple(name for move in moves for name in move)
        tx.rows(
            f"UPDATE assignments SET category = CASE category {cases} ELSE category END WHERE class_id = ?",
            (*names, class_id),
        )
        tx.rows(
            f"UPDATE grades SET type = CASE type {cases} ELSE type END "
            "WHERE assignment_id IN (SELECT id FROM assignments WHERE class_id = ?)",
            (*names, class_id),
        )
        audit.record_many(
            tx,
            actor.username,
            "update",
            "assignment",
            [(a["id"], class_id, a, {**a, "category": renames[a["category"]]}) for a in moved],
        )
    if stored != before:
        tx.rows("UPDATE classes SET categories = ? WHERE id = ?", (json.dumps(stored), class_id))
        audit.record(
            tx, actor.username, "update", "class", class_id, class_id, {"categories": before}, {"categories": stored}
        )
    return {"categories": stored}


def set_scale(
    tx: Transaction,
    actor: Actor,
    class_id: int,
    wanted: list[dict[str, Any]],
    expected: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Give the class the letter scale ``wanted`` (checked by ``weighting.scale``); ``{"scale": [...]}``.

    ``expected``: the scale the caller's form showed; if the class has another now, Conflict.
    """
    rules.require_class(tx.rows, actor, class_id)
    scores.lock_class(tx, class_id)
    _, before = read(tx.rows, class_id)
    _still("scale", before, expected)
    if wanted != before:
        tx.rows("UPDATE classes SET scale = ? WHERE id = ?", (json.dumps(wanted), class_id))
        audit.record(tx, actor.username, "update", "class", class_id, class_id, {"scale": before}, {"scale": wanted})
    return {"scale": wanted}
