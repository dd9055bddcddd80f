"""Audit entries (``Grades.history``, ``Grades.changes``) as pages show them: when, who, what, and each
field's old and new value.

``shown`` reads any entry field by field; ``in_class`` reads a class's entries as a teacher would say
them ("Archived Ann Lee", "Changed grade Quiz 1 of Ann Lee"): the store's enrolment rows and student
ids mean nothing to someone looking at their class.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

ACTIONS = MappingProxyType({"create": "Created", "update": "Changed", "delete": "Deleted"})
# How a field is named on a page; any other field by its own name, "_" read as a space.
FIELDS = MappingProxyType(
    {
        "student_id": "student",
        "class_id": "class",
        "first_name": "first name",
        "last_name": "last name",
        "display_name": "name",
    }
)
# Shown as an entry's headline, not as one of its changes.
_HIDDEN = frozenset({"id"})
# Flags a store may keep as 0 and 1.
_YES_NO = frozenset({"archived", "disabled"})


@dataclass(frozen=True)
class Change:
    """One field of an entry: its value before and after (None: it had none, as in a create or a delete)."""

    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Entry:
    """One audit entry, ready for a page."""

    #: ISO 8601 in UTC to the millisecond, as HTML's ``<time datetime>`` takes it ("" when unknown).
    at: str
    #: The same moment for people: ``2025-03-04 13:05:09 UTC``.
    when: str
    user: str
    action: str
    #: What was changed: ``grade 9``, ``student 3``.
    what: str
    changes: tuple[Change, ...]
    #: Where ``what`` is shown in full (a student's page, a grade's history); "" for nowhere.
    href: str = ""


def shown(entry: dict[str, Any]) -> Entry:
    """``entry`` as a page shows it: every field that changed (a create: every field it set; a delete:
    every field it had)."""
    before = entry.get("before") if isinstance(entry.get("before"), dict) else None
    after = entry.get("after") if isinstance(entry.get("after"), dict) else None
    names = [*(before or {}), *(name for name in after or {} if name not in (before or {}))]
    changes = []
    for name in names:
        if name in _HIDDEN:
            continue
        old = _value(before, name)
        new = _value(after, name)
        if before is not None and after is not None and old == new:
            continue
        changes.append(Change(FIELDS.get(name, name.replace("_", " ")), old, new))
    at = str(entry.get("at") or "")
    moment = _moment(at)
    return Entry(
        at=moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else "",
        when=moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else at,
        user=str(entry.get("user") or ""),
        action=ACTIONS.get(str(entry.get("action")), str(entry.get("action") or "")),
        what=f"{entry.get('entity') or ''} {entry.get('id') if entry.get('id') is not None else ''}".strip(),
        changes=tuple(changes),
    )


def _moment(at: str) -> datetime.datetime | None:
    """``2025-03-04T13:05:09.123456Z`` as a time in UTC; None for text that is not one with its zone."""
    try:
        moment = datetime.datetime.fromisoformat(at)
    except ValueError:
        return None
    return moment.astimezone(datetime.UTC) if moment.tzinfo is not None else None


def _value(values: dict[str, Any] | None, name: str) -> str | None:
    """A field's value as text; None when ``values`` has no such field."""
    if values is None or name not in values:
        return None
    value = values[name]
    if value is None:
        return "—"
    if isinstance(value, bool) or (name in _YES_NO and value in (0, 1)):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (int, str)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# A class's entries name its students and grades; these fields say again what the headline says.
_NAMED_IN_CLASS = frozenset({"class", "student"})
_GRADE_ACTIONS = MappingProxyType({"create": "Added grade", "update": "Changed grade", "delete": "Deleted grade"})


def in_class(entry: dict[str, Any], students: Mapping[int, str]) -> Entry:
    """A ``Grades.changes`` entry as the class's page shows it, its students named from ``students``
    (id -> "First Last"; one missing from it, whom the user may no longer read, by number)."""
    plain = shown(entry)
    values = entry.get("after") if isinstance(entry.get("after"), dict) else entry.get("before")
    values = values if isinstance(values, dict) else {}
    student_id = values.get("student_id")
    name = students.get(student_id, "") if isinstance(student_id, int) else ""
    # A student the user may no longer read keeps their number, and links nowhere.
    unnamed = f"student {student_id}, no longer in the class"
    entity, action = entry.get("entity"), str(entry.get("action"))
    if entity == "class":
        return replace(plain, what="the class")
    if entity == "student" and isinstance(entry.get("id"), int):
        # A student's own entry (added, renamed): it names the student by their id, not in its values.
        student = int(entry["id"])
        named = students.get(student, "")
        href = f"/students/{student}" if named else ""
        named = named or f"student {student}"
        if action == "create":
            return replace(plain, action="Added student", what=named, changes=(), href=href)
        return replace(plain, action="Renamed" if action == "update" else plain.action, what=named, href=href)
    if entity == "grade" and isinstance(student_id, int):
        name = name or unnamed
        title = values.get("title")
        changes = tuple(c for c in plain.changes if c.field not in _NAMED_IN_CLASS)
        return replace(
            plain,
            action=_GRADE_ACTIONS.get(action, plain.action),
            what=f"“{title}” of {name}" if title else f"{entry.get('id')} of {name}",
            changes=changes,
            href=f"/grades/{entry.get('id')}/history",
        )
    if entity == "enrolment" and isinstance(student_id, int):
        href = f"/students/{student_id}" if name else ""
        name = name or unnamed
        if action == "create":
            return replace(plain, action="Enrolled", what=name, changes=(), href=href)
        if action == "delete":
            removed = name if href else f"student {student_id}"  # "no longer in the class" is what it says
            return replace(plain, action="Removed from the class:", what=removed, changes=(), href=href)
        archived = [c for c in plain.changes if c.field == "archived"]
        if archived and len(plain.changes) == 1:
            verb = "Archived" if archived[0].after == "yes" else "Restored"
            return replace(plain, action=verb, what=name, changes=(), href=href)
        return replace(plain, what=f"the enrolment of {name}", href=href)
    return plain
