"""Shipping a service's log records to the log service, off the calling thread.

``LogShipper`` is a ``logging.Handler``. ``emit()`` only takes from the
record what must be taken when it is logged (its formatted message with any
exception text, its time, level and trace id) and appends that to a bounded
queue (a few µs, no network); a background thread turns the queue into
JSON-RPC batches of ``Log.write`` notifications (timestamps, entry ids, JSON)
and sends them to whichever log service instance the registry names now.

While the log service is unreachable the queue keeps filling up to its
bound and the thread retries with backoff; once it is back, everything
queued is delivered, oldest first. Entries that do not fit are counted, and
the count is reported in a log line of its own as soon as it can be.
"""

from __future__ import annotations

import itertools
import json
import logging
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..client import retry
from ..client.envelope import decode_answer, request_headers
from ..client.transport import Transport
from ..core import errors, tracing
from ..observability.log_entries import (
    LEVELS,
    MAX_MESSAGE_CHARS,
    CentralLogHandler,
    Timestamps,
    standard_level,
    truncated,
)

if TYPE_CHECKING:
    from .service import Service

log = logging.getLogger("rpc_cluster.runtime.log_shipping")

LOG_SERVICE = "LogService"
# Keep a batch well under the servers' 1 MiB body limit.
MAX_BATCH_BYTES = 512 * 1024
# json.dumps's own string encoder (C, ASCII out): a batch is the text json.dumps would make
# of its calls, built without a dict and a list for each entry for it to walk: a third fewer
# instructions per entry than json.dumps, with the timestamps now made here too (callgrind).
_json_text = json.encoder.encode_basestring_ascii
_STANDARD_LEVELS = frozenset(LEVELS)


#: What a record leaves in the queue, what was true when it was logged: (created, level
#: name, level number, the formatted message with any exception text, trace id, entry
#: number). A plain tuple: a NamedTuple's constructor is one more Python call for each record.
_Queued = tuple[float, str, int, str, str | None, int]


def _notifications(entries: list[_Queued], service: str, origin: str, stamps: Timestamps) -> list[str]:
    """Each entry's ``Log.write`` notification as JSON text (params by position), oldest first,
    as many as fit in one batch (at least one). ``service``: the service's name as JSON already."""
    calls: list[str] = []
    size = 2  # the batch's brackets; each call adds its separator
    text = _json_text
    for created, level_name, level_number, message, trace_id, number in entries:
        if level_name not in _STANDARD_LEVELS:
            level_name = standard_level(level_name, level_number)
        if len(message) > MAX_MESSAGE_CHARS:
            message = truncated(message)
        trace = "null" if trace_id is None else text(trace_id)
        call = (
            f'{{"jsonrpc": "2.0", "method": "Log.write", "params": [{text(message)}, {service}, '
            f'"{level_name}", {trace}, "{stamps(created)}", "{origin}:{number}"]}}'
        )
        size += len(call) + 2
        if calls and size > MAX_BATCH_BYTES:
            break
        calls.append(call)
    return calls


