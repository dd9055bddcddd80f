"""Calls per second and p99 latency of every instance, over the last minute, from its ``/metrics``.

The portal scrapes each registered instance every few seconds
(``ClusterWatch``) and keeps each instance's scrapes of the last
``WINDOW`` seconds. Instances are scraped side by side, each on its own
schedule, and a scrape has a deadline and a size bound as a whole: an
instance that answers slowly, or too much, loses its own figures and delays
no other's. A rate is the growth of ``rpc_requests_total`` between
the oldest and the newest scrape in the window; p99 is read from the growth
of the ``rpc_request_duration_seconds`` histogram over the same span,
interpolated inside its bucket as Prometheus's ``histogram_quantile`` does.
A restarted instance (counters that went down) starts a new window.
"""

from __future__ import annotations

import collections
import concurrent.futures
import errno
import math
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httptools
from prometheus_client.parser import text_string_to_metric_families

from rpc_cluster.client import transport
from rpc_cluster.core.errors import CallTimeout, RpcError, TransportError
from rpc_cluster.net import tls, urls

#: Seconds of scrapes kept per instance.
WINDOW = 60.0
#: Seconds between scrapes of every instance.
SCRAPE_INTERVAL = 5.0
#: Seconds a whole scrape may take: connecting, TLS, the request and every byte of the answer.
SCRAPE_DEADLINE = 2.0
#: The largest ``/metrics`` answer read; a larger one is abandoned, with no figures. A grading
#: service with every method called and failed in several ways answers about 37 KB (its series
#: are bounded: an unknown method is counted as ``(unknown)``), so this is a hundred times what
#: any instance of ours says, while a stranger registered as an instance can make the portal hold
#: at most MAX_PARALLEL_SCRAPES times this, and parsing it costs under a second of one core.
MAX_SCRAPE_BYTES = 4 << 20
#: Scrapes running at once at most: a thread each. Each instance has at most one in flight,
#: so an instance that is slow every time holds one thread, never more.
MAX_PARALLEL_SCRAPES = 8
# Bytes of status line and headers allowed beside the body: a chunked or trickled answer
# cannot make the portal read more than this above MAX_SCRAPE_BYTES.
_HEAD_BYTES = 64 << 10
# Characters of a failed scrape's reason kept for the page.
_MAX_REASON = 200
#: Heartbeats are counted as calls too; on the page they would hide what users do.
NOT_SHOWN = frozenset({"Service.heartbeat", "Service.update"})


@dataclass(frozen=True)
class Scrape:
    """What one scrape of one instance said: totals since it started."""

    at: float
    calls: float
    errors: float
    #: Cumulative counts of the latency histogram: ((upper bound, count), ...), +Inf last.
    buckets: tuple[tuple[float, float], ...]


def parse(text: str) -> Scrape:
    """The totals of one ``/metrics`` answer, heartbeats and pushes left out; a portal's pages count as calls."""
    calls = errors = 0.0
    buckets: dict[float, float] = collections.defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            method = sample.labels.get("method")
            # NaN or an infinity (1e999) says nothing about calls: the sample is dropped, never shown as "nan".
            if method in NOT_SHOWN or not math.isfinite(sample.value):
                continue
            if sample.name == "rpc_requests_total":
                calls += sample.value
                if sample.labels.get("outcome") != "result":
                    errors += sample.value
            elif sample.name == "portal_pages_total":  # the portal's pages count as its calls
                calls += sample.value
                if sample.labels.get("status", "").startswith("5"):
                    errors += sample.value
            elif sample.name in ("rpc_request_duration_seconds_bucket", "portal_page_duration_seconds_bucket"):
                bound = float(sample.labels["le"])
                if not math.isnan(bound):
                    buckets[bound] += sample.value
    return Scrape(time.monotonic(), calls, errors, tuple(sorted(buckets.items())))


def quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """The ``q`` quantile of cumulative ``(upper bound, count)`` buckets; None without observations."""
    buckets = list(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # above the highest bound: that bound is all that is known
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


@dataclass(frozen=True)
class Rates:
    """One instance's last minute."""

    calls_per_second: float
    errors_per_second: float
    p99_seconds: float | None
    #: Seconds the figures span (less than WINDOW just after start).
    span: float


def rates(scrapes: list[Scrape]) -> Rates | None:
    """The rates between the oldest and newest scrape; None with fewer than two."""
    if len(scrapes) < 2:
        return None
    first, last = scrapes[0], scrapes[-1]
    span = last.at - first.at
    if span <= 0:
        return None
    before = dict(first.buckets)
    grown = [(bound, count - before.get(bound, 0.0)) for bound, count in last.buckets]
    return Rates((last.calls - first.calls) / span, (last.errors - first.errors) / span, quantile(0.99, grown), span)


@dataclass(frozen=True)
class ScrapeStatus:
    """How scraping one instance has gone since the portal first listed it."""

    #: Scrapes that gave figures.
    scraped: int
    #: Scrapes that failed: not answering, too slow (past the deadline), too large, not ours.
    failed: int
    #: Why the newest scrape failed; None when it gave figures.
    last_error: str | None
    #: Whether a scrape of it is running now.
    in_flight: bool


class _Instance:
    """One instance's scrape bookkeeping, under the watch's lock."""

    __slots__ = ("busy", "failed", "last_error", "scraped", "started")

    def __init__(self) -> None:
        self.busy = False
        self.started = 0.0
        self.scraped = 0
        self.failed = 0
        self.last_error: str | None = None


class ClusterWatch:
    """Scrapes every instance the registry lists, side by side, and keeps the last minute.

    ``instances()`` gives the URLs to scrape (their ``/rpc`` URLs); ``fetch(url)``
    answers one scrape's text (it carries the token, verifies TLS and keeps to
    a deadline: ``metrics_fetcher``). Every ``interval`` seconds a scheduler
    thread hands each listed instance that has no scrape running to a pool of
    ``max_parallel`` threads. An instance whose scrape is still running is
    skipped this time, so a slow one never has two scrapes in flight and the
    others are scraped at the interval whatever it does. No more are handed
    over than there are free threads, and the instances whose last scrape
    failed go last: when slow instances hold every thread, each one freed at
    a deadline goes to an answering instance first, and nothing queues.
    """

    def __init__(
        self,
        instances: Callable[[], list[str]],
        fetch: Callable[[str], str],
        *,
        interval: float = SCRAPE_INTERVAL,
        window: float = WINDOW,
        max_parallel: int = MAX_PARALLEL_SCRAPES,
    ):
        self._instances = instances
        self._fetch = fetch
        self.interval = interval
        self.window = window
        self.max_parallel = max_parallel
        self._scrapes: dict[str, collections.deque[Scrape]] = {}
        self._states: dict[str, _Instance] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="portal-cluster-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop scheduling; a scrape still running ends by its deadline and is not waited for."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._start_scrapes()
            self._stop.wait(self.interval)

    def scrape_all(self) -> None:
        """One scrape of every listed instance that has none running (as threads allow), waited for."""
        concurrent.futures.wait(self._start_scrapes())

    def _start_scrapes(self) -> list[concurrent.futures.Future[None]]:
        """Hand the listed instances with no scrape running to free threads; the futures of those handed.

        Also forgets the instances no longer listed.
        """
        try:
            listed = list(dict.fromkeys(self._instances()))
        except Exception:
            return []  # the registry is not answering: keep what we have
        now = time.monotonic()
        with self._lock:
            self._forget(set(listed))
            if self._stop.is_set():
                return []
            states = {url: self._states.setdefault(url, _Instance()) for url in listed}
            free = self.max_parallel - sum(state.busy for state in self._states.values())
            waiting = [url for url in listed if not states[url].busy]
            # Answering instances first, then the longest unscraped: see the class's docstring.
            waiting.sort(key=lambda url: (states[url].last_error is not None, states[url].started))
            due = waiting[: max(free, 0)]
            for url in due:
                states[url].busy, states[url].started = True, now
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    self.max_parallel, thread_name_prefix="portal-cluster-scrape"
                )
            # Under the lock: stop() cannot shut the pool down between the choice and the hand-over.
            return [self._pool.submit(self._scrape, url) for url in due]

    def _forget(self, listed: set[str]) -> None:
        """Drop the instances no longer listed (under the lock); one with a scrape running is kept until it ends."""
        for gone in set(self._scrapes) - listed:
            del self._scrapes[gone]
        for gone in [url for url, state in self._states.items() if url not in listed and not state.busy]:
            del self._states[gone]

    def _scrape(self, url: str) -> None:
        """Scrape one instance and note how it went; runs on a pool thread."""
        error: str | None = None
        try:
            self.add(url, parse(self._fetch(url)))
        except Exception as exc:  # not answering, too slow, too large, or not ours: no figures this time
            error = _reason(exc)
        with self._lock:
            state = self._states.get(url)
            if state is None:
                return
            state.busy = False
            state.last_error = error
            if error is None:
                state.scraped += 1
            else:
                state.failed += 1

    def add(self, url: str, scrape: Scrape) -> None:
        with self._lock:
            kept = self._scrapes.setdefault(url, collections.deque())
            if kept and scrape.calls < kept[-1].calls:
                kept.clear()  # restarted: its counters began again
            kept.append(scrape)
            while len(kept) > 2 and scrape.at - kept[1].at >= self.window:
                kept.popleft()

    def rates(self, url: str) -> Rates | None:
        with self._lock:
            kept = list(self._scrapes.get(url, ()))
        return rates(kept)

    def status(self, url: str) -> ScrapeStatus | None:
        """How scraping ``url`` has gone; None before it was first listed."""
        with self._lock:
            state = self._states.get(url)
            if state is None:
                return None
            return ScrapeStatus(state.scraped, state.failed, state.last_error, state.busy)


