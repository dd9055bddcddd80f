"""Calling a service by name: ``connect()`` and the ``ServiceClient`` it makes.

A running service keeps a ``ProviderTable`` that the registry updates by
pushing ``Service.update``. A client made by ``service.connect(name)`` reads
that table; one made by ``connect(name)`` (a REPL) asks the registry again
every few seconds. Either way it spreads calls round-robin over the healthy
URLs and moves on when one refuses the connection.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Collection, Iterator
from typing import Any

from ..core import errors
from . import retry
from .client import DEFAULT_TIMEOUT, Client, _RemoteDoc
from .providers import ProviderTable
from .registry_client import RegistryClient
from .transport import Transport

# How long an instance that refused a connection is skipped.
QUARANTINE_SECONDS = 2.0


# How long the last instances known are tried once the registry names none: long enough for a
# registry back from its own partition to check everyone again (an interval, 3 s by default).
LAST_KNOWN_SECONDS = 10.0
# How soon a registry that listed no instance is asked again (the usual refresh is 2 s).
EMPTY_REFRESH_SECONDS = 0.25


class InstanceBook:
    """What a client knows of a service's instances, with no I/O: shared by ``ServiceClient`` and its asyncio face.

    The URLs the registry named last and when, the last ones known, the ones
    that refused lately, and the round-robin: each rule lives here once, and
    a subclass only asks the registry (with threads, or awaited).
    """

    #: How soon the registry is asked again (seconds).
    refresh: float

    def __init__(self, service_name: str, refresh: float):
        self.service_name = service_name
        self.refresh = refresh
        self._polled: list[str] = []
        self._polled_at = float("-inf")
        self._last_known: list[str] = []
        self._last_known_at = float("-inf")
        self._refused: dict[str, float] = {}
        self._rr = itertools.count()

    def _remember(self, urls: list[str]) -> list[str]:
        """The instances to call: ``urls`` (the ones named now), else the last ones known.

        The registry can name none for a moment when it is wrong: just after a
        partition of its own heals it still holds everyone critical until its
        next checks, and registrations made then hand out empty lists. The last
        instances known are tried then, for LAST_KNOWN_SECONDS; ones that are
        really gone refuse or time out, and the caller gets the 503 it would
        have got.
        """
        now = time.monotonic()
        if urls:
            self._last_known, self._last_known_at = urls, now
            return urls
        # Only for a moment: instances the registry has rightly dropped would cost every call a timeout.
        return self._last_known if now - self._last_known_at <= LAST_KNOWN_SECONDS else []

    def _due(self, force: bool) -> bool:
        """Whether the registry is to be asked again now."""
        # An empty answer is asked again sooner: a provider that is just starting is listed
        # within moments, and a page should not fail for the whole refresh period meanwhile.
        refresh = self.refresh if self._polled else min(self.refresh, EMPTY_REFRESH_SECONDS)
        return force or time.monotonic() - self._polled_at > refresh

    def _heard(self, urls: list[str] | None) -> None:
        """Record the registry's answer: ``urls``, or None when it could not be reached (keep what we knew)."""
        if urls is not None:
            self._polled = urls
        self._polled_at = time.monotonic()

    def _rotate(self, urls: list[str]) -> list[str]:
        """This call's candidates among ``urls``: round-robin start, refused ones last."""
        if not urls:
            return []
        start = next(self._rr) % len(urls)
        rotated = urls[start:] + urls[:start]
        now = time.monotonic()
        fresh = [u for u in rotated if self._refused.get(u, 0.0) <= now]
        return fresh + [u for u in rotated if u not in fresh]

    def refused(self, url: str) -> None:
        self._refused[url] = time.monotonic() + QUARANTINE_SECONDS


