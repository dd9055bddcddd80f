"""Classes and their rosters: adding and changing classes, enrolling, unenrolling and archiving students.

Each function runs in the caller's write transaction (``sql_writes.Transaction``),
checks the actor against ``rules`` there, and records its change in the audit in
that same transaction, so the check, the change and its entry are one. A change
that changes nothing (enrolling a student who is enrolled) records nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ....core.errors import InvalidParams, NotFound
from ... import search
from ...access import Actor
from .. import audit
from . import rules
from .rules import Read

if TYPE_CHECKING:
    from ..sql_writes import Transaction

_CLASS = "SELECT id, name, teacher_id FROM classes WHERE id = ?"
#: A student with the folded names that searches compare (each schema's first_key and last_key).
ADD_STUDENT = "INSERT INTO students (first_name, last_name, first_key, last_key) VALUES (?, ?, ?, ?) RETURNING id"
_ENROL = "INSERT INTO enrolments (class_id, student_id) VALUES (?, ?) RETURNING id"
_ENROLMENT = "SELECT id, archived FROM enrolments WHERE class_id = ? AND student_id = ?"
_CLASSES = """SELECT c.id, c.name, u.username,
    (SELECT COUNT(*) FROM enrolments e WHERE e.class_id = c.id AND NOT e.archived)
FROM classes c LEFT JOIN users u ON u.id = c.teacher_id"""


def enrolment(entry_id: int, class_id: int, student_id: int, archived: bool) -> dict[str, Any]:
    """An enrolment as the audit records it."""
    return {"id": entry_id, "class_id": class_id, "student_id": student_id, "archived": archived}


def _teacher_id(read: Read, teacher: str) -> int:
    found = read("SELECT id FROM users WHERE username = ?", (teacher,))
    if not found:
        raise InvalidParams.field("teacher", f"names no user ({teacher[:64]!r})")
    return int(found[0][0])


def _username(read: Read, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    found = read("SELECT username FROM users WHERE id = ?", (user_id,))
    return str(found[0][0]) if found else None


def add_class(tx: Transaction, actor: Actor, name: str, teacher: str | None) -> dict[str, Any]:
    """A new class taught by the user named ``teacher`` (None: no teacher): ``{"id", "name", "teacher"}``."""
    teacher_id = None if teacher is None else _teacher_id(tx.rows, teacher)
    class_id = int(
        tx.rows("INSERT INTO classes (name, teacher_id) VALUES (?, ?) RETURNING id", (name, teacher_id))[0][0]
    )
    made = {"id": class_id, "name": name, "teacher": teacher}
    audit.record(tx, actor.username, "create", "class", class_id, class_id, None, made)
    return made


def update_class(
    tx: Transaction, actor: Actor, class_id: int, name: str | None, teacher: str | None
) -> dict[str, Any] | None:
    """The class renamed or given to another teacher (None: keep; "": no teacher); None if unknown."""
    found = tx.rows(_CLASS + tx.locking, (class_id,))
    if not found:
        return None
    _, old_name, old_teacher_id = found[0]
    before = {"id": class_id, "name": old_name, "teacher": _username(tx.rows, old_teacher_id)}
    teacher_id = old_teacher_id if teacher is None else _teacher_id(tx.rows, teacher) if teacher else None
    after = {
        "id": class_id,
        "name": old_name if name is None else name,
        "teacher": before["teacher"] if teacher is None else teacher or None,
    }
    if after != before:
        tx.rows("UPDATE classes SET name = ?, teacher_id = ? WHERE id = ?", (after["name"], teacher_id, class_id))
        audit.record(tx, actor.username, "update", "class", class_id, class_id, before, after)
    return after


def list_classes(read: Read, actor: Actor) -> list[dict[str, Any]]:
    """The classes ``actor`` may see, by name (ignoring case) then id, with their active students' count."""
    rows = read(_CLASSES, ()) if actor.sees_all else read(_CLASSES + " WHERE c.teacher_id = ?", (actor.user_id,))
    classes = [{"id": int(cid), "name": name, "teacher": teacher, "students": int(n)} for cid, name, teacher, n in rows]
    return sorted(classes, key=lambda c: (c["name"].casefold(), c["name"], c["id"]))


