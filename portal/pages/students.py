"""The list of students, a page at a time, and the form that adds one: ``/students``."""

from __future__ import annotations

import math

import bottle

from rpc_cluster import InvalidParams

from .. import web

PAGE_SIZE = 50


def home() -> None:
    """``GET /``: the student list is the portal's home."""
    web.redirect("/students")


@web.traced
def students() -> str:
    """``GET /students?page=N``."""
    return _students_page()


@web.traced
def add_student() -> str:
    """``POST /students``: add one, then show the new student's page."""
    web.check_csrf()
    values = {name: bottle.request.forms.getunicode(name) or "" for name in ("first_name", "last_name")}
    try:
        student = web.call(web.context().grading, web.GRADING, "Grades.add_student", **values,
                           request_id=web.form_request_id())
    except InvalidParams as exc:
        return _students_page(web.field_error(exc), values, 400)
    web.redirect_with_flash(f"/students/{student['id']}", f"Added {student['first_name']} {student['last_name']}.")


def _students_page(errors_by_field: dict | None = None, values: dict | None = None, status: int = 200) -> str:
    grading = web.context().grading
    total = web.call(grading, web.GRADING, "Grades.count_students")
    pages = max(1, math.ceil(total / PAGE_SIZE))
    # A page number that is not one of the pages shows the first, as a stale or mistyped link should.
    requested = web.number(bottle.request.query.get("page", "1"))
    page_number = requested if requested is not None and requested <= pages else 1
    rows = web.call(grading, web.GRADING, "Grades.get_students", offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return web.render("students.tpl", status, students=rows, page=page_number, pages=pages, total=total,
                      errors=errors_by_field or {}, values=values or {})
