"""Who is signed in: the session cookie, its one check per page, and the gate every page passes.

A session lives in grading (``Sessions.*``), so every portal behind one balancer honours it and
signing out on one ends it on all. The browser holds only its id, in the ``portal_session``
cookie (HttpOnly, SameSite=Lax, Secure under HTTPS). Grading checks that session once for every
page, and every grading call of the page is made for the user it belongs to: grading checks each
read and write against that user, so the portal never decides alone what a teacher may see.

The check rides on the page's first grading call when that is a read (``Sessions.call_as``:
the check and the read in one round trip, the read made for the session's user by grading
itself); the page's later calls name that user (``acting_as``). A page that needs its user
before any read (a form's CSRF token, an admin's page, a write) asks first (``Sessions.check``),
and no page is answered, a redirect included, before one of the two has accepted the session.

Without a valid session a GET is sent to ``/login?next=<this page>``, and anything else is the
403 page: a form posted after the session ended stores nothing.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import bottle

from rpc_cluster import Forbidden, MethodNotFound, RpcError
from rpc_cluster.client.acting import acting_as
from rpc_cluster.grading.reads import READ_ONLY

from ..context import Caller, context
from . import calls, flash

COOKIE = "portal_session"
# What Sessions.sign_in hands out (secrets.token_urlsafe(32): 43 characters); anything else in the
# cookie is not a session and is not sent to grading at all.
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{32,128}")
# A ``next`` longer than this is not a page of ours anyone typed or followed: the home page instead.
MAX_NEXT = 2000
_USER_KEY = "portal.user"
# The session id the gate let in, until grading has checked it (then: its user, under _USER_KEY).
_SESSION_KEY = "portal.session"
# The reads that may carry the session's check (Sessions.call_as makes only these).
_CALL_AS = frozenset(name for name in READ_ONLY if name.startswith(("Grades.", "Users.")))
# Paths a sign-in never goes back to: the form itself, and signing out.
_NOT_NEXT = ("/login", "/logout")


@dataclass(frozen=True)
class User:
    """The signed-in user of one request, as grading's check answered (``Sessions.check`` or ``.call_as``)."""

    username: str
    display_name: str
    #: "admin" or "teacher".
    role: str
    #: The session's CSRF token: every form of the page carries it, every post is checked against it.
    csrf: str = field(repr=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def current() -> User | None:
    """The signed-in user of this request; None on public pages.

    On a page whose session grading has not checked yet (no read so far), one ``Sessions.check``
    first: a session it refuses is the sign-in page or the 403 page (``refuse``).
    """
    environ = bottle.request.environ
    user: User | None = environ.get(_USER_KEY)
    if user is None and _SESSION_KEY in environ:
        _checked(lambda sent: service_call("Sessions.check", session=sent))
        user = environ[_USER_KEY]
    return user


def session_id() -> str | None:
    """The session id the browser sent, if it has the shape of one."""
    value = bottle.request.get_cookie(COOKIE) or ""
    return value if _SESSION_ID.fullmatch(value) else None


@contextmanager
def gate(public: bool = False) -> Iterator[None]:
    """The block runs for the signed-in user (``public``: for anyone, as the service): its grading calls
    (``calls.grading``) are made for that user, and the first read carries the session's check.

    Without a session id: a GET (or HEAD) is a 303 to ``/login?next=<path and query>``; any other
    method is the 403 page. What the block answers, a redirect included, is sent only once grading
    has accepted the session: checked now if no call has checked it (a page that only redirects).
    """
    if public:
        yield None
        return
    sent = session_id()
    if sent is None:
        refuse()
    bottle.request.environ[_SESSION_KEY] = sent
    calls.for_page(_ForUser(context().grading))
    try:
        yield None
    except bottle.HTTPResponse:
        if _SESSION_KEY in bottle.request.environ:
            current()
        raise
    if current() is None:
        # Grading could not be asked and the page went on: it is not shown unchecked.
        raise calls.Unavailable(calls.GRADING)


class _ForUser:
    """A page's grading calls (``calls.for_page``), for the user its session belongs to.

    Until the session is checked, a read carries it: ``Sessions.call_as`` checks it and makes the
    read for its user in one round trip. Any other call checks it first (``current``).
    """

    def __init__(self, grading: Caller):
        self._grading = grading

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """The call's result, made for the page's user; the sign-in page when grading refuses the session."""
        if _SESSION_KEY in bottle.request.environ and method in _CALL_AS:
            params = list(args) if args else kwargs
            try:
                answer = _checked(
                    lambda sent: service_call("Sessions.call_as", session=sent, read=method, params=params)
                )
                return answer["result"]
            except MethodNotFound as exc:
                if exc.data != "Sessions.call_as":
                    raise
                # A grading instance older than call_as (a cluster being upgraded): the check alone, then the read.
        user = current()
        if user is None:  # grading could not check the session earlier in this page
            raise calls.Unavailable(calls.GRADING)
        with acting_as(user.username):
            return self._grading.call(method, *args, **kwargs)


def _checked(ask: Callable[[str], Any]) -> Any:
    """``ask(session id)``'s answer, the pending session's check (``Sessions.check`` or ``.call_as``),
    its user now the request's; the sign-in page (``refuse``) when grading refuses the session.

    When grading refused the read after the check (a student not the user's), the session stays
    to be checked again by whatever needs its user (the 403 page); when grading could not be
    asked, or the call failed, the page's 503 or 500 page shows no user.
    """
    environ = bottle.request.environ
    sent = environ[_SESSION_KEY]
    try:
        answer = ask(sent)
    except Forbidden as exc:
        if exc.data != {"reason": "session"}:
            raise
        del environ[_SESSION_KEY]
        refuse()
    except RpcError:
        raise
    except Exception:
        del environ[_SESSION_KEY]
        raise
    del environ[_SESSION_KEY]
    environ[_USER_KEY] = _user(answer)
    return answer


def _user(answer: Any) -> User:
    who = answer["user"]
    return User(
        username=who["username"],
        display_name=who.get("display_name") or who["username"],
        role=who["role"],
        csrf=answer["csrf"],
    )


def refuse() -> NoReturn:
    """What a page without a valid session answers: the sign-in page for a GET, else 403."""
    stale = bool(bottle.request.get_cookie(COOKIE))
    if stale:
        forget()
    if bottle.request.method in ("GET", "HEAD"):
        here = urllib.parse.quote(bottle.request.path, safe="/")
        query = bottle.request.query_string
        target = here + ("?" + query if query else "")
        message = "Your session has ended. Sign in again." if stale else None
        flash.redirect("/login?next=" + urllib.parse.quote(target, safe="/"), message)
    bottle.abort(
        403,
        "You are not signed in, or your session has ended: nothing was saved. Sign in again, then send the form again.",
    )
    raise AssertionError("unreachable")  # abort() raises


def start(session: str) -> None:
    """Give the browser the new session's id: a session cookie (gone when the browser closes)."""
    _set_cookie(f"{COOKIE}={session}")


def forget() -> None:
    """Delete the browser's session cookie."""
    _set_cookie(f"{COOKIE}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")


def _set_cookie(value: str) -> None:
    """``Set-Cookie`` with the session cookie's flags, written out: Bottle would write ``SameSite=lax``.

    Lax, not Strict: a teacher following a link to the portal from mail arrives signed in. Lax still
    keeps the cookie off another site's POST, and every form checks the session's CSRF token anyway.
    """
    secure = context().secure_cookies or bottle.request.urlparts.scheme == "https"
    bottle.response.add_header(
        "Set-Cookie", f"{value}; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
    )


def service_call(method: str, /, **params: Any) -> Any:
    """A call to grading with the service's own authority (``Sessions.*`` refuse an acting user)."""
    with acting_as(None):
        return calls.call(context().grading, calls.GRADING, method, **params)


def require_admin() -> User:
    """The signed-in user if an admin, else the 403 page."""
    user = current()
    if user is None or not user.is_admin:
        bottle.abort(403, "This page is for administrators.")
        raise AssertionError("unreachable")
    return user


def safe_next(text: str | None) -> str:
    """``text`` when it is a path on this portal to go to after signing in, else ``/``.

    A path starts with one ``/`` (``//host`` and ``/\\host`` are other sites to a browser), holds
    no scheme or host, and only printable ASCII (what we put there is percent-encoded): anything
    else could send a teacher who just typed their password to another site.
    """
    if not text or len(text) > MAX_NEXT or not text.startswith("/") or text[1:2] in ("/", "\\"):
        return "/"
    if any(not "!" <= c <= "~" for c in text):
        return "/"
    parts = urllib.parse.urlsplit(text)
    if parts.scheme or parts.netloc or parts.path in _NOT_NEXT:
        return "/"
    return text
