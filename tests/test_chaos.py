"""Chaos: kill -9 each service in turn, restart the registry, stop the log service."""

import json
import signal
import time

import pytest
from helpers.http_browser import HttpBrowser
from helpers.processes import Cluster, Processes
from helpers.signed_in import sign_in
from helpers.waiting import wait_until

from rpc_cluster import Client


def teacher(cluster: Cluster) -> HttpBrowser:
    """A browser of the cluster's portal, signed in as its administrator."""
    browser = HttpBrowser(cluster.portal)
    sign_in(browser, cluster.admin, wait=15)
    return browser


def get(browser: HttpBrowser, path: str) -> tuple[int, str, str]:
    page = browser.get(path)
    return page.status, page.header("X-Trace-Id"), page.text


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture
def cluster(tmp_path):
    processes = Processes(tmp_path)
    try:
        yield Cluster(processes, tmp_path, interval=1.0)
    finally:
        processes.cleanup()


def test_kill_each_service_in_turn_and_the_others_carry_on(cluster):
    browser = teacher(cluster)
    grading = Client(cluster.grading_proc.url())
    logs_url = cluster.log_proc.url()
    assert get(browser, "/students/1")[0] == 200

    # The registry: pages keep working from the providers each service already knows.
    cluster.registry_proc.signal(signal.SIGKILL)
    for _ in range(5):
        assert get(browser, "/students/1")[0] == 200
    assert grading.Grades.count_students() == 5
    cluster.restart_registry()
    registry = Client(cluster.registry)
    wait_until(lambda: len(registry.Registry.services()) == 3, 10, message="the services back in the registry")

    # The log service: services keep serving; their records wait in their queues.
    cluster.log_proc.signal(signal.SIGKILL)
    assert get(browser, "/students/2")[0] == 200
    assert grading.Grades.add_grade(2, "While the log was down", "Quiz", 70)["score"] == 70.0
    cluster.log_proc = cluster.start_log(port_of(logs_url))

    # Grading: the portal says 503 (no other instance), then recovers by itself.
    grading_url = cluster.grading_proc.url()
    cluster.grading_proc.signal(signal.SIGKILL)
    status, _, body = get(browser, "/students/1")
    assert status == 503 and "not answering" in body
    cluster.grading_proc = cluster.start_grading(port_of(grading_url))
    wait_until(lambda: get(browser, "/students/1")[0] == 200, 15, interval=0.2, message="grading back")

    # The portal: grading and the rest do not care.
    cluster.portal_proc.signal(signal.SIGKILL)
    assert Client(cluster.grading_proc.url()).Grades.get_student(2)["grades"][-1]["title"] == "While the log was down"
    wait_until(
        lambda: (
            {r["service_name"]: r["status"] for r in registry.Registry.services()}.get("PortalService") == "critical"
        ),
        10,
        message="the portal marked critical",
    )
    assert "Traceback" not in cluster.outputs()


def test_restarted_registry_is_repopulated_within_two_intervals(cluster):
    registry = Client(cluster.registry)
    expected = {"LogService", "GradingService", "PortalService"}
    wait_until(
        lambda: {r["service_name"] for r in registry.Registry.services()} == expected,
        10,
        message="the cluster registered",
    )
    browser = teacher(cluster)
    time.sleep(3 * cluster.interval)  # long enough for the services to learn the registry's pace
    cluster.registry_proc.signal(signal.SIGKILL)
    cluster.registry_proc.wait()
    cluster.restart_registry()
    back = time.monotonic()
    wait_until(
        lambda: {r["service_name"] for r in registry.Registry.services()} == expected,
        10,
        interval=0.02,
        message="every service registered again",
    )
    elapsed = time.monotonic() - back
    assert elapsed <= 2 * cluster.interval, f"re-registration took {elapsed:.2f} s"
    # And the portal still finds grading through the new registry's pushes.
    assert get(browser, "/students/1")[0] == 200


def test_stopped_log_service_loses_no_entries(cluster):
    logs_url = cluster.log_proc.url()
    browser = teacher(cluster)
    wait_until(lambda: get(browser, "/students/1")[0] == 200, 10, message="the portal")
    cluster.log_proc.signal(signal.SIGTERM)
    assert cluster.log_proc.wait(10) == 0
    traces = []
    for n in range(30):
        status, trace_id, _ = get(browser, f"/students/{1 + n % 5}")
        assert status == 200
        traces.append(trace_id)
    time.sleep(1.0)  # the shippers retry with backoff meanwhile
    cluster.log_proc = cluster.start_log(port_of(logs_url))
    cluster.log_proc.url()  # serving again
    logs = Client(logs_url)

    def all_delivered():
        found = {e["trace_id"] for e in logs.Log.tail(limit=10_000, service_name="PortalService")}
        return set(traces) <= found

    wait_until(all_delivered, 20, interval=0.2, message="every page's log line")
    lines = (cluster.data / "distributed.log").read_text().splitlines()
    for trace_id in traces:
        portal_lines = [
            line
            for line in lines
            if json.loads(line)["trace_id"] == trace_id and json.loads(line)["service_name"] == "PortalService"
        ]
        assert len(portal_lines) == 1, (trace_id, portal_lines)  # exactly once: nothing lost, nothing doubled
