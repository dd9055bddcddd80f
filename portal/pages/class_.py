"""A class's roster: ``/classes/<id>/roster``, its students and what changed in the class lately.

(The class's own page, ``/classes/<id>``, is its grid of scores: ``portal.pages.classbook.grid``.)

The roster lists the active students (each links to their page, with their number of scores) and
the archived ones; in each row a teacher renames a student, archives or restores them, or
removes them from the class (``portal.pages.roster`` handles those forms). Below: the form that
adds a new student to the class (when a student of that name is already in it, the page asks
first), for an administrator the form that enrols an existing student by id, and the class's
newest changes (``Grades.changes``).

Grading decides who may see the class: a teacher who does not teach it gets the 403 page,
whether it exists or not.
"""

from __future__ import annotations

from typing import Any

import bottle

from rpc_cluster import Conflict, Forbidden, InvalidParams, NotFound

from .. import audit_entries
from ..frame import calls, csrf, errors, flash, forms, session
from ..frame.render import render
from ..frame.traced import traced
from .classes import teacher_choices
from .gradebook.student import id_or_404

# Grading's largest page of Grades.list_students: a class is far smaller.
ROSTER = 500
# The class's changes shown on its page.
CHANGES = 20
MAX_NAME = 100
NAME_FIELDS = (("first_name", "First name"), ("last_name", "Last name"))
NOT_A_NUMBER = "must be a whole number, such as 12"


@traced
def class_page(class_id: str) -> str:
    """``GET /classes/<id>/roster?rename=<student_id>``: ``rename`` opens that student's name form in their row."""
    number = id_or_404(class_id, "class")
    renaming = forms.number(bottle.request.query.get("rename", ""))
    return page(number, renaming=renaming)


@traced
def add_student(class_id: str) -> str:
    """``POST /classes/<id>/students``: a new student, enrolled in the class in the same transaction.

    When a student of the same name is already in the class, the page asks first: the form comes
    back with a confirmation (``confirm=yes``), so a second one is added only on purpose.
    """
    csrf.check()
    number = id_or_404(class_id, "class")
    values = forms.values("first_name", "last_name")
    blank = {name: "must not be empty" for name, _ in NAME_FIELDS if not values[name].strip()}
    if blank:
        return page(number, 400, add_errors=blank, add_values=values)
    if forms.field("confirm") != "yes":
        active, archived = roster(number)
        same = [s for s in active + archived if _same_name(s, values)]
        if same:
            return page(number, add_values=values, same_name=same)
    try:
        student = calls.grading("Grades.add_student", **values, request_id=forms.request_id(), class_id=number)
    except InvalidParams as exc:
        return page(number, 400, add_errors=calls.field_error(exc), add_values=values)
    except Conflict as exc:
        used = calls.first_use(exc)
        if used is None:
            raise
        who = f"{used['first_name']} {used['last_name']}" if "first_name" in used else "a student"
        problem = f"This form was already used: it added {who}. Nothing was added now."
        return page(number, 409, add_errors={"form": problem}, add_values=values)
    flash.redirect(
        f"/classes/{number}/roster#student-{student['id']}", f"Added {student['first_name']} {student['last_name']}."
    )


@traced
def enroll(class_id: str) -> str:
    """``POST /classes/<id>/enrolments`` (administrators): enrol an existing student by id."""
    csrf.check()
    session.require_admin()
    number = id_or_404(class_id, "class")
    typed = forms.field("student_id").strip()
    student_id = forms.number(typed)
    if student_id is None:
        return page(number, 400, enrol_error=NOT_A_NUMBER, enrol_value=typed)
    active, archived = roster(number)
    for already, where in ((active, "already in the class"), (archived, "already in the class, archived")):
        found = next((s for s in already if s["id"] == student_id), None)
        if found is not None:  # enrolling again changes nothing: say so rather than "Enrolled"
            flash.redirect(
                f"/classes/{number}/roster#student-{student_id}",
                f"{found['first_name']} {found['last_name']} is {where}.",
            )
    try:
        student = calls.grading("Grades.get_student", student_id)
        calls.grading("Grades.enroll", class_id=number, student_id=student_id)
    except NotFound:
        return page(number, 400, enrol_error=f"names no student: there is none with id {student_id}", enrol_value=typed)
    except InvalidParams as exc:
        return page(number, 400, enrol_error=next(iter(calls.field_error(exc).values())), enrol_value=typed)
    flash.redirect(
        f"/classes/{number}/roster#student-{student_id}", f"Enrolled {student['first_name']} {student['last_name']}."
    )


