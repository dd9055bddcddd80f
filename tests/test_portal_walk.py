"""What an administrator and a teacher met in their first week with the portal, each now a test: a class's
changes in people's words, the page that says where you are, forms that answer where they are and say
what to do next. In-process against a real grading service, and in a real Chromium where focus and
scrolling are the point."""

import html
import re
from types import SimpleNamespace

import pytest
from helpers.browser import PHONE, grading_client
from helpers.signed_in import make_user, portal_client, sign_in_context
from helpers.waiting import wait_until

from portal.app import make_app


@pytest.fixture
def app(grading):
    return make_app(grading)


@pytest.fixture
def school(grading):
    """A teacher with a class of one student, another teacher with a class, and an administrator."""
    ada = make_user(grading, "teacher", display_name="Ada Lovelace")
    bob = make_user(grading, "teacher", display_name="Bob Brown")
    maths = grading.Grades.add_class("Maths 3B", ada.username)
    history = grading.Grades.add_class("History 4A", bob.username)
    return SimpleNamespace(
        admin=make_user(grading, "admin"),
        ada=ada,
        bob=bob,
        maths=maths,
        history=history,
        grace=grading.Grades.add_student("Grace", "Hopper", class_id=maths["id"]),
    )


def text_of(page) -> str:
    """The page's visible text, roughly: tags out, entities decoded, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def recent_changes(page) -> str:
    """The text of the class page's "Recent changes" section."""
    return text_of(SimpleNamespace(text=page.text[page.text.index('id="changes"') :]))


def test_a_class_changes_name_its_students_and_grades_not_store_rows(app, grading, school):
    ada = portal_client(app, school.ada)
    url = f"/classes/{school.maths['id']}"
    token = ada.get(url).csrf()
    added = ada.post(
        url + "/students", {"csrf_token": token, "first_name": "Alan", "last_name": "Turing", "request_id": "r-alan"}
    )
    assert added.status == 303
    alan = next(
        s for s in grading.Grades.list_students(class_id=school.maths["id"])["students"] if s["last_name"] == "Turing"
    )
    grace = school.grace["id"]
    for archived in ("1", "0"):
        assert ada.post(f"{url}/students/{grace}/archive", {"csrf_token": token, "archived": archived}).status == 303
    page = ada.get(f"/students/{grace}")
    fields = {"csrf_token": page.csrf(), "title": "Quiz 1", "type": "Quiz", "score": "85", "request_id": "r-q1"}
    assert ada.post(f"/students/{grace}/grades", fields).status == 303
    grade = grading.Grades.get_student(grace)["grades"][0]
    grading.Grades.update_grade(grade["id"], score=88)
    assert ada.post(f"{url}/students/{alan['id']}/unenroll", {"csrf_token": token}).status == 303

    # Alan left the class: his teacher may no longer read him, so his number stands for his name.
    assert f"{school.ada.username} · Removed from the class: student {alan['id']} " in recent_changes(
        ada.get(url + "/roster")
    )
    assert f"Enrolled student {alan['id']}, no longer in the class" in recent_changes(ada.get(url + "/roster"))
    admin = portal_client(app, school.admin)
    page = admin.get(url + "/roster")
    changes = recent_changes(page)
    for said in (
        f"{school.ada.username} · Removed from the class: Alan Turing",
        "(service) · Changed score: Grace Hopper Quiz 1: 85 → changed to 88",
        f"{school.ada.username} · New score: Grace Hopper Quiz 1: 85",
        f"{school.ada.username} · Added assignment Quiz 1 (100 points) category: Quiz",
        f"{school.ada.username} · Restored Grace Hopper",
        f"{school.ada.username} · Archived Grace Hopper",
        f"{school.ada.username} · Enrolled Alan Turing",
        "Created the class name: Maths 3B",
    ):
        assert said in changes, (said, changes[:3000])
    # The store's words and ids are not a teacher's: no "enrolment 7", "class: 2", "student: 6".
    assert "enrolment" not in changes and not re.search(r"(student|class): \d", changes)
    assert f'<a href="/grades/{grade["id"]}/history">Grace Hopper</a>' in page.text
    assert f'<a href="/students/{grace}">Grace Hopper</a>' in page.text
    assert "Every change in this class, newest first." in text_of(page)


