"""The audit: every change to a grade, student, enrolment, class, user or assignment, written in the change's
own transaction.

An entry says who (the acting user, or ``(service)``), when, what (``create``,
``update``, ``delete``), of which record (``entity`` and its ``id``), and the
record before and after as JSON. ``record`` takes the writing transaction,
so the change and its entry commit together or not at all. Nothing here
changes or removes an entry; the schema's triggers refuse that to plain SQL too.
A user's entry holds no password hash: a new password shows as ``(changed)``.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from .protocol import SqlRow

if TYPE_CHECKING:
    # For annotations only: sql_writes records entries through this module.
    from .sql_writes import Transaction

Action = Literal["create", "update", "delete"]
Entity = Literal["grade", "student", "enrolment", "class", "user", "assignment"]
ENTITIES: tuple[Entity, ...] = ("grade", "student", "enrolment", "class", "user", "assignment")
#: Reads one statement's rows ("?" placeholders): a store's ``_read``.
Read = Callable[[str, tuple[Any, ...]], list[SqlRow]]

# An entry's columns, in the order record and record_many write them.
_FIELDS = ("at", "username", "action", "entity", "entity_id", "class_id", "before", "after")
_INSERT = f"INSERT INTO audit ({', '.join(_FIELDS)}) VALUES ({', '.join('?' * len(_FIELDS))})"
_COLUMNS = "at, username, action, entity, entity_id, before, after"
_HISTORY = f"SELECT {_COLUMNS} FROM audit WHERE entity = ? AND entity_id = ? ORDER BY id"
# A class's own entries (its grades, enrolments and itself), and those of the students on its roster (a
# rename, which belongs to no class): each side newest first and cut at the limit, then merged.
_CHANGES = f"""SELECT {_COLUMNS} FROM audit WHERE id IN (
    SELECT id FROM (SELECT id FROM audit WHERE class_id = ? ORDER BY id DESC LIMIT ?) AS own
    UNION
    SELECT id FROM (SELECT a.id FROM audit a JOIN enrolments e ON e.student_id = a.entity_id
        WHERE a.entity = 'student' AND e.class_id = ? ORDER BY a.id DESC LIMIT ?) AS roster
) ORDER BY id DESC LIMIT ?"""
_CLASSES_OF = "SELECT DISTINCT class_id FROM audit WHERE entity = ? AND entity_id = ? AND class_id IS NOT NULL"


def record(
    tx: Transaction,
    user: str,
    action: Action,
    entity: Entity,
    entity_id: int,
    class_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Write one entry in ``tx``, the transaction of the change it records."""
    tx.rows(_INSERT, (time.time(), user, action, entity, entity_id, class_id, _json(before), _json(after)))


def record_many(
    tx: Transaction,
    user: str,
    action: Action,
    entity: Entity,
    entries: list[tuple[int, int | None, dict[str, Any] | None, dict[str, Any] | None]],
) -> None:
    """Write one entry per ``(entity_id, class_id, before, after)`` in ``tx`` (an import's grades).

    All in one ``insert_rows`` (PostgreSQL: COPY): one statement per entry cost PostgreSQL a round trip each.
    """
    at = time.time()
    tx.insert_rows(
        "audit",
        _FIELDS,
        [(at, user, action, entity, eid, cid, _json(before), _json(after)) for eid, cid, before, after in entries],
    )


def history(read: Read, entity: Entity, entity_id: int) -> list[dict[str, Any]]:
    """The entries of one record, oldest first."""
    return [_entry(row) for row in read(_HISTORY, (entity, entity_id))]


def changes(read: Read, class_id: int, limit: int) -> list[dict[str, Any]]:
    """A class's newest ``limit`` entries, newest first: its grades', enrolments' and its own, and those of
    the students enrolled in it (archived or not)."""
    return [_entry(row) for row in read(_CHANGES, (class_id, limit, class_id, limit, limit))]


def classes_of(read: Read, entity: Entity, entity_id: int) -> set[int]:
    """The classes a record's entries name (a deleted grade's class, for who may read its history)."""
    return {int(row[0]) for row in read(_CLASSES_OF, (entity, entity_id))}


def timestamp(at: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC text with microseconds: ``2026-12-06T22:05:33.123456Z``."""
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _entry(row: SqlRow) -> dict[str, Any]:
    at, user, action, entity, entity_id, before, after = row
    return {
        "at": timestamp(float(at)),
        "user": user,
        "action": action,
        "entity": entity,
        "id": int(entity_id),
        "before": None if before is None else json.loads(before),
        "after": None if after is None else json.loads(after),
    }
