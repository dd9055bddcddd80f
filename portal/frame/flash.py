"""Redirects, and the one-time message a redirect after a change carries to the next page.

The flash cookie is signed like the sign-in form's CSRF token: another page of the same site could otherwise make
the portal show any message it likes ("Saved.", "Session expired: log in at ...").
"""

from __future__ import annotations

import hmac
import urllib.parse
from typing import NoReturn

import bottle

from ..context import context
from .text import printable, shorten

FLASH_COOKIE = "portal_flash"
# The longest flash message shown, in characters (a longer one ends in "…"), and the most bytes its
# cookie may hold percent-encoded: Bottle refuses a cookie whose name and value pass 3,800 bytes with a
# ValueError, raised after the change the message reports was stored.
FLASH_CHARS = 300
FLASH_BYTES = 3000
# The flash cookie is "<signature>.<message>": the signature's 43 characters and the dot.
_FLASH_SIGNATURE = 44
_FLASH_PURPOSE = b"portal flash message"


def take() -> str | None:
    """The flash message this portal set, once; None for none, or for one it did not sign (dropped)."""
    value = bottle.request.get_cookie(FLASH_COOKIE)
    if not value:
        return None
    bottle.response.delete_cookie(FLASH_COOKIE, path="/")
    signature, _, quoted = value.partition(".")
    if not hmac.compare_digest(context().sign(quoted, _FLASH_PURPOSE).encode(), signature.encode("utf-8", "replace")):
        return None
    # Signed, so ours; still shown without control characters, whatever a message once held.
    return printable(urllib.parse.unquote(quoted))[:FLASH_CHARS] or None


def cookie_value(message: str) -> str:
    """``message`` as the flash cookie holds it after its signature: at most FLASH_CHARS characters, and
    FLASH_BYTES bytes with the signature.

    The one place a flash message meets the cookie's size limit: callers pass text a user
    chose (a file name, a title), and a redirect after a stored change must never fail on it.
    """
    text = shorten(message, FLASH_CHARS)
    value = urllib.parse.quote(text)
    while len(value) > FLASH_BYTES - _FLASH_SIGNATURE:  # a character takes 3 to 12 bytes once percent-encoded
        text = shorten(text, len(text) - 1)
        value = urllib.parse.quote(text)
    return value


def redirect(path: str, message: str | None = None, code: int = 303) -> NoReturn:
    """Redirect to ``path`` on this portal, keeping the cookies set so far; ``message``: shown there once.

    ``Location`` stays relative (RFC 9110 allows it): ``bottle.redirect`` would
    make it absolute from the request's ``Host``/``X-Forwarded-Host``, which the
    client chooses, so a forged header would send the teacher to another site.
    """
    if message is not None:
        value = cookie_value(message)
        bottle.response.set_cookie(
            FLASH_COOKIE,
            f"{context().sign(value, _FLASH_PURPOSE)}.{value}",
            path="/",
            httponly=True,
            samesite="strict",
            secure=context().secure_cookies,
        )
    response = bottle.response.copy(cls=bottle.HTTPResponse)
    response.status = code
    response.body = ""
    response.set_header("Location", path)
    raise response
