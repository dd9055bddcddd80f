"""The gradebook read by a hostile second reader: each test is a defect found in the change that brought
assignments, scores, the weighted grid and its CSV import, proven against a real grading service (and,
for a form, the portal in-process or a real Chromium). Races on PostgreSQL are made deterministic with a
second connection holding the row lock a transaction will wait for; ``pg_blocking_pids`` says when the
service's transactions are waiting, so no test sleeps for a guessed time."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from helpers.grading_store import add_user, execute
from helpers.raw_rpc import rpc
from helpers.signed_in import make_user, portal_client, sign_in_context
from helpers.waiting import wait_until

from portal.app import make_app
from rpc_cluster import Client, InvalidParams, RpcError
from rpc_cluster.client.acting import acting_as
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"


@dataclass
class School:
    """A grading service whose class ``klass`` is taught by tia, with a student, ``ada``."""

    url: str
    store_url: str
    grades: Any
    klass: int
    ada: int

    def raw(self, method: str, params: Any, user: str | None = "tia") -> dict[str, Any]:
        """The whole answer object to ``Grades.<method>`` called by ``user``."""
        return rpc(self.url, f"Grades.{method}", params, headers={} if user is None else {"X-Acting-User": user})

    def call(self, method: str, **params: Any) -> Any:
        """``Grades.<method>`` as tia, from any thread; the result, or the RpcError."""
        with acting_as("tia"):
            try:
                return getattr(Client(self.url).Grades, method)(**params)
            except RpcError as exc:
                return exc


def opened(store_url: str) -> Iterator[School]:
    with GradingService(port=0, registry=NOWHERE, db=store_url) as service:
        add_user(store_url, "tia", "teacher")
        grades = Client(service.url).Grades
        klass = grades.add_class("5B", "tia")["id"]
        ada = grades.add_student("Ada", "Lovelace", class_id=klass)["id"]
        yield School(service.url, store_url, grades, klass, ada)


@pytest.fixture
def school(store_url) -> Iterator[School]:
    """On both stores."""
    yield from opened(store_url)


@pytest.fixture
def lite(tmp_path) -> Iterator[School]:
    """On SQLite only: for what does not depend on the store."""
    yield from opened(str(tmp_path / "grades.db"))


@pytest.fixture
def pg(postgres_url) -> Iterator[School]:
    """On PostgreSQL only: for races between transactions."""
    yield from opened(postgres_url)


def refused_field(answer: dict[str, Any]) -> str:
    assert "result" not in answer, answer
    assert answer["error"]["code"] == -32602, answer
    return str(answer["error"]["data"]["field"])


# -- bad input: a clear error, never -32603 ----------------------------------------------------------


def test_a_weight_or_a_minimum_too_large_for_a_float_is_invalid_params(lite):
    # JSON has integers of any size; 10**400 is no float, and math.isfinite raised OverflowError (-32603).
    huge = 10**400
    categories = [{"name": "Quiz", "weight": huge}]
    assert refused_field(lite.raw("set_categories", {"class_id": lite.klass, "categories": categories})) == "weight"
    scale = [{"letter": "A", "min": huge}]
    assert refused_field(lite.raw("set_scale", {"class_id": lite.klass, "scale": scale})) == "min"


def test_category_names_and_letters_are_printable_text(school):
    # Titles, names and comments refuse control characters; category names and letters took them, and on
    # PostgreSQL a category renamed to a name with NUL failed its assignments' update (-32603).
    with acting_as("tia"):
        school.grades.add_assignment(school.klass, "Quiz 1", "Quiz", 10)
    for name in ("Qu\x00iz", "Quiz\x1b[31m", "Qu\niz"):
        renamed = [{"name": name, "weight": 100, "was": "Quiz"}]
        answer = school.raw("set_categories", {"class_id": school.klass, "categories": renamed})
        assert refused_field(answer) == "name", name
    for letter in ("\x00", "A\x07", "A\nB"):
        scale = [{"letter": letter, "min": 0}]
        assert refused_field(school.raw("set_scale", {"class_id": school.klass, "scale": scale})) == "letter", letter
    assert school.grades.gradebook(school.klass)["categories"][0]["name"] == "Quiz"


def tiny_cells() -> str:
    """A grid file of 304,000 one-character cells (600 KB): 160 new students, 1,900 new columns."""
    text = "student_id,first_name,last_name," + ",".join(f"T{n}" for n in range(1900)) + "\n"
    return text + (",New,Student," + ",".join("1" * 1900) + "\n") * 160


def test_a_grid_file_of_tiny_cells_is_refused_with_one_clear_error(lite):
    # The preview of every cell as a new score (some 150 bytes of JSON each) was larger than the response
    # limit: the answer was -32603 "Response too large", after seconds and hundreds of MB.
    answer = lite.raw("import_gradebook", {"class_id": lite.klass, "csv_text": tiny_cells()})
    assert "result" in answer, answer
    (error,) = answer["result"]["errors"]
    assert "more than 50,000 scores" in error["problem"], error


def test_the_portal_says_so_of_a_grid_file_of_tiny_cells(grading):
    # Its import page answered grading's -32603 with a 500.
    teacher = make_user(grading, "teacher")
    klass = grading.Grades.add_class("Big", teacher.username)["id"]
    alice = portal_client(make_app(grading), teacher)
    token = alice.get(f"/classes/{klass}/import").csrf()
    upload = {"file": ("big.csv", tiny_cells().encode())}
    page = alice.upload(f"/classes/{klass}/import", {"csrf_token": token}, upload)
    assert page.status == 400, page.status
    assert "more than 50,000 scores" in page.text


# -- the preview shows what the confirmation applies ---------------------------------------------------


def test_the_preview_does_not_list_the_left_out_lines_of_a_student_not_on_the_roster(grading):
    # A per-grade file names a student on each of their lines; the page left out only the first line of a
    # student not on the roster, and listed their other lines as scores to add, which grading skips.
    teacher = make_user(grading, "teacher")
    klass = grading.Grades.add_class("Maths", teacher.username)["id"]
    other = grading.Grades.add_class("Science", teacher.username)["id"]
    grading.Grades.add_student("Ann", "Lee", class_id=klass)
    cy = grading.Grades.add_student("Cy", "Outside", class_id=other)["id"]
    alice = portal_client(make_app(grading), teacher)
    text = f"student_id,title,type,score\n{cy},Quiz 1,Quiz,50\n{cy},Quiz 2,Quiz,60\n"
    token = alice.get(f"/classes/{klass}/import").csrf()
    page = alice.upload(f"/classes/{klass}/import", {"csrf_token": token}, {"file": ("g.csv", text.encode())})
    assert page.status == 200 and "Their rows will be left out" in page.text
    assert 'id="new-scores"' not in page.text, "scores of a student left out are listed as scores to add"


# -- the column page in a real browser ---------------------------------------------------------------


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` over HTTP on a port of its own, for a browser; its base URL."""

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_column_saves_beside_a_stored_comment_of_two_lines(grading, browser):
    # A comment may hold a line break (set_scores takes one). A one-line input drops it and its hidden
    # was_comment is sent back with CRLF: the row looked changed, its "was" held a CR, grading refused it,
    # and no score of the column could be saved at all.
    teacher = make_user(grading, "teacher")
    klass = grading.Grades.add_class("K", teacher.username)["id"]
    ann = grading.Grades.add_student("Ann", "Alpha", class_id=klass)["id"]
    ben = grading.Grades.add_student("Ben", "Beta", class_id=klass)["id"]
    quiz = grading.Grades.add_assignment(klass, "Quiz", "Quiz", 10)["id"]
    grading.Grades.set_scores(quiz, [{"student_id": ann, "points": 5, "comment": "line one\nline two"}])
    with served(make_app(grading)) as base:
        context = browser.new_context()
        try:
            sign_in_context(context, base, teacher)
            page = context.new_page()
            page.set_default_timeout(10_000)
            page.goto(f"{base}/classes/{klass}/assignments/{quiz}")
            page.fill(f"#points-{ben}", "7")
            with page.expect_navigation():
                page.click("#save")
            assert page.url == f"{base}/classes/{klass}#a-{quiz}", page.inner_text("main")[:500]
            assert page.inner_text(".flash") == "Saved 1 score of Quiz."
            # Ann's own row changed: her comment, shown on one line, stays as it is stored.
            page.goto(f"{base}/classes/{klass}/assignments/{quiz}")
            page.fill(f"#points-{ann}", "6")
            with page.expect_navigation():
                page.click("#save")
            assert page.inner_text(".flash") == "Saved 1 score of Quiz.", page.inner_text("main")[:500]
        finally:
            context.close()
    scores = {s["id"]: s["scores"] for s in grading.Grades.gradebook(klass)["students"]}
    assert scores[ben][str(quiz)]["points"] == 7
    assert scores[ann][str(quiz)] == {"points": 6, "mark": None, "comment": "line one\nline two"}


