"""The live /cluster page: each service's instances, calls/s and p99 from /metrics, and a filtered log."""

import contextlib
import re
import subprocess
import time

import pytest
from helpers.signed_in import make_user, portal_client
from helpers.waiting import wait_until

from portal.app import make_app
from portal.cluster_stats import ClusterWatch, metrics_fetcher
from rpc_cluster import Client, RegistryClient
from rpc_cluster.grading.service import GradingService
from rpc_cluster.logs.service import LogService
from rpc_cluster.registry.service import RegistryService

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def live(tmp_path):
    """Registry, log and grading in-process, and a portal app over them whose watch we drive by hand."""
    with (
        RegistryService(port=0, heartbeat_interval=0.3) as registry,
        LogService(port=0, log_file=str(tmp_path / "d.log"), registry=registry.url) as logs,
        GradingService(port=0, db=str(tmp_path / "g.db"), registry=registry.url) as grading,
    ):
        lookup = RegistryClient(registry.url)
        wait_until(lambda: len(lookup.Registry.lookup("GradingService")) == 1, 10, message="grading registered")
        watch = ClusterWatch(
            lambda: [row["service_url"] for row in lookup.Registry.services()] + [registry.url], metrics_fetcher(None)
        )
        app = make_app(Client(grading.url), registry=lookup, logs=Client(logs.url), watch=watch)
        yield portal_client(app, make_user(Client(grading.url))), watch, Client(grading.url), Client(logs.url)


def test_each_service_shows_its_instances_and_its_last_minute(live):
    portal, watch, grading, _ = live
    page = portal.get("/cluster")
    assert page.status == 200 and "GradingService" in page.text and "Registry" in page.text
    watch.scrape_all()
    for _ in range(30):
        grading.Grades.get_student(1)
    time.sleep(0.05)
    watch.scrape_all()
    text = portal.get("/cluster").text
    row = re.search(
        r'<th scope="row"><a [^>]*>GradingService</a></th>\s*<td>(.*?)</td>\s*'
        r'<td class="num">([^<]*)</td>\s*<td class="num">([^<]*)</td>\s*<td class="num">([^<]*)</td>',
        text,
        re.S,
    )
    assert row, "no GradingService row"
    assert "1 of 1" in row.group(1)
    assert float(row.group(2)) > 0 and row.group(4).endswith(" ms")


def test_the_log_is_filtered_by_service_level_and_trace_and_a_trace_shows_its_path(live):
    portal, _, _, logs = live
    logs.call("Log.write", message="first <b>step</b>", service_name="Alpha", level="INFO", trace_id=TRACE)
    logs.call("Log.write", message="second step", service_name="Beta", level="ERROR", trace_id=TRACE)
    logs.call("Log.write", message="unrelated", service_name="Beta", level="INFO")
    path = portal.get(f"/cluster?trace={TRACE}")
    assert path.status == 200 and "The whole path of trace" in path.text
    body = path.text[path.text.index('id="live-log"') :]
    assert body.index("first &lt;b&gt;step&lt;/b&gt;") < body.index("second step")  # oldest first
    assert "unrelated" not in body
    newest = portal.get("/cluster").text
    assert f'href="/cluster?trace={TRACE}#log"' in newest
    errors_only = portal.get("/cluster?level=ERROR&service=Beta").text
    log_part = errors_only[errors_only.index('id="live-log"') :]
    assert "second step" in log_part and "unrelated" not in log_part and "first" not in log_part


@pytest.mark.parametrize(
    "query, field", [("level=LOUD", "Level"), ("trace=%3Cscript%3E", "Trace id"), ("service=" + "x" * 101, "Service")]
)
def test_a_bad_filter_is_a_400_naming_it(live, query, field):
    portal = live[0]
    page = portal.get(f"/cluster?{query}")
    assert page.status == 400 and f'<p class="error">{field} must' in page.text.replace(' id="service-error"', "")
    assert "<script>" not in page.text


