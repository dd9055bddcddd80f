"""The portal in a real headless Chromium (Debian's), driven by Playwright."""

import contextlib
import html
import http.server
import os
import signal
import threading
from pathlib import Path

import pytest

from conftest import Cluster, Processes, ROOT, wait_until
from rpc_cluster import Client
from portal.web import CSRF_COOKIE

CHROMIUM = os.environ.get("RPC_CLUSTER_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "tests" / "screenshots"
# Without these, Chromium keeps trying to reach Google's hosts, which this network refuses.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            reason = "playwright is not installed (pip install -e '.[test]')"
    if reason:
        if os.environ.get("RPC_CLUSTER_REQUIRE_BROWSER"):
            pytest.fail(reason + " (RPC_CLUSTER_REQUIRE_BROWSER is set)")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_list_click_a_student_add_a_grade_and_see_it(cluster, page):
    page.goto(cluster.portal + "/")
    assert page.url.endswith("/students")
    shot(page, "students")
    page.click("text=Emma Stone")
    assert page.url.endswith("/students/3")
    assert page.inner_text("#average") == "47.3"
    page.fill("#title", "Pop quiz <b>4</b>")
    page.select_option("#type", "Homework")
    page.fill("#score", "93")
    page.click("button:has-text('Add grade')")
    assert page.url.endswith("/students/3")
    assert page.inner_text(".flash") == "Added Pop quiz <b>4</b> (Homework, 93)."
    last_row = page.locator("#grades tbody tr").last
    assert last_row.inner_text().split("\t") == ["Pop quiz <b>4</b>", "Homework", "93"]
    assert page.inner_text("#average") == "58.8"  # (67 + 0 + 75 + 93) / 4
    assert page.inner_text("footer").startswith("trace: ")
    shot(page, "student")
    # Reloading does not post again (post/redirect/get).
    page.reload()
    assert page.locator("#grades tbody tr").count() == 4


def test_an_invalid_score_is_refused_with_a_message(cluster, page):
    page.goto(cluster.portal + "/students/1")
    rows = page.locator("#grades tbody tr").count()
    page.fill("#title", "Too much")
    page.fill("#score", "150")
    page.click("button:has-text('Add grade')")
    assert page.inner_text(".error") == "Score must be a number from 0 to 100"
    assert page.input_value("#title") == "Too much"
    shot(page, "student-invalid")
    page.goto(cluster.portal + "/students/1")
    assert page.locator("#grades tbody tr").count() == rows


def test_add_a_student_on_a_phone(cluster, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, java_script_enabled=False)
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


def test_grading_killed_then_restarted(tmp_path, browser):
    processes = Processes(tmp_path)
    try:
        cluster = Cluster(processes, tmp_path)
        page = browser.new_page()
        page.goto(cluster.portal + "/students/2")
        assert page.inner_text("h1") == "Roberto Baggio"
        port = cluster.grading_proc.url().rsplit(":", 1)[1].split("/")[0]
        cluster.grading_proc.signal(signal.SIGKILL)
        cluster.grading_proc.wait()
        response = page.reload()
        assert response.status == 503
        assert "not answering" in page.inner_text("main") and "Traceback" not in page.content()
        shot(page, "grading-unavailable")
        cluster.start_grading(int(port))

        def page_back():
            return page.reload().status == 200

        wait_until(page_back, 15, interval=0.3, message="the page to work again")
        assert page.inner_text("h1") == "Roberto Baggio"
        page.close()
    finally:
        processes.cleanup()
