"""A class's grid exported, changed and imported back in a real headless Chromium; the new pages (import
form, preview, class and assignment statistics) checked by axe-core at 1280 and 375 px and by the Nu HTML
Checker in each of their states."""

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest
from helpers.browser import PHONE, grading_client, serious_violations, shot
from helpers.signed_in import make_user, portal_client, sign_in_context
from test_portal_html import checker

from portal.app import make_app

DESKTOP = {"width": 1280, "height": 800}


def cells(row) -> list[str]:
    """A table row's cells as a reader hears them, white space folded."""
    return [" ".join(text.split()) for text in row.locator("td").all_inner_texts()]


def a_class(grading, name: str) -> dict:
    """A class of three students and two assignments, some scored: its ids, for one test of the module."""
    klass = grading.Grades.add_class(name, None)
    ids = [
        grading.Grades.add_student(first, last, class_id=klass["id"])["id"]
        for first, last in (("Nick", "Carter"), ("Ann", "Lee"), ("Zed", "Zulu"))
    ]
    quiz = grading.Grades.add_assignment(klass["id"], "Quiz 1", "Quiz", 10)
    essay = grading.Grades.add_assignment(klass["id"], "Essay", "Homework", 50)
    grading.Grades.set_scores(
        quiz["id"],
        [
            {"student_id": ids[0], "points": 8, "mark": "late", "comment": None},
            {"student_id": ids[1], "points": 10, "mark": None, "comment": None},
        ],
    )
    grading.Grades.set_scores(essay["id"], [{"student_id": ids[0], "points": 40, "mark": None, "comment": None}])
    return {"class": klass, "students": ids, "quiz": quiz, "essay": essay}


def test_download_change_two_cells_upload_preview_confirm_and_again(cluster, browser, tmp_path):
    grading = grading_client(cluster)
    made = a_class(grading, "Import 9C")
    url = f"{cluster.portal}/classes/{made['class']['id']}"
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    sign_in_context(context, cluster.portal, cluster.admin)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(url + "/import")
        with page.expect_download() as download:
            page.click("a:has-text('exported grid')")
        exported = tmp_path / "exported.csv"
        download.value.save_as(exported)
        assert download.value.suggested_filename == "import-9c-grades.csv"
        assert exported.read_bytes().startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(exported.read_text("utf-8-sig"), newline="")))
        assert rows[0][:5] == ["student_id", "first_name", "last_name", "Quiz 1", "Essay"]
        rows[1][3] = "9"  # Nick Carter, Quiz 1: 8 late -> 9
        rows[2][4] = "45"  # Ann Lee, Essay: nothing -> 45
        changed = tmp_path / "changed.csv"
        with changed.open("w", encoding="utf-8-sig", newline="") as out:
            csv.writer(out, lineterminator="\r\n").writerows(rows)

        page.set_input_files("#file", str(changed))
        page.click("button:has-text('Preview the import')")
        assert page.locator("h1").inner_text().endswith(": preview")
        changed_rows = page.locator("#changed-scores tbody tr")
        assert changed_rows.count() == 1
        assert cells(changed_rows.first) == ["2", "Carter, Nick", "Quiz 1", "8, late", "changed to 9"]
        new_rows = page.locator("#new-scores tbody tr")
        assert new_rows.count() == 1
        assert cells(new_rows.first) == ["3", "Lee, Ann", "Essay", "45"]
        assert page.locator("#errors, #new-assignments, #new-students").count() == 0
        shot(page, "grid-import-preview")

        page.click("button:has-text('Import these changes')")
        assert page.url == url
        assert page.inner_text(".flash") == "Imported: 2 scores, 0 new assignments, 0 new students."
        scores = {s["id"]: s["scores"] for s in grading.Grades.gradebook(made["class"]["id"])["students"]}
        nick, ann, _ = made["students"]
        assert scores[nick][str(made["quiz"]["id"])]["points"] == 9
        assert scores[nick][str(made["quiz"]["id"])]["mark"] is None
        assert scores[ann][str(made["essay"]["id"])]["points"] == 45
        # The grid shows them: Nick's quiz without its mark, Ann's essay scored.
        assert page.locator(f"#student-{nick} td").nth(0).inner_text().strip() == "9"
        assert page.locator(f"#student-{ann} td").nth(1).inner_text().strip() == "45"
        shot(page, "grid-import-done")

        page.goto(url + "/import")
        page.set_input_files("#file", str(changed))
        page.click("button:has-text('Preview the import')")
        assert "Nothing to change" in page.inner_text("#nothing")
        assert page.locator("button:has-text('Import these changes')").count() == 0
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_the_new_pages_pass_axe_and_fit_the_screen(cluster, browser, axe, tmp_path, viewport):
    grading = grading_client(cluster)
    made = a_class(grading, f"Axe {viewport['width']}")
    url = f"{cluster.portal}/classes/{made['class']['id']}"
    bad = tmp_path / "bad.csv"
    bad.write_text(f"student_id,first_name,last_name,Quiz 1\n{made['students'][0]},Nick,Carter,eleven\nx,A,B,99\n")
    good = tmp_path / "good.csv"
    good.write_text(
        f"student_id,first_name,last_name,Quiz 1,Quiz 2\n{made['students'][0]},Nick,Carter,7,5 late\n,Yan,Young,,3\n"
    )
    context = browser.new_context(viewport=viewport)
    sign_in_context(context, cluster.portal, cluster.admin)
    page = context.new_page()
    page.set_default_timeout(10_000)
    found = []
    try:

        def check(name: str) -> None:
            found.extend(serious_violations(axe, page))
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], (name, page.url)
            shot(page, f"{name}-{viewport['width']}")

        page.goto(url + "/import")
        check("grid-import")
        page.set_input_files("#file", str(bad))
        page.click("button:has-text('Preview the import')")
        assert page.locator("#errors tbody tr").count() == 2
        check("grid-import-errors")
        page.goto(url + "/import")
        page.set_input_files("#file", str(good))
        page.click("button:has-text('Preview the import')")
        assert page.locator("#new-students tbody tr").count() == 1
        check("grid-import-preview-all")
        page.goto(url + "/statistics")
        assert page.locator("svg#chart rect.bar").count() == 10
        check("class-statistics")
        page.goto(f"{url}/assignments/{made['quiz']['id']}/statistics")
        assert page.locator("svg#chart rect.bar").count() == 10
        check("assignment-statistics")
    finally:
        context.close()
    assert found == []


