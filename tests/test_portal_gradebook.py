"""The gradebook's portal pages, in-process against a real grading service: search, sort and paging;
editing and deleting a grade; CSV export and import; statistics; and how many grading calls a page makes."""

import csv
import html
import io
import re

import pytest
from helpers.grade_forms import INVALID_GRADE_FORMS
from helpers.signed_in import Recording, make_user, portal_client, with_a_session
from helpers.wsgi_client import WsgiClient

from portal.app import make_app
from portal.pages.gradebook.import_ import MAX_UPLOAD
from rpc_cluster import Client
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"


@pytest.fixture
def grading(tmp_path):
    with GradingService(port=0, registry=NOWHERE, db=str(tmp_path / "grades.db")) as service:
        yield Client(service.url)


@pytest.fixture
def counting(grading):
    return Recording(grading)


@pytest.fixture
def portal(counting, grading):
    client = portal_client(make_app(counting), make_user(grading))
    counting.calls.clear()
    return client


def names_in_order(page):
    return re.findall(r'<td><a href="/students/\d+">([^<]+)</a></td>', page.text)


def footer_trace(page):
    match = re.search(r"trace: <code>([0-9a-f]{32})</code>", page.text)
    assert match, "no trace id in the footer"
    return match.group(1)


# -- /students: search, sort, paging -------------------------------------------------------------


def test_search_matches_first_or_last_name_ignoring_case(portal):
    assert names_in_order(portal.get("/students?q=nick")) == ["Carter, Nick"]
    assert names_in_order(portal.get("/students?q=STONE")) == ["Stone, Emma"]
    assert names_in_order(portal.get("/students?q=an")) == ["san, zhangsan"]  # in the first name and the last
    assert 'value="nick"' in portal.get("/students?q=nick").text  # the box keeps the search


def test_a_search_that_matches_nothing_says_so(portal):
    page = portal.get("/students?q=nobody")
    assert page.status == 200
    assert names_in_order(page) == []
    assert "No student's name matches “nobody”." in page.text
    assert '<a href="/students">Show all students</a>' in page.text
    assert "No students yet." not in page.text


def test_the_search_is_escaped_everywhere(portal):
    page = portal.get("/students?q=%3Cscript%3Ealert(1)%3C/script%3E&sort=-average")
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "q=%3Cscript%3Ealert%281%29%3C%2Fscript%3E" in page.text  # the sort links keep it, encoded


def test_a_search_longer_than_any_name_is_400_with_a_message(portal, counting):
    page = portal.get("/students?q=" + "x" * 101)
    assert page.status == 400
    assert "Search must be at most 100 characters" in page.text
    assert counting.calls == ["Sessions.check"]


def test_sort_by_average_both_ways_and_by_name(portal):
    high_to_low = ["Baggio, Roberto", "Carter, Nick", "Stone, Emma", "san, zhangsan", "qiao, xiaoqiao"]
    assert names_in_order(portal.get("/students?sort=-average")) == high_to_low
    assert names_in_order(portal.get("/students?sort=average")) == high_to_low[::-1]
    by_name = names_in_order(portal.get("/students"))
    assert by_name[:2] == ["Baggio, Roberto", "Carter, Nick"]  # last names first, as sorted
    assert names_in_order(portal.get("/students?sort=name")) == by_name
    assert names_in_order(portal.get("/students?sort=bogus")) == by_name  # a stale link: by name, no error


def test_the_current_sort_is_marked_and_the_others_are_links(portal):
    page = portal.get("/students?sort=-average&q=a")
    assert '<strong aria-current="true">Average, high to low</strong>' in page.text
    assert 'href="/students?q=a&amp;sort=average"' in page.text
    assert 'href="/students?q=a"' in page.text  # by name: the default needs no parameter