class _Instances(InstanceBook):
    """Where a ServiceClient's URLs come from: a pushed table, or registry polling."""

    def __init__(
        self,
        service_name: str,
        registry: str | None,
        token: str | None,
        refresh: float,
        providers: ProviderTable | None,
        transport: Transport,
    ):
        super().__init__(service_name, refresh)
        self._table = providers
        self._registry = RegistryClient(registry, timeout=2.0, token=token, transport=transport)
        self._lock = threading.Lock()

    def urls(self, force: bool = False) -> list[str]:
        """The instances to call: pushed, else asked of the registry, else the last ones known (``_remember``)."""
        return self._remember(self._named(force))

    def _named(self, force: bool) -> list[str]:
        if self._table is not None:
            urls = self._table.get(self.service_name)
            if urls:
                return urls
            # Nothing pushed yet (a provider that has just registered may still be on
            # its way): ask the registry, as a client outside any service does.
        if self._due(force):
            with self._lock:
                if self._due(force):
                    self._heard(self._lookup())
        return self._polled

    def _lookup(self) -> list[str] | None:
        try:
            return list(self._registry.call("Registry.lookup", self.service_name))
        except errors.TransportError:
            return None  # registry unreachable: keep using what we knew

    def order(self) -> list[str]:
        """This call's candidates: round-robin start, refused ones last."""
        return self._rotate(self.urls())


class Walk:
    """One call's way over a service's instances: each tried once, and what a failure allows.

    Shared by ``ServiceClient`` and its asyncio face, which differ only in how they send.
    """

    def __init__(self, service_name: str, repeatable: bool):
        self.service_name = service_name
        self.repeatable = repeatable
        self.tried: list[str] = []
        self.sent = False

    def untried(self, urls: list[str]) -> Iterator[str]:
        """The ones of ``urls`` not tried yet in this call, each counted as tried when it is taken."""
        for url in urls:
            if url not in self.tried:
                self.tried.append(url)
                yield url

    def failed(self, exc: errors.TransportError, url: str, instances: InstanceBook) -> None:
        """Note that ``url`` failed; raise ``exc`` when the call may not go to another instance."""
        # Another instance gets the call only if this one cannot have run it,
        # or will recognise it as a repeat (retry.py).
        if not retry.may_send_again(exc, repeatable=self.repeatable):
            raise exc
        self.sent = self.sent or exc.sent
        instances.refused(url)

    def exhausted(self) -> NoHealthyProvider:
        """The error of a call that no instance took."""
        detail = f"tried {self.tried}" if self.tried else "the registry lists no healthy instance"
        return NoHealthyProvider(f"rpc: no healthy provider of {self.service_name}", detail, sent=self.sent)


class ServiceClient(Client):
    __doc__ = _RemoteDoc("A Client for every healthy instance of one service (see ``connect``).")

    def __init__(
        self,
        service_name: str,
        *,
        registry: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        token: str | None = None,
        refresh: float = 2.0,
        providers: ProviderTable | None = None,
        transport: Transport | None = None,
        tls_ca: str | None = None,
        read_only: Collection[str] = (),
    ):
        super().__init__(
            f"service:{service_name}",
            timeout=timeout,
            token=token,
            transport=transport,
            tls_ca=tls_ca,
            read_only=read_only,
        )
        self.service_name = service_name
        self.instances = _Instances(service_name, registry, self.token, refresh, providers, self._transport)

    def __repr__(self) -> str:
        return f"<ServiceClient {self.service_name} {self.instances.urls()}>"

    def _exchange(self, body: bytes, repeatable: bool = False) -> Any:
        walk = Walk(self.service_name, repeatable)
        for round_ in range(retry.FAILOVER_ROUNDS):
            if round_:
                self.instances.urls(force=True)
            for url in walk.untried(self.instances.order()):
                try:
                    return self._post(url, body, repeatable)
                except errors.TransportError as exc:
                    walk.failed(exc, url, self.instances)
        raise walk.exhausted()

    def _remote_doc(self, prefix: str = "") -> str:
        return super()._remote_doc(prefix).replace(self.url, self.service_name, 1)


class NoHealthyProvider(errors.ServiceUnavailable, errors.TransportError):
    """No instance of the service could be reached (code 503)."""


def connect(
    service_name: str,
    registry: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    token: str | None = None,
    tls_ca: str | None = None,
    read_only: Collection[str] = (),
) -> ServiceClient:
    """A client for ``service_name``, resolved through the registry.

    It spreads calls over the healthy instances, asks the registry again
    every few seconds, and fails over when an instance refuses the
    connection. Inside a service, use ``service.connect(name)``: it follows
    the registry's pushes instead. ``tls_ca``: the CA file that ``https://``
    instances and registries are verified against (default ``$RPC_CLUSTER_TLS_CA``).
    ``read_only``: methods that change nothing, so a call that timed out on
    one instance goes to another (``retry.is_repeatable``).
    """
    return ServiceClient(
        service_name, registry=registry, timeout=timeout, token=token, tls_ca=tls_ca, read_only=read_only
    )
