"""The /cluster page's figures: rates and p99 from two scrapes of /metrics (pure functions, then a real service)."""

import pytest

from portal.cluster_stats import ClusterWatch, Scrape, metrics_fetcher, parse, quantile, rates
from rpc_cluster import Client
from rpc_cluster.grading.service import GradingService

TEXT = """# TYPE rpc_requests_total counter
rpc_requests_total{method="Grades.get_student",outcome="result"} 90.0
rpc_requests_total{method="Grades.get_student",outcome="404"} 10.0
rpc_requests_total{method="Service.heartbeat",outcome="result"} 500.0
# TYPE rpc_request_duration_seconds histogram
rpc_request_duration_seconds_bucket{le="0.001",method="Grades.get_student"} 80.0
rpc_request_duration_seconds_bucket{le="0.01",method="Grades.get_student"} 99.0
rpc_request_duration_seconds_bucket{le="+Inf",method="Grades.get_student"} 100.0
rpc_request_duration_seconds_count{method="Grades.get_student"} 100.0
rpc_request_duration_seconds_sum{method="Grades.get_student"} 0.2
rpc_request_duration_seconds_bucket{le="0.001",method="Service.heartbeat"} 500.0
rpc_request_duration_seconds_bucket{le="0.01",method="Service.heartbeat"} 500.0
rpc_request_duration_seconds_bucket{le="+Inf",method="Service.heartbeat"} 500.0
"""


def test_a_scrape_counts_calls_and_errors_without_heartbeats():
    scrape = parse(TEXT)
    assert (scrape.calls, scrape.errors) == (100.0, 10.0)
    assert scrape.buckets == ((0.001, 80.0), (0.01, 99.0), (float("inf"), 100.0))


def test_quantiles_interpolate_inside_a_bucket_like_prometheus():
    buckets = [(0.001, 80.0), (0.01, 99.0), (float("inf"), 100.0)]
    assert quantile(0.99, buckets) == pytest.approx(0.01)
    assert quantile(0.5, buckets) == pytest.approx(0.000625)   # 50 of the first 80, from 0 to 1 ms
    assert quantile(0.995, buckets) == 0.01                     # in +Inf: the highest bound known
    assert quantile(0.99, [(0.001, 0.0), (float("inf"), 0.0)]) is None


def test_rates_come_from_the_growth_between_the_oldest_and_newest_scrape():
    first = Scrape(100.0, 1000.0, 10.0, ((0.001, 900.0), (0.01, 1000.0), (float("inf"), 1000.0)))
    last = Scrape(160.0, 1600.0, 70.0, ((0.001, 1000.0), (0.01, 1500.0), (float("inf"), 1600.0)))
    figures = rates([first, last])
    assert figures.calls_per_second == pytest.approx(10.0) and figures.errors_per_second == pytest.approx(1.0)
    # 600 calls in the minute: 100 under 1 ms, 500 under 10 ms, 100 above: p99 is above the highest bound.
    assert figures.p99_seconds == pytest.approx(0.01) and figures.span == 60.0
    assert rates([first]) is None


def test_a_restarted_instance_starts_a_new_window_and_old_scrapes_age_out():
    watch = ClusterWatch(lambda: [], lambda url: "", window=60)
    watch.add("u", Scrape(0.0, 500.0, 0.0, ()))
    watch.add("u", Scrape(10.0, 600.0, 0.0, ()))
    watch.add("u", Scrape(20.0, 5.0, 0.0, ()))  # counters went down: a new process
    assert watch.rates("u") is None
    for second in range(30, 200, 10):
        watch.add("u", Scrape(float(second), float(second), 0.0, ()))
    assert watch.rates("u").span <= 70 and watch.rates("u").calls_per_second == pytest.approx(1.0)


def test_the_watch_scrapes_a_real_service_with_its_token(tmp_path):
    with GradingService(db=str(tmp_path / "g.db"), registry="http://127.0.0.1:9/rpc", token="t0ken") as service:
        watch = ClusterWatch(lambda: [service.url], metrics_fetcher("t0ken"))
        watch.scrape_all()
        client = Client(service.url, token="t0ken")
        for _ in range(20):
            client.Grades.get_student(1)
        watch.scrape_all()
        figures = watch.rates(service.url)
    assert figures is not None and figures.calls_per_second > 0 and figures.p99_seconds is not None
    unreachable = ClusterWatch(lambda: ["http://127.0.0.1:9/rpc"], metrics_fetcher(None))
    unreachable.scrape_all()
    assert unreachable.rates("http://127.0.0.1:9/rpc") is None


def test_a_scrape_never_follows_a_redirect_with_the_token():
    import http.server
    import threading

    heard = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            heard.append((self.server.server_address[1], self.headers.get("Authorization")))
            if self.server is redirecting:
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{elsewhere.server_address[1]}/metrics")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *args):
            pass

    redirecting = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    elsewhere = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    for server in (redirecting, elsewhere):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(Exception, match="redirect"):
            metrics_fetcher("s3cret")(f"http://127.0.0.1:{redirecting.server_address[1]}/rpc")
        assert [port for port, _ in heard] == [redirecting.server_address[1]]
    finally:
        for server in (redirecting, elsewhere):
            server.shutdown()
            server.server_close()
