"""Signing in to the portal, in-process against a real grading service: the gate on every page, /login and
its ``next``, wrong passwords and the lockout, sessions that expire, sign-out, the session's cookie and
CSRF token, sessions shared by two portals, menus and pages by role, and logs that never hold a password
or a session id."""

import argparse
import logging
import re
import urllib.parse

import pytest
from helpers.signed_in import PASSWORD, SESSION_COOKIE, Recording, make_user, portal_client, sign_in
from helpers.waiting import wait_until
from helpers.wsgi_client import WsgiClient

from portal.app import make_app
from portal.frame.csrf import CSRF_COOKIE
from portal.service import add_arguments
from rpc_cluster import MethodNotFound

GRADE = {"title": "Quiz", "type": "Quiz", "score": "50"}
WRONG = "Wrong username or password."


@pytest.fixture
def app(grading):
    return make_app(grading)


@pytest.fixture
def admin(grading):
    return make_user(grading, "admin", display_name="Ada Admin")


def login_form(client, next_path=None):
    return client.get("/login" + ("?" + urllib.parse.urlencode({"next": next_path}) if next_path is not None else ""))


def post_login(client, username, password, next_path=None):
    form = {"csrf_token": login_form(client).csrf(), "username": username, "password": password}
    if next_path is not None:
        form["next"] = next_path
    return client.post("/login", form)


def cookie_header(response, name):
    return next(
        (value for key, value in response.headers if key.lower() == "set-cookie" and value.startswith(name + "=")),
        None,
    )


# -- the gate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/students", "/students/1", "/students?q=a&sort=-average", "/classes", "/classes/1", "/users",
     "/cluster", "/statistics", "/import", "/students.csv", "/grades/1/history", "/no/such/page"],
)  # fmt: skip
def test_a_get_without_a_session_is_sent_to_sign_in_and_back(app, admin, path):
    visitor = WsgiClient(app)
    answer = visitor.get(path)
    assert answer.status == 303
    location = answer.header("Location")
    assert location.startswith("/login?next=")
    next_path = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["next"][0]
    assert next_path == path
    form = visitor.get(location)
    assert form.status == 200 and 'name="next"' in form.text
    fields = {"csrf_token": form.csrf(), "username": admin.username, "password": admin.password, "next": next_path}
    assert visitor.post("/login", fields).header("Location") == path


def test_the_redirect_names_the_page_as_a_path(app):
    assert WsgiClient(app).get("/classes/1").header("Location") == "/login?next=/classes/1"


@pytest.mark.parametrize(
    "path",
    ["/students", "/students/1/grades", "/students/1/grades/1", "/import", "/classes", "/classes/1/students",
     "/users", "/logout", "/no/such/page"],
)  # fmt: skip
def test_a_post_without_a_session_is_403_and_stores_nothing(app, grading, path):
    before = grading.Grades.get_students()
    visitor = WsgiClient(app)
    token = login_form(visitor).csrf()  # even with the sign-in form's token and cookie
    answer = visitor.post(path, dict(GRADE, csrf_token=token, first_name="A", last_name="B"))
    assert answer.status == 403 and "not signed in" in answer.text
    assert grading.Grades.get_students() == before


def test_a_session_id_grading_does_not_know_is_no_session(app):
    visitor = WsgiClient(app)
    for value in ("s" * 43, "not a session", "x" * 200, ""):
        visitor.cookies[SESSION_COOKIE] = value
        answer = visitor.get("/students")
        assert answer.status == 303 and answer.header("Location") == "/login?next=/students"
    assert visitor.post("/students", {"first_name": "A", "last_name": "B"}).status == 403


def test_login_and_static_files_need_no_session(app):
    visitor = WsgiClient(app)
    page = visitor.get("/login")
    assert page.status == 200 and re.search(r"trace: <code>[0-9a-f]{32}</code>", page.text)
    assert '<label for="username">Username</label>' in page.text
    assert '<label for="password">Password</label>' in page.text
    assert 'name="password" type="password"' in page.text and 'action="/login"' in page.text
    assert 'href="/classes"' not in page.text and "Sign out" not in page.text  # no menu before signing in
    assert visitor.get("/static/style.css").status == 200


# -- signing in and out -----------------------------------------------------------------------------


