"""Keeping one service registered with the registry.

``Registration`` registers with backoff until the registry answers (so
services start in any order), learns the registry's pace from its
heartbeats, registers again when a restarted registry has forgotten the
service, and deregisters on stop. It is a plain class driven by ``step()``,
so its rules are tested with a fake clock; ``Service`` runs it on a thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from ..client import retry
from ..client.client import Client
from ..client.providers import ProviderTable
from ..client.retry import UNHEARD
from ..core.errors import InvalidParams, RpcError, TransportError

log = logging.getLogger("rpc_cluster.runtime.registration")

# Until heartbeats show the registry's real pace, assume its default interval.
ASSUMED_HEARTBEAT_INTERVAL = 3.0
# While registered, how often (at most) to ask whether the registry went quiet.
IDLE_STEP = 0.25
# A registry quieter than this is not slow but gone: the gap is not learned from.
LONGEST_GAP = 60.0


class Registration:
    """One service's registration: see the module docstring."""

    def __init__(
        self,
        registry: Client,
        service_name: str,
        service_url: str,
        required: Iterable[str],
        providers: ProviderTable,
        *,
        clock: Callable[[], float] = time.monotonic,
        backoff: retry.Backoff = retry.REGISTRATION,
        on_registered: Callable[[], None] | None = None,
    ):
        self.registry = registry
        self.service_name = service_name
        self.service_url = service_url
        self.required = tuple(required)
        self.providers = providers
        # Called after each registration's providers are applied (the service looks them up again:
        # a push made while the registration was on its way may be newer than its answer).
        self._on_registered = on_registered or (lambda: None)
        self._clock = clock
        self._backoff = backoff
        #: True once the registry has accepted the registration.
        self.registered = False
        #: True once the registry refused the registration as invalid: asking again cannot change its answer.
        self.refused = False
        # Registration attempts that failed in a row (for the backoff).
        self._failures = 0
        # Registrations in a row that no heartbeat followed, and when the next may be made.
        self._unheard = 0
        self._hold_until = float("-inf")
        self._last_heartbeat = clock()
        #: A smoothed view of the registry's interval, to know when it has gone quiet.
        self.heartbeat_gap = ASSUMED_HEARTBEAT_INTERVAL
        # Heartbeats since the last registration (the gap from registering to the
        # first one says nothing about the interval).
        self._heartbeats_heard = 0

    def heard_heartbeat(self) -> None:
        """The registry checked us (``Service.heartbeat`` was called)."""
        now = self._clock()
        gap = now - self._last_heartbeat
        if self._heartbeats_heard and 0.05 < gap < LONGEST_GAP:
            # The first real gap replaces the assumed one outright.
            self.heartbeat_gap = gap if self._heartbeats_heard == 1 else 0.7 * self.heartbeat_gap + 0.3 * gap
        self._heartbeats_heard += 1
        self._unheard = 0
        self._last_heartbeat = now

    def forgotten(self) -> bool:
        """Whether the registry has been quiet for longer than its pace explains."""
        # Aggressive on purpose: a false alarm costs one Registry.lookup (see step),
        # while a restarted registry should be repopulated within two of its intervals.
        return self._clock() - self._last_heartbeat > 1.25 * self.heartbeat_gap + 0.1

    def step(self) -> float:
        """Register if that is due now; the seconds to wait before the next step."""
        if self.refused or (self.registered and not self.forgotten()):
            return self._idle()
        again = self.registered
        if again and self._clock() < self._hold_until:
            return min(self._hold_until - self._clock(), self._idle())
        try:
            if again and self.service_url in self.registry.call("Registry.lookup", self.service_name):
                # Only slower than we guessed: learn its pace instead of registering again.
                self.heartbeat_gap = min(self.heartbeat_gap * 1.5, LONGEST_GAP)
                self._last_heartbeat = self._clock()
                return self._idle()
            if again and self._heartbeats_heard == 0 and self._hold_until == float("-inf"):
                # Registered, yet never checked since: the registry cannot reach us. Registering
                # again at once would only list us as passing to our dependents until its next
                # check; hold off, longer each time (after the hold, register as usual).
                self._unheard += 1
                hold = UNHEARD.delay(self._unheard)
                self._hold_until = self._clock() + hold
                log.warning(
                    "%s: the registry has not checked %s since it registered; is --advertise "
                    "reachable from the registry? registering again in %.0f s",
                    self.service_name,
                    self.service_url,
                    hold,
                )
                return min(hold, self._idle())
            answer = self.registry.call("Registry.register", self.service_name, self.service_url, list(self.required))
        except InvalidParams as exc:
            self.refused = True
            log.error(
                "%s: registry %s refused the registration as invalid (%s); not retrying: the service keeps "
                "serving at %s, unregistered, so no other service is told of it",
                self.service_name,
                self.registry.url,
                exc,
                self.service_url,
            )
            return self._idle()
        except RpcError as exc:
            self._failures += 1
            delay = self._backoff.delay(self._failures)
            # Unreachable, or reachable and refusing (full: --max-registrations): say which.
            problem = "not reachable" if isinstance(exc, TransportError) else "refused the registration"
            log.warning(
                "%s: registry %s %s (%s); retrying in %.1f s", self.service_name, self.registry.url, problem, exc, delay
            )
            return delay
        self.providers.replace(answer.get("providers", {}))
        self._on_registered()
        self._last_heartbeat = self._clock()
        self._heartbeats_heard = 0
        self._failures = 0
        self._hold_until = float("-inf")
        self.registered = True
        log.info(
            "%s %s with %s as %s",
            self.service_name,
            "registered again" if again else "registered",
            self.registry.url,
            self.service_url,
        )
        return self._idle()

    def _idle(self) -> float:
        return min(IDLE_STEP, self.heartbeat_gap / 4)

    def run(self, stopping: threading.Event) -> None:
        """Step until ``stopping`` is set."""
        while not stopping.is_set() and not self.refused:
            if stopping.wait(self.step()):
                return

    def deregister(self) -> None:
        """Tell the registry we are leaving (if it ever knew us); never raises."""
        if not self.registered:
            return
        try:
            self.registry.call("Registry.deregister", self.service_url)
            log.info("%s deregistered", self.service_name)
        except RpcError as exc:
            log.warning("%s: deregistration failed (%s); the registry will drop it", self.service_name, exc)
