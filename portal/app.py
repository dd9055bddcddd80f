"""The teacher portal's routes: ``make_app`` wires each URL to its page in ``portal.pages``.

Grading is reached only through the client given to ``make_app`` (resolved
through the registry by ``portal.service``); the pages find it, and the other
clients, on the app's ``portal.context.Portal``.
"""

from __future__ import annotations

import bottle

from rpc_cluster.observability.metrics import ServiceMetrics

from .cluster_stats import ClusterWatch
from .context import Caller, Portal
from .frame.errors import error_page
from .page_metrics import PageMetrics
from .pages import class_, classes, cluster, history, login, roster, static, users
from .pages.classbook import assignment, column, grid, report, settings
from .pages.classbook import export as class_export
from .pages.classbook import import_ as class_import
from .pages.classbook import statistics as class_statistics
from .pages.gradebook import grade, import_, statistics, student, students, students_csv


def make_app(
    grading: Caller,
    *,
    registry: Caller | None = None,
    logs: Caller | None = None,
    secure_cookies: bool = False,
    secret: bytes | None = None,
    metrics: ServiceMetrics | None = None,
    watch: ClusterWatch | None = None,
    session_idle: float = 3600.0,
    session_max: float = 43200.0,
) -> bottle.Bottle:
    """The portal's Bottle app.

    ``grading``: a client for GradingService (``grading.Grades.get_student(1)``),
    which also keeps the users and their sessions;
    ``registry`` and ``logs``: clients for the /cluster page (optional);
    ``secret``: the key that signs the sign-in form's CSRF token and the flash
    messages, the same for every portal behind one balancer (default: a random
    one for this app); ``metrics``: where pages are counted by route and
    status; ``watch``: the instances' calls per second and p99 for /cluster
    (both optional); ``session_idle`` and ``session_max``: the seconds a
    session made by signing in here lasts unused, and at most.

    Every page but ``/login`` and ``/static/...`` needs a signed-in user
    (``portal.frame.session``).
    """
    app = bottle.Bottle()
    app.catchall = True
    signing = {} if secret is None else {"csrf_secret": secret}
    Portal(
        grading,
        registry=registry,
        logs=logs,
        secure_cookies=secure_cookies,
        watch=watch,
        pages=PageMetrics(metrics) if metrics is not None else None,
        session_idle=session_idle,
        session_max=session_max,
        **signing,
    ).attach(app)

    app.route("/login", "GET", login.login_form)
    app.route("/login", "POST", login.login)
    app.route("/logout", "POST", login.logout)
    app.route("/", "GET", students.home)
    app.route("/students", "GET", students.students)
    app.route("/students", "POST", students.add_student)
    app.route("/students/<student_id>", "GET", student.student)
    app.route("/students.csv", "GET", students_csv.students_csv)
    app.route("/students/<student_id>/grades", "POST", student.add_grade)
    app.route("/students/<student_id>/grades/<grade_id>", "POST", grade.edit_grade)
    app.route("/students/<student_id>/grades/<grade_id>/delete", "GET", grade.confirm_delete)
    app.route("/students/<student_id>/grades/<grade_id>/delete", "POST", grade.delete_grade)
    app.route("/import", "GET", import_.import_form)
    app.route("/import", "POST", import_.import_grades)
    app.route("/statistics", "GET", statistics.statistics)
    app.route("/grades/<grade_id>/history", "GET", history.grade_history)
    # A class's grid as CSV, its import with a preview, and its statistics.
    app.route("/classes/<class_id>.csv", "GET", class_export.export)
    app.route("/classes/<class_id>/import", "GET", class_import.import_form)
    app.route("/classes/<class_id>/import", "POST", class_import.preview)
    app.route("/classes/<class_id>/import/confirm", "POST", class_import.confirm)
    app.route("/classes/<class_id>/statistics", "GET", class_statistics.class_statistics)
    app.route(
        "/classes/<class_id>/assignments/<assignment_id>/statistics", "GET", class_statistics.assignment_statistics
    )
    app.route("/classes", "GET", classes.classes)
    app.route("/classes", "POST", classes.add_class)
    # No dot in the grid's id: /classes/<id>.csv is the grid's export, wherever its route is added.
    app.route("/classes/<class_id:re:[^/.]+>", "GET", grid.grid)
    app.route("/classes/<class_id>/roster", "GET", class_.class_page)
    app.route("/classes/<class_id>/students", "POST", class_.add_student)
    app.route("/classes/<class_id>/enrolments", "POST", class_.enroll)
    app.route("/classes/<class_id>/students/<student_id>/name", "POST", roster.rename)
    app.route("/classes/<class_id>/students/<student_id>/archive", "POST", roster.archive)
    app.route("/classes/<class_id>/students/<student_id>/unenroll", "GET", roster.confirm_unenroll)
    app.route("/classes/<class_id>/students/<student_id>/unenroll", "POST", roster.unenroll)
    app.route("/classes/<class_id>/students/<student_id>", "GET", report.report)
    app.route("/classes/<class_id>/settings", "GET", settings.settings)
    app.route("/classes/<class_id>/settings", "POST", settings.save)
    app.route("/classes/<class_id>/assignments/new", "GET", assignment.new_form)
    app.route("/classes/<class_id>/assignments/new", "POST", assignment.add)
    app.route("/classes/<class_id>/assignments/<assignment_id>", "GET", column.column)
    app.route("/classes/<class_id>/assignments/<assignment_id>", "POST", column.save_column)
    app.route("/classes/<class_id>/assignments/<assignment_id>/edit", "GET", assignment.edit_form)
    app.route("/classes/<class_id>/assignments/<assignment_id>/edit", "POST", assignment.edit)
    app.route("/classes/<class_id>/assignments/<assignment_id>/delete", "GET", assignment.confirm_delete)
    app.route("/classes/<class_id>/assignments/<assignment_id>/delete", "POST", assignment.delete)
    app.route("/users", "GET", users.users)
    app.route("/users", "POST", users.add_user)
    app.route("/users/<username>/password", "GET", users.password_form)
    app.route("/users/<username>/password", "POST", users.set_password)
    app.route("/users/<username>/disabled", "POST", users.disable)
    app.route("/cluster", "GET", cluster.cluster)
    app.route("/static/<name:path>", "GET", static.static)
    # Any other page: the sign-in page first for a visitor who is not signed in, then a 404.
    app.route("/<path:path>", ["GET", "POST"], static.nowhere)

    for code, title in (
        (400, "Bad request"),
        (403, "Forbidden"),
        (404, "Not found"),
        (405, "Method not allowed"),
        (413, "Too large"),
        (500, "Something went wrong"),
    ):
        app.error(code)(error_page(title))
    return app
