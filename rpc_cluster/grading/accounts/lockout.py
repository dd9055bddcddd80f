"""When failed sign-ins lock a username or a client out: the rule alone, over the failures' times.

Five failures for one username within 15 minutes lock that username for 15
minutes from the fifth; thirty from one client address within 15 minutes lock
that client the same way. A locked sign-in is refused before any password is
checked and is not itself a failure, so a lock ends when it says it will, even
under a steady attack. The failures are rows shared by every grading instance
(``store.py``); a success clears its username's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Failures count over this many seconds, and a lock lasts as long.
WINDOW = 15 * 60.0
#: Failures for one username (lowercased, known or not) that lock it.
USERNAME_LIMIT = 5
#: Failures from one client address, over every username, that lock it.
CLIENT_LIMIT = 30
#: How long a failure is kept: a lock that began one WINDOW ago rests on failures up to a
#: WINDOW before it, so a row matters for two windows, and is deleted after.
KEEP = 2 * WINDOW


def locked_until(times: Sequence[float], limit: int) -> float | None:
    """When the latest lock made by ``times`` (failure times, ascending) ends; None if they made none.

    A lock begins at a failure that is the ``limit``-th within WINDOW (it and
    the ``limit - 1`` before it span at most WINDOW seconds) and lasts WINDOW.
    """
    for last in range(len(times) - 1, limit - 2, -1):
        if times[last] - times[last - limit + 1] <= WINDOW:
            return times[last] + WINDOW
    return None


def retry_after(now: float, username_times: Sequence[float], client_times: Sequence[float]) -> int | None:
    """Whole seconds until a sign-in for this username from this client may be tried; None if now."""
    ends = [
        end
        for end in (locked_until(username_times, USERNAME_LIMIT), locked_until(client_times, CLIENT_LIMIT))
        if end is not None and end > now
    ]
    return math.ceil(max(ends) - now) if ends else None
