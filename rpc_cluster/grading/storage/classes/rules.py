"""Who may see and change what: the rules of classes, in one place, as SQL over a store's reads.

The service's own authority and admins see and change everything. A teacher:

- *teaches* a class when the class's ``teacher_id`` is theirs;
- *sees* a student who has an enrolment (archived or not) in a class they teach;
- *sees* a grade whose class they teach, while its student is enrolled in that class
  (archived or not): a student taken out of a class takes their grades of it out
  of the teacher's view, and enrolling them again shows the grades again.

An id a teacher may not touch is refused alike whether it exists or not
(``refused``: 403 for a teacher, 404 for the others), so ids tell a teacher
nothing. Each check takes ``read`` (one statement's rows, ``?`` placeholders):
a store's read, or a write transaction's ``rows``, so a write checks what it
changes in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ....core.errors import Forbidden, InvalidParams, NotFound, RpcError
from ...access import Actor
from ..protocol import SqlRow

if TYPE_CHECKING:
    from ...csv_import import Row

#: One statement's rows ("?" placeholders).
Read = Callable[[str, tuple[Any, ...]], list[SqlRow]]

# What an id names, for messages: the field of a refusal's data -> the noun.
_NOUNS = MappingProxyType(
    {
        "class_id": "class",
        "student_id": "student",
        "grade_id": "grade",
        "enrolment_id": "enrolment",
        "user_id": "user",
        "assignment_id": "assignment",
    }
)
# Enrolments "e" whose class "c" the teacher (the one argument) teaches.
_TAUGHT = " JOIN classes c ON c.id = e.class_id AND c.teacher_id = ?"
# Ids per IN (...) list: well under every database's parameter limit.
CHUNK = 500


def refused(actor: Actor, field: str, value: Any) -> RpcError:
    """The error for an id ``actor`` may not touch, or that names nothing: Forbidden for a teacher
    (the same whether it exists or not), NotFound for the service and admins; data ``{field: value}``."""
    noun = _NOUNS.get(field, field)
    if actor.sees_all:
        return NotFound(f"No {noun} with id {value}", {field: value})
    return Forbidden(f"You may not see or change {noun} {value}", {field: value})


@dataclass(frozen=True)
class View:
    """The enrolments ``e`` a read goes through (a teacher's classes, or one class's roster), as the
    SQL that picks them: ``FROM enrolments e{join} WHERE {where}`` with ``args``."""

    #: Joined to ``enrolments e``: "" or a join of ``classes c``.
    join: str
    #: The condition on ``e`` (and ``c``).
    where: str
    #: The join's args, then the condition's: every query writes the join before its WHERE.
    args: tuple[Any, ...]


def teacher_view(actor: Actor) -> View:
    """Every enrolment, archived or not, in the classes ``actor`` (a teacher) teaches."""
    return View(_TAUGHT, "TRUE", (actor.user_id,))


def roster_view(class_id: int, *, archived: bool = False) -> View:
    """One class's active roster (``archived``: the students archived in it)."""
    return View("", f"e.class_id = ? AND {'' if archived else 'NOT '}e.archived", (class_id,))


def view(read: Read, actor: Actor, class_id: int | None, *, archived: bool = False) -> View | None:
    """The view of a read over many students: ``class_id``'s roster (checked: ``require_class``; ``archived``:
    its archived students), the teacher's classes, or None for everything (the service and admins, no class
    named)."""
    if class_id is not None:
        require_class(read, actor, class_id)
        return roster_view(class_id, archived=archived)
    return None if actor.sees_all else teacher_view(actor)


def may_use_class(read: Read, actor: Actor, class_id: int) -> bool:
    """Whether the class exists and, for a teacher, they teach it."""
    if actor.sees_all:
        return bool(read("SELECT 1 FROM classes WHERE id = ?", (class_id,)))
    return bool(read("SELECT 1 FROM classes WHERE id = ? AND teacher_id = ?", (class_id, actor.user_id)))


def require_class(read: Read, actor: Actor, class_id: int) -> None:
    """Raise ``refused`` unless ``actor`` may use class ``class_id``."""
    if not may_use_class(read, actor, class_id):
        raise refused(actor, "class_id", class_id)


