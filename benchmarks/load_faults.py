"""Load with faults: 16 clients for 60 s while services are killed and stopped.

Two grading instances share one PostgreSQL database behind the portal; the
registry checks every second. Half the clients browse portal pages, half add
grades through the portal's form, each post carrying the form's request_id
as a browser does (and sent again, like a browser, when its connection
drops). During the run each grading instance in turn is killed with SIGKILL
while grades are being added, then restarted on its port, and the log
service is stopped for 10 s. Afterwards every acknowledged grade (a 303 from
the form) is looked up in the database, every grade is checked to be stored
once, every page's log line is looked for in the log by its trace id, and
every process's output is searched for tracebacks.

Goal: no acknowledged grade lost or stored twice, no log entry lost, no
failed page load outside the detection window after a kill, no traceback
anywhere.
Run: ``python -m benchmarks.load_faults [--quick]`` (needs PostgreSQL).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import secrets
import signal
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

from rpc_cluster import Client

from .common import Proc, bench_main

POSTGRES_URL = os.environ.get("RPC_CLUSTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
INTERVAL = 1.0
# A killed instance leaves `passing` within about two intervals; calls already
# sent to it when it died fail. Failures inside this window are expected.
DETECTION_WINDOW = 2.5 * INTERVAL


class Browser:
    """One client: a keep-alive connection to the portal, with its cookies."""

    def __init__(self, base: str):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body, headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                if attempt == 2:
                    return 0, "", ""
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.headers.get("X-Trace-Id") or "", text

    def sign_in(self, username: str, password: str, wait: float = 20.0) -> None:
        """Sign in through /login's form, as a teacher does before any other page (trying again for
        ``wait`` seconds while the portal answers 503: it has not heard of grading yet)."""
        deadline = time.monotonic() + wait
        while True:
            _, _, form = self.request("GET", "/login")
            match = re.search(r'name="csrf_token" value="([^"]+)"', form)
            fields = {"csrf_token": match.group(1) if match else "", "username": username, "password": password}
            status, _, _ = self.request("POST", "/login", fields)
            if status == 303:
                return
            if status != 503 or time.monotonic() > deadline:
                raise RuntimeError(f"could not sign in to the portal: {status}")
            time.sleep(0.2)


def make_admin(grading_url: str) -> tuple[str, str]:
    """A portal user for the benchmark's clients (made through grading with the service's authority)."""
    username, password = f"bench-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    Client(grading_url).call("Users.add", username=username, role="admin", password=password)
    return username, password


def run(quick: bool = False) -> dict:
    import psycopg

    duration = 20.0 if quick else 60.0
    # Fractions of the run: each grading instance killed and restarted in turn, then the log stopped.
    plan = (
        ("kill", "a", 0.2),
        ("restart", "a", 0.35),
        ("kill", "b", 0.45),
        ("restart", "b", 0.6),
        ("stop log", None, 0.7),
    )
    log_down = 10.0 if not quick else 4.0
    folder = tempfile.TemporaryDirectory()
    data = Path(folder.name)
    admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    schema = f"rpc_faults_{uuid.uuid4().hex[:8]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    db = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    procs: list[Proc] = []

    def start(*args: str) -> Proc:
        proc = Proc(*args)
        procs.append(proc)
        return proc

    try:
        registry = start("cmd/registryservice/main.py", "--port", "0", "--heartbeat-interval", str(INTERVAL))
        registry_url = registry.url()
        log_args = ("cmd/logservice/main.py", "--registry", registry_url, "--log-file", str(data / "distributed.log"))
        log = start(*log_args, "--port", "0")
        log_port = log.url().rsplit(":", 1)[1].split("/")[0]
        grading_args = ("cmd/gradingservice/main.py", "--registry", registry_url, "--db", db)
        grading = {"a": start(*grading_args, "--port", "0"), "b": start(*grading_args, "--port", "0")}
        ports = {name: proc.url().rsplit(":", 1)[1].split("/")[0] for name, proc in grading.items()}
        portal = start("cmd/teacherportal/main.py", "--port", "0", "--registry", registry_url)
        base = portal.url().rsplit("/rpc", 1)[0]
        lookup = Client(registry_url)
        deadline = time.monotonic() + 20
        while len(lookup.Registry.lookup("GradingService")) < 2 or not lookup.Registry.lookup("PortalService"):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not come up")
            time.sleep(0.1)
        account = make_admin(grading["a"].url())

        records: list[tuple[float, str, int, str, str]] = []  # (t, kind, status, trace, title)
        lock = threading.Lock()
        start_at = time.monotonic()
        stop_at = start_at + duration

        def browse(worker: int) -> None:
            browser = Browser(base)
            browser.sign_in(*account)
            rng = random.Random(worker)
            while time.monotonic() < stop_at:
                path = "/students" if rng.random() < 0.3 else f"/students/{rng.randint(1, 5)}"
                status, trace, _ = browser.request("GET", path)
                with lock:
                    records.append((time.monotonic() - start_at, "page", status, trace, ""))

        def add(worker: int) -> None:
            browser = Browser(base)
            browser.sign_in(*account)
            rng = random.Random(100 + worker)
            n = 0
            token = ""
            while time.monotonic() < stop_at:
                student = rng.randint(1, 5)
                if not token:
                    status, trace, text = browser.request("GET", f"/students/{student}")
                    with lock:
                        records.append((time.monotonic() - start_at, "page", status, trace, ""))
                    match = re.search(r'name="csrf_token" value="([^"]+)"', text)
                    token = match.group(1) if match else ""
                    continue
                title = f"lf-{worker}-{n}"
                n += 1
                # What a freshly rendered form carries: a request_id of its own.
                status, trace, _ = browser.request(
                    "POST",
                    f"/students/{student}/grades",
                    {
                        "csrf_token": token,
                        "request_id": uuid.uuid4().hex,
                        "title": title,
                        "type": "Quiz",
                        "score": str(rng.randint(0, 100)),
                    },
                )
                with lock:
                    records.append((time.monotonic() - start_at, "grade", status, trace, title))

        workers = [threading.Thread(target=browse, args=(i,)) for i in range(8)]
        workers += [threading.Thread(target=add, args=(i,)) for i in range(8)]
        for worker in workers:
            worker.start()
        events = {}
        kills: list[float] = []
        for action, name, at in plan:
            time.sleep(max(0.0, start_at + at * duration - time.monotonic()))
            if action == "kill":
                grading[name].kill(signal.SIGKILL)
                kills.append(time.monotonic() - start_at)
                events[f"grading {name} killed"] = kills[-1]
            elif action == "restart":
                grading[name] = start(*grading_args, "--port", ports[name])
                events[f"grading {name} restarted"] = time.monotonic() - start_at
            else:
                events["log stopped"] = time.monotonic() - start_at
                log.kill(signal.SIGTERM)
                log.popen.wait(10)
                time.sleep(log_down)
                events["log restarted"] = time.monotonic() - start_at
                log = start(*log_args, "--port", log_port)
        for worker in workers:
            worker.join()
        events["load ended"] = time.monotonic() - start_at

        # -- the audit ------------------------------------------------------------------------
        acknowledged = [r[4] for r in records if r[1] == "grade" and r[2] == 303]
        with psycopg.connect(db) as conn:
            stored = [row[0] for row in conn.execute("SELECT title FROM grades WHERE title LIKE 'lf-%%'")]
        lost_grades = sorted(set(acknowledged) - set(stored))
        counts: dict[str, int] = {}
        for title in stored:
            counts[title] = counts.get(title, 0) + 1
        doubled = sorted(title for title, count in counts.items() if count > 1)
        # Every portal request (the portal is never killed) must have its log line.
        traces = {r[3] for r in records if r[3]}
        logs = Client(log.url())
        found: set[str] = set()
        for _ in range(60):
            found = {e["trace_id"] for e in logs.Log.tail(limit=10_000, service_name="PortalService")}
            if traces <= found:
                break
            time.sleep(0.5)
        lines = (data / "distributed.log").read_text().splitlines()
        portal_traces = [json.loads(line)["trace_id"] for line in lines if '"PortalService"' in line]
        lost_logs = len(traces - set(portal_traces))
        failures = [r for r in records if r[2] not in (200, 303)]
        outside = [r for r in failures if not any(at <= r[0] <= at + DETECTION_WINDOW for at in kills)]
        tracebacks = sum(proc.output().count("Traceback") for proc in procs)
        return {
            "duration": duration,
            "events": events,
            "requests": len(records),
            "pages": sum(1 for r in records if r[1] == "page"),
            "grade_posts": sum(1 for r in records if r[1] == "grade"),
            "acknowledged": len(acknowledged),
            "lost_grades": len(lost_grades),
            "doubled": len(doubled),
            "stored": len(stored),
            "kills": len(kills),
            "failures": len(failures),
            "failures_outside_window": len(outside),
            "failure_statuses": sorted({r[2] for r in failures}),
            "log_lines_expected": len(traces),
            "log_lines_lost": lost_logs,
            "tracebacks": tracebacks,
        }
    finally:
        for proc in procs:
            proc.stop()
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()
        folder.cleanup()


def table(result: dict) -> str:
    r = result
    ok = (
        r["lost_grades"] == 0
        and r["doubled"] == 0
        and r["log_lines_lost"] == 0
        and r["failures_outside_window"] == 0
        and r["tracebacks"] == 0
    )
    events = ", ".join(f"{name} at {t:.0f} s" for name, t in r["events"].items())
    return "\n".join(
        [
            "| measure | result |",
            "|---|---|",
            f"| requests (16 clients, {r['duration']:.0f} s) "
            f"| {r['requests']:,}: {r['pages']:,} pages, {r['grade_posts']:,} grade posts |",
            f"| acknowledged grades (303), counted in the database | {r['acknowledged']:,} of {r['stored']:,} stored; "
            f"lost: **{r['lost_grades']}**, stored twice: **{r['doubled']}** |",
            f"| portal log lines (one a request) | {r['log_lines_expected']:,}; lost: **{r['log_lines_lost']}** |",
            f"| failed requests | {r['failures']} (statuses {r['failure_statuses'] or '—'}); outside the "
            f"{DETECTION_WINDOW:g} s window after each of the {r['kills']} kills: **{r['failures_outside_window']}** |",
            f"| tracebacks in any process's output | **{r['tracebacks']}** |",
            "",
            f"Timeline: {events}. Goal: nothing lost, no failure outside the window, no traceback: "
            f"{'met' if ok else 'NOT met'}.",
        ]
    )


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
