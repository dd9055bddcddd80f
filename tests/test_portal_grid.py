"""A class's gradebook pages in-process against a real grading service: the grid and its averages, the
column of one assignment saved in one call, the assignment forms, the categories and letters, a student's
report; what a teacher of another class may reach (nothing); and every page through the Nu HTML Checker."""

import html
import json
import re
import subprocess
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers.signed_in import make_user, portal_client
from test_portal_html import checker

from portal.app import make_app
from rpc_cluster import Client
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"


class Counting:
    """A grading client that counts the calls a portal makes through it, by method."""

    def __init__(self, client):
        self.client = client
        self.calls: list[str] = []

    def call(self, method, *args, **kwargs):
        self.calls.append(method)
        return self.client.call(method, *args, **kwargs)


def text_of(page) -> str:
    """The page's visible text, roughly: tags out, entities decoded, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def row_text(page, student_id) -> list[str]:
    """The text of each cell of a student's row of the grid."""
    row = re.search(rf'<tr id="student-{student_id}">(.*?)</tr>', page.text, re.S).group(1)
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
    return [text_of(SimpleNamespace(text=cell)) for cell in cells]


def names(page) -> list[str]:
    """The students' names down the grid, in order."""
    return [html.unescape(n) for n in re.findall(r'<th scope="row" class="name"><a [^>]*>([^<]+)</a>', page.text)]


def form_fields(page, form_id: str) -> list[tuple[str, str]]:
    """The named fields of one form of the page as a browser would send them untouched: each input's value,
    each select's selected option."""
    form = re.search(rf'<form [^>]*id="{form_id}".*?</form>', page.text, re.S).group(0)
    fields = []
    for tag in re.finditer(r"<input [^>]*>|<select [^>]*>.*?</select>", form, re.S):
        text = tag.group(0)
        name = re.search(r'name="([^"]+)"', text)
        if not name:
            continue
        if text.startswith("<select"):
            chosen = re.search(r'<option value="([^"]*)" selected>', text) or re.search(
                r'<option value="([^"]*)"', text
            )
            fields.append((name.group(1), html.unescape(chosen.group(1))))
        else:
            value = re.search(r'value="([^"]*)"', text)
            fields.append((name.group(1), html.unescape(value.group(1)) if value else ""))
    return fields


def post_fields(client, path, fields, **changes):
    """POST ``fields`` (pairs, names repeated as a form sends them) with ``changes`` put in place of their fields."""
    sent = [(name, changes.pop(name, value)) for name, value in fields]
    assert not changes, f"no such fields: {changes}"
    body = urllib.parse.urlencode(sent).encode()
    return client.request("POST", path, raw_body=body)


def worked_example(grading, teacher: str):
    """The design's worked example as a class: Quiz 40 %, Homework 60 %; Ann has quizzes 8/10 and 15/20,
    homework 45/50 (late), one excused and one missing of 10: 75.67 % -> C. Ben has only a quiz, 10/10:
    100 % -> A (a category with nothing counted is left out). Cleo has nothing: no average."""
    klass = grading.Grades.add_class("Maths 3B", teacher)
    grading.Grades.set_categories(klass["id"], [{"name": "Quiz", "weight": 40}, {"name": "Homework", "weight": 60}])
    ann = grading.Grades.add_student("Ann", "Alpha", class_id=klass["id"])
    ben = grading.Grades.add_student("Ben", "Beta", class_id=klass["id"])
    cleo = grading.Grades.add_student("Cleo", "Gamma", class_id=klass["id"])
    add = grading.Grades.add_assignment
    q1 = add(klass["id"], "Quiz 1", "Quiz", 10, due="2025-03-01")
    q2 = add(klass["id"], "Quiz 2", "quiz", 20, due="2025-03-08")
    h1 = add(klass["id"], "Essay", "Homework", 50)
    h2 = add(klass["id"], "Worksheet", "Homework", 10)
    h3 = add(klass["id"], "Reading", "Homework", 10)

    def score(student, points=None, mark=None, comment=None):
        return {"student_id": student["id"], "points": points, "mark": mark, "comment": comment}

    grading.Grades.set_scores(q1["id"], [score(ann, 8), score(ben, 10, comment="Full marks")])
    grading.Grades.set_scores(q2["id"], [score(ann, 15)])
    grading.Grades.set_scores(h1["id"], [score(ann, 45, "late", "Two days late")])
    grading.Grades.set_scores(h2["id"], [score(ann, mark="missing")])
    grading.Grades.set_scores(h3["id"], [score(ann, mark="excused")])
    return SimpleNamespace(klass=klass, ann=ann, ben=ben, cleo=cleo, q1=q1, q2=q2, h1=h1, h2=h2, h3=h3)


