"""The life of a service: serve, register, answer the registry, stop cleanly.

Every service (the registry aside) is a ``Service`` subclass::

    class GradingService(Service):
        name = "GradingService"                 # registers as
        required_services = ("LogService",)

        def expose(self, methods):              # its own methods
            methods.add_object("Grades", Grades(store))

``run()`` binds (port 0 works: the real port is registered), registers with
retry and backoff, answers ``Service.heartbeat`` and ``Service.update``,
registers again when a restarted registry has forgotten it, and on
SIGINT/SIGTERM deregisters and then drains in-flight requests.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from . import __version__, errors
from .client import Client
from .logs import shipping
from .discovery import ProviderTable, attach_local_table, detach_local_table, registry_url
from .dispatch import Dispatcher
from .http_server import HttpServer
from .methods import MethodTable, rpc_method
from .openrpc import document
from .wsgi import DEFAULT_MAX_BODY, RpcApp

log = logging.getLogger("rpc_cluster.service")

# Until heartbeats show the registry's real pace, assume its default interval.
ASSUMED_HEARTBEAT_INTERVAL = 3.0
MAX_REGISTER_BACKOFF = 5.0
LOG_SERVICE = "LogService"


class _ServiceMethods:
    """``Service.*``: what the registry calls on every service."""

    def __init__(self, service: "Service"):
        self._service = service

    @rpc_method
    def heartbeat(self) -> dict:
        """Answer the registry's health check."""
        self._service._heard_from_registry()
        return {"status": "ok", "service": self._service.name}

    @rpc_method
    def update(self, added: list = (), removed: list = ()) -> bool:
        """Apply a change in the providers of the services this one requires."""
        for field, entries in (("added", added), ("removed", removed)):
            if not isinstance(entries, (list, tuple)) or not all(
                isinstance(e, dict) and isinstance(e.get("service_name"), str)
                and isinstance(e.get("service_url"), str) for e in entries
            ):
                raise errors.InvalidParams.field(field, "must be a list of {service_name, service_url} objects")
        self._service.providers.update(added, removed)
        log.info("providers now %s", self._service.providers.snapshot())
        return True


