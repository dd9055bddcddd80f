"""Changing one grade: ``/students/<id>/grades/<grade_id>`` (edit) and ``.../delete`` (confirm, delete).

Each grade's Edit link on the student's page shows its form in its row
(``portal.pages.gradebook.student``); its Delete link leads to a confirmation page,
whose form deletes. Both forms answer 303 back to the student's page with a
one-time message. A grade is found through its student (one get_student
before the change): a grade id under another student's URL is a 404, so a
page never says it changed a grade it does not show. Grading's update_grade
and delete_grade take no request_id: saving the same values twice changes
nothing more, and a second delete finds the grade gone and says so.

Both forms carry the values they were opened with (hidden fields, the score
exactly as stored) and send them as ``expected``: when someone changed the
grade in between (another teacher, or this one's own earlier save behind a
Back), grading refuses with 409 and the current grade, and the page shows it
next to what was typed, with a form whose ``expected`` is the current grade.
"""

from __future__ import annotations

from rpc_cluster import Conflict, InvalidParams, NotFound
from rpc_cluster.grading.storage.protocol import Grade, Student

from ...frame import calls, csrf, errors, flash, forms
from ...frame.render import render
from ...frame.traced import traced
from .student import describe, id_or_404, page, read_expected, read_grade_form, shown, student_or_404


@traced
def edit_grade(student_id: str, grade_id: str) -> str:
    """``POST /students/<id>/grades/<grade_id>``: change its title, type and score."""
    csrf.check()
    found, grade = _grade_or_404(student_id, grade_id)
    values, score, problems = read_grade_form()
    expected = read_expected()
    if not problems:
        try:
            stored = calls.grading(
                "Grades.update_grade",
                grade_id=grade["id"],
                title=values["title"],
                type=values["type"],
                score=score,
                **_checked(expected),
            )
        except InvalidParams as exc:
            problems = calls.field_error(exc)
        except NotFound:  # deleted since the page was read
            errors.not_found(f"There is no grade with id {grade['id']} any more.")
        except Conflict as exc:
            current = _changed_grade(exc)
            # The student again: the list shows the grade as it is now, above the form.
            return page(
                student_or_404(student_id),
                409,
                editing=grade["id"],
                edit_values=values,
                expected=shown(current),
                edit_conflict=current,
            )
        else:
            flash.redirect(f"/students/{found['id']}", f"Saved {describe(stored)}.")
    # The form again as posted: still checked against the values it was first opened with.
    opened = forms.values("expected_title", "expected_type", "expected_score") if expected else shown(grade)
    return page(
        found,
        400,
        editing=grade["id"],
        edit_errors=problems,
        edit_values=values,
        expected={key.removeprefix("expected_"): value for key, value in opened.items()},
    )


@traced
def confirm_delete(student_id: str, grade_id: str) -> str:
    """``GET /students/<id>/grades/<grade_id>/delete``: what will be deleted, and the button that does it."""
    found, grade = _grade_or_404(student_id, grade_id)
    return render("delete_grade.tpl", student=found, grade=grade, expected=shown(grade), seen=None)


@traced
def delete_grade(student_id: str, grade_id: str) -> str:
    """``POST /students/<id>/grades/<grade_id>/delete``: delete it, then back to the student.

    Posting again (a double click, a reload) deletes nothing more: the grade is
    gone, and the page says so. A grade changed since the confirmation was shown
    is not deleted: a 409 page shows it as it is now and asks again.
    """
    csrf.check()
    number = id_or_404(grade_id, "grade")
    found = student_or_404(student_id)
    grade = next((g for g in found["grades"] if g["id"] == number), None)
    expected = read_expected()
    if grade is not None:
        try:
            calls.grading("Grades.delete_grade", grade_id=number, **_checked(expected))
        except NotFound:
            grade = None
        except Conflict as exc:
            current = _changed_grade(exc)
            seen = {
                key.removeprefix("expected_"): value
                for key, value in forms.values("expected_title", "expected_type", "expected_score").items()
            }
            return render("delete_grade.tpl", 409, student=found, grade=current, expected=shown(current), seen=seen)
    message = f"Deleted {describe(grade)}." if grade else "That grade was already deleted."
    flash.redirect(f"/students/{found['id']}", message)


def _checked(expected: dict[str, str | float] | None) -> dict[str, dict[str, str | float]]:
    """The ``expected`` argument for grading, when the form sent the values it was opened with."""
    return {} if expected is None else {"expected": expected}


def _changed_grade(exc: Conflict) -> Grade:
    """The grade as stored now, from grading's 409 for a stale ``expected``; re-raises any other conflict."""
    data = exc.data if isinstance(exc.data, dict) else {}
    if not {"id", "title", "type", "score"} <= data.keys():
        raise exc
    return Grade(id=data["id"], title=data["title"], type=data["type"], score=data["score"])


def _grade_or_404(student_id: str, grade_id: str) -> tuple[Student, Grade]:
    """The student and their grade ``grade_id``, or the 404 page."""
    number = id_or_404(grade_id, "grade")
    found = student_or_404(student_id)
    for grade in found["grades"]:
        if grade["id"] == number:
            return found, grade
    errors.not_found(f"{found['first_name']} {found['last_name']} has no grade with id {number}.")
