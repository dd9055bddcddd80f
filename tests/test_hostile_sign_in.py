"""Hostile sign-ins: a sign-in forced on a browser by another page of the same site, names and passwords
that are not text a database or argon2 can take, and many wrong passwords sent at once."""

from __future__ import annotations

import threading

import pytest
from helpers.signed_in import SESSION_COOKIE, make_user
from helpers.wsgi_client import WsgiClient

from portal.app import make_app
from portal.frame.csrf import CSRF_COOKIE
from rpc_cluster import InvalidParams, TooManyRequests
from rpc_cluster.core.errors import Forbidden
from rpc_cluster.grading.accounts import lockout
from rpc_cluster.grading.accounts.passwords import Passwords
from rpc_cluster.grading.accounts.sessions import Sessions
from rpc_cluster.grading.accounts.users import Users
from rpc_cluster.grading.open_store import open_store

PASSWORD = "correct horse battery"


@pytest.fixture
def app(grading):
    return make_app(grading)


def attacker_pair(app):
    """What anyone gets from GET /login: a nonce cookie and the form's token signed for it."""
    attacker = WsgiClient(app)
    token = attacker.get("/login").csrf()
    return attacker.cookies[CSRF_COOKIE], token


@pytest.mark.parametrize("site", ["same-site", "cross-site"])
def test_a_page_of_another_origin_cannot_sign_a_browser_in_with_a_planted_nonce(app, grading, site):
    # Another port of the same host (or a sibling subdomain) may set the nonce cookie in the victim's
    # browser and post the sign-in form with the token it got for that nonce: the victim would then
    # work in the attacker's account. The browser says where the post comes from, and no page can
    # forge that header.
    mallory = make_user(grading, "teacher")
    nonce, token = attacker_pair(app)
    victim = WsgiClient(app)
    victim.cookies[CSRF_COOKIE] = nonce
    fields = {"csrf_token": token, "username": mallory.username, "password": mallory.password}
    answer = victim.request("POST", "/login", fields, headers={"Sec-Fetch-Site": site})
    assert answer.status == 403 and SESSION_COOKIE not in victim.cookies
    # The same form from the portal's own page, or typed by hand by a client that sends no such header.
    for same in ({"Sec-Fetch-Site": "same-origin"}, {}):
        signed_in = WsgiClient(app)
        signed_in.cookies[CSRF_COOKIE] = nonce
        assert signed_in.request("POST", "/login", fields, headers=same).status == 303
        assert SESSION_COOKIE in signed_in.cookies


# -- text no database or argon2 takes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "bob\x00"), ("username", "bob\ud800"), ("password", "a long password \ud800")],
)
def test_a_sign_in_with_text_no_store_can_hold_is_refused_by_field_not_an_internal_error(store_url, field, value):
    # A NUL in a username reaches PostgreSQL, and a lone surrogate (valid JSON: "\ud800") reaches
    # SQLite and argon2: each raised, answering -32603 with a traceback in the log.
    store = open_store(store_url)
    try:
        passwords = Passwords()
        Users(store, passwords).add("bob", "teacher", PASSWORD)
        fields = {"username": "bob", "password": PASSWORD, field: value}
        with pytest.raises(InvalidParams) as info:
            Sessions(store, passwords).sign_in(fields["username"], fields["password"], "10.0.0.1", 60, 60)
        assert info.value.data["field"] == field
        assert "\ud800" not in str(info.value.to_error_object()) and "\x00" not in str(info.value.to_error_object())
        with pytest.raises(InvalidParams) as info:
            Users(store, passwords).add("carol", "teacher", "a long password \ud800")
        assert info.value.data["field"] == "password"
    finally:
        store.close()


def test_a_nul_in_the_username_box_is_a_wrong_username_on_the_portal(app):
    visitor = WsgiClient(app)
    token = visitor.get("/login").csrf()
    answer = visitor.post("/login", {"csrf_token": token, "username": "bob\x00", "password": "any password at all"})
    assert answer.status == 403 and "Wrong username or password." in answer.text


# -- many guesses at once ----------------------------------------------------------------------------------


def test_wrong_passwords_sent_at_once_are_checked_no_more_often_than_the_lockout_allows(store_url):
    # Each sign-in read the failures before checking its password and counted its own after: guesses
    # sent together all passed the first read, so sixteen at once were sixteen passwords checked.
    guesses = 16
    store = open_store(store_url)
    try:
        passwords = Passwords()
        Users(store, passwords).add("bob", "teacher", PASSWORD)
        sessions = Sessions(store, passwords)
        start = threading.Barrier(guesses)
        refusals: list[type[Exception]] = []

        def guess(n: int) -> None:
            start.wait(30)
            try:
                sessions.sign_in("bob", f"wrong guess {n}", f"10.0.0.{n}", 60, 60)
            except (Forbidden, TooManyRequests) as exc:
                refusals.append(type(exc))

        threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert refusals.count(Forbidden) == lockout.USERNAME_LIMIT
        assert refusals.count(TooManyRequests) == guesses - lockout.USERNAME_LIMIT
        with pytest.raises(TooManyRequests):
            sessions.sign_in("bob", PASSWORD, "10.0.0.99", 60, 60)
    finally:
        store.close()