def test_sign_in_goes_to_next_with_a_new_session_in_a_safe_cookie(app, admin, grading):
    visitor = WsgiClient(app)
    visitor.cookies[SESSION_COOKIE] = "planted-by-someone-else-" + "x" * 20
    answer = post_login(visitor, admin.username, admin.password, "/students?q=a")
    assert answer.status == 303 and answer.header("Location") == "/students?q=a"
    cookie = cookie_header(answer, SESSION_COOKIE)
    flags = [part.strip() for part in cookie.split(";")]
    assert {"HttpOnly", "SameSite=Lax", "Path=/"} <= set(flags) and "Secure" not in flags
    session = visitor.cookies[SESSION_COOKIE]
    assert session != "planted-by-someone-else-" + "x" * 20 and len(session) >= 43
    page = visitor.get("/students?q=a")
    assert page.status == 200 and "Ada Admin" in page.text
    # Signing in again gives a new id, and ends the session the browser had.
    again = post_login(visitor, admin.username, admin.password)
    assert again.status == 303 and again.header("Location") == "/"
    assert visitor.cookies[SESSION_COOKIE] != session
    stale = WsgiClient(app)
    stale.cookies[SESSION_COOKIE] = session
    assert stale.get("/students").status == 303


def test_the_session_cookie_is_secure_under_https(grading, admin):
    visitor = WsgiClient(make_app(grading, secure_cookies=True))
    answer = post_login(visitor, admin.username, admin.password)
    assert "Secure" in [part.strip() for part in cookie_header(answer, SESSION_COOKIE).split(";")]


def test_a_username_is_read_in_lower_case_and_trimmed(app, grading):
    account = make_user(grading, "teacher", username="tina.t")
    assert post_login(WsgiClient(app), "  Tina.T ", account.password).status == 303


@pytest.mark.parametrize(
    "hostile",
    ["//evil.test/", "/\\evil.test", "https://evil.test/", "http:evil.test", "javascript:alert(1)", "evil.test",
     "/\r\nSet-Cookie: x=1", "/students\x00", " /students", "/students\t", "\\\\evil.test", "/login", "/logout",
     "/" + "a" * 3000, "/é"],
)  # fmt: skip
def test_a_next_that_is_not_a_path_here_goes_home(app, admin, hostile):
    answer = post_login(WsgiClient(app), admin.username, admin.password, hostile)
    assert answer.status == 303 and answer.header("Location") == "/"
    form = login_form(WsgiClient(app), hostile)
    assert form.status == 200 and 'name="next" value="/"' in form.text


@pytest.mark.parametrize("good", ["/students?q=a&sort=-average", "/classes/7", "/students/1#title", "/%C3%A9"])
def test_a_next_that_is_a_path_here_is_followed(app, admin, good):
    answer = post_login(WsgiClient(app), admin.username, admin.password, good)
    assert answer.header("Location") == good


def test_a_wrong_password_and_an_unknown_user_get_one_answer(app, admin):
    wrong = post_login(WsgiClient(app), admin.username, "not the password at all")
    unknown = post_login(WsgiClient(app), "nobody-at-all", "not the password at all")
    for answer in (wrong, unknown):
        assert answer.status == 403 and WRONG in answer.text
        assert "not the password at all" not in answer.text
        assert SESSION_COOKIE not in dict(answer.headers).get("Set-Cookie", "")
    assert wrong.text.count(WRONG) == unknown.text.count(WRONG) == 1
    assert f'value="{admin.username}"' in wrong.text  # the username stays typed, the password never


def test_a_blank_field_is_a_400_that_asks_for_both(app):
    for username, password in (("", PASSWORD), ("someone", ""), ("", "")):
        answer = post_login(WsgiClient(app), username, password)
        assert answer.status == 400 and "Enter your username and your password." in answer.text


def test_a_sign_in_form_without_its_token_is_403(app, admin):
    visitor = WsgiClient(app)
    login_form(visitor)
    answer = visitor.post("/login", {"username": admin.username, "password": admin.password})
    assert answer.status == 403 and SESSION_COOKIE not in visitor.cookies
    # The token is bound to the browser's nonce cookie: another browser's is refused.
    other = WsgiClient(app)
    other.cookies[CSRF_COOKIE] = "b" * 43
    fields = {"csrf_token": login_form(visitor).csrf(), "username": admin.username, "password": admin.password}
    assert other.post("/login", fields).status == 403


def test_five_failures_lock_the_username_out_even_with_the_right_password(app, grading, admin):
    other = make_user(grading, "teacher")
    visitor = WsgiClient(app)
    for _ in range(5):
        assert post_login(visitor, admin.username, "a wrong password").status == 403
    locked = post_login(visitor, admin.username, admin.password)
    assert locked.status == 429
    assert "Too many failed sign-ins. Try again in 15 minutes." in locked.text
    assert 800 < int(locked.header("Retry-After")) <= 900
    assert SESSION_COOKIE not in visitor.cookies
    # Only that username: another signs in from the same browser.
    assert post_login(visitor, other.username, other.password).status == 303


