"""The classes: ``/classes`` lists the signed-in user's (an administrator's: every class), and for an
administrator holds the form that adds one with its teacher.

What a user may see is grading's answer (``Grades.list_classes`` for the acting user): a teacher
gets the classes they teach.
"""

from __future__ import annotations

from typing import Any

from rpc_cluster import InvalidParams

from ..frame import calls, csrf, flash, forms, session
from ..frame.render import render
from ..frame.traced import traced

# The longest class name the form takes (grading has the last word).
MAX_NAME = 100


@traced
def classes() -> str:
    """``GET /classes``: one ``Grades.list_classes`` call (an administrator's page also lists the teachers)."""
    return _page()


@traced
def add_class() -> str:
    """``POST /classes`` (administrators): add a class with its teacher (or none), then show it."""
    csrf.check()
    session.require_admin()
    values = {"name": forms.field("name").strip(), "teacher": forms.field("teacher")}
    if not values["name"]:
        return _page(400, {"name": "must not be empty"}, values)
    try:
        made = calls.grading("Grades.add_class", name=values["name"], teacher=values["teacher"] or None)
    except InvalidParams as exc:
        return _page(400, calls.field_error(exc), values)
    flash.redirect(f"/classes/{made['id']}", f"Added the class {made['name']}.")


def _page(status: int = 200, problems: dict[str, str] | None = None, values: dict[str, str] | None = None) -> str:
    """The list, and for an administrator the add form with its ``problems`` and ``values``."""
    user = session.current()
    listed: list[dict[str, Any]] = calls.grading("Grades.list_classes")
    teachers = teacher_choices() if user is not None and user.is_admin else []
    return render(
        "classes.tpl",
        status,
        classes=listed,
        teachers=teachers,
        names=dict(teachers),
        errors=problems or {},
        values=values or {},
        max_name=MAX_NAME,
    )


def teacher_choices() -> list[tuple[str, str]]:
    """(username, "Name (username)") of every enabled teacher, for a select (administrators only:
    ``Users.list``)."""
    listed: list[dict[str, Any]] = calls.grading("Users.list")
    return [
        (
            u["username"],
            u["username"] if u["display_name"] == u["username"] else f"{u['display_name']} ({u['username']})",
        )
        for u in listed
        if u["role"] == "teacher" and not u["disabled"]
    ]