def test_the_new_pages_pass_the_nu_html_checker(grading, tmp_path):
    command = checker()
    app = make_app(grading)
    teacher = make_user(grading, "teacher", display_name='Tom "T" & co')
    portal = portal_client(app, teacher)
    klass = grading.Grades.add_class('Year <7> & "maths"', teacher.username)
    empty = grading.Grades.add_class("Empty", teacher.username)
    made = a_class(grading, "Other")
    grading.Grades.enroll(klass["id"], made["students"][0])
    quiz = grading.Grades.add_assignment(klass["id"], "<b>Quiz</b> & 1", "Quiz", 10, due="2025-01-31")
    nick = made["students"][0]
    grading.Grades.set_scores(quiz["id"], [{"student_id": nick, "points": 7, "mark": "late", "comment": "ok"}])
    url = f"/classes/{klass['id']}"
    token = portal.get(url + "/import").csrf()

    def upload(data: bytes, **fields: str):
        return portal.upload(url + "/import", {"csrf_token": token, **fields}, {"file": ("f<1>.csv", data)})

    header = "student_id,first_name,last_name,<b>Quiz</b> & 1"
    preview = upload(f"{header},New <i>\n{nick},Nick,Carter,9,3\n,Yan,<Young>,,4\n".encode(), add_students="yes")
    # A confirmation whose token no longer matches: grading answers 409 with the preview of now.
    stale = {
        "csrf_token": token,
        "csv_text": f"{header}\n{nick},Nick,Carter,9\n",
        "expected": "x",
        "add_students": "no",
    }
    pages = {
        "form": portal.get(url + "/import"),
        "form-no-file": portal.upload(url + "/import", {"csrf_token": token}, {}),
        "form-not-utf8": upload(b"student_id,first_name,last_name\n1,Zo\xeb,Z\n"),
        "preview": preview,
        "preview-errors": upload(f"{header}\n{nick},Nick,Carter,eleven\nx,,,-1\n".encode()),
        "preview-nothing": upload(f"{header}\n{nick},Nick,Carter,7 late\n".encode()),
        "preview-conflict": portal.upload(url + "/import/confirm", stale, {}),
        "class-statistics": portal.get(url + "/statistics"),
        "class-statistics-empty": portal.get(f"/classes/{empty['id']}/statistics"),
        "assignment-statistics": portal.get(f"{url}/assignments/{quiz['id']}/statistics"),
    }
    expected = {"form-no-file": 400, "form-not-utf8": 400, "preview-errors": 400, "preview-conflict": 409}
    for name, page in pages.items():
        assert page.status == expected.get(name, 200), (name, page.status, page.text[-500:])
    folder = tmp_path / "pages"
    folder.mkdir()
    for name, page in pages.items():
        (folder / f"{name}.html").write_text(page.text, encoding="utf-8")
    (folder / "canary.html").write_text("<!doctype html><title>x</title><p><div>block in a paragraph</p>")
    files = sorted(str(path) for path in folder.iterdir())
    done = subprocess.run(
        [*command, "--format", "json", "--stdout", *files], capture_output=True, text=True, timeout=120
    )
    errors = [
        (Path(m.get("url", "")).name, f"line {m.get('lastLine')}: {m['message']}")
        for m in json.loads(done.stdout)["messages"]
        if m["type"] == "error" or m.get("subType") == "fatal"
    ]
    assert "canary.html" in {name for name, _ in errors}, done.stdout[-2000:] + done.stderr[-2000:]
    assert [f"{n}: {t}" for n, t in errors if n != "canary.html"] == []
