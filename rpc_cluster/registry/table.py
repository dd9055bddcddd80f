"""The registry's table of registrations and its state transitions.

A plain class with no threads or sockets: every rule of the registry
(replace on re-register, passing/critical, dropping after a while, who must
be told about what) lives here and is tested with a fake clock. Methods
that change a provider's availability return the ``Notice``s to send, and
hand them to ``notify`` before the change is visible to anyone else, so
notices reach it in the order of the changes. (Sent after the lock was
released, a removal recorded by a health check could overtake the addition
of the provider registering again at that moment, and leave a dependent
without a provider the registry listed as passing.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..core.errors import NotFound, ServiceUnavailable

PASSING = "passing"
CRITICAL = "critical"


@dataclass
class Registration:
    service_name: str
    service_url: str
    required_services: tuple[str, ...]
    #: "passing" or "critical".
    status: str = PASSING
    #: Wall-clock times, for people.
    registered_at: float = 0.0
    last_checked: float | None = None
    #: Consecutive failed health checks.
    failures: int = 0
    #: Clock time it turned critical (None while passing), for --deregister-after.
    critical_since: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "service_name": self.service_name,
            "service_url": self.service_url,
            "required_services": list(self.required_services),
            "status": self.status,
            "registered_at": _iso(self.registered_at),
            "last_checked": _iso(self.last_checked) if self.last_checked is not None else None,
            "failures": self.failures,
        }


@dataclass
class Notice:
    """One ``Service.update`` to send to ``recipient``."""

    recipient: str
    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RegistryTable:
    """Registrations by URL. Thread-safe: every public method takes the lock."""

    def __init__(
        self,
        *,
        deregister_after: float = 60.0,
        max_registrations: int | None = None,
        notify: Callable[[list[Notice]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        self.deregister_after = deregister_after
        #: New URLs are refused beyond this many registrations (None: no limit).
        self.max_registrations = max_registrations
        # Called with each change's notices under the lock: it must only queue them.
        self._notify = notify
        self._clock = clock
        self._wall = wall
        self._by_url: dict[str, Registration] = {}
        self._lock = threading.Lock()

    # -- queries ---------------------------------------------------------------------

    def lookup(self, service_name: str) -> list[str]:
        """URLs of the passing instances of ``service_name``, oldest registration first."""
        with self._lock:
            return [
                r.service_url for r in self._by_url.values() if r.service_name == service_name and r.status == PASSING
            ]

    def providers_for(self, required: Iterable[str]) -> dict[str, list[str]]:
        return {name: self.lookup(name) for name in required}

    def services(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_dict() for r in self._by_url.values()]

    def urls(self) -> list[str]:
        with self._lock:
            return list(self._by_url)

    def check_order(self) -> list[str]:
        """Every URL, passing ones first: a crowd of dead registrations cannot delay a live one."""
        with self._lock:
            return [url for url, r in self._by_url.items() if r.status == PASSING] + [
                url for url, r in self._by_url.items() if r.status != PASSING
            ]

    def get(self, service_url: str) -> Registration | None:
        with self._lock:
            return self._by_url.get(service_url)

    def check_room(self, service_url: str) -> None:
        """Raise ServiceUnavailable (503) if ``service_url`` is new and the table is full."""
        with self._lock:
            self._check_room(service_url)

    def _check_room(self, service_url: str) -> None:
        if (
            service_url not in self._by_url
            and self.max_registrations is not None
            and len(self._by_url) >= self.max_registrations
        ):
            raise ServiceUnavailable(
                f"Registry full: it holds {len(self._by_url)} registrations, the most that "
                f"--max-registrations ({self.max_registrations}) allows; deregister one or raise the limit",
                {"max_registrations": self.max_registrations, "service_url": service_url},
            )

    def expired(self) -> list[str]:
        """URLs critical for longer than ``deregister_after``."""
        now = self._clock()
        with self._lock:
            return [
                url
                for url, reg in self._by_url.items()
                if reg.critical_since is not None and now - reg.critical_since > self.deregister_after
            ]

    def checks(self) -> dict[str, tuple[float | None, int]]:
        """Each URL's last check (wall clock) and consecutive failures."""
        with self._lock:
            return {url: (reg.last_checked, reg.failures) for url, reg in self._by_url.items()}

    def note_checks(self, checks: dict[str, tuple[float | None, int]]) -> None:
        """Take the last checks and failure counts another registry made (no status change)."""
        with self._lock:
            for url, (last_checked, failures) in checks.items():
                reg = self._by_url.get(url)
                if reg is not None:
                    reg.last_checked, reg.failures = last_checked, failures

    def registered_at(self, service_name: str, service_url: str) -> float:
        """The registration time that registering ``service_name`` at ``service_url`` now gives.

        Kept while the same service registers again and stays passing (a restart
        that nobody noticed), else now (wall clock).
        """
        with self._lock:
            return self._registered_at(self._by_url.get(service_url), service_name)

    def _registered_at(self, old: Registration | None, service_name: str) -> float:
        if old is not None and old.status == PASSING and old.service_name == service_name:
            return old.registered_at
        return self._wall()

    def note_registered_at(self, service_url: str, registered_at: float) -> None:
        """Take the registration time another registry gave ``service_url`` (the etcd store)."""
        with self._lock:
            reg = self._by_url.get(service_url)
            if reg is not None:
                reg.registered_at = registered_at

    def __len__(self) -> int:
        return len(self._by_url)

    # -- changes ---------------------------------------------------------------------

    def register(
        self, service_name: str, service_url: str, required_services: Iterable[str] = (), *, enforce_limit: bool = True
    ) -> tuple[dict[str, list[str]], list[Notice]]:
        """Add or replace the registration at ``service_url``.

        Returns the providers of its required services and the notices to send.
        A re-registration that changes nothing notifies nobody. A new URL
        beyond ``max_registrations`` is refused with ServiceUnavailable (503).
        """
        required = tuple(dict.fromkeys(required_services))
        with self._lock:
            old = self._by_url.get(service_url)
            if enforce_limit:
                self._check_room(service_url)
            notices: list[Notice] = []
            if old is not None and old.status == PASSING and old.service_name != service_name:
                notices += self._notices(old, removed=True)
            was_available = old is not None and old.status == PASSING and old.service_name == service_name
            self._by_url[service_url] = Registration(
                service_name,
                service_url,
                required,
                registered_at=self._registered_at(old, service_name),
                last_checked=old.last_checked if old else None,
            )
            if not was_available:
                notices += self._notices(self._by_url[service_url], removed=False)
            self._changed(notices)
        return self.providers_for(required), notices

    def deregister(self, service_url: str) -> list[Notice]:
        """Remove a registration; raises NotFound for an unknown URL."""
        with self._lock:
            old = self._by_url.pop(service_url, None)
            if old is None:
                raise NotFound(f"No service registered at {service_url}", {"service_url": service_url})
            return self._changed(self._notices(old, removed=True) if old.status == PASSING else [])

    def record_success(self, service_url: str) -> list[Notice]:
        """A health check answered: critical turns passing, and dependents hear of it."""
        with self._lock:
            reg = self._by_url.get(service_url)
            if reg is None:
                return []
            reg.last_checked = self._wall()
            reg.failures = 0
            if reg.status == PASSING:
                return []
            reg.status, reg.critical_since = PASSING, None
            return self._changed(self._notices(reg, removed=False))

    def record_failure(self, service_url: str) -> list[Notice]:
        """A health check failed (all its attempts): passing turns critical."""
        with self._lock:
            reg = self._by_url.get(service_url)
            if reg is None:
                return []
            reg.last_checked = self._wall()
            reg.failures += 1
            if reg.status == CRITICAL:
                return []
            reg.status, reg.critical_since = CRITICAL, self._clock()
            return self._changed(self._notices(reg, removed=True))

    def drop_expired(self) -> list[str]:
        """Drop services critical for longer than ``deregister_after``; their URLs.

        Their dependents were already told when they turned critical.
        """
        expired = self.expired()
        with self._lock:
            for url in expired:
                self._by_url.pop(url, None)
        return expired

    def _changed(self, notices: list[Notice]) -> list[Notice]:
        """Hand a change's notices to ``notify`` while the change is still ours alone (lock held)."""
        if notices and self._notify is not None:
            self._notify(notices)
        return notices

    def _notices(self, changed: Registration, *, removed: bool) -> list[Notice]:
        entry = {"service_name": changed.service_name, "service_url": changed.service_url}
        notices = []
        for reg in self._by_url.values():
            if changed.service_name in reg.required_services and reg.service_url != changed.service_url:
                notices.append(
                    Notice(reg.service_url, removed=[entry]) if removed else Notice(reg.service_url, added=[entry])
                )
        return notices
