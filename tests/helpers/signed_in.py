"""Signed-in clients of the portal: a user made through grading, and a session for each kind of client.

Every portal page but /login and /static needs a session. A test makes a user with the
service's own authority (``Users.add`` on a client that sends no acting user, as the CLI
does), then signs its client in through the real form:

- ``sign_in(client, account)``: a ``WsgiClient`` (in-process) or an ``HttpBrowser`` (over HTTP);
- ``portal_client(app_or_grading, account)``: a new ``WsgiClient``, signed in;
- ``sign_in_page(page, base, account)``: a Chromium page, through the form;
- ``sign_in_context(context, base, account)``: a Chromium context given a session made over HTTP
  (quicker, for tests about other pages);
- ``Recording(grading)``: a grading client that records the methods a page calls, a session's check
  riding on a read as ``"Sessions.call_as <read>"``.
"""

from __future__ import annotations

import secrets
import urllib.parse
from dataclasses import dataclass
from typing import Any

from helpers.http_browser import HttpBrowser
from helpers.waiting import wait_until
from helpers.wsgi_client import Response, WsgiClient

# Long enough for grading's rule (12 or more characters).
PASSWORD = "correct horse battery staple"
SESSION_COOKIE = "portal_session"


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    role: str


def make_user(
    grading: Any, role: str = "admin", username: str | None = None, password: str = PASSWORD, **extra: Any
) -> Account:
    """A new user of ``role`` (``Users.add`` through ``grading``, a client with the service's authority)."""
    username = username or f"{role}-{secrets.token_hex(4)}"
    grading.call("Users.add", username=username, role=role, password=password, **extra)
    return Account(username, password, role)


def sign_in(client: WsgiClient | HttpBrowser, account: Account, next_path: str = "/", *, wait: float = 0) -> Response:
    """Sign ``client`` in through /login's form; the 303 it answered.

    ``wait``: seconds to keep trying while the portal answers 503 (a portal just started, which has
    not yet heard of a grading instance from the registry).
    """

    def attempt() -> Response:
        form = client.get("/login?" + urllib.parse.urlencode({"next": next_path}))
        assert form.status == 200, form.text[-500:]
        fields = {"username": account.username, "password": account.password, "next": next_path}
        return client.post("/login", dict(fields, csrf_token=form.csrf()))

    def answered() -> Response | None:
        tried = attempt()
        return tried if tried.status != 503 else None

    answer = wait_until(answered, wait, interval=0.2, message="the portal to answer") if wait else attempt()
    assert answer.status == 303, (answer.status, answer.text[-500:])
    assert SESSION_COOKIE in client.cookies
    return answer


def portal_client(app: Any, account: Account) -> WsgiClient:
    """A ``WsgiClient`` of ``app`` (a portal Bottle app) signed in as ``account``."""
    client = WsgiClient(app)
    sign_in(client, account)
    return client


def sign_in_page(page: Any, base: str, account: Account, next_path: str = "/") -> None:
    """Sign a Chromium ``page`` in through the form, as a teacher would; it ends on ``next_path``."""
    page.goto(base + "/login?" + urllib.parse.urlencode({"next": next_path}))
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    with page.expect_navigation():
        page.click("button:has-text('Sign in')")
    assert "/login" not in page.url, page.inner_text("main")


def sign_in_context(context: Any, base: str, account: Account, ca: str | None = None) -> None:
    """Give a Chromium ``context`` a session of ``account``, made by signing in over HTTP."""
    http = HttpBrowser(base, ca=ca)
    sign_in(http, account)
    context.add_cookies([{"name": SESSION_COOKIE, "value": http.cookies[SESSION_COOKIE], "url": base}])


class Split:
    """A grading client for a portal over a stand-in: users and sessions go to the real ``grading``,
    every other call to ``other`` (a fake, or a grading that is down or broken)."""

    def __init__(self, grading: Any, other: Any):
        self.grading = grading
        self.other = other

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        target = self.grading if method.startswith(("Sessions.", "Users.")) else self.other
        return target.call(method, *args, **kwargs)


def signed_in_over(grading: Any, other: Any, **options: Any) -> WsgiClient:
    """A signed-in ``WsgiClient`` of a portal whose gradebook calls go to ``other`` (``Split``)."""
    from portal.app import make_app

    return portal_client(make_app(Split(grading, other), **options), make_user(grading))


def with_a_session(client: WsgiClient) -> WsgiClient:
    """``client`` with a session cookie of the right shape, so a page asks grading about it (for a
    portal whose grading is down or broken: the page then says so, instead of sending it to sign in)."""
    client.cookies[SESSION_COOKIE] = "s" * 43
    return client


class Recording:
    """A grading client that records each call's method (``Sessions.call_as`` with the read it carries)."""

    def __init__(self, client: Any):
        self.client = client
        self.calls: list[str] = []

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(f"{method} {kwargs['read']}" if method == "Sessions.call_as" else method)
        return self.client.call(method, *args, **kwargs)
