"""Every portal route and error page, in-process against a real grading service."""

import argparse
import html
import re

import pytest
from helpers.grade_forms import INVALID_GRADE_FORMS
from helpers.signed_in import SESSION_COOKIE, make_user, portal_client, signed_in_over, with_a_session
from helpers.wsgi_client import WsgiClient

from portal.app import make_app
from portal.frame.csrf import CSRF_COOKIE
from portal.service import add_arguments
from rpc_cluster import Client

NOWHERE = "http://127.0.0.1:9/rpc"


def trace_in_footer(response):
    match = re.search(r"trace: <code>([0-9a-f]{32})</code>", response.text)
    assert match, "no trace id in the footer"
    assert response.header("X-Trace-Id") in (None, match.group(1))
    return match.group(1)


def test_root_redirects_to_students(portal):
    response = portal.get("/")
    assert response.status in (302, 303) and response.header("Location").endswith("/students")


def test_students_page_lists_names_counts_and_averages(portal):
    page = portal.get("/students")
    assert page.status == 200
    assert '<a href="/students/1">Carter, Nick</a>' in page.text
    assert "87.0" in page.text and "93.7" in page.text
    assert 'name="csrf_token"' in page.text
    trace_in_footer(page)


def test_every_page_has_its_own_trace(portal):
    assert trace_in_footer(portal.get("/students")) != trace_in_footer(portal.get("/students"))


def test_a_student_without_grades_shows_a_dash(portal, grading):
    grading.Grades.add_student("Ada", "Lovelace")
    page = portal.get("/students")
    row = page.text.split("Lovelace, Ada")[1].split("</tr>")[0]
    assert "—" in row
    assert "—" in portal.get("/students/6").text


def test_paging(portal, grading):
    for n in range(55):
        grading.Grades.add_student(f"P{n:02d}", "Pupil")
    first = portal.get("/students")
    assert "Page 1 of 2" in first.text and 'href="/students?page=2"' in first.text
    second = portal.get("/students?page=2")
    assert "Pupil, P54" in second.text and "Carter, Nick" not in second.text
    assert portal.get("/students?page=abc").status == 200  # a bad page number shows page 1
    assert "Page 1 of 2" in portal.get("/students?page=99").text
    # Only ASCII digits are a page number: '²'.isdigit() is true, int('²') fails, int('٢') is 2.
    for raw in ("%B2", "%C2%B2", "%D9%A2", "+2", "2%20", "2_0", "0"):
        page = portal.get(f"/students?page={raw}")
        assert page.status == 200 and "Page 1 of 2" in page.text, raw


def test_student_page(portal):
    page = portal.get("/students/2")
    assert page.status == 200
    assert "Roberto Baggio" in page.text and "Final Exam" in page.text
    for grade_type in ("Quiz", "Test", "Exam", "Homework"):
        assert f"<option>{grade_type}</option>" in page.text or f"<option selected>{grade_type}</option>" in page.text
    trace_in_footer(page)


def test_add_grade_is_post_redirect_get_with_a_flash(portal, grading):
    token = portal.get("/students/1").csrf()
    response = portal.post(
        "/students/1/grades", {"csrf_token": token, "title": "Quiz 3", "type": "Test", "score": "91.5"}
    )
    assert response.status == 303 and response.header("Location").endswith("/students/1#title")
    page = portal.get("/students/1")
    assert "Added Quiz 3 (Test, 91.5)." in page.text
    assert "Added Quiz 3" not in portal.get("/students/1").text  # the flash shows once
    assert grading.Grades.get_student(1)["grades"][-1]["title"] == "Quiz 3"


