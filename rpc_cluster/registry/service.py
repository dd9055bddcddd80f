"""``Registry.*`` over RPC: a thin wrapper around the table, checker and notifier."""

from __future__ import annotations

import argparse
import collections
import logging
from dataclasses import dataclass
from typing import Any, Unpack

from ..client.envelope import decode_answer, request_headers
from ..client.registry_client import DEFAULT_REGISTRY_PORT
from ..core.errors import InvalidParams, StartError
from ..core.methods import MethodTable, rpc_method
from ..net import urls
from ..runtime import flags, runner
from ..runtime.service import Service, ServiceOptions
from .etcd.gateway import EtcdUnavailable, parse_url
from .health_check import HealthChecker
from .notifier import Notifier
from .store import RegistryStore, open_store
from .table import CRITICAL, PASSING

log = logging.getLogger("rpc_cluster.registry")

MAX_NAME = 200
# Names in one registration's required_services, at most. Each is copied into every lookup
# of the registration and every listing: a 1 MiB list made register take 1.8 s at 300
# registrations, and a few such entries pushed Registry.services() past --max-response-bytes.
MAX_REQUIRED = 64
# Registrations the registry holds at most, by default. Each dead one costs every round
# 3 heartbeat attempts of about 0.1 ms of CPU each (refused on loopback, measured on
# 2 cores): 5,000 dead ones take 1.5 s of one core per round, half a 3 s interval,
# and the benchmark's 2,000 services fit with room to spare.
MAX_REGISTRATIONS = 5000


def _check_name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidParams.field(field, "must be a non-empty string")
    # Printable as Log.write has it: no control or format character (U+009B, U+202E, U+200B),
    # no unassigned one (U+FFFF) and no lone surrogate, which no UTF-8 page or terminal can carry.
    if len(value) > MAX_NAME or not value.isprintable():
        raise InvalidParams.field(field, f"must be at most {MAX_NAME} printable characters")
    return value


def _check_url(field: str, value: Any) -> str:
    """``value`` as given, once ``urls.parse`` takes it; stored as given, so register, deregister and lookup agree."""
    try:
        return urls.check(value)
    except urls.BadUrl as exc:
        raise InvalidParams.field(
            field, f"must be an http(s)://host:port/path URL the registry can check: {exc}"
        ) from None


def _check_required(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)):
        raise InvalidParams.field("required_services", "must be a list of service names")
    if len(value) > MAX_REQUIRED:
        raise InvalidParams.field("required_services", f"must name at most {MAX_REQUIRED} services, not {len(value)}")
    return [_check_name("required_services", name) for name in value]


def _by_status(store: RegistryStore) -> dict[tuple[str, ...], float]:
    """{(status,): registrations}, every status present (a zero is a fact too).

    From the registry's own table: a scrape never waits on etcd.
    """
    counts = collections.Counter(row["status"] for row in store.table.services())
    return {(status,): counts.get(status, 0) for status in sorted({PASSING, CRITICAL} | set(counts))}


