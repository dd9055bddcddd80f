"""Classes, rosters, a grade's history and the users page, in-process against a real grading service; and
what a teacher may reach: nothing of another teacher's class, student or grade, by URL or by form."""

import html
import re
from types import SimpleNamespace

import pytest
from helpers.signed_in import PASSWORD, SESSION_COOKIE, Account, make_user, portal_client, sign_in
from helpers.wsgi_client import WsgiClient

from portal.app import make_app


@pytest.fixture
def app(grading):
    return make_app(grading)


@pytest.fixture
def school(grading):
    """Two teachers, each with a class of one student with one grade; and an administrator."""
    alice = make_user(grading, "teacher", display_name="Alice Able")
    bob = make_user(grading, "teacher", display_name="Bob Baker")
    class_a = grading.Grades.add_class("Alice's class", alice.username)
    class_b = grading.Grades.add_class("Bob's class", bob.username)
    ann = grading.Grades.add_student("Ann", "Alpha", class_id=class_a["id"])
    ben = grading.Grades.add_student("Ben", "Beta", class_id=class_b["id"])
    return SimpleNamespace(
        admin=make_user(grading, "admin"),
        alice=alice,
        bob=bob,
        class_a=class_a,
        class_b=class_b,
        ann=ann,
        ben=ben,
        grade_a=grading.Grades.add_grade(ann["id"], "Ann's quiz", "Quiz", 70),
        grade_b=grading.Grades.add_grade(ben["id"], "Ben's quiz", "Quiz", 80),
    )


def text_of(page) -> str:
    """The page's visible text, roughly: tags out, entities decoded, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def everything(grading):
    """What grading holds, read with the service's authority: to show that a refused form changed nothing."""
    return (grading.Grades.get_students(), grading.Grades.list_classes(), grading.Users.list())


# -- what a teacher may reach -----------------------------------------------------------------------


def test_a_teacher_sees_their_own_class_students_and_grades(app, school):
    alice = portal_client(app, school.alice)
    classes = alice.get("/classes")
    assert classes.status == 200
    assert "Alice's class" in text_of(classes) and "Bob's class" not in text_of(classes)
    assert f'href="/classes/{school.class_a["id"]}"' in classes.text
    roster = alice.get(f"/classes/{school.class_a['id']}/roster")
    assert roster.status == 200 and f'<a href="/students/{school.ann["id"]}">Alpha, Ann</a>' in roster.text
    grid = alice.get(f"/classes/{school.class_a['id']}")
    assert grid.status == 200 and f'href="/classes/{school.class_a["id"]}/students/{school.ann["id"]}"' in grid.text
    students = text_of(alice.get("/students"))
    assert "Alpha, Ann" in students and "Beta, Ben" not in students and "Carter, Nick" not in students
    page = alice.get(f"/students/{school.ann['id']}")
    assert page.status == 200 and "Ann's quiz" in text_of(page)
    assert f'href="/grades/{school.grade_a["id"]}/history"' in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/classes/{class_b}",
        "/classes/{class_b}/roster",
        "/classes/{class_b}/roster?rename={ben}",
        "/classes/{class_b}/students/{ben}/unenroll",
        "/students/{ben}",
        "/students/{ben}?edit={grade_b}",
        "/students/{ben}/grades/{grade_b}/delete",
        "/grades/{grade_b}/history",
        "/classes/999999",  # a class that does not exist is refused alike: ids tell nothing
        "/grades/999999/history",
    ],
)
def test_teacher_a_cannot_reach_teacher_bs_class_student_or_grade_by_url(app, school, path):
    url = path.format(class_b=school.class_b["id"], ben=school.ben["id"], grade_b=school.grade_b["id"])
    page = portal_client(app, school.alice).get(url)
    assert page.status == 403, (url, page.status)
    assert "Ben" not in page.text and "Bob's class" not in page.text and "Traceback" not in page.text