def test_paging_keeps_the_search_and_the_sort(portal, grading):
    for n in range(60):
        student = grading.Grades.add_student(f"P{n:02d}", "Pupil")
        grading.Grades.add_grade(student["id"], "Quiz", "Quiz", n)
    first = portal.get("/students?q=pupil&sort=-average")
    assert "Page 1 of 2" in first.text and "60 found" in first.text
    assert names_in_order(first)[:2] == ["Pupil, P59", "Pupil, P58"]
    assert 'href="/students?q=pupil&amp;sort=-average&amp;page=2"' in first.text
    second = portal.get("/students?q=pupil&sort=-average&page=2")
    assert names_in_order(second) == [f"Pupil, P{n:02d}" for n in range(9, -1, -1)]
    assert 'href="/students?q=pupil&amp;sort=-average"' in second.text  # back to page 1
    assert "Page 1 of 2" in portal.get("/students?q=pupil&sort=-average&page=9").text  # past the last: page 1


def test_the_student_list_is_one_grading_call(portal, counting):
    assert portal.get("/students?q=a&sort=average").status == 200
    assert counting.calls == ["Sessions.call_as Grades.list_students"]


# -- adding a grade: one call --------------------------------------------------------------------


def test_adding_a_grade_is_one_grading_call_and_an_unknown_student_still_404(portal, counting, grading):
    token = portal.get("/students/1").csrf()
    counting.calls.clear()
    added = portal.post("/students/1/grades", {"csrf_token": token, "title": "Quiz 9", "type": "Quiz", "score": "70"})
    assert added.status == 303 and counting.calls == ["Sessions.check", "Grades.add_grade"]
    counting.calls.clear()
    missing = portal.post("/students/999/grades", {"csrf_token": token, "title": "Q", "type": "Quiz", "score": "5"})
    assert missing.status == 404 and "There is no student with id 999." in missing.text
    assert counting.calls == ["Sessions.check", "Grades.add_grade"]


# -- editing a grade -----------------------------------------------------------------------------


def first_grade(grading, student_id=1):
    return grading.Grades.get_student(student_id)["grades"][0]


def edit_form(page, grade_id):
    """The edit form shown in one grade's rows of a student's page, or None."""
    block = re.search(rf'<tbody id="grade-{grade_id}">(.*?)</tbody>', page.text, re.S)
    assert block, f"no grade {grade_id} on the page"
    form = re.search(
        rf'<form method="post" action="/students/\d+/grades/{grade_id}#grade-{grade_id}".*?</form>',
        block.group(1),
        re.S,
    )
    return form.group(0) if form else None


def test_every_grade_has_an_edit_link_that_shows_its_form(portal, grading):
    grades = grading.Grades.get_student(1)["grades"]
    page = portal.get("/students/1")
    for grade in grades:
        assert f'href="/students/1?edit={grade["id"]}#grade-{grade["id"]}">Edit' in page.text
        assert f'href="/students/1/grades/{grade["id"]}/delete">Delete' in page.text
        assert edit_form(page, grade["id"]) is None  # one form at a time, when asked for
    grade = grades[1]
    editing = portal.get(f"/students/1?edit={grade['id']}")
    form = edit_form(editing, grade["id"])
    assert f'value="{html.escape(grade["title"])}"' in form and f'value="{grade["score"]:g}"' in form
    assert f"<option selected>{grade['type']}</option>" in form
    assert f'name="csrf_token" value="{editing.csrf()}"' in form
    assert re.search(r'name="request_id" value="[A-Za-z0-9_.-]{1,64}"', form)
    assert f'<a href="/students/1#grade-{grade["id"]}">Cancel</a>' in form
    assert [edit_form(editing, g["id"]) is None for g in grades] == [True, False, True]
    assert len(set(editing.request_ids())) == len(editing.request_ids()) == 2  # the edit form and the add form
    for other in ("/students/1?edit=abc", f"/students/2?edit={grade['id']}", "/students/1?edit=0"):
        shown = portal.get(other)  # not a grade of that page: the page, with no form open
        assert shown.status == 200 and 'class="card edit"' not in shown.text


