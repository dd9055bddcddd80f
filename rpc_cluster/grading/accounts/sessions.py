"""``Sessions.*`` over RPC: signing in, checking a session (alone, or with one call for its user),
signing out. The portal's calls only.

Sessions live in grading's store, so a session made through one portal works
on every other, and ending it ends it everywhere. The id a caller holds is
never stored, only its SHA-256; neither the id nor a password reaches a log
line or an error.

A sign-in is refused with one error for an unknown user, a disabled one, one
without a password, and a wrong password, after the same argon2 work in
every case (``Passwords.verify``), so neither the answer nor its timing says
which usernames exist. Failures lock a username or a client out for a while
(``lockout.py``). These methods need the service's own authority: a call that
names an acting user is refused, since a signed-in user has no business
making sessions.

``call_as`` is a page's check and its first read in one round trip: grading
checks the session, then makes the read for the user the session belongs
to, so the check still happens in grading for every page and the user a
call acts for comes from grading's own record, not from the caller. Only
reads: a write follows the check of its form's CSRF token, which needs the
session's token first, and a read may be sent again after a timeout.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from ...client import acting
from ...core.dispatch import RawJSON
from ...core.errors import Forbidden, InvalidParams, MethodNotFound, TooManyRequests
from ...core.methods import rpc_method
from ..storage import audit
from ..storage.protocol import GradeStore
from . import lockout, rules
from .passwords import Passwords

log = logging.getLogger("rpc_cluster.grading")

#: A session's seen_at is written at most this often (seconds): a page view must not cost a write each
#: time. So an idle session may end up to this much before its idle_seconds since the last page.
SEEN_EVERY = 60.0


def id_hash(session: str) -> str:
    """What the store keeps of a session id: its SHA-256, in hex."""
    return hashlib.sha256(session.encode("utf-8", "surrogatepass")).hexdigest()


def _service_only(method: str) -> None:
    if acting.current() is not None:
        raise Forbidden(
            f"Sessions.{method} is for the portal, without an acting user", {"method": f"Sessions.{method}"}
        )


def _refused() -> Forbidden:
    return Forbidden("wrong username or password", {"reason": "sign_in"})


def _no_session() -> Forbidden:
    return Forbidden("no such session, or it has ended", {"reason": "session"})


class UserCalls(Protocol):
    """What ``Sessions.call_as`` may call for a session's user: a ``Dispatcher`` of the reads of ``reads.py``."""

    def call(self, name: str, params: list[Any] | dict[str, Any]) -> Any:
        """The method's result; its RpcError (or UnknownMethod, BadParams) as the method raised it."""


class _NoCalls:
    """``UserCalls`` that know no method: every name is unknown (-32601)."""

    def call(self, name: str, params: list[Any] | dict[str, Any]) -> Any:
        raise MethodNotFound("Method not found", name)