def test_teacher_a_cannot_change_teacher_bs_class_student_or_grade_by_form(app, grading, school):
    alice = portal_client(app, school.alice)
    token = alice.get("/classes").csrf()
    before = everything(grading)
    class_b, ben, grade_b = school.class_b["id"], school.ben["id"], school.grade_b["id"]
    grade = {"title": "Forged", "type": "Exam", "score": "100", "request_id": "forged-1"}
    for path, form in (
        (f"/students/{ben}/grades", grade),
        (f"/students/{ben}/grades/{grade_b}", grade),
        (f"/students/{ben}/grades/{grade_b}/delete", {}),
        (f"/classes/{class_b}/students", {"first_name": "Mallory", "last_name": "M", "confirm": "yes"}),
        (f"/classes/{class_b}/students/{ben}/name", {"first_name": "Renamed", "last_name": "R"}),
        (f"/classes/{class_b}/students/{ben}/archive", {"archived": "1"}),
        (f"/classes/{class_b}/students/{ben}/unenroll", {}),
        (f"/classes/{class_b}/enrolments", {"student_id": str(ben)}),
    ):
        answer = alice.post(path, dict(form, csrf_token=token))
        assert answer.status == 403, (path, answer.status)
    # An import naming Bob's student: refused whole, naming the line.
    answer = alice.upload(
        "/import", {"csrf_token": token}, {"file": ("g.csv", f"student_id,title,type,score\n{ben},X,Quiz,1\n".encode())}
    )
    assert answer.status == 400 and "Line 2" in text_of(answer)
    assert everything(grading) == before


def test_an_administrator_sees_every_class_and_a_missing_one_is_404(app, school):
    admin = portal_client(app, school.admin)
    classes = text_of(admin.get("/classes"))
    assert "Alice's class" in classes and "Bob's class" in classes and "Alice Able" in classes
    assert admin.get(f"/classes/{school.class_b['id']}").status == 200
    assert admin.get(f"/classes/{school.class_b['id']}/roster").status == 200
    assert admin.get("/classes/999999").status == 404
    assert admin.get("/classes/999999/roster").status == 404
    assert admin.get("/classes/abc").status == 404


# -- a class's roster -------------------------------------------------------------------------------


def test_adding_a_student_of_a_name_already_in_the_class_asks_first(app, grading, school):
    alice = portal_client(app, school.alice)
    url = f"/classes/{school.class_a['id']}"
    page = alice.get(url + "/roster")
    form = {"csrf_token": page.csrf(), "request_id": page.request_ids()[0], "first_name": "ann", "last_name": " ALPHA"}
    asked = alice.post(url + "/students", form)
    assert asked.status == 200 and "This class already has a student named Ann Alpha" in text_of(asked)
    assert 'name="confirm" value="yes"' in asked.text and 'value="ann"' in asked.text
    assert grading.Grades.list_students(class_id=school.class_a["id"])["total"] == 1
    confirmed = alice.post(url + "/students", dict(form, confirm="yes", request_id=asked.request_ids()[0]))
    assert confirmed.status == 303 and confirmed.header("Location").startswith(url + "/roster#student-")
    assert grading.Grades.list_students(class_id=school.class_a["id"])["total"] == 2
    # Another name is added at once.
    other = alice.post(url + "/students", dict(form, first_name="Cleo", last_name="Alpha", request_id="r-cleo"))
    assert other.status == 303 and "Added Cleo Alpha." in alice.get(url + "/roster").text


def test_rename_archive_restore_and_remove_a_student(app, grading, school):
    alice = portal_client(app, school.alice)
    url = f"/classes/{school.class_a['id']}"
    roster = url + "/roster"
    ann = school.ann["id"]
    token = alice.get(roster).csrf()
    opened = alice.get(f"{roster}?rename={ann}")
    assert f'action="{url}/students/{ann}/name"' in opened.text and 'value="Ann"' in opened.text
    blank = alice.post(f"{url}/students/{ann}/name", {"csrf_token": token, "first_name": "", "last_name": "Alpha"})
    assert blank.status == 400 and "First name must not be empty" in text_of(blank)
    renamed = alice.post(
        f"{url}/students/{ann}/name", {"csrf_token": token, "first_name": "Anna", "last_name": "Alpha"}
    )
    assert renamed.status == 303 and "Renamed Ann Alpha to Anna Alpha." in alice.get(roster).text
    assert grading.Grades.get_student(ann)["first_name"] == "Anna"
    archived = alice.post(f"{url}/students/{ann}/archive", {"csrf_token": token, "archived": "1"})
    assert archived.status == 303
    page = alice.get(roster)
    assert "Archived Anna Alpha" in text_of(page)
    archived_part = page.text[page.text.index('id="archived"') :]
    assert "Alpha, Anna" in archived_part and "Restore" in archived_part
    assert alice.get(f"/students/{ann}").status == 200  # still theirs to see
    assert alice.post(f"{url}/students/{ann}/archive", {"csrf_token": token, "archived": "0"}).status == 303
    assert 'id="archived"' not in alice.get(roster).text
    confirm = alice.get(f"{url}/students/{ann}/unenroll")
    assert confirm.status == 200 and "Remove Anna Alpha from the class?" in text_of(confirm)
    assert "Their grades in the class are kept" in text_of(confirm)
    removed = alice.post(f"{url}/students/{ann}/unenroll", {"csrf_token": token})
    assert removed.status == 303 and "Removed Anna Alpha from the class." in alice.get(roster).text
    assert grading.Grades.list_students(class_id=school.class_a["id"])["total"] == 0
    again = alice.post(f"{url}/students/{ann}/unenroll", {"csrf_token": token})  # a second click
    assert again.status == 303 and "already removed" in alice.get(roster).text
    # The grades stay in the store: an administrator still sees them.
    assert [g["title"] for g in grading.Grades.get_student(ann)["grades"]] == ["Ann's quiz"]


