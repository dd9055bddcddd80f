"""The /cluster page's figures: rates and p99 from two scrapes of /metrics (pure functions, then a real service)."""

import pytest
from helpers.waiting import wait_until

from portal.cluster_stats import ClusterWatch, Scrape, metrics_fetcher, parse, quantile, rates
from rpc_cluster import Client, TlsFiles
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


@pytest.mark.parametrize("value", ["NaN", "+Inf", "-Inf", "1e999"])
def test_a_sample_that_is_not_a_finite_number_is_dropped(value):
    odd = f"""# TYPE odd_total counter
rpc_requests_total{{method="Grades.add_grade",outcome="result"}} {value}
rpc_requests_total{{method="Grades.add_grade",outcome="500"}} {value}
rpc_request_duration_seconds_bucket{{le="+Inf",method="Grades.add_grade"}} {value}
rpc_request_duration_seconds_bucket{{le="NaN",method="Grades.add_grade"}} 3.0
"""
    scrape = parse(TEXT + odd)
    assert (scrape.calls, scrape.errors) == (100.0, 10.0)
    assert scrape.buckets == ((0.001, 80.0), (0.01, 99.0), (float("inf"), 100.0))


def test_quantiles_interpolate_inside_a_bucket_like_prometheus():
    buckets = [(0.001, 80.0), (0.01, 99.0), (float("inf"), 100.0)]
    assert quantile(0.99, buckets) == pytest.approx(0.01)
    assert quantile(0.5, buckets) == pytest.approx(0.000625)  # 50 of the first 80, from 0 to 1 ms
    assert quantile(0.995, buckets) == 0.01  # in +Inf: the highest bound known
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
        try:
            watch.scrape_all()
            client = Client(service.url, token="t0ken")
            for _ in range(20):
                client.Grades.get_student(1)
            watch.scrape_all()
            figures = watch.rates(service.url)
        finally:
            watch.stop()  # its pool's threads
    assert figures is not None and figures.calls_per_second > 0 and figures.p99_seconds is not None
    unreachable = ClusterWatch(lambda: ["http://127.0.0.1:9/rpc"], metrics_fetcher(None))
    try:
        unreachable.scrape_all()
        assert unreachable.rates("http://127.0.0.1:9/rpc") is None
    finally:
        unreachable.stop()


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


# -- a slow or huge instance: a deadline and a size bound per scrape, and scrapes side by side -----------------

OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"


class FakeMetrics:
    """A ``/metrics`` server on 127.0.0.1:0 whose every answer is ``answer(conn, stop)``; counts the requests.

    A context manager: on exit ``stop`` is set (a trickle ends within its
    next wait), every connection is closed and every thread joined.
    """

    def __init__(self, answer):
        import socket
        import threading

        self._answer = answer
        self.stop = threading.Event()
        self.requests = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/rpc"
        self._threads = [threading.Thread(target=self._accept, daemon=True)]

    def __enter__(self):
        self._threads[0].start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        for thread in list(self._threads):
            thread.join(timeout=10)
        self._listener.close()
        assert not any(thread.is_alive() for thread in self._threads), "a fake /metrics thread did not end"

    def _accept(self):
        import threading

        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn):
        try:
            conn.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request and len(request) < 65536:
                data = conn.recv(4096)
                if not data:
                    return
                request += data
            with self._lock:
                self.requests += 1
            self._answer(conn, self.stop)
        except OSError:
            pass  # the scraper gave up on this answer and closed the connection
        finally:
            conn.close()


def normal(conn, stop):
    body = TEXT.encode()
    conn.sendall(OK_HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body)


def trickle(head_first):
    """An answer sent one byte every 1.5 s (from its status line, or once its headers are out) until the test ends."""

    def answer(conn, stop):
        head = OK_HEAD + b"Content-Length: 100000\r\n\r\n"
        if head_first:
            conn.sendall(head)
        for byte in b"#" * 200 if head_first else head + b"#" * 200:
            if stop.wait(1.5):
                return
            conn.sendall(bytes([byte]))

    return answer


def counting(fetch):
    """``fetch`` wrapped to record the most scrapes in flight at once (per URL, and in all), and the
    names of the threads that ran one (a pool names its threads apart; idents are reused)."""
    import collections
    import threading

    lock = threading.Lock()
    now, peak = collections.Counter(), collections.Counter()
    threads: set[str] = set()

    def wrapped(url):
        with lock:
            threads.add(threading.current_thread().name)
            now[url] += 1
            now["*"] += 1
            for key in (url, "*"):
                peak[key] = max(peak[key], now[key])
        try:
            return fetch(url)
        finally:
            with lock:
                now[url] -= 1
                now["*"] -= 1

    return wrapped, peak, threads


@pytest.mark.parametrize("head_first", [False, True], ids=["trickled-head", "trickled-body"])
def test_a_scrape_that_trickles_is_abandoned_at_its_deadline(head_first):
    import threading

    from rpc_cluster.core.errors import CallTimeout

    outcome = []
    with FakeMetrics(trickle(head_first)) as slow:

        def scrape():
            try:
                outcome.append(metrics_fetcher(None, timeout=2.0)(slow.url))
            except Exception as exc:
                outcome.append(exc)

        thread = threading.Thread(target=scrape, daemon=True)
        thread.start()
        # Each byte comes within 2 s of the one before: only a deadline for the whole scrape ends it.
        thread.join(timeout=15)
        assert not thread.is_alive(), "the scrape was still reading a trickle after 15 s"
    assert len(outcome) == 1 and isinstance(outcome[0], CallTimeout), outcome
    assert "longer than 2 s" in outcome[0].message


