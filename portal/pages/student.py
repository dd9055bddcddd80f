"""One student's page with their grades, and the form that adds a grade: ``/students/<id>``."""

from __future__ import annotations

import math

import bottle

from rpc_cluster import InvalidParams, NotFound

from .. import web

GRADE_TYPES = ("Quiz", "Test", "Exam", "Homework")


@web.traced
def student(student_id: str) -> str:
    """``GET /students/<id>``."""
    return web.render("student.tpl", student=_student_or_404(student_id), types=GRADE_TYPES, errors={}, values={})


@web.traced
def add_grade(student_id: str) -> str:
    """``POST /students/<id>/grades``: add one, then show the student's page again."""
    web.check_csrf()
    found = _student_or_404(student_id)
    values = {name: bottle.request.forms.getunicode(name) or "" for name in ("title", "type", "score")}
    problems = {}
    try:
        score = float(values["score"])
        if not math.isfinite(score):
            raise ValueError
    except ValueError:
        problems["score"] = "must be a number from 0 to 100"
    if not problems:
        try:
            stored = web.call(web.context().grading, web.GRADING, "Grades.add_grade", student_id=found["id"],
                              title=values["title"], type=values["type"], score=score,
                              request_id=web.form_request_id())
        except InvalidParams as exc:
            problems = web.field_error(exc)
        except NotFound:
            bottle.abort(404, f"There is no student with id {found['id']}.")
        else:
            web.redirect_with_flash(f"/students/{found['id']}",
                                    f"Added {stored['title']} ({stored['type']}, {stored['score']:g}).")
    return web.render("student.tpl", 400, student=found, types=GRADE_TYPES, errors=problems, values=values)


def _student_or_404(student_id: str) -> dict:
    number = web.number(student_id)
    if number is None:
        bottle.abort(404, f"There is no student {student_id!r}.")
    try:
        return web.call(web.context().grading, web.GRADING, "Grades.get_student", number)
    except NotFound:
        bottle.abort(404, f"There is no student with id {number}.")
