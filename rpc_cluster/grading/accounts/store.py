"""Users, sessions and failed sign-ins in grading's database: the SQL of ``Users.*`` and ``Sessions.*``.

An ``AccountStore`` runs over the connections of a SQL grade store (its
``_transaction`` and ``_read``), so SQLite and PostgreSQL share every statement
here (``?`` placeholders, which the PostgreSQL store passes as ``%s``), and
every grading instance on one PostgreSQL database shares the users, the
sessions and the count of failures. Each change to a user is audited
(``storage/audit.py``) in its own transaction; no entry holds a hash.

Times are seconds since the epoch, given by the caller (the namespaces hold
the clock, so tests can move it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict, TypeVar

from ...core.errors import Conflict
from ..storage import audit

if TYPE_CHECKING:
    from ..storage.protocol import SqlRow
    from ..storage.sql_writes import Transaction

T = TypeVar("T")

#: The operations an AccountStore times (the ``operation`` label of grading's store metrics).
OPERATIONS = (
    "list_users",
    "add_user",
    "update_user",
    "set_password",
    "set_disabled",
    "credentials",
    "claim_attempt",
    "start_session",
    "session",
    "touch_session",
    "end_session",
)


#: A user as ``Users.*`` and ``Sessions.*`` answer it, never with a hash: {"username", "display_name",
#: "role", "disabled"}. A plain dict, as every answer of grading is (its schema on the wire is "object").
User = dict[str, Any]


class Credentials(TypedDict):
    """What a sign-in checks a password against."""

    id: int
    #: The argon2 hash; None for a user who cannot sign in.
    password_hash: str | None
    user: User


class SessionRow(TypedDict):
    """A stored session and its user."""

    csrf: str
    created_at: float
    seen_at: float
    idle_seconds: float
    absolute_seconds: float
    user: User


class Transact(Protocol):
    """A store's ``_transaction``: ``write(transaction)``'s result, committed, all or nothing."""

    def __call__(self, write: Callable[[Transaction], T]) -> T: ...


#: Whole seconds a sign-in must wait given the failures' times (its username's, its client's), or None.
Locked = Callable[[list[float], list[float]], int | None]


class Timer(Protocol):
    """Runs ``operation`` timed under ``name`` (``MeasuredStore._timed``)."""

    def __call__(self, name: str, operation: Callable[[], T]) -> T: ...


def _untimed(name: str, operation: Callable[[], T]) -> T:
    return operation()


_USER = "SELECT id, username, display_name, role, disabled FROM users WHERE username = ?"
_USERS = "SELECT username, display_name, role, disabled FROM users"
_ADD_USER = (
    "INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (username) DO NOTHING RETURNING id"
)
# Takes the row locks of the enabled admins, so two transactions that could each leave the other's
# admin the last one queue here (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the one write lock).
_LOCK_ADMINS = "UPDATE users SET disabled = disabled WHERE role = 'admin' AND disabled = ?"
_OTHER_ADMINS = "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = ? AND id <> ?"
_CREDENTIALS = "SELECT id, password_hash, username, display_name, role, disabled FROM users WHERE username = ?"
_FAILURES_OF_USERNAME = "SELECT at FROM sign_in_failures WHERE username = ? AND at > ? ORDER BY at"
_FAILURES_OF_CLIENT = "SELECT at FROM sign_in_failures WHERE client = ? AND at > ? ORDER BY at"
# A session for a user who, as the transaction sees it, still has the hash that was checked and is enabled.
_START_SESSION = """INSERT INTO sessions (id_hash, user_id, csrf, client, created_at, seen_at, idle_seconds,
    absolute_seconds)
SELECT ?, id, ?, ?, ?, ?, ?, ? FROM users WHERE id = ? AND disabled = ? AND password_hash = ? RETURNING user_id"""
_SESSION = """SELECT s.csrf, s.created_at, s.seen_at, s.idle_seconds, s.absolute_seconds,
    u.username, u.display_name, u.role, u.disabled
FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?"""
_EXPIRED_SESSIONS = "DELETE FROM sessions WHERE seen_at + idle_seconds < ? OR created_at + absolute_seconds < ?"


def _user(row: SqlRow) -> User:
    """A User from (username, display_name, role, disabled)."""
    username, display_name, role, disabled = row
    return {"username": username, "display_name": display_name, "role": role, "disabled": bool(disabled)}


class AccountStore:
    """Users, sessions and failures over one SQL store's connections. Thread-safe as the store is."""

    def __init__(self, transaction: Transact, read: audit.Read, timed: Timer = _untimed):
        self._transaction = transaction
        self._read = read
        self._timed = timed

    def timed_by(self, timer: Timer) -> AccountStore:
        """The same store with each operation run through ``timer`` (a ``MeasuredStore``'s)."""
        return AccountStore(self._transaction, self._read, timer)

    # -- users -------------------------------------------------------------------------------------

    def list_users(self) -> list[User]:
        """Every user, ordered by username (in Python: a database's collation may skip punctuation)."""
        return self._timed(
            "list_users", lambda: sorted((_user(row) for row in self._read(_USERS, ())), key=lambda u: u["username"])
        )

    def add_user(self, actor: str, username: str, display_name: str, role: str, password_hash: str, now: float) -> User:
        """Store a new user and return it; Conflict if the username is taken."""

        def write(tx: Transaction) -> User:
            added = tx.rows(_ADD_USER, (username, display_name, role, password_hash, now))
            if not added:
                raise Conflict(f"a user named {username} exists", {"username": username})
            user: User = {"username": username, "display_name": display_name, "role": role, "disabled": False}
            audit.record(tx, actor, "create", "user", int(added[0][0]), None, None, dict(user))
            return user

        return self._timed("add_user", lambda: self._transaction(write))

    def update_user(self, actor: str, username: str, display_name: str | None, role: str | None) -> User | None:
        """Change the given fields (None: keep) and return the user; None if unknown.

        Conflict when the change would leave no enabled admin.
        """

        def write(tx: Transaction) -> User | None:
            found = _locked_user(tx, username)
            if found is None:
                return None
            user_id, user = found
            after: User = {
                "username": username,
                "display_name": user["display_name"] if display_name is None else display_name,
                "role": user["role"] if role is None else role,
                "disabled": user["disabled"],
            }
            keys: tuple[Literal["display_name", "role"], ...] = ("display_name", "role")
            changed = [key for key in keys if after[key] != user[key]]
            if not changed:
                return user
            if "role" in changed and user["role"] == "admin" and not user["disabled"]:
                _keep_an_admin(tx, user_id, username, "take the admin role from")
            tx.rows(
                "UPDATE users SET display_name = ?, role = ? WHERE id = ?",
                (after["display_name"], after["role"], user_id),
            )
            audit.record(
                tx,
                actor,
                "update",
                "user",
                user_id,
                None,
                {key: user[key] for key in changed},
                {key: after[key] for key in changed},
            )
            return after

        return self._timed("update_user", lambda: self._transaction(write))

    def set_password(self, actor: str, username: str, password_hash: str) -> bool:
        """Replace the user's password and end every session they have; False if unknown."""

        def write(tx: Transaction) -> bool:
            found = tx.rows("SELECT id, password_hash IS NOT NULL FROM users WHERE username = ?", (username,))
            if not found:
                return False
            user_id, had_one = int(found[0][0]), bool(found[0][1])
            tx.rows("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
            tx.rows("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            before = {"password": "(set)" if had_one else None}
            audit.record(tx, actor, "update", "user", user_id, None, before, {"password": "(changed)"})
            return True

        return self._timed("set_password", lambda: self._transaction(write))

    def set_disabled(self, actor: str, username: str, disabled: bool) -> User | None:
        """Disable (ending every session) or enable the user and return it; None if unknown.

        Conflict when disabling would leave no enabled admin.
        """

        def write(tx: Transaction) -> User | None:
            found = _locked_user(tx, username)
            if found is None:
                return None
            user_id, user = found
            if disabled:
                if user["role"] == "admin" and not user["disabled"]:
                    _keep_an_admin(tx, user_id, username, "disable")
                tx.rows("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            if user["disabled"] == disabled:
                return user
            tx.rows("UPDATE users SET disabled = ? WHERE id = ?", (disabled, user_id))
            audit.record(tx, actor, "update", "user", user_id, None, {"disabled": not disabled}, {"disabled": disabled})
            return {**user, "disabled": disabled}

        return self._timed("set_disabled", lambda: self._transaction(write))

    # -- signing in --------------------------------------------------------------------------------

    def credentials(self, username: str) -> Credentials | None:
        """The user's id, hash and the user itself; None if there is no such user."""

        def read() -> Credentials | None:
            found = self._read(_CREDENTIALS, (username,))
            if not found:
                return None
            user_id, password_hash, *user = found[0]
            return {"id": int(user_id), "password_hash": password_hash, "user": _user(tuple(user))}

        return self._timed("credentials", read)

    def claim_attempt(self, username: str, client: str, now: float, since: float, locked: Locked) -> int | None:
        """Count a sign-in as a failure before its password is checked (a success clears it); or, when
        ``locked(username_times, client_times)`` (the failures after ``since``, ascending) says to
        wait, those seconds, counting nothing. Failures before ``since`` are deleted.

        One transaction holding the user's row (PostgreSQL; SQLite's write transaction holds the
        whole database), so sign-ins for one user sent at once each see the failures of the ones
        before: read first and counted after the check, any number sent together were all checked.
        """

        def write(tx: Transaction) -> int | None:
            tx.rows("SELECT id FROM users WHERE username = ?" + tx.locking, (username,))
            wait = locked(
                [float(at) for (at,) in tx.rows(_FAILURES_OF_USERNAME, (username, since))],
                [float(at) for (at,) in tx.rows(_FAILURES_OF_CLIENT, (client, since))],
            )
            if wait is None:
                tx.rows("INSERT INTO sign_in_failures (username, client, at) VALUES (?, ?, ?)", (username, client, now))
                tx.rows("DELETE FROM sign_in_failures WHERE at < ?", (since,))
            return wait

        return self._timed("claim_attempt", lambda: self._transaction(write))

    def start_session(
        self,
        credentials: Credentials,
        new_hash: str | None,
        username: str,
        id_hash: str,
        csrf: str,
        client: str,
        now: float,
        idle_seconds: float,
        absolute_seconds: float,
    ) -> bool:
        """Store a new session for the user whose password was checked against ``credentials``.

        False, storing nothing, when the user was disabled or got another password
        since that check. Otherwise the username's failures are cleared (the one this
        sign-in was counted as too), the hash is
        replaced by ``new_hash`` if given (parameters changed), and sessions past
        their expiry are deleted (the ones never checked again would stay forever).
        """

        def write(tx: Transaction) -> bool:
            started = tx.rows(
                _START_SESSION,
                (
                    id_hash,
                    csrf,
                    client,
                    now,
                    now,
                    idle_seconds,
                    absolute_seconds,
                    credentials["id"],
                    False,
                    credentials["password_hash"],
                ),
            )
            if not started:
                return False
            if new_hash is not None:
                tx.rows("UPDATE users SET password_hash = ? WHERE id = ?", (new_hash, credentials["id"]))
            tx.rows("DELETE FROM sign_in_failures WHERE username = ?", (username,))
            tx.rows(_EXPIRED_SESSIONS, (now, now))
            return True

        return self._timed("start_session", lambda: self._transaction(write))

    # -- sessions ----------------------------------------------------------------------------------

    def session(self, id_hash: str) -> SessionRow | None:
        """The session stored under ``id_hash`` with its user; None if there is none."""

        def read() -> SessionRow | None:
            found = self._read(_SESSION, (id_hash,))
            if not found:
                return None
            csrf, created_at, seen_at, idle, absolute, *user = found[0]
            return {
                "csrf": csrf,
                "created_at": float(created_at),
                "seen_at": float(seen_at),
                "idle_seconds": float(idle),
                "absolute_seconds": float(absolute),
                "user": _user(tuple(user)),
            }

        return self._timed("session", read)

    def touch_session(self, id_hash: str, now: float) -> None:
        """Record that the session was used at ``now`` (never moving seen_at back)."""

        def write(tx: Transaction) -> None:
            tx.rows("UPDATE sessions SET seen_at = ? WHERE id_hash = ? AND seen_at < ?", (now, id_hash, now))

        self._timed("touch_session", lambda: self._transaction(write))

    def end_session(self, id_hash: str) -> None:
        """Delete the session (nothing if there is none)."""

        def write(tx: Transaction) -> None:
            tx.rows("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))

        self._timed("end_session", lambda: self._transaction(write))


def _locked_user(tx: Transaction, username: str) -> tuple[int, User] | None:
    """(id, user) of ``username`` once the enabled admins are locked for this transaction; None if unknown."""
    tx.rows(_LOCK_ADMINS, (False,))
    found = tx.rows(_USER, (username,))
    return (int(found[0][0]), _user(found[0][1:])) if found else None


def _keep_an_admin(tx: Transaction, user_id: int, username: str, doing: str) -> None:
    """Conflict unless an enabled admin other than ``user_id`` remains."""
    if tx.rows(_OTHER_ADMINS, (False, user_id))[0][0] == 0:
        raise Conflict(f"cannot {doing} {username}: the last enabled admin", {"username": username})