def sees_student(read: Read, actor: Actor, student_id: int) -> bool:
    """Whether the student exists and, for a teacher, is enrolled in a class they teach."""
    if actor.sees_all:
        return bool(read("SELECT 1 FROM students WHERE id = ?", (student_id,)))
    return bool(
        read(f"SELECT 1 FROM enrolments e{_TAUGHT} WHERE e.student_id = ? LIMIT 1", (actor.user_id, student_id))
    )


def require_student(read: Read, actor: Actor, student_id: int) -> None:
    """Raise ``refused`` unless ``actor`` sees student ``student_id``."""
    if not sees_student(read, actor, student_id):
        raise refused(actor, "student_id", student_id)


def sees_grade(read: Read, actor: Actor, student_id: int, class_id: int | None) -> bool:
    """Whether ``actor`` sees a grade of ``student_id`` in ``class_id`` (which exists)."""
    if actor.sees_all:
        return True
    return class_id is not None and bool(
        read(
            f"SELECT 1 FROM enrolments e{_TAUGHT} WHERE e.class_id = ? AND e.student_id = ?",
            (actor.user_id, class_id, student_id),
        )
    )


def taught(read: Read, actor: Actor) -> list[int]:
    """The ids of the classes ``actor`` (a teacher) teaches, in order."""
    return [int(cid) for (cid,) in read("SELECT id FROM classes WHERE teacher_id = ? ORDER BY id", (actor.user_id,))]


def new_student_class(read: Read, actor: Actor, class_id: int | None) -> int | None:
    """The class a new student is enrolled in: ``class_id`` (checked); for a teacher naming none, the one
    class they teach. None: no class (the service and admins only)."""
    if class_id is not None:
        require_class(read, actor, class_id)
        return class_id
    if actor.sees_all:
        return None
    classes = taught(read, actor)
    if len(classes) == 1:
        return classes[0]
    if classes:
        raise InvalidParams.field("class_id", "must name one of your classes: you teach several")
    raise Forbidden("A teacher adds students to a class they teach, and you teach none", {"class_id": None})


def by_chunks(read: Read, sql: str, args: tuple[Any, ...], ids: list[int]) -> list[SqlRow]:
    """The rows of ``sql`` (``args``, then the ids of its "IN ({ids})") over ``ids``, CHUNK ids a statement."""
    rows: list[SqlRow] = []
    for start in range(0, len(ids), CHUNK):
        chunk = tuple(ids[start : start + CHUNK])
        rows += read(sql.format(ids=", ".join("?" * len(chunk))), (*args, *chunk))
    return rows


def usable_classes(read: Read, actor: Actor, student_ids: list[int]) -> dict[int, list[int]]:
    """student id -> the classes (in order) the student is actively enrolled in that ``actor`` may use."""
    join, args = ("", ()) if actor.sees_all else (_TAUGHT, (actor.user_id,))
    sql = f"SELECT e.student_id, e.class_id FROM enrolments e{join} WHERE NOT e.archived AND e.student_id IN ({{ids}})"
    found: dict[int, list[int]] = {}
    for sid, cid in sorted(by_chunks(read, sql, args, student_ids)):
        found.setdefault(int(sid), []).append(int(cid))
    return found


def enrolled(read: Read, class_id: int, student_ids: list[int]) -> set[int]:
    """Which of ``student_ids`` have an enrolment (archived or not) in ``class_id``."""
    sql = "SELECT student_id FROM enrolments WHERE class_id = ? AND student_id IN ({ids})"
    return {int(sid) for (sid,) in by_chunks(read, sql, (class_id,), student_ids)}


def existing_students(read: Read, student_ids: list[int]) -> set[int]:
    """Which of ``student_ids`` name a student."""
    return {int(sid) for (sid,) in by_chunks(read, "SELECT id FROM students WHERE id IN ({ids})", (), student_ids)}


def place(read: Read, actor: Actor, student_id: int, class_id: int | None) -> int | None:
    """The class a new grade of ``student_id`` goes to; raises when the actor may not grade it there.

    With ``class_id``: that class, which the actor may use and the student is enrolled in
    (archived or not: a late grade of a student who left). Without: the student's one
    class among those the actor may use (active enrolments); in none, no class for the
    service and admins and a refusal for a teacher; in several, the caller must name one.
    """
    if class_id is not None:
        require_class(read, actor, class_id)
        if student_id not in enrolled(read, class_id, [student_id]):
            if actor.sees_all:
                require_student(read, actor, student_id)
            raise InvalidParams.field("student_id", f"is not in class {class_id}")
        return class_id
    classes = usable_classes(read, actor, [student_id]).get(student_id, [])
    if len(classes) > 1:
        raise InvalidParams.field("class_id", "must name one: the student is in several classes")
    if classes:
        return classes[0]
    if actor.sees_all:
        require_student(read, actor, student_id)
        return None
    raise refused(actor, "student_id", student_id)


