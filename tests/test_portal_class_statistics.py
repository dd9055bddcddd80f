"""A class's statistics (``/classes/<id>/statistics``) and an assignment's
(``/classes/<id>/assignments/<aid>/statistics``), in-process against a real grading service, checked
against figures worked out by hand from the design's example: Quiz 40 %, Homework 60 %."""

import html
import re
from types import SimpleNamespace

import pytest
from helpers.signed_in import make_user, portal_client

from portal.app import make_app


@pytest.fixture
def app(grading):
    return make_app(grading)


@pytest.fixture
def weighted(grading):
    """Nick: quizzes 8/10 and 15/20, homework 45/50, one excused (of 30), one missing (of 10): 75.67 (C).
    Ann: quizzes 10/10 and 20/20, homework 50/50 and 27/30 late, the last one unscored: 97.75 (A).
    Zed: no scores, no average."""
    alice = make_user(grading, "teacher")
    klass = grading.Grades.add_class("Science 8", alice.username)
    grading.Grades.set_categories(klass["id"], [{"name": "Quiz", "weight": 40}, {"name": "Homework", "weight": 60}])
    nick, ann, zed = (
        grading.Grades.add_student(first, last, class_id=klass["id"])["id"]
        for first, last in (("Nick", "Carter"), ("Ann", "Lee"), ("Zed", "Zulu"))
    )
    made = {
        title: grading.Grades.add_assignment(klass["id"], title, category, points)
        for title, category, points in (
            ("Quiz 1", "Quiz", 10),
            ("Quiz 2", "Quiz", 20),
            ("HW 1", "Homework", 50),
            ("HW 2", "Homework", 30),
            ("HW 3", "Homework", 10),
        )
    }
    scores = {
        "Quiz 1": [(nick, 8, None), (ann, 10, None)],
        "Quiz 2": [(nick, 15, None), (ann, 20, None)],
        "HW 1": [(nick, 45, None), (ann, 50, None)],
        "HW 2": [(nick, None, "excused"), (ann, 27, "late")],
        "HW 3": [(nick, None, "missing")],
    }
    for title, given in scores.items():
        entries = [{"student_id": s, "points": p, "mark": m, "comment": None} for s, p, m in given]
        grading.Grades.set_scores(made[title]["id"], entries)
    return SimpleNamespace(alice=alice, klass=klass, made=made, ids=(nick, ann, zed), url=f"/classes/{klass['id']}")


def by_id(page, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page.text, re.S)
    assert match, element_id
    return html.unescape(match.group(1)).strip()


def rows(page, table_id: str) -> list[list[str]]:
    match = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', page.text, re.S)
    assert match, table_id
    return [
        [
            " ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", match.group(1), re.S)
    ]


def test_the_class_page_sums_up_the_weighted_averages_and_each_assignment(app, grading, weighted):
    page = portal_client(app, weighted.alice).get(f"{weighted.url}/statistics")
    assert page.status == 200
    # Nick: 0.4 x 23/30 + 0.6 x 45/60 = 75.67; Ann: 0.4 x 30/30 + 0.6 x 77/80 = 97.75.
    assert by_id(page, "students-count") == "3" and by_id(page, "graded-count") == "2"
    assert by_id(page, "mean") == "86.7" and by_id(page, "median") == "86.7"  # (75.67 + 97.75) / 2 = 86.71
    distribution = rows(page, "distribution")
    assert [r[1] for r in distribution] == ["0", "0", "0", "0", "0", "0", "0", "1", "0", "1"]
    assert distribution[7][0] == "70–79" and distribution[9][0] == "90–100"
    assert "2 of 3 students have an average" in " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())
    # Points over the scores that count: excused left out, missing counted 0, unscored left out.
    assert rows(page, "assignment-stats") == [
        ["Quiz 1", "10", "9.0", "9.0", "8.0", "10.0", "0"],
        ["Quiz 2", "20", "17.5", "17.5", "15.0", "20.0", "0"],
        ["HW 1", "50", "47.5", "47.5", "45.0", "50.0", "0"],
        ["HW 2", "30", "27.0", "27.0", "27.0", "27.0", "0"],
        ["HW 3", "10", "0.0", "0.0", "0.0", "0.0", "1"],
    ]
    hw2 = weighted.made["HW 2"]["id"]
    assert f'href="{weighted.url}/assignments/{hw2}/statistics"' in page.text
    book = grading.Grades.gradebook(weighted.klass["id"])
    averages = {s["id"]: (s["average"], s["letter"]) for s in book["students"]}
    nick, ann, zed = weighted.ids
    assert averages[nick][0] == pytest.approx(0.4 * 100 * 23 / 30 + 0.6 * 100 * 45 / 60) and averages[nick][1] == "C"
    assert averages[ann][0] == pytest.approx(97.75) and averages[ann][1] == "A"
    assert averages[zed] == (None, None)


def test_an_assignment_page_gives_points_percentages_counts_and_its_chart(app, weighted):
    alice = portal_client(app, weighted.alice)
    hw2 = alice.get(f"{weighted.url}/assignments/{weighted.made['HW 2']['id']}/statistics")
    assert hw2.status == 200
    assert rows(hw2, "figures") == [
        ["Mean", "27.0", "90.0"],
        ["Median", "27.0", "90.0"],
        ["Min", "27.0", "90.0"],
        ["Max", "27.0", "90.0"],
    ]
    assert by_id(hw2, "excused-count") == "1" and by_id(hw2, "late-count") == "1"
    assert by_id(hw2, "missing-count") == "0"
    assert [r[1] for r in rows(hw2, "distribution")] == ["0"] * 9 + ["1"]  # 27/30 = 90 %
    quiz1 = alice.get(f"{weighted.url}/assignments/{weighted.made['Quiz 1']['id']}/statistics")
    assert rows(quiz1, "figures")[0] == ["Mean", "9.0", "90.0"] and rows(quiz1, "figures")[2] == ["Min", "8.0", "80.0"]
    assert [r[1] for r in rows(quiz1, "distribution")] == ["0"] * 8 + ["1", "1"]  # 80 % and 100 %
    hw3 = alice.get(f"{weighted.url}/assignments/{weighted.made['HW 3']['id']}/statistics")
    assert by_id(hw3, "missing-count") == "1"
    assert [r[1] for r in rows(hw3, "distribution")] == ["1"] + ["0"] * 9  # missing counts 0 %


def test_another_teacher_gets_403_and_an_assignment_of_another_class_404(app, grading, weighted):
    bob = make_user(grading, "teacher")
    other = grading.Grades.add_class("Bob's class", bob.username)
    theirs = grading.Grades.add_assignment(other["id"], "Bob's quiz", "Quiz", 10)
    refused = portal_client(app, bob).get(f"{weighted.url}/statistics")
    assert refused.status == 403 and "Nick" not in refused.text
    alice = portal_client(app, weighted.alice)
    assert alice.get(f"{weighted.url}/assignments/{theirs['id']}/statistics").status == 404
    assert alice.get(f"{weighted.url}/assignments/abc/statistics").status == 404
    assert alice.get(f"/classes/{other['id']}/statistics").status == 403
