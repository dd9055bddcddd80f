"""The list of students: search, sort, a page at a time, and the form that adds one: ``/students``."""

from __future__ import annotations

import math

import bottle

from rpc_cluster import InvalidParams

from .. import web

PAGE_SIZE = 50
# The orders Grades.list_students knows, as the sort links name them; the first is the default.
SORTS = (("name", "Name"), ("-average", "Average, high to low"), ("average", "Average, low to high"))
# Longer searches match no name (names are at most 100 characters): refused before grading is asked.
MAX_QUERY = 100


def home() -> None:
    """``GET /``: the student list is the portal's home."""
    web.redirect("/students")


@web.traced
def students() -> str:
    """``GET /students?q=TEXT&sort=name|average|-average&page=N``."""
    return _students_page()


@web.traced
def add_student() -> str:
    """``POST /students``: add one, then show the new student's page."""
    web.check_csrf()
    values = web.form_values("first_name", "last_name")
    try:
        student = web.grading("Grades.add_student", **values, request_id=web.form_request_id())
    except InvalidParams as exc:
        return _students_page(web.field_error(exc), values, 400)
    web.redirect_with_flash(f"/students/{student['id']}", f"Added {student['first_name']} {student['last_name']}.")


def _students_page(errors_by_field: dict | None = None, values: dict | None = None, status: int = 200) -> str:
    errors = dict(errors_by_field or {})
    query = bottle.request.query.getunicode("q", "").strip()
    sort = bottle.request.query.getunicode("sort", "")
    # An order we do not know (a stale or mistyped link) lists by name, as a bad page number shows page 1.
    sort = sort if sort in dict(SORTS) else SORTS[0][0]
    # A page number that is not one of the pages shows the first.
    page_number = web.number(bottle.request.query.get("page", "1")) or 1
    listing = {"total": 0, "students": []}
    if len(query) > MAX_QUERY:
        errors["q"], status = f"must be at most {MAX_QUERY} characters", 400
    else:
        try:
            listing = _list(query, sort, page_number)
        except InvalidParams as exc:  # a search grading refuses (its own limits)
            problem = web.field_error(exc)
            errors["q"], status = next(iter(problem.values())), 400
    total = listing["total"]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page_number > pages:
        page_number = 1
    return web.render("students.tpl", status, students=listing["students"], page=page_number, pages=pages,
                      total=total, query=query, sort=sort, sorts=SORTS,
                      sort_param=None if sort == SORTS[0][0] else sort, errors=errors, values=values or {},
                      link=web.link)


def _list(query: str, sort: str, page_number: int) -> dict:
    """One ``Grades.list_students`` call; a second only for a page past the last (a stale link)."""
    listing = web.grading("Grades.list_students", offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE,
                          query=query or None, sort=sort)
    if not listing["students"] and page_number > 1 and listing["total"]:
        listing = web.grading("Grades.list_students", offset=0, limit=PAGE_SIZE, query=query or None, sort=sort)
    return listing
