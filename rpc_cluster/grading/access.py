"""Who a grading call acts for (``Actor``), from the ``X-Acting-User`` header the portal sends.

A call without the header acts with the service's own authority (``SERVICE``:
the REPL, the CLI, other services), as every call did before there were
users. With it, the user must exist and not be disabled; an admin then sees
and changes everything, and a teacher only their own classes, those classes'
students and those students' grades in them (the ``Grades.*`` methods apply
that rule). The header is honoured from whoever may call the service at all:
with a cluster token set, only a holder of the token.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..core.errors import Forbidden

Role = Literal["service", "admin", "teacher"]
#: A user name: 1-64 characters of a-z 0-9 . _ -
USERNAME = re.compile(r"[a-z0-9._-]{1,64}")
#: Looks a user up by name: ``(id, role, disabled)``, or None when there is no such user.
FindUser = Callable[[str], tuple[int, str, bool] | None]


@dataclass(frozen=True)
class Actor:
    """The user a call acts for: its name (``(service)`` for the service's own authority), role and id."""

    username: str
    role: Role
    #: The user's id; None for the service's own authority.
    user_id: int | None = None

    @property
    def sees_all(self) -> bool:
        """True for the service's own authority and for admins: every class, student and grade."""
        return self.role != "teacher"


#: The service's own authority: a call that names no acting user.
SERVICE = Actor("(service)", "service")


def resolve(username: str | None, find: FindUser) -> Actor:
    """The actor a call names (None: ``SERVICE``); Forbidden for a malformed, unknown or disabled user.

    The same refusal for all three, whose data names the user as sent.
    """
    if username is None:
        return SERVICE
    found = find(username) if USERNAME.fullmatch(username) else None
    if found is None or found[2] or found[1] not in ("admin", "teacher"):
        raise Forbidden(f"no enabled user {username[:64]!r} to act for", {"user": username[:64]})
    user_id, role, _ = found
    return Actor(username, "admin" if role == "admin" else "teacher", user_id)


def require_admin(actor: Actor, method: str) -> None:
    """Forbidden unless ``actor`` is the service or an admin; data names the method."""
    if not actor.sees_all:
        raise Forbidden(f"{method} is for admins", {"method": method})
