"""Helpers of the tests that drive the portal in a real headless Chromium (the fixtures are in conftest.py)."""

import os

from helpers.processes import ROOT
from rpc_cluster import Client

CHROMIUM = os.environ.get("RPC_CLUSTER_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "tests" / "screenshots"
# Without these, Chromium keeps trying to reach Google's hosts, which this network refuses.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 740}


def shot(page, name: str) -> None:
    """A full-page screenshot of ``page`` as tests/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def serious_violations(axe, page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    results = axe.run(page)
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def grading_client(cluster) -> Client:
    """A client of the cluster's grading service."""
    return Client(cluster.grading_proc.url())


def new_student(cluster, first, last, grades):
    """A student of this test's own, so tests sharing the cluster do not see each other's changes."""
    grading = grading_client(cluster)
    student = grading.Grades.add_student(first, last)
    for title, kind, score in grades:
        grading.Grades.add_grade(student["id"], title, kind, score)
    return grading.Grades.get_student(student["id"])


def names_shown(page) -> list[str]:
    """The student names the list page shows, in order."""
    return page.locator("#students tbody td:first-child a[href^='/students/']").all_inner_texts()
