"""The accounts' plain rules: the values of users, when failures lock a username or a client out, and the
argon2id hashes (the same work with or without a user, a rehash when the parameters change)."""

from __future__ import annotations

import pytest

from rpc_cluster import InvalidParams
from rpc_cluster.grading.accounts import lockout, rules
from rpc_cluster.grading.accounts.passwords import MEMORY_COST, PARALLELISM, TIME_COST, Passwords

# -- the values --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "bob", "b.smith_2-x", "z" * 64, "0"])
def test_usernames_that_are_taken_as_they_are(name):
    assert rules.username(name) == name


@pytest.mark.parametrize("name", ["", "Bob", "bob smith", "z" * 65, "bøb", "bob\n", "bob/x", None, 7, ["bob"]])
def test_usernames_that_are_refused_name_the_field(name):
    with pytest.raises(InvalidParams) as info:
        rules.username(name)
    assert info.value.data["field"] == "username"


def test_a_sign_in_name_is_folded_to_lowercase_and_only_its_type_and_length_are_refused():
    assert rules.sign_in_name("  Bob ") == "bob"
    assert rules.sign_in_name("not a user name") == "not a user name"
    for bad in ("", "   ", "x" * 65, None, 3):
        with pytest.raises(InvalidParams) as info:
            rules.sign_in_name(bad)
        assert info.value.data["field"] == "username"


@pytest.mark.parametrize(
    "password",
    ["x" * 12, "x" * 128, "correct horse battery", "  spaces kept  ", "ünïcödé päss wörd", "tab\tand\nnewline ok"],
)
def test_passwords_of_12_to_128_characters_but_nul_are_taken_exactly(password):
    assert rules.password(password) == password


@pytest.mark.parametrize("password", ["x" * 11, "x" * 129, "twelve chars\0", "", None, 123456789012345])
def test_a_refused_password_is_named_and_never_repeated(password):
    with pytest.raises(InvalidParams) as info:
        rules.password(password)
    assert info.value.data["field"] == "password"
    if isinstance(password, str) and password:
        assert password not in str(info.value) and password not in repr(info.value.data)


def test_a_typed_password_may_be_short_but_not_longer_than_any_that_could_be_set():
    assert rules.typed_password("short") == "short"
    with pytest.raises(InvalidParams) as info:
        rules.typed_password("y" * 129)
    assert info.value.data["field"] == "password" and "yyy" not in str(info.value)


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), 366 * 24 * 3600 + 1, True, "60", None])
def test_session_lifetimes_are_positive_numbers_of_at_most_a_year(value):
    with pytest.raises(InvalidParams) as info:
        rules.seconds("idle_seconds", value)
    assert info.value.data["field"] == "idle_seconds"
    assert rules.seconds("idle_seconds", 1) == 1.0 and rules.seconds("absolute_seconds", 0.5) == 0.5


def test_roles_display_names_clients_and_session_ids():
    assert rules.role("teacher") == "teacher"
    with pytest.raises(InvalidParams):
        rules.role("owner")
    assert rules.display_name("  Ms Smith ") == "Ms Smith"
    for bad in ("", "x" * 101, "a\x07b"):
        with pytest.raises(InvalidParams):
            rules.display_name(bad)
    assert rules.client("2001:db8::1%eth0") == "2001:db8::1%eth0"
    with pytest.raises(InvalidParams):
        rules.client("")
    with pytest.raises(InvalidParams) as info:
        rules.session_id("s" * 201)
    assert "sss" not in str(info.value)


# -- the lockout rule --------------------------------------------------------------------------------------------


def test_five_failures_within_the_window_lock_for_a_window_from_the_fifth():
    times = [0.0, 100.0, 200.0, 300.0, 400.0]
    assert lockout.locked_until(times, 5) == 400.0 + lockout.WINDOW
    assert lockout.locked_until(times[:4], 5) is None
    assert lockout.retry_after(400.0, times, []) == 900
    assert lockout.retry_after(1299.5, times, []) == 1
    assert lockout.retry_after(1300.0, times, []) is None


def test_failures_spread_wider_than_the_window_lock_nothing():
    times = [0.0, 1.0, 2.0, 3.0, 901.0]
    assert lockout.locked_until(times, 5) is None
    # Five within one window, after the older ones, do.
    assert lockout.locked_until([*times, 902.0, 903.0, 904.0], 5) is None
    assert lockout.locked_until([*times, 902.0, 903.0, 904.0, 905.0], 5) == 905.0 + lockout.WINDOW


def test_the_lock_outlives_the_window_of_its_first_failures():
    # The first failure is older than a window long before the lock ends: the rows are kept for two windows.
    times = [0.0, 10.0, 20.0, 30.0, 899.0]
    assert lockout.retry_after(1700.0, times, []) == 99
    assert lockout.KEEP >= 2 * lockout.WINDOW


def test_a_client_is_locked_after_thirty_and_the_later_lock_decides():
    client = [float(i) for i in range(30)]
    assert lockout.retry_after(29.0, [], client[:29]) is None
    assert lockout.retry_after(29.0, [], client) == 900
    assert lockout.retry_after(29.0, [5.0, 6.0, 7.0, 8.0, 10.0], client) == 900


# -- the hashes --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def passwords():
    return Passwords()


def test_a_hash_is_argon2id_with_the_chosen_parameters_and_verifies(passwords):
    stored = passwords.hash("correct horse battery")
    assert stored.startswith(f"$argon2id$v=19$m={MEMORY_COST},t={TIME_COST},p={PARALLELISM}$")
    assert "correct horse battery" not in stored
    assert passwords.verify(stored, "correct horse battery")
    assert not passwords.verify(stored, "correct horse batterY")
    assert not passwords.needs_rehash(stored)


def test_no_hash_and_a_broken_hash_match_nothing(passwords):
    assert not passwords.verify(None, "")
    assert not passwords.verify(None, "anything at all")
    assert not passwords.verify("not a hash", "not a hash")
    assert passwords.needs_rehash("not a hash")


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


def test_without_a_hash_the_same_argon2_work_is_done(passwords, monkeypatch):
    spy = SpyHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", spy)
    stored = passwords.hash("correct horse battery")
    passwords.verify(stored, "wrong password")
    passwords.verify(None, "wrong password")
    # One verify each, the second against a hash made with the very same parameters.
    assert len(spy.verified) == 2 and spy.verified[1] != stored
    assert spy.verified[0].rsplit("$", 2)[0] == spy.verified[1].rsplit("$", 2)[0]


def test_a_hash_made_with_other_parameters_still_verifies_and_asks_for_a_rehash(passwords):
    older = Passwords(time_cost=1, memory_cost=8192).hash("correct horse battery")
    assert passwords.verify(older, "correct horse battery")
    assert passwords.needs_rehash(older)
