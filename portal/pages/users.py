"""The portal's users, for administrators: ``/users`` (list, add), ``/users/<name>/password`` (set a
password) and ``/users/<name>/disabled`` (disable or enable).

Grading keeps the users (``Users.*``) and refuses these calls to anyone but an administrator; the
portal checks the role first only to show a teacher a 403 page instead of a form they cannot use.
A password is typed twice, posted once, and never shown, logged or put back into a form.
Setting a password or disabling a user ends every session they have, on every portal.
"""

from __future__ import annotations

import re
from typing import Any

from rpc_cluster import Conflict, InvalidParams, NotFound
from rpc_cluster.grading.accounts import rules

from ..frame import calls, csrf, errors, flash, forms, session
from ..frame.render import render
from ..frame.traced import traced

ROLES = (("teacher", "Teacher"), ("admin", "Administrator"))
# A username as grading takes it: a URL naming anything else names nobody.
_USERNAME = re.compile(r"[a-z0-9._-]{1,64}")
PASSWORD_HINT = "12 to 128 characters"
MISMATCH = "The two passwords are not the same. Type the new password twice."


@traced
def users() -> str:
    """``GET /users``: every user, and the form that adds one."""
    session.require_admin()
    return _page()


@traced
def add_user() -> str:
    """``POST /users``: add a user with a password typed twice, then the list again."""
    csrf.check()
    session.require_admin()
    values = forms.values("username", "display_name", "role")
    values["username"] = values["username"].strip()
    values["display_name"] = values["display_name"].strip()
    password, again = forms.field("password"), forms.field("password_again")
    problems = {}
    if not values["username"]:
        problems["username"] = "must not be empty"
    if values["role"] not in dict(ROLES):
        problems["role"] = "must be Teacher or Administrator"
    if not password:
        problems["password"] = "must not be empty"
    elif password != again:
        problems["password_again"] = MISMATCH
    # Grading's own rules, checked here too so every problem is said at once: the passwords are never
    # put back into the form, and each round trip would have them typed twice again.
    for field, rule, value in (
        ("username", rules.username, values["username"]),
        ("display_name", rules.display_name, values["display_name"]),
        ("password", rules.password, password),
    ):
        if value and field not in problems:
            try:
                rule(value)
            except InvalidParams as exc:
                problems.update(calls.field_error(exc))
    if problems:
        return _page(400, problems, values)
    try:
        made = calls.grading(
            "Users.add",
            username=values["username"],
            role=values["role"],
            password=password,
            display_name=values["display_name"] or None,
        )
    except InvalidParams as exc:
        return _page(400, calls.field_error(exc), values)
    except Conflict:
        return _page(409, {"username": "is taken: choose another username"}, values)
    flash.redirect("/users", f"Added {_who(made)} as {dict(ROLES)[made['role']].lower()}.")


@traced
def password_form(username: str) -> str:
    """``GET /users/<name>/password``: the form that sets their password."""
    session.require_admin()
    return _password_page(_user_or_404(username))


@traced
def set_password(username: str) -> str:
    """``POST /users/<name>/password``: set it (their sessions end), then the list again."""
    csrf.check()
    me = session.require_admin()
    user = _user_or_404(username)
    password, again = forms.field("password"), forms.field("password_again")
    if not password:
        return _password_page(user, 400, {"password": "must not be empty"})
    if password != again:
        return _password_page(user, 400, {"password_again": MISMATCH})
    try:
        calls.grading("Users.set_password", username=user["username"], password=password)
    except InvalidParams as exc:
        return _password_page(user, 400, calls.field_error(exc))
    except NotFound:
        errors.not_found(f"There is no user {user['username']}.")
    if user["username"] == me.username:
        # Grading ended every session of this user, this one too.
        session.forget()
        flash.redirect("/login?next=/users", "Your password was changed. Sign in with the new one.")
    flash.redirect("/users", f"Set a new password for {_who(user)}. Their sessions were ended.")


@traced
def disable(username: str) -> str:
    """``POST /users/<name>/disabled`` (``disabled`` 1 or 0): disable or enable them, then the list again."""
    csrf.check()
    me = session.require_admin()
    user = _user_or_404(username)
    disabled = forms.field("disabled") == "1"
    if disabled and user["username"] == me.username:
        return _page(400, {"form": "You cannot disable your own account: ask another administrator."})
    try:
        changed = calls.grading("Users.disable", username=user["username"], disabled=disabled)
    except NotFound:
        errors.not_found(f"There is no user {user['username']}.")
    except Conflict as exc:
        return _page(409, {"form": f"{_who(user)} was not disabled: {exc.message}."})
    if changed["disabled"]:
        flash.redirect("/users", f"Disabled {_who(changed)}: they cannot sign in, and their sessions were ended.")
    flash.redirect("/users", f"Enabled {_who(changed)}: they can sign in again.")


def _page(status: int = 200, problems: dict[str, str] | None = None, values: dict[str, str] | None = None) -> str:
    """The list of users and the add form, with the form's ``problems`` and ``values`` (never a password)."""
    listed: list[dict[str, Any]] = calls.grading("Users.list")
    return render(
        "users.tpl",
        status,
        users=listed,
        roles=ROLES,
        errors=problems or {},
        values=values or {"role": "teacher"},
        hint=PASSWORD_HINT,
    )


def _password_page(user: dict[str, Any], status: int = 200, problems: dict[str, str] | None = None) -> str:
    return render("password.tpl", status, who=user, errors=problems or {}, hint=PASSWORD_HINT)


def _user_or_404(username: str) -> dict[str, Any]:
    """The user named in the URL (from ``Users.list``), or the 404 page."""
    if _USERNAME.fullmatch(username):
        for user in calls.grading("Users.list"):
            if user["username"] == username:
                found: dict[str, Any] = user
                return found
    errors.not_found(f"There is no user {username!r}.")


def _who(user: dict[str, Any]) -> str:
    """``Ada Lovelace (ada)``, or the username alone when that is the name too."""
    name, username = user.get("display_name") or user["username"], user["username"]
    return username if name == username else f"{name} ({username})"