def test_edit_a_grade_is_post_redirect_get_with_a_flash(portal, grading):
    grade = first_grade(grading)
    token = portal.get("/students/1").csrf()
    response = portal.post(
        f"/students/1/grades/{grade['id']}",
        {"csrf_token": token, "title": "Quiz 1 (retaken)", "type": "Test", "score": "91.25"},
    )
    assert response.status == 303 and response.header("Location") == "/students/1"
    assert first_grade(grading) == dict(grade, title="Quiz 1 (retaken)", type="Test", score=91.25)
    page = portal.get("/students/1")
    assert "Saved Quiz 1 (retaken) (Test, 91.25)." in page.text
    assert "Saved Quiz 1" not in portal.get("/students/1").text  # once


@pytest.mark.parametrize("form, message", INVALID_GRADE_FORMS)
def test_an_invalid_edit_is_400_naming_the_problem_and_changes_nothing(portal, grading, form, message):
    before = grading.Grades.get_student(1)
    grade = before["grades"][1]
    token = portal.get("/students/1").csrf()
    response = portal.post(f"/students/1/grades/{grade['id']}", dict(form, csrf_token=token))
    assert response.status == 400
    edited = edit_form(response, grade["id"])  # the form with the problem is shown, in its grade's rows
    assert message in html.unescape(edited)
    assert f'value="{html.escape(form["title"])}"' in edited  # what was typed is kept
    assert f'value="{html.escape(form["score"])}"' in edited
    assert [edit_form(response, g["id"]) for g in before["grades"] if g["id"] != grade["id"]] == [None, None]
    assert grading.Grades.get_student(1) == before


def test_editing_needs_the_csrf_token(portal, grading):
    grade = first_grade(grading)
    portal.get("/students/1")
    refused = portal.post(f"/students/1/grades/{grade['id']}", {"title": "Forged", "type": "Quiz", "score": "1"})
    assert refused.status == 403
    assert first_grade(grading) == grade


@pytest.mark.parametrize(
    "path",
    [
        "/students/2/grades/{own}",
        "/students/1/grades/9999",
        "/students/1/grades/abc",
        "/students/1/grades/0",
        "/students/999/grades/{own}",
        "/students/1/grades/%C2%B2",
    ],
)
def test_editing_a_grade_not_on_that_students_page_is_404(portal, grading, path):
    grade = first_grade(grading)
    token = portal.get("/students/1").csrf()
    response = portal.post(
        path.format(own=grade["id"]), {"csrf_token": token, "title": "Moved", "type": "Quiz", "score": "1"}
    )
    assert response.status == 404 and "Traceback" not in response.text
    assert first_grade(grading) == grade


# -- deleting a grade ----------------------------------------------------------------------------


def test_delete_asks_first_then_deletes_once_with_a_flash(portal, grading):
    grade = first_grade(grading, 2)
    student = portal.get("/students/2")
    assert f'href="/students/2/grades/{grade["id"]}/delete"' in student.text
    confirm = portal.get(f"/students/2/grades/{grade['id']}/delete")
    assert confirm.status == 200
    assert "Delete this grade?" in confirm.text and "Roberto Baggio" in confirm.text and grade["title"] in confirm.text
    assert f'<form method="post" action="/students/2/grades/{grade["id"]}/delete"' in confirm.text
    assert confirm.request_ids() and confirm.csrf()
    footer_trace(confirm)
    assert grading.Grades.get_student(2)["grades"][0] == grade  # asking deletes nothing
    form = {"csrf_token": confirm.csrf(), "request_id": confirm.request_ids()[0]}
    deleted = portal.post(f"/students/2/grades/{grade['id']}/delete", form)
    assert deleted.status == 303 and deleted.header("Location") == "/students/2"
    assert grade["id"] not in [g["id"] for g in grading.Grades.get_student(2)["grades"]]
    assert f"Deleted {grade['title']} (Quiz, 100)." in portal.get("/students/2").text
    again = portal.post(f"/students/2/grades/{grade['id']}/delete", form)  # a double click
    assert again.status == 303 and "That grade was already deleted." in portal.get("/students/2").text
    assert len(grading.Grades.get_student(2)["grades"]) == 2


