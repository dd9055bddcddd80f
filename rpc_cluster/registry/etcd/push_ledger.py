"""Which notices have been pushed to dependents, so a new leader sends exactly the rest.

Every registry's table makes the same notices from etcd's changes; the
ledger keeps them, by revision, until it learns (the ``pushed`` key, from
the watch) that they were delivered. Only the leader sends: its pusher
thread hands the notices after the last recorded revision to the notifier,
and once every notice up to a revision is delivered (or given up on) it
records that revision under ``pushed``. A slow dependent delays only that
record, never the pushes. Only the notices of a leader that died between
delivering and recording go out twice (``Service.update`` is idempotent, and
a push is only a hint that a service checks with the registry).

The pusher sleeps on a condition and wakes when there is something to do: a
new notice, a delivery done, leadership taken, or a round's summary due.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..table import Notice
from .gateway import Etcd, EtcdUnavailable, encode

if TYPE_CHECKING:
    # Only a type here: the store module opens this package's store, so importing it at run time is a cycle.
    from ..store import Send

log = logging.getLogger("rpc_cluster.registry.etcd.push_ledger")

# Seconds between the leader's writes of its last checks (other registries show them):
# each write stays in etcd's history until compacted.
MIN_SUMMARY_INTERVAL = 10.0
# Seconds before the pusher tries again to record a revision etcd did not take.
RECORD_RETRY = 0.5


class PushLedger:
    """The notices not yet known to be pushed, and the pusher that sends them while leading.

    ``pushed_key``/``checks_key``: where the delivered revision and the
    leader's check summary go; ``checks()``: that summary; ``leading()``:
    whether this registry may send now.
    """

    def __init__(
        self,
        etcd: Etcd,
        *,
        pushed_key: str,
        checks_key: str,
        send: Send,
        leading: Callable[[], bool],
        checks: Callable[[], dict[str, tuple[float | None, int]]],
        summary_interval: float = 3.0,
    ):
        self.etcd = etcd
        self.pushed_key = pushed_key
        self.checks_key = checks_key
        self.summary_interval = summary_interval
        self._send = send
        self._leading = leading
        self._checks = checks
        # Guards every field below; notified whenever the pusher has something to do.
        self._wake = threading.Condition()
        self._woken = False
        self._stopping = False
        # Notices the table made, by revision, not yet known to be pushed.
        self._unpushed: deque[tuple[int, list[Notice]]] = deque()
        self._pushed = 0
        # Notices handed to the notifier and not yet done, by revision; how far we handed them.
        self._in_flight: dict[int, int] = {}
        self._handed_up_to = 0

    # -- told by the other parts (any thread) --------------------------------------------------

    def add(self, revision: int, notices: list[Notice]) -> None:
        """A change's notices (the table calls this under its lock: it only queues)."""
        with self._wake:
            self._unpushed.append((revision, notices))
            self._notify()

    def saw_pushed(self, revision: int) -> None:
        """The watch saw ``pushed`` recorded: the notices up to it need no sending."""
        with self._wake:
            self._pushed = max(self._pushed, revision)
            while self._unpushed and self._unpushed[0][0] <= self._pushed:
                self._unpushed.popleft()
            self._notify()

    def take_over(self) -> None:
        """This registry starts to lead: send from the last recorded revision on."""
        with self._wake:
            self._handed_up_to = self._pushed
            self._notify()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._notify()

    def _delivered(self, revision: int) -> None:
        with self._wake:
            self._in_flight[revision] -= 1
            if not self._in_flight[revision]:
                del self._in_flight[revision]
            self._notify()

    def _notify(self) -> None:
        self._woken = True
        self._wake.notify_all()

    # -- the pusher thread ---------------------------------------------------------------------

    def run(self) -> None:
        """While leading: send the notices after the last pushed revision, and record how far
        every notice has been delivered. Returns after ``stop()``."""
        next_summary = time.monotonic()
        retry_at: float | None = None
        while True:
            with self._wake:
                if self._stopping:
                    return
                self._woken = False
                leading = self._leading()
                handed = self._hand_out() if leading else []
                done_up_to = self._done_up_to() if leading else 0
                record = done_up_to > self._pushed
            for revision, notices in handed:
                self._send(notices, on_done=functools.partial(self._delivered, revision))
            if record and (retry_at is None or time.monotonic() >= retry_at):
                retry_at = None if self._record_pushed(done_up_to) else time.monotonic() + RECORD_RETRY
            if leading and time.monotonic() >= next_summary:
                next_summary = time.monotonic() + max(self.summary_interval, MIN_SUMMARY_INTERVAL)
                self._publish_checks()
            self._sleep(leading, next_summary, retry_at)

    def _sleep(self, leading: bool, next_summary: float, retry_at: float | None) -> None:
        """Wait to be woken, or for the next summary or retry while leading."""
        due = min(next_summary, retry_at) if retry_at is not None else next_summary
        with self._wake:
            if not self._woken and not self._stopping:
                self._wake.wait(max(0.0, due - time.monotonic()) if leading else None)

    def _hand_out(self) -> list[tuple[int, list[Notice]]]:
        """The notices after the last handed revision, counted in flight (lock held)."""
        handed = [(revision, notices) for revision, notices in self._unpushed if revision > self._handed_up_to]
        for revision, notices in handed:
            self._in_flight[revision] = self._in_flight.get(revision, 0) + len(notices)
            self._handed_up_to = revision
        return handed

    def _done_up_to(self) -> int:
        """The revision up to which every handed notice is done (lock held)."""
        return min(self._in_flight) - 1 if self._in_flight else self._handed_up_to

    def _record_pushed(self, revision: int) -> bool:
        """Write ``pushed``; whether etcd took it."""
        try:
            self.etcd.txn([], [{"request_put": {"key": encode(self.pushed_key), "value": encode(str(revision))}}])
        except EtcdUnavailable as exc:
            log.warning("could not record pushes up to revision %d (%s)", revision, exc)
            return False
        with self._wake:
            self._pushed = max(self._pushed, revision)
        return True

    def _publish_checks(self) -> None:
        checks = self._checks()
        with contextlib.suppress(EtcdUnavailable):
            self.etcd.txn([], [{"request_put": {"key": encode(self.checks_key), "value": encode(json.dumps(checks))}}])
