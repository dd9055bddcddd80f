"""GET /metrics: real scrapes of a running cluster, parsed with prometheus_client's own parser."""

import json
import urllib.error
import urllib.request

import pytest
from helpers.waiting import wait_until
from prometheus_client.parser import text_string_to_metric_families

from rpc_cluster import Client, MethodNotFound, NotFound
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"


def scrape(base: str, token: str | None = None) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of one scrape of ``base``/metrics."""
    request = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain; version=")
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def base_of(url: str) -> str:
    return url.rsplit("/rpc", 1)[0]


def test_calls_are_counted_by_method_and_outcome_and_timed(cluster):
    grading = Client(f"{base_of(cluster.grading_proc.url())}/rpc")
    base = base_of(grading.url)
    before = scrape(base)
    for _ in range(3):
        grading.Grades.get_student(1)
    with pytest.raises(NotFound):
        grading.Grades.get_student(999_999)
    after = scrape(base)
    assert (
        value(after, "rpc_requests_total", method="Grades.get_student", outcome="result")
        - value(before, "rpc_requests_total", method="Grades.get_student", outcome="result")
        == 3
    )
    assert (
        value(after, "rpc_requests_total", method="Grades.get_student", outcome="404")
        - value(before, "rpc_requests_total", method="Grades.get_student", outcome="404")
        == 1
    )
    count = "rpc_request_duration_seconds_count"
    assert value(after, count, method="Grades.get_student") - value(before, count, method="Grades.get_student") == 4
    slowest = value(after, "rpc_request_duration_seconds_bucket", method="Grades.get_student", le="+Inf")
    assert slowest == value(after, count, method="Grades.get_student")
    assert (
        value(after, "rpc_service_info", service="GradingService", version=__import__("rpc_cluster").__version__) == 1
    )


def test_strangers_cannot_grow_the_series(cluster):
    url = cluster.grading_proc.url()
    base = base_of(url)
    before = scrape(base)
    for name in ("Nope.one", "Nope.two", "Nope.three"):
        with pytest.raises(MethodNotFound):
            Client(url).call(name)
    urllib.request.urlopen(urllib.request.Request(url, data=b"{not json", method="POST"), timeout=5).read()
    after = scrape(base)
    assert (
        value(after, "rpc_requests_total", method="(unknown)", outcome="-32601")
        - value(before, "rpc_requests_total", method="(unknown)", outcome="-32601")
        == 3
    )
    assert (
        value(after, "rpc_requests_total", method="(none)", outcome="-32700")
        - value(before, "rpc_requests_total", method="(none)", outcome="-32700")
        == 1
    )
    assert not any("Nope" in dict(labels).get("method", "") for _, labels in after)


def test_the_registry_reports_services_by_status_and_heartbeats(cluster):
    base = base_of(cluster.registry)
    first = scrape(base)
    assert value(first, "registry_services", status="passing") >= 3
    assert ("registry_services", (("status", "critical"),)) in first
    wait_until(
        lambda: (
            value(scrape(base), "registry_heartbeats_total", outcome="passing")
            > value(first, "registry_heartbeats_total", outcome="passing")
        ),
        10,
        message="heartbeats counted",
    )
    assert value(scrape(base), "registry_check_round_duration_seconds_count") > 0


def test_the_log_service_counts_entries_and_bytes_and_shippers_report_their_queue(cluster):
    log_url = cluster.log_proc.url()
    base = base_of(log_url)
    before = scrape(base)
    Client(log_url).call("Log.write", message="metrics test line", service_name="test")
    after = scrape(base)
    assert value(after, "log_entries_written_total") - value(before, "log_entries_written_total") >= 1
    assert value(after, "log_bytes_written_total") - value(before, "log_bytes_written_total") > len("metrics test line")
    grading = scrape(base_of(cluster.grading_proc.url()))
    for name in ("log_shipper_queue_depth", "log_shipper_dropped_total", "log_shipper_delivered_total"):
        assert (name, ()) in grading
    wait_until(
        lambda: value(scrape(base_of(cluster.grading_proc.url())), "log_shipper_delivered_total") > 0,
        10,
        message="the grading service's shipper to deliver",
    )


def test_the_portal_has_metrics_too(cluster):
    samples = scrape(cluster.portal)
    assert (
        value(samples, "rpc_service_info", service="PortalService", version=__import__("rpc_cluster").__version__) == 1
    )


def test_metrics_need_the_token_like_rpc(tmp_path):
    with GradingService(db=str(tmp_path / "g.db"), registry=NOWHERE, token="s3cret") as service:
        base = base_of(service.url)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/metrics", timeout=5)
        assert refused.value.code == 401
        assert (
            "rpc_service_info",
            (("service", "GradingService"), ("version", __import__("rpc_cluster").__version__)),
        ) in scrape(base, "s3cret")
        with pytest.raises(urllib.error.HTTPError) as wrong_verb:
            urllib.request.urlopen(urllib.request.Request(f"{base}/metrics", data=b"", method="POST"), timeout=5)
        assert wrong_verb.value.code == 405 and json.loads(wrong_verb.value.read())["path"] == "/metrics"


def test_two_services_in_one_process_report_only_their_own(tmp_path):
    with (
        GradingService(db=str(tmp_path / "a.db"), registry=NOWHERE) as first,
        GradingService(db=str(tmp_path / "b.db"), registry=NOWHERE) as second,
    ):
        Client(first.url).Grades.get_student(1)
        assert (
            value(scrape(base_of(first.url)), "rpc_requests_total", method="Grades.get_student", outcome="result") == 1
        )
        assert (
            value(scrape(base_of(second.url)), "rpc_requests_total", method="Grades.get_student", outcome="result") == 0
        )


def test_grading_times_its_store_operations(tmp_path):
    with GradingService(db=str(tmp_path / "g.db"), registry=NOWHERE) as service:
        client = Client(service.url)
        client.Grades.add_grade(1, "Quiz 9", "Quiz", 77)
        client.Grades.get_students()
        samples = scrape(base_of(service.url))
    for operation in ("add_grade", "get_students"):
        assert value(samples, "grading_store_operation_duration_seconds_count", operation=operation) == 1
    assert value(samples, "grading_store_errors_total", operation="add_grade") == 0