def page(
    number: int,
    status: int = 200,
    *,
    renaming: int | None = None,
    rename_errors: dict[str, str] | None = None,
    rename_values: dict[str, str] | None = None,
    add_errors: dict[str, str] | None = None,
    add_values: dict[str, str] | None = None,
    same_name: list[dict[str, Any]] | None = None,
    enrol_error: str | None = None,
    enrol_value: str = "",
) -> str:
    """The class's roster page, with the state of whichever of its forms was just posted."""
    active, archived = roster(number)
    found = class_or_404(number)
    changes: list[dict[str, Any]] = calls.grading("Grades.changes", class_id=number, limit=CHANGES)
    renamed = next((s for s in active + archived if s["id"] == renaming), None)
    names = _student_names(active + archived, changes)
    return render(
        "class.tpl",
        status,
        klass=found,
        teacher=teacher_name(found["teacher"]),
        active=active,
        archived=archived,
        renaming=renamed["id"] if renamed else None,
        rename_errors=rename_errors or {},
        rename_values=rename_values or ({k: renamed[k] for k, _ in NAME_FIELDS} if renamed else {}),
        add_errors=add_errors or {},
        add_values=add_values or {},
        same_name=same_name or [],
        enrol_error=enrol_error,
        enrol_value=enrol_value,
        changes=[audit_entries.in_class(entry, names) for entry in changes],
        all_changes=len(changes) < CHANGES,
        name_fields=NAME_FIELDS,
        max_name=MAX_NAME,
    )


def roster(number: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The class's active and archived students, each ``{"id", "first_name", "last_name", "average",
    "grade_count"}`` (the average over the class's grades); the 404 page, or 403, for a class the user
    may not see."""
    try:
        active = calls.grading("Grades.list_students", class_id=number, limit=ROSTER, sort="name")
        archived = calls.grading("Grades.list_students", class_id=number, limit=ROSTER, sort="name", archived=True)
    except NotFound:
        errors.not_found(f"There is no class with id {number}.")
    students: list[dict[str, Any]] = active["students"]
    gone: list[dict[str, Any]] = archived["students"]
    return students, gone


def class_or_404(number: int) -> dict[str, Any]:
    """The class ``{"id", "name", "teacher", "students"}`` (``Grades.get_class``), or the 404 page (the 403
    page, through ``@traced``, for a class the user does not teach)."""
    try:
        klass: dict[str, Any] = calls.grading("Grades.get_class", class_id=number)
    except NotFound:
        errors.not_found(f"There is no class with id {number}.")
    return klass


def _student_names(roster: list[dict[str, Any]], changes: list[dict[str, Any]]) -> dict[int, str]:
    """Id -> "First Last" of the students the class's changes name: the roster's, and those since removed
    from the class that the user may still read (one call each; the others stay unnamed)."""
    names = {s["id"]: f"{s['first_name']} {s['last_name']}" for s in roster}
    tried = set(names)
    for entry in changes:
        values = entry.get("after") or entry.get("before") or {}
        student_id = values.get("student_id") if isinstance(values, dict) else None
        if isinstance(student_id, int) and student_id not in tried:
            tried.add(student_id)
            try:
                found = calls.grading("Grades.get_student", student_id)
            except (Forbidden, NotFound):  # grading decides: left unnamed, "student 7, no longer in the class"
                continue
            names[student_id] = f"{found['first_name']} {found['last_name']}"
    return names


def _same_name(student: dict[str, Any], values: dict[str, str]) -> bool:
    """True if ``student`` has the typed names, ignoring case and runs of spaces."""

    def folded(text: str) -> str:
        return " ".join(text.split()).casefold()

    return all(folded(student[field]) == folded(values[field]) for field, _ in NAME_FIELDS)


def teacher_name(username: str | None) -> str | None:
    """How the class's teacher is named on its page: "Ada Lovelace (ada)" as on the list of classes; the
    username alone when the user may not list users and is not that teacher."""
    user = session.current()
    if username is None or user is None:
        return username
    if username == user.username:
        return user.display_name if user.display_name == username else f"{user.display_name} ({username})"
    if user.is_admin:
        return dict(teacher_choices()).get(username, username)
    return username