def _reason(exc: BaseException) -> str:
    """One short line for the page: why a scrape gave no figures."""
    text = exc.message if isinstance(exc, RpcError) else str(exc) or type(exc).__name__
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def metrics_fetcher(
    token: str | None,
    ssl_context: Callable[[], ssl.SSLContext] | None = None,
    timeout: float = SCRAPE_DEADLINE,
    max_bytes: int = MAX_SCRAPE_BYTES,
) -> Callable[[str], str]:
    """``fetch(rpc_url)``: the text of that instance's ``/metrics``, with the token.

    ``ssl_context()`` gives the context that verifies ``https://`` instances
    (the service's transport's, made on first use; None: ``$RPC_CLUSTER_TLS_CA``,
    else the system's CAs). ``timeout`` is the deadline of the whole scrape,
    not of each read. ``fetch`` raises CallTimeout past the deadline and
    TransportError for anything else that gives no text: a refused or broken
    connection, an answer over ``max_bytes``, a status other than 200. A
    redirect is never followed: it would carry the token wherever it points.

    The client's ``Transport`` is not used: it only POSTs, and its timeout
    bounds each step (``socket.settimeout``), so an instance trickling a byte
    at a time would hold a scrape for ever, as urllib's did. Here every wait
    is a ``poll`` for the time left until the deadline.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # A line break would forge headers; each scrape fails with this, as every call with the token does.
    bad_token = bool(token and (not token.isascii() or any(c in token for c in "\r\n\0")))
    contexts: list[ssl.SSLContext] = []

    def context() -> ssl.SSLContext:
        if not contexts:
            contexts.append(ssl_context() if ssl_context else tls.client_context())
        return contexts[0]

    def fetch(url: str) -> str:
        if bad_token:
            raise TransportError("metrics: the cluster token must be ASCII with no line break or NUL", sent=False)
        return _get(url.rsplit("/rpc", 1)[0] + "/metrics", headers, timeout, max_bytes, context)

    return fetch


class _Answer(transport.Answer):
    """The client's answer parser (status, body, framing, the size bound), and the ``Location`` a
    redirect names, for the reason the page gives."""

    __slots__ = ("location",)

    def __init__(self, limit: int):
        self.location = ""
        super().__init__(limit)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.location = ""  # after a 1xx

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        if name.lower() == b"location":
            self.location = value.decode("latin-1")[:_MAX_REASON]


# Not the project's Transport: it only POSTs and bounds each read, where a scrape needs one deadline for all of it.
def _get(url: str, headers: dict[str, str], timeout: float, limit: int, context: Callable[[], ssl.SSLContext]) -> str:
    """The body of a 200 answer to ``GET url``, all of it within ``timeout`` seconds, as text."""
    try:
        target = urls.parse(url)
    except urls.BadUrl as exc:
        raise TransportError(f"metrics: {exc}", sent=False) from None
    secure, host, port, path = target.tls, target.host, target.port, target.path
    deadline = time.monotonic() + timeout
    sock: socket.socket | None = None
    try:
        authority = target.host_header
        request = "".join(
            [
                f"GET {path} HTTP/1.1\r\nHost: {authority}\r\n",
                *[f"{name}: {value}\r\n" for name, value in headers.items()],
                "Accept: text/plain\r\nConnection: close\r\n\r\n",
            ]
        ).encode("ascii")
        sock = _connect(host, port, deadline)
        if secure:
            sock = context().wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
            _handshake(sock, deadline)
        _send(sock, request, deadline)
        answer = _receive(sock, deadline, limit)
    except TimeoutError:
        raise CallTimeout(f"metrics: {url} took longer than {timeout:g} s", sent=True) from None
    except ssl.SSLCertVerificationError as exc:
        raise TransportError(
            f"metrics: {url} has a certificate the portal does not trust ({exc.verify_message})", sent=False
        ) from None
    except (OSError, UnicodeError, httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
        raise TransportError(f"metrics: {url}: {str(exc) or type(exc).__name__}") from None
    finally:
        if sock is not None:
            sock.close()
    if answer.too_large:
        raise TransportError(f"metrics: {url} answered more than {limit:,} bytes; abandoned")
    if 300 <= answer.status < 400:
        raise TransportError(
            f"metrics: {url} answered {answer.status}, a redirect to {answer.location or 'nowhere'} not followed"
        )
    if answer.status != 200:
        raise TransportError(f"metrics: {url} answered HTTP {answer.status}")
    return b"".join(answer.parts).decode("utf-8", "replace")


def _wait(sock: socket.socket, events: int, deadline: float) -> None:
    """Until ``sock`` is ready for ``events``; TimeoutError once the deadline has passed."""
    poller = select.poll()
    poller.register(sock, events)
    left = deadline - time.monotonic()
    if left <= 0 or not poller.poll(left * 1000):
        raise TimeoutError("deadline passed")


def _connect(host: str, port: int, deadline: float) -> socket.socket:
    """A non-blocking socket connected to ``host:port``, its addresses tried in turn until the deadline.

    Resolving the name is not bounded by the deadline (``getaddrinfo`` cannot
    be interrupted); instances register IP addresses or names in /etc/hosts.
    """
    error: OSError = OSError(f"{host} has no address")
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            code = sock.connect_ex(address)
            if code == errno.EINPROGRESS:
                _wait(sock, select.POLLOUT, deadline)
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, os.strerror(code))
            return sock
        except TimeoutError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            error = exc
    raise error


def _handshake(sock: ssl.SSLSocket, deadline: float) -> None:
    while True:
        try:
            sock.do_handshake()
            return
        except ssl.SSLWantReadError:
            _wait(sock, select.POLLIN, deadline)
        except ssl.SSLWantWriteError:
            _wait(sock, select.POLLOUT, deadline)


def _send(sock: socket.socket, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except (BlockingIOError, ssl.SSLWantWriteError):
            _wait(sock, select.POLLOUT, deadline)
        except ssl.SSLWantReadError:
            _wait(sock, select.POLLIN, deadline)


def _receive(sock: socket.socket, deadline: float, limit: int) -> _Answer:
    """The answer read until it is complete or too large; TimeoutError at the deadline."""
    answer = _Answer(limit)
    read = 0
    while not answer.complete and not answer.too_large:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError):
            _wait(sock, select.POLLIN, deadline)
            continue
        except ssl.SSLWantWriteError:
            _wait(sock, select.POLLOUT, deadline)
            continue
        if not data:
            if answer.headers_done and not answer.framed:
                break  # an answer framed by the end of the connection: it is whole
            raise ConnectionError("the connection closed before the answer was complete")
        read += len(data)
        answer.parser.feed_data(data)
        if read > limit + _HEAD_BYTES:
            answer.too_large = True  # headers without end, or chunk framing, count too
    return answer
