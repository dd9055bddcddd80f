"""``Users.*`` over RPC: who may sign in to the portal, and as what.

Every method needs the service's own authority (a call without
``X-Acting-User``: the CLI, ``rpc-cluster up``) or an admin acting user; a
teacher is refused (403, data ``{"method": ...}``). Each change is audited as
entity ``user``, in the change's own transaction, with the acting user's name.
No method returns or logs a password or its hash.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ...client import acting
from ...core.errors import InvalidParams, NotFound
from ...core.methods import rpc_method
from .. import access
from ..storage.protocol import GradeStore
from . import rules
from .passwords import Passwords
from .store import User

log = logging.getLogger("rpc_cluster.grading")


def _no_user(username: str) -> NotFound:
    return NotFound(f"No user named {username}", {"username": username})


class Users:
    """The ``Users`` namespace."""

    def __init__(self, store: GradeStore, passwords: Passwords, clock: Callable[[], float] = time.time):
        self._store = store
        self._passwords = passwords
        self._clock = clock

    def _actor(self, method: str) -> str:
        """The acting user's name once they may call ``method`` (an admin, or the service itself)."""
        actor = access.resolve(acting.current(), self._store.user_row)
        access.require_admin(actor, f"Users.{method}")
        return actor.username

    @rpc_method
    def add(self, username: str, role: str, password: str, display_name: str | None = None) -> User:
        """Add a user who signs in with ``password`` and return it: {"username", "display_name", "role", "disabled"}.

        username: 1-64 characters of a-z 0-9 . _ -; role: admin or teacher; password:
        12-128 characters, any but NUL; display_name: 1-100 characters (default: the
        username). A username already taken is 409.
        """
        actor = self._actor("add")
        username = rules.username(username)
        role = rules.role(role)
        name = username if display_name is None else rules.display_name(display_name)
        password_hash = self._passwords.hash(rules.password(password))
        user = self._store.accounts.add_user(actor, username, name, role, password_hash, self._clock())
        log.info("user %s added (%s) by %s", username, role, actor)
        return user

    @rpc_method
    def set_password(self, username: str, password: str) -> bool:
        """Give the user a new password (the same rules as add's) and end every session they have; true."""
        actor = self._actor("set_password")
        username = rules.username(username)
        password_hash = self._passwords.hash(rules.password(password))
        if not self._store.accounts.set_password(actor, username, password_hash):
            raise _no_user(username)
        log.info("password of %s changed by %s; their sessions ended", username, actor)
        return True

    @rpc_method
    def disable(self, username: str, disabled: bool = True) -> User:
        """Disable the user (they cannot sign in, and every session they have ends), or enable them with
        disabled=false; return the user. Disabling the last enabled admin is 409."""
        actor = self._actor("disable")
        username = rules.username(username)
        if not isinstance(disabled, bool):
            raise InvalidParams.field("disabled", "must be true or false")
        user = self._store.accounts.set_disabled(actor, username, disabled)
        if user is None:
            raise _no_user(username)
        log.info("user %s %s by %s", username, "disabled" if disabled else "enabled", actor)
        return user

    @rpc_method
    def update(self, username: str, display_name: str | None = None, role: str | None = None) -> User:
        """Change the user's display name and/or role (null or absent: unchanged) and return the user.

        Taking the admin role from the last enabled admin is 409.
        """
        actor = self._actor("update")
        username = rules.username(username)
        name = None if display_name is None else rules.display_name(display_name)
        role = None if role is None else rules.role(role)
        user = self._store.accounts.update_user(actor, username, name, role)
        if user is None:
            raise _no_user(username)
        log.info("user %s updated by %s", username, actor)
        return user

    @rpc_method(name="list")
    def list_users(self) -> list[User]:
        """Every user, ordered by username: [{"username", "display_name", "role", "disabled"}]."""
        self._actor("list")
        return self._store.accounts.list_users()