def test_a_double_click_stores_one_grade_and_one_student(portal, grading):
    page = portal.get("/students/1")
    form = {
        "csrf_token": page.csrf(),
        "request_id": page.request_ids()[0],
        "title": "Clicked twice",
        "type": "Quiz",
        "score": "77",
    }
    first, second = portal.post("/students/1/grades", form), portal.post("/students/1/grades", form)
    assert first.status == second.status == 303
    assert [g["title"] for g in grading.Grades.get_student(1)["grades"]].count("Clicked twice") == 1
    listing = portal.get("/students")
    form = {
        "csrf_token": listing.csrf(),
        "request_id": listing.request_ids()[0],
        "first_name": "Grace",
        "last_name": "Hopper",
    }
    first, second = portal.post("/students", form), portal.post("/students", form)
    assert first.header("Location") == second.header("Location")
    assert grading.Grades.count_students() == 6


def test_every_form_render_has_a_fresh_request_id(portal):
    ids = portal.get("/students/1").request_ids() + portal.get("/students/1").request_ids()
    assert len(ids) == 2 and len(set(ids)) == 2


@pytest.mark.parametrize("form, message", INVALID_GRADE_FORMS)
def test_invalid_grade_is_400_with_the_fields_error_and_stores_nothing(portal, grading, form, message):
    before = grading.Grades.get_student(1)["grades"]
    token = portal.get("/students/1").csrf()
    response = portal.post("/students/1/grades", dict(form, csrf_token=token))
    assert response.status == 400
    assert message in html.unescape(response.text)
    assert f'value="{html.escape(form["title"])}"' in response.text  # what was typed is kept
    assert grading.Grades.get_student(1)["grades"] == before


def test_post_without_or_with_a_wrong_csrf_token_is_403(portal, grading):
    before = grading.Grades.get_student(1)["grades"]
    portal.get("/students/1")
    assert portal.post("/students/1/grades", {"title": "Q", "type": "Quiz", "score": "5"}).status == 403
    wrong = portal.post("/students/1/grades", {"csrf_token": "x" * 43, "title": "Q", "type": "Quiz", "score": "5"})
    assert wrong.status == 403 and "expired" in wrong.text
    assert portal.post("/students", {"first_name": "A", "last_name": "B"}).status == 403
    fresh = WsgiClient(portal.app)  # no cookie at all
    assert (
        fresh.post("/students/1/grades", {"csrf_token": "t", "title": "Q", "type": "Quiz", "score": "5"}).status == 403
    )
    assert grading.Grades.get_student(1)["grades"] == before


GRADE = {"title": "Forged", "type": "Quiz", "score": "5"}


def test_a_token_is_good_only_for_its_own_session(portal, grading):
    before = grading.Grades.get_student(1)["grades"]
    token = portal.get("/students/1").csrf()
    assert token != portal.cookies[SESSION_COOKIE]  # the token is not the session id
    # Another page of the same site (127.0.0.1 on another port) can set the sign-in form's nonce cookie and
    # post the field: a signed-in form does not look at that cookie at all.
    forged = dict(portal.cookies, **{CSRF_COOKIE: "a" * 43})
    forger = WsgiClient(portal.app)
    forger.cookies = forged
    assert forger.post("/students/1/grades", dict(GRADE, csrf_token="a" * 43)).status == 403
    # Another user's session has its own token: neither is good for the other.
    other = portal_client(portal.app, make_user(grading, "admin"))
    assert other.post("/students/1/grades", dict(GRADE, csrf_token=token)).status == 403
    assert portal.post("/students/1/grades", dict(GRADE, csrf_token=other.get("/students/1").csrf())).status == 403
    assert grading.Grades.get_student(1)["grades"] == before
    assert portal.post("/students/1/grades", dict(GRADE, csrf_token=token)).status == 303


