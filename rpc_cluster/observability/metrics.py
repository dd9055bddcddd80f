"""Prometheus metrics of one service, served on ``GET /metrics`` (with the token, like ``/rpc``).

Each service has a ``CollectorRegistry`` of its own, not prometheus_client's
process-wide default, so several services in one process (the tests, the
benchmarks) each report only their own. Every service counts its calls by
method and outcome (``result``, or the error code) and times them per method;
parts and services add their own series with ``counter``, ``histogram``, and
``gauge`` and ``counted`` for values they keep themselves, read when scraped:

    metrics.counter("registry_heartbeats", "Heartbeats by outcome", ("outcome",))
    metrics.gauge("log_shipper_queue_depth", "Entries waiting to be shipped", lambda: len(queue))

A method name that is not one of the service's own is counted as
``(unknown)`` (``dispatch.UNKNOWN_METHOD``): a stranger cannot grow the
series without bound.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from ..version import __version__

#: The ``Content-Type`` of ``exposition()``.
CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Seconds: from a cached read (well under 1 ms) to a call that waits on a database or a timeout.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Reading = Callable[[], float | Mapping[tuple[str, ...], float]]


class _ReadWhenScraped:
    """A gauge or counter whose value ``read()`` gives at each scrape: a number, or {label values: number}."""

    def __init__(self, family: type, name: str, documentation: str, read: Reading, labels: tuple[str, ...]):
        self.family, self.name, self.documentation, self.read, self.labels = family, name, documentation, read, labels

    def describe(self) -> Iterable[Any]:
        yield self.family(self.name, self.documentation, labels=self.labels or None)

    def collect(self) -> Iterable[Any]:
        value = self.read()
        if not isinstance(value, Mapping):
            yield self.family(self.name, self.documentation, value=float(value))
            return
        family = self.family(self.name, self.documentation, labels=self.labels)
        for label_values, number in value.items():
            family.add_metric(list(label_values), float(number))
        yield family


class _Calls:
    """Every call's count by (method, outcome) and its time by method, kept under one lock.

    Kept as plain numbers and turned into Prometheus families when scraped:
    one lock and a bisect a call, against a few microseconds for a
    prometheus_client Counter and Histogram (both lock per update).
    """

    def __init__(self, buckets: tuple[float, ...]):
        self.buckets = buckets
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}
        # method -> [count in each bucket (the last: above every bound)..., sum of seconds]
        self._times: dict[str, list[float]] = {}

    def observe(self, method: str, outcome: str, seconds: float) -> None:
        slot = bisect.bisect_left(self.buckets, seconds)
        key = (method, outcome)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            times = self._times.get(method)
            if times is None:
                times = self._times[method] = [0] * (len(self.buckets) + 1) + [0.0]
            times[slot] += 1
            times[-1] += seconds

    def describe(self) -> Iterable[Any]:
        return []  # names are registered as the families appear; nothing else claims them

    def collect(self) -> Iterable[Any]:
        with self._lock:
            counts = dict(self._counts)
            times = {method: list(values) for method, values in self._times.items()}
        requests = CounterMetricFamily(
            "rpc_requests",
            "RPC calls answered, by method and outcome (result, or the JSON-RPC error code)",
            labels=("method", "outcome"),
        )
        for (method, outcome), count in sorted(counts.items()):
            requests.add_metric([method, outcome], count)
        yield requests
        latency = HistogramMetricFamily(
            "rpc_request_duration_seconds", "Seconds to run one call, by method", labels=("method",)
        )
        for method, values in sorted(times.items()):
            cumulative: list[tuple[str, float]] = []
            running: float = 0
            for bound, in_bucket in zip((*map(str, self.buckets), "+Inf"), values[:-1], strict=True):
                running += in_bucket
                cumulative.append((bound, running))
            latency.add_metric([method], cumulative, values[-1])
        yield latency


class ServiceMetrics:
    """The series of one service."""

    def __init__(self, service_name: str):
        self.service_name = service_name
        self.registry = CollectorRegistry(auto_describe=True)
        self._calls = _Calls(LATENCY_BUCKETS)
        self.registry.register(self._calls)
        self.gauge(
            "rpc_service_info",
            "The service's name and version (always 1)",
            lambda: {(service_name, __version__): 1},
            ("service", "version"),
        )

    # -- what every call reports --------------------------------------------------------------

    def observe_call(self, method: str, outcome: str, seconds: float) -> None:
        """One call: ``outcome`` is "result" or the error code as text."""
        self._calls.observe(method, outcome, seconds)

    # -- a service's or part's own series ------------------------------------------------------

    def counter(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(name, documentation, labels, registry=self.registry)

    def histogram(
        self, name: str, documentation: str, labels: tuple[str, ...] = (), buckets: tuple[float, ...] = LATENCY_BUCKETS
    ) -> Histogram:
        return Histogram(name, documentation, labels, buckets=buckets, registry=self.registry)

    def gauge(self, name: str, documentation: str, read: Reading, labels: tuple[str, ...] = ()) -> None:
        """A gauge whose value ``read()`` gives when scraped (a number, or {label values: number})."""
        self.registry.register(_ReadWhenScraped(GaugeMetricFamily, name, documentation, read, labels))

    def counted(self, name: str, documentation: str, read: Reading, labels: tuple[str, ...] = ()) -> None:
        """A counter kept elsewhere (a plain int that only grows), read when scraped."""
        self.registry.register(_ReadWhenScraped(CounterMetricFamily, name, documentation, read, labels))

    def exposition(self) -> bytes:
        """Every series in the Prometheus text format."""
        return generate_latest(self.registry)