def test_the_page_and_its_errors_pass_the_nu_html_checker(live, tmp_path):
    from test_portal_html import checker

    portal, watch, grading, logs = live
    logs.call("Log.write", message="a line", service_name="Alpha", trace_id=TRACE)
    watch.scrape_all()
    grading.Grades.get_student(1)
    watch.scrape_all()
    pages = {
        "cluster": portal.get("/cluster"),
        "trace": portal.get(f"/cluster?trace={TRACE}"),
        "bad": portal.get("/cluster?level=LOUD&trace=%3C"),
    }
    for name, page in pages.items():
        (tmp_path / f"{name}.html").write_text(page.text)
    result = subprocess.run(
        [*checker(), "--errors-only", *[str(tmp_path / f"{n}.html") for n in pages]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pages_are_counted_by_route_and_status_on_the_portals_metrics(tmp_path):
    from test_metrics import scrape, value

    with GradingService(port=0, db=str(tmp_path / "g.db"), registry="http://127.0.0.1:9/rpc") as grading:
        from portal.service import PortalService

        with PortalService(port=0, registry="http://127.0.0.1:9/rpc") as portal:
            base = portal.url.rsplit("/rpc", 1)[0]
            import urllib.error
            import urllib.request

            # Not signed in: each page sends the browser to /login (a page too), which it follows.
            for path in ("/students/abc", "/students/abc", "/cluster"):
                with contextlib.suppress(urllib.error.HTTPError):
                    urllib.request.urlopen(base + path, timeout=10).read()
            samples = scrape(base)
    assert value(samples, "portal_pages_total", route="/students/<student_id>", status="303") == 2
    assert value(samples, "portal_pages_total", route="/cluster", status="303") == 1
    assert value(samples, "portal_pages_total", route="/login", status="200") == 3
    assert value(samples, "portal_page_duration_seconds_count", route="/cluster") == 1
    del grading


def test_a_page_joins_a_w3c_trace_it_is_given(live):
    portal = live[0]
    page = portal.request("GET", "/students", headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
    assert f"trace: <code>{TRACE}</code>" in page.text
    fresh = portal.get("/students")
    assert TRACE not in fresh.text and re.search(r"trace: <code>[0-9a-f]{32}</code>", fresh.text)


def test_an_instance_whose_scrape_failed_says_why_and_the_others_keep_their_figures(live, tmp_path):
    from test_cluster_stats import FakeMetrics, trickle
    from test_portal_html import checker

    _, _, grading, logs = live

    class Registry:
        def __init__(self, rows):
            self.rows = rows

        def call(self, method, **params):
            assert method == "Registry.services"
            return self.rows

    with FakeMetrics(trickle(head_first=True)) as slow:
        rows = [
            {"service_name": name, "service_url": url, "status": "passing", "last_checked": None, "failures": 0}
            for name, url in (("GradingService", grading.url), ("SlowService", slow.url))
        ]
        watch = ClusterWatch(lambda: [row["service_url"] for row in rows], metrics_fetcher(None, timeout=1.0))
        portal = portal_client(make_app(grading, registry=Registry(rows), logs=logs, watch=watch), make_user(grading))
        try:
            watch.scrape_all()
            grading.Grades.get_student(1)
            watch.scrape_all()
            page = portal.get("/cluster")
        finally:
            watch.stop()
    assert page.status == 200
    instances = {
        match.group(1): match.group(2)
        for match in re.finditer(r'<tr class="instance">\s*<td><code>([^<]*)</code></td>(.*?)</tr>', page.text, re.S)
    }
    assert set(instances) == {grading.url, slow.url}
    assert re.search(r"Metrics not read: metrics: \S+ took longer than 1 s", instances[slow.url])
    assert "Metrics not read" not in instances[grading.url]
    assert re.search(r'<td class="num">\d+\.\d</td>', instances[grading.url])  # its calls/s: figures, not a dash
    (tmp_path / "cluster.html").write_text(page.text)
    result = subprocess.run(
        [*checker(), "--errors-only", str(tmp_path / "cluster.html")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_trace_is_shown_in_the_order_the_log_service_gives_it(live):
    """The log service orders a trace (by timestamp, ties in arrival order); the page must not reorder it."""
    grading = live[2]
    tied = "2024-05-01T10:00:00.000000+00:00"
    entries = [
        {"timestamp": tied, "level": "INFO", "service_name": name, "trace_id": TRACE, "message": message}
        for name, message in (("Zulu", "arrived first"), ("Alpha", "arrived second"), ("Mike", "arrived third"))
    ]
    asked = []

    class Logs:
        def call(self, method, **params):
            asked.append((method, params))
            return [dict(entry) for entry in entries]

    portal = portal_client(make_app(grading, logs=Logs()), make_user(grading))
    page = portal.get(f"/cluster?trace={TRACE}")
    assert page.status == 200
    assert asked == [("Log.tail", {"limit": 500, "service_name": None, "level": None, "trace_id": TRACE})]
    body = page.text[page.text.index('id="live-log"') :]
    positions = [body.index(entry["message"]) for entry in entries]
    assert positions == sorted(positions)