def test_the_sign_in_forms_token_is_good_only_where_its_secret_is(grading):
    account = make_user(grading, "admin")

    def posted(form_from, post_to):
        token = form_from.get("/login").csrf()
        post_to.cookies = dict(form_from.cookies)
        fields = {"csrf_token": token, "username": account.username, "password": account.password}
        return post_to.post("/login", fields).status

    one, other = WsgiClient(make_app(grading)), WsgiClient(make_app(grading))
    assert posted(one, other) == 403  # each portal has its own random secret
    # Portals behind one balancer share a configured secret, so either accepts the other's form.
    first, second = (WsgiClient(make_app(grading, secret=b"one class, two portals")) for _ in range(2))
    assert posted(first, second) == 303
    # The session it made is good on either: it lives in grading.
    assert second.get("/students/1").status == 200
    first.cookies = dict(second.cookies)
    assert first.get("/students/1").status == 200


def test_the_secret_comes_from_the_flag_or_the_environment_and_help_never_shows_it(monkeypatch, capsys):
    def parse(*argv):
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        return parser, parser.parse_args(argv)

    assert parse()[1].secret is None  # a random secret per process
    assert parse("--secret", "s" * 32)[1].secret.value == b"s" * 32
    monkeypatch.setenv("RPC_CLUSTER_PORTAL_SECRET", "e" * 32)
    parser, args = parse()
    assert args.secret.value == b"e" * 32 and "e" * 32 not in parser.format_help() + repr(args)
    monkeypatch.setenv("RPC_CLUSTER_PORTAL_SECRET", "short")
    with pytest.raises(SystemExit) as exit_:
        parse()
    assert exit_.value.code == 2 and "short" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.test"},
        {"X-Forwarded-Host": "evil.test"},
        {"Host": "evil.test:8080", "X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "https"},
    ],
)
def test_redirects_are_relative_whatever_the_host_says(portal, headers):
    home = portal.request("GET", "/", headers=headers)
    assert home.status in (302, 303) and home.header("Location") == "/students"
    token = portal.get("/students/1").csrf()
    added = portal.request("POST", "/students/1/grades", dict(GRADE, title="Quiz", csrf_token=token), headers=headers)
    assert added.status == 303 and added.header("Location") == "/students/1#title"
    student = portal.request(
        "POST", "/students", {"csrf_token": token, "first_name": "Ada", "last_name": "L"}, headers=headers
    )
    assert student.status == 303 and student.header("Location") == "/students/6"


def test_add_student(portal, grading):
    token = portal.get("/students").csrf()
    response = portal.post("/students", {"csrf_token": token, "first_name": " Grace ", "last_name": "Hopper"})
    assert response.status == 303 and response.header("Location").endswith("/students/6")
    assert "Added Grace Hopper." in portal.get("/students/6").text
    bad = portal.post("/students", {"csrf_token": token, "first_name": "", "last_name": "Hopper"})
    assert bad.status == 400 and "First name must not be empty" in bad.text
    assert grading.Grades.count_students() == 6


@pytest.mark.parametrize(
    "path",
    [
        "/students/999",
        "/students/abc",
        "/students/-1",
        "/students/0",
        "/students/99999999999999999999999",
        "/nope",
        "/students/²",
        "/students/%C2%B2",
        "/students/\u0661",
        "/students/\U0001d7cf",
        "/students/+1",
        "/students/1%20",
        "/students/1_0",
    ],
)
def test_unknown_or_non_numeric_student_is_a_404_page(portal, path):
    page = portal.get(path)
    assert page.status == 404
    assert "Not found" in page.text and "Traceback" not in page.text
    trace_in_footer(page)


def test_posting_a_grade_for_an_unknown_student_is_404(portal, grading):
    token = portal.get("/students").csrf()
    for student_id in ("999", "²", "\u0661"):
        assert (
            portal.post(
                f"/students/{student_id}/grades", {"csrf_token": token, "title": "Q", "type": "Quiz", "score": "5"}
            ).status
            == 404
        )
    assert [g["title"] for g in grading.Grades.get_student(1)["grades"]].count("Q") == 0


def test_wrong_method_is_405(portal):
    assert portal.request("DELETE", "/students/1").status == 405


