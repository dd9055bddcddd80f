"""The portal's answers to a form sent twice, to a stale edit, to odd searches, page numbers and file names,
and the pages' shared conventions; in-process against a real grading service. Each page is also checked by
the Nu HTML Checker (one run for all)."""

import html
import json
import logging
import re
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from portal import grades_csv
from portal.frame import flash, text

QUIZ = {"title": "Quiz", "type": "Quiz", "score": "50"}


@pytest.fixture
def no_tracebacks(caplog):
    """Fails the test if the portal logged a traceback (an exception) or an error."""
    caplog.set_level(logging.INFO, logger="portal")
    yield
    bad = [
        r.getMessage()[:200]
        for r in caplog.records
        if r.name.startswith("portal") and (r.exc_info or r.levelno >= logging.ERROR)
    ]
    assert bad == []


def hidden(page, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]*)"', page.text)


def edit_form(page) -> dict:
    """The open edit form's fields, as the browser would post them."""
    form = re.search(r'<form method="post" action="[^"]*" class="card edit".*?</form>', page.text, re.S).group(0)
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", form):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    fields["type"] = re.search(r"<option selected>([^<]+)</option>", form).group(1)
    return fields


def titles(grading, student_id=1) -> list[str]:
    return [g["title"] for g in grading.Grades.get_student(student_id)["grades"]]


# -- a form sent again with other values (Back, then Add) ----------------------------------------


def test_a_grade_form_sent_again_with_other_values_is_a_409_page_offering_it_again(portal, grading, no_tracebacks):
    page = portal.get("/students/1")
    token, request_id = page.csrf(), page.request_ids()[-1]
    first = portal.post("/students/1/grades", dict(QUIZ, title="Essay", csrf_token=token, request_id=request_id))
    assert first.status == 303
    again = portal.post(
        "/students/1/grades",
        {"title": "Essay v2", "type": "Exam", "score": "61.5", "csrf_token": token, "request_id": request_id},
    )
    assert again.status == 409, again.text[:500]
    assert "This form was already used: it added Essay (Quiz, 50)." in again.text
    assert "Nothing was added now." in again.text
    # The form again, as typed, with a new request_id: sending it adds the second grade, once.
    assert 'id="title" name="title" value="Essay v2"' in again.text
    assert 'id="score" name="score" inputmode="decimal" autocomplete="off"\n       value="61.5"' in again.text
    assert "<option selected>Exam</option>" in again.text
    fresh = again.request_ids()[-1]
    assert fresh != request_id
    assert titles(grading).count("Essay") == 1 and "Essay v2" not in titles(grading)
    assert (
        portal.post(
            "/students/1/grades",
            {"title": "Essay v2", "type": "Exam", "score": "61.5", "csrf_token": token, "request_id": fresh},
        ).status
        == 303
    )
    assert titles(grading).count("Essay") == 1 and titles(grading).count("Essay v2") == 1


def test_an_import_form_sent_again_with_another_file_is_a_409_page(portal, grading, no_tracebacks):
    page = portal.get("/import")
    form = {"csrf_token": page.csrf(), "request_id": page.request_ids()[0]}
    first = portal.upload("/import", form, {"file": ("a.csv", b"student_id,title,type,score\n1,From A,Quiz,70\n")})
    assert first.status == 303
    again = portal.upload(
        "/import", form, {"file": ("b.csv", b"student_id,title,type,score\n1,From B,Quiz,80\n2,From B,Quiz,81\n")}
    )
    assert again.status == 409, again.text[:500]
    assert "This form was already used: it imported 1 grade. Nothing was imported now." in again.text
    assert "File: b.csv" in again.text
    assert again.request_ids()[0] != form["request_id"]
    assert titles(grading).count("From A") == 1 and "From B" not in titles(grading)


