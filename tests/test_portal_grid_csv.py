"""A class's grid as CSV (``/classes/<id>.csv``) and its import with a preview (``/classes/<id>/import``),
in-process against a real grading service: the file's bytes, every error of a file at once, exactly the
changed cells old → new, a confirmation applied once, a stale preview refused, and today's per-grade CSV."""

import codecs
import csv
import html
import io
import re
from types import SimpleNamespace

import pytest
from helpers.signed_in import make_user, portal_client

from portal.app import make_app


@pytest.fixture
def app(grading):
    return make_app(grading)


@pytest.fixture
def book(grading):
    """Alice's class "Maths 7B": three students with scores (one with formula-like names), one without;
    three assignments (one dated, so first; one titled like a formula). Bob teaches another class."""
    alice = make_user(grading, "teacher")
    bob = make_user(grading, "teacher")
    klass = grading.Grades.add_class("Maths 7B", alice.username)
    grading.Grades.add_class("Bob's class", bob.username)
    ids = {}
    for first, last in (("Nick", "Carter"), ("Ann", "Lee"), ("=Eve", "@Evil"), ("Zed", "Zulu")):
        ids[first] = grading.Grades.add_student(first, last, class_id=klass["id"])["id"]
    quiz = grading.Grades.add_assignment(klass["id"], "Quiz 1", "Quiz", 10)
    formula = grading.Grades.add_assignment(klass["id"], "=1+1", "Quiz", 20)
    homework = grading.Grades.add_assignment(klass["id"], "Homework 1", "Homework", 50, due="2025-03-01")

    def score(student, points=None, mark=None):
        return {"student_id": ids[student], "points": points, "mark": mark, "comment": None}

    grading.Grades.set_scores(quiz["id"], [score("Nick", 8, "late"), score("Ann", 10), score("=Eve", 6)])
    grading.Grades.set_scores(formula["id"], [score("Nick", mark="missing"), score("Ann", 12.5)])
    grading.Grades.set_scores(homework["id"], [score("Nick", 45), score("=Eve", 30, "excused")])
    return SimpleNamespace(
        alice=alice,
        bob=bob,
        klass=klass,
        ids=ids,
        quiz=quiz,
        formula=formula,
        homework=homework,
        url=f"/classes/{klass['id']}",
    )