def test_everything_is_escaped(portal, grading):
    grading.Grades.add_student("<script>alert(1)</script>", 'O\'Brien & "Co"')
    grading.Grades.add_grade(6, "<img src=x onerror=alert(2)>", "Quiz", 50)
    for path in ("/students", "/students/6"):
        page = portal.get(path).text
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
        assert "O&#x27;Brien &amp; &quot;Co&quot;" in page
        assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in portal.get("/students/6").text


def test_grading_unavailable_is_a_503_page(tmp_path):
    dead = Client("http://127.0.0.1:9/rpc")
    portal = with_a_session(WsgiClient(make_app(dead)))
    for path in ("/students", "/students/1"):
        page = portal.get(path)
        assert page.status == 503
        assert "not answering" in page.text and "Reload" in page.text and "Traceback" not in page.text
        trace_in_footer(page)


def test_unexpected_failure_is_a_500_page_without_traceback(portal):
    class Broken:
        def call(self, *args, **kwargs):
            raise KeyError("secret detail")

    page = with_a_session(WsgiClient(make_app(Broken()))).get("/students")
    assert page.status == 500 and "secret" not in page.text and "Traceback" not in page.text


def test_cluster_page(grading, registry_service, tmp_path):
    from rpc_cluster.logs.service import LogService

    with LogService(port=0, registry=NOWHERE, log_file=tmp_path / "d.log") as logs:
        Client(logs.url).Log.write("a <b>line</b> from the log", service_name="Tester")
        Client(registry_service.url).Registry.register("GradingService", "http://127.0.0.1:6123/rpc")
        portal = portal_client(
            make_app(grading, registry=Client(registry_service.url), logs=Client(logs.url)), make_user(grading)
        )
        page = portal.get("/cluster")
    assert page.status == 200
    assert "GradingService" in page.text and "http://127.0.0.1:6123/rpc" in page.text
    assert "a &lt;b&gt;line&lt;/b&gt; from the log" in page.text
    down = portal_client(make_app(grading, registry=Client(NOWHERE), logs=Client(NOWHERE)), make_user(grading))
    down = down.get("/cluster")
    assert down.status == 200 and "The registry is not answering." in down.text


class FakeRegistry:
    """``Registry.services()`` with ``count`` rows that count how often the page reads a field."""

    def __init__(self, count: int):
        self.reads = 0
        registry = self

        class Row(dict):
            def __getitem__(self, key):
                registry.reads += 1
                return super().__getitem__(key)

        # 40 names; every fourth row (so every row of Service0, 4, 8, ...) is critical.
        self.rows = [
            Row(
                service_name=f"Service{i % 40}",
                service_url=f"http://127.0.0.1:{10000 + i}/rpc",
                required_services=[],
                status="critical" if i % 4 == 0 else "passing",
                registered_at="2024-05-01T10:00:00",
                last_checked="2024-05-01T10:00:03",
                failures=2 if i % 4 == 0 else 0,
            )
            for i in range(count)
        ]

    def call(self, method, *args, **kwargs):
        assert method == "Registry.services"
        return self.rows


class FakeLogs:
    def call(self, method, *args, **kwargs):
        return []


def test_cluster_page_work_grows_linearly_with_the_services(grading):
    for count in (1000, 4000):
        registry = FakeRegistry(count)
        page = signed_in_over(grading, None, registry=registry, logs=FakeLogs()).get("/cluster")
        assert page.status == 200
        assert page.text.count('<tr class="instance">') == count
        per_name = count // 40
        # Service1's rows all pass; every row of Service0 is critical.
        assert f"{per_name} of {per_name}</span>" in page.text and f">0 of {per_name}</span>" in page.text
        # A few reads a row (sort, table, count); the old summary read every row once for each row.
        assert registry.reads <= 20 * count, registry.reads / count


def test_static_css(portal):
    css = portal.get("/static/style.css")
    assert css.status == 200 and "text/css" in css.header("Content-Type")
    assert portal.get("/static/../app.py").status in (403, 404)
