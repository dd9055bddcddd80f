"""Audit entries (``Grades.history``, ``Grades.changes``) as pages show them: when, who, what, and each
field's old and new value.

``shown`` reads any entry field by field; ``in_class`` reads a class's entries as a teacher would say
them ("Archived Ann Lee", "Changed score: Nick Carter · Quiz 3: 15 → 18, late", "Added assignment Quiz 3
(20 points)"): the store's enrolment rows and student ids mean nothing to someone looking at their class.

A score is the entity ``grade``. Since the gradebook, its record also holds ``assignment_id``, ``points``,
``mark`` and ``comment``, and it reads as a score ("18, late"); an older record (title, type and a
percentage) reads as it always did. A class's weights and letters are its ``categories`` and ``scale``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, TypeGuard

ACTIONS = MappingProxyType({"create": "Created", "update": "Changed", "delete": "Deleted"})
# How a field is named on a page; any other field by its own name, "_" read as a space.
FIELDS = MappingProxyType(
    {
        "student_id": "student",
        "class_id": "class",
        "first_name": "first name",
        "last_name": "last name",
        "display_name": "name",
        "assignment_id": "assignment",
        "max_points": "points possible",
        "categories": "weights",
        "scale": "letters",
    }
)
# Shown as an entry's headline, not as one of its changes.
_HIDDEN = frozenset({"id"})
# Flags a store may keep as 0 and 1.
_YES_NO = frozenset({"archived", "disabled"})
# A class's settings that are None until a teacher sets them: the defaults hold meanwhile.
_DEFAULTED = frozenset({"categories", "scale"})


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
    if entry.get("entity") == "grade" and _is_score(before, after):
        changes = list(_score_changes(before, after))
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


def _is_score(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    """True if a grade's record is a score of an assignment (it has ``assignment_id``), not an older grade."""
    return any(values is not None and values.get("assignment_id") is not None for values in (before, after))


def score_text(values: dict[str, Any]) -> str:
    """A score as a teacher writes it: ``18``, ``18, late``, ``missing``; "—" for none."""
    points, mark = values.get("points"), values.get("mark")
    parts = [_number(points)] if _is_number(points) else []
    if mark:
        parts.append(str(mark))
    return ", ".join(parts) or "—"


def _score_changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None, label: str = "score"
) -> tuple[Change, ...]:
    """A score's record in words: ``label`` (its points and mark), its comment, and its assignment's title
    and category when they changed; not the percentage and ids it also keeps."""
    old = score_text(before) if before is not None else None
    new = score_text(after) if after is not None else None
    changes = [Change(label, old, new)] if old != new else []
    old_comment = None if before is None else before.get("comment") or "—"
    new_comment = None if after is None else after.get("comment") or "—"
    # A score made or removed without a comment says nothing of one.
    if old_comment != new_comment and {old_comment, new_comment} - {None, "—"}:
        changes.append(Change("comment", old_comment, new_comment))
    if before is not None and after is not None:
        for name in ("title", "type"):
            if name in before and name in after and before[name] != after[name]:
                changes.append(Change(name, _value(before, name), _value(after, name)))
    return tuple(changes)


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
        return "the defaults" if name in _DEFAULTED else "—"
    if isinstance(value, bool) or (name in _YES_NO and value in (0, 1)):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (int, str)):
        return str(value)
    if name == "categories" and _entries(value, "name", "weight"):
        return ", ".join(f"{c['name']} {_number(c['weight'])} %" for c in value)
    if name == "scale" and _entries(value, "letter", "min"):
        return ", ".join(f"{s['letter']} from {_number(s['min'])} %" for s in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _entries(value: object, *keys: str) -> bool:
    """True if ``value`` is a list of objects that each have ``keys``, the last a number."""
    return isinstance(value, list) and all(
        isinstance(v, dict) and all(k in v for k in keys) and _is_number(v[keys[-1]]) for v in value
    )


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value: float) -> str:
    """``40``, ``12.5``: a number as a teacher writes it."""
    return f"{value:g}"


# A class's entries name its students and grades; these fields say again what the headline says.
_NAMED_IN_CLASS = frozenset({"class", "student"})
_GRADE_ACTIONS = MappingProxyType({"create": "Added grade", "update": "Changed grade", "delete": "Deleted grade"})
_SCORE_ACTIONS = MappingProxyType({"create": "New score:", "update": "Changed score:", "delete": "Removed score:"})
_ASSIGNMENT_ACTIONS = MappingProxyType(
    {"create": "Added assignment", "update": "Changed assignment", "delete": "Deleted assignment"}
)
# What a class's settings are called in its changes, by the field that changed.
_SETTINGS = MappingProxyType({"weights": "the weights", "letters": "the letters"})


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
        settings = {_SETTINGS.get(c.field, "the class") for c in plain.changes}
        return replace(plain, what=settings.pop() if len(settings) == 1 else "the class")
    if entity == "assignment":
        return _assignment(entry, plain, values)
    if entity == "student" and isinstance(entry.get("id"), int):
        # A student's own entry (added, renamed): it names the student by their id, not in its values.
        student = int(entry["id"])
        named = students.get(student, "")
        href = f"/students/{student}" if named else ""
        named = named or f"student {student}"
        if action == "create":
            return replace(plain, action="Added student", what=named, changes=(), href=href)
        return replace(plain, action="Renamed" if action == "update" else plain.action, what=named, href=href)
    before, after = (entry.get(k) if isinstance(entry.get(k), dict) else None for k in ("before", "after"))
    if entity == "grade" and isinstance(student_id, int) and _is_score(before, after):
        return replace(
            plain,
            action=_SCORE_ACTIONS.get(action, plain.action),
            what=name or unnamed,
            changes=_score_changes(before, after, str(values.get("title") or "score")),
            href=f"/grades/{entry.get('id')}/history",
        )
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


def _assignment(entry: dict[str, Any], plain: Entry, values: dict[str, Any]) -> Entry:
    """An assignment's entry: "Added assignment Quiz 3 (20 points)" and its category and due date; a change
    names what changed, a deletion only the assignment."""
    action = str(entry.get("action"))
    title = str(values.get("title") or plain.what)
    points = values.get("max_points")
    named = f"{title} ({_number(points)} point{'' if points == 1 else 's'})" if _is_number(points) else title
    class_id, assignment_id = values.get("class_id"), entry.get("id")
    href = f"/classes/{class_id}/assignments/{assignment_id}" if action != "delete" and class_id else ""
    changes = tuple(c for c in plain.changes if c.field not in _NAMED_IN_CLASS)
    if action == "create":
        changes = tuple(c for c in changes if c.field in ("category", "due") and c.after not in (None, "—"))
    elif action == "delete":
        changes = ()
    else:
        named = title
    return replace(plain, action=_ASSIGNMENT_ACTIONS.get(action, plain.action), what=named, changes=changes, href=href)