def test_an_add_student_form_sent_again_with_other_names_is_a_409_page(portal, grading, no_tracebacks):
    page = portal.get("/students")
    form = {"csrf_token": page.csrf(), "request_id": page.request_ids()[0]}
    assert portal.post("/students", dict(form, first_name="Ada", last_name="Lovelace")).status == 303
    again = portal.post("/students", dict(form, first_name="Grace", last_name="Hopper"))
    assert again.status == 409
    assert "This form was already used: it added Ada Lovelace." in again.text
    assert 'value="Grace"' in again.text and again.request_ids()[0] != form["request_id"]
    assert grading.Grades.count_students() == 6


# -- lost updates ---------------------------------------------------------------------------------


def test_pages_with_editable_data_are_not_cached(portal, grading):
    grade = grading.Grades.get_student(1)["grades"][0]
    for path in (
        "/students",
        "/students?q=nick",
        "/students/1",
        f"/students/1?edit={grade['id']}",
        f"/students/1/grades/{grade['id']}/delete",
        "/import",
        "/statistics",
    ):
        assert portal.get(path).header("Cache-Control") == "no-store", path


def test_the_edit_form_carries_the_exact_stored_values(portal, grading):
    grade = grading.Grades.add_grade(1, 'A "quoted" & <odd> title', "Test", 100 / 3)
    form = edit_form(portal.get(f"/students/1?edit={grade['id']}"))
    assert form["expected_title"] == 'A "quoted" & <odd> title'
    assert form["expected_type"] == "Test"
    assert float(form["expected_score"]) == 100 / 3  # exact: not "33.3" or "33.3333"
    confirm = portal.get(f"/students/1/grades/{grade['id']}/delete")
    assert float(hidden(confirm, "expected_score")[0]) == 100 / 3


def test_saving_an_old_form_after_back_is_a_409_not_a_silent_revert(portal, grading, no_tracebacks):
    grade = grading.Grades.add_grade(1, "Lab", "Homework", 50)
    old = edit_form(portal.get(f"/students/1?edit={grade['id']}"))
    assert portal.post(f"/students/1/grades/{grade['id']}", dict(old, score="55")).status == 303
    # Back shows the form opened at 50; Save sends it again.
    stale = portal.post(f"/students/1/grades/{grade['id']}", dict(old, score="50"))
    assert stale.status == 409, stale.text[:500]
    assert grading.Grades.get_student(1)["grades"][-1]["score"] == 55
    assert "This grade was changed after you opened the form. Nothing was saved." in stale.text
    compare = re.search(r'<table class="compare">.*?</table>', stale.text, re.S).group(0)
    assert re.search(r"Score</th><td>55</td><td>50</td>", compare)


def test_two_editors_the_second_sees_the_first_ones_change_then_can_apply_theirs(portal, grading, no_tracebacks):
    grade = grading.Grades.add_grade(1, "Midterm", "Exam", 80)
    form_a = edit_form(portal.get(f"/students/1?edit={grade['id']}"))
    grading.Grades.update_grade(grade["id"], score=95)  # teacher B
    refused = portal.post(f"/students/1/grades/{grade['id']}", dict(form_a, title="Midterm exam"))
    assert refused.status == 409
    assert grading.Grades.get_student(1)["grades"][-1] == dict(grade, score=95)
    compare = re.search(r'<table class="compare">.*?</table>', refused.text, re.S).group(0)
    assert "Title</th><td>Midterm</td><td>Midterm exam</td>" in compare
    assert "Score</th><td>95</td><td>80</td>" in compare
    # The form offered applies the typed values over the current ones: its expected is what is stored now.
    offered = edit_form(refused)
    assert (offered["title"], offered["score"]) == ("Midterm exam", "80")
    assert (offered["expected_title"], offered["expected_score"]) == ("Midterm", "95")
    assert portal.post(f"/students/1/grades/{grade['id']}", offered).status == 303
    assert grading.Grades.get_student(1)["grades"][-1] == dict(grade, title="Midterm exam", score=80)


