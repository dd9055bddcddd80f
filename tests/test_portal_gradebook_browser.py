"""A class's gradebook in a real headless Chromium: a teacher adds an assignment and types a whole class's
scores from the keyboard on one page, saved by one submit; the grid keeps its header and names in view;
it prints without the portal around it; and every new page passes axe at 1280 and 375 px."""

from helpers.browser import PHONE, grading_client, shot
from helpers.signed_in import make_user, sign_in_context, sign_in_page
from helpers.waiting import wait_until
from test_portal_browser import page_problems

DESK = {"width": 1280, "height": 800}


def focused(page) -> str:
    """The focused element's id, once the page has given the focus to one (autofocus runs after load)."""
    return wait_until(lambda: page.evaluate("document.activeElement.id"), message="the focus")


def test_a_teacher_types_a_whole_class_from_the_keyboard_and_saves_once(cluster, browser):
    grading = grading_client(cluster)
    teacher = make_user(grading, "teacher", display_name="Kim Keys")
    klass = grading.Grades.add_class("Keyboard maths", teacher.username)
    students = [grading.Grades.add_student(f"Pupil{n:02d}", "Keys", class_id=klass["id"]) for n in range(30)]
    grid = f"/classes/{klass['id']}"
    context = browser.new_context(viewport=DESK)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in_page(page, cluster.portal, teacher, grid)
        assert page.inner_text("h1") == "Keyboard maths" and "No assignments yet." in page.inner_text("#next-steps")
        with page.expect_navigation():
            page.click(".class-links >> text=Add assignment")
        assert focused(page) == "title"
        page.keyboard.type("Quiz 1")
        page.select_option("#category", "Quiz")
        page.fill("#max_points", "20")
        page.fill("#due", "2025-03-14")
        documents: list[tuple[str, str]] = []
        page.on(
            "request",
            lambda r: (
                documents.append((r.method, r.url.removeprefix(cluster.portal)))
                if r.resource_type == "document"
                else None
            ),
        )
        with page.expect_navigation():
            page.click("button:has-text('Add the assignment')")
        quiz = next(a for a in grading.Grades.list_assignments(klass["id"]) if a["title"] == "Quiz 1")
        column = f"{grid}/assignments/{quiz['id']}"
        assert page.url == cluster.portal + column
        assert page.inner_text(".flash") == "Added Quiz 1 (Quiz, out of 20 points). Enter the scores below."
        # Typing down the column: the first student's points have the focus; Enter goes to the next one.
        # The first row also goes through its mark and comment with Tab, on to the next student's points.
        assert focused(page) == f"points-{students[0]['id']}"
        page.keyboard.type("12")
        page.keyboard.press("Tab")
        assert focused(page) == f"mark-{students[0]['id']}"
        page.keyboard.press("l")  # a select takes the option that starts with the letter typed: late
        page.keyboard.press("Tab")
        page.keyboard.type("One day late")
        page.keyboard.press("Tab")
        assert focused(page) == f"points-{students[1]['id']}"
        for n, student in enumerate(students[1:], start=1):
            assert focused(page) == f"points-{student['id']}"
            page.keyboard.type(str(n % 21))
            page.keyboard.press("Enter")
        assert focused(page) == "save"
        shot(page, "gradebook-column")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url == cluster.portal + grid + f"#a-{quiz['id']}"  # back at the column saved
        # One page of the column, one submit: no page was loaded or posted in between.
        assert documents == [("POST", f"{grid}/assignments/new"), ("GET", column), ("POST", column), ("GET", grid)]
        assert page.inner_text(".flash") == "Saved 30 scores of Quiz 1."
        first = page.locator(f"#student-{students[0]['id']}").inner_text().split("\t")
        assert [" ".join(cell.split()) for cell in first] == ["Keys, Pupil00", "12 L (late)", "60.0%", "D"]
        ten = page.locator(f"#student-{students[19]['id']}").inner_text().split("\t")
        assert [" ".join(cell.split()) for cell in ten] == ["Keys, Pupil19", "19", "95.0%", "A"]
        shot(page, "gradebook-grid")
        stored = grading.Grades.gradebook(klass["id"])["students"]
        assert {s["id"]: s["scores"][str(quiz["id"])]["points"] for s in stored} == {
            s["id"]: (12 if n == 0 else n % 21) for n, s in enumerate(students)
        }
        assert stored[0]["scores"][str(quiz["id"])]["comment"] == "One day late"
    finally:
        context.close()


def test_without_javascript_enter_saves_the_column(cluster, browser):
    grading = grading_client(cluster)
    teacher = make_user(grading, "teacher")
    klass = grading.Grades.add_class("No script", teacher.username)
    student = grading.Grades.add_student("Nora", "Noscript", class_id=klass["id"])
    quiz = grading.Grades.add_assignment(klass["id"], "Quiz", "Quiz", 10)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    sign_in_context(context, cluster.portal, teacher)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{cluster.portal}/classes/{klass['id']}/assignments/{quiz['id']}")
        assert not page.is_visible("#enter-hint")  # the script shows it: Enter submits here
        assert focused(page) == f"points-{student['id']}"
        page.keyboard.type("7.5")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.inner_text(".flash") == "Saved 1 score of Quiz."
        assert page.locator(f"#student-{student['id']}").inner_text().split("\t")[1].strip() == "7.5"
    finally:
        context.close()


