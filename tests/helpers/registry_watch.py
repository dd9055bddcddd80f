"""Watching a live registry from a test: how often one service is checked, how fast a kill is seen."""

from __future__ import annotations

import itertools
import signal
import time

from helpers.waiting import wait_until


def service_row(registry, url: str) -> dict | None:
    """The ``Registry.services()`` row of ``url``, or None."""
    return next((row for row in registry.Registry.services() if row["service_url"] == url), None)


def check_gaps(registry, url: str, seconds: float) -> list[float]:
    """Seconds between the changes of ``url``'s ``last_checked``, watched for ``seconds``."""
    checks: list[tuple[float, str]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = service_row(registry, url)
        if row and (not checks or row["last_checked"] != checks[-1][1]):
            checks.append((time.monotonic(), row["last_checked"]))
        time.sleep(0.05)
    return [later[0] - earlier[0] for earlier, later in itertools.pairwise(checks)]


def kill_detection_time(registry, proc, service_name: str) -> float:
    """SIGKILL ``proc`` (the only provider of ``service_name``); seconds until lookup no longer lists it."""
    proc.signal(signal.SIGKILL)
    killed = time.monotonic()
    wait_until(lambda: registry.Registry.lookup(service_name) == [], 10, interval=0.02, message="the kill noticed")
    return time.monotonic() - killed