@pytest.fixture
def app(grading):
    return make_app(grading)


@pytest.fixture
def school(grading):
    ada = make_user(grading, "teacher", display_name="Ada Lovelace")
    bob = make_user(grading, "teacher", display_name="Bob Brown")
    book = worked_example(grading, ada.username)
    history = grading.Grades.add_class("History 4A", bob.username)
    dan = grading.Grades.add_student("Dan", "Delta", class_id=history["id"])
    essay = grading.Grades.add_assignment(history["id"], "Essay", "Homework", 20)
    return SimpleNamespace(
        ada=ada, bob=bob, admin=make_user(grading, "admin"), book=book, history=history, dan=dan, essay=essay
    )


# -- the grid ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_the_grid_shows_weighted_averages_letters_and_each_assignments_mean(store, tmp_path, request):
    db = str(tmp_path / "grades.db") if store == "sqlite" else request.getfixturevalue("postgres_url")
    with GradingService(port=0, registry=NOWHERE, db=db) as service:
        grading = Client(service.url)
        ada = make_user(grading, "teacher")
        book = worked_example(grading, ada.username)
        page = portal_client(make_app(grading), ada).get(f"/classes/{book.klass['id']}")
    assert page.status == 200
    # Columns in grading's order: dated ones by date, then the others as added.
    headers = re.findall(r'<th scope="col" class="assignment" id="a-(\d+)">', page.text)
    assert headers == [str(a["id"]) for a in (book.q1, book.q2, book.h1, book.h2, book.h3)]
    assert row_text(page, book.ann["id"]) == [
        "Alpha, Ann",
        "8",
        "15",
        "45 L (late)",
        "M (missing)",
        "EX (excused)",
        "75.7%",
        "C",
    ]
    assert row_text(page, book.ben["id"]) == [
        "Beta, Ben",
        "10",
        "No score ·",
        "No score ·",
        "No score ·",
        "No score ·",
        "100.0%",
        "A",
    ]
    assert row_text(page, book.cleo["id"])[-2:] == ["—", "—"]
    footer = re.search(r"<tfoot>(.*?)</tfoot>", page.text, re.S).group(1)
    # Means over the scores that count: missing is 0, excused does not count.
    assert text_of(SimpleNamespace(text=footer)) == "Class mean 9.0 15.0 45.0 0.0 — 87.8%"
    said = text_of(page)
    assert "Quiz 1 Quiz · /10 Due 1 Mar 2025" in said and "Essay Homework · /50" in said
    # Each cell leads to its row of the assignment's column; each name to the student's report.
    klass = book.klass["id"]
    assert f'href="/classes/{klass}/assignments/{book.q1["id"]}#points-{book.ann["id"]}"' in page.text
    assert f'<a href="/classes/{klass}/students/{book.ann["id"]}">Alpha, Ann</a>' in page.text
    for link in ("/assignments/new", "/settings", "/roster", "/statistics", ".csv", "/import"):
        assert f'href="/classes/{klass}{link}"' in page.text, link


def test_sorting_by_name_and_by_average(app, school):
    ada = portal_client(app, school.ada)
    url = f"/classes/{school.book.klass['id']}"
    by_name = ada.get(url)
    assert names(by_name) == ["Alpha, Ann", "Beta, Ben", "Gamma, Cleo"]
    assert re.search(r'<th scope="col" class="name" aria-sort="ascending">', by_name.text)
    highest = ada.get(url + "?sort=-average")
    assert names(highest) == ["Beta, Ben", "Alpha, Ann", "Gamma, Cleo"]  # no average: last either way
    assert 'aria-sort="descending"' in highest.text and f'href="{url}?sort=average"' in highest.text
    lowest = ada.get(url + "?sort=average")
    assert names(lowest) == ["Alpha, Ann", "Beta, Ben", "Gamma, Cleo"]
    assert 'aria-sort="ascending"' in lowest.text and f'href="{url}?sort=-average"' in lowest.text
    assert names(ada.get(url + "?sort=nonsense")) == names(by_name)


