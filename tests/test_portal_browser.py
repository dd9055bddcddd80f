"""The portal in a real headless Chromium (Debian's), driven by Playwright."""

import contextlib
import html
import http.server
import signal
import threading

import pytest
from helpers.browser import PHONE, grading_client, names_shown, new_student, serious_violations, shot
from helpers.processes import Cluster, Processes
from helpers.signed_in import sign_in_context
from helpers.waiting import wait_until

from portal.frame.csrf import CSRF_COOKIE
from rpc_cluster import Client


@pytest.fixture
def page(page, cluster):
    """A fresh browser page, signed in to the module's cluster as its administrator."""
    sign_in_context(page.context, cluster.portal, cluster.admin)
    return page


def test_list_click_a_student_add_a_grade_and_see_it(cluster, page):
    page.goto(cluster.portal + "/")
    assert page.url.endswith("/students")
    shot(page, "students")
    page.click("text=Stone, Emma")
    assert page.url.endswith("/students/3")
    assert page.inner_text("#average") == "47.3"
    page.fill("#title", "Pop quiz <b>4</b>")
    page.select_option("#type", "Homework")
    page.fill("#score", "93")
    page.click("button:has-text('Add grade')")
    assert page.url.endswith("/students/3#title")
    assert page.inner_text(".flash") == "Added Pop quiz <b>4</b> (Homework, 93)."
    last_row = page.locator("#grades tr.grade").last
    assert last_row.inner_text().split("\t") == ["Pop quiz <b>4</b>", "Homework", "93"]
    assert page.inner_text("#average") == "58.8"  # (67 + 0 + 75 + 93) / 4
    assert page.inner_text("footer").startswith("trace: ")
    shot(page, "student")
    # Reloading does not post again (post/redirect/get).
    page.reload()
    assert page.locator("#grades tr.grade").count() == 4


def test_an_invalid_score_is_refused_with_a_message(cluster, page):
    page.goto(cluster.portal + "/students/1")
    rows = page.locator("#grades tr.grade").count()
    page.fill("#title", "Too much")
    page.fill("#score", "150")
    page.click("button:has-text('Add grade')")
    assert page.inner_text(".error") == "Score must be a number from 0 to 100"
    assert page.input_value("#title") == "Too much"
    shot(page, "student-invalid")
    page.goto(cluster.portal + "/students/1")
    assert page.locator("#grades tr.grade").count() == rows


def test_add_a_student_on_a_phone(cluster, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, java_script_enabled=False)
    sign_in_context(context, cluster.portal, cluster.admin)
    page = context.new_page()
    try:
        page.goto(cluster.portal + "/students")
        page.fill("#first_name", "Grace")
        page.fill("#last_name", "Hopper")
        page.click("button:has-text('Add student')")
        assert page.inner_text("h1") == "Grace Hopper"
        assert page.inner_text("#average") == "—"
        # Nothing is wider than the phone's screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "student-phone")
        page.goto(cluster.portal + "/cluster")
        shot(page, "cluster-phone")
    finally:
        context.close()


def test_cluster_page_and_error_pages(cluster, page):
    page.goto(cluster.portal + "/cluster")
    assert "GradingService" in page.inner_text("main") and "passing" in page.inner_text("main")
    shot(page, "cluster")
    response = page.goto(cluster.portal + "/students/abc")
    assert response.status == 404 and page.inner_text("h1") == "Not found"
    shot(page, "not-found")