def test_an_invalid_edit_shown_again_still_carries_the_values_it_was_opened_with(portal, grading):
    grade = grading.Grades.add_grade(1, "Lab", "Homework", 50)
    old = edit_form(portal.get(f"/students/1?edit={grade['id']}"))
    grading.Grades.update_grade(grade["id"], score=70)
    invalid = portal.post(f"/students/1/grades/{grade['id']}", dict(old, score="abc"))
    assert invalid.status == 400
    assert edit_form(invalid)["expected_score"] == "50"


def test_deleting_a_grade_changed_since_the_confirmation_is_a_409_page(portal, grading, no_tracebacks):
    grade = grading.Grades.add_grade(1, "Retake", "Test", 40)
    confirm = portal.get(f"/students/1/grades/{grade['id']}/delete")
    form = {
        "csrf_token": confirm.csrf(),
        **{f"expected_{f}": hidden(confirm, f"expected_{f}")[0] for f in ("title", "type", "score")},
    }
    grading.Grades.update_grade(grade["id"], score=90)
    refused = portal.post(f"/students/1/grades/{grade['id']}/delete", form)
    assert refused.status == 409
    assert "Nothing was deleted" in refused.text and "You saw Retake (Test, 40)" in refused.text
    assert "<dt>Score</dt><dd>90</dd>" in refused.text
    assert grade["id"] in [g["id"] for g in grading.Grades.get_student(1)["grades"]]
    again = {
        "csrf_token": confirm.csrf(),
        **{f"expected_{f}": hidden(refused, f"expected_{f}")[0] for f in ("title", "type", "score")},
    }
    assert portal.post(f"/students/1/grades/{grade['id']}/delete", again).status == 303
    assert grade["id"] not in [g["id"] for g in grading.Grades.get_student(1)["grades"]]


# -- searches, page numbers, file names -----------------------------------------------------------


@pytest.mark.parametrize("query", ["%00abc", "abc%00", "%01", "a%1Fb", "a%C2%85b", "%7F"])
def test_a_search_with_a_control_character_is_a_400_with_a_message(portal, query, no_tracebacks):
    page = portal.get(f"/students?q={query}")
    assert page.status == 400, page.text[:300]
    assert "Search must not contain control characters" in page.text


@pytest.mark.parametrize("query", ["%ED%A0%80", "%FF", "%FF%FE", "abc%E9"])
def test_a_search_that_is_not_utf8_is_a_400_naming_the_search(portal, query, no_tracebacks):
    # A lone surrogate's UTF-8 form (ED A0 80) is invalid too. Bottle reads such a query as "": no search at all.
    page = portal.get(f"/students?q={query}")
    assert page.status == 400, page.text[:300]
    assert "Search is not valid text (UTF-8)" in page.text and "Carter, Nick" not in page.text


@pytest.mark.parametrize(
    "number",
    [
        "999999999999999999",
        "184467440737095517",
        "184467440737095516",
        "9223372036854775807",
        "99999999999999999999999999",
        "2",
    ],
)
def test_a_page_past_the_last_shows_page_1(portal, number, no_tracebacks):
    for path in (f"/students?page={number}", f"/students?page={number}&q=a&sort=-average"):
        page = portal.get(path)
        assert page.status == 200, (path, page.text[:300])
        assert "Carter, Nick" in page.text or "san, zhangsan" in page.text


def test_an_import_with_a_4211_character_file_name_is_stored_once_and_answered(portal, grading, no_tracebacks):
    page = portal.get("/import")
    name = "é" * 4207 + ".csv"
    done = portal.upload(
        "/import",
        {"csrf_token": page.csrf(), "request_id": page.request_ids()[0]},
        {"file": (name, b"student_id,title,type,score\n1,Long name,Quiz,70\n")},
    )
    assert done.status == 303, done.text[:300]
    cookie = portal.cookies[flash.FLASH_COOKIE]
    assert len(cookie) <= flash.FLASH_BYTES
    shown = portal.get("/import").text
    assert "Imported 1 grade for 1 student from éééé" in shown and "é" * 100 not in shown
    assert titles(grading).count("Long name") == 1


