"""The list of students: search, sort, a page at a time, and the form that adds one: ``/students``."""

from __future__ import annotations

import math
import urllib.parse
from typing import Any

import bottle

from rpc_cluster import Conflict, InvalidParams
from rpc_cluster.grading.storage.protocol import Listing

from ...frame import calls, csrf, flash, forms, text
from ...frame.render import render
from ...frame.traced import traced

PAGE_SIZE = 50
# The orders Grades.list_students knows, as the sort links name them; the first is the default.
SORTS = (("name", "Name"), ("-average", "Average, high to low"), ("average", "Average, low to high"))
# Longer searches match no name (names are at most 100 characters): refused before grading is asked.
MAX_QUERY = 100
# The longest first or last name grading stores; the form says so beside each field.
MAX_NAME = 100
NAME_FIELDS = (("first_name", "First name"), ("last_name", "Last name"))
# Grading takes an offset up to 2**63 - 1. A page whose offset would be larger is past the last page
# of any list grading can hold, so it shows page 1 without asking.
LAST_PAGE = (2**63 - 1) // PAGE_SIZE


@traced
def home() -> None:
    """``GET /``: the student list is the portal's home (signed in: else the sign-in page first)."""
    flash.redirect("/students")


@traced
def students() -> str:
    """``GET /students?q=TEXT&sort=name|average|-average&page=N``."""
    return _students_page()


@traced
def add_student() -> str:
    """``POST /students``: add one, then show the new student's page."""
    csrf.check()
    values = forms.values("first_name", "last_name")
    # Both blank names are flagged at once; grading itself names only the first field it refuses.
    blank = {name: "must not be empty" for name, _ in NAME_FIELDS if not values[name].strip()}
    if blank:
        return _students_page(blank, values, 400)
    chosen = forms.number(forms.field("class_id"))
    into = {} if chosen is None else {"class_id": chosen}
    try:
        student = calls.grading("Grades.add_student", **values, request_id=forms.request_id(), **into)
    except InvalidParams as exc:
        problem = calls.field_error(exc)
        # A teacher of several classes names the one the student joins (the form shows them now).
        classes = calls.grading("Grades.list_classes") if "class_id" in problem or chosen is not None else None
        return _students_page(problem, dict(values, class_id=str(chosen or "")), 400, classes)
    except Conflict as exc:
        used = calls.first_use(exc)
        if used is None:
            raise
        return _students_page({"form": _already_added(used)}, values, 409)
    flash.redirect(f"/students/{student['id']}", f"Added {student['first_name']} {student['last_name']}.")


def _already_added(student: dict[str, Any]) -> str:
    """What a 409 page says when the add form is sent again with other names."""
    who = f" {student['first_name']} {student['last_name']}" if "first_name" in student else " a student"
    return (
        f"This form was already used: it added{who}. Nothing was added now. To add the student below "
        "as well, press Add student again."
    )


def _students_page(
    errors_by_field: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    classes: list[dict[str, Any]] | None = None,
) -> str:
    """The list, with the add form's ``errors_by_field`` and ``values`` (as typed); ``classes``: a class
    select in the add form."""
    errors = dict(errors_by_field or {})
    typed = forms.query_text("q")
    query = "" if typed is None else typed.strip()
    query_problem = "is not valid text (UTF-8)" if typed is None else _query_problem(query)
    sort = bottle.request.query.getunicode("sort", "")
    # An order we do not know (a stale or mistyped link) lists by name, as a bad page number shows page 1.
    sort = sort if sort in dict(SORTS) else SORTS[0][0]
    # A page number that is not one of the pages shows the first.
    page_number = forms.number(bottle.request.query.get("page", "1")) or 1
    if page_number > LAST_PAGE:
        page_number = 1
    listing = Listing(total=0, students=[])
    if query_problem:
        errors["q"], status = query_problem, 400
        query = text.visible(query)  # shown in the box and the links, where a NUL is not valid HTML
    else:
        try:
            listing = _list(query, sort, page_number)
        except InvalidParams as exc:  # a search grading refuses (its own limits)
            problem = calls.field_error(exc)
            errors["q"], status = next(iter(problem.values())), 400
    total = listing["total"]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page_number > pages:
        page_number = 1
    return render(
        "students.tpl",
        status,
        students=listing["students"],
        page=page_number,
        pages=pages,
        total=total,
        query=query,
        sort=sort,
        sorts=SORTS,
        sort_param=None if sort == SORTS[0][0] else sort,
        errors=errors,
        values=values or {},
        link=_link,
        name_fields=NAME_FIELDS,
        max_name=MAX_NAME,
        classes=classes,
    )


def _link(path: str, **params: str | int | None) -> str:
    """``path`` with the query ``params`` that are not None or "" (``_link("/students", q="ada", page=2)``)."""
    # urlencode's own text, for names that need no quoting (q, sort, page), without its per-item checks:
    # three links a page.
    query = "&".join(f"{k}={urllib.parse.quote_plus(str(v))}" for k, v in params.items() if v not in (None, ""))
    return f"{path}?{query}" if query else path


def _query_problem(query: str) -> str | None:
    """Why grading is not asked for this search (a 400 page), or None."""
    if len(query) > MAX_QUERY:
        return f"must be at most {MAX_QUERY} characters"
    if text.has_control_characters(query):  # a NUL was an internal error in SQLite's full-text search
        return "must not contain control characters"
    return None


def _list(query: str, sort: str, page_number: int) -> Listing:
    """One ``Grades.list_students`` call; a second only for a page past the last (a stale link)."""
    listing: Listing = calls.grading(
        "Grades.list_students", offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE, query=query or None, sort=sort
    )
    if not listing["students"] and page_number > 1 and listing["total"]:
        listing = calls.grading("Grades.list_students", offset=0, limit=PAGE_SIZE, query=query or None, sort=sort)
    return listing
