"""Telling dependents about added and removed providers (``Service.update``).

Notices go to a bounded pool of worker threads, so ``Registry.register``
never waits on a dependent. Notices to one recipient are delivered one at a
time in the order they were made (a "removed" must not overtake the "added"
that follows it); different recipients are served concurrently, so telling
2,000 dependents takes about as long as the slowest few of them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from ..client import retry
from ..core.errors import RpcError
from .table import Notice

log = logging.getLogger("rpc_cluster.registry.notifier")


class Notifier:
    def __init__(self, post: Callable[[str, bytes, float], object], *, workers: int = 64, timeout: float = 2.0):
        self._post = post
        self._timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="registry-notify")
        self._queues: dict[str, deque[tuple[Notice, Callable[[], None] | None]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def send(self, notices: Iterable[Notice], on_done: Callable[[], None] | None = None) -> None:
        """Queue notices for delivery; returns at once (the table calls it under its lock).

        ``on_done`` is called once for each notice, when it is delivered or given up on.
        """
        with self._lock:
            if self._closed:
                return  # the registry is stopping: nobody is left to deliver them
            for notice in notices:
                queue = self._queues.get(notice.recipient)
                if queue is None:
                    self._queues[notice.recipient] = deque([(notice, on_done)])
                    self._pool.submit(self._drain, notice.recipient)
                else:
                    queue.append((notice, on_done))

    def _drain(self, recipient: str) -> None:
        while True:
            with self._lock:
                queue = self._queues[recipient]
                if not queue:
                    del self._queues[recipient]
                    return
                notice, on_done = queue.popleft()
            self._deliver(notice)
            if on_done is not None:
                on_done()

    def _deliver(self, notice: Notice) -> bool:
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "Service.update",
                "id": 1,
                "params": {"added": notice.added, "removed": notice.removed},
            }
        ).encode()
        failure: RpcError | None = None
        # Service.update is idempotent (adding a known URL changes nothing): safe to send again.
        for pause in retry.NOTIFY.pauses():
            time.sleep(pause)
            try:
                self._post(notice.recipient, body, self._timeout)
                return True
            except RpcError as exc:
                failure = exc
        log.warning("could not tell %s about %s: %s", notice.recipient, notice.added or notice.removed, failure)
        return False

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