def test_an_empty_class_says_what_to_do_next(app, grading, school):
    ada = portal_client(app, school.ada)
    empty = grading.Grades.add_class("Empty", school.ada.username)
    page = ada.get(f"/classes/{empty['id']}")
    said = text_of(page)
    assert page.status == 200 and 'id="grid"' not in page.text
    assert "No students in this class yet." in said and "No assignments yet." in said
    assert f'href="/classes/{empty["id"]}/roster#add-student"' in page.text
    grading.Grades.add_student("Solo", "Student", class_id=empty["id"])
    page = ada.get(f"/classes/{empty['id']}")
    assert "No assignments yet." in text_of(page) and "No students" not in text_of(page)
    assert names(page) == ["Student, Solo"]


def test_a_teacher_reaches_nothing_of_another_teachers_class(app, grading, school):
    ada = portal_client(app, school.ada)
    token = ada.get("/classes").csrf()
    history, essay, dan = school.history["id"], school.essay["id"], school.dan["id"]
    for path in (
        f"/classes/{history}",
        f"/classes/{history}/roster",
        f"/classes/{history}/settings",
        f"/classes/{history}/assignments/new",
        f"/classes/{history}/assignments/{essay}",
        f"/classes/{history}/assignments/{essay}/edit",
        f"/classes/{history}/assignments/{essay}/delete",
        f"/classes/{history}/students/{dan}",
    ):
        page = ada.get(path)
        assert page.status == 403, (path, page.status)
        assert "Dan" not in page.text and "History 4A" not in page.text
    before = grading.Grades.gradebook(history)
    for path, form in (
        (f"/classes/{history}/assignments/new", {"title": "Forged", "category": "Quiz", "max_points": "5", "due": ""}),
        (f"/classes/{history}/assignments/{essay}", {"student": str(dan), f"points-{dan}": "20"}),
        (f"/classes/{history}/assignments/{essay}/edit", {"title": "X", "category": "Quiz", "max_points": "5"}),
        (f"/classes/{history}/assignments/{essay}/delete", {}),
        (f"/classes/{history}/settings", {"part": "categories", "name-0": "Only", "weight-0": "100"}),
        (f"/classes/{history}/settings", {"part": "scale", "letter-0": "P", "min-0": "0"}),
    ):
        answer = ada.post(path, dict(form, csrf_token=token))
        assert answer.status == 403, (path, answer.status)
    assert grading.Grades.gradebook(history) == before
    # The administrator sees it all.
    assert portal_client(app, school.admin).get(f"/classes/{history}").status == 200


# -- one assignment's column ------------------------------------------------------------------------