def test_the_grid_keeps_its_header_and_names_in_view_and_prints_whole(cluster, browser):
    grading = grading_client(cluster)
    teacher = make_user(grading, "teacher")
    klass = grading.Grades.add_class("A wide class", teacher.username)
    students = [grading.Grades.add_student(f"Wide{n:02d}", "Pupil", class_id=klass["id"]) for n in range(25)]
    for n in range(12):
        made = grading.Grades.add_assignment(klass["id"], f"Assignment number {n}", "Homework", 10)
        grading.Grades.set_scores(
            made["id"], [{"student_id": s["id"], "points": n % 10, "mark": None, "comment": None} for s in students]
        )
    context = browser.new_context(viewport=PHONE)
    sign_in_context(context, cluster.portal, teacher)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{cluster.portal}/classes/{klass['id']}")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        wrap = page.locator(".grid-wrap")
        name = page.locator(f"#student-{students[20]['id']} th")
        header = page.locator("#grid thead th").nth(3)
        before_name = name.bounding_box()
        # Scrolled by the keyboard: the frame takes the focus, the arrows scroll it.
        wrap.focus()
        for _ in range(15):
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowDown")
        # The arrows scroll the frame after the key events are handled: wait for it, as a reader's eyes do.
        page.wait_for_function(
            "(w => w.scrollLeft > 100 && w.scrollTop > 100)(document.querySelector('.grid-wrap'))", timeout=5000
        )
        after_name, after_header = name.bounding_box(), header.bounding_box()
        assert after_name["x"] == before_name["x"], (before_name, after_name)  # the names stay at the left
        frame = wrap.bounding_box()
        assert abs(after_header["y"] - frame["y"]) < 2, (frame, after_header)  # the header row at the top
        shot(page, "gradebook-grid-scrolled-phone")
        # Printed: no menu, links or forms around it, and every row and column of the grid.
        page.emulate_media(media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") == "none"
        assert page.evaluate("getComputedStyle(document.querySelector('.class-links')).display") == "none"
        assert page.evaluate("getComputedStyle(document.querySelector('.grid-wrap')).overflow") == "visible"
        assert page.evaluate("(w => w.scrollHeight <= w.clientHeight + 1)(document.querySelector('.grid-wrap'))")
        page.goto(f"{cluster.portal}/classes/{klass['id']}/students/{students[0]['id']}")
        assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") == "none"
        assert "Wide00 Pupil" in page.inner_text("h1")
    finally:
        context.close()


def test_every_gradebook_page_is_accessible_at_1280_and_375(cluster, browser, axe):
    grading = grading_client(cluster)
    teacher = make_user(grading, "teacher", display_name="Una Usable")
    klass = grading.Grades.add_class("Accessible <class> with a rather long name for a phone", teacher.username)
    empty = grading.Grades.add_class("Empty", teacher.username)
    ann = grading.Grades.add_student("Ann", "Alpha", class_id=klass["id"])
    ben = grading.Grades.add_student("Ben", "Beta", class_id=klass["id"])
    quiz = grading.Grades.add_assignment(klass["id"], "Quiz with a long title", "Quiz", 10, due="2025-03-01")
    essay = grading.Grades.add_assignment(klass["id"], "Essay", "Homework", 50)
    grading.Grades.set_scores(
        quiz["id"],
        [
            {"student_id": ann["id"], "points": 8, "mark": "late", "comment": "Late but good"},
            {"student_id": ben["id"], "points": None, "mark": "missing", "comment": None},
        ],
    )
    grading.Grades.set_scores(
        essay["id"], [{"student_id": ann["id"], "points": None, "mark": "excused", "comment": None}]
    )
    url = f"/classes/{klass['id']}"
    pages = {
        "grid": url,
        "grid-by-average": url + "?sort=-average",
        "grid-empty": f"/classes/{empty['id']}",
        "column": f"{url}/assignments/{quiz['id']}",
        "assignment-new": f"{url}/assignments/new",
        "assignment-edit": f"{url}/assignments/{quiz['id']}/edit",
        "assignment-delete": f"{url}/assignments/{quiz['id']}/delete",
        "settings": f"{url}/settings",
        "report": f"{url}/students/{ann['id']}",
        "roster": f"{url}/roster",
    }
    problems = []
    for viewport in (DESK, PHONE):
        context = browser.new_context(viewport=viewport)  # axe runs as JavaScript in the page
        sign_in_context(context, cluster.portal, teacher)
        page = context.new_page()
        page.set_default_timeout(10_000)

        def check(label, page=page, width=viewport["width"]):
            problems.extend(page_problems(axe, page, width, f"gradebook-{label}"))

        try:
            for name, path in pages.items():
                page.goto(cluster.portal + path)
                check(name)
            # The forms' answers: a column with a bad row, then one whose score changed meanwhile.
            page.goto(cluster.portal + pages["column"])
            page.fill(f"#points-{ann['id']}", "lots")
            with page.expect_navigation():
                page.click("#save")
            assert page.locator(f"#points-{ann['id']}-error").count() == 1
            check("column-invalid")
            page.goto(cluster.portal + pages["column"])
            grading.Grades.set_scores(
                quiz["id"], [{"student_id": ben["id"], "points": viewport["width"] % 10, "mark": None, "comment": None}]
            )
            page.fill(f"#points-{ben['id']}", "3")
            with page.expect_navigation():
                page.click("#save")
            assert page.locator("#conflicts").count() == 1
            check("column-conflict")
            page.goto(cluster.portal + pages["assignment-new"])
            with page.expect_navigation():
                page.click("button:has-text('Add the assignment')")
            assert page.locator(".error").count() >= 1
            check("assignment-new-invalid")
            page.goto(cluster.portal + pages["settings"])
            page.fill("#weight-0", "10")
            with page.expect_navigation():
                page.click("button:has-text('Save the categories')")
            assert page.locator("#categories-problem").count() == 1
            check("settings-invalid")
        finally:
            context.close()
    assert problems == [], "\n".join(problems)