def get_class(read: Read, actor: Actor, class_id: int) -> dict[str, Any]:
    """One class as ``list_classes`` lists it (``rules.require_class``: unknown or not the actor's is refused)."""
    rules.require_class(read, actor, class_id)
    cid, name, teacher, n = read(_CLASSES + " WHERE c.id = ?", (class_id,))[0]
    return {"id": int(cid), "name": name, "teacher": teacher, "students": int(n)}


def student_keys(first_name: str, last_name: str) -> tuple[str, str, str, str]:
    """A new student's row: the names, then the folded keys a search compares (``search.fold``)."""
    return first_name, last_name, search.fold(first_name), search.fold(last_name)


def new_student(tx: Transaction, actor: Actor, first_name: str, last_name: str, class_id: int | None) -> dict[str, Any]:
    """Store a new student, enrolled in ``class_id`` (already checked) if given, with the folded names a
    search compares; the student as recorded."""
    sid = int(tx.rows(ADD_STUDENT, student_keys(first_name, last_name))[0][0])
    made = {"id": sid, "first_name": first_name, "last_name": last_name}
    audit.record(tx, actor.username, "create", "student", sid, None, None, made)
    if class_id is not None:
        enrolled = enrolment(int(tx.rows(_ENROL, (class_id, sid))[0][0]), class_id, sid, False)
        audit.record(tx, actor.username, "create", "enrolment", enrolled["id"], class_id, None, enrolled)
    return made


def enroll(tx: Transaction, actor: Actor, class_id: int, student_id: int) -> bool:
    """Enrol the student in the class, or restore their archived enrolment; True.

    A teacher must teach the class and see the student (in another of their classes).
    """
    rules.require_class(tx.rows, actor, class_id)
    rules.require_student(tx.rows, actor, student_id)
    added = tx.rows(
        "INSERT INTO enrolments (class_id, student_id) VALUES (?, ?) "
        "ON CONFLICT (class_id, student_id) DO NOTHING RETURNING id",
        (class_id, student_id),
    )
    if added:
        made = enrolment(int(added[0][0]), class_id, student_id, False)
        audit.record(tx, actor.username, "create", "enrolment", made["id"], class_id, None, made)
        return True
    _set_archived(tx, actor, class_id, student_id, False)
    return True


def unenroll(tx: Transaction, actor: Actor, class_id: int, student_id: int) -> bool:
    """Take the student out of the class; True, also when they were not in it.

    Their grades of the class stay in the store (and show again if they are enrolled again).
    """
    rules.require_class(tx.rows, actor, class_id)
    if actor.sees_all:
        rules.require_student(tx.rows, actor, student_id)
    removed = tx.rows(
        "DELETE FROM enrolments WHERE class_id = ? AND student_id = ? RETURNING id, archived", (class_id, student_id)
    )
    if removed:
        gone = enrolment(int(removed[0][0]), class_id, student_id, bool(removed[0][1]))
        audit.record(tx, actor.username, "delete", "enrolment", gone["id"], class_id, gone, None)
    return True


def archive(tx: Transaction, actor: Actor, class_id: int, student_id: int, archived: bool) -> bool:
    """Move the student off the class's active roster (``archived``) or back onto it; True.

    The enrolment and the grades stay. A student not in the class is 404 (for a teacher of
    the class too: the answer is the same whether the student exists or not).
    """
    rules.require_class(tx.rows, actor, class_id)
    if not _set_archived(tx, actor, class_id, student_id, archived):
        raise NotFound(f"Student {student_id} is not in class {class_id}", {"student_id": student_id})
    return True


def _set_archived(tx: Transaction, actor: Actor, class_id: int, student_id: int, archived: bool) -> bool:
    """Set the enrolment's archived flag (recorded when it changes); False when there is no enrolment."""
    found = tx.rows(_ENROLMENT + tx.locking, (class_id, student_id))
    if not found:
        return False
    entry_id, was = int(found[0][0]), bool(found[0][1])
    if was != archived:
        tx.rows("UPDATE enrolments SET archived = ? WHERE id = ?", (archived, entry_id))
        audit.record(
            tx,
            actor.username,
            "update",
            "enrolment",
            entry_id,
            class_id,
            enrolment(entry_id, class_id, student_id, was),
            enrolment(entry_id, class_id, student_id, archived),
        )
    return True