def test_the_column_saves_thirty_scores_in_one_set_scores_call(grading):
    counting = Counting(grading)
    app = make_app(counting)
    teacher = make_user(grading, "teacher")
    klass = grading.Grades.add_class("Thirty", teacher.username)
    students = [grading.Grades.add_student(f"S{n:02d}", "Pupil", class_id=klass["id"]) for n in range(30)]
    quiz = grading.Grades.add_assignment(klass["id"], "Quiz 1", "Quiz", 20)
    client = portal_client(app, teacher)
    url = f"/classes/{klass['id']}/assignments/{quiz['id']}"
    page = client.get(url)
    assert page.status == 200
    assert re.search(r'<input class="points" id="points-\d+"[^>]*inputmode="decimal"', page.text)
    assert page.text.count('maxlength="1000"') == 30
    typed = {f"points-{s['id']}": str(n % 21) for n, s in enumerate(students)}
    typed[f"points-{students[0]['id']}"] = "12.5"
    typed[f"mark-{students[1]['id']}"] = "late"
    typed[f"comment-{students[2]['id']}"] = "Good work"
    del counting.calls[:]
    answer = post_fields(client, url, form_fields(page, "column-form"), **typed)
    # Back to the grid, at the column saved.
    assert answer.status == 303 and answer.header("Location") == f"/classes/{klass['id']}#a-{quiz['id']}"
    assert counting.calls.count("Grades.set_scores") == 1
    assert [c for c in counting.calls if not c.startswith(("Sessions.", "Grades.list_assignments"))] == [
        "Grades.set_scores"
    ]
    grid = client.get(answer.header("Location"))
    assert "Saved 30 scores of Quiz 1." in text_of(grid)
    book = grading.Grades.gradebook(klass["id"])
    scores = {s["id"]: s["scores"].get(str(quiz["id"])) for s in book["students"]}
    assert scores[students[0]["id"]] == {"points": 12.5, "mark": None, "comment": None}
    assert scores[students[1]["id"]] == {"points": 1, "mark": "late", "comment": None}
    assert scores[students[2]["id"]]["comment"] == "Good work"
    assert [scores[s["id"]]["points"] for s in students[3:]] == [n % 21 for n in range(3, 30)]
    # The same form again, nothing changed: nothing to send.
    again = client.get(url)
    del counting.calls[:]
    unchanged = post_fields(client, url, form_fields(again, "column-form"))
    assert unchanged.status == 303 and "Grades.set_scores" not in counting.calls
    assert "nothing to save" in text_of(client.get(f"/classes/{klass['id']}"))


def test_a_score_changed_meanwhile_refuses_the_form_and_keeps_what_was_typed(app, grading, school):
    ada = portal_client(app, school.ada)
    book = school.book
    url = f"/classes/{book.klass['id']}/assignments/{book.q1['id']}"
    page = ada.get(url)
    ann, ben = book.ann["id"], book.ben["id"]
    # Someone else changes Ben's score after the page was opened.
    grading.Grades.set_scores(book.q1["id"], [{"student_id": ben, "points": 6, "mark": "late", "comment": None}])
    refused = post_fields(ada, url, form_fields(page, "column-form"), **{f"points-{ann}": "9", f"points-{ben}": "7"})
    assert refused.status == 409
    said = text_of(refused)
    assert "1 score was changed by someone else after you opened this page. Nothing was saved." in said
    assert "Ben Beta : now 6 (late)" in said
    assert re.search(rf'<tr id="student-{ben}" class="conflict">', refused.text)
    assert f'name="points-{ann}" value="9"' in refused.text and f'name="points-{ben}" value="7"' in refused.text
    scores = {s["id"]: s["scores"] for s in grading.Grades.gradebook(book.klass["id"])["students"]}
    assert scores[ann][str(book.q1["id"])]["points"] == 8 and scores[ben][str(book.q1["id"])]["points"] == 6
    # Saving the page that says so stores what was typed, on purpose.
    saved = post_fields(ada, url, form_fields(refused, "column-form"))
    assert saved.status == 303, text_of(saved)[-500:]
    scores = {s["id"]: s["scores"] for s in grading.Grades.gradebook(book.klass["id"])["students"]}
    assert scores[ann][str(book.q1["id"])]["points"] == 9
    # The row as the teacher left it: the points typed, no mark and the comment as the page showed them.
    assert scores[ben][str(book.q1["id"])] == {"points": 7, "mark": None, "comment": "Full marks"}


def test_a_bad_row_is_named_next_to_its_field_and_nothing_is_saved(app, grading, school):
    ada = portal_client(app, school.ada)
    book = school.book
    url = f"/classes/{book.klass['id']}/assignments/{book.q1['id']}"
    page = ada.get(url)
    before = grading.Grades.gradebook(book.klass["id"])
    ann, cleo = book.ann["id"], book.cleo["id"]
    wrong = post_fields(ada, url, form_fields(page, "column-form"), **{f"points-{ann}": "eight"})
    assert wrong.status == 400
    assert f'<p class="error" id="points-{ann}-error">Points must be a number, such as 8 or 7.5</p>' in wrong.text
    assert re.search(rf'id="points-{ann}"[^>]*aria-invalid="true"[^>]*autofocus', wrong.text)
    # Too many points: grading's rule, shown in that student's row.
    over = post_fields(ada, url, form_fields(page, "column-form"), **{f"points-{cleo}": "11"})
    assert over.status == 400, text_of(over)[-500:]
    assert re.search(rf'<p class="error" id="points-{cleo}-error">Points [^<]*10', over.text), text_of(over)
    assert 'value="11"' in over.text
    assert grading.Grades.gradebook(book.klass["id"]) == before