def test_deleting_needs_the_csrf_token_and_the_right_student(portal, grading):
    grade = first_grade(grading)
    token = portal.get("/students/1").csrf()
    assert portal.post(f"/students/1/grades/{grade['id']}/delete", {}).status == 403
    assert portal.get(f"/students/2/grades/{grade['id']}/delete").status == 404
    assert portal.get("/students/1/grades/abc/delete").status == 404
    # Posted under another student's URL, the grade is not that student's: nothing is deleted.
    assert portal.post(f"/students/2/grades/{grade['id']}/delete", {"csrf_token": token}).status == 303
    assert first_grade(grading) == grade


# -- export --------------------------------------------------------------------------------------


def test_export_is_every_grade_with_the_students_names(portal, grading):
    response = portal.get("/students.csv")
    assert response.status == 200
    assert response.header("Content-Type") == "text/csv; charset=utf-8"
    assert response.header("Content-Disposition") == 'attachment; filename="grades.csv"'
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8"))))
    assert rows[0] == ["student_id", "title", "type", "score", "first_name", "last_name"]
    assert len(rows) == 1 + 15
    assert ["1", "Quiz 1", "Quiz", "85", "Nick", "Carter"] in rows
    assert ["3", "Final Exam", "Exam", "0", "Emma", "Stone"] in rows


def test_export_defuses_formulas_and_keeps_exact_scores(portal, grading):
    student = grading.Grades.add_student('=HYPERLINK("http://evil")', "@SUM(A1)")
    for title, score in (("+1+1", 91.25), ("-2", 12.5), ("'=quoted", 50), ('plain, "with" quotes', 33.3)):
        grading.Grades.add_grade(student["id"], title, "Quiz", score)
    rows = [
        row
        for row in csv.reader(io.StringIO(portal.get("/students.csv").body.decode()))
        if row[0] == str(student["id"])
    ]
    assert [row[1] for row in rows] == ["'+1+1", "'-2", "''=quoted", 'plain, "with" quotes']
    assert [row[3] for row in rows] == ["91.25", "12.5", "50", "33.3"]
    assert rows[0][4:] == ['\'=HYPERLINK("http://evil")', "'@SUM(A1)"]


def test_export_reads_students_a_page_at_a_time(portal, grading, counting):
    grading.Grades.import_grades("student_id,title,type,score\n" + "1,Extra,Quiz,50\n" * 3)
    counting.calls.clear()
    assert portal.get("/students.csv").status == 200
    assert counting.calls == ["Sessions.call_as Grades.get_students"]  # 5 students: one page, shorter than a full one


# -- import --------------------------------------------------------------------------------------


def import_file(portal, content: bytes, name="grades.csv", **form):
    token = portal.get("/import").csrf()
    return portal.upload("/import", dict({"csrf_token": token}, **form), {"file": (name, content)})


def grades_of_everyone(grading):
    return {s["id"]: [(g["title"], g["type"], g["score"]) for g in s["grades"]] for s in grading.Grades.get_students()}


def test_export_then_import_round_trip(portal, grading):
    student = grading.Grades.add_student("Zoë", "=Ünïcode")
    grading.Grades.add_grade(student["id"], "=cmd|' /C calc'!A0", "Homework", 99.5)
    grading.Grades.add_grade(student["id"], "'@mention", "Test", 0)
    before = grades_of_everyone(grading)
    exported = portal.get("/students.csv").body
    response = import_file(portal, exported, name="grades.csv")
    assert response.status == 303 and response.header("Location") == "/import"
    assert "Imported 17 grades for 6 students from grades.csv." in portal.get("/import").text
    # A student of a class has one score per assignment: importing the grades they have changes nothing.
    # Zoë is in no class, where a grade has no assignment and each line adds one, as before assignments.
    assert grades_of_everyone(grading) == {
        sid: grades * (2 if sid == student["id"] else 1) for sid, grades in before.items()
    }


