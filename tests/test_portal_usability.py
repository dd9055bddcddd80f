"""What a teacher's first week in Chromium tripped over: errors out of sight, names shown unlike their order,
names cut silently, words wider than a phone, focus lost after adding a grade, mixed number formats; and the
409 pages of a form sent again or a stale edit, as a browser shows them (axe-core on each)."""

import pytest
from helpers.browser import PHONE, grading_client, names_shown, new_student, serious_violations, shot
from helpers.signed_in import sign_in_context


@pytest.fixture
def page(page, cluster):
    """A fresh browser page, signed in to the module's cluster as its administrator."""
    sign_in_context(page.context, cluster.portal, cluster.admin)
    return page


@pytest.fixture(scope="module")
def full_list(cluster):
    """More students than one page holds, so the add-student form is far below the fold."""
    grading = grading_client(cluster)
    for n in range(55):
        grading.Grades.add_student(f"Filler{n:02d}", "Zulu")
    return cluster


def active(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.tagName")


def in_viewport(page, selector: str) -> bool:
    return page.evaluate(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
                                    return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight; }""",
        selector,
    )


def described_by(page, selector: str) -> str:
    """The text of the elements the field's aria-describedby names."""
    return page.evaluate(
        """s => (document.querySelector(s).getAttribute('aria-describedby') || '').split(' ')
                                  .filter(Boolean).map(id => document.getElementById(id).textContent).join(' | ')""",
        selector,
    )


def test_an_add_student_error_is_seen_focused_and_described(full_list, page, axe):
    grading = grading_client(full_list)
    before = grading.Grades.count_students()
    page.goto(full_list.portal + "/students")
    assert not in_viewport(page, "#first_name")  # the form is below a full page of students
    with page.expect_navigation():
        page.click("button:has-text('Add student')")
    assert active(page) == "first_name"
    assert in_viewport(page, "#first_name-error") and in_viewport(page, "#first_name")
    assert page.get_attribute("#first_name", "aria-invalid") == "true"
    assert page.get_attribute("#last_name", "aria-invalid") == "true"
    assert described_by(page, "#first_name") == "First name must not be empty"
    assert described_by(page, "#last_name") == "Last name must not be empty"
    shot(page, "add-student-both-blank")
    assert serious_violations(axe, page) == []
    # One name given: only the other is flagged, and it takes the focus.
    page.fill("#first_name", "Ada")
    with page.expect_navigation():
        page.click("button:has-text('Add student')")
    assert active(page) == "last_name" and in_viewport(page, "#last_name-error")
    assert page.get_attribute("#first_name", "aria-invalid") is None
    assert grading.Grades.count_students() == before


def test_a_pasted_200_character_name_is_refused_with_the_limit_never_cut(full_list, page):
    grading = grading_client(full_list)
    before = grading.Grades.count_students()
    page.goto(full_list.portal + "/students")
    assert "at most 100 characters" in page.inner_text("label[for=first_name]")
    for length in (120, 200):
        page.fill("#first_name", "N" * length)
        page.fill("#last_name", "Long")
        assert len(page.input_value("#first_name")) == length  # nothing cut while typing or pasting
        with page.expect_navigation():
            page.click("button:has-text('Add student')")
        assert page.inner_text("#first_name-error") == "First name must be at most 100 characters"
        assert active(page) == "first_name" and len(page.input_value("#first_name")) == length
    assert grading.Grades.count_students() == before


def test_sorting_by_name_shows_last_name_first(cluster, page):
    page.goto(cluster.portal + "/students")
    names = names_shown(page)
    assert names[:2] == ["Baggio, Roberto", "Carter, Nick"]
    assert "Stone, Emma" in names
    assert "(last, first)" in page.inner_text("#students thead")
    with page.expect_navigation():
        page.click("a:has-text('Average, high to low')")
    assert "Carter, Nick" in names_shown(page)


def test_a_long_word_wraps_in_the_heading_and_the_banners_on_a_phone(cluster, browser):
    word = "Wolfeschlegelsteinhausenbergerdorff" * 2 + "x" * 30  # 100 characters, no space
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    sign_in_context(context, cluster.portal, cluster.admin)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(cluster.portal + "/students")
        page.fill("#first_name", word)
        page.fill("#last_name", word)
        with page.expect_navigation():
            page.click("button:has-text('Add student')")
        assert page.inner_text("h1") == f"{word} {word}" and word in page.inner_text(".flash")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        shot(page, "long-word-phone")
        page.goto(cluster.portal + "/import")
        page.set_input_files("#file", files=[{"name": word + ".csv", "mimeType": "text/csv", "buffer": b"x\n"}])
        with page.expect_navigation():
            page.click("button:has-text('Import')")
        assert word[:60] in page.inner_text(".problem")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        page.goto(cluster.portal + "/students?q=" + word)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


def test_after_adding_a_grade_the_focus_is_back_in_the_form(cluster, page):
    student = new_student(cluster, "Fiona", "Focus", [(f"Quiz {n}", "Quiz", 60 + n) for n in range(12)])
    page.goto(f"{cluster.portal}/students/{student['id']}")
    page.fill("#title", "Quiz 12")
    page.fill("#score", "90")
    with page.expect_navigation():
        page.click("button:has-text('Add grade')")
    assert page.inner_text(".flash") == "Added Quiz 12 (Quiz, 90)."
    assert active(page) == "title" and in_viewport(page, "#title")
    page.keyboard.type("Quiz 13")  # the next grade, typed at once
    page.keyboard.press("Tab")
    assert active(page) == "type"
    # An invalid grade: the field with the problem takes the focus.
    page.fill("#score", "many")
    with page.expect_navigation():  # the answer is a new page: look at its focus, not the old one's
        page.click("button:has-text('Add grade')")
    # The new page moves the focus once it has loaded: wait for that, then look.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'score'", timeout=5000)
    assert active(page) == "score" and described_by(page, "#score") == "Score must be a number from 0 to 100"


def test_every_page_starts_with_a_skip_link(cluster, page):
    student = new_student(cluster, "Sam", "Skip", [("One", "Quiz", 50)])
    for path in ("/students", f"/students/{student['id']}", "/statistics", "/import", "/cluster", "/students/abc"):
        page.goto(cluster.portal + path)
        page.keyboard.press("Tab")
        link = page.evaluate("[document.activeElement.textContent, document.activeElement.getAttribute('href')]")
        assert link == ["Skip to main content", "#main"], path
        assert in_viewport(page, ".skip-link")  # shown while it has the focus
        page.keyboard.press("Enter")
        assert active(page) == "main", path


def test_every_count_is_written_one_way(cluster, page):
    student = new_student(cluster, "Nora", "Numbers", [])
    rows = "".join(f"{student['id']},Q{n},Quiz,{n % 100}\n" for n in range(1_234))
    grading_client(cluster).Grades.import_grades("student_id,title,type,score\n" + rows)
    page.goto(cluster.portal + "/students?q=numbers")
    assert page.inner_text("#students tbody td.num >> nth=0") == "1,234"
    page.goto(f"{cluster.portal}/students/{student['id']}")
    assert "1,234 grades" in page.inner_text(".summary")
    page.goto(cluster.portal + "/statistics")
    grades = page.inner_text("#grades-count")
    assert "," in grades and int(grades.replace(",", "")) >= 1_234
    page.goto(cluster.portal + "/import")
    page.set_input_files(
        "#file",
        files=[
            {"name": "many.csv", "mimeType": "text/csv", "buffer": ("student_id,title,type,score\n" + rows).encode()}
        ],
    )
    with page.expect_navigation():
        page.click("button:has-text('Import')")
    assert page.inner_text(".flash") == "Imported 1,234 grades for 1 student from many.csv."


def test_a_form_sent_again_and_a_stale_edit_show_409_pages(cluster, page, axe):
    student = new_student(cluster, "Rita", "Resend", [("Draft", "Homework", 80)])
    grade = student["grades"][0]
    grading = grading_client(cluster)
    url = f"{cluster.portal}/students/{student['id']}"
    # Back, then Add with other values, as a restored form does: the used request_id is posted again.
    page.goto(url)
    used = page.get_attribute("form[action$='/grades'] input[name=request_id]", "value")
    page.fill("#title", "First")
    page.fill("#score", "70")
    with page.expect_navigation():
        page.click("button:has-text('Add grade')")
    page.evaluate("id => document.querySelector(\"form[action$='/grades'] input[name=request_id]\").value = id", used)
    page.fill("#title", "Second")
    page.fill("#score", "71")
    with page.expect_navigation() as answered:
        page.click("button:has-text('Add grade')")
    assert answered.value.status == 409
    assert "This form was already used: it added First (Quiz, 70)." in page.inner_text("main")
    assert page.input_value("#title") == "Second" and active(page) == "title"
    assert serious_violations(axe, page) == []
    shot(page, "add-grade-form-used")
    # Teacher B changes the score while teacher A's form is open.
    page.goto(f"{url}?edit={grade['id']}#grade-{grade['id']}")
    grading.Grades.update_grade(grade["id"], score=95)
    page.fill(f"#g{grade['id']}-title", "Final draft")
    with page.expect_navigation() as answered:
        page.click(f"#grade-{grade['id']} button:has-text('Save')")
    assert answered.value.status == 409
    compare = page.locator("table.compare tbody tr").all_inner_texts()
    assert compare == ["Title\tDraft\tFinal draft", "Type\tHomework\tHomework", "Score\t95\t80"]
    assert serious_violations(axe, page) == []
    shot(page, "grade-edit-conflict")
    with page.expect_navigation():
        page.click(f"#grade-{grade['id']} button:has-text('Save')")  # apply the typed values over the current ones
    assert page.inner_text(".flash") == "Saved Final draft (Homework, 80)."
    titles = [g["title"] for g in grading.Grades.get_student(student["id"])["grades"]]
    assert titles == ["Final draft", "First"]  # the form sent again stored nothing