def test_a_student_id_under_another_class_is_404(app, grading, school):
    admin = portal_client(app, school.admin)
    token = admin.get("/classes").csrf()
    url = f"/classes/{school.class_a['id']}/students/{school.ben['id']}"
    assert admin.get(url + "/unenroll").status == 404
    assert admin.post(url + "/archive", {"csrf_token": token, "archived": "1"}).status == 404
    assert grading.Grades.list_students(class_id=school.class_b["id"])["total"] == 1


def test_an_administrator_makes_a_class_for_a_teacher_and_enrols_students(app, grading, school):
    admin = portal_client(app, school.admin)
    page = admin.get("/classes")
    assert f'<option value="{school.alice.username}">Alice Able ({school.alice.username})</option>' in page.text
    token = page.csrf()
    blank = admin.post("/classes", {"csrf_token": token, "name": "  ", "teacher": ""})
    assert blank.status == 400 and "Name must not be empty" in text_of(blank)
    made = admin.post("/classes", {"csrf_token": token, "name": "Year 9 <Maths>", "teacher": school.bob.username})
    assert made.status == 303
    url = made.header("Location")
    class_id = int(url.rsplit("/", 1)[1])
    assert "Added the class Year 9 <Maths>." in text_of(admin.get(url))
    for student in (1, 2, school.ann["id"]):
        answer = admin.post(f"{url}/enrolments", {"csrf_token": token, "student_id": str(student)})
        assert answer.status == 303, text_of(answer)[-300:]
    bad = admin.post(f"{url}/enrolments", {"csrf_token": token, "student_id": "abc"})
    assert bad.status == 400 and "must be a whole number, such as 12" in text_of(bad)
    missing = admin.post(f"{url}/enrolments", {"csrf_token": token, "student_id": "999999"})
    assert missing.status == 400 and "there is none with id 999999" in text_of(missing)
    assert grading.Grades.list_students(class_id=class_id)["total"] == 3
    # Bob now sees the class and its students.
    bob = portal_client(app, school.bob)
    assert "Year 9 <Maths>" in text_of(bob.get("/classes"))
    assert bob.get(f"/students/{school.ann['id']}").status == 200


# -- history and changes ------------------------------------------------------------------------------