def rows_of(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def file_of(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return codecs.BOM_UTF8 + out.getvalue().encode()


def table(page, table_id: str) -> list[list[str]]:
    """The body rows of the page's table ``table_id``, each cell's text."""
    match = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', page.text, re.S)
    assert match, f"no table {table_id}"
    return [
        [
            " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)
    ]


def text_of(page) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def confirm_form(page) -> dict[str, str]:
    """The fields of the preview's confirming form, as a browser would send them."""
    form = re.search(r'<form method="post" action="[^"]*/import/confirm".*?</form>', page.text, re.S)
    assert form, "no confirming form"
    return {name: html.unescape(value) for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', form.group(0))}


def upload(client, url: str, data: bytes, add_students: bool = False):
    token = client.get(f"{url}/import").csrf()
    fields = {"csrf_token": token, **({"add_students": "yes"} if add_students else {})}
    return client.upload(f"{url}/import", fields, {"file": ("grades.csv", data)})


def confirm(client, url: str, fields: dict[str, str]):
    return client.upload(f"{url}/import/confirm", fields, {})


def points_of(grading, book, student: str, assignment: dict) -> dict | None:
    row = next(s for s in grading.Grades.gradebook(book.klass["id"])["students"] if s["id"] == book.ids[student])
    return row["scores"].get(str(assignment["id"]))


# -- export -----------------------------------------------------------------------------------------


def test_the_export_is_the_grid_with_a_bom_every_enrolled_student_and_formulas_escaped(app, grading, book):
    alice = portal_client(app, book.alice)
    answer = alice.get(f"{book.url}.csv")
    assert answer.status == 200
    assert answer.header("Content-Type") == "text/csv; charset=utf-8"
    assert answer.header("Content-Disposition") == 'attachment; filename="maths-7b-grades.csv"'
    assert answer.body.startswith(codecs.BOM_UTF8) and not answer.body[3:].startswith(codecs.BOM_UTF8)
    averages = {s["id"]: s for s in grading.Grades.gradebook(book.klass["id"])["students"]}
    nick, ann, eve, zed = (book.ids[name] for name in ("Nick", "Ann", "=Eve", "Zed"))
    # Dated assignments first, then the others in the order they were made; students by last name.
    assert rows_of(answer.body) == [
        ["student_id", "first_name", "last_name", "Homework 1", "Quiz 1", "'=1+1", "average", "letter"],
        [
            str(eve),
            "'=Eve",
            "'@Evil",
            "30 excused",
            "6",
            "",
            f"{averages[eve]['average']:.2f}",
            averages[eve]["letter"],
        ],
        [str(nick), "Nick", "Carter", "45", "8 late", "missing", "58.33", "F"],
        [str(ann), "Ann", "Lee", "", "10", "12.5", f"{averages[ann]['average']:.2f}", averages[ann]["letter"]],
        [str(zed), "Zed", "Zulu", "", "", "", "", ""],
    ]
    # Nick by hand, four categories of 25 % each: Quiz (8 + 0) / 30, Homework 45 / 50.
    assert averages[nick]["average"] == pytest.approx(100 * (8 / 30 + 45 / 50) / 2)


def test_another_teacher_gets_403_and_no_file(app, grading, book):
    bob = portal_client(app, book.bob)
    for path in (f"{book.url}.csv", f"{book.url}/import"):
        refused = bob.get(path)
        assert refused.status == 403, path
        assert "student_id" not in refused.text and "Carter" not in refused.text
    # A class that does not exist: a teacher hears the same as for one of another teacher; an administrator, 404.
    assert portal_client(app, book.alice).get("/classes/999999.csv").status == 403
    assert portal_client(app, make_user(grading, "admin")).get("/classes/999999.csv").status == 404


# -- the preview ------------------------------------------------------------------------------------


def test_the_preview_lists_every_error_by_line_and_column_and_offers_no_confirmation(app, grading, book):
    alice = portal_client(app, book.alice)
    rows = rows_of(alice.get(f"{book.url}.csv").body)
    rows[2][4] = "eleven"  # Nick, Quiz 1
    rows[2][3] = "51"  # Nick, Homework 1: more than its 50 points
    rows[3][5] = "12 sometimes"  # Ann, =1+1
    rows[4][0] = "x7"  # a student id that is not a number
    before = grading.Grades.gradebook(book.klass["id"])
    preview = upload(alice, book.url, file_of(rows))
    assert preview.status == 400
    errors = table(preview, "errors")
    assert sorted((int(e[0]), e[1]) for e in errors) == [
        (3, "Homework 1"),
        (3, "Quiz 1"),
        (4, "=1+1"),
        (5, "student_id"),
    ], errors
    assert any(e[2] == "eleven" for e in errors) and any(e[2] == "12 sometimes" for e in errors)
    assert "The file has 4 problems" in text_of(preview)
    assert "/import/confirm" not in preview.text
    assert grading.Grades.gradebook(book.klass["id"]) == before


def test_a_changed_export_previews_exactly_its_changed_cells_old_to_new(app, grading, book):
    alice = portal_client(app, book.alice)
    rows = rows_of(alice.get(f"{book.url}.csv").body)
    rows[2][4] = "9"  # Nick, Quiz 1: 8 late -> 9
    rows[3][3] = "40 late"  # Ann, Homework 1: nothing -> 40 late
    before = grading.Grades.gradebook(book.klass["id"])
    preview = upload(alice, book.url, file_of(rows))
    assert preview.status == 200
    assert table(preview, "changed-scores") == [["3", "Carter, Nick", "Quiz 1", "8, late", "changed to 9"]]
    assert table(preview, "new-scores") == [["4", "Lee, Ann", "Homework 1", "40, late"]]
    for absent in ('id="errors"', 'id="new-assignments"', 'id="new-students"'):
        assert absent not in preview.text
    # Eight cells of the file hold a score: one new, one changed, six as they are.
    assert "6 unchanged" in text_of(preview)
    assert grading.Grades.gradebook(book.klass["id"]) == before  # a preview stores nothing


def test_a_file_that_is_not_utf8_or_too_large_is_refused_with_a_message(app, grading, book):
    alice = portal_client(app, book.alice)
    latin1 = upload(alice, book.url, "student_id,first_name,last_name\r\n1,Zoë,Z\r\n".encode("latin-1"))
    assert latin1.status == 400 and 'The file is not UTF-8 text (line 2): save it as "CSV UTF-8".' in text_of(latin1)
    large = upload(alice, book.url, b"student_id,first_name,last_name\r\n" + b"x" * (8 << 20))
    assert large.status == 413 and "The file is larger than 8 MiB." in text_of(large)
    empty = alice.upload(f"{book.url}/import", {"csrf_token": latin1.csrf()}, {})
    assert empty.status == 400 and "Choose a CSV file to import." in text_of(empty)


# -- confirming -------------------------------------------------------------------------------------


def test_a_confirmation_applies_once_and_the_same_file_then_has_nothing_to_change(app, grading, book):
    alice = portal_client(app, book.alice)
    rows = rows_of(alice.get(f"{book.url}.csv").body)
    rows[2][4] = "9"
    rows[3][3] = "40 late"
    changed = file_of(rows)
    fields = confirm_form(upload(alice, book.url, changed))
    done = confirm(alice, book.url, fields)
    assert done.status == 303 and done.header("Location") == book.url
    assert points_of(grading, book, "Nick", book.quiz) == {"points": 9, "mark": None, "comment": None}
    assert points_of(grading, book, "Ann", book.homework) == {"points": 40, "mark": "late", "comment": None}
    flash = alice.get(f"{book.url}/statistics")
    assert "Imported: 2 scores, 0 new assignments, 0 new students." in text_of(flash)

    again = upload(alice, book.url, changed)
    assert again.status == 200
    assert "Nothing to change" in text_of(again) and "/import/confirm" not in again.text

    # The same confirmation sent again (Back, then the button): grading answers what it did the first
    # time and does nothing, though a score it set has changed since.
    grading.Grades.set_scores(
        book.quiz["id"], [{"student_id": book.ids["Nick"], "points": 5, "mark": None, "comment": None}]
    )
    twice = confirm(alice, book.url, fields)
    assert twice.status == 303
    assert points_of(grading, book, "Nick", book.quiz)["points"] == 5


def test_a_score_changed_since_the_preview_shows_the_new_preview_with_409(app, grading, book):
    alice = portal_client(app, book.alice)
    rows = rows_of(alice.get(f"{book.url}.csv").body)
    rows[2][4] = "9"
    fields = confirm_form(upload(alice, book.url, file_of(rows)))
    nick = {"student_id": book.ids["Nick"], "points": 7, "mark": None, "comment": None}
    grading.Grades.set_scores(book.quiz["id"], [nick])
    stale = confirm(alice, book.url, fields)
    assert stale.status == 409
    assert "Scores of this class changed since the preview was made" in text_of(stale)
    assert table(stale, "changed-scores") == [["3", "Carter, Nick", "Quiz 1", "7", "changed to 9"]]
    assert points_of(grading, book, "Nick", book.quiz)["points"] == 7  # nothing applied
    fresh = confirm_form(stale)
    assert fresh["expected"] != fields["expected"] and fresh["request_id"] != fields["request_id"]
    assert confirm(alice, book.url, fresh).status == 303
    assert points_of(grading, book, "Nick", book.quiz)["points"] == 9


def test_new_assignments_and_students_not_on_the_roster(app, grading, book):
    alice = portal_client(app, book.alice)
    rows = rows_of(alice.get(f"{book.url}.csv").body)
    for row in rows:
        row.insert(6, "Quiz 2" if row[0] == "student_id" else "")
    rows[2][6] = "77"
    rows.append(["", "Yan", "Young", "", "", "", "60", "", ""])
    data = file_of(rows)
    left_out = upload(alice, book.url, data)
    assert table(left_out, "new-students") == [["6", "Young, Yan", "new"]]
    assert "Their rows will be left out" in text_of(left_out)
    added = upload(alice, book.url, data, add_students=True)
    assert "They will be added to the class with their scores." in text_of(added)
    assert "Quiz 2" in " ".join(re.findall(r'<ul id="new-assignments">(.*?)</ul>', added.text, re.S))
    assert confirm(alice, book.url, confirm_form(added)).status == 303
    assert "Imported: 2 scores, 1 new assignment, 1 new student." in text_of(alice.get(f"{book.url}/statistics"))
    grid = grading.Grades.gradebook(book.klass["id"])
    quiz2 = next(a for a in grid["assignments"] if a["title"] == "Quiz 2")
    yan = next(s for s in grid["students"] if s["first_name"] == "Yan")
    assert yan["scores"][str(quiz2["id"])]["points"] == 60
    assert points_of(grading, book, "Nick", quiz2)["points"] == 77


def test_the_per_grade_csv_still_imports_through_the_class_and_the_old_page(app, grading, book):
    alice = portal_client(app, book.alice)
    nick = book.ids["Nick"]
    data = f"student_id,title,type,score\r\n{nick},Quiz 1,Quiz,90\r\n{nick},Essay,Homework,75\r\n".encode()
    preview = upload(alice, book.url, data)
    assert preview.status == 200
    # A percentage of the 10-point quiz; the late mark stays, as add_grade keeps it.
    assert table(preview, "changed-scores") == [["2", "Carter, Nick", "Quiz 1", "8, late", "changed to 9, late"]]
    # Each score names its own line of the file.
    assert table(preview, "new-scores") == [["3", "Carter, Nick", "Essay", "75"]]
    assert confirm(alice, book.url, confirm_form(preview)).status == 303
    assert points_of(grading, book, "Nick", book.quiz)["points"] == 9
    token = alice.get("/import").csrf()
    old = alice.upload(
        "/import",
        {"csrf_token": token},
        {"file": ("g.csv", f"student_id,title,type,score\n{nick},Quiz 7,Quiz,50\n".encode())},
    )
    assert old.status == 303 and old.header("Location") == "/import"
    assert any(g["title"] == "Quiz 7" and g["score"] == 50 for g in grading.Grades.get_student(nick)["grades"])