class Registry:
    """The ``Registry`` namespace, over either store (``store.py``).

    The annotations of the RPC methods are on the wire as written: the OpenRPC
    schema (``rpc.discover``) and ``system.methodHelp`` print them, so they keep
    their bare ``list`` and ``dict`` (hence the ignores) and answers stay byte for byte.
    """

    def __init__(self, table: RegistryStore):
        self._table = table

    @rpc_method
    def register(self, service_name: str, service_url: str, required_services: list = ()) -> dict:  # type: ignore[type-arg, assignment]
        """Register (or replace) a service; returns the healthy providers of its requirements.

        A new URL beyond ``--max-registrations`` is refused with a 503 error.
        """
        _check_name("service_name", service_name)
        _check_url("service_url", service_url)
        required_services = _check_required(required_services)
        providers, _ = self._table.register(service_name, service_url, required_services)
        log.info("registered %s at %s (requires %s)", service_name, service_url, list(required_services))
        return {"providers": providers}

    @rpc_method
    def deregister(self, service_url: str) -> bool:
        """Remove a registration; unknown URL is a 404 error."""
        # Only its type and length: a registration an older release accepted under a looser
        # URL rule (kept in etcd) must stay removable by its owner.
        if not isinstance(service_url, str) or not 0 < len(service_url) <= urls.MAX_URL_LENGTH:
            raise InvalidParams.field("service_url", f"must be a URL of 1 to {urls.MAX_URL_LENGTH:,} characters")
        self._table.deregister(service_url)
        log.info("deregistered %s", service_url)
        return True

    @rpc_method
    def lookup(self, service_name: str) -> list:  # type: ignore[type-arg]
        """URLs of the healthy (passing) instances of a service; may be empty."""
        return self._table.lookup(_check_name("service_name", service_name))

    @rpc_method
    def services(self) -> list:  # type: ignore[type-arg]
        """Every registration with its status, last check, failure count and the registry checking it."""
        return self._table.services()


@dataclass(frozen=True)
class _Opened:
    """What the registry's ``open()`` makes and ``on_stop()`` ends."""

    notifier: Notifier
    store: RegistryStore
    health_check: HealthChecker


class RegistryService(Service):
    """The registry process: serves ``Registry.*`` and runs the health checks."""

    name = "Registry"
    registers = False

    def __init__(
        self,
        *,
        heartbeat_interval: float = 3.0,
        heartbeat_timeout: float | None = None,
        deregister_after: float = 60.0,
        push_workers: int = 64,
        max_registrations: int | None = MAX_REGISTRATIONS,
        store: str = "memory",
        leader_ttl: int = 5,
        **options: Unpack[ServiceOptions],
    ):
        super().__init__(**options)
        #: ``--store``: "memory", or etcd://HOST:PORT[,HOST:PORT...][/PREFIX] for several registries.
        self.store_url = store
        self.leader_ttl = leader_ttl
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.deregister_after = deregister_after
        #: Threads that push changes to the services that require them (``--check-workers``).
        self.push_workers = push_workers
        self.max_registrations = max_registrations
        self._opened: _Opened | None = None

    def open(self) -> None:
        notifier = Notifier(self._post, workers=self.push_workers)
        try:
            store = open_store(
                self.store_url,
                deregister_after=self.deregister_after,
                max_registrations=self.max_registrations,
                notify=notifier.send,
                leader_ttl=self.leader_ttl,
                summary_interval=self.heartbeat_interval,
            )
        except ValueError as exc:
            notifier.close()
            raise StartError(str(exc)) from None
        self.metrics.gauge("registry_services", "Registrations by status", lambda: _by_status(store), ("status",))
        heartbeats = self.metrics.counter(
            "registry_heartbeats", "Health checks by outcome (passing: answered)", ("outcome",)
        )
        passing, failing = heartbeats.labels("passing"), heartbeats.labels("failed")
        rounds = self.metrics.histogram(
            "registry_check_round_duration_seconds", "Seconds from a round's start until its last check is recorded"
        )
        health_check = HealthChecker(
            store,
            interval=self.heartbeat_interval,
            timeout=self.heartbeat_timeout,
            token=self.token,
            ssl_context=self.transport.ssl_context,
            on_check=lambda alive: (passing if alive else failing).inc(),
            on_round=rounds.observe,
        )
        self._opened = _Opened(notifier, store, health_check)

    def _open(self) -> _Opened:
        """What ``open()`` made; RuntimeError before it."""
        if self._opened is None:
            raise RuntimeError("rpc: the registry has a store only once open() (start()) has opened it")
        return self._opened

    @property
    def store(self) -> RegistryStore:
        """The registrations (a MemoryStore or an EtcdStore), from ``open()``."""
        return self._open().store

    @property
    def notifier(self) -> Notifier:
        """Pushes changes to the services that require them, from ``open()``."""
        return self._open().notifier

    @property
    def health_check(self) -> HealthChecker:
        """Checks every registration in rounds, from ``open()``."""
        return self._open().health_check

    def _post(self, url: str, body: bytes, timeout: float) -> Any:
        """One heartbeat or push: the decoded answer, or a typed error."""
        status, data = self.transport.post(url, body, request_headers(self.token), timeout)
        return decode_answer(url, status, data)

    def expose(self, methods: MethodTable) -> None:
        # In memory, every Registry method takes microseconds: it runs on the event loop.
        inline = ("register", "deregister", "lookup", "services") if self.store.in_memory else ()
        methods.add_object("Registry", Registry(self.store), inline=inline)

    def providers_of(self, service_name: str) -> list[str]:
        # The registry is told nothing: it knows.
        return self.store.lookup(service_name)

    def on_start(self) -> None:
        # Checks first (they check nothing while another registry leads), then the store:
        # a registry that takes over checks at once, not at its next round.
        opened = self._open()
        opened.health_check.start()
        opened.store.on_leading = opened.health_check.check_round
        try:
            opened.store.start(self.url)
        except EtcdUnavailable as exc:
            raise StartError(f"cannot reach the store {self.store_url!r}: {exc}") from None

    def on_stop(self) -> None:
        opened = self._opened
        if opened is not None:
            opened.health_check.stop()
            opened.store.stop()
            opened.notifier.close()


