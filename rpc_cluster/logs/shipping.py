"""Shipping a service's log records to the log service, off the calling thread.

``LogShipper`` is a ``logging.Handler``. ``emit()`` only turns the record
into an entry and appends it to a bounded queue (a few µs, no network); a
background thread sends the queue as JSON-RPC batches of ``Log.write``
notifications to whichever log service instance the registry names now.

While the log service is unreachable the queue keeps filling up to its
bound and the thread retries with backoff; once it is back, everything
queued is delivered, oldest first. Entries that do not fit are counted, and
the count is reported in a log line of its own as soon as it can be.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import deque
from typing import Any, Callable

from .. import errors, tracing
from ..transport import Transport, shared_transport
from .store import LEVELS, now_iso

log = logging.getLogger("rpc_cluster.logs.shipping")

# Keep a batch well under the servers' 1 MiB body limit.
MAX_BATCH_BYTES = 512 * 1024
MAX_MESSAGE_CHARS = 64 * 1024


def _level_name(record: logging.LogRecord) -> str:
    if record.levelname in LEVELS:
        return record.levelname
    # A custom level: the nearest standard one below it.
    return max((name for name, number in LEVELS.items() if number <= record.levelno),
               key=LEVELS.__getitem__, default="DEBUG")


def _entry(record: logging.LogRecord, service_name: str, message: str) -> dict[str, Any]:
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + f"... [truncated: {len(message)} characters in all]"
    created = time.gmtime(record.created)
    return {
        "message": message,
        "service_name": service_name,
        "level": _level_name(record),
        "trace_id": getattr(record, "trace_id", None) or tracing.current_trace_id(),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", created) + f".{int(record.msecs * 1000):06d}Z",
    }


class LogShipper(logging.Handler):
    """Queues records and ships them in batches; see the module docstring."""

    def __init__(self, service_name: str, resolve: Callable[[], list[str]], *, token: str | None = None,
                 capacity: int = 50_000, batch_size: int = 1000, flush_interval: float = 0.2,
                 timeout: float = 5.0, transport: Transport | None = None, level: int = logging.NOTSET):
        super().__init__(level)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self.service_name = service_name
        self.capacity = capacity
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.timeout = timeout
        self._resolve = resolve
        self._transport = transport or shared_transport()
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._queue: deque[dict[str, Any]] = deque()
        self._queue_lock = threading.Lock()
        self._wake = threading.Event()
        self._retry_now = threading.Event()
        self._closing = threading.Event()
        self._give_up_at = float("inf")
        #: Entries dropped because the queue was full, not yet reported.
        self.dropped = 0
        #: Entries delivered so far (for tests and benchmarks).
        self.delivered = 0
        self._thread = threading.Thread(target=self._run, name="log-shipper", daemon=True)
        self._thread.start()

    # -- the calling thread: never waits on the network -----------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        if threading.current_thread() is self._thread:
            return  # the shipper's own troubles go to stderr only, never back into the queue
        try:
            entry = _entry(record, self.service_name, self.format(record))
        except Exception:
            self.handleError(record)
            return
        with self._queue_lock:
            if len(self._queue) >= self.capacity:
                self.dropped += 1
                return
            self._queue.append(entry)
            if len(self._queue) >= self.batch_size:
                self._wake.set()

    def pending(self) -> int:
        return len(self._queue)

    # -- the shipping thread -----------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.1
        while not (self._closing.is_set() and not self._queue and not self.dropped):
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            while self._queue:
                if self._send_one_batch():
                    backoff = 0.1
                elif self._closing.is_set():
                    # Exiting: wait for a log service we know of, not for one that may never come.
                    if time.monotonic() > self._give_up_at or not self._resolve():
                        return
                    time.sleep(0.1)
                else:
                    self._retry_now.wait(backoff)  # cut short by flush() and close()
                    self._retry_now.clear()
                    backoff = min(backoff * 2, 5.0)
            self._report_drops()

    def _report_drops(self) -> None:
        with self._queue_lock:
            dropped, self.dropped = self.dropped, 0
            if dropped:
                message = (f"rpc_cluster.logs.shipping: dropped {dropped} log entries: the queue of "
                           f"{self.capacity} was full while the log service was unreachable")
                self._queue.append({"message": message, "service_name": self.service_name, "level": "WARNING",
                                    "trace_id": None, "timestamp": now_iso()})
        if dropped:
            log.warning("dropped %d log entries while the log service was unreachable", dropped)

    def _batch(self) -> tuple[int, bytes]:
        """The oldest entries as one JSON-RPC batch of notifications (count, body)."""
        calls, size = [], 2
        with self._queue_lock:
            for entry in self._queue:
                # An upper bound of the encoded size: JSON may escape the message.
                cost = 6 * len(entry["message"]) + 220
                if calls and (len(calls) >= self.batch_size or size + cost > MAX_BATCH_BYTES):
                    break
                # Params by position (Log.write's order): binding them is cheaper on the server.
                calls.append({"jsonrpc": "2.0", "method": "Log.write", "params": [
                    entry["message"], entry["service_name"], entry["level"], entry["trace_id"],
                    entry["timestamp"]]})
                size += cost
        return len(calls), json.dumps(calls).encode()

    def _send_one_batch(self) -> bool:
        """Send the oldest entries; True once they are delivered (and off the queue)."""
        urls = self._resolve()
        if not urls:
            return False
        count, body = self._batch()
        for url in urls:
            try:
                status, _ = self._transport.post(url, body, self._headers, self.timeout)
            except errors.TransportError as exc:
                log.debug("log service %s unreachable: %s", url, exc)
                continue
            if status in (200, 204):
                with self._queue_lock:
                    for _ in range(count):
                        self._queue.popleft()
                self.delivered += count
                return True
            log.warning("log service %s answered HTTP %d; will retry", url, status)
        return False

    # -- shutdown ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Ask the shipping thread to send now (``logging.shutdown`` calls this; it never waits)."""
        self._wake.set()
        self._retry_now.set()

    def wait_delivered(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is delivered; True if the queue is empty."""
        deadline = time.monotonic() + timeout
        while self._queue and time.monotonic() < deadline and self._thread.is_alive():
            self._wake.set()
            time.sleep(0.01)
        return not self._queue

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout``), then stop the thread."""
        self._give_up_at = time.monotonic() + timeout
        self._closing.set()
        self.flush()
        self._thread.join(timeout + 1)
        if self._queue and self._resolve():
            # A log service was known but unreachable: say what the central log is missing.
            print(f"rpc-cluster: {len(self._queue)} log entries could not be delivered before exit",
                  file=sys.stderr)
        super().close()


_installed: LogShipper | None = None
_install_lock = threading.Lock()


def install(service_name: str, resolve: Callable[[], list[str]], *, token: str | None = None,
            **kwargs: Any) -> LogShipper | None:
    """Attach a shipper to the root logger, once per process; None if one already is."""
    global _installed
    with _install_lock:
        if _installed is not None:
            return None
        _installed = LogShipper(service_name, resolve, token=token, **kwargs)
        logging.getLogger().addHandler(_installed)
        return _installed


def uninstall(shipper: LogShipper | None, timeout: float = 5.0) -> None:
    """Flush and detach a shipper made by ``install``."""
    global _installed
    if shipper is None:
        return
    logging.getLogger().removeHandler(shipper)
    shipper.close(timeout)
    with _install_lock:
        if _installed is shipper:
            _installed = None