@pytest.mark.parametrize("message", ["x" * 10_000, "😀" * 5_000, "é" * 299 + "😀" * 3, "%" * 1_000])
def test_a_flash_message_always_fits_its_cookie(message):
    value = flash.cookie_value(message)
    assert len(value) <= flash.FLASH_BYTES
    shown = urllib.parse.unquote(value)
    assert message.startswith(shown.removesuffix("…")) and len(shown) > 200


def test_a_short_flash_message_is_kept_whole():
    assert urllib.parse.unquote(flash.cookie_value("Added Quiz 3 (Quiz, 91.5).")) == "Added Quiz 3 (Quiz, 91.5)."


# -- the add-student form, names, numbers, skip link ----------------------------------------------


def test_both_blank_names_are_flagged_focused_and_described(portal, grading):
    token = portal.get("/students").csrf()
    page = portal.post("/students", {"csrf_token": token, "first_name": " ", "last_name": ""})
    assert page.status == 400
    for field, label in (("first_name", "First name"), ("last_name", "Last name")):
        tag = re.search(rf'<input id="{field}"[^>]*>', page.text).group(0)
        assert 'aria-invalid="true"' in tag and f'aria-describedby="{field}-error"' in tag
        assert f'<p class="error" id="{field}-error">{label} must not be empty</p>' in page.text
    assert "autofocus" in re.search(r'<input id="first_name"[^>]*>', page.text).group(0)
    assert "autofocus" not in re.search(r'<input id="last_name"[^>]*>', page.text).group(0)
    assert grading.Grades.count_students() == 5


def test_a_name_longer_than_the_limit_is_refused_whole_never_cut(portal, grading):
    page = portal.get("/students")
    assert "maxlength" not in re.search(r'<input id="first_name"[^>]*>', page.text).group(0)
    assert "(at most 100 characters)" in page.text
    long = "N" * 200
    refused = portal.post("/students", {"csrf_token": page.csrf(), "first_name": long, "last_name": "Long"})
    assert refused.status == 400
    assert "First name must be at most 100 characters" in refused.text
    assert f'value="{long}"' in refused.text  # what was typed, whole
    assert grading.Grades.count_students() == 5


def test_the_list_shows_names_as_it_sorts_them(portal):
    page = portal.get("/students")
    names = re.findall(r'<td><a href="/students/\d+">([^<]+)</a></td>', page.text)
    assert names[:2] == ["Baggio, Roberto", "Carter, Nick"]
    assert "Name (last, first)" in page.text


def test_every_count_is_written_the_same_way(portal, grading):
    rows = "".join(f"1,Q{n},Quiz,{n % 100}\n" for n in range(1_234))
    grading.Grades.import_grades("student_id,title,type,score\n" + rows)
    students = portal.get("/students").text
    assert re.search(r'<td class="num">1,2\d\d</td>', students)
    assert re.search(r"· 1,2\d\d grades", portal.get("/students/1").text)
    statistics = portal.get("/statistics").text
    assert re.search(r'<dd id="grades-count">1,2\d\d</dd>', statistics)


def test_every_page_has_a_skip_link_and_adding_a_grade_returns_to_the_form(portal, grading):
    grade = grading.Grades.get_student(1)["grades"][0]
    for path in (
        "/students",
        "/students/1",
        f"/students/1?edit={grade['id']}",
        "/import",
        "/statistics",
        f"/students/1/grades/{grade['id']}/delete",
        "/students/abc",
    ):
        page = portal.get(path)
        assert '<a class="skip-link" href="#main">Skip to main content</a>' in page.text, path
        assert '<main id="main"' in page.text
    token = portal.get("/students/1").csrf()
    added = portal.post("/students/1/grades", dict(QUIZ, csrf_token=token))
    assert added.header("Location") == "/students/1#title"


