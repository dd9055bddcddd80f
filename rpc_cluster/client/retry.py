"""The cluster's one retry policy: whether a call may be sent again, and how long to wait.

Retries are where data gets doubled. A request that may have reached a server
is sent again only when the server can recognise the repeat (the call is
idempotent, or carries a ``request_id``); a request that never left this
process may always be sent again, to the same server or another one. Every
loop that retries asks this module: the transport, failover in
``connect()``, the registry's health checks and notifier, the log shipper,
registration, ``rpc-cluster logs -f`` and the PostgreSQL grade store's
deadlocked transactions.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from ..core.errors import CallTimeout, TransportError


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


# A request is sent again at once, once, when may_send_again allows it (a connection
# that broke before the request was written; or any lost connection for a call that
# carries a request_id).
TRANSPORT = Backoff(attempts=2, first=0.0, jitter=0.0)
# connect(): every instance once, then once more after asking the registry again.
FAILOVER_ROUNDS = 2
# Health checks: 3 attempts in quick succession, long enough to ride out a blip.
HEARTBEAT = Backoff(attempts=3, first=0.05, factor=3.0, longest=0.15)
# Service.update pushes: a few quick tries; the registry's next change corrects a miss.
NOTIFY = Backoff(attempts=3, first=0.05, factor=2.0, longest=0.2)
# Registration and log shipping keep trying until the other side is back.
REGISTRATION = Backoff(first=0.1, longest=5.0)
# Registering again when no heartbeat followed the last registration: the registry
# hears us but cannot reach us (a wrong --advertise, a one-way partition), and each
# registration would list us as passing to our dependents for a while.
UNHEARD = Backoff(first=3.0, longest=60.0)
SHIPPING = Backoff(first=0.1, longest=5.0)
# rpc-cluster logs -f while the log service is lost: soon at first, then every few seconds.
LOG_FOLLOW = Backoff(first=0.5, longest=5.0)
# A store transaction the database rolled back whole to break a deadlock or a serialization
# conflict runs again (its request_id claim was rolled back with it): a few quick tries,
# spread so that the two transactions that collided do not collide again.
STORE_CONFLICT = Backoff(attempts=5, first=0.02, factor=3.0, longest=0.5, jitter=0.5)


def was_sent(exc: BaseException, *, connected: bool, receiving: bool) -> bool:
    """Whether the request behind a failed exchange may have reached the server.

    Not sent: the connection was never made (refused, unreachable), or it
    broke while the request was still being written (the server had already
    reset it, so it cannot have read the whole request, and it runs nothing
    before it has). Once the request is written, a lost connection looks the
    same whether the server died before reading it or after doing the work:
    sent.
    """
    if not connected or isinstance(exc, ConnectionRefusedError):
        return False
    if not receiving and isinstance(exc, (BrokenPipeError, ConnectionResetError)):
        return False
    # An SSLError before the request was written is a failed handshake: not sent.
    return receiving or not isinstance(exc, ssl.SSLError)


def may_send_again(error: TransportError, *, repeatable: bool = False) -> bool:
    """True when sending the call again cannot make a server do it twice.

    ``repeatable``: the server recognises a repeat (the call carries a
    ``request_id``, see ``carries_request_id``; or the method is idempotent).
    """
    return repeatable or not error.sent


def transport_may_resend(error: TransportError, attempts_made: int, *, repeatable: bool = False) -> bool:
    """Whether a transport sends a failed request once more itself, after ``attempts_made`` (``TRANSPORT``).

    Only when ``may_send_again`` allows it, and never after a timeout: the
    caller's time is spent, and a slow server is not helped by a second copy.
    The threaded and the asyncio transports both ask this.
    """
    if attempts_made >= (TRANSPORT.attempts or 1) or isinstance(error, CallTimeout):
        return False
    return may_send_again(error, repeatable=repeatable)


def carries_request_id(params: Any) -> bool:
    """Whether a call's params name a ``request_id``, so its server recognises a repeat."""
    return isinstance(params, dict) and params.get("request_id") is not None


def is_repeatable(method: str, params: Any, read_only: Collection[str] = ()) -> bool:
    """Whether a call may be sent again after it may have reached a server.

    Yes for a method that changes nothing (``read_only``: the caller names
    them, e.g. ``grading.reads.READ_ONLY``), and for one carrying a
    ``request_id``. A read that timed out on a cut-off instance then goes to
    another one instead of failing the page that needed it.
    """
    return method in read_only or carries_request_id(params)