# -- the audit ---------------------------------------------------------------------------------------


def test_renaming_a_category_is_in_the_history_of_each_assignment_it_moves(school):
    with acting_as("tia"):
        quiz = school.grades.add_assignment(school.klass, "Quiz 1", "Quiz", 10)
        renamed = [{"name": "Quizzes", "weight": 25, "was": "Quiz"}] + [
            {"name": name, "weight": 25} for name in ("Test", "Exam", "Homework")
        ]
        school.grades.set_categories(school.klass, renamed)
        assert school.grades.list_assignments(school.klass)[0]["category"] == "Quizzes"
        entries = school.grades.history("assignment", quiz["id"])
    last = entries[-1]
    assert (last["action"], last["user"]) == ("update", "tia"), entries
    assert (last["before"]["category"], last["after"]["category"]) == ("Quiz", "Quizzes")


# -- races on PostgreSQL -----------------------------------------------------------------------------


@contextlib.contextmanager
def holding(store_url: str, sql: str, args: tuple[Any, ...]) -> Iterator[Any]:
    """A transaction of another connection that ran ``sql`` (a ``FOR UPDATE``): it holds those rows until
    the block ends (rolled back, unless the block commits it)."""
    import psycopg

    with psycopg.connect(store_url) as conn:
        conn.execute(sql.replace("?", "%s"), args)
        try:
            yield conn
        finally:
            conn.rollback()


