"""The CSRF token every form carries, and its check.

The cookie holds a random nonce and the form the HMAC of it. Any page of the same site (127.0.0.1
on another port: cookies ignore ports, and SameSite sees one site) can set the cookie, so a form
field that merely equals it proves nothing; a valid HMAC needs the portal's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

import bottle

from ..context import context
from . import forms

CSRF_COOKIE = "portal_csrf"
# The cookie's nonce: secrets.token_urlsafe(32).
_NONCE = re.compile(r"[A-Za-z0-9_-]{43}")


def sign(nonce: str, purpose: bytes = b"portal csrf token") -> str:
    """The HMAC of ``nonce`` for ``purpose`` with the portal's secret, URL-safe base64 (43 characters)."""
    digest = hmac.new(context().csrf_secret, purpose + b"\0" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token() -> str:
    """The form field for this browser, setting its nonce cookie when it has none."""
    made: str | None = bottle.request.environ.get("portal.csrf")
    if made is None:
        nonce = bottle.request.get_cookie(CSRF_COOKIE) or ""
        if not _NONCE.fullmatch(nonce):
            nonce = secrets.token_urlsafe(32)
            bottle.response.set_cookie(
                CSRF_COOKIE, nonce, path="/", httponly=True, samesite="strict", secure=context().secure_cookies
            )
        made = bottle.request.environ["portal.csrf"] = sign(nonce)
    return made


def check() -> None:
    """403 unless the form's token is the portal's signature of the browser's cookie."""
    nonce = bottle.request.get_cookie(CSRF_COOKIE) or ""
    sent = forms.field("csrf_token")
    if not _NONCE.fullmatch(nonce) or not hmac.compare_digest(sign(nonce).encode(), sent.encode()):
        bottle.abort(403, "The form has expired or did not come from this portal. Reload the page and try again.")
