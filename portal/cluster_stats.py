"""Calls per second and p99 latency of every instance, over the last minute, from its ``/metrics``.

The portal scrapes each registered instance every few seconds
(``ClusterWatch``) and keeps each instance's scrapes of the last
``WINDOW`` seconds. A rate is the growth of ``rpc_requests_total`` between
the oldest and the newest scrape in the window; p99 is read from the growth
of the ``rpc_request_duration_seconds`` histogram over the same span,
interpolated inside its bucket as Prometheus's ``histogram_quantile`` does.
A restarted instance (counters that went down) starts a new window.
"""

from __future__ import annotations

import collections
import math
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from prometheus_client.parser import text_string_to_metric_families

#: Seconds of scrapes kept per instance.
WINDOW = 60.0
#: Seconds between scrapes of every instance.
SCRAPE_INTERVAL = 5.0
#: Bytes of one scrape read at most (a service has a few kilobytes of series).
MAX_SCRAPE_BYTES = 4 << 20
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
            if method in NOT_SHOWN:
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
                buckets[float(sample.labels["le"])] += sample.value
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
    return Rates((last.calls - first.calls) / span, (last.errors - first.errors) / span,
                 quantile(0.99, grown), span)


class ClusterWatch:
    """Scrapes every instance the registry lists, on a thread of its own, and keeps the last minute.

    ``instances()`` gives the URLs to scrape (their ``/rpc`` URLs); ``fetch(url)``
    answers one scrape's text (it carries the token and verifies TLS).
    """

    def __init__(self, instances: Callable[[], list[str]], fetch: Callable[[str], str], *,
                 interval: float = SCRAPE_INTERVAL, window: float = WINDOW):
        self._instances = instances
        self._fetch = fetch
        self.interval = interval
        self.window = window
        self._scrapes: dict[str, collections.deque[Scrape]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="portal-cluster-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.scrape_all()
            self._stop.wait(self.interval)

    def scrape_all(self) -> None:
        """One scrape of every instance listed now; forgets the ones no longer listed."""
        try:
            urls = self._instances()
        except Exception:
            return  # the registry is not answering: keep what we have
        for url in urls:
            try:
                scrape = parse(self._fetch(url))
            except Exception:
                continue  # not answering, or not ours: no figures for it this time
            self.add(url, scrape)
        with self._lock:
            for gone in set(self._scrapes) - set(urls):
                del self._scrapes[gone]

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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A scrape never follows a redirect: urllib would send the cluster token on to wherever it points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102 (urllib's signature)
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} not followed", headers, fp)


def metrics_fetcher(token: str | None, ssl_context: Callable[[], Any] | None = None,
                    timeout: float = 2.0) -> Callable[[str], str]:
    """``fetch(rpc_url)``: the text of that instance's ``/metrics``, with the token.

    ``ssl_context()`` gives the context that verifies ``https://`` instances
    (the service's transport's, made on first use; None: the system's CAs).
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # No proxies from the environment: the instances are reached directly, as every RPC is.
    openers: dict[bool, urllib.request.OpenerDirector] = {}

    def opener(secure: bool) -> urllib.request.OpenerDirector:
        if secure not in openers:
            handlers = [urllib.request.ProxyHandler({}), _NoRedirects()]
            if secure:
                handlers.append(urllib.request.HTTPSHandler(context=ssl_context() if ssl_context else None))
            openers[secure] = urllib.request.build_opener(*handlers)
        return openers[secure]

    def fetch(url: str) -> str:
        request = urllib.request.Request(url.rsplit("/rpc", 1)[0] + "/metrics", headers=headers)
        with opener(url.startswith("https://")).open(request, timeout=timeout) as answer:
            return answer.read(MAX_SCRAPE_BYTES).decode("utf-8", "replace")

    return fetch