def waiters(store_url: str, holder: Any) -> int:
    """How many backends wait, directly or through others, for ``holder``'s transaction."""
    rows = execute(store_url, "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity")
    chain = {holder.info.backend_pid}
    while True:
        more = {pid for pid, by in rows if set(by) & chain} - chain
        if not more:
            return len(chain) - 1
        chain |= more


def started(pool: ThreadPoolExecutor, school: School, holder: Any, method: str, params: dict[str, Any]) -> Future[Any]:
    """``school.call(method, **params)`` in ``pool``, once it has finished or waits behind ``holder`` too."""
    before = waiters(school.store_url, holder)
    future = pool.submit(school.call, method, **params)
    wait_until(
        lambda: future.done() or waiters(school.store_url, holder) > before, 20, message=f"{method} to finish or wait"
    )
    return future


def settled(future: Future[Any]) -> Any:
    return future.result(timeout=60)


def grid_file(school: School, *cells: tuple[str, str]) -> str:
    """A grid file of ada's row with (title, cell) columns."""
    header = ",".join(["student_id", "first_name", "last_name", *(title for title, _ in cells)])
    return f"{header}\n{school.ada},,,{','.join(cell for _, cell in cells)}\n"


SCORES_OF = "SELECT a.max_points, g.points FROM grades g JOIN assignments a ON a.id = g.assignment_id WHERE a.id = ?"
CLASS_LOCK = "SELECT id FROM classes WHERE id = ? FOR UPDATE"


@pytest.mark.parametrize("new_column", [False, True], ids=["same-columns", "with-a-new-column"])
def test_an_import_confirmed_while_a_score_is_saved_is_409_with_the_new_preview(pg, new_column):
    # The confirmation computed the file's difference before it locked the class. A score saved meanwhile
    # was either overwritten blindly (when the file adds a column, whose lock comes in between) or refused
    # with set_scores' {"conflicts"} data and no preview, which the portal's page answers with a 500.
    with acting_as("tia"):
        quiz = pg.grades.add_assignment(pg.klass, "Quiz 1", "Quiz", 10)["id"]
        pg.grades.set_scores(quiz, [{"student_id": pg.ada, "points": 4}])
    text = grid_file(pg, ("Quiz 1", "8"), *([("Quiz 2", "9")] if new_column else []))
    token = pg.call("import_gradebook", class_id=pg.klass, csv_text=text)["token"]
    confirmed = {"class_id": pg.klass, "csv_text": text, "confirm": True, "expected": token}
    with ThreadPoolExecutor(1) as pool, holding(pg.store_url, CLASS_LOCK, (pg.klass,)) as saving:
        # ``saving`` stands for a set_scores that holds the class's lock while it writes ada's new score.
        applied = started(pool, pg, saving, "import_gradebook", confirmed)
        saving.execute("UPDATE grades SET points = 6, score = 60 WHERE assignment_id = %s", (quiz,))
        saving.commit()
        answer = settled(applied)
    assert isinstance(answer, RpcError) and answer.code == 409, answer
    assert "token" in answer.data, answer.data
    assert [c["old"] for c in answer.data["changed_scores"]] == [{"points": 6.0, "mark": None}]
    assert pg.grades.gradebook(pg.klass)["students"][0]["scores"][str(quiz)]["points"] == 6