# -- assignments ------------------------------------------------------------------------------------


def test_add_edit_and_delete_an_assignment(app, grading, school):
    ada = portal_client(app, school.ada)
    klass = school.book.klass["id"]
    form = ada.get(f"/classes/{klass}/assignments/new")
    assert form.status == 200 and '<input id="due" name="due" type="date"' in form.text
    assert "<option selected>Quiz</option>" in form.text and "<option>Homework</option>" in form.text
    token = form.csrf()
    fields = {"csrf_token": token, "title": "Test 1", "category": "Quiz", "max_points": "25", "due": "2025-04-01"}
    added = ada.post(f"/classes/{klass}/assignments/new", fields)
    assert added.status == 303
    made = next(a for a in grading.Grades.list_assignments(klass) if a["title"] == "Test 1")
    assert added.header("Location") == f"/classes/{klass}/assignments/{made['id']}"
    assert "Added Test 1 (Quiz, out of 25 points)." in text_of(ada.get(added.header("Location")))
    taken = ada.post(f"/classes/{klass}/assignments/new", dict(fields, title="test 1"))
    assert taken.status == 409 and "Title is taken" in text_of(taken) and 'value="test 1"' in taken.text
    invalid = ada.post(f"/classes/{klass}/assignments/new", dict(fields, title=" ", max_points="0", due="soon"))
    assert invalid.status == 400
    said = text_of(invalid)
    assert "Title must not be empty" in said and "Most points must be a number above 0" in said
    assert "Due date must be a date" in said
    # Edit: a stale form is refused with the values stored now.
    edit_url = f"/classes/{klass}/assignments/{made['id']}/edit"
    opened = ada.get(edit_url)
    expected = dict(re.findall(r'name="(expected_\w+)" value="([^"]*)"', opened.text))
    assert expected == {
        "expected_title": "Test 1",
        "expected_category": "Quiz",
        "expected_max_points": "25",
        "expected_due": "2025-04-01",
    }
    grading.Grades.update_assignment(made["id"], title="Test one")
    edit = dict(expected, csrf_token=token, title="Test 1 (redone)", category="Quiz", max_points="30", due="")
    refused = ada.post(edit_url, edit)
    assert refused.status == 409 and "This assignment was changed after you opened the form." in text_of(refused)
    assert "Test one" in text_of(refused) and 'value="Test 1 (redone)"' in refused.text
    current = dict(re.findall(r'name="(expected_\w+)" value="([^"]*)"', refused.text))
    saved = ada.post(edit_url, dict(edit, **current))
    assert saved.status == 303
    changed = next(a for a in grading.Grades.list_assignments(klass) if a["id"] == made["id"])
    assert (changed["title"], changed["max_points"], changed["due"]) == ("Test 1 (redone)", 30, None)
    # Lowering the most points below a score given: grading's rule, at the field.
    essay = school.book.h1
    low = ada.get(f"/classes/{klass}/assignments/{essay['id']}/edit")
    expected = dict(re.findall(r'name="(expected_\w+)" value="([^"]*)"', low.text))
    lowered = ada.post(
        f"/classes/{klass}/assignments/{essay['id']}/edit",
        dict(expected, csrf_token=token, title="Essay", category="Homework", max_points="40", due=""),
    )
    assert lowered.status == 400 and 'id="max_points-error"' in lowered.text
    # Delete: the confirmation says how many scores go with it.
    confirm = ada.get(f"/classes/{klass}/assignments/{essay['id']}/delete")
    assert confirm.status == 200 and "Its 1 score goes with it" in text_of(confirm)
    shown = dict(form_fields(confirm, "delete-form"))
    assert shown["scored"] == "1"
    # A score entered after the confirmation was opened: nothing is deleted, and it asks again.
    other = next(s for s in grading.Grades.gradebook(klass)["students"] if str(essay["id"]) not in s["scores"])
    grading.Grades.set_scores(essay["id"], [{"student_id": other["id"], "points": 10}])
    stale = ada.post(f"/classes/{klass}/assignments/{essay['id']}/delete", shown)
    assert stale.status == 409 and "Its 2 scores go with it" in text_of(stale)
    assert essay["id"] in [a["id"] for a in grading.Grades.list_assignments(klass)]
    deleted = ada.post(f"/classes/{klass}/assignments/{essay['id']}/delete", dict(form_fields(stale, "delete-form")))
    assert deleted.status == 303 and "Deleted Essay and its 2 scores." in text_of(ada.get(f"/classes/{klass}"))
    assert essay["id"] not in [a["id"] for a in grading.Grades.list_assignments(klass)]
    again = ada.post(f"/classes/{klass}/assignments/{essay['id']}/delete", {"csrf_token": token})
    assert again.status == 303 and "already deleted" in text_of(ada.get(f"/classes/{klass}"))
    assert ada.get(f"/classes/{klass}/assignments/{essay['id']}").status == 404
    # An assignment of another class under this class's URL is not there.
    assert portal_client(app, school.admin).get(f"/classes/{klass}/assignments/{school.essay['id']}").status == 404


