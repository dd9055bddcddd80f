"""Portal pages under load, against grading called directly, over 10,000 students.

In one run, side by side: ``/students`` (the first page: one
``Grades.list_students(limit=50)``), a search ``/students?q=...`` (one
``list_students(query=...)``) and ``/students/<id>`` (a random student: one
``get_student``), each with 16 clients and with 1; the same grading calls made
directly; and, with one client, the same pages rendered by the portal's app in
this process (no HTTP server in between), which splits a page's time into the
grading call, the portal's own code and its HTTP server. Each of those pages is
one round trip to grading: its read carries the session's check
(``Sessions.call_as``); the check's own work in grading is shown apart (the
same read sent as the page sends it, less the read alone). With one client a
page's four ways (over HTTP, in-process, checked, direct) are timed in turn,
call by call, so their differences hold on a machine whose load changes. Also
adding a grade through the form (the POST and the page after its 303: a check
and ``add_grade``, then the page's ``call_as``) against ``add_grade`` plus
``get_student`` directly.

Goals: ``/students`` and the search take at most 1.5 ms (p50, one client);
the portal's overhead is under 50% of a page's time. Every loop stops after
its count or its time, whichever comes first.
Run: ``python -m benchmarks.portal_pages``.
"""

from __future__ import annotations

import http.client
import io
import json
import random
import statistics
import sys
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from rpc_cluster import Client

from .common import Proc, bench_main, fmt, latencies, median, wrk
from .grading import STUDENTS, LoadedSqlite
from .load_faults import Browser, make_admin

# Matches First123 and First1230-First1239: 11 of the 10,000 students.
SEARCH = "First123"
PAGE = {"offset": 0, "limit": 50, "query": None, "sort": "name"}
GOAL_MS = 1.5


def _list_body(query: str | None) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "method": "Grades.list_students", "id": 1, "params": dict(PAGE, query=query)}
    ).encode()


def _session_lua(cookie: str) -> str:
    """wrk's script for GETs of a signed-in teacher: the session cookie on every request."""
    return f'wrk.headers["Cookie"] = "{cookie}"\n'


def _student_lua(portal: bool, cookie: str = "") -> str:
    if portal:
        return _session_lua(cookie) + (
            f'request = function()\n  return wrk.format("GET", "/students/" .. math.random(1, {STUDENTS}))\nend\n'
        )
    return (
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        'request = function()\n  return wrk.format(nil, nil, nil, \'{"jsonrpc": "2.0", '
        f'"method": "Grades.get_student", "id": 1, "params": [\' .. math.random(1, {STUDENTS}) .. "]}}")\nend\n'
    )


def _in_process(app: Any, cookie: str) -> Callable[[str], None]:
    """GET a path from the WSGI ``app`` in this process, as a server would call it, with the session ``cookie``."""

    def get(path: str) -> None:
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "bench",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
            "HTTP_COOKIE": cookie,
        }
        status = []
        body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
        assert status[0].startswith("200") and body, status

    return get


