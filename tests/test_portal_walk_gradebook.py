"""What a teacher met walking through the new gradebook in a browser, each now a test: the import's preview
counts the students a file adds, and the assignment form goes from field to field with Tab without a link
in between. In-process against a real grading service."""

import html
import re

import pytest
from helpers.signed_in import make_user, portal_client

from portal.app import make_app


@pytest.fixture
def app(grading):
    return make_app(grading)


def summary_of(page) -> str:
    """The preview's one-line summary, as text."""
    found = re.search(r'<p id="preview-summary">(.*?)</p>', page.text, re.S)
    assert found, "no summary"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


@pytest.mark.parametrize(("add_students", "said"), [(True, "(to be added)"), (False, "(left out)")])
def test_a_file_of_new_students_says_how_many_in_its_summary(app, grading, add_students, said):
    teacher = make_user(grading, "teacher")
    klass = grading.Grades.add_class("Year 9 Maths", teacher.username)
    portal = portal_client(app, teacher)
    url = f"/classes/{klass['id']}"
    names = "".join(f",First{n},Last{n}\n" for n in range(10))
    fields = {"csrf_token": portal.get(f"{url}/import").csrf(), **({"add_students": "yes"} if add_students else {})}
    page = portal.upload(
        f"{url}/import", fields, {"file": ("names.csv", f"student_id,first_name,last_name\n{names}".encode())}
    )
    assert page.status == 200
    assert summary_of(page) == (
        f"The file adds 0 scores and changes 0; 0 new assignments; 10 students not on the roster {said}; 0 unchanged."
    )


def test_a_file_of_scores_only_says_no_student_is_added(app, grading):
    teacher = make_user(grading, "teacher")
    klass = grading.Grades.add_class("Year 9 Maths", teacher.username)
    ada = grading.Grades.add_student("Ada", "Adams", class_id=klass["id"])
    grading.Grades.add_assignment(klass["id"], "Quiz 1", "Quiz", 10)
    portal = portal_client(app, teacher)
    url = f"/classes/{klass['id']}"
    data = f"student_id,first_name,last_name,Quiz 1\n{ada['id']},Ada,Adams,8\n".encode()
    page = portal.upload(f"{url}/import", {"csrf_token": portal.get(f"{url}/import").csrf()}, {"file": ("q.csv", data)})
    assert summary_of(page) == (
        "The file adds 1 score and changes 0; 0 new assignments; 0 students not on the roster; 0 unchanged."
    )


@pytest.mark.parametrize("form", ["new", "edit"])
def test_the_assignment_form_has_no_link_between_its_fields(app, grading, form):
    """Tab from the title goes to the category, then to the points: the link to the categories' settings is
    still on the page, before the form, where Enter on it loses nothing typed."""
    teacher = make_user(grading, "teacher")
    klass = grading.Grades.add_class("Year 9 Maths", teacher.username)
    quiz = grading.Grades.add_assignment(klass["id"], "Quiz 1", "Quiz", 10)
    url = f"/classes/{klass['id']}/assignments/" + ("new" if form == "new" else f"{quiz['id']}/edit")
    page = portal_client(app, teacher).get(url)
    assert page.status == 200
    fields = re.search(r'<input id="title".*?<button type="submit">', page.text, re.S)
    assert fields, "no title or button"
    assert "<a " not in fields.group(0)
    before = page.text[: page.text.index('<input id="title"')]
    assert f'<a href="/classes/{klass["id"]}/settings">categories and their weights</a>' in before
