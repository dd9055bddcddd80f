"""The rules of every ``Users.*`` and ``Sessions.*`` value.

Each check returns the value as stored, or raises ``InvalidParams`` naming the
field. A password is never part of an error: its message says what the rule
is, not what was given.
"""

from __future__ import annotations

import re

from ...core.errors import InvalidParams
from .. import validation

ROLES = ("admin", "teacher")
#: A username: what a shell, a URL and a log line take as they are.
USERNAME = re.compile(r"[a-z0-9._-]{1,64}")
USERNAME_RULE = "must be 1-64 characters of a-z 0-9 . _ -"
#: Password lengths, after OWASP ASVS level 1: at least 12, and at most 128 so a hash stays cheap to check.
SHORTEST_PASSWORD, LONGEST_PASSWORD = 12, 128
#: A session's lifetimes: at most a year, which no portal setting needs more than.
LONGEST_SESSION = 366 * 24 * 3600.0
#: A client address as the portal saw it: an IPv6 address with its zone fits with room to spare.
LONGEST_CLIENT = 200
#: A session id as sign_in makes it is 43 characters; anything far longer is no session of ours.
LONGEST_SESSION_ID = 200


def username(value: object) -> str:
    """A username as stored: 1-64 characters of a-z 0-9 . _ - (lowercase only, so one person is one name)."""
    if not isinstance(value, str) or USERNAME.fullmatch(value) is None:
        raise InvalidParams.field("username", USERNAME_RULE)
    return value


def sign_in_name(value: object) -> str:
    """A username as typed at sign-in, folded to lowercase (a phone's keyboard capitalizes the first letter).

    Only its type, length and control characters are refused here: a name that
    follows no other rule is simply no user's, and is answered like any unknown
    one. A control character (a NUL, which PostgreSQL refuses in text) or a lone
    surrogate (which UTF-8 cannot encode) never reaches the store.
    """
    if not isinstance(value, str):
        raise InvalidParams.field("username", "must be text")
    folded = value.strip().lower()
    if not folded or len(folded) > 64:
        raise InvalidParams.field("username", "must be 1-64 characters")
    if not folded.isprintable():
        raise InvalidParams.field("username", "must not contain control characters")
    return folded


def display_name(value: object) -> str:
    """A display name: 1-100 printable characters, surrounding white space removed."""
    return validation.text("display_name", value, 100)


def role(value: object) -> str:
    """``admin`` or ``teacher``."""
    if not isinstance(value, str) or value not in ROLES:
        raise InvalidParams.field("role", f"must be one of {', '.join(ROLES)}")
    return value


def password(value: object) -> str:
    """A new password: 12-128 characters, any but NUL (kept exactly as typed, spaces too)."""
    if not isinstance(value, str):
        raise InvalidParams.field("password", "must be text")
    if not SHORTEST_PASSWORD <= len(value) <= LONGEST_PASSWORD:
        raise InvalidParams.field("password", f"must be {SHORTEST_PASSWORD}-{LONGEST_PASSWORD} characters")
    if "\0" in value:
        raise InvalidParams.field("password", "must not contain the NUL character")
    return _encodable(value)


def typed_password(value: object) -> str:
    """A password given to sign in: text of at most 128 characters (no longer one was ever set)."""
    if not isinstance(value, str):
        raise InvalidParams.field("password", "must be text")
    if len(value) > LONGEST_PASSWORD:
        raise InvalidParams.field("password", f"must be at most {LONGEST_PASSWORD} characters")
    return _encodable(value)


def _encodable(password: str) -> str:
    """``password`` if UTF-8 can encode it, as argon2 does; JSON can carry a lone surrogate ("\\ud800"), which
    it cannot (no password was ever set with one)."""
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParams.field("password", "must be Unicode text (a lone surrogate is not a character)") from None
    return password


def client(value: object) -> str:
    """Where a sign-in comes from (the portal's view of the browser's address): 1-200 printable characters."""
    return validation.text("client", value, LONGEST_CLIENT)


def seconds(field: str, value: object) -> float:
    """A session lifetime: a number of seconds above 0 and at most a year."""
    # NaN fails the range too; an int is compared exactly, whatever its size.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= LONGEST_SESSION:
        raise InvalidParams.field(field, f"must be a number of seconds above 0 and at most {LONGEST_SESSION:.0f}")
    return float(value)


def session_id(value: object) -> str:
    """A session id as given back: text (what it holds is checked against the store, never echoed)."""
    if not isinstance(value, str) or len(value) > LONGEST_SESSION_ID:
        raise InvalidParams.field("session", f"must be text of at most {LONGEST_SESSION_ID} characters")
    return value