# -- categories and letters ---------------------------------------------------------------------------


def test_categories_and_letters(app, grading, school):
    ada = portal_client(app, school.ada)
    klass = school.book.klass["id"]
    url = f"/classes/{klass}/settings"
    page = ada.get(url)
    assert page.status == 200
    fields = dict(form_fields(page, "categories-form"))
    assert (fields["name-0"], fields["weight-0"], fields["was-0"]) == ("Quiz", "40", "Quiz")
    off = ada.post(url, dict(fields, **{"weight-1": "50"}))
    assert off.status == 400
    assert "The weights must add up to 100; these add up to 90. Nothing was saved." in text_of(off)
    assert 'name="weight-1" value="50"' in off.text
    bad = ada.post(url, dict(fields, **{"weight-1": "lots"}))
    assert bad.status == 400 and '<p class="error" id="weight-1-error">must be a number from 0 to 100</p>' in bad.text
    # Removing a category that assignments use: refused, naming it.
    removing = ada.post(url, dict(fields, **{"name-1": "", "weight-1": "", "weight-0": "100"}))
    assert removing.status == 400 and "Homework" in text_of(removing)
    # Renaming keeps the category's assignments; a new row adds one.
    renamed = ada.post(
        url, dict(fields, **{"name-1": "Assignments", "weight-1": "40", "name-2": "Project", "weight-2": "20"})
    )
    assert renamed.status == 303 and "Saved the categories and their weights." in text_of(ada.get(url))
    book = grading.Grades.gradebook(klass)
    assert [(c["name"], c["weight"]) for c in book["categories"]] == [
        ("Quiz", 40),
        ("Assignments", 40),
        ("Project", 20),
    ]
    assert {a["title"]: a["category"] for a in book["assignments"]}["Essay"] == "Assignments"
    # The letters.
    scale = dict(form_fields(ada.get(url), "scale-form"))
    assert [scale[f"letter-{i}"] for i in range(5)] == ["A", "B", "C", "D", "F"]
    wrong = ada.post(url, dict(scale, **{"min-4": "50"}))  # no letter from 0
    assert wrong.status == 400 and "Nothing was saved." in text_of(wrong)
    passed = ada.post(
        url,
        dict(
            scale,
            **{
                "letter-0": "P",
                "min-0": "50",
                "letter-1": "",
                "min-1": "",
                "letter-2": "",
                "min-2": "",
                "letter-3": "",
                "min-3": "",
                "letter-4": "NP",
                "min-4": "0",
            },
        ),
    )
    assert passed.status == 303
    assert grading.Grades.gradebook(klass)["scale"] == [{"letter": "P", "min": 50}, {"letter": "NP", "min": 0}]
    # Two tabs: the second one saves weights opened before the first one's save, and is refused.
    first, second = (dict(form_fields(ada.get(url), "categories-form")) for _ in range(2))
    assert ada.post(url, dict(first, **{"weight-0": "30", "weight-1": "50"})).status == 303
    stale = ada.post(url, dict(second, **{"weight-0": "50", "weight-1": "30"}))
    assert stale.status == 409 and "Someone changed the class's categories since you opened this page" in text_of(stale)
    assert 'name="weight-0" value="30"' in stale.text  # the form now shows them as they are
    assert [c["weight"] for c in grading.Grades.gradebook(klass)["categories"]] == [30, 50, 20]