def place_rows(read: Read, actor: Actor, rows: list[Row], class_id: int | None) -> list[int | None]:
    """The class of each imported row's grade, by ``place``'s rule; the first row that cannot be
    placed raises InvalidParams naming its line (and ``student_id``, or ``class_id``).

    A class the actor may not use at all is refused as in ``place``: no line is at fault.
    """
    ids = sorted({row.student_id for row in rows})
    if class_id is not None:
        require_class(read, actor, class_id)
        inside = enrolled(read, class_id, ids)
        known = existing_students(read, ids) if actor.sees_all else inside
        for row in rows:
            if row.student_id not in inside:
                problem = "names no student" if row.student_id not in known else f"names no student of class {class_id}"
                raise InvalidParams.field("student_id", f"{problem} ({row.student_id})", line=row.line)
        return [class_id] * len(rows)
    usable = usable_classes(read, actor, ids)
    known = existing_students(read, ids) if actor.sees_all else set()
    placed: list[int | None] = []
    for row in rows:
        classes = usable.get(row.student_id, [])
        if len(classes) > 1:
            raise InvalidParams.field("class_id", "must name one: the student is in several classes", line=row.line)
        if not classes and not actor.sees_all:
            raise InvalidParams.field(
                "student_id", f"names no student of your classes ({row.student_id})", line=row.line
            )
        if not classes and row.student_id not in known:
            raise InvalidParams.field("student_id", f"names no student ({row.student_id})", line=row.line)
        placed.append(classes[0] if classes else None)
    return placed


#: The field a refusal of each audited entity's id names.
ENTITY_FIELDS = MappingProxyType({noun: field for field, noun in _NOUNS.items()})
# Each audited entity's table.
_TABLES = MappingProxyType(
    {
        "grade": "grades",
        "student": "students",
        "enrolment": "enrolments",
        "class": "classes",
        "user": "users",
        "assignment": "assignments",
    }
)


def require_record(read: Read, actor: Actor, entity: str, entity_id: int) -> None:
    """Raise ``refused`` unless the record exists now (a history without entries names nothing, or
    a record older than the audit)."""
    if not read(f"SELECT 1 FROM {_TABLES[entity]} WHERE id = ?", (entity_id,)):
        raise refused(actor, ENTITY_FIELDS[entity], entity_id)


def require_history(read: Read, actor: Actor, entity: str, entity_id: int) -> None:
    """Raise ``refused`` unless ``actor`` may read the audit entries of that record.

    The service and admins read every record's. A teacher reads a class's they teach,
    a student's they see, an assignment's of a class they teach, and a grade's or an enrolment's
    whose class they teach now,
    or which their entries place in a class the teacher teaches (a deleted grade of
    their class). No user's.
    """
    if actor.sees_all:
        return
    if entity == "class":
        allowed = may_use_class(read, actor, entity_id)
    elif entity == "student":
        allowed = sees_student(read, actor, entity_id)
    elif entity in ("grade", "enrolment", "assignment"):
        if entity == "assignment":
            current = read("SELECT class_id FROM assignments WHERE id = ?", (entity_id,))
            allowed = bool(current) and may_use_class(read, actor, int(current[0][0]))
        else:
            current = read(f"SELECT student_id, class_id FROM {_TABLES[entity]} WHERE id = ?", (entity_id,))
            allowed = bool(current) and sees_grade(read, actor, int(current[0][0]), current[0][1])
        if not allowed:
            named = read(
                "SELECT 1 FROM audit a JOIN classes c ON c.id = a.class_id AND c.teacher_id = ? "
                "WHERE a.entity = ? AND a.entity_id = ? LIMIT 1",
                (actor.user_id, entity, entity_id),
            )
            allowed = bool(named)
    else:
        allowed = False
    if not allowed:
        raise refused(actor, ENTITY_FIELDS.get(entity, "id"), entity_id)