def test_sign_out_ends_the_session(app, admin):
    client = portal_client(app, admin)
    session = client.cookies[SESSION_COOKIE]
    page = client.get("/students")
    assert '<form method="post" action="/logout"' in page.text
    assert client.post("/logout", {}).status == 403  # without the session's token: refused, still signed in
    assert client.get("/students").status == 200
    answer = client.post("/logout", {"csrf_token": page.csrf()})
    assert answer.status == 303 and answer.header("Location") == "/login"
    assert SESSION_COOKIE not in client.cookies
    assert "You have signed out." in client.get("/login").text
    again = WsgiClient(app)
    again.cookies[SESSION_COOKIE] = session  # the old id, kept by someone: worth nothing now
    assert again.get("/students").status == 303


# -- expiry -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{"session_idle": 1.0}, {"session_max": 1.0}])
def test_a_session_expires_then_the_page_asks_to_sign_in_again(grading, admin, settings):
    client = portal_client(make_app(grading, **settings), admin)
    assert client.get("/students").status == 200
    token = client.get("/students").csrf()
    # Grading checks both limits on every page: an hour's idle or a day's total, here a second.
    ended = wait_until(lambda: (page := client.get("/students/1")).status == 303 and page, 10, message="expiry")
    assert ended.header("Location") == "/login?next=/students/1"
    assert "Your session has ended. Sign in again." in client.get(ended.header("Location")).text
    assert client.post("/students/1/grades", dict(GRADE, csrf_token=token)).status == 403


def test_the_session_flags_and_their_environment_variables(monkeypatch, capsys):
    def parse(*argv):
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        return parser, parser.parse_args(argv)

    parser, args = parse()
    assert (args.session_idle, args.session_max) == (3600.0, 43200.0)
    text = " ".join(parser.format_help().split())
    assert "RPC_CLUSTER_PORTAL_SESSION_IDLE" in text and "RPC_CLUSTER_PORTAL_SESSION_MAX" in text
    assert parse("--session-idle", "600", "--session-max", "7200")[1].session_idle == 600.0
    monkeypatch.setenv("RPC_CLUSTER_PORTAL_SESSION_MAX", "90")
    assert parse()[1].session_max == 90.0
    for bad in ("0", "-5", "soon", "nan", "inf", str(367 * 24 * 3600)):
        with pytest.raises(SystemExit) as exit_:
            parse("--session-idle", bad)
        assert exit_.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


# -- two portals, one session -----------------------------------------------------------------------


def test_a_session_made_on_one_portal_works_on_another_and_signing_out_ends_it_on_both(grading, admin):
    one, other = make_app(grading), make_app(grading)  # each with its own random secret
    first = portal_client(one, admin)
    second = WsgiClient(other)
    second.cookies = {SESSION_COOKIE: first.cookies[SESSION_COOKIE]}
    page = second.get("/students/1")
    assert page.status == 200 and "Ada Admin" in page.text
    # The form's token is the session's, also good on the first portal.
    assert page.csrf() == first.get("/students/1").csrf()
    assert (
        first.post("/students/1/grades", dict(GRADE, title="From the other portal", csrf_token=page.csrf())).status
        == 303
    )
    assert second.post("/logout", {"csrf_token": page.csrf()}).status == 303
    assert first.get("/students/1").status == 303
    assert first.post("/students/1/grades", dict(GRADE, csrf_token=page.csrf())).status == 403


# -- roles ------------------------------------------------------------------------------------------


def menu(page) -> list[str]:
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page.text, re.S).group(1)
    return re.findall(r'<a href="([^"]+)"', nav)


def test_menus_by_role_with_the_users_name_and_a_sign_out_button(app, grading, admin):
    teacher = make_user(grading, "teacher", display_name="Tom <Teacher>")
    as_admin, as_teacher = portal_client(app, admin), portal_client(app, teacher)
    admin_page, teacher_page = as_admin.get("/students"), as_teacher.get("/students")
    assert menu(teacher_page) == ["/classes", "/students", "/import", "/statistics"]
    assert menu(admin_page) == ["/classes", "/students", "/import", "/statistics", "/users", "/cluster"]
    assert "Tom &lt;Teacher&gt;" in teacher_page.text and "Ada Admin" in admin_page.text
    for page in (admin_page, teacher_page):
        form = re.search(r'<form method="post" action="/logout".*?</form>', page.text, re.S).group(0)
        assert 'name="csrf_token"' in form and '<button type="submit">Sign out</button>' in form