def test_import_takes_the_four_columns_in_any_order_a_bom_and_blank_lines(portal, grading):
    content = "\ufeffscore,type,title,student_id\r\n\r\n77,Test,From a spreadsheet,4\r\n\r\n".encode()
    assert import_file(portal, content).status == 303
    assert grading.Grades.get_student(4)["grades"][-1]["title"] == "From a spreadsheet"


@pytest.mark.parametrize(
    "content, message",
    [
        (
            b"student_id,title,type,score\n1,Quiz,Quiz,50\n2,Quiz,Quiz,500\n",
            "Line 3, score: must be a number from 0 to 100",
        ),
        (
            b"student_id,title,type,score\n\n\n1,Quiz,Essay,50\n",
            "Line 4, type: must be one of Quiz, Test, Exam, Homework",
        ),
        (b'student_id,title,type,score\n1,"two\nlines",Quiz,50\n', "Line 2, title: must not contain a line break"),
        (
            b'student_id,title,type,score\n1,"A",Quiz,5\n999,Quiz,Quiz,50\n',
            "Line 3, student_id: names no student (999)",
        ),
        (b"student_id,title,type,score\n1,Quiz,Quiz\n", "Line 2: has 3 fields where the header has 4"),
        (b"student_id,title,score\n1,Quiz,50\n", "Line 1: has no type column"),
        (b"student_id,title,type,score,grade\n", "Line 1: has the column 'grade'"),
        (b"student_id,title,type,score\n", "The file has no grades, only the header."),
        (b"", "Line 1: is empty"),
        (b"student_id,title,type,score\n1,Caf\xe9,Quiz,50\n", "Line 2: is not UTF-8 text"),
    ],
)
def test_a_bad_file_imports_nothing_and_names_the_line_and_field(portal, grading, content, message):
    before = grades_of_everyone(grading)
    response = import_file(portal, content, name="bad<1>.csv")
    assert response.status == 400
    assert message in html.unescape(response.text)
    assert "bad&lt;1&gt;.csv" in response.text
    assert grades_of_everyone(grading) == before


def test_import_without_a_file_or_the_token(portal, grading):
    before = grades_of_everyone(grading)
    token = portal.get("/import").csrf()
    no_file = portal.upload("/import", {"csrf_token": token}, {})
    assert no_file.status == 400 and "Choose a CSV file to import." in no_file.text
    forged = portal.upload("/import", {}, {"file": ("g.csv", b"student_id,title,type,score\n1,F,Quiz,1\n")})
    assert forged.status == 403
    garbled = portal.request(
        "POST", "/import", raw_body=b"--x\r\nnonsense", content_type="multipart/form-data; boundary=x"
    )
    assert garbled.status in (400, 403) and "Traceback" not in garbled.text
    assert grades_of_everyone(grading) == before


def test_a_double_submit_imports_once(portal, grading):
    page = portal.get("/import")
    form = {"csrf_token": page.csrf(), "request_id": page.request_ids()[0]}
    content = b"student_id,title,type,score\n5,Sent twice,Quiz,60\n"
    first = portal.upload("/import", form, {"file": ("g.csv", content)})
    second = portal.upload("/import", form, {"file": ("g.csv", content)})
    assert first.status == second.status == 303
    assert [g["title"] for g in grading.Grades.get_student(5)["grades"]].count("Sent twice") == 1


def test_ten_thousand_rows_fit_and_a_larger_file_is_refused(portal, grading):
    content = (
        "student_id,title,type,score,first_name,last_name\n"
        + "".join(
            f'{1 + n % 5},"Weekly quiz {n} on fractions, decimals and ratios (chapter {n % 12})",Quiz,{n % 101},'
            "Alexandrina,Featherstonehaugh\n"
            for n in range(10_000)
        )
    ).encode()
    assert 1 << 20 < len(content) < MAX_UPLOAD  # over every other request's limit, under /import's
    response = import_file(portal, content)
    assert response.status == 303, html.unescape(response.text)[-600:]
    assert "Imported 10,000 grades for 5 students" in portal.get("/import").text
    assert sum(s["grade_count"] for s in grading.Grades.list_students(limit=10)["students"]) == 10_015
    too_large = import_file(portal, b"x" * (MAX_UPLOAD + 1))
    assert too_large.status == 413 and "larger than 8 MiB" in too_large.text