class Service:
    """Base of every RPC service. Subclasses set ``name`` and override ``expose``."""

    #: The name the service registers as (e.g. "GradingService").
    name = ""
    #: Names of the services it calls; the registry tells it where they are.
    required_services: tuple[str, ...] = ()
    #: False for the registry itself.
    registers = True
    #: Ship this process's log records to the LogService (False for the log service).
    ships_logs = True
    #: Request threads when not given. Few is fastest for CPU-bound methods (they
    #: share one GIL: 1 thread did 34k trivial calls/s here, 8 threads 10k); services
    #: whose methods wait on the network or a database raise it.
    default_threads = 2

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, advertise: str | None = None,
                 registry: str | None = None, token: str | None = None, threads: int | None = None,
                 max_body: int = DEFAULT_MAX_BODY, drain_timeout: float = 10.0):
        self.advertise = advertise
        self.registry = registry_url(registry)
        self.token = token
        #: Healthy providers of ``required_services``, kept current by the registry.
        self.providers = ProviderTable()
        if self.ships_logs and self.registers and LOG_SERVICE not in self.required_services:
            self.required_services = tuple(self.required_services) + (LOG_SERVICE,)
        self._shipper: shipping.LogShipper | None = None
        self.methods = MethodTable()
        self.methods.add_object("Service", _ServiceMethods(self))
        self.expose(self.methods)
        self._dispatcher = Dispatcher(self.methods, {"rpc.discover": self.openrpc})
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._draining = False
        self.rpc_app = RpcApp(self.name, self._dispatcher, self.openrpc, token=token, max_body=max_body,
                              health=lambda: not self._draining, after_call=self.after_call)
        self._http = HttpServer(self.wsgi_app(self.rpc_app), host, port,
                                threads=threads or self.default_threads, drain_timeout=drain_timeout)
        self._registry_client = Client(self.registry, timeout=2.0, token=token)
        self._registered = False
        self._last_heartbeat = time.monotonic()
        self._heartbeat_gap = ASSUMED_HEARTBEAT_INTERVAL
        # Heartbeats since the last registration (the gap from registering to the
        # first one says nothing about the interval).
        self._heartbeats_heard = 0
        self._threads: list[threading.Thread] = []

    # -- what subclasses provide ------------------------------------------------------

    def expose(self, methods: MethodTable) -> None:
        """Add this service's own methods to ``methods`` (override in subclasses)."""

    def on_start(self) -> None:
        """Called once serving has started, before registration (override)."""

    def on_stop(self) -> None:
        """Called after serving has stopped (override to close stores, files)."""

    def wsgi_app(self, rpc_app: RpcApp) -> Any:
        """The WSGI app to serve; override to add routes around ``/rpc`` (the portal does)."""
        return rpc_app

    def after_call(self) -> None:
        """Called after each RPC request is dispatched, before it is answered (override)."""

    # -- addresses ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL others use: ``--advertise``, else the bound address."""
        if self.advertise:
            return self.advertise
        return f"{self._http.url}/rpc"

    def log_service_urls(self) -> list[str]:
        """Where this process ships its log records: the LogService instances known now."""
        return self.providers.get(LOG_SERVICE)

    def openrpc(self) -> dict[str, Any]:
        return document(self.methods, self.name or type(self).__name__, __version__)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> "Service":
        """Bind and serve; registration continues in the background."""
        self._http.start()
        if self.ships_logs:
            self._shipper = shipping.install(self.name, self.log_service_urls, token=self.token)
        log.info("%s serving at %s", self.name, self.url)
        self.on_start()
        if self.registers:
            attach_local_table(self.providers, self.required_services)
            self._spawn(self._registration_loop, "registration")
        return self

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=f"{self.name}-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Deregister, then stop serving once in-flight requests finish. Idempotent."""
        if self._stopped.is_set():
            return
        self._stopping.set()
        if self.registers and self._registered:
            try:
                self._registry_client.call("Registry.deregister", self.url)
                log.info("%s deregistered", self.name)
            except errors.RpcError as exc:
                log.warning("%s: deregistration failed (%s); the registry will drop it", self.name, exc)
        self._draining = True
        self._http.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        detach_local_table(self.providers)
        self.on_stop()
        self._stopped.set()
        log.info("%s stopped", self.name)
        shipping.uninstall(self._shipper)
        self._shipper = None

    def run(self) -> int:
        """Serve until SIGINT/SIGTERM; the process exit code."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.start()
        while not self._stopping.wait(0.5):
            pass
        self.stop()
        return 0

    def _on_signal(self, signum: int, frame: Any) -> None:
        log.info("%s: %s received, stopping", self.name, signal.Signals(signum).name)
        self._stopping.set()

    def __enter__(self) -> "Service":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- registration --------------------------------------------------------------------

    def _heard_from_registry(self) -> None:
        now = time.monotonic()
        gap = now - self._last_heartbeat
        if self._heartbeats_heard and 0.05 < gap < 60:
            # A smoothed view of the registry's interval, to know when it has gone quiet.
            # The first real gap replaces the assumed one outright.
            self._heartbeat_gap = gap if self._heartbeats_heard == 1 else 0.7 * self._heartbeat_gap + 0.3 * gap
        self._heartbeats_heard += 1
        self._last_heartbeat = now

    def _registry_forgot_us(self) -> bool:
        # Aggressive on purpose: a false alarm costs one Registry.lookup (see
        # _still_listed), while a restarted registry should be repopulated within
        # two of its intervals.
        silence = time.monotonic() - self._last_heartbeat
        return silence > 1.25 * self._heartbeat_gap + 0.1

    def _register(self) -> None:
        answer = self._registry_client.call(
            "Registry.register", self.name, self.url, list(self.required_services))
        self.providers.replace(answer.get("providers", {}))
        self._last_heartbeat = time.monotonic()
        self._heartbeats_heard = 0

    def _still_listed(self) -> bool:
        return self.url in self._registry_client.call("Registry.lookup", self.name)

    def _registration_loop(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            if not self._registered or self._registry_forgot_us():
                again = self._registered
                try:
                    if again and self._still_listed():
                        # Only slower than we guessed: learn its pace instead of re-registering.
                        self._heartbeat_gap = min(self._heartbeat_gap * 1.5, 60.0)
                        self._last_heartbeat = time.monotonic()
                        continue
                    self._register()
                except errors.RpcError as exc:
                    log.warning("%s: registry %s not reachable (%s); retrying in %.1f s",
                                self.name, self.registry, exc, backoff)
                    self._stopping.wait(backoff)
                    backoff = min(backoff * 2, MAX_REGISTER_BACKOFF)
                    continue
                backoff = 0.1
                self._registered = True
                log.info("%s %s with %s as %s", self.name, "registered again" if again else "registered",
                         self.registry, self.url)
            self._stopping.wait(min(0.25, self._heartbeat_gap / 4))