def test_a_slow_instance_delays_no_other_and_never_has_two_scrapes_in_flight():
    with FakeMetrics(trickle(head_first=True)) as slow, FakeMetrics(normal) as fast:
        fetch, peak, _ = counting(
            metrics_fetcher(None)
        )  # the 2 s default deadline: a byte per 1.5 s never trips a read
        watch = ClusterWatch(lambda: [slow.url, fast.url], fetch, interval=0.5)
        watch.start()
        try:
            # Scraped one after the other, the fast one would wait 2 s behind the slow one every round
            # (and for ever with urllib's per-read timeout): here it is scraped every half second.
            # Ten rounds at 0.5 s would take 5 s; a loaded 2-core machine is given three times that.
            wait_until(lambda: fast.requests >= 5, timeout=15, message="5 scrapes of the answering instance")
            wait_until(
                lambda: watch.status(slow.url).failed >= 2, timeout=10, message="the slow instance abandoned twice"
            )
        finally:
            watch.stop()
        slow_status, fast_status = watch.status(slow.url), watch.status(fast.url)
    assert "longer than 2 s" in slow_status.last_error and slow_status.scraped == 0
    assert fast_status.failed == 0 and fast_status.scraped >= 5 and fast_status.last_error is None
    assert watch.rates(fast.url) is not None and watch.rates(slow.url) is None
    # Ticks came every 0.5 s while each slow scrape ran 2 s: never a second one beside it.
    assert peak[slow.url] == 1 and slow.requests >= 2


def test_slow_instances_hold_at_most_the_pools_threads_and_answering_ones_go_first():
    import contextlib

    with contextlib.ExitStack() as stack:
        slow = [stack.enter_context(FakeMetrics(trickle(head_first=True))) for _ in range(5)]
        fast = stack.enter_context(FakeMetrics(normal))
        # Counted in the fetch itself: only this watch's scrapes, whatever other tests' pools still run.
        fetch, peak, threads = counting(metrics_fetcher(None, timeout=1.0))
        # Listed last, so the first round gives every thread to slow instances.
        watch = ClusterWatch(lambda: [s.url for s in slow] + [fast.url], fetch, interval=0.25, max_parallel=2)
        watch.start()
        try:
            wait_until(lambda: fast.requests >= 5, timeout=15, message="5 scrapes of the answering instance")
        finally:
            watch.stop()
    assert peak["*"] <= 2 and 1 <= len(threads) <= 2
    assert all(peak[s.url] <= 1 for s in slow)


@pytest.mark.parametrize("framing", ["content-length", "chunked", "until-close"])
def test_an_answer_over_the_size_bound_is_abandoned(framing):
    from portal.cluster_stats import MAX_SCRAPE_BYTES
    from rpc_cluster.core.errors import TransportError

    line = b"# padding\n" * 6554  # 64 KiB
    count = MAX_SCRAPE_BYTES // len(line) + 2

    def huge(conn, stop):
        if framing == "content-length":
            conn.sendall(OK_HEAD + b"Content-Length: %d\r\n\r\n" % (count * len(line)))
        elif framing == "chunked":
            conn.sendall(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
        else:
            conn.sendall(OK_HEAD + b"Connection: close\r\n\r\n")
        for _ in range(count):
            if stop.is_set():
                return
            conn.sendall(b"%x\r\n%s\r\n" % (len(line), line) if framing == "chunked" else line)
        if framing == "chunked":
            conn.sendall(b"0\r\n\r\n")

    with FakeMetrics(huge) as server, pytest.raises(TransportError, match="more than 4,194,304 bytes"):
        metrics_fetcher(None)(server.url)


def test_an_answer_at_the_size_bound_is_read_whole():
    body = TEXT.encode()
    with FakeMetrics(normal) as server:
        assert metrics_fetcher(None, max_bytes=len(body))(server.url) == TEXT
        with pytest.raises(Exception, match=f"more than {len(body) - 1:,} bytes"):
            metrics_fetcher(None, max_bytes=len(body) - 1)(server.url)


def test_an_https_instance_is_verified_against_the_ca(tmp_path, certificates):
    from rpc_cluster.core.errors import TransportError
    from rpc_cluster.net import tls

    with GradingService(
        db=str(tmp_path / "g.db"),
        registry="http://127.0.0.1:9/rpc",
        token="t0ken",
        tls=TlsFiles(cert=certificates.cert, key=certificates.key, ca=certificates.ca),
    ) as service:
        assert service.url.startswith("https://")
        text = metrics_fetcher("t0ken", lambda: tls.client_context(certificates.ca))(service.url)
        assert 'rpc_service_info{service="GradingService"' in text
        with pytest.raises(TransportError, match="does not trust"):
            metrics_fetcher("t0ken", lambda: tls.client_context(None))(service.url)
        with pytest.raises(TransportError, match="HTTP 401"):
            metrics_fetcher("wr0ng", lambda: tls.client_context(certificates.ca))(service.url)


def test_the_scraper_reads_answers_with_the_clients_parser():
    from portal import cluster_stats
    from rpc_cluster.client import transport

    # One HTTP answer parser in the project: the scraper adds only the Location a redirect names.
    assert issubclass(cluster_stats._Answer, transport.Answer)