@contextlib.contextmanager
def attacker_site(page_html: str):
    """A page served by another server on 127.0.0.1 (another port: the same site as the portal); its URL."""

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = page_html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    thread = threading.Thread(target=server.serve_forever, name="attacker-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_a_page_on_another_port_cannot_post_a_grade(cluster, page):
    # Cookies ignore ports, so this page can set the portal's cookie; SameSite does not stop it either.
    nonce = "f" * 43
    target = cluster.portal + "/students/3/grades"
    attack = f"""<!doctype html><title>Free quiz answers</title>
<form method="post" action="{html.escape(target)}">
  <input name="csrf_token" value="{nonce}"><input name="title" value="Forged by another site">
  <input name="type" value="Exam"><input name="score" value="100">
</form>
<script>
  document.cookie = "{CSRF_COOKIE}={nonce}; path=/";
  document.forms[0].submit();
</script>"""
    with attacker_site(attack) as url:
        with page.expect_response(target) as posted:
            page.goto(url)
        response = posted.value
        assert response.request.method == "POST"
        assert f"{CSRF_COOKIE}={nonce}" in (response.request.header_value("cookie") or "")  # the cookie got there
        assert response.status == 403
    page.wait_for_load_state()
    assert "did not come from this portal" in page.inner_text("main")
    shot(page, "csrf-refused")
    grading = Client(cluster.grading_proc.url())
    assert "Forged by another site" not in [g["title"] for g in grading.Grades.get_student(3)["grades"]]


def test_grading_killed_then_restarted(tmp_path, browser, axe):
    processes = Processes(tmp_path)
    try:
        cluster = Cluster(processes, tmp_path)
        page = browser.new_page()
        sign_in_context(page.context, cluster.portal, cluster.admin)
        page.goto(cluster.portal + "/students/2")
        assert page.inner_text("h1") == "Roberto Baggio"
        port = cluster.grading_proc.url().rsplit(":", 1)[1].split("/")[0]
        cluster.grading_proc.signal(signal.SIGKILL)
        cluster.grading_proc.wait()
        response = page.reload()
        assert response.status == 503
        assert "not answering" in page.inner_text("main") and "Traceback" not in page.content()
        shot(page, "grading-unavailable")
        assert serious_violations(axe, page) == []
        cluster.start_grading(int(port))

        def page_back():
            return page.reload().status == 200

        wait_until(page_back, 15, interval=0.3, message="the page to work again")
        assert page.inner_text("h1") == "Roberto Baggio"
        page.close()
    finally:
        processes.cleanup()


# -- the gradebook: search, sort, edit, delete, export and import, statistics; axe on every page ----


def test_search_then_sort(cluster, page):
    page.goto(cluster.portal + "/students")
    page.fill("#q", "stone")
    page.click("button:has-text('Search')")
    assert names_shown(page) == ["Stone, Emma"]
    assert "q=stone" in page.url and page.input_value("#q") == "stone"
    shot(page, "students-search")
    page.fill("#q", "no such name")
    page.click("button:has-text('Search')")
    assert names_shown(page) == [] and "No student's name matches “no such name”." in page.inner_text("#students")
    page.click("text=Show all students")
    page.click("a:has-text('Average, high to low')")
    assert "sort=-average" in page.url
    assert page.inner_text(".sorts strong") == "Average, high to low"
    seeded = ["Baggio, Roberto", "Carter, Nick", "Stone, Emma", "san, zhangsan", "qiao, xiaoqiao"]
    assert [name for name in names_shown(page) if name in seeded] == seeded
    page.click("a:has-text('Average, low to high')")
    assert [name for name in names_shown(page) if name in seeded] == seeded[::-1]
    # The search box keeps the order: a search from here is sorted the same way.
    page.fill("#q", "o")
    page.click("button:has-text('Search')")
    assert "sort=average" in page.url and "q=o" in page.url
    shot(page, "students-sorted")


def test_edit_a_grade_then_a_wrong_edit_is_refused(cluster, page):
    student = new_student(cluster, "Edith", "Editor", [("Essay draft", "Homework", 40), ("Quiz A", "Quiz", 71.1)])
    grade = student["grades"][0]
    page.goto(f"{cluster.portal}/students/{student['id']}")
    page.click(f"#grade-{grade['id']} a:has-text('Edit')")
    assert page.url.endswith(f"/students/{student['id']}?edit={grade['id']}#grade-{grade['id']}")
    assert page.locator("form.edit").count() == 1 and page.input_value(f"#g{grade['id']}-title") == "Essay draft"
    page.fill(f"#g{grade['id']}-title", "Essay final")
    page.select_option(f"#g{grade['id']}-type", "Exam")
    page.fill(f"#g{grade['id']}-score", "88.5")
    shot(page, "grade-edit-open")
    page.click(f"#grade-{grade['id']} button:has-text('Save')")
    assert page.url.endswith(f"/students/{student['id']}#grade-{grade['id']}")
    assert page.inner_text(".flash") == "Saved Essay final (Exam, 88.5)."
    cells = page.locator(f"#grade-{grade['id']} tr.grade").inner_text().split("\t")
    assert cells == ["Essay final", "Exam", "88.5"]
    assert page.inner_text("#average") == "79.8"  # (88.5 + 71.1) / 2
    assert page.locator("form.edit").count() == 0
    # The same form, wrong: the page says what is wrong, in that grade's form, and stores nothing.
    page.click(f"#grade-{grade['id']} a:has-text('Edit')")
    page.fill(f"#g{grade['id']}-score", "101")
    page.click(f"#grade-{grade['id']} button:has-text('Save')")
    assert page.locator(f"#grade-{grade['id']} .error").inner_text() == "Score must be a number from 0 to 100"
    assert page.input_value(f"#g{grade['id']}-score") == "101"
    shot(page, "grade-edit-invalid")
    page.click(f"#grade-{grade['id']} a:has-text('Cancel')")
    assert page.locator("form.edit").count() == 0
    assert grading_client(cluster).Grades.get_student(student["id"])["grades"][0]["score"] == 88.5


def test_delete_a_grade_after_confirming(cluster, page):
    student = new_student(cluster, "Dora", "Deleter", [("Keep me", "Quiz", 90), ("Remove me", "Test", 10)])
    keep, remove = student["grades"]
    page.goto(f"{cluster.portal}/students/{student['id']}")
    page.click(f"#grade-{remove['id']} a:has-text('Delete')")
    assert page.url.endswith(f"/students/{student['id']}/grades/{remove['id']}/delete")
    assert page.inner_text("h1") == "Delete this grade?" and "Remove me" in page.inner_text("main")
    shot(page, "grade-delete-confirm")
    page.click("text=Cancel")  # nothing happens on the way back
    assert page.locator("#grades tr.grade").count() == 2
    page.click(f"#grade-{remove['id']} a:has-text('Delete')")
    page.click("button:has-text('Delete the grade')")
    assert page.url.endswith(f"/students/{student['id']}")
    assert page.inner_text(".flash") == "Deleted Remove me (Test, 10)."
    assert page.locator("#grades tr.grade").all_inner_texts() == ["Keep me\tQuiz\t90"]
    assert page.inner_text("#average") == "90.0"
    shot(page, "grade-deleted")
    page.reload()
    assert page.locator(".flash").count() == 0  # the message shows once
    assert [g["id"] for g in grading_client(cluster).Grades.get_student(student["id"])["grades"]] == [keep["id"]]


def test_export_then_import_round_trip(tmp_path, browser):
    processes = Processes(tmp_path)
    try:
        cluster = Cluster(processes, tmp_path)
        grading = grading_client(cluster)
        odd = grading.Grades.add_student("Zoë", "=Ünïcode")
        grading.Grades.add_grade(odd["id"], '=HYPERLINK("http://evil.test")', "Homework", 91.25)
        before = {
            s["id"]: [(g["title"], g["type"], g["score"]) for g in s["grades"]] for s in grading.Grades.get_students()
        }
        context = browser.new_context(accept_downloads=True, viewport={"width": 1024, "height": 800})
        sign_in_context(context, cluster.portal, cluster.admin)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(cluster.portal + "/students")
        with page.expect_download() as downloading:
            page.click("text=Download all grades (CSV)")
        download = downloading.value
        assert download.suggested_filename == "grades.csv"
        saved = tmp_path / "grades.csv"
        download.save_as(saved)
        text = saved.read_bytes().decode("utf-8")
        assert text.startswith("student_id,title,type,score,first_name,last_name\r\n")
        assert f'{odd["id"]},"\'=HYPERLINK(""http://evil.test"")",Homework,91.25,Zoë,\'=Ünïcode' in text
        page.click("nav >> text=Import")
        page.set_input_files("#file", str(saved))
        page.click("button:has-text('Import')")
        assert page.url.endswith("/import")
        assert page.inner_text(".flash") == "Imported 16 grades for 6 students from grades.csv."
        shot(page, "import-done")
        after = {
            s["id"]: [(g["title"], g["type"], g["score"]) for g in s["grades"]] for s in grading.Grades.get_students()
        }
        # The sample class's students have one score per assignment: importing them again changes nothing.
        # Zoë is in no class, where each line adds a grade, as before assignments.
        assert after == {sid: grades * (2 if sid == odd["id"] else 1) for sid, grades in before.items()}
        # A file with a mistake: the line and the field are named, and nothing is imported.
        bad = tmp_path / "bad.csv"
        bad.write_text("student_id,title,type,score\n1,Fine,Quiz,50\n1,Wrong,Quiz,500\n")
        page.set_input_files("#file", str(bad))
        page.click("button:has-text('Import')")
        assert "Line 3, score: must be a number from 0 to 100. Nothing was imported." in page.inner_text(".problem")
        shot(page, "import-refused")
        assert grading.Grades.count_students() == 6 and len(grading.Grades.get_student(1)["grades"]) == 3
        context.close()
    finally:
        processes.cleanup()


def test_statistics_page_shows_its_chart(cluster, browser):
    for name, viewport in (("statistics", {"width": 1024, "height": 800}), ("statistics-phone", PHONE)):
        context = browser.new_context(viewport=viewport, java_script_enabled=False)
        sign_in_context(context, cluster.portal, cluster.admin)
        page = context.new_page()
        try:
            page.goto(cluster.portal + "/students")
            page.click("nav >> text=Statistics")
            assert page.inner_text("h1") == "Statistics"
            chart = page.locator("svg#chart")
            box = chart.bounding_box()
            assert box["width"] > 250 and box["height"] > 150 and box["x"] + box["width"] <= viewport["width"]
            assert chart.locator("rect.bar").count() == 10
            assert chart.get_attribute("role") == "img"
            assert page.locator("#distribution tbody tr").count() == 10
            # The largest band's bar is drawn, and the chart's text is readable on a phone (12 px or more).
            widths = [b["width"] for b in (r.bounding_box() for r in chart.locator("rect.bar").all())]
            assert max(widths) > 100
            assert (
                page.evaluate(
                    "Math.min(...[...document.querySelectorAll('#chart text')]"
                    ".map(t => t.getBoundingClientRect().height))"
                )
                >= 12
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            shot(page, name)
        finally:
            context.close()


def test_new_pages_fit_a_phone_without_javascript(cluster, browser):
    student = new_student(cluster, "Phoebe", "Phone", [("A rather long title for a small screen", "Homework", 77)])
    grade = student["grades"][0]
    context = browser.new_context(viewport=PHONE, is_mobile=True, java_script_enabled=False)
    sign_in_context(context, cluster.portal, cluster.admin)
    page = context.new_page()
    try:
        for path, name in (
            (f"/students/{student['id']}", "student-edit-phone"),
            (f"/students/{student['id']}/grades/{grade['id']}/delete", "grade-delete-phone"),
            ("/students?q=o&sort=-average", "students-phone"),
            ("/import", "import-phone"),
        ):
            page.goto(cluster.portal + path)
            if name == "student-edit-phone":
                page.click(f"#grade-{grade['id']} a:has-text('Edit')")
                assert page.locator(f"#g{grade['id']}-title").is_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
            assert page.inner_text("footer").startswith("trace: ")
            shot(page, name)
    finally:
        context.close()


def test_every_page_has_no_serious_accessibility_violation(cluster, browser, axe):
    student = new_student(cluster, "Axel", "Audit", [("Checked", "Quiz", 64)])
    grade = student["grades"][0]
    problems = []
    for viewport in ({"width": 1024, "height": 800}, PHONE):
        context = browser.new_context(viewport=viewport)
        sign_in_context(context, cluster.portal, cluster.admin)
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            for path in (
                "/students",
                "/students?q=nobody",
                "/students?sort=-average",
                f"/students/{student['id']}",
                f"/students/{student['id']}/grades/{grade['id']}/delete",
                "/statistics",
                "/import",
                "/cluster",
                "/students/abc",
            ):
                page.goto(cluster.portal + path)
                problems += serious_violations(axe, page)
            # The pages that answer a form: an invalid edit (400), an import refused (400), a flash, a 403.
            page.goto(f"{cluster.portal}/students/{student['id']}?edit={grade['id']}")
            problems += serious_violations(axe, page)
            page.fill(f"#g{grade['id']}-score", "many")
            page.click(f"#grade-{grade['id']} button:has-text('Save')")
            assert page.locator(f"#grade-{grade['id']} .error").count() == 1
            problems += serious_violations(axe, page)
            page.goto(cluster.portal + "/import")
            page.set_input_files("#file", files=[{"name": "x.csv", "mimeType": "text/csv", "buffer": b"nonsense\n"}])
            page.click("button:has-text('Import')")
            assert page.locator(".problem").count() == 1
            problems += serious_violations(axe, page)
            page.goto(f"{cluster.portal}/students/{student['id']}")
            page.fill("#title", "Flash")
            page.fill("#score", "50")
            page.click("button:has-text('Add grade')")
            assert page.locator(".flash").count() == 1
            problems += serious_violations(axe, page)
            # A token the session did not issue (a forged form): 403.
            page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = 'forged')")
            page.fill("#title", "Refused")
            page.fill("#score", "50")
            page.click("button:has-text('Add grade')")
            assert "did not come from this portal" in page.inner_text("main")
            problems += serious_violations(axe, page)
        finally:
            context.close()
    assert problems == [], "\n".join(problems)


def test_the_live_cluster_page_refreshes_itself_and_follows_a_trace(cluster, page, axe):
    """/cluster in Chromium: its figures fill in by themselves (JavaScript), and a trace id leads to its path."""
    page.goto(cluster.portal + "/students/1")
    trace_id = page.inner_text("footer code")
    grading = Client(cluster.grading_proc.url())
    for _ in range(20):
        grading.Grades.get_student(1)
    page.goto(cluster.portal + "/cluster")
    assert "GradingService" in page.inner_text("#live-services")
    # Scraped every 5 s: two scrapes, then the next refresh shows the rates, with no reload.
    page.wait_for_function(
        """() => [...document.querySelectorAll('#live-services tr.service')].some(row =>
               row.querySelector('th').textContent.includes('GradingService') &&
               /^[0-9.]+$/.test(row.querySelectorAll('td')[1].textContent.trim()))""",
        timeout=25_000,
    )
    # And the page refreshes itself every 5 s.
    page.wait_for_function(
        "() => document.getElementById('live-state').textContent.startsWith('Updated at')", timeout=15_000
    )
    page.click("button:has-text('Pause updates')")
    assert page.get_attribute("button[aria-pressed]", "aria-pressed") == "true"
    assert serious_violations(axe, page) == []
    shot(page, "cluster-live")
    page.fill("input[name=trace]", trace_id)
    page.click("button:has-text('Show')")
    assert "The whole path of trace" in page.inner_text("#live-log")
    assert "GET /students/1" in page.inner_text("#live-log")
    page.click("#live-log a >> nth=0")
    assert trace_id in page.url
    assert serious_violations(axe, page) == []


# -- signing in, classes, users: the pages a school's administrator and teachers use ------------------


def test_sign_in_through_the_form_then_sign_out(cluster, browser):
    from helpers.signed_in import make_user

    account = make_user(grading_client(cluster), "teacher", display_name="Tara Teacher")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(cluster.portal + "/classes")
        assert "/login?next=/classes" in page.url and page.inner_text("h1") == "Sign in"
        page.fill("#username", account.username)
        page.fill("#password", "not the password")
        with page.expect_navigation() as answered:
            page.click("button:has-text('Sign in')")
        assert answered.value.status == 403
        assert page.inner_text("#sign-in-error") == "Wrong username or password."
        assert page.input_value("#username") == account.username and page.input_value("#password") == ""
        shot(page, "sign-in-wrong")
        page.fill("#password", account.password)
        with page.expect_navigation():
            page.click("button:has-text('Sign in')")
        assert page.url == cluster.portal + "/classes" and page.inner_text("h1").startswith("My classes")
        assert "Tara Teacher" in page.inner_text("header")
        assert page.locator("nav >> text=Users").count() == 0 and page.locator("nav >> text=Cluster").count() == 0
        cookie = next(c for c in context.cookies() if c["name"] == "portal_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        shot(page, "classes-teacher")
        with page.expect_navigation():
            page.click("header button:has-text('Sign out')")
        assert page.url.endswith("/login") and "You have signed out." in page.inner_text("main")
        page.goto(cluster.portal + "/classes")
        assert "/login?next=/classes" in page.url
    finally:
        context.close()


def test_an_admin_makes_a_teacher_and_a_class_and_enrols_students(cluster, browser):
    from helpers.signed_in import PASSWORD, Account, sign_in_page

    grading = grading_client(cluster)
    username = f"teach-{len(grading.Users.list())}"
    context = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in_page(page, cluster.portal, cluster.admin, "/users")
        assert page.url == cluster.portal + "/users"
        page.fill("#username", username)
        page.fill("#display_name", "Paula Peters")
        page.select_option("#role", "teacher")
        page.fill("#password", PASSWORD)
        page.fill("#password_again", PASSWORD)
        with page.expect_navigation():
            page.click("button:has-text('Add user')")
        assert page.inner_text(".flash") == f"Added Paula Peters ({username}) as teacher."
        assert username in page.inner_text("#users")
        page.click("nav >> text=Classes")
        page.fill("#name", "Paula's chemistry")
        page.select_option("#teacher", username)
        with page.expect_navigation():
            page.click("button:has-text('Add class')")
        assert page.inner_text("h1") == "Paula's chemistry"
        assert f"Teacher: Paula Peters ({username})" in page.inner_text("main")
        # A new class's grid says where its students are added: on its roster.
        assert "No students in this class yet." in page.inner_text("#next-steps")
        with page.expect_navigation():
            page.click(".class-links >> text=Roster")
        for student in ("1", "2"):
            page.fill("#student_id", student)
            with page.expect_navigation():
                page.click("button:has-text('Enrol')")
        assert page.inner_text(".flash") == "Enrolled Roberto Baggio."
        page.fill("#first_name", "Marie")
        page.fill("#last_name", "Curie")
        with page.expect_navigation():
            page.click("button:has-text('Add student')")
        roster = page.locator("#roster-table a[href^='/students/']").all_inner_texts()
        assert roster == ["Baggio, Roberto", "Carter, Nick", "Curie, Marie"]
        shot(page, "class-admin")
        with page.expect_navigation():
            page.click("header button:has-text('Sign out')")
        # The teacher signs in and finds the class and its students, and nothing else.
        sign_in_page(page, cluster.portal, Account(username, PASSWORD, "teacher"), "/classes")
        assert page.locator("#classes a").all_inner_texts() == ["Paula's chemistry"]
        page.click("text=Paula's chemistry")
        assert page.locator("#grid tbody th a").all_inner_texts() == ["Baggio, Roberto", "Carter, Nick", "Curie, Marie"]
        page.click("nav >> text=Students")
        assert sorted(names_shown(page)) == ["Baggio, Roberto", "Carter, Nick", "Curie, Marie"]
    finally:
        context.close()


def page_problems(axe, page, width: int, label: str) -> list[str]:
    """axe's serious violations on the page, a page wider than the screen, a footer without its trace;
    and a screenshot."""
    problems = serious_violations(axe, page)
    scrolled = page.evaluate("document.documentElement.scrollWidth")
    if scrolled > width:
        problems.append(f"{label}: {scrolled} px wide at {width}")
    if not page.inner_text("footer").startswith("trace: "):
        problems.append(f"{label}: no trace in the footer")
    shot(page, f"{label}-{width}")
    return problems


def test_every_new_page_is_accessible_at_1280_and_375(cluster, browser, axe):
    from helpers.signed_in import make_user

    grading = grading_client(cluster)
    teacher = make_user(grading, "teacher", display_name="Una Usable")
    klass = grading.Grades.add_class("Accessible <class> with a rather long name for a phone", teacher.username)
    student = grading.Grades.add_student("Axel", "Audit", class_id=klass["id"])
    other = grading.Grades.add_student("Olga", "Other", class_id=klass["id"])
    grade = grading.Grades.add_grade(student["id"], "Checked", "Quiz", 64)
    grading.Grades.update_grade(grade["id"], score=66)
    grading.Grades.archive(klass["id"], other["id"])
    url = f"/classes/{klass['id']}"
    pages = {
        "classes": "/classes",
        "class": url,
        "class-roster": f"{url}/roster",
        "class-renaming": f"{url}/roster?rename={student['id']}",
        "unenroll": f"{url}/students/{student['id']}/unenroll",
        "grade-history": f"/grades/{grade['id']}/history",
        "student-in-class": f"/students/{student['id']}",
        "users": "/users",
        "password": f"/users/{teacher.username}/password",
    }
    problems = []
    for viewport in ({"width": 1280, "height": 800}, PHONE):
        context = browser.new_context(viewport=viewport)  # axe runs as JavaScript in the page
        page = context.new_page()
        page.set_default_timeout(10_000)

        def check(label, page=page, width=viewport["width"]):
            problems.extend(page_problems(axe, page, width, label))

        try:
            page.goto(cluster.portal + "/login")
            check("login")
            page.fill("#username", "nobody-here")
            page.fill("#password", "wrong password")
            page.click("button:has-text('Sign in')")
            check("login-wrong")
            sign_in_context(context, cluster.portal, cluster.admin)
            for name, path in pages.items():
                page.goto(cluster.portal + path)
                check(name)
            # The forms' answers: a same-name confirmation, an invalid user, an invalid class.
            page.goto(cluster.portal + url + "/roster")
            page.fill("#first_name", "Axel")
            page.fill("#last_name", "Audit")
            page.click("button:has-text('Add student')")
            assert page.locator("#same-name").count() == 1
            check("class-same-name")
            page.goto(cluster.portal + "/users")
            page.fill("#password", "one")
            page.fill("#password_again", "two")
            page.click("button:has-text('Add user')")
            assert page.locator(".error").count() >= 1
            check("users-invalid")
            page.goto(cluster.portal + "/classes")
            page.click("button:has-text('Add class')")
            check("classes-invalid")
            # A teacher's view, and the 403 of an administrator's page.
            context.clear_cookies()
            sign_in_context(context, cluster.portal, teacher)
            page.goto(cluster.portal + "/classes")
            check("classes-as-teacher")
            page.goto(cluster.portal + "/users")
            assert page.inner_text("h1") == "Forbidden"
            check("users-forbidden")
        finally:
            context.close()
    assert problems == [], "\n".join(problems)