def test_a_teacher_gets_403_on_the_admin_pages(app, grading):
    teacher = make_user(grading, "teacher")
    client = portal_client(app, teacher)
    token = client.get("/students").csrf()
    for path in ("/users", "/cluster", f"/users/{teacher.username}/password"):
        answer = client.get(path)
        assert answer.status == 403 and "Forbidden" in answer.text, path
    for path, form in (
        ("/users", {"username": "eve", "role": "admin", "password": PASSWORD, "password_again": PASSWORD}),
        (f"/users/{teacher.username}/password", {"password": PASSWORD * 2, "password_again": PASSWORD * 2}),
        (f"/users/{teacher.username}/disabled", {"disabled": "1"}),
        ("/classes", {"name": "Mine now", "teacher": teacher.username}),
        ("/classes/1/enrolments", {"student_id": "1"}),
    ):
        assert client.post(path, dict(form, csrf_token=token)).status == 403, path
    assert [u["username"] for u in grading.Users.list()].count("eve") == 0
    assert "Mine now" not in [c["name"] for c in grading.Grades.list_classes()]


# -- secrets stay out of the logs ----------------------------------------------------------------------


def test_no_password_or_session_id_reaches_a_log_line(app, grading, caplog):
    caplog.set_level(logging.DEBUG)
    secret_password = "a password nobody may log " + "x" * 8
    account = make_user(grading, "teacher", password=secret_password)
    visitor = WsgiClient(app)
    post_login(visitor, account.username, "the wrong one, also secret")
    post_login(visitor, "no-such-user", secret_password)
    sign_in(visitor, account, next_path="/students?q=a")
    session = visitor.cookies[SESSION_COOKIE]
    token = visitor.get("/students").csrf()
    visitor.post("/logout", {"csrf_token": token})
    lines = [record.getMessage() for record in caplog.records]
    lines += [str(record.args) for record in caplog.records]
    lines += [caplog.text]
    assert any("POST /login" in line for line in lines)  # the request was logged, by its path
    for secret in (secret_password, "the wrong one, also secret", session, token):
        assert not [line for line in lines if secret in line], secret


# -- one round trip for the check and the first read ---------------------------------------------------


def test_a_page_checks_its_session_with_its_first_read_in_one_call(grading, admin):
    recording = Recording(grading)
    client = portal_client(make_app(recording), admin)
    recording.calls.clear()
    page = client.get("/students/1")
    assert page.status == 200 and "Ada Admin" in page.text and page.csrf()
    assert recording.calls == ["Sessions.call_as Grades.get_student"]
    recording.calls.clear()
    # A page that needs its user first (a post's CSRF token) checks alone, then writes as that user.
    added = client.post("/students/1/grades", dict(GRADE, csrf_token=page.csrf()))
    assert added.status == 303 and recording.calls == ["Sessions.check", "Grades.add_grade"]
    assert grading.Grades.history("grade", grading.Grades.get_student(1)["grades"][-1]["id"])[0]["user"] == (
        admin.username
    )


def test_a_page_that_only_redirects_still_checks_its_session_first(grading, admin):
    recording = Recording(grading)
    app = make_app(recording)
    client = portal_client(app, admin)
    recording.calls.clear()
    home = client.get("/")
    assert (home.status, home.header("Location"), recording.calls) == (303, "/students", ["Sessions.check"])
    grading.Sessions.end(client.cookies[SESSION_COOKIE])
    ended = client.get("/")
    assert (ended.status, ended.header("Location")) == (303, "/login?next=/")


def test_an_ended_session_gets_no_read_and_the_sign_in_page(grading, admin):
    client = portal_client(make_app(grading), admin)
    grading.Sessions.end(client.cookies[SESSION_COOKIE])
    for path in ("/students", "/students/1", "/statistics"):
        page = client.get(path)
        assert (page.status, page.header("Location")) == (303, "/login?next=" + path), path


def test_a_read_grading_refuses_is_the_403_page_for_the_signed_in_user(grading):
    teacher = make_user(grading, "teacher", display_name="Tom Teacher")
    recording = Recording(grading)
    client = portal_client(make_app(recording), teacher)
    recording.calls.clear()
    page = client.get("/students/1")  # in no class of theirs
    assert page.status == 403 and "Tom Teacher" in page.text and page.csrf()
    # The check passed inside call_as but its answer went with the refusal: the 403 page asks again.
    assert recording.calls == ["Sessions.call_as Grades.get_student", "Sessions.check"]


class BeforeCallAs(Recording):
    """A grading instance from before ``Sessions.call_as``: it answers every other method."""

    def call(self, method, *args, **kwargs):
        if method == "Sessions.call_as":
            self.calls.append(method)
            raise MethodNotFound("Method not found", "Sessions.call_as")
        return super().call(method, *args, **kwargs)


def test_a_grading_without_call_as_gets_the_check_alone_then_the_read(grading, admin):
    older = BeforeCallAs(grading)
    client = portal_client(make_app(older), admin)
    older.calls.clear()
    page = client.get("/students/1")
    assert page.status == 200 and "Ada Admin" in page.text
    assert older.calls == ["Sessions.call_as", "Sessions.check", "Grades.get_student"]
    grading.Sessions.end(client.cookies[SESSION_COOKIE])
    assert client.get("/students/1").status == 303
