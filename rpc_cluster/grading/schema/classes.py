"""Classes for students that have none: the step of version 2 that keeps every grade in view, and the seed.

Before version 2 a store had students and grades and no classes. Each
student of such a store is enrolled in one class without a teacher, and
each grade is put in it, so an admin sees everything and can hand the
students out to teachers' classes. A new store's sample students get a
class of their own the same way.
"""

from __future__ import annotations

from .migrations import Execute

#: The class that a store made before classes gets, holding all its students and grades.
FIRST_CLASS = "All students"
#: The class of the five sample students a new store is seeded with.
SAMPLE_CLASS = "Sample class"

_UNENROLLED = "SELECT 1 FROM students s WHERE NOT EXISTS (SELECT 1 FROM enrolments e WHERE e.student_id = s.id)"


def gather(execute: Execute, name: str) -> int | None:
    """Put every student in no class into a new class ``name`` (no teacher), with its grades; its id.

    None, and no class, when every student is in one already (or there are none).
    """
    if not execute(_UNENROLLED, ()):
        return None
    class_id = int(execute("INSERT INTO classes (name, teacher_id) VALUES (?, NULL) RETURNING id", (name,))[0][0])
    execute(
        "INSERT INTO enrolments (class_id, student_id) SELECT ?, s.id FROM students s "
        "WHERE NOT EXISTS (SELECT 1 FROM enrolments e WHERE e.student_id = s.id) ORDER BY s.id",
        (class_id,),
    )
    execute(
        "UPDATE grades SET class_id = ? WHERE class_id IS NULL "
        "AND student_id IN (SELECT student_id FROM enrolments WHERE class_id = ?)",
        (class_id, class_id),
    )
    return class_id
