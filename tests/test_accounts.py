"""``Users.*`` and ``Sessions.*`` over a real store (SQLite and PostgreSQL), in-process with a clock the
tests move: who may call them, the audit of every change, the lockout, expiry, and that no password,
hash or session id is kept or logged where it should not be."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass

import pytest

from rpc_cluster import Conflict, InvalidParams, NotFound
from rpc_cluster.client.acting import acting_as
from rpc_cluster.grading.accounts import lockout
from rpc_cluster.grading.accounts import store as accounts_store
from rpc_cluster.grading.accounts.passwords import Passwords
from rpc_cluster.grading.accounts.sessions import SEEN_EVERY, Sessions
from rpc_cluster.grading.accounts.users import Users
from rpc_cluster.grading.open_store import open_store
from rpc_cluster.grading.storage import audit
from rpc_cluster.grading.storage.measured import MeasuredStore
from rpc_cluster.observability.metrics import ServiceMetrics

PASSWORD = "correct horse battery"
START = 1_800_000_000.0


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SpyHasher:
    """An argon2 PasswordHasher that notes each hash it verifies against."""

    def __init__(self, hasher):
        self.hasher = hasher
        self.verified = []

    def verify(self, stored, password):
        self.verified.append(stored)
        return self.hasher.verify(stored, password)

    def __getattr__(self, name):
        return getattr(self.hasher, name)


@dataclass
class Accounts:
    store: MeasuredStore
    metrics: ServiceMetrics
    users: Users
    sessions: Sessions
    clock: Clock
    passwords: Passwords

    def read(self, sql, args=()):
        return self.store.store._read(sql, args)

    def user_id(self, username):
        return self.store.user_row(username)[0]

    def history(self, username):
        return audit.history(self.store.store._read, "user", self.user_id(username))

    def sign_in(self, username, password=PASSWORD, client="10.0.0.1", idle=3600, absolute=43200):
        return self.sessions.sign_in(username, password, client, idle, absolute)

    def count(self, operation):
        text = self.metrics.exposition().decode()
        prefix = f'grading_store_operation_duration_seconds_count{{operation="{operation}"}} '
        return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


@pytest.fixture(scope="module")
def passwords():
    return Passwords()


@pytest.fixture
def accounts(store_url, passwords):
    metrics = ServiceMetrics("GradingService")
    store = MeasuredStore(open_store(store_url), metrics)
    clock = Clock()
    try:
        yield Accounts(
            store, metrics, Users(store, passwords, clock), Sessions(store, passwords, clock), clock, passwords
        )
    finally:
        store.close()


def refusal(call) -> dict:
    """The error object of a call that must be refused."""
    with pytest.raises(Exception) as info:
        call()
    return info.value.to_error_object()


# -- users -------------------------------------------------------------------------------------------------------


def test_users_are_added_listed_updated_and_each_change_is_audited_without_a_hash(accounts):
    users = accounts.users
    assert users.add("b-c", "teacher", PASSWORD, "  Ms B ") == {
        "username": "b-c",
        "display_name": "Ms B",
        "role": "teacher",
        "disabled": False,
    }
    users.add("ab", "admin", PASSWORD)
    users.add("a.b", "teacher", PASSWORD)
    assert [u["username"] for u in users.list_users()] == ["a.b", "ab", "b-c"]
    assert users.list_users()[1]["display_name"] == "ab"
    assert users.update("b-c", display_name="Ms Bee") == {**users.list_users()[2], "display_name": "Ms Bee"}
    assert users.update("b-c", role="admin")["role"] == "admin"
    assert users.update("b-c") == users.list_users()[2]  # nothing to change: no entry
    assert users.set_password("b-c", "another long password") is True
    assert users.disable("b-c")["disabled"] is True
    assert users.disable("b-c", disabled=False)["disabled"] is False
    entries = accounts.history("b-c")
    assert [(e["action"], e["before"], e["after"], e["user"]) for e in entries] == [
        (
            "create",
            None,
            {"username": "b-c", "display_name": "Ms B", "role": "teacher", "disabled": False},
            "(service)",
        ),
        ("update", {"display_name": "Ms B"}, {"display_name": "Ms Bee"}, "(service)"),
        ("update", {"role": "teacher"}, {"role": "admin"}, "(service)"),
        ("update", {"password": "(set)"}, {"password": "(changed)"}, "(service)"),
        ("update", {"disabled": False}, {"disabled": True}, "(service)"),
        ("update", {"disabled": True}, {"disabled": False}, "(service)"),
    ]
    stored_hash = accounts.read("SELECT password_hash FROM users WHERE username = ?", ("b-c",))[0][0]
    everything = json.dumps(accounts.read("SELECT * FROM audit"), default=str)
    assert stored_hash.startswith("$argon2id$") and "argon2" not in everything and PASSWORD not in everything


def test_a_taken_username_is_409_and_a_bad_value_names_its_field_without_repeating_a_password(accounts):
    accounts.users.add("bob", "teacher", PASSWORD)
    with pytest.raises(Conflict) as info:
        accounts.users.add("bob", "admin", PASSWORD)
    assert info.value.data == {"username": "bob"}
    for args, field in (
        (("Bob", "teacher", PASSWORD), "username"),
        (("carol", "owner", PASSWORD), "role"),
        (("carol", "teacher", "short pass"), "password"),
        (("carol", "teacher", "nul in the middle\0 of it"), "password"),
        (("carol", "teacher", "p" * 129), "password"),
        (("carol", "teacher", PASSWORD, ""), "display_name"),
    ):
        error = refusal(lambda args=args: accounts.users.add(*args))
        assert error["code"] == -32602 and error["data"]["field"] == field
        assert args[2] not in json.dumps(error)
    assert [u["username"] for u in accounts.users.list_users()] == ["bob"]
    with pytest.raises(NotFound) as info:
        accounts.users.set_password("nobody", PASSWORD)
    assert info.value.data == {"username": "nobody"}
    for call in (lambda: accounts.users.disable("nobody"), lambda: accounts.users.update("nobody", role="admin")):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(InvalidParams):
        accounts.users.disable("bob", disabled="yes")


def test_users_methods_need_an_admin_or_the_service_and_record_who_acted(accounts):
    accounts.users.add("root", "admin", PASSWORD)
    accounts.users.add("tess", "teacher", PASSWORD)
    calls = {
        "add": lambda: accounts.users.add("eve", "admin", PASSWORD),
        "set_password": lambda: accounts.users.set_password("root", PASSWORD + "!"),
        "disable": lambda: accounts.users.disable("root"),
        "update": lambda: accounts.users.update("tess", role="admin"),
        "list": accounts.users.list_users,
    }
    for name, call in calls.items():
        with acting_as("tess"):
            assert refusal(call) == {
                "code": 403,
                "message": f"Users.{name} is for admins",
                "data": {"method": f"Users.{name}"},
            }
        for stranger in ("ghost", "Root", "root x"):
            with acting_as(stranger):
                assert refusal(call)["data"] == {"user": stranger}
    accounts.users.disable("tess")
    with acting_as("tess"):
        assert refusal(calls["list"])["data"] == {"user": "tess"}
    with acting_as("root"):
        assert accounts.users.add("eve", "teacher", PASSWORD)["username"] == "eve"
        accounts.users.update("eve", display_name="Eve")
    assert [(e["action"], e["user"]) for e in accounts.history("eve")] == [("create", "root"), ("update", "root")]
    # Nothing the refused calls asked for happened.
    assert {u["username"]: u["role"] for u in accounts.users.list_users()} == {
        "eve": "teacher",
        "root": "admin",
        "tess": "teacher",
    }


def test_the_last_enabled_admin_can_be_neither_disabled_nor_demoted(accounts):
    accounts.users.add("ann", "admin", PASSWORD)
    accounts.users.add("ben", "admin", PASSWORD)
    accounts.users.disable("ann")
    with pytest.raises(Conflict) as info:
        accounts.users.disable("ben")
    assert info.value.data == {"username": "ben"}
    with pytest.raises(Conflict):
        accounts.users.update("ben", role="teacher")
    # A disabled admin may lose the role; enabled again, either may go.
    assert accounts.users.update("ann", role="teacher")["role"] == "teacher"
    accounts.users.update("ann", role="admin")
    accounts.users.disable("ann", disabled=False)
    assert accounts.users.update("ben", role="teacher")["role"] == "teacher"
    enabled_admins = [u for u in accounts.users.list_users() if u["role"] == "admin" and not u["disabled"]]
    assert [u["username"] for u in enabled_admins] == ["ann"]


def test_two_admins_disabling_each_other_at_once_leave_one_enabled(accounts):
    for round_ in range(4):
        names = (f"x{round_}", f"y{round_}")
        for name in names:
            accounts.users.add(name, "admin", PASSWORD)
        for user in accounts.users.list_users():
            if user["username"] not in names and user["role"] == "admin":
                accounts.users.update(user["username"], role="teacher")
        barrier = threading.Barrier(2)
        outcomes = []

        def disable(name, barrier=barrier, outcomes=outcomes):
            barrier.wait()
            try:
                accounts.users.disable(name)
                outcomes.append("disabled")
            except Conflict:
                outcomes.append("refused")

        threads = [threading.Thread(target=disable, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(outcomes) == ["disabled", "refused"]
        assert sum(not u["disabled"] for u in accounts.users.list_users() if u["username"] in names) == 1


# -- sessions ----------------------------------------------------------------------------------------------------


def test_a_session_is_signed_in_checked_and_ended_and_only_its_hash_is_kept(accounts):
    accounts.users.add("bob", "teacher", PASSWORD, "Bob")
    started = accounts.sign_in("  BoB ", client="192.0.2.7", idle=600, absolute=3600)
    user = {"username": "bob", "display_name": "Bob", "role": "teacher", "disabled": False}
    assert started["user"] == user
    assert len(started["session"]) == 43 and len(started["csrf"]) == 43 and started["session"] != started["csrf"]
    stored = accounts.read("SELECT id_hash, client, created_at, seen_at, idle_seconds, absolute_seconds FROM sessions")
    assert stored == [(hashlib.sha256(started["session"].encode()).hexdigest(), "192.0.2.7", START, START, 600, 3600)]
    assert started["session"] not in json.dumps(accounts.read("SELECT * FROM sessions"))
    assert accounts.sessions.check(started["session"]) == {
        "user": user,
        "csrf": started["csrf"],
        "expires_at": audit.timestamp(START + 600),
    }
    second = accounts.sign_in("bob")
    assert second["session"] != started["session"]
    assert accounts.sessions.end(started["session"]) is True
    assert refusal(lambda: accounts.sessions.check(started["session"]))["data"] == {"reason": "session"}
    assert accounts.sessions.check(second["session"])["user"] == user
    assert accounts.sessions.end(started["session"]) is True and accounts.sessions.end("never made") is True
    for bogus in ("", "x" * 43, started["csrf"]):
        assert refusal(lambda bogus=bogus: accounts.sessions.check(bogus)) == {
            "code": 403,
            "message": "no such session, or it has ended",
            "data": {"reason": "session"},
        }


def test_sessions_methods_refuse_any_acting_user(accounts):
    accounts.users.add("root", "admin", PASSWORD)
    session = accounts.sign_in("root")["session"]
    with acting_as("root"):
        for name, call in (
            ("sign_in", lambda: accounts.sign_in("root")),
            ("check", lambda: accounts.sessions.check(session)),
            ("end", lambda: accounts.sessions.end(session)),
        ):
            assert refusal(call)["data"] == {"method": f"Sessions.{name}"}
    assert accounts.sessions.check(session)["user"]["username"] == "root"


def test_every_refused_sign_in_is_the_same_error_after_the_same_argon2_work(accounts, monkeypatch):
    accounts.users.add("bob", "teacher", PASSWORD)
    accounts.users.add("dis", "teacher", PASSWORD)
    accounts.users.add("nopass", "teacher", PASSWORD)
    accounts.users.disable("dis")
    accounts.store.store.accounts._transaction(
        lambda tx: tx.rows("UPDATE users SET password_hash = NULL WHERE username = ?", ("nopass",))
    )
    spy = SpyHasher(accounts.passwords._hasher)
    monkeypatch.setattr(accounts.passwords, "_hasher", spy)
    errors = []
    for username, password in (
        ("nobody", PASSWORD),
        ("bob", PASSWORD + "x"),
        ("dis", PASSWORD),
        ("nopass", PASSWORD),
        ("Not A Valid Name!", PASSWORD),
    ):
        before = len(spy.verified)
        errors.append(refusal(lambda u=username, p=password: accounts.sign_in(u, p)))
        assert len(spy.verified) == before + 1, username  # exactly one argon2 verify, whatever the cause
    assert all(
        e == {"code": 403, "message": "wrong username or password", "data": {"reason": "sign_in"}} for e in errors
    )
    parameters = {stored.rsplit("$", 2)[0] for stored in spy.verified}
    assert len(parameters) == 1  # each verify against a hash of the same parameters
    assert accounts.sign_in("bob")["user"]["username"] == "bob"


def test_five_failures_lock_a_username_for_fifteen_minutes_from_the_fifth(accounts):
    accounts.users.add("bob", "teacher", PASSWORD)
    for attempt in range(5):
        # Typed in any case, the failures count for the one username.
        assert refusal(lambda a=attempt: accounts.sign_in("BOB" if a % 2 else "bob", "wrong password!"))["code"] == 403
        accounts.clock.advance(60)
    locked = refusal(lambda: accounts.sign_in("bob"))  # the right password, refused all the same
    assert locked == {"code": 429, "message": "too many failed sign-ins", "data": {"retry_after": 900 - 60}}
    # Other usernames and the same client are not locked.
    accounts.users.add("ann", "teacher", PASSWORD)
    assert accounts.sign_in("ann")["user"]["username"] == "ann"
    accounts.clock.advance(900 - 60 - 1)
    assert refusal(lambda: accounts.sign_in("bob"))["data"] == {"retry_after": 1}
    accounts.clock.advance(1)
    assert accounts.sign_in("bob")["user"]["username"] == "bob"


def test_an_unknown_username_is_locked_the_same_way(accounts):
    for _ in range(5):
        assert refusal(lambda: accounts.sign_in("Ghost", PASSWORD))["code"] == 403
    assert refusal(lambda: accounts.sign_in("ghost", PASSWORD))["data"] == {"retry_after": 900}
    accounts.users.add("ghost", "teacher", PASSWORD)  # made now: still locked for the rest of the lock
    assert refusal(lambda: accounts.sign_in("ghost", PASSWORD))["code"] == 429


def test_a_success_clears_the_usernames_failures(accounts):
    accounts.users.add("bob", "teacher", PASSWORD)
    for _ in range(4):
        refusal(lambda: accounts.sign_in("bob", "wrong password!"))
    accounts.sign_in("bob")
    for _ in range(4):
        refusal(lambda: accounts.sign_in("bob", "wrong password!"))
    assert accounts.sign_in("bob")["user"]["username"] == "bob"


def test_thirty_failures_from_one_client_lock_that_client_only(accounts):
    accounts.users.add("bob", "teacher", PASSWORD)
    for n in range(30):
        # Thirty usernames, one failure each: no username is locked, the client is.
        assert refusal(lambda n=n: accounts.sign_in(f"guess{n}", PASSWORD, client="203.0.113.9"))["code"] == 403
    assert refusal(lambda: accounts.sign_in("bob", client="203.0.113.9")) == {
        "code": 429,
        "message": "too many failed sign-ins",
        "data": {"retry_after": 900},
    }
    assert accounts.sign_in("bob", client="203.0.113.10")["user"]["username"] == "bob"
    accounts.clock.advance(900)
    assert accounts.sign_in("bob", client="203.0.113.9")["user"]["username"] == "bob"


def test_failures_are_deleted_once_they_can_no_longer_lock_anything(accounts):
    for _ in range(3):
        refusal(lambda: accounts.sign_in("old", PASSWORD))
    accounts.clock.advance(lockout.KEEP + 1)
    refusal(lambda: accounts.sign_in("new", PASSWORD))
    assert accounts.read("SELECT username FROM sign_in_failures") == [("new",)]


def test_a_disabled_user_cannot_sign_in_and_their_sessions_end(accounts):
    accounts.users.add("root", "admin", PASSWORD)
    accounts.users.add("bob", "teacher", PASSWORD)
    sessions = [accounts.sign_in("bob")["session"] for _ in range(2)]
    keeps = accounts.sign_in("root")["session"]
    accounts.users.disable("bob")
    for session in sessions:
        assert refusal(lambda s=session: accounts.sessions.check(s))["data"] == {"reason": "session"}
    assert accounts.read("SELECT COUNT(*) FROM sessions")[0][0] == 1
    assert refusal(lambda: accounts.sign_in("bob"))["data"] == {"reason": "sign_in"}
    assert accounts.sessions.check(keeps)["user"]["username"] == "root"
    accounts.users.disable("bob", disabled=False)
    assert accounts.sessions.check(accounts.sign_in("bob")["session"])["user"]["username"] == "bob"


def test_a_user_disabled_by_plain_sql_has_their_session_refused_and_deleted(accounts):
    accounts.users.add("bob", "teacher", PASSWORD)
    session = accounts.sign_in("bob")["session"]
    accounts.store.store.accounts._transaction(lambda tx: tx.rows("UPDATE users SET disabled = ?", (True,)))
    assert refusal(lambda: accounts.sessions.check(session))["data"] == {"reason": "session"}
    assert accounts.read("SELECT COUNT(*) FROM sessions")[0][0] == 0


def test_a_new_password_ends_every_session_of_that_user(accounts):
    accounts.users.add("bob", "teacher", PASSWORD)
    accounts.users.add("ann", "teacher", PASSWORD)
    bob, ann = accounts.sign_in("bob")["session"], accounts.sign_in("ann")["session"]
    accounts.users.set_password("bob", "a brand new password")
    assert refusal(lambda: accounts.sessions.check(bob))["data"] == {"reason": "session"}
    assert accounts.sessions.check(ann)["user"]["username"] == "ann"
    assert refusal(lambda: accounts.sign_in("bob"))["code"] == 403
    assert accounts.sign_in("bob", "a brand new password")["user"]["username"] == "bob"


def test_a_session_ends_after_its_idle_seconds_without_a_check(accounts):
    accounts.users.add("bob", "teacher", PASSWORD)
    session = accounts.sign_in("bob", idle=600, absolute=3600)["session"]
    accounts.clock.advance(600)
    assert accounts.sessions.check(session)["expires_at"] == audit.timestamp(accounts.clock.now + 600)
    accounts.clock.advance(600)
    accounts.sessions.check(session)  # each check moves the idle deadline
    accounts.clock.advance(600.5)
    assert refusal(lambda: accounts.sessions.check(session))["data"] == {"reason": "session"}
    assert accounts.read("SELECT COUNT(*) FROM sessions")[0][0] == 0  # deleted, not only refused


def test_a_session_ends_absolute_seconds_after_sign_in_however_busy(accounts):
    accounts.users.add("bob", "teacher", PASSWORD)
    session = accounts.sign_in("bob", idle=600, absolute=1000)["session"]
    for _ in range(2):
        accounts.clock.advance(500)
        assert accounts.sessions.check(session)["expires_at"] == audit.timestamp(START + 1000)
    accounts.clock.advance(0.5)
    assert refusal(lambda: accounts.sessions.check(session))["data"] == {"reason": "session"}
    assert accounts.read("SELECT COUNT(*) FROM sessions")[0][0] == 0


def test_a_session_is_written_at_most_once_a_minute_however_often_it_is_checked(accounts):
    accounts.users.add("bob", "teacher", PASSWORD)
    session = accounts.sign_in("bob")["session"]
    for _ in range(10):
        accounts.clock.advance(5)
        accounts.sessions.check(session)
    assert accounts.count("touch_session") == 0 and accounts.count("session") == 10
    assert accounts.read("SELECT seen_at FROM sessions") == [(START,)]
    accounts.clock.advance(SEEN_EVERY - 50)
    accounts.sessions.check(session)
    accounts.sessions.check(session)
    assert accounts.count("touch_session") == 1
    assert accounts.read("SELECT seen_at FROM sessions") == [(START + SEEN_EVERY,)]


def test_expired_sessions_nobody_checks_again_are_deleted_at_a_later_sign_in(accounts):
    accounts.users.add("bob", "teacher", PASSWORD)
    accounts.sign_in("bob", idle=60, absolute=3600)
    kept = accounts.sign_in("bob", idle=600, absolute=3600)["session"]
    accounts.clock.advance(61)
    accounts.sign_in("bob")
    assert accounts.read("SELECT COUNT(*) FROM sessions")[0][0] == 2
    assert accounts.sessions.check(kept)["user"]["username"] == "bob"


def test_a_hash_with_old_parameters_is_replaced_at_the_next_sign_in(accounts, passwords):
    cheap = Users(accounts.store, Passwords(time_cost=1, memory_cost=8192), accounts.clock)
    cheap.add("bob", "teacher", PASSWORD)
    stored = lambda: accounts.read("SELECT password_hash FROM users")[0][0]  # noqa: E731
    assert stored().startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    accounts.sign_in("bob")
    assert not passwords.needs_rehash(stored()) and passwords.verify(stored(), PASSWORD)
    assert accounts.sign_in("bob")["user"]["username"] == "bob"
    assert [e["action"] for e in accounts.history("bob")] == ["create"]  # a rehash changes nothing a user sees


def test_the_measured_store_shows_every_account_operation_from_the_start(accounts):
    text = accounts.metrics.exposition().decode()
    assert all(f'operation="{name}"' in text for name in accounts_store.OPERATIONS)
    accounts.users.add("bob", "teacher", PASSWORD)
    accounts.users.list_users()
    assert accounts.count("add_user") == 1 and accounts.count("list_users") == 1


def test_no_log_record_holds_a_password_a_session_id_or_a_csrf_token(accounts, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = [PASSWORD, "second password here", "password in the wrong box"]
    accounts.users.add("bob", "teacher", PASSWORD)
    refusal(lambda: accounts.users.add("ann", "teacher", "too short"))
    started = accounts.sign_in("bob")
    secrets += [started["session"], started["csrf"], "too short"]
    refusal(lambda: accounts.sign_in("bob", "wrong: " + PASSWORD))
    refusal(lambda: accounts.sign_in("password in the wrong box", PASSWORD))
    accounts.sessions.check(started["session"])
    accounts.users.set_password("bob", "second password here")
    refusal(lambda: accounts.sessions.check(started["session"]))
    accounts.sessions.end(started["session"])
    for _ in range(5):
        refusal(lambda: accounts.sign_in("bob", "wrong again!"))
    refusal(lambda: accounts.sign_in("bob", "second password here"))
    lines = [f"{record.getMessage()} {record.args!r}" for record in caplog.records]
    assert any("sign-in: bob from 10.0.0.1 failed" in line for line in lines)
    assert any("sign-in: bob from 10.0.0.1 succeeded" in line for line in lines)
    assert any("sign-in: (an unknown username) from 10.0.0.1 failed" in line for line in lines)
    assert any("locked out" in line for line in lines)
    leaks = [(secret, line) for secret in secrets for line in lines if secret in line]
    assert leaks == []