def _store_url(text: str) -> str:
    if text == "memory":
        return text
    try:
        parse_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    flags.add_service_flags(parser, "RPC_CLUSTER_REGISTRY", DEFAULT_REGISTRY_PORT, registry=False)
    flags.add_flag(
        parser,
        "--heartbeat-interval",
        "RPC_CLUSTER_HEARTBEAT_INTERVAL",
        3.0,
        "seconds between health checks of each service",
        type=flags.positive_seconds,
    )
    flags.add_flag(
        parser,
        "--heartbeat-timeout",
        "RPC_CLUSTER_HEARTBEAT_TIMEOUT",
        None,
        "per-call health-check timeout in seconds (default: min(1, interval/3))",
        type=flags.positive_seconds,
    )
    flags.add_flag(
        parser,
        "--deregister-after",
        "RPC_CLUSTER_DEREGISTER_AFTER",
        60.0,
        "drop a service critical for this many seconds",
        type=flags.positive_seconds,
    )
    flags.add_flag(
        parser,
        "--check-workers",
        "RPC_CLUSTER_CHECK_WORKERS",
        64,
        "threads that push registration changes to the services that require them",
        type=flags.positive_int,
    )
    flags.add_flag(
        parser,
        "--store",
        "RPC_CLUSTER_REGISTRY_STORE",
        "memory",
        "where registrations live: memory (this process), or etcd://HOST:PORT[,HOST:PORT...][/PREFIX] "
        "to run several registries on one etcd cluster",
        type=_store_url,
    )
    flags.add_flag(
        parser,
        "--leader-ttl",
        "RPC_CLUSTER_LEADER_TTL",
        5,
        "with etcd: seconds before another registry takes over checks from a dead one",
        type=flags.positive_int,
    )
    flags.add_flag(
        parser,
        "--max-registrations",
        "RPC_CLUSTER_MAX_REGISTRATIONS",
        MAX_REGISTRATIONS,
        "registrations held at most; a new URL beyond them is refused (503)",
        type=flags.positive_int,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the registry in the foreground (``rpc-cluster registry``)."""
    return runner.service_main(
        argv,
        prog="rpc-cluster registry",
        description="Run the service registry.",
        add_arguments=add_arguments,
        make=lambda args: RegistryService(
            heartbeat_interval=args.heartbeat_interval,
            heartbeat_timeout=args.heartbeat_timeout,
            deregister_after=args.deregister_after,
            push_workers=args.check_workers,
            max_registrations=args.max_registrations,
            store=args.store,
            leader_ttl=args.leader_ttl,
            **flags.service_kwargs(args),
        ),
    )
