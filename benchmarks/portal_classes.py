"""Signed-in pages at 10,000 students in 300 classes, and what the session check adds to a page.

The store holds 10,000 students with 20 grades each, in 300 classes of about
33, taught by 30 teachers (10 classes each). One teacher and one admin are
signed in over HTTP. In one run, side by side, with one client:

- ``/classes/<id>/roster`` (a class of the teacher's; the grid is ``gradebook``'s) and ``/students/<id>`` (one of
  its students), as the teacher and as the admin, over keep-alive HTTP;
- the same two pages rendered by the portal's app in this process, as they
  are and with the session check answered from memory, timed in turn (A B A
  B, the same page for both of a pair): the difference is what the check
  costs a page, without an HTTP server around it;
- ``Sessions.check`` called directly.

And with 16 clients (wrk, the session cookie in each request), the two pages
as the teacher. Every loop stops after its count or its time, whichever
comes first. Run: ``python -m benchmarks.portal_classes``.
"""

from __future__ import annotations

import io
import json
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rpc_cluster import Client
from rpc_cluster.client.acting import acting_as

from .common import Proc, bench_main, fmt, latencies, median, wrk
from .grading import STUDENTS, LoadedSqlite
from .load_faults import Browser

CLASSES = 300
TEACHERS = 30
PASSWORD = "benchmark password 1234"


def _classes(path: Path) -> None:
    """300 classes without a teacher yet; student n in class n mod 300, with every grade of theirs."""
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO classes (id, name) VALUES (?, ?)", [(c, f"Class {c}") for c in range(1, 301)])
        conn.execute(f"INSERT INTO enrolments (class_id, student_id) SELECT id % {CLASSES} + 1, id FROM students")
        conn.execute(f"UPDATE grades SET class_id = student_id % {CLASSES} + 1")


def _teach(grading: Client) -> None:
    """Users through grading (their passwords hashed as a sign-in expects): an admin and 30 teachers, each
    teaching every 30th class."""
    grading.call("Users.add", username="boss", role="admin", password=PASSWORD)
    for t in range(TEACHERS):
        grading.call("Users.add", username=f"teacher{t:02}", role="teacher", password=PASSWORD)
    for c in range(1, CLASSES + 1):
        grading.call("Grades.update_class", class_id=c, teacher=f"teacher{(c - 1) % TEACHERS:02}")


def _sign_in(portal_url: str, username: str) -> Browser:
    browser = Browser(portal_url)
    status, _, page = browser.request("GET", "/login")
    assert status == 200, status
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    status, _, _ = browser.request(
        "POST", "/login", {"csrf_token": token, "username": username, "password": PASSWORD, "next": "/"}
    )
    assert status == 303, status
    return browser


def _paired(
    first: Callable[[str], None], second: Callable[[str], None], path: Callable[[], str], count: int, seconds: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Two ways of getting one page timed in turn, A B A B, each pair on the same path, so that a noisy
    moment falls on both alike (after 20 pairs to warm up)."""
    times: tuple[list[float], list[float]] = ([], [])
    deadline = time.monotonic() + seconds
    for n in range(20 + count):
        if n >= 20 and (len(times[0]) >= count or time.monotonic() > deadline):
            break
        chosen = path()
        for get, into in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            get(chosen)
            if n >= 20:
                into.append((time.perf_counter() - start) * 1000)
    return _summary(times[0]), _summary(times[1])


def _summary(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"p50_ms": statistics.median(times), "p99_ms": times[max(0, int(len(times) * 0.99) - 1)], "n": len(times)}


class _RememberedCheck:
    """A grading client whose ``Sessions.check`` answers what the first one answered: the page without the
    check's round trip."""

    def __init__(self, grading: Client):
        self._grading = grading
        self._checked: dict[str, Any] = {}

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if method != "Sessions.check":
            return self._grading.call(method, *args, **kwargs)
        key = json.dumps([args, kwargs], sort_keys=True)
        if key not in self._checked:
            self._checked[key] = self._grading.call(method, *args, **kwargs)
        return self._checked[key]


def _in_process(app: Any, cookie: str) -> Callable[[str], None]:
    """GET a path from the WSGI ``app`` in this process with the session cookie, as a server would call it."""

    def get(path: str) -> None:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "HTTP_COOKIE": cookie,
            "SERVER_NAME": "bench",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
        }
        status = []
        body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
        assert status[0].startswith("200") and body, (path, status)

    return get


def _cookie(browser: Browser) -> str:
    return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


