"""The registry's health check: ``Service.heartbeat`` on every service, concurrently.

Every interval, each registered service not already being checked is handed
to a bounded pool of worker threads, passing services first. One check is
up to ``retry.HEARTBEAT.attempts`` attempts in quick succession, each with
its own timeout. A worker makes one attempt and returns; the pause before
the next one is a timer on the checker's own thread, which hands the attempt
back to the pool when it is due. So a dead service costs the pool a few
quick attempts, not a sleeping thread: when the backoff slept in the worker,
10,000 registrations to refused URLs made a round take about 40 s and live
services went 34 s without a check. (The Go sample checked services one
after another, 3 s apart: N services took N x 3 s.)
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from .. import retry
from ..errors import RpcError
from .table import RegistryTable

log = logging.getLogger("rpc_cluster.registry.health_check")

_HEARTBEAT = b'{"jsonrpc": "2.0", "method": "Service.heartbeat", "id": 1}'


def default_timeout(interval: float) -> float:
    """The contract's default per-call timeout: the smaller of 1 s and interval/3."""
    return min(1.0, interval / 3)


class HealthChecker:
    def __init__(self, table: RegistryTable, post: Callable[[str, bytes, float], object], *,
                 interval: float = 3.0, timeout: float | None = None, workers: int = 64,
                 backoff: retry.Backoff = retry.HEARTBEAT):
        self.table = table
        self.interval = interval
        self.timeout = timeout if timeout is not None else default_timeout(interval)
        self.backoff = backoff
        self._post = post
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="registry-check")
        self._in_flight: set[str] = set()
        #: Attempts waiting for their pause to end: (due on the monotonic clock, tie-breaker, url, attempt).
        self._timers: list[tuple[float, int, str, int]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="registry-health-check", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify()
        if self._thread:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        """Start a round every interval and due attempts in between; wakes for each, never busy."""
        next_round = time.monotonic() + self.interval
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_round:
                next_round += self.interval
                if next_round < now:
                    # We fell behind (a suspended process): start again from now.
                    next_round = now + self.interval
                self.check_round()
                for url in self.table.drop_expired():
                    log.warning("dropped %s: critical for more than %g s", url, self.table.deregister_after)
            with self._wake:
                # At most one timer per URL being checked: bounded by the registrations.
                while self._timers and self._timers[0][0] <= now:
                    _, _, url, attempt = heapq.heappop(self._timers)
                    self._pool.submit(self._attempt, url, attempt)
                wake_at = min(next_round, self._timers[0][0]) if self._timers else next_round
                if not self._stop.is_set():
                    self._wake.wait(max(0.0, wake_at - time.monotonic()))

    def check_round(self) -> None:
        """Start one check of every registered service that is not being checked."""
        for url in self.table.check_order():
            with self._lock:
                if url in self._in_flight:
                    continue
                self._in_flight.add(url)
            self._pool.submit(self._attempt, url, 1)

    def _attempt(self, url: str, attempt: int) -> None:
        """One heartbeat; then the next attempt is scheduled, or the outcome recorded."""
        again = False
        try:
            if self.table.get(url) is None:
                return  # deregistered meanwhile
            alive = self._answers(url)
            again = not alive and self.backoff.attempts is not None and attempt < self.backoff.attempts
            if again:
                with self._wake:
                    heapq.heappush(self._timers, (time.monotonic() + self.backoff.delay(attempt),
                                                  next(self._order), url, attempt + 1))
                    self._wake.notify()
            else:
                self._record(url, alive)
        except Exception:
            log.exception("health check of %s failed unexpectedly", url)
        finally:
            if not again:
                with self._lock:
                    self._in_flight.discard(url)

    def _record(self, url: str, alive: bool) -> None:
        before = self.table.get(url)
        was = before.status if before else None
        # The table hands the notices to the notifier itself, in the order of its changes.
        notices = self.table.record_success(url) if alive else self.table.record_failure(url)
        after = self.table.get(url)
        if after is not None and after.status != was:
            log.warning("%s at %s is now %s (%d dependents told)", after.service_name, url, after.status,
                        len(notices))

    def _answers(self, url: str) -> bool:
        """One heartbeat: whether it was answered. A heartbeat changes nothing: always safe to send again."""
        try:
            answer = self._post(url, _HEARTBEAT, self.timeout)
        except RpcError:
            return False
        return isinstance(answer, dict) and "result" in answer
