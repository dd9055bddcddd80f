"""The cluster's one retry policy: whether a call may be sent again, and how long to wait.

Retries are where data gets doubled. A request that may have reached a server
is sent again only when the server can recognise the repeat (the call is
idempotent, or carries a ``request_id``); a request that never left this
process may always be sent again, to the same server or another one. Every
loop that retries asks this module: the transport, failover in
``connect()``, the registry's health checks and notifier, the log shipper
and registration.
"""

from __future__ import annotations

import http.client
import random
from dataclasses import dataclass
from typing import Callable, Iterator

from .errors import TransportError


@dataclass(frozen=True)
class Backoff:
    """How many attempts, and the pause before each one after the first.

    Pauses start at ``first`` and grow by ``factor`` up to ``longest``; each is
    spread by ``jitter`` (a fraction either way) so that many clients that
    failed together do not all come back in the same instant.
    """

    #: Attempts in all, the first included; None keeps trying.
    attempts: int | None = None
    first: float = 0.1
    factor: float = 2.0
    longest: float = 5.0
    jitter: float = 0.1

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after ``failures`` failed attempts in a row (1 or more)."""
        base = min(self.first * self.factor ** max(0, failures - 1), self.longest)
        return max(0.0, base * (1 + self.jitter * (2 * rand() - 1)))

    def pauses(self) -> Iterator[float]:
        """The pause before each attempt: 0 before the first, then ``delay(n)``."""
        failures = 0
        while self.attempts is None or failures < self.attempts:
            yield 0.0 if failures == 0 else self.delay(failures)
            failures += 1


# A request over a fresh connection, sent again at once if a reused keep-alive
# connection turns out to be closed (see was_sent).
TRANSPORT = Backoff(attempts=2, first=0.0, jitter=0.0)
# connect(): every instance once, then once more after asking the registry again.
FAILOVER_ROUNDS = 2
# Health checks: 3 attempts in quick succession, long enough to ride out a blip.
HEARTBEAT = Backoff(attempts=3, first=0.05, factor=3.0, longest=0.15)
# Service.update pushes: a few quick tries; the registry's next change corrects a miss.
NOTIFY = Backoff(attempts=3, first=0.05, factor=2.0, longest=0.2)
# Registration and log shipping keep trying until the other side is back.
REGISTRATION = Backoff(first=0.1, longest=5.0)
SHIPPING = Backoff(first=0.1, longest=5.0)

# Failures on a reused keep-alive connection that the server closed while it sat idle.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.CannotSendRequest)


def was_sent(exc: BaseException, *, connected: bool, reused: bool) -> bool:
    """Whether the request behind ``exc`` may have reached the server.

    Not sent: the connection was refused or never made. A reused keep-alive
    connection failing as a closed one is counted as not sent too: that is
    how an idle connection the server has closed fails.
    """
    if isinstance(exc, ConnectionRefusedError) or not connected:
        return False
    if reused and isinstance(exc, _STALE):
        return False
    return True


def may_send_again(error: TransportError, *, repeatable: bool = False) -> bool:
    """True when sending the call again cannot make a server do it twice.

    ``repeatable``: the server recognises a repeat (an idempotent method, or a
    call that carries a ``request_id``).
    """
    return repeatable or not error.sent