def _one_client(portal_url: str, grading_url: str, count: int, seconds: float) -> dict[str, dict]:
    from portal.app import make_app

    grading = Client(grading_url)
    teacher, admin = _sign_in(portal_url, "teacher00"), _sign_in(portal_url, "boss")
    classes = [c for c in range(1, CLASSES + 1) if (c - 1) % TEACHERS == 0]
    with acting_as("teacher00"):
        students = [s["id"] for s in grading.Grades.list_students(class_id=classes[0], limit=500)["students"]]
    pick_class = lambda: random.choice(classes)  # noqa: E731
    pick_student = lambda: random.choice(students)  # noqa: E731

    def page(browser: Browser, path: Callable[[], str]) -> Callable[[], None]:
        def get() -> None:
            status, _, _ = browser.request("GET", path())
            assert status == 200, status

        return get

    class_page = lambda: f"/classes/{pick_class()}/roster"  # noqa: E731
    student_page = lambda: f"/students/{pick_student()}"  # noqa: E731
    checked = _in_process(make_app(grading), _cookie(teacher))
    remembered = _in_process(make_app(_RememberedCheck(grading)), _cookie(teacher))
    session = teacher.cookies["portal_session"]
    results = {
        "teacher /classes/<id>/roster": latencies(page(teacher, class_page), count, seconds),
        "admin /classes/<id>/roster": latencies(page(admin, class_page), count, seconds),
        "teacher /students/<id>": latencies(page(teacher, student_page), count, seconds),
        "admin /students/<id>": latencies(page(admin, student_page), count, seconds),
    }
    for name, path in (("classes", class_page), ("students", student_page)):
        with_check, without = _paired(checked, remembered, path, count, seconds)
        results[f"in-process /{name}/<id>, session checked"] = with_check
        results[f"in-process /{name}/<id>, check remembered"] = without
    results["Sessions.check direct"] = latencies(
        lambda: grading.call("Sessions.check", session=session), count, seconds
    )
    return results


def _wrk_lua(cookie: str, paths: list[str]) -> str:
    listed = ", ".join(json.dumps(path) for path in paths)
    return (
        f'wrk.headers["Cookie"] = {json.dumps(cookie)}\n'
        f"paths = {{{listed}}}\n"
        'request = function()\n  return wrk.format("GET", paths[math.random(1, #paths)])\nend\n'
    )


def run(quick: bool = False) -> dict[str, Any]:
    reps, seconds = (1, 3) if quick else (3, 5)
    count, budget = (150, 5.0) if quick else (400, 10.0)
    folder = LoadedSqlite()
    _classes(folder.path)
    procs = []
    try:
        registry = Proc("cmd/registryservice/main.py", "--port", "0", "--heartbeat-interval", "1")
        procs.append(registry)
        registry_url = registry.url()
        grading = Proc(
            "cmd/gradingservice/main.py", "--port", "0", "--registry", registry_url, "--db", str(folder.path)
        )
        procs.append(grading)
        portal = Proc("cmd/teacherportal/main.py", "--port", "0", "--registry", registry_url)
        procs.append(portal)
        grading_url = grading.url()
        portal_url = portal.url().rsplit("/rpc", 1)[0]
        _teach(Client(grading_url))
        portal.wait_for("PortalService registered")
        samples: dict[str, list] = {}
        for _ in range(reps):
            for key, result in _one_client(portal_url, grading_url, count, budget).items():
                samples.setdefault(key, []).append(result)
            teacher = _sign_in(portal_url, "teacher00")
            cookie = _cookie(teacher)
            mine = [c for c in range(1, CLASSES + 1) if (c - 1) % TEACHERS == 0]
            for key, paths in (
                ("16 clients, teacher /classes/<id>/roster", [f"/classes/{c}/roster" for c in mine]),
                ("16 clients, teacher /students/<id>", [f"/students/{s}" for s in range(CLASSES, STUDENTS, CLASSES)]),
            ):
                samples.setdefault(key, []).append(wrk(portal_url + "/", seconds=seconds, lua=_wrk_lua(cookie, paths)))
    finally:
        for proc in reversed(procs):
            proc.stop()
        folder.cleanup()
    return {key: {m: median([r[m] for r in runs if m in r]) for m in runs[0]} for key, runs in samples.items()}


def table(results: dict[str, Any]) -> str:
    lines = [
        "| what (10,000 students, 300 classes) | p50 ms | p99 ms | calls/s |",
        "|---|---|---|---|",
    ]
    for key, r in results.items():
        rate = fmt(r["rps"]) if "rps" in r else ""
        lines.append(f"| {key} | {fmt(r['p50_ms'], 2)} | {fmt(r['p99_ms'], 2)} | {rate} |")
    lines.append("")
    for page in ("classes", "students"):
        with_check = results[f"in-process /{page}/<id>, session checked"]["p50_ms"]
        without = results[f"in-process /{page}/<id>, check remembered"]["p50_ms"]
        lines.append(
            f"- The session check adds {fmt(with_check - without, 2)} ms to `/{page}/<id>` in process "
            f"({fmt(without, 2)} ms without it, {fmt(with_check, 2)} ms with it: "
            f"{fmt(100 * (with_check - without) / with_check, 0)}% of the page)."
        )
    # A teacher's wrk paths must all be theirs, or the errors column says so.
    errors = sum(r.get("errors", 0) for key, r in results.items() if key.startswith("16 clients"))
    lines.append(f"- Pages refused or failed under 16 clients: {errors:.0f}.")
    return "\n".join(lines)


if __name__ == "__main__":
    bench_main(__doc__, run, table)