def column_during_an_import(school: School, method: str, params: dict[str, Any]) -> tuple[Any, Any, int]:
    """``method`` on the column Essay while an import writes Quiz 1 (a score of ada's changed) and Essay (a
    new score of ada's, 50 points), made its difference and holds the class; the import's result and the
    method's, and Essay's id.

    A second connection holds ada's score on Quiz 1: the import, which locks the scores it saves after
    it has locked the class, waits there until the method has finished or waits too.
    """
    with acting_as("tia"):
        quiz = school.grades.add_assignment(school.klass, "Quiz 1", "Quiz", 10)["id"]
        essay = school.grades.add_assignment(school.klass, "Essay", "Homework", 100)["id"]
        school.grades.set_scores(quiz, [{"student_id": school.ada, "points": 4}])
    text = grid_file(school, ("Quiz 1", "8"), ("Essay", "50"))
    token = school.call("import_gradebook", class_id=school.klass, csv_text=text)["token"]
    confirmed = {"class_id": school.klass, "csv_text": text, "confirm": True, "expected": token}
    scores = "SELECT id FROM grades WHERE assignment_id = ? FOR UPDATE"
    with ThreadPoolExecutor(2) as pool, holding(school.store_url, scores, (quiz,)) as holder:
        applied = started(pool, school, holder, "import_gradebook", confirmed)
        other = started(pool, school, holder, method, {"assignment_id": essay, **params})
        holder.rollback()
        return settled(applied), settled(other), essay


def test_lowering_an_assignments_points_during_an_import_leaves_no_score_above_them(pg):
    # update_assignment checked for scores above the new points under the assignment's lock only, and an
    # import writes under the class's: a score of 50 landed on a 10-point assignment.
    imported, lowered, essay = column_during_an_import(pg, "update_assignment", {"max_points": 10})
    stored = execute(pg.store_url, SCORES_OF, (essay,))
    assert stored and all(points <= top for top, points in stored), (stored, imported, lowered)


def test_deleting_an_assignment_during_an_import_is_no_internal_error(pg):
    # delete_assignment took no lock the import holds: it deleted the column the import was writing,
    # whose new score then failed its foreign key (-32603).
    imported, removed, essay = column_during_an_import(pg, "delete_assignment", {})
    assert imported == {"saved": 2, "assignments": 0, "students": 0}, imported
    assert removed is True, removed
    assert execute(pg.store_url, "SELECT COUNT(*) FROM grades WHERE assignment_id = ?", (essay,)) == [(0,)]


@pytest.mark.parametrize("first", ["add_grade", "update_assignment"])
def test_add_grade_and_a_change_of_points_leave_no_score_above_the_points(pg, first):
    # add_grade reads the assignment's points (to make points of its percentage) before it locks the class:
    # a change of points committed in between left 80 % of the old 100 points, 80 points, on what is then
    # a 10-point assignment.
    with acting_as("tia"):
        essay = pg.grades.add_assignment(pg.klass, "Essay", "Homework", 100)["id"]
    calls = {
        "add_grade": ("add_grade", {"student_id": pg.ada, "title": "Essay", "type": "Homework", "score": 80}),
        "update_assignment": ("update_assignment", {"assignment_id": essay, "max_points": 10}),
    }
    order = [first, *(name for name in calls if name != first)]
    with ThreadPoolExecutor(2) as pool, holding(pg.store_url, CLASS_LOCK, (pg.klass,)) as holder:
        futures = [started(pool, pg, holder, *calls[name]) for name in order]
        holder.rollback()
        results = [settled(future) for future in futures]
    stored = execute(pg.store_url, SCORES_OF, (essay,))
    assert all(points <= top for top, points in stored), (stored, results)


# -- the grid's CSV goes round ------------------------------------------------------------------------


def test_an_assignment_may_not_take_a_title_the_grid_file_uses_for_its_own_columns(grading):
    # The grid file's average and letter columns are read by name, wherever they stand: an assignment
    # titled "Letter" would have its column of an export ignored on import, so no assignment is titled so.
    teacher = make_user(grading, "teacher")
    klass = grading.Grades.add_class("English", teacher.username)["id"]
    ann = grading.Grades.add_student("Ann", "Lee", class_id=klass)["id"]
    for title in ("Letter", "AVERAGE", "student_id", "First_Name", "last_name"):
        with pytest.raises(InvalidParams) as info:
            grading.Grades.add_assignment(klass, title, "Homework", 10)
        assert info.value.data["field"] == "title" and "a column of the grid's file" in info.value.data["problem"]
        with pytest.raises(InvalidParams):
            grading.Grades.add_grade(ann, title, "Homework", 50)  # today's API makes assignments too
    essay = grading.Grades.add_assignment(klass, "Letter to a friend", "Homework", 10)
    with pytest.raises(InvalidParams):
        grading.Grades.update_assignment(essay["id"], title="letter")
    assert [a["title"] for a in grading.Grades.list_assignments(klass)] == ["Letter to a friend"]
