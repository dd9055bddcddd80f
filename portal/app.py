"""The teacher portal's pages: a Bottle application built by ``make_app``.

Every page request runs in a new trace whose id the footer shows. Grading is
reached only through the client given to ``make_app`` (resolved through the
registry by ``portal.service``). Forms are protected by a double-submit CSRF
token, answer a valid POST with 303 (post/redirect/get) and an invalid one
with the form, its errors and status 400, storing nothing.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable

import bottle

from rpc_cluster import errors, tracing

log = logging.getLogger("portal")

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 50
GRADE_TYPES = ("Quiz", "Test", "Exam", "Homework")
CSRF_COOKIE = "portal_csrf"
FLASH_COOKIE = "portal_flash"
_UNAVAILABLE = (errors.TransportError, errors.ServiceUnavailable)


class Unavailable(Exception):
    """A service the page needs has no healthy instance."""

    def __init__(self, service: str):
        super().__init__(service)
        self.service = service


def one_decimal(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def make_app(grading: Any, *, registry: Any = None, logs: Any = None,
             secure_cookies: bool = False) -> bottle.Bottle:
    """The portal's Bottle app.

    ``grading``: a client for GradingService (``grading.Grades.get_student(1)``);
    ``registry`` and ``logs``: clients for the /cluster page (optional).
    """
    app = bottle.Bottle()
    app.catchall = True
    views = [str(HERE / "views")]

    def render(name: str, status: int = 200, **values: Any) -> str:
        bottle.response.status = status
        return bottle.template(name, template_lookup=views, trace_id=_trace_id(), csrf=_csrf_token(),
                               flash=_take_flash(), one_decimal=one_decimal, **values)

    def _trace_id() -> str:
        # Error pages render after the page's trace block has closed: keep its id.
        return tracing.current_trace_id() or bottle.request.environ.setdefault(
            "portal.trace_id", tracing.new_trace_id())

    # -- the plumbing around every page ------------------------------------------------------

    def traced(handler: Callable) -> Callable:
        def page(*args: Any, **kwargs: Any) -> Any:
            with tracing.trace() as trace_id:
                bottle.request.environ["portal.trace_id"] = trace_id
                started = time.perf_counter()
                bottle.response.set_header("X-Trace-Id", trace_id)
                try:
                    return handler(*args, **kwargs)
                except Unavailable as exc:
                    log.warning("%s %s: %s unavailable", bottle.request.method, bottle.request.path, exc.service)
                    bottle.response.set_header("Retry-After", "2")
                    return render("unavailable.tpl", 503, service=exc.service)
                except bottle.HTTPResponse:
                    raise
                except Exception:
                    log.exception("%s %s failed", bottle.request.method, bottle.request.path)
                    return render("error.tpl", 500, title="Something went wrong",
                                  message="The page could not be shown. The details are in the log.")
                finally:
                    log.info("%s %s %s in %.1f ms", bottle.request.method, bottle.request.path,
                             bottle.response.status_code, (time.perf_counter() - started) * 1000)
        return page

    def _csrf_token() -> str:
        token = bottle.request.environ.get("portal.csrf")
        if token is None:
            token = bottle.request.get_cookie(CSRF_COOKIE) or ""
            if len(token) != 43:
                token = secrets.token_urlsafe(32)
                bottle.response.set_cookie(CSRF_COOKIE, token, path="/", httponly=True, samesite="strict",
                                           secure=secure_cookies)
            bottle.request.environ["portal.csrf"] = token
        return token

    def check_csrf() -> None:
        cookie = bottle.request.get_cookie(CSRF_COOKIE) or ""
        field = bottle.request.forms.getunicode("csrf_token") or ""
        if not cookie or not hmac.compare_digest(cookie.encode(), field.encode()):
            bottle.abort(403, "The form has expired or did not come from this portal. Reload the page and try again.")

    def _take_flash() -> str | None:
        message = bottle.request.get_cookie(FLASH_COOKIE)
        if message:
            bottle.response.delete_cookie(FLASH_COOKIE, path="/")
            return urllib.parse.unquote(message)[:300]
        return None

    def redirect_with_flash(url: str, message: str) -> None:
        bottle.response.set_cookie(FLASH_COOKIE, urllib.parse.quote(message), path="/", httponly=True,
                                   samesite="strict", secure=secure_cookies)
        bottle.redirect(url, 303)

    def call(client: Any, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return client.call(method, *args, **kwargs)
        except _UNAVAILABLE:
            raise Unavailable(service) from None

    def student_or_404(student_id: str) -> dict:
        if not student_id.isdigit() or len(student_id) > 18 or int(student_id) < 1:
            bottle.abort(404, f"There is no student {student_id!r}.")
        try:
            return call(grading, "the grading service", "Grades.get_student", int(student_id))
        except errors.NotFound:
            bottle.abort(404, f"There is no student with id {int(student_id)}.")

    # -- pages ----------------------------------------------------------------------------------

    @app.get("/")
    def home():
        bottle.redirect("/students", 303)

    @app.get("/students")
    @traced
    def students():
        return _students_page()

    def _students_page(errors_by_field: dict | None = None, values: dict | None = None, status: int = 200):
        total = call(grading, "the grading service", "Grades.count_students")
        pages = max(1, math.ceil(total / PAGE_SIZE))
        raw = bottle.request.query.get("page", "1")
        page_number = int(raw) if raw.isdigit() and 1 <= int(raw) <= pages else 1
        rows = call(grading, "the grading service", "Grades.get_students",
                    offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        return render("students.tpl", status, students=rows, page=page_number, pages=pages, total=total,
                      errors=errors_by_field or {}, values=values or {})

    @app.post("/students")
    @traced
    def add_student():
        check_csrf()
        values = {name: bottle.request.forms.getunicode(name) or "" for name in ("first_name", "last_name")}
        try:
            student = call(grading, "the grading service", "Grades.add_student", **values)
        except errors.InvalidParams as exc:
            return _students_page(_field_error(exc), values, 400)
        redirect_with_flash(f"/students/{student['id']}", f"Added {student['first_name']} {student['last_name']}.")

    @app.get("/students/<student_id>")
    @traced
    def student(student_id: str):
        return render("student.tpl", student=student_or_404(student_id), types=GRADE_TYPES, errors={}, values={})

    @app.post("/students/<student_id>/grades")
    @traced
    def add_grade(student_id: str):
        check_csrf()
        found = student_or_404(student_id)
        values = {name: bottle.request.forms.getunicode(name) or "" for name in ("title", "type", "score")}
        problems = {}
        try:
            score = float(values["score"])
            if not math.isfinite(score):
                raise ValueError
        except ValueError:
            problems["score"] = "must be a number from 0 to 100"
        if not problems:
            try:
                stored = call(grading, "the grading service", "Grades.add_grade", student_id=found["id"],
                              title=values["title"], type=values["type"], score=score)
            except errors.InvalidParams as exc:
                problems = _field_error(exc)
            except errors.NotFound:
                bottle.abort(404, f"There is no student with id {found['id']}.")
            else:
                redirect_with_flash(f"/students/{found['id']}",
                                    f"Added {stored['title']} ({stored['type']}, {stored['score']:g}).")
        return render("student.tpl", 400, student=found, types=GRADE_TYPES, errors=problems, values=values)

    @app.get("/cluster")
    @traced
    def cluster():
        services, lines, problems = [], [], []
        try:
            services = sorted(registry.call("Registry.services"), key=lambda r: (r["service_name"], r["service_url"]))
        except (errors.RpcError, AttributeError):
            problems.append("The registry is not answering.")
        try:
            lines = list(reversed(logs.call("Log.tail", limit=50)))
        except (errors.RpcError, AttributeError):
            problems.append("The log service is not answering.")
        return render("cluster.tpl", services=services, lines=lines, problems=problems)

    @app.get("/static/<name:path>")
    def static(name: str):
        return bottle.static_file(name, root=str(HERE / "static"))

    # -- error pages ---------------------------------------------------------------------------

    def error_page(title: str) -> Callable:
        def handler(error: bottle.HTTPError) -> str:
            message = error.body if isinstance(error.body, str) and error.body else title
            if error.status_code == 500:
                # Bottle's own 500 carries the exception: log it, never show it.
                if error.traceback:
                    log.error("%s %s: %s", bottle.request.method, bottle.request.path, error.traceback)
                message = "The page could not be shown. The details are in the log."
            return render("error.tpl", error.status_code, title=title, message=message)
        return handler

    for code, title in ((400, "Bad request"), (403, "Forbidden"), (404, "Not found"),
                        (405, "Method not allowed"), (500, "Something went wrong")):
        app.error(code)(error_page(title))
    return app


def _field_error(exc: errors.InvalidParams) -> dict[str, str]:
    data = exc.data if isinstance(exc.data, dict) else {}
    field = data.get("field") or "form"
    return {field: data.get("problem") or exc.message}