def test_a_class_page_names_its_teacher_as_the_list_of_classes_does(app, school):
    named = f"Teacher: Ada Lovelace ({school.ada.username})"
    for account in (school.admin, school.ada):
        assert named in text_of(portal_client(app, account).get(f"/classes/{school.maths['id']}")), account.role


def test_enrolling_a_student_already_in_the_class_says_so(app, grading, school):
    admin = portal_client(app, school.admin)
    url = f"/classes/{school.maths['id']}"
    token = admin.get(url).csrf()
    grace = school.grace["id"]
    again = admin.post(url + "/enrolments", {"csrf_token": token, "student_id": str(grace)})
    assert again.status == 303 and again.header("Location").endswith(f"{url}/roster#student-{grace}")
    assert "Grace Hopper is already in the class." in text_of(admin.get(url + "/roster"))
    grading.Grades.archive(school.maths["id"], grace)
    admin.post(url + "/enrolments", {"csrf_token": token, "student_id": str(grace)})
    assert "Grace Hopper is already in the class, archived." in text_of(admin.get(url + "/roster"))
    assert grading.Grades.list_students(class_id=school.maths["id"], archived=True)["total"] == 1
    typo = admin.post(url + "/enrolments", {"csrf_token": token, "student_id": "l2"})
    assert typo.status == 400 and "Student's number must be a whole number, such as 12" in text_of(typo)


def test_a_refused_page_says_what_to_do_next(app, school):
    ada = portal_client(app, school.ada)
    refused = ada.get(f"/classes/{school.history['id']}")
    assert refused.status == 403
    said = text_of(refused)
    assert "If you need it, ask an administrator of the portal." in said
    assert '<a href="/classes">your classes</a>' in refused.text


def test_every_page_says_where_it_is_in_the_menu(app, grading, school):
    ada = portal_client(app, school.ada)
    grade = grading.Grades.add_grade(school.grace["id"], "Quiz 1", "Quiz", 80)
    for path, section in (
        (f"/classes/{school.maths['id']}", "/classes"),
        (f"/classes/{school.maths['id']}/roster", "/classes"),
        (f"/classes/{school.maths['id']}/students/{school.grace['id']}/unenroll", "/classes"),
        (f"/students/{school.grace['id']}", "/students"),
        (f"/grades/{grade['id']}/history", "/students"),
    ):
        page = ada.get(path)
        assert page.status == 200, path
        nav = re.search(r'<nav aria-label="Main">.*?</nav>', page.text, re.S).group(0)
        assert re.findall(r'href="([^"]+)" aria-current="location"', nav) == [section], (path, nav)
    listed = ada.get("/classes")
    assert '<a href="/classes" aria-current="page">Classes</a>' in listed.text
    # A teacher's list is "My classes", in the tab's title too.
    assert "<title>My classes · Teacher portal</title>" in listed.text
    assert "<title>Classes · Teacher portal</title>" in portal_client(app, school.admin).get("/classes").text


def test_a_new_user_form_says_every_problem_at_once(app, grading, school):
    admin = portal_client(app, school.admin)
    before = grading.Users.list()
    form = {"username": "Ada Lovelace", "display_name": "Ada", "role": "teacher", "password": "short"}
    answer = admin.post("/users", dict(form, csrf_token=admin.get("/users").csrf(), password_again="short"))
    said = text_of(answer)
    assert answer.status == 400
    assert "Username must be 1-64 characters of a-z 0-9 . _ -" in said and "Password must be 12-128 characters" in said
    # Each field says its own problem, and the first one with a problem has the focus.
    assert 'id="username" name="username" value="Ada Lovelace"' in answer.text
    assert re.search(r'id="username"[^>]*aria-invalid="true"[^>]*autofocus', answer.text)
    assert re.search(r'id="password"[^>]*aria-invalid="true"', answer.text)
    assert grading.Users.list() == before


