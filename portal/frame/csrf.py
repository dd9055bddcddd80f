"""The CSRF token every form carries, and its check.

A signed-in user's forms carry their session's token (grading made it with the session and
``Sessions.check`` gives it to every page), compared in constant time: bound to the session, it
works on every portal and ends with the session.

The sign-in form has no session yet: its token is the HMAC of a random nonce in a cookie, so a
token works only with the nonce it was signed for. That alone does not stop a page of the same
site (127.0.0.1 on another port: cookies ignore ports, and SameSite sees one site): it can fetch
/login for a nonce and its token, set that nonce in a visitor's browser and post the form with
the token, signing the visitor in to its own account. So a sign-in form posted by a page of
another origin is refused too, by the ``Sec-Fetch-Site`` header browsers send and no page can set.
"""

from __future__ import annotations

import hmac
import re
import secrets

import bottle

from rpc_cluster.serving.exchange import EnvironHeaders
from rpc_cluster.serving.rpc_app import sent_by_another_site

from ..context import context
from . import forms, session

CSRF_COOKIE = "portal_csrf"
# The cookie's nonce: secrets.token_urlsafe(32).
_NONCE = re.compile(r"[A-Za-z0-9_-]{43}")
_PURPOSE = b"portal csrf token"
REFUSED = "The form has expired or did not come from this portal. Reload the page and try again."


def token() -> str:
    """The form field for this page: the session's token, or (signed out) the signed nonce, setting the
    nonce cookie when the browser has none."""
    user = session.current()
    if user is not None:
        return user.csrf
    made: str | None = bottle.request.environ.get("portal.csrf")
    if made is None:
        nonce = bottle.request.get_cookie(CSRF_COOKIE) or ""
        if not _NONCE.fullmatch(nonce):
            nonce = secrets.token_urlsafe(32)
            bottle.response.set_cookie(
                CSRF_COOKIE, nonce, path="/", httponly=True, samesite="strict", secure=context().secure_cookies
            )
        made = bottle.request.environ["portal.csrf"] = context().sign(nonce, _PURPOSE)
    return made


def check() -> None:
    """403 unless the form's token is the session's (signed in), or the portal's signature of the
    browser's nonce cookie on a form posted by a page of this portal (the sign-in form)."""
    sent = forms.field("csrf_token")
    user = session.current()
    if user is not None:
        if not hmac.compare_digest(user.csrf.encode(), sent.encode()):
            bottle.abort(403, REFUSED)
        return
    if sent_by_another_site(EnvironHeaders(bottle.request.environ)):
        bottle.abort(403, REFUSED)
    nonce = bottle.request.get_cookie(CSRF_COOKIE) or ""
    if not _NONCE.fullmatch(nonce) or not hmac.compare_digest(context().sign(nonce, _PURPOSE).encode(), sent.encode()):
        bottle.abort(403, REFUSED)
