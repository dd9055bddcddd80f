"""Changing one student of a class's roster: ``/classes/<id>/students/<student_id>/name`` (rename),
``.../archive`` (archive or restore) and ``.../unenroll`` (confirm, then remove from the class).

Each form answers 303 back to the class's roster (``/classes/<id>/roster``) with a one-time
message. The student is found in the class's roster first: a student id under another class's URL
is a 404, so a page never says it changed someone it does not show. Archiving keeps the student on
the page (as archived), so it needs no confirmation; removing takes them off it, so it asks first.
"""

from __future__ import annotations

from typing import Any

from rpc_cluster import InvalidParams, NotFound

from ..frame import calls, csrf, errors, flash, forms
from ..frame.render import render
from ..frame.traced import traced
from .class_ import NAME_FIELDS, class_or_404, page, roster
from .gradebook.student import id_or_404


@traced
def rename(class_id: str, student_id: str) -> str:
    """``POST /classes/<id>/students/<student_id>/name``: change the first and last name."""
    csrf.check()
    number, student, _ = _enrolled_or_404(class_id, student_id)
    values = forms.values("first_name", "last_name")
    blank = {name: "must not be empty" for name, _ in NAME_FIELDS if not values[name].strip()}
    if blank:
        return page(number, 400, renaming=student["id"], rename_errors=blank, rename_values=values)
    try:
        changed = calls.grading("Grades.update_student", student_id=student["id"], **values)
    except InvalidParams as exc:
        return page(number, 400, renaming=student["id"], rename_errors=calls.field_error(exc), rename_values=values)
    except NotFound:
        errors.not_found(f"There is no student with id {student['id']} any more.")
    flash.redirect(
        f"/classes/{number}/roster#student-{student['id']}",
        f"Renamed {_name(student)} to {_name(changed)}.",
    )


@traced
def archive(class_id: str, student_id: str) -> str:
    """``POST /classes/<id>/students/<student_id>/archive`` (``archived`` 1 or 0): archive or restore."""
    csrf.check()
    number, student, _ = _enrolled_or_404(class_id, student_id)
    archived = forms.field("archived") != "0"
    calls.grading("Grades.archive", class_id=number, student_id=student["id"], archived=archived)
    message = (
        f"Archived {_name(student)}: they left the active roster; their grades stay."
        if archived
        else f"Restored {_name(student)} to the active roster."
    )
    flash.redirect(f"/classes/{number}/roster#student-{student['id']}", message)


@traced
def confirm_unenroll(class_id: str, student_id: str) -> str:
    """``GET /classes/<id>/students/<student_id>/unenroll``: what removing them means, and the button."""
    number, student, was_archived = _enrolled_or_404(class_id, student_id)
    return render("unenroll.tpl", klass=class_or_404(number), student=student, archived=was_archived)


@traced
def unenroll(class_id: str, student_id: str) -> str:
    """``POST /classes/<id>/students/<student_id>/unenroll``: remove them from the class; their grades stay."""
    csrf.check()
    number = id_or_404(class_id, "class")
    student = id_or_404(student_id, "student")
    active, archived = roster(number)
    found = next((s for s in active + archived if s["id"] == student), None)
    if found is None:  # removed already (a second click): nothing to do, and the page says so
        flash.redirect(f"/classes/{number}/roster", "That student was already removed from the class.")
    calls.grading("Grades.unenroll", class_id=number, student_id=student)
    flash.redirect(f"/classes/{number}/roster", f"Removed {_name(found)} from the class. Their grades are kept.")


def _enrolled_or_404(class_id: str, student_id: str) -> tuple[int, dict[str, Any], bool]:
    """The class's id, the student of its roster named in the URL, and whether they are archived; or 404."""
    number = id_or_404(class_id, "class")
    wanted = id_or_404(student_id, "student")
    active, archived = roster(number)
    for found in active:
        if found["id"] == wanted:
            return number, found, False
    for found in archived:
        if found["id"] == wanted:
            return number, found, True
    errors.not_found(f"The class has no student with id {wanted}.")


def _name(student: dict[str, Any]) -> str:
    return f"{student['first_name']} {student['last_name']}"
