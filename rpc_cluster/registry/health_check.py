"""The registry's health check: ``Service.heartbeat`` on every service, concurrently.

Every interval, each registered service not already being checked gets a
check, passing services first. One check is up to ``retry.HEARTBEAT.attempts``
attempts, each with its own timeout, with the policy's pauses in between.

The checks run on an asyncio event loop on the checker's own thread, over
non-blocking sockets (``heartbeat_client.py``): a service that went silent
(a cut link: the connection hangs, nothing refuses) costs a waiting socket
and a timer, not a thread, so it never delays the checks of the others. On
a pool of 64 threads, each silent service held a thread for 3 timeouts plus
the pauses: with 500 of 2,000 services silent at a 3 s interval the last of
them left ``passing`` after 28 s (9.35 intervals). At most
``max_in_flight`` attempts hold a socket at once. (The Go sample checked
services one after another, 3 s apart: N services took N x 3 s.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import threading
from collections.abc import Callable
from typing import Any, Protocol

from ..client import envelope, retry
from ..core.errors import RpcError
from ..serving.server import raise_open_file_limit
from .heartbeat_client import HeartbeatClient
from .table import Notice, Registration

log = logging.getLogger("rpc_cluster.registry.health_check")

_HEARTBEAT = b'{"jsonrpc": "2.0", "method": "Service.heartbeat", "id": 1}'

# Attempts holding a socket at once, by default. A silent service holds one for a
# whole timeout: 500 silent of 2,000 (the benchmark) need 500 at once, and twice
# that leaves room for the live ones, which hold theirs for well under 1 ms.
MAX_IN_FLIGHT = 1024
# File descriptors left for everything else in the process: the server's
# connections, the notifier's, log files.
RESERVED_FDS = 1024


def default_timeout(interval: float) -> float:
    """The default per-call timeout (docs/operations.md, --heartbeat-timeout): the smaller of 1 s and interval/3."""
    return min(1.0, interval / 3)


class Checked(Protocol):
    """What the health check needs of the registrations: a ``RegistryTable`` or a ``store.RegistryStore``."""

    @property
    def deregister_after(self) -> float:
        """Seconds a service stays critical before ``drop_expired`` drops it."""

    def get(self, service_url: str) -> Registration | None: ...

    def check_order(self) -> list[str]: ...

    def record_success(self, service_url: str) -> list[Notice]: ...

    def record_failure(self, service_url: str) -> list[Notice]: ...

    def drop_expired(self) -> list[str]: ...


class HealthChecker:
    """Checks every registration of ``table`` every ``interval`` seconds, once started.

    ``token``: the cluster token each heartbeat carries. ``max_in_flight``:
    attempts holding a socket at once. ``ssl_context``: called once for the
    context that verifies ``https://`` services (default:
    ``tls.client_context``). ``on_check`` is told each check's outcome
    (True: answered), ``on_round`` each round's seconds from its start until
    its last check is recorded (the metrics).
    """

    def __init__(
        self,
        table: Checked,
        *,
        interval: float = 3.0,
        timeout: float | None = None,
        backoff: retry.Backoff = retry.HEARTBEAT,
        token: str | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        ssl_context: Callable[[], ssl.SSLContext] | None = None,
        on_check: Callable[[bool], None] | None = None,
        on_round: Callable[[float], None] | None = None,
    ):
        self.table = table
        self.interval = interval
        self.timeout = timeout if timeout is not None else default_timeout(interval)
        self.backoff = backoff
        self.max_in_flight = max_in_flight
        self._token = token
        self._ssl_context = ssl_context
        self._on_check = on_check or (lambda alive: None)
        self._on_round = on_round or (lambda seconds: None)
        # The fields below belong to the event loop's thread once it runs.
        self._in_flight: set[str] = set()
        # URLs whose current streak of failed checks has been logged: one line a streak, not one a round.
        self._told: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[Any] | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        fds = raise_open_file_limit()
        self.max_in_flight = max(1, min(self.max_in_flight, fds // 4))
        self._client = HeartbeatClient(
            max_idle=max(0, fds - self.max_in_flight - RESERVED_FDS), ssl_context=self._ssl_context
        )
        self._thread = threading.Thread(target=self._run, name="registry-health-check", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        """Stop checking: attempts in flight are cancelled and every socket closed."""
        loop, main = self._loop, self._main
        if loop is not None and main is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(main.cancel)
        if self._thread:
            self._thread.join(timeout=5)

    def check_round(self) -> None:
        """Start one check of every registered service that is not being checked (any thread)."""
        if self._loop is None:
            raise RuntimeError("the health checker is not running: call start() first")
        if threading.current_thread() is self._thread:
            self._start_round()
        else:
            self._loop.call_soon_threadsafe(self._start_round)

    def _run(self) -> None:
        try:
            asyncio.run(self._every_interval())
        except asyncio.CancelledError:
            pass  # stop()
        except Exception:
            log.exception("the health checker stopped unexpectedly")
        finally:
            self._ready.set()

    async def _every_interval(self) -> None:
        """Start a round every interval; the checks run as tasks meanwhile."""
        loop = asyncio.get_running_loop()
        self._loop, self._main = loop, asyncio.current_task()
        # Built here, not in the caller's thread, so no caller's trace id rides along.
        self._headers = envelope.request_headers(self._token)
        self._slots = asyncio.Semaphore(self.max_in_flight)
        self._ready.set()
        next_round = loop.time() + self.interval
        try:
            while True:  # ends when stop() cancels this task
                await asyncio.sleep(max(0.0, next_round - loop.time()))
                now = loop.time()
                next_round += self.interval
                if next_round < now:
                    # We fell behind (a suspended process): start again from now.
                    next_round = now + self.interval
                self._start_round()
                for url in self.table.drop_expired():
                    log.warning("dropped %s: critical for more than %g s", url, self.table.deregister_after)
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._client.close()

    def _start_round(self) -> None:
        loop = asyncio.get_running_loop()
        urls = self.table.check_order()
        self._client.forget_except(set(urls))
        self._told &= set(urls)
        started = [url for url in urls if url not in self._in_flight]
        # The round ends when its last check is recorded (all on this loop's thread: no lock).
        left = [len(started)]
        began = loop.time()

        def one_done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            left[0] -= 1
            if left[0] == 0:
                self._on_round(loop.time() - began)

        for url in started:
            self._in_flight.add(url)
            task = loop.create_task(self._check(url))
            self._tasks.add(task)
            task.add_done_callback(one_done)

    async def _check(self, url: str) -> None:
        """One check: attempts until one is answered, then the outcome recorded.

        An unexpected error while checking counts as a failed check: a check
        that records nothing would leave the service passing, never dropped.
        """
        try:
            try:
                alive = await self._attempts(url)
            except Exception as exc:
                self._tell(url, f"health check of {url} failed unexpectedly ({exc!r}); counted as a failed check")
                log.debug("health check of %s failed unexpectedly", url, exc_info=True)
                alive = False
            if alive is not None:
                self._record(url, alive)
        except Exception:
            log.exception("recording the health check of %s failed", url)
        finally:
            self._in_flight.discard(url)

    async def _attempts(self, url: str) -> bool | None:
        """Whether one of the attempts was answered; None when the service was deregistered meanwhile."""
        alive = False
        attempts = self.backoff.attempts or 1
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                await asyncio.sleep(self.backoff.delay(attempt - 1))
            registration = self.table.get(url)
            if registration is None:
                return None
            async with self._slots:
                alive = await self._answers(url, registration.service_name)
            if alive:
                break
        return alive

    async def _answers(self, url: str, service_name: str) -> bool:
        """One heartbeat: whether ``service_name`` answered it. A heartbeat changes nothing: always safe to send again.

        Another service answering is a failed check: any name registered at any
        live URL would otherwise stay passing, and its clients would call the
        wrong service (a -32601 for each call, or log lines lost to a 204).
        """
        try:
            status, data = await self._client.post(url, _HEARTBEAT, self._headers, self.timeout)
            answer = envelope.decode_answer(url, status, data)
        except RpcError as exc:
            log.debug("heartbeat of %s failed: %s", url, exc)
            return False
        if not isinstance(answer, dict) or "result" not in answer:
            return False
        result = answer["result"]
        if isinstance(result, dict) and result.get("status") == "ok" and result.get("service") == service_name:
            return True
        answered = result.get("service") if isinstance(result, dict) else None
        who = f"as {_shown(answered)}" if isinstance(answered, str) else f"with {_shown(json.dumps(result))}"
        self._tell(url, f"{url} answered the heartbeat of {_shown(service_name)} {who}; counted as a failed check")
        return False

    def _tell(self, url: str, message: str) -> None:
        """Log ``message`` once for the current streak of failed checks of ``url``."""
        if url not in self._told:
            self._told.add(url)
            log.warning("%s", message)

    def _record(self, url: str, alive: bool) -> None:
        self._on_check(alive)
        if alive:
            self._told.discard(url)
        before = self.table.get(url)
        was = before.status if before else None
        # The table hands the notices to the notifier itself, in the order of its changes.
        notices = self.table.record_success(url) if alive else self.table.record_failure(url)
        after = self.table.get(url)
        if after is not None and after.status != was:
            log.warning("%s at %s is now %s (%d dependents told)", after.service_name, url, after.status, len(notices))


def _shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for a one-line message: escaped, and cut short when long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