# -- a student's report ------------------------------------------------------------------------------


def test_a_students_report_in_the_class(app, school):
    ada = portal_client(app, school.ada)
    book = school.book
    page = ada.get(f"/classes/{book.klass['id']}/students/{book.ann['id']}")
    assert page.status == 200
    said = text_of(page)
    assert "Ann Alpha" in said and "Average 75.7%" in said and "Letter C" in said
    assert "Essay Homework 45 / 50 Late Two days late" in said
    assert "Worksheet Homework — / 10 Missing" in said and "Reading Homework — / 10 Excused" in said
    assert "Quiz 40% 23 / 30 76.7%" in said and "Homework 60% 45 / 60 75.0%" in said
    # A student of another class, or of none, has no report here.
    assert (
        portal_client(app, school.admin).get(f"/classes/{book.klass['id']}/students/{school.dan['id']}").status == 404
    )


# -- valid HTML ---------------------------------------------------------------------------------------


def test_every_gradebook_page_passes_the_nu_html_checker(tmp_path, grading, school):
    command = checker()
    app = make_app(grading)
    ada = portal_client(app, school.ada)
    book = school.book
    klass = f"/classes/{book.klass['id']}"
    column = f"{klass}/assignments/{book.q1['id']}"
    empty = grading.Grades.add_class("Empty <class>", school.ada.username)
    token = ada.get("/classes").csrf()
    opened = ada.get(column)
    grading.Grades.set_scores(
        book.q1["id"], [{"student_id": book.ben["id"], "points": 1, "mark": None, "comment": None}]
    )
    fields = form_fields(opened, "column-form")
    settings = dict(form_fields(ada.get(f"{klass}/settings"), "categories-form"))
    pages = {
        "grid": ada.get(klass),
        "grid-sorted": ada.get(klass + "?sort=-average"),
        "grid-empty": ada.get(f"/classes/{empty['id']}"),
        "column": opened,
        "column-conflict": post_fields(ada, column, fields, **{f"points-{book.ben['id']}": "2"}),
        "column-invalid": post_fields(ada, column, fields, **{f"points-{book.ann['id']}": "x"}),
        "assignment-new": ada.get(f"{klass}/assignments/new"),
        "assignment-new-invalid": ada.post(
            f"{klass}/assignments/new",
            {"csrf_token": token, "title": "", "category": "Quiz", "max_points": "x", "due": "x"},
        ),
        "assignment-edit": ada.get(f"{column}/edit"),
        "assignment-delete": ada.get(f"{column}/delete"),
        "settings": ada.get(f"{klass}/settings"),
        "settings-invalid": ada.post(f"{klass}/settings", dict(settings, **{"weight-0": "1", "weight-1": "x"})),
        "report": ada.get(f"{klass}/students/{book.ann['id']}"),
        "roster": ada.get(f"{klass}/roster"),
    }
    folder = tmp_path / "pages"
    folder.mkdir()
    for name, page in pages.items():
        assert page.status in (200, 400, 409), (name, page.status)
        (folder / f"{name}.html").write_text(page.text, encoding="utf-8")
    # A page with known errors, checked in the same run: the checker must find them, or it checked nothing.
    (folder / "canary.html").write_text("<!doctype html><title>x</title><p><div>block in a paragraph</p>")
    files = sorted(str(path) for path in folder.iterdir())
    done = subprocess.run(
        [*command, "--format", "json", "--stdout", *files], capture_output=True, text=True, timeout=120
    )
    errors = [
        (Path(m.get("url", "")).name, f"line {m.get('lastLine')}: {m['message']} [{m.get('extract', '').strip()}]")
        for m in json.loads(done.stdout)["messages"]
        if m["type"] == "error" or m.get("subType") == "fatal"
    ]
    assert "canary.html" in {name for name, _ in errors}, done.stdout[-2000:] + done.stderr[-2000:]
    ours = [f"{name}: {text}" for name, text in errors if name != "canary.html"]
    assert ours == [], "\n".join(ours)