def _one_client(portal_url: str, grading_url: str, count: int, seconds: float, browser: Browser) -> dict[tuple, dict]:
    """One client, sequential: pages over keep-alive HTTP, in this process, and grading calls with our Client;
    signed in with ``browser``'s session (the in-process app checks it with the same grading)."""
    from portal.app import make_app

    parts = urllib.parse.urlsplit(portal_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    cookie = _cookie(browser)

    def get(path):
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status

    grading = Client(grading_url)
    local = _in_process(make_app(grading), cookie)
    student = lambda: random.randint(1, STUDENTS)  # noqa: E731
    search = f"/students?q={SEARCH}"
    session = browser.cookies["portal_session"]

    def checked(read: str, params: Any) -> Callable[[], Any]:
        """The read with the session's check, as the page sends it (``Sessions.call_as``)."""
        return lambda: grading.call("Sessions.call_as", session, read, params() if callable(params) else params)

    direct_search = dict(PAGE, query=SEARCH)
    # Each page's four ways are timed in turn, call by call: their differences are the split below,
    # and a machine whose load changes over the run changes all four alike.
    results = _interleaved(
        {
            ("portal", "/students (first page)"): lambda: get("/students"),
            ("in-process", "/students (first page)"): lambda: local("/students"),
            ("checked", "list_students(limit=50)"): checked("Grades.list_students", PAGE),
            ("direct", "list_students(limit=50)"): lambda: grading.Grades.list_students(**PAGE),
        },
        count,
        seconds,
    )
    results |= _interleaved(
        {
            ("portal", f"/students?q={SEARCH}"): lambda: get(search),
            ("in-process", f"/students?q={SEARCH}"): lambda: local(search),
            ("checked", f"list_students(query={SEARCH!r})"): checked("Grades.list_students", direct_search),
            ("direct", f"list_students(query={SEARCH!r})"): lambda: grading.Grades.list_students(**direct_search),
        },
        count,
        seconds,
    )
    results |= _interleaved(
        {
            ("portal", "/students/<id>"): lambda: get(f"/students/{student()}"),
            ("in-process", "/students/<id>"): lambda: local(f"/students/{student()}"),
            ("checked", "get_student(id)"): checked("Grades.get_student", lambda: [student()]),
            ("direct", "get_student(id)"): lambda: grading.Grades.get_student(student()),
        },
        count * 4,
        seconds,
    )
    results.update(_add_grade(browser, grading, count // 2, seconds))
    return results


def _interleaved(calls: dict[tuple, Callable[[], Any]], count: int, seconds: float) -> dict[tuple, dict]:
    """``latencies`` of each of ``calls``, timed in turn (one of each, then again) up to ``count`` times each or
    for ``seconds`` in all, after 20 of each to warm up."""
    for _ in range(20):
        for call in calls.values():
            call()
    times: dict[tuple, list[float]] = {key: [] for key in calls}
    deadline = time.monotonic() + seconds
    while len(times[next(iter(calls))]) < count and time.monotonic() < deadline:
        for key, call in calls.items():
            start = time.perf_counter()
            call()
            times[key].append((time.perf_counter() - start) * 1000)
    results = {}
    for key, measured in times.items():
        measured.sort()
        results[key] = {
            "p50_ms": statistics.median(measured),
            "p99_ms": measured[max(0, int(len(measured) * 0.99) - 1)],
            "rps": 1000 / statistics.mean(measured),
            "errors": 0,
            "n": len(measured),
        }
    return results


def _cookie(browser: Browser) -> str:
    """The ``Cookie`` header of a signed-in ``browser``: its session."""
    return f"portal_session={browser.cookies['portal_session']}"


def _add_grade(browser: Browser, grading: Client, count: int, seconds: float) -> dict[tuple, dict]:
    """The add-grade form: POST, then the page its 303 leads to; against add_grade + get_student directly."""
    _status, _, page = browser.request("GET", "/students/1")
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    numbers = iter(range(10**9))

    def post_and_follow():
        sid = random.randint(1, STUDENTS)
        status, _, _ = browser.request(
            "POST",
            f"/students/{sid}/grades",
            {"csrf_token": token, "title": f"Bench {next(numbers)}", "type": "Quiz", "score": "50"},
        )
        assert status == 303, status
        assert browser.request("GET", f"/students/{sid}")[0] == 200

    def direct():
        sid = random.randint(1, STUDENTS)
        grading.Grades.add_grade(sid, f"Bench {next(numbers)}", "Quiz", 50)
        grading.Grades.get_student(sid)

    return {
        ("portal", "add a grade (POST + page after 303)"): latencies(post_and_follow, count, seconds),
        ("direct", "add_grade + get_student"): latencies(direct, count, seconds),
    }


def run(quick: bool = False) -> list[dict]:
    reps, seconds = (1, 3) if quick else (3, 5)
    count, budget = (150, 5.0) if quick else (300, 10.0)
    folder = LoadedSqlite()
    db = folder.path
    procs = []
    try:
        registry = Proc("cmd/registryservice/main.py", "--port", "0", "--heartbeat-interval", "1")
        procs.append(registry)
        registry_url = registry.url()
        grading = Proc("cmd/gradingservice/main.py", "--port", "0", "--registry", registry_url, "--db", str(db))
        procs.append(grading)
        portal = Proc("cmd/teacherportal/main.py", "--port", "0", "--registry", registry_url)
        procs.append(portal)
        grading_url = grading.url()
        portal_url = portal.url().rsplit("/rpc", 1)[0]
        portal.wait_for("PortalService registered")
        browser = Browser(portal_url)
        browser.sign_in(*make_admin(grading_url))
        signed_in = _session_lua(_cookie(browser))
        cases = {
            ("portal", "/students (first page)"): {"url": portal_url + "/students", "lua": signed_in},
            ("direct", "list_students(limit=50)"): {"url": grading_url, "body": _list_body(None)},
            ("portal", f"/students?q={SEARCH}"): {"url": f"{portal_url}/students?q={SEARCH}", "lua": signed_in},
            ("direct", f"list_students(query={SEARCH!r})"): {"url": grading_url, "body": _list_body(SEARCH)},
            ("portal", "/students/<id>"): {"url": portal_url, "lua": _student_lua(True, _cookie(browser))},
            ("direct", "get_student(id)"): {"url": grading_url, "lua": _student_lua(False)},
        }
        samples: dict[tuple, list] = {}
        for _ in range(reps):
            for key, spec in cases.items():
                samples.setdefault((*key, 16), []).append(wrk(seconds=seconds, **spec))
            for key, result in _one_client(portal_url, grading_url, count, budget, browser).items():
                samples.setdefault((*key, 1), []).append(result)
    finally:
        for proc in reversed(procs):
            proc.stop()
        folder.cleanup()
    return [
        {
            "via": via,
            "what": what,
            "clients": clients,
            "rps": median([r["rps"] for r in runs]),
            "p50_ms": median([r["p50_ms"] for r in runs]),
            "p99_ms": median([r["p99_ms"] for r in runs]),
            "errors": sum(r["errors"] for r in runs),
        }
        for (via, what, clients), runs in samples.items()
    ]


# (page, the same work called directly) as the rows name them
PAIRS = (
    ("/students (first page)", "list_students(limit=50)"),
    (f"/students?q={SEARCH}", f"list_students(query={SEARCH!r})"),
    ("/students/<id>", "get_student(id)"),
    ("add a grade (POST + page after 303)", "add_grade + get_student"),
)


def table(rows: list[dict]) -> str:
    get = {(r["via"], r["what"], r["clients"]): r for r in rows}
    lines = [
        f"| request ({STUDENTS:,} students) | clients | portal p50 | direct p50 | portal ÷ direct | portal per s "
        "| direct per s | portal p99 | direct p99 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for page, direct in PAIRS:
        for clients in (16, 1):
            p, d = get.get(("portal", page, clients)), get.get(("direct", direct, clients))
            if p is None or d is None:
                continue
            errors = p["errors"] + d["errors"]
            lines.append(
                f"| {page} | {clients} | {p['p50_ms']:.2f} ms | {d['p50_ms']:.2f} ms "
                f"| {p['p50_ms'] / d['p50_ms']:.2f}x | {fmt(p['rps'])} | {fmt(d['rps'])} "
                f"| {p['p99_ms']:.2f} ms | {d['p99_ms']:.2f} ms |" + (f" ({errors} errors)" if errors else "")
            )
    lines += [
        "",
        "Where a page's time goes (one client, p50): the grading call, the session's check that rides on it "
        "(the same read sent as the page sends it, `Sessions.call_as`, less the read alone), the portal's own "
        "code (the page rendered by the app in the benchmark's process, less that call) and the portal's HTTP "
        "server (the page over HTTP, less the page in-process).",
        "",
        "| page | grading call | session check | portal code | portal server | page over HTTP |",
        "|---|---|---|---|---|---|",
    ]
    for page, direct in PAIRS[:3]:
        p, local, d = get[("portal", page, 1)], get[("in-process", page, 1)], get[("direct", direct, 1)]
        c = get[("checked", direct, 1)]
        lines.append(
            f"| {page} | {d['p50_ms']:.2f} ms | {c['p50_ms'] - d['p50_ms']:.2f} ms "
            f"| {local['p50_ms'] - c['p50_ms']:.2f} ms | {p['p50_ms'] - local['p50_ms']:.2f} ms "
            f"| {p['p50_ms']:.2f} ms |"
        )
    verdicts = []
    for page in PAIRS[0][0], PAIRS[1][0]:
        p50 = get[("portal", page, 1)]["p50_ms"]
        verdicts.append(f"{page} {p50:.2f} ms ({'met' if p50 <= GOAL_MS else 'NOT met'})")
    overhead = []
    for page, direct in PAIRS[0], PAIRS[2]:
        p, d = get[("portal", page, 1)], get[("direct", direct, 1)]
        share = 1 - d["p50_ms"] / p["p50_ms"]
        overhead.append(f"{page} {100 * share:.0f}% ({'met' if share < 0.5 else 'NOT met'})")
    lines += [
        "",
        "16 clients: wrk (it does not decode the JSON). 1 client: a Python loop, pages over keep-alive HTTP "
        "and grading calls through our `Client`, so both sides pay for decoding. Portal overhead = "
        "1 − (grading call's p50 ÷ page p50) with one client, where nothing queues.",  # noqa: RUF001 (a printed minus)
        f"Goal: p50 at most {GOAL_MS} ms with one client. Measured: " + "; ".join(verdicts) + ".",
        "Goal: the portal's overhead under 50% of a page's time. Measured: " + "; ".join(overhead) + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