def test_a_grades_history_and_the_class_changes_show_an_edit_old_and_new_values(app, school):
    alice = portal_client(app, school.alice)
    ann, grade = school.ann["id"], school.grade_a["id"]
    page = alice.get(f"/students/{ann}?edit={grade}")
    form = re.search(r'<form method="post" action="[^"]*" class="card edit".*?</form>', page.text, re.S).group(0)
    fields = {name: html.unescape(value) for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', form)}
    fields.update(title="Ann's quiz, marked again", type="Test", score="95")
    assert alice.post(f"/students/{ann}/grades/{grade}", fields).status == 303
    history = alice.get(f"/grades/{grade}/history")
    assert history.status == 200
    rows = history.text.split('<li class="change">')[1:]
    assert len(rows) == 2  # created (by the service, in the fixture), then changed by Alice
    created, changed = (text_of(SimpleNamespace(text=row)) for row in rows)
    assert "Created" in created and "(service)" in created
    assert "Changed" in changed and school.alice.username in changed
    assert "score: 70 → changed to 95" in changed and "type: Quiz → changed to Test" in changed
    assert "title: Ann's quiz → changed to Ann's quiz, marked again" in changed
    assert f'href="/students/{ann}#grade-{grade}"' in history.text
    changes = alice.get(f"/classes/{school.class_a['id']}/roster")
    recent = text_of(SimpleNamespace(text=changes.text[changes.text.index('id="changes"') :]))
    assert "Changed score: Ann Alpha Ann's quiz, marked again: 70 → changed to 95" in recent


# -- users ------------------------------------------------------------------------------------------


def test_an_administrator_adds_a_user_with_a_password_typed_twice(app, grading, school):
    admin = portal_client(app, school.admin)
    token = admin.get("/users").csrf()
    form = {"csrf_token": token, "username": "tess", "display_name": "Tess T", "role": "teacher"}
    mismatch = admin.post("/users", dict(form, password=PASSWORD, password_again=PASSWORD + "!"))
    assert mismatch.status == 400 and "The two passwords are not the same." in text_of(mismatch)
    assert PASSWORD not in mismatch.text and 'value="tess"' in mismatch.text
    short = admin.post("/users", dict(form, password="short", password_again="short"))
    assert (
        short.status == 400
        and "Password" in text_of(short)
        and "short" not in re.findall(r'value="([^"]*)"', short.text)
    )
    added = admin.post("/users", dict(form, password=PASSWORD, password_again=PASSWORD))
    assert added.status == 303 and "Added Tess T (tess) as teacher." in admin.get("/users").text
    taken = admin.post("/users", dict(form, password=PASSWORD, password_again=PASSWORD))
    assert taken.status == 409 and "Username is taken" in text_of(taken)
    assert "tess" in [u["username"] for u in grading.Users.list()]
    sign_in(WsgiClient(app), Account("tess", PASSWORD, "teacher"))


def test_disabling_a_user_ends_their_sessions_and_enabling_lets_them_back(app, school):
    admin = portal_client(app, school.admin)
    bob = portal_client(app, school.bob)
    token = admin.get("/users").csrf()
    answer = admin.post(f"/users/{school.bob.username}/disabled", {"csrf_token": token, "disabled": "1"})
    assert answer.status == 303 and "Disabled Bob Baker" in admin.get("/users").text
    assert bob.get("/classes").status == 303
    form = WsgiClient(app)
    refused = form.post(
        "/login",
        {"csrf_token": form.get("/login").csrf(), "username": school.bob.username, "password": school.bob.password},
    )
    assert refused.status == 403 and "Wrong username or password." in refused.text
    assert admin.post(f"/users/{school.bob.username}/disabled", {"csrf_token": token, "disabled": "0"}).status == 303
    sign_in(WsgiClient(app), school.bob)
    # Nobody disables their own account from here.
    own = admin.post(f"/users/{school.admin.username}/disabled", {"csrf_token": token, "disabled": "1"})
    assert own.status == 400 and "cannot disable your own account" in text_of(own)


def test_setting_a_password_ends_the_sessions_and_the_new_one_works(app, school):
    admin = portal_client(app, school.admin)
    alice = portal_client(app, school.alice)
    url = f"/users/{school.alice.username}/password"
    form = admin.get(url)
    assert form.status == 200 and 'autocomplete="new-password"' in form.text
    token = form.csrf()
    new = "a brand new password, long enough"
    mismatch = admin.post(url, {"csrf_token": token, "password": new, "password_again": new + "?"})
    assert mismatch.status == 400 and new not in mismatch.text
    assert admin.post(url, {"csrf_token": token, "password": new, "password_again": new}).status == 303
    assert alice.get("/classes").status == 303  # her session ended
    old = WsgiClient(app)
    fields = {
        "csrf_token": old.get("/login").csrf(),
        "username": school.alice.username,
        "password": school.alice.password,
    }
    assert old.post("/login", fields).status == 403
    sign_in(WsgiClient(app), Account(school.alice.username, new, "teacher"))
    assert admin.get("/users/no-such-user/password").status == 404
    assert admin.get("/users/NOT%20A%20NAME/password").status == 404


def test_an_administrator_setting_their_own_password_signs_in_again(app, school):
    admin = portal_client(app, school.admin)
    url = f"/users/{school.admin.username}/password"
    token = admin.get(url).csrf()
    new = "my own new password, long enough"
    answer = admin.post(url, {"csrf_token": token, "password": new, "password_again": new})
    assert answer.status == 303 and answer.header("Location") == "/login?next=/users"
    assert SESSION_COOKIE not in admin.cookies
    assert "Your password was changed." in admin.get("/login?next=/users").text