class Sessions:
    """The ``Sessions`` namespace. ``clock``: seconds since the epoch (tests move it); ``calls``: what
    ``call_as`` may call for a session's user (default: nothing)."""

    def __init__(
        self,
        store: GradeStore,
        passwords: Passwords,
        clock: Callable[[], float] = time.time,
        *,
        calls: UserCalls | None = None,
    ):
        self._store = store
        self._passwords = passwords
        self._clock = clock
        self._calls: UserCalls = calls if calls is not None else _NoCalls()

    @rpc_method
    def sign_in(
        self, username: str, password: str, client: str, idle_seconds: float, absolute_seconds: float
    ) -> dict[str, Any]:
        """Check the password and start a session: {"session", "csrf", "user"}.

        username is compared in lowercase; client is the address the portal saw the
        browser at. The session ends after idle_seconds without a check, or
        absolute_seconds after this sign-in, whichever comes first (each above 0, at
        most a year). A wrong username or password is 403 {"reason": "sign_in"},
        the same for every cause. After 5 failures for one username, or 30 from one
        client, within 15 minutes, that username or client is refused for 15 minutes
        from the one that reached the bound: 429 {"retry_after": seconds}, even with the right password.
        """
        _service_only("sign_in")
        username = rules.sign_in_name(username)
        password = rules.typed_password(password)
        client = rules.client(client)
        idle_seconds = rules.seconds("idle_seconds", idle_seconds)
        absolute_seconds = rules.seconds("absolute_seconds", absolute_seconds)
        accounts = self._store.accounts
        now = self._clock()
        found = accounts.credentials(username)
        # An unknown username may be a password typed in the wrong box: it is not written to the log.
        shown = username if found is not None else "(an unknown username)"
        # Counted as a failure before the password is checked, so guesses sent at once each count.
        wait = accounts.claim_attempt(
            username, client, now, now - lockout.KEEP, lambda mine, theirs: lockout.retry_after(now, mine, theirs)
        )
        if wait is not None:
            log.warning("sign-in refused: %s from %s is locked out for %d s more", shown, client, wait)
            raise TooManyRequests("too many failed sign-ins", {"retry_after": wait})
        stored = found["password_hash"] if found is not None else None
        if found is not None and self._passwords.verify(stored, password) and not found["user"]["disabled"]:
            session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            assert stored is not None  # verify() matched it
            new_hash = self._passwords.hash(password) if self._passwords.needs_rehash(stored) else None
            if accounts.start_session(
                found, new_hash, username, id_hash(session), csrf, client, now, idle_seconds, absolute_seconds
            ):
                log.info("sign-in: %s from %s succeeded", username, client)
                return {"session": session, "csrf": csrf, "user": found["user"]}
        elif found is None:
            self._passwords.verify(None, password)  # the same work as for a user who exists
        log.info("sign-in: %s from %s failed", shown, client)
        raise _refused()

    @rpc_method
    def check(self, session: str) -> dict[str, Any]:
        """The session's user, its CSRF token and when it ends: {"user", "csrf", "expires_at"}.

        An unknown, ended or expired session, or one whose user is disabled, is 403
        {"reason": "session"} (an expired one is deleted). expires_at is ISO 8601 UTC.
        """
        _service_only("check")
        key = id_hash(rules.session_id(session))
        accounts = self._store.accounts
        found = accounts.session(key)
        if found is None:
            raise _no_session()
        now = self._clock()
        seen_at = found["seen_at"]
        if (
            now - seen_at > found["idle_seconds"]
            or now - found["created_at"] > found["absolute_seconds"]
            or found["user"]["disabled"]
        ):
            accounts.end_session(key)
            raise _no_session()
        if now - seen_at >= SEEN_EVERY:
            accounts.touch_session(key, now)
            seen_at = now
        expires_at = min(seen_at + found["idle_seconds"], found["created_at"] + found["absolute_seconds"])
        return {"user": found["user"], "csrf": found["csrf"], "expires_at": audit.timestamp(expires_at)}

    @rpc_method
    def call_as(self, session: str, read: str, params: list[Any] | dict[str, Any] | None = None) -> dict[str, Any]:
        """Check the session, then make one read for its user: {"user", "csrf", "expires_at", "result"}.

        The session is checked as check() does it (403 {"reason": "session"}, and nothing
        is called). Then read, the name of a Grades.* or Users.* method that changes nothing,
        runs with params (a list or an object) for the session's user, exactly as a call naming
        that user in X-Acting-User: result is its answer, and its error is the answer's error.
        Any other method (a write) is -32601.
        """
        _service_only("call_as")
        if not isinstance(read, str):
            raise InvalidParams.field("read", "must be a method name (text)")
        if params is not None and not isinstance(params, (list, dict)):
            raise InvalidParams.field("params", "must be a list or an object")
        answer = self.check(session)
        # The user comes from the session grading just checked, never from what the caller says.
        with acting.acting_as(answer["user"]["username"]):
            result = self._calls.call(read, [] if params is None else params)
        if isinstance(result, RawJSON):
            # A read that answers JSON text already (get_student's cache): spliced in as it is, as the
            # read alone would send it, not decoded to be encoded again. The signature says what a
            # caller gets (rpc.discover's schema is read from it).
            return RawJSON(f'{json.dumps(answer)[:-1]}, "result": {result}}}')  # type: ignore[return-value]
        answer["result"] = result
        return answer

    @rpc_method
    def end(self, session: str) -> bool:
        """End the session (sign out); true, also for a session that had ended or never was."""
        _service_only("end")
        self._store.accounts.end_session(id_hash(rules.session_id(session)))
        return True
