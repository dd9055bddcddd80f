"""Make docs/cluster.png: the live /cluster page of a local cluster with two grading instances under load.

    .venv/bin/python docs/cluster_screenshot.py

Starts ``rpc-cluster up`` on free ports in a temporary folder, a second
grading instance on the same database, drives calls for 25 s (bounded in
count and time: a few that fail on purpose, so errors show too), then opens
/cluster in Debian's Chromium and saves the screenshot. Everything it
started is stopped at the end.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rpc_cluster import NotFound, connect, trace

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM = os.environ.get("RPC_CLUSTER_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def load(registry: str, seconds: float, stop: threading.Event) -> None:
    grading = connect("GradingService", registry)
    deadline = time.monotonic() + seconds
    calls = 0
    while not stop.is_set() and time.monotonic() < deadline and calls < 200_000:
        calls += 1
        with trace():
            if calls % 50 == 0:
                with contextlib.suppress(NotFound):
                    grading.Grades.get_student(999_999)
            elif calls % 10 == 0:
                grading.Grades.list_students(query="car", sort="-average")
            else:
                grading.Grades.get_student(1 + calls % 5)
        time.sleep(0.004)


def main() -> int:
    data = Path(tempfile.mkdtemp(prefix="cluster-shot-"))
    with open(data / "up.log", "wb") as log:  # the child writes to its own copy of the descriptor
        up = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rpc_cluster",
                "up",
                "--data",
                str(data),
                "--registry-port",
                "0",
                "--log-port",
                "0",
                "--grading-port",
                "0",
                "--portal-port",
                "0",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
    second = None
    try:
        deadline = time.monotonic() + 60
        while not re.search(r"portal\s+(http://\S+/)", (data / "up.log").read_text()):
            if time.monotonic() > deadline or up.poll() is not None:
                print((data / "up.log").read_text(), file=sys.stderr)
                return 1
            time.sleep(0.2)
        text = (data / "up.log").read_text()
        portal = re.search(r"portal\s+(http://\S+/)", text).group(1)
        registry = re.search(r"registry\s+(http://\S+/rpc)", text).group(1)
        second = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rpc_cluster",
                "grading",
                "--port",
                "0",
                "--registry",
                registry,
                "--db",
                str(data / "grades.db"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            start_new_session=True,
        )
        stop = threading.Event()
        workers = [threading.Thread(target=load, args=(registry, 25, stop)) for _ in range(3)]
        for worker in workers:
            worker.start()
        time.sleep(20)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            # Signed in as the admin `up` made, with the password it kept in the data folder.
            page.goto(portal + "login?next=/students%3Fq%3Dcar")
            page.fill("#username", "admin")
            page.fill("#password", (data / "admin-password").read_text().strip())
            with page.expect_navigation():
                page.click("button:has-text('Sign in')")
            page.goto(portal + "cluster")
            page.wait_for_timeout(500)
            out = ROOT / "docs" / "cluster.png"
            page.screenshot(path=str(out), full_page=True)
            browser.close()
        stop.set()
        for worker in workers:
            worker.join(30)
        print(f"saved {out}")
        return 0
    finally:
        for proc in (second, up):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
