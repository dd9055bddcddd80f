"""The portal's own series on ``/metrics``: pages by route and status, and their time."""

from __future__ import annotations

from rpc_cluster.observability.metrics import ServiceMetrics


class PageMetrics:
    """Counts and times each page by its route's rule (``/students/<student_id>``), never its URL."""

    def __init__(self, metrics: ServiceMetrics):
        self._pages = metrics.counter("portal_pages", "Pages served, by route and HTTP status", ("route", "status"))
        self._seconds = metrics.histogram(
            "portal_page_duration_seconds", "Seconds to serve a page, by route", ("route",)
        )

    def observe(self, route: str, status: int, seconds: float) -> None:
        self._pages.labels(route, str(status)).inc()
        self._seconds.labels(route).observe(seconds)
