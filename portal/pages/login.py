"""Signing in and out: ``/login`` and ``/logout``.

Grading checks the password and keeps the session (``Sessions.sign_in``): one answer for an
unknown user and a wrong password alike, and after too many failures for one username (or from
one address) it refuses for a while even the right password. The portal only carries the
answer: a new session id in the cookie (a new one at every sign-in, so an id planted in a
browser before sign-in is worth nothing), then back to the page the teacher asked for
(``next``), if it is a page of this portal.

Neither the password nor the session id is ever written to a log, shown, or put in a URL: the
form posts, and the request's log line holds its path alone.
"""

from __future__ import annotations

import math

import bottle

from rpc_cluster import Forbidden, InvalidParams, TooManyRequests

from ..context import context
from ..frame import csrf, flash, forms, session
from ..frame.render import render
from ..frame.traced import traced

WRONG = "Wrong username or password."
# The longest username grading takes; a longer one is refused without asking it (nobody has one).
MAX_USERNAME = 64
MAX_PASSWORD = 1024


@traced(public=True)
def login_form() -> str:
    """``GET /login?next=PATH``: the sign-in form."""
    return _form(next_path=session.safe_next(forms.query_text("next")))


@traced(public=True)
def login() -> str:
    """``POST /login``: sign in, end the session the browser had, then 303 to ``next``."""
    csrf.check()
    username = forms.field("username").strip().lower()
    password = forms.field("password")
    next_path = session.safe_next(forms.field("next"))
    if not username or not password:
        return _form(400, next_path, username, "Enter your username and your password.")
    if len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        return _form(403, next_path, username, WRONG)
    portal = context()
    try:
        answer = session.service_call(
            "Sessions.sign_in",
            username=username,
            password=password,
            client=_client_address(),
            idle_seconds=portal.session_idle,
            absolute_seconds=portal.session_max,
        )
    except TooManyRequests as exc:
        wait = _retry_after(exc)
        bottle.response.set_header("Retry-After", str(wait))
        minutes = max(1, math.ceil(wait / 60))
        return _form(
            429,
            next_path,
            username,
            f"Too many failed sign-ins. Try again in {minutes} minute{'' if minutes == 1 else 's'}.",
        )
    except (Forbidden, InvalidParams):
        # A username grading cannot hold is an unknown user: the same answer, whatever was wrong.
        return _form(403, next_path, username, WRONG)
    old = session.session_id()
    if old is not None:  # whoever held that id (planted, or the last user of this browser) holds nothing now
        session.service_call("Sessions.end", session=old)
    session.start(answer["session"])
    flash.redirect(next_path)


@traced
def logout() -> str:
    """``POST /logout``: end the session (on every portal: it lives in grading), then the sign-in page."""
    csrf.check()
    sent = session.session_id()
    if sent is not None:
        session.service_call("Sessions.end", session=sent)
    session.forget()
    flash.redirect("/login", "You have signed out.")


def _form(status: int = 200, next_path: str = "/", username: str = "", problem: str | None = None) -> str:
    """The sign-in form; ``problem`` said above it. The password field always comes back empty."""
    return render("login.tpl", status, next_path=next_path, username=username, problem=problem)


def _client_address() -> str:
    """The address the request came from, as the server saw it.

    Not ``X-Forwarded-For``: any client can write that header, and a lockout by address would then
    be one header away from never locking anyone out.
    """
    return str(bottle.request.environ.get("REMOTE_ADDR") or "unknown")


def _retry_after(exc: TooManyRequests) -> int:
    """The seconds grading asks to wait (at least 1)."""
    data = exc.data if isinstance(exc.data, dict) else {}
    seconds = data.get("retry_after")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and math.isfinite(seconds):
        return max(1, math.ceil(seconds))
    return 60