class LogShipper(CentralLogHandler):
    """Queues records and ships them in batches; see the module docstring."""

    def __init__(
        self,
        service_name: str,
        resolve: Callable[[], list[str]],
        *,
        token: str | None = None,
        capacity: int = 50_000,
        batch_size: int = 1000,
        flush_interval: float = 0.2,
        timeout: float = 5.0,
        transport: Transport | None = None,
        level: int = logging.NOTSET,
    ):
        super().__init__(service_name, level)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self.capacity = capacity
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.timeout = timeout
        self._resolve = resolve
        self._transport = transport or Transport()
        self._token = token
        self._queue: deque[_Queued] = deque()
        # Entries are numbered in the order they are queued, under this shipper's own name:
        # the log service stores each number once, so a batch sent again after a lost
        # answer doubles nothing (logs/store.py).
        self._origin = secrets.token_hex(8)
        self._numbers = itertools.count(1)
        self._queue_lock = threading.Lock()
        self._wake = threading.Event()
        self._retry_now = threading.Event()
        self._closing = threading.Event()
        self._give_up_at = float("inf")
        #: Entries dropped because the queue was full, not yet reported.
        self.dropped = 0
        #: Entries dropped because the queue was full, since the start (GET /metrics).
        self.dropped_total = 0
        #: Entries delivered so far (for tests and benchmarks).
        self.delivered = 0
        # The default format's text is made without the Formatter's general work (see emit).
        self._plain = self.formatter
        # Used by the shipping thread only.
        self._stamps = Timestamps()
        self._service_json = _json_text(service_name)
        self._thread = threading.Thread(target=self._run, name="log-shipper", daemon=True)
        self._thread.start()
        self._thread_id = self._thread.ident

    # -- the calling thread: never waits on the network -----------------------------------

    def handle(self, record: logging.LogRecord) -> bool:
        """``Handler.handle`` without the handler's lock (``emit`` takes only its queue's); whether it was emitted."""
        checked: object = self.filter(record)
        if isinstance(checked, logging.LogRecord):
            record = checked  # Python 3.12 on: a filter may give a record in place of the one logged
        if checked:
            self.emit(record)
        return bool(checked)

    def emit(self, record: logging.LogRecord) -> None:
        if threading.get_ident() == self._thread_id:
            return  # the shipper's own troubles go to stderr only, never back into the queue
        if not self.owns():
            return
        try:
            if self.formatter is self._plain and not (record.exc_info or record.exc_text or record.stack_info):
                # What the default format makes of such a record, at a third of Formatter.format's cost.
                message = f"{record.name}: {record.getMessage()}"
            else:
                message = self.format(record)
        except Exception:
            self.handleError(record)
            return
        trace_id = getattr(record, "trace_id", None) or tracing.current_trace_id()
        if trace_id is not None and not isinstance(trace_id, str):
            trace_id = str(trace_id)
        queue = self._queue
        with self._queue_lock:
            if len(queue) >= self.capacity:
                self.dropped += 1
                self.dropped_total += 1
                return
            queue.append((record.created, record.levelname, record.levelno, message, trace_id, next(self._numbers)))
        if len(queue) >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    def pending(self) -> int:
        return len(self._queue)

    # -- the shipping thread -----------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not (self._closing.is_set() and not self._queue and not self.dropped):
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            while self._queue:
                if self._send_one_batch():
                    failures = 0
                elif self._closing.is_set():
                    # Exiting: wait for a log service we know of, not for one that may never come.
                    if time.monotonic() > self._give_up_at or not self._resolve():
                        return
                    time.sleep(0.1)
                else:
                    failures += 1
                    self._retry_now.wait(retry.SHIPPING.delay(failures))  # cut short by flush() and close()
                    self._retry_now.clear()
            self._report_drops()

    def _report_drops(self) -> None:
        with self._queue_lock:
            dropped, self.dropped = self.dropped, 0
            if dropped:
                message = (
                    f"rpc_cluster.logs.shipping: dropped {dropped} log entries: the queue of "
                    f"{self.capacity} was full while the log service was unreachable"
                )
                self._queue.append((time.time(), "WARNING", logging.WARNING, message, None, next(self._numbers)))
        if dropped:
            log.warning("dropped %d log entries while the log service was unreachable", dropped)

    def _batch(self) -> tuple[int, bytes]:
        """The oldest entries as one JSON-RPC batch of notifications (count, body)."""
        # Copied out under the lock, made into text without it: emit() never waits for the encoding.
        with self._queue_lock:
            entries = list(itertools.islice(self._queue, self.batch_size))
        calls = _notifications(entries, self._service_json, self._origin, self._stamps)
        return len(calls), ("[" + ", ".join(calls) + "]").encode()

    def _send_one_batch(self) -> bool:
        """Send the oldest entries; True once they are delivered (and off the queue)."""
        urls = self._resolve()
        if not urls:
            return False
        count, body = self._batch()
        for url in urls:
            try:
                status, answer = self._transport.post(url, body, request_headers(self._token), self.timeout)
                refusal = decode_answer(url, status, answer)
            except errors.TransportError as exc:
                log.debug("log service %s unreachable: %s", url, exc)
                continue
            except errors.RpcError as exc:
                log.warning("log service %s refused a batch (%s); will retry", url, exc)
                continue
            if refusal is not None:
                # A batch of notifications gets an answer only when it is refused whole
                # (more members than the service's --max-batch): send smaller ones.
                self.batch_size = max(1, count // 2)
                log.warning(
                    "log service %s refused a batch of %d entries (%s); sending %d at a time",
                    url,
                    count,
                    refusal,
                    self.batch_size,
                )
                return False
            with self._queue_lock:
                for _ in range(count):
                    self._queue.popleft()
            self.delivered += count
            return True
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
            print(f"rpc-cluster: {len(self._queue)} log entries could not be delivered before exit", file=sys.stderr)
        super().close()


class LogShipping:
    """The part of a service that ships its log records to the LogService.

    Attached by whoever starts the service (``config.service_main`` does, for
    every service but the log service itself)::

        service.add_part(LogShipping())

    It makes the service require ``LogService`` (so the registry tells it where
    the log service is) and puts a ``LogShipper`` on the root logger while the
    service runs.
    """

    requires: tuple[str, ...] = (LOG_SERVICE,)

    def __init__(self, **shipper_options: Any):
        self._options = shipper_options
        self._shipper: LogShipper | None = None

    @property
    def shipper(self) -> LogShipper:
        """The running shipper, from ``start()`` to ``stop()``; RuntimeError outside them."""
        if self._shipper is None:
            raise RuntimeError("rpc: LogShipping has a shipper only from start() to stop()")
        return self._shipper

    def start(self, service: Service) -> None:
        self._shipper = shipper = LogShipper(
            service.name,
            lambda: service.providers_of(LOG_SERVICE),
            token=service.token,
            transport=service.transport,
            **self._options,
        )
        logging.getLogger().addHandler(shipper)
        service.metrics.gauge("log_shipper_queue_depth", "Log entries waiting to be shipped", shipper.pending)
        service.metrics.counted(
            "log_shipper_dropped", "Log entries dropped because the queue was full", lambda: shipper.dropped_total
        )
        service.metrics.counted("log_shipper_delivered", "Log entries the log service took", lambda: shipper.delivered)

    def stop(self) -> None:
        """Deliver what is queued (a few seconds at most), then detach."""
        shipper, self._shipper = self._shipper, None
        if shipper is not None:
            logging.getLogger().removeHandler(shipper)
            shipper.close()
