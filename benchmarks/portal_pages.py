"""Portal pages under load, against grading called directly, over 10,000 students.

In one run: ``/students`` (first page: ``count_students`` plus
``get_students(limit=50)``) and ``/students/<id>`` (a random student: one
``get_student``), with 16 clients and with 1; and the same grading calls made
directly, so the portal's own share of a page's time shows. Goal: the
portal's overhead is under 50% of a page's time.
Run: ``python -m benchmarks.portal_pages``.
"""

from __future__ import annotations

import http.client
import random
import statistics
import time
import urllib.parse

from rpc_cluster import Client

from .common import Proc, bench_main, fmt, median, wrk
from .grading import STUDENTS, LoadedSqlite

FIRST_PAGE = b'{"jsonrpc": "2.0", "method": "Grades.get_students", "params": {"offset": 0, "limit": 50}, "id": 1}'
COUNT = b'{"jsonrpc": "2.0", "method": "Grades.count_students", "id": 1}'


def _student_lua(portal: bool) -> str:
    if portal:
        return ('request = function()\n  return wrk.format("GET", "/students/" .. math.random(1, %d))\nend\n'
                % STUDENTS)
    return ('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            'request = function()\n  return wrk.format(nil, nil, nil, \'{"jsonrpc": "2.0", '
            '"method": "Grades.get_student", "id": 1, "params": [\' .. math.random(1, %d) .. "]}")\nend\n'
            % STUDENTS)


def _latencies(call, count: int) -> dict[str, float]:
    for _ in range(20):
        call()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[int(len(times) * 0.99) - 1],
            "rps": 1000 / statistics.mean(times), "errors": 0}


def _one_client(portal_url: str, grading_url: str, count: int) -> dict[tuple, dict]:
    """One Python client, sequential: pages over keep-alive HTTP, grading calls with our Client."""
    parts = urllib.parse.urlsplit(portal_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)

    def get(path):
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status

    grading = Client(grading_url)
    return {
        ("portal", "/students (first page)"): _latencies(lambda: get("/students"), count),
        ("direct", "count_students + get_students(limit=50)"): _latencies(
            lambda: (grading.Grades.count_students(), grading.Grades.get_students(offset=0, limit=50)), count),
        ("portal", "/students/<id>"): _latencies(lambda: get(f"/students/{random.randint(1, STUDENTS)}"), count * 4),
        ("direct", "get_student(id)"): _latencies(
            lambda: grading.Grades.get_student(random.randint(1, STUDENTS)), count * 4),
    }


def run(quick: bool = False) -> list[dict]:
    reps, seconds = (1, 3) if quick else (3, 5)
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
        cases = {
            ("portal", "/students (first page)"): dict(url=portal_url + "/students"),
            ("direct", "count_students + get_students(limit=50)"): None,
            ("portal", "/students/<id>"): dict(url=portal_url, lua=_student_lua(True)),
            ("direct", "get_student(id)"): dict(url=grading_url, lua=_student_lua(False)),
        }
        samples: dict[tuple, list] = {}
        for _ in range(reps):
            for key, spec in cases.items():
                if spec is None:  # the page's two calls, timed as the page makes them
                    page = wrk(grading_url, body=FIRST_PAGE, seconds=seconds)
                    count = wrk(grading_url, body=COUNT, seconds=seconds)
                    result = {"rps": 1 / (1 / page["rps"] + 1 / count["rps"]),
                              "p50_ms": page["p50_ms"] + count["p50_ms"],
                              "p99_ms": page["p99_ms"] + count["p99_ms"], "errors": page["errors"] + count["errors"]}
                else:
                    result = wrk(spec["url"], lua=spec.get("lua"), seconds=seconds)
                samples.setdefault((*key, 16), []).append(result)
            for key, result in _one_client(portal_url, grading_url, 100 if quick else 300).items():
                samples.setdefault((*key, 1), []).append(result)
    finally:
        for proc in reversed(procs):
            proc.stop()
        folder.cleanup()
    return [{"via": via, "what": what, "clients": clients, "rps": median([r["rps"] for r in runs]),
             "p50_ms": median([r["p50_ms"] for r in runs]), "p99_ms": median([r["p99_ms"] for r in runs]),
             "errors": sum(r["errors"] for r in runs)}
            for (via, what, clients), runs in samples.items()]


def table(rows: list[dict]) -> str:
    lines = [f"| via | request ({STUDENTS:,} students) | clients | per s | p50 | p99 |", "|---|---|---|---|---|---|"]
    rows = sorted(rows, key=lambda r: (r["what"].startswith(("get_student", "/students/")), -r["clients"], r["via"] != "portal"))
    for r in rows:
        lines.append(f"| {r['via']} | {r['what']} | {r['clients']} | {fmt(r['rps'])} | {r['p50_ms']:.2f} ms "
                     f"| {r['p99_ms']:.2f} ms |" + (f" ({r['errors']} errors)" if r["errors"] else ""))
    get = {(r["via"], r["what"].split(" ")[0], r["clients"]): r for r in rows}
    verdicts = []
    for page, direct, label in (("/students", "count_students", "/students"), ("/students/<id>", "get_student(id)", "/students/<id>")):
        p, d = get[("portal", page, 1)], get[("direct", direct, 1)]
        share = 1 - d["p50_ms"] / p["p50_ms"]
        verdicts.append(f"{label} {100 * share:.0f}% ({'met' if share < 0.5 else 'NOT met'})")
    lines += ["", "16 clients: wrk (it does not decode the JSON). 1 client: a Python loop, pages over keep-alive "
              "HTTP and grading calls through our `Client`, so both sides pay for decoding. Portal overhead = "
              "1 − (grading calls' p50 ÷ page p50) with one client, where nothing queues. "
              "Goal: under 50% of a page's time. Measured: " + "; ".join(verdicts) + "."]
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