def in_view(page, selector: str) -> bool:
    """True if the element's whole box is inside the window (nothing to scroll to see it)."""
    return page.evaluate(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
                  return r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth; }""",
        selector,
    )


def test_a_teacher_works_a_class_from_the_keyboard_on_a_phone(cluster, browser):
    grading = grading_client(cluster)
    teacher = make_user(grading, "teacher", display_name="Kay Board")
    klass = grading.Grades.add_class("Keyboard class", teacher.username)
    for first, last in (("Alan", "Turing"), ("Grace", "Hopper"), ("Edsger", "Dijkstra"), ("Barbara", "Liskov")):
        grading.Grades.add_student(first, last, class_id=klass["id"])
    url = f"{cluster.portal}/classes/{klass['id']}/roster"
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)

    def focused() -> str:
        """The focused element's id once the page has given the focus to one (autofocus runs after load)."""
        return wait_until(lambda: page.evaluate("document.activeElement.id"), message="autofocus")

    def enter():
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url

    try:
        # Signing in: the username has the focus, Tab goes to the password, Enter signs in.
        page.goto(f"{cluster.portal}/login?next=/classes/{klass['id']}/roster")
        assert focused() == "username"
        page.keyboard.type(teacher.username)
        page.keyboard.press("Tab")
        page.keyboard.type(teacher.password)
        enter()
        assert page.url == url
        # Rename: the form opens with the focus in its first field, on screen.
        turing = next(
            s for s in grading.Grades.list_students(class_id=klass["id"])["students"] if s["last_name"] == "Turing"
        )
        page.focus(f"a[href='/classes/{klass['id']}/roster?rename={turing['id']}']")
        enter()
        assert focused() == f"s{turing['id']}-first_name"
        assert in_view(page, f"#s{turing['id']}-first_name") and in_view(page, ".card.edit button[type=submit]")
        page.keyboard.press("Control+A")
        page.keyboard.type("Alana")
        enter()
        assert page.inner_text(".flash") == "Renamed Alan Turing to Alana Turing."
        # A name already in the class: the page asks, its question on screen and its button focused.
        page.goto(url)
        page.focus("#first_name")
        page.keyboard.type("grace")
        page.keyboard.press("Tab")
        page.keyboard.type("HOPPER")
        enter()
        assert focused() == "add-again" and page.inner_text("#add-again") == "Add another grace HOPPER"
        assert in_view(page, "#same-name")
        enter()
        assert page.inner_text(".flash") == "Added grace HOPPER."
        assert grading.Grades.list_students(class_id=klass["id"])["total"] == 5
    finally:
        context.close()


def test_the_users_and_what_to_do_to_them_fit_a_phone(cluster, browser):
    grading = grading_client(cluster)
    gone = make_user(grading, "teacher", display_name="Bartholomew Longname-Smythe")
    grading.Users.disable(gone.username)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in_context(context, cluster.portal, cluster.admin)
        page.goto(cluster.portal + "/users")
        # The table does not scroll sideways, so every user's Set password and Disable are on screen.
        assert page.evaluate("(w => w.scrollWidth <= w.clientWidth)(document.querySelector('.table-wrap'))")
        actions = page.locator("#users .actions a, #users .actions button")
        assert actions.count() >= 3
        # The column headings keep their rule below; only a user's own two rows run together.
        assert page.evaluate("getComputedStyle(document.querySelector('#users thead th')).borderBottomWidth") == "1px"
        row = page.locator(f"#user-{gone.username}")
        assert row.locator(".disabled").inner_text() == "Disabled"
        assert row.locator(".actions button").inner_text().startswith("Enable")
        for i in range(actions.count()):
            box = actions.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], actions.nth(i)
    finally:
        context.close()


def test_a_rename_shows_in_the_class_changes_under_the_new_name(app, school):
    ada = portal_client(app, school.ada)
    url = f"/classes/{school.maths['id']}"
    grace = school.grace["id"]
    renamed = ada.post(
        f"{url}/students/{grace}/name",
        {"csrf_token": ada.get(url).csrf(), "first_name": "Grace", "last_name": "Brewster"},
    )
    assert renamed.status == 303
    page = ada.get(url + "/roster")
    changes = recent_changes(page)
    said = f"{school.ada.username} · Renamed Grace Brewster last name: Hopper → changed to Brewster"
    assert said in changes, changes[:2000]
    assert "(service) · Added student Grace Brewster" in changes  # added by the school fixture, as the service
    assert f'<a href="/students/{grace}">Grace Brewster</a>' in page.text