# -- statistics ----------------------------------------------------------------------------------


def test_statistics_page_numbers_chart_and_table(portal, counting):
    page = portal.get("/statistics")
    assert page.status == 200 and counting.calls == ["Sessions.call_as Grades.statistics"]
    text = html.unescape(page.text)
    assert re.search(r'id="students-count">5<', text) and re.search(r'id="grades-count">15<', text)
    assert 'id="mean">57.4<' in text and 'id="median">47.3<' in text
    svg = re.search(r"<svg .*?</svg>", text, re.S).group(0)
    assert 'role="img"' in svg and 'viewBox="0 0 ' in svg
    assert re.search(r'aria-labelledby="chart-title chart-desc"', svg)
    assert '<title id="chart-title">' in svg
    assert "20–29: 1, 30–39: 1, 40–49: 1, 50–59: 0" in svg and "80–89: 1, 90–100: 1." in svg
    assert svg.count("<rect ") == 10
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([0-9.]+)"', svg)]
    assert widths.count(0.0) == 5 and len({w for w in widths if w}) == 1  # five bars of the largest count
    table = re.search(r'<table id="distribution">.*?</table>', text, re.S).group(0)
    assert '<th scope="row">90–100</th><td class="num">1</td>' in table
    assert '<a href="/statistics" aria-current="page">Statistics</a>' in page.text
    footer_trace(page)


def test_statistics_of_a_class_without_grades(tmp_path):
    with GradingService(port=0, registry=NOWHERE, db=str(tmp_path / "empty.db")) as service:
        grading = Client(service.url)
        for student in grading.Grades.get_students():
            for grade in student["grades"]:
                grading.Grades.delete_grade(grade["id"])
        page = portal_client(make_app(grading), make_user(grading)).get("/statistics")
    assert page.status == 200
    assert 'id="mean">—<' in page.text and 'id="median">—<' in page.text
    assert "0 of 5 students have an average" in page.text


# -- every new page: trace, navigation, 503 ------------------------------------------------------


def test_the_header_links_every_page(portal):
    page = portal.get("/students")
    for href in ("/students", "/statistics", "/import", "/cluster"):
        assert f'<a href="{href}"' in page.text
    assert 'href="/students.csv"' in page.text


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/statistics"),
        ("GET", "/students.csv"),
        ("GET", "/import"),
        ("GET", "/students/1/grades/1/delete"),
        ("GET", "/students?q=a"),
    ],
)
def test_new_pages_show_their_trace_and_say_503_when_grading_is_down(grading, method, path):
    dead = with_a_session(WsgiClient(make_app(Client(NOWHERE))))
    page = dead.request(method, path)
    # Every page asks grading whose session the browser holds: even /import's form needs it up.
    assert page.status == 503 and "not answering" in page.text
    footer_trace(page)
    alive = portal_client(make_app(grading), make_user(grading)).request(method, path)
    assert alive.status == 200
    if path != "/students.csv":
        footer_trace(alive)
    assert alive.header("X-Trace-Id")


def test_the_portal_server_takes_a_large_import_and_nothing_else_as_large():
    import urllib.error
    import urllib.request

    from portal.service import PortalService

    def post(url, body, content_type):
        request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with PortalService(port=0, registry=NOWHERE) as service:
        base = service.url.rsplit("/rpc", 1)[0]
        two_mib = (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="g.csv"\r\n\r\n'
            + b"x" * (2 << 20)
            + b"\r\n--b--\r\n"
        )
        # Read whole and parsed (then refused for its missing CSRF token), where other paths stop at 1 MiB.
        assert post(base + "/import", two_mib, "multipart/form-data; boundary=b") == 403
        assert post(base + "/students", two_mib, "multipart/form-data; boundary=b") == 413
        assert post(base + "/import", b"x" * (MAX_UPLOAD + 1), "multipart/form-data; boundary=b") == 413
