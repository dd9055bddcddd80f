"""Hostile sign-ins: a sign-in forced on a browser by another page of the same site, names and passwords
that are not text a database or argon2 can take, and many wrong passwords sent at once."""

from __future__ import annotations

import threading

import pytest
from helpers.signed_in import SESSION_COOKIE, make_user
from helpers.wsgi_client import WsgiClient

from portal.app import make_app
from portal.frame.csrf import CSRF_COOKIE


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
