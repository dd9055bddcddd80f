"""The registry's health check: ``Service.heartbeat`` on every service, concurrently.

Every interval, each registered service not already being checked is handed
to a bounded pool of worker threads. One check makes up to 3 attempts in
quick succession, each with its own timeout, so one slow or dead service
delays nobody else, and a dead one turns critical within about one interval
plus a few timeouts whatever the number of services. (The Go sample checked
services one after another, 3 s apart: N services took N x 3 s.)
"""

from __future__ import annotations

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
                 interval: float = 3.0, timeout: float | None = None, workers: int = 64):
        self.table = table
        self.interval = interval
        self.timeout = timeout if timeout is not None else default_timeout(interval)
        self._post = post
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="registry-check")
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="registry-health-check", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        next_round = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, next_round - time.monotonic())):
            next_round += self.interval
            if next_round < time.monotonic():
                # We fell behind (a suspended process): start again from now.
                next_round = time.monotonic() + self.interval
            self.check_round()
            for url in self.table.drop_expired():
                log.warning("dropped %s: critical for more than %g s", url, self.table.deregister_after)

    def check_round(self) -> None:
        """Start one check of every registered service that is not being checked."""
        for url in self.table.urls():
            with self._lock:
                if url in self._in_flight:
                    continue
                self._in_flight.add(url)
            self._pool.submit(self._check, url)

    def _check(self, url: str) -> None:
        try:
            before = self.table.get(url)
            was = before.status if before else None
            alive = self.probe(url)
            # The table hands the notices to the notifier itself, in the order of its changes.
            notices = self.table.record_success(url) if alive else self.table.record_failure(url)
            after = self.table.get(url)
            if after is not None and after.status != was:
                log.warning("%s at %s is now %s (%d dependents told)", after.service_name, url, after.status,
                            len(notices))
        except Exception:
            log.exception("health check of %s failed unexpectedly", url)
        finally:
            with self._lock:
                self._in_flight.discard(url)

    def probe(self, url: str) -> bool:
        """Heartbeats as ``retry.HEARTBEAT`` allows; True as soon as one is answered."""
        # A heartbeat changes nothing on the service: always safe to send again.
        for pause in retry.HEARTBEAT.pauses():
            time.sleep(pause)
            try:
                answer = self._post(url, _HEARTBEAT, self.timeout)
            except RpcError:
                continue
            if isinstance(answer, dict) and "result" in answer:
                return True
        return False