# -- valid HTML ------------------------------------------------------------------------------------


def test_the_new_page_states_pass_the_nu_html_checker(portal, grading, tmp_path):
    from test_portal_html import checker

    command = checker()
    grade = grading.Grades.add_grade(1, "Checked", "Quiz", 64)
    page = portal.get("/students/1")
    token, request_id = page.csrf(), page.request_ids()[-1]
    portal.post("/students/1/grades", dict(QUIZ, csrf_token=token, request_id=request_id))
    form = edit_form(portal.get(f"/students/1?edit={grade['id']}"))
    confirm = portal.get(f"/students/1/grades/{grade['id']}/delete")
    grading.Grades.update_grade(grade["id"], score=65)
    imports = portal.get("/import")
    import_form = {"csrf_token": token, "request_id": imports.request_ids()[0]}
    portal.upload("/import", import_form, {"file": ("a.csv", b"student_id,title,type,score\n1,A,Quiz,1\n")})
    pages = {
        "add-used": portal.post(
            "/students/1/grades", dict(QUIZ, title="Other", csrf_token=token, request_id=request_id)
        ),
        "edit-conflict": portal.post(f"/students/1/grades/{grade['id']}", dict(form, title="Mine")),
        "delete-conflict": portal.post(
            f"/students/1/grades/{grade['id']}/delete",
            {
                "csrf_token": token,
                **{f"expected_{f}": hidden(confirm, f"expected_{f}")[0] for f in ("title", "type", "score")},
            },
        ),
        "import-used": portal.upload("/import", import_form, {"file": ("b.csv", b"student_id,title,type,score\n")}),
        "students-both-blank": portal.post("/students", {"csrf_token": token, "first_name": "", "last_name": ""}),
        "students-control": portal.get("/students?q=%00abc"),
        "student-add-invalid": portal.post("/students/1/grades", dict(QUIZ, title="", score="x", csrf_token=token)),
    }
    folder = tmp_path / "pages"
    folder.mkdir()
    for name, answer in pages.items():
        assert answer.status in (400, 409), (name, answer.status)
        (folder / f"{name}.html").write_text(answer.text, encoding="utf-8")
    (folder / "canary.html").write_text("<!doctype html><title>x</title><p><div>block in a paragraph</p>")
    done = subprocess.run(
        [*command, "--format", "json", "--stdout", *sorted(map(str, folder.iterdir()))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    messages = json.loads(done.stdout)["messages"]
    errors = [
        (Path(m.get("url", "")).name, f"line {m.get('lastLine')}: {m['message']}")
        for m in messages
        if m["type"] == "error" or m.get("subType") == "fatal"
    ]
    assert "canary.html" in {name for name, _ in errors}
    ours = [f"{name}: {text}" for name, text in errors if name != "canary.html"]
    assert ours == [], "\n".join(ours)


# -- what is not UTF-8, forged flash messages, loose scores, figures that are not numbers ----------


def multipart(fields: list[tuple[bytes, bytes]], filename: bytes | None = None) -> tuple[bytes, str]:
    """A multipart body of raw ``(name, value)`` parts (bytes, any encoding), the last one a file when
    ``filename`` is given; and its content type."""
    boundary = "----hostile0123456789"
    parts = []
    for index, (name, value) in enumerate(fields):
        disposition = b'Content-Disposition: form-data; name="' + name + b'"'
        if filename is not None and index == len(fields) - 1:
            disposition += b'; filename="' + filename + b'"\r\nContent-Type: text/csv'
        parts.append(b"--" + boundary.encode() + b"\r\n" + disposition + b"\r\n\r\n" + value + b"\r\n")
    return b"".join(parts) + b"--" + boundary.encode() + b"--\r\n", f"multipart/form-data; boundary={boundary}"


def stored(grading) -> tuple:
    """Everything a form could change: the students, and student 1's grades."""
    return (grading.Grades.list_students(limit=100)["total"], grading.Grades.get_student(1)["grades"])


@pytest.mark.parametrize(
    "path",
    ["/students", "/students/1/grades", "/students/1/grades/{grade}", "/students/1/grades/{grade}/delete", "/import"],
)
def test_a_multipart_form_with_a_latin1_name_is_a_400_on_every_post_route(portal, grading, path, no_tracebacks):
    grade = grading.Grades.get_student(1)["grades"][0]
    page = portal.get(f"/students/1?edit={grade['id']}")
    before = stored(grading)
    fields = [
        (b"csrf_token", page.csrf().encode()),
        (b"request_id", page.request_ids()[0].encode()),
        (b"first_name", b"Ada"),
        (b"last_\xe9", b"Lovelace"),  # a field name in Latin-1
        (b"last_name", b"Lovelace"),
        *[(name.encode(), value.encode()) for name, value in QUIZ.items()],
        (b"expected_title", grade["title"].encode()),
        (b"expected_type", grade["type"].encode()),
        (b"expected_score", grades_csv.score_text(grade["score"]).encode()),
        (b"file", b"student_id,title,type,score\n1,Latin,Quiz,70\n"),
    ]
    body, content_type = multipart(fields, filename=b"M\xfcller.csv" if path == "/import" else None)
    answer = portal.request("POST", path.format(grade=grade["id"]), raw_body=body, content_type=content_type)
    assert answer.status == 400, answer.text[:500]
    assert "The form could not be read" in answer.text and "not UTF-8 text" in answer.text
    assert stored(grading) == before


def test_an_import_whose_file_name_alone_is_latin1_is_a_400(portal, grading, no_tracebacks):
    page = portal.get("/import")
    fields = [(b"csrf_token", page.csrf().encode()), (b"file", b"student_id,title,type,score\n1,Latin,Quiz,70\n")]
    body, content_type = multipart(fields, filename=b"M\xfcller.csv")
    answer = portal.request("POST", "/import", raw_body=body, content_type=content_type)
    assert answer.status == 400 and "not UTF-8 text" in answer.text
    assert "Latin" not in titles(grading)


@pytest.mark.parametrize(
    ("body", "field"),
    [(b"first_name=%E9&last_name=Lovelace", "first_name"), (b"first_name=Ada&last_name=L%FFovelace", "last_name")],
)
def test_a_name_that_is_not_utf8_is_a_400_naming_its_field(portal, grading, body, field, no_tracebacks):
    token = portal.get("/students").csrf()
    before = stored(grading)
    answer = portal.request("POST", "/students", raw_body=body + b"&csrf_token=" + token.encode())
    assert answer.status == 400, answer.text[:500]
    assert f"The field {field} is not valid text (UTF-8)" in answer.text and "must not be empty" not in answer.text
    assert stored(grading) == before


def test_a_log_filter_that_is_not_utf8_is_a_400_naming_it(grading):
    from helpers.signed_in import make_user, portal_client

    from portal.app import make_app
    from rpc_cluster import Client

    nowhere = Client("http://127.0.0.1:9/rpc")
    portal = portal_client(make_app(grading, registry=nowhere, logs=nowhere), make_user(grading))
    page = portal.get("/cluster?service=%FF%FE")
    assert page.status == 400 and "Service is not valid text (UTF-8)" in page.text


@pytest.mark.parametrize("forged", ["%00%01%1b[31m", "Saved.", "x.Saved%20for%20you."])
def test_a_flash_cookie_the_portal_did_not_sign_is_dropped(portal, forged, no_tracebacks):
    portal.cookies[flash.FLASH_COOKIE] = forged
    page = portal.get("/students")
    assert page.status == 200
    assert "\x00" not in page.text and "\x1b" not in page.text and "Saved" not in page.text
    assert 'class="flash"' not in page.text and flash.FLASH_COOKIE not in portal.cookies


def test_a_tampered_flash_cookie_is_dropped_and_a_genuine_one_shown(portal, no_tracebacks):
    page = portal.get("/students")
    added = portal.post("/students", {"first_name": "Ada", "last_name": "Lovelace", "csrf_token": page.csrf()})
    assert added.status == 303
    genuine = portal.cookies[flash.FLASH_COOKIE]
    portal.cookies[flash.FLASH_COOKIE] = genuine.replace("Ada", "Eve")
    assert "Eve" not in portal.get("/students").text
    portal.cookies[flash.FLASH_COOKIE] = genuine
    assert "Added Ada Lovelace." in portal.get("/students").text


def test_a_signed_flash_message_is_shown_without_control_characters(grading, no_tracebacks):
    import base64
    import hashlib
    import hmac

    from helpers.signed_in import make_user, portal_client

    from portal.app import make_app

    secret = b"one secret for csrf and flash"
    client = portal_client(make_app(grading, secret=secret), make_user(grading))
    quoted = urllib.parse.quote("Saved\x00 \x1b[31mQuiz\x7f.")
    digest = hmac.new(secret, b"portal flash message\0" + quoted.encode(), hashlib.sha256).digest()
    client.cookies[flash.FLASH_COOKIE] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode() + "." + quoted
    page = client.get("/students")
    assert "Saved [31mQuiz." in page.text and not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", page.text)


def test_a_grade_form_takes_what_an_import_takes(portal, grading, no_tracebacks):
    token = portal.get("/students/1").csrf()
    for title, score in (("Sci", "5e1"), ("Signed", "+50"), ("Point", ".5"), ("Spaced", " 70 ")):
        assert portal.post("/students/1/grades", dict(QUIZ, title=title, score=score, csrf_token=token)).status == 303
    scores = {g["title"]: g["score"] for g in grading.Grades.get_student(1)["grades"]}
    assert (scores["Sci"], scores["Signed"], scores["Point"], scores["Spaced"]) == (50.0, 50.0, 0.5, 70.0)


def test_the_forms_and_the_import_share_one_score_rule():
    from rpc_cluster.grading import csv_import

    # One rule, not a copy: the forms use grading's own pattern object.
    assert grades_csv.SCORE is csv_import.SCORE_TEXT


def test_the_portal_uses_gradings_rule_for_unprintable_text():
    from rpc_cluster.grading import search

    assert text.unprintable is search.unprintable
    for sample in ("a\x00b", "\x7f", "a\x85", "\ud800", "Zoë", "ＡＢＣ"):
        assert text.has_control_characters(sample) == search.unprintable(sample)
        assert text.has_control_characters(text.visible(sample)) is False


class _Watch:
    """A ClusterWatch whose every instance scraped NaN, or more calls than a float holds."""

    def rates(self, url):
        from portal.cluster_stats import Rates

        return Rates(float("nan"), float("inf"), float("inf"), 60.0)

    def status(self, url):
        return None


class _Registry:
    def call(self, method, *args, **kwargs):
        url = "http://127.0.0.1:6123/rpc"
        return [
            {
                "service_name": "GradingService",
                "service_url": url,
                "status": "passing",
                "failures": 0,
                "last_checked": None,
            }
        ]


def test_the_cluster_page_shows_a_dash_for_figures_that_are_not_numbers(grading, no_tracebacks):
    from helpers.signed_in import make_user, portal_client

    from portal.app import make_app

    portal = portal_client(make_app(grading, registry=_Registry(), logs=None, watch=_Watch()), make_user(grading))
    page = portal.get("/cluster")
    assert page.status == 200 and "GradingService" in page.text
    assert not re.search(r">\s*-?(nan|inf)", page.text) and "inf ms" not in page.text
    assert text.figure(float("nan")) == text.figure(float("-inf"), 2, "ms") == "—"
