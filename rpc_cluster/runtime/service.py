"""The life of a service: serve, register, answer the registry, stop cleanly.

Every service (the registry aside) is a ``Service`` subclass::

    class GradingService(Service):
        name = "GradingService"                 # registers as
        required_services = ("LogService",)

        def expose(self, methods):              # its own methods
            methods.add_object("Grades", Grades(self.store))

A service is assembled from parts, each with one job:

- the method table and its HTTP app (``RpcApp``), built in ``start()``;
- the HTTP server (``HttpServer``), bound in ``start()`` (port 0 works: the
  real port is registered);
- ``Registration``: registers with retry and backoff, follows the registry's
  pace, registers again when a restarted registry has forgotten it, and
  deregisters on stop;
- its ``ProviderTable``, kept current by the registry's ``Service.update``
  pushes, which ``service.connect(name)`` hands to its clients;
- any ``Part`` added by whoever starts it (``config.service_main`` adds log
  shipping).

``__init__`` only stores configuration. ``run()`` serves until SIGINT/SIGTERM,
then deregisters and drains in-flight requests.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType
from typing import Any

from ..client.client import DEFAULT_TIMEOUT
from ..client.connect import ServiceClient
from ..client.providers import ProviderTable
from ..client.registry_client import RegistryClient, registry_url
from ..client.transport import Transport
from ..core import errors, tracing
from ..core.dispatch import Dispatcher
from ..core.jsonrpc import DEFAULT_MAX_BATCH, DEFAULT_MAX_RESPONSE_BYTES
from ..core.methods import MethodTable, rpc_method
from ..core.openrpc import document
from ..net import tls, urls
from ..observability.metrics import ServiceMetrics
from ..serving.rpc_app import DEFAULT_MAX_BODY, RpcApp
from ..serving.server import DEFAULT_BODY_TIMEOUT, DEFAULT_BODY_WAITERS, DEFAULT_IDLE_TIMEOUT, HttpServer
from ..version import __version__
from .push_verifier import PushVerifier
from .registration import Registration

log = logging.getLogger("rpc_cluster.runtime.service")


class Part:
    """Something a service runs beside its methods, started and stopped with it.

    ``requires`` names services the part calls: they are added to the
    service's registration, so the registry tells it where they are.
    """

    requires: tuple[str, ...] = ()

    def start(self, service: Service) -> None:
        """Called once the service serves, before it registers."""

    def stop(self) -> None:
        """Called last, after the service has stopped serving."""


class _ServiceMethods:
    """``Service.*``: what the registry calls on every service."""

    def __init__(self, service: Service):
        self._service = service

    @rpc_method
    def heartbeat(self) -> dict:
        """Answer the registry's health check."""
        if self._service.registration is not None:
            self._service.registration.heard_heartbeat()
        return {"status": "ok", "service": self._service.name}

    @rpc_method
    def update(self, added: list = (), removed: list = ()) -> bool:
        """Apply a change in the providers of the services this one requires."""
        for field, entries in (("added", added), ("removed", removed)):
            if not isinstance(entries, (list, tuple)) or not all(
                isinstance(e, dict) and isinstance(e.get("service_name"), str) and isinstance(e.get("service_url"), str)
                for e in entries
            ):
                raise errors.InvalidParams.field(field, "must be a list of {service_name, service_url} objects")
        if self._service.push_verifier is None:
            raise errors.ServiceUnavailable("Not registered: pushes are verified against the registry")
        # A hint, not an order: the registry confirms it before any traffic goes there.
        self._service.push_verifier.push(added, removed)
        return True


class Service:
    """Base of every RPC service. Subclasses set ``name`` and override ``expose``."""

    #: The name the service registers as (e.g. "GradingService").
    name = ""
    #: Names of the services it calls; the registry tells it where they are.
    required_services: tuple[str, ...] = ()
    #: False for the registry itself.
    registers = True
    #: False: calls are not counted or timed on /metrics (the metrics benchmark's baseline).
    measure_calls = True
    #: Request threads when not given. Few is fastest for CPU-bound methods (they
    #: share one GIL: 1 thread did 34k trivial calls/s here, 8 threads 10k); services
    #: whose methods wait on the network or a database raise it.
    default_threads = 2
    #: Paths whose request bodies may be larger than ``max_body`` (the portal's /import).
    body_limits: Mapping[str, int] = MappingProxyType({})

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        advertise: str | None = None,
        registry: str | None = None,
        token: str | None = None,
        threads: int | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        drain_timeout: float = 10.0,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        body_waiters: int = DEFAULT_BODY_WAITERS,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        tls_ca: str | None = None,
    ):
        self.host = host
        self.port = port
        self.advertise = advertise
        self.registry = registry_url(registry)
        self.token = token
        self.threads = threads
        self.max_body = max_body
        self.drain_timeout = drain_timeout
        # Limits against hostile clients (README, "Limits").
        self.max_batch = max_batch
        self.max_response_bytes = max_response_bytes
        self.body_timeout = body_timeout
        self.idle_timeout = idle_timeout
        self.body_waiters = body_waiters
        #: ``--tls-cert``/``--tls-key``: serve HTTPS only (checked by ``start()``).
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        #: ``--tls-ca``: what the servers it calls are verified against (``tls.client_context``).
        self.tls_ca = tls_ca
        #: Healthy providers of the required services, kept current by the registry.
        self.providers = ProviderTable()
        #: Pooled connections shared by every call this service makes.
        self.transport = Transport(tls_ca=tls_ca)
        #: Its Prometheus series (GET /metrics), made by ``start()``; parts add theirs.
        self.metrics = ServiceMetrics(self.name or type(self).__name__)
        #: Parts started and stopped with the service (see ``add_part``).
        self.parts: list[Part] = []
        #: The exposed methods, built by ``start()``.
        self.methods: MethodTable | None = None
        #: Kept registered by its own thread once started (None for the registry).
        self.registration: Registration | None = None
        #: Checks the registry's pushes with the registry before the table follows them.
        self.push_verifier: PushVerifier | None = None
        self._http: HttpServer | None = None
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._draining = False
        self._threads: list[threading.Thread] = []

    # -- what subclasses provide ------------------------------------------------------

    def expose(self, methods: MethodTable) -> None:
        """Add this service's own methods to ``methods`` (override in subclasses)."""

    def open(self) -> None:
        """Open what the methods need (a store, a file): first thing in ``start()`` (override).

        Raise ``StartError`` with one line for the operator when it cannot be
        opened. ``on_stop`` closes it, also when ``start()`` fails later on.
        """

    def on_start(self) -> None:
        """Called once serving has started, before registration (override)."""

    def on_stop(self) -> None:
        """Called after serving has stopped (override to close stores, files)."""

    def wsgi_app(self, rpc_app: RpcApp) -> Any:
        """The WSGI app to serve; override to add routes around ``/rpc`` (the portal does)."""
        return rpc_app

    def after_call(self) -> None:
        """Called after each RPC request is dispatched, before it is answered (override)."""

    def request_threads(self) -> int:
        """How many request threads to serve with: ``threads``, else the service's default."""
        return self.threads or self.default_threads

    # -- parts and peers ----------------------------------------------------------------

    def add_part(self, part: Part) -> Service:
        """Run ``part`` with this service; before ``start()``. Returns the service."""
        if self._http is not None:
            raise RuntimeError(f"rpc: add parts to {self.name} before it starts")
        self.parts.append(part)
        return self

    @property
    def requirements(self) -> tuple[str, ...]:
        """What it registers as requiring: ``required_services`` and its parts' needs."""
        names = list(self.required_services)
        for part in self.parts:
            names.extend(part.requires)
        return tuple(dict.fromkeys(names))

    def providers_of(self, service_name: str) -> list[str]:
        """URLs of the healthy instances of a required service, known now."""
        return self.providers.get(service_name)

    def connect(
        self, service_name: str, *, timeout: float = DEFAULT_TIMEOUT, read_only: Collection[str] = ()
    ) -> ServiceClient:
        """A client for ``service_name`` with this service's registry, token and connections.

        For a service it requires, the client follows the registry's pushes
        to this service; for any other it asks the registry. ``read_only``:
        its methods that change nothing (``retry.is_repeatable``).
        """
        return ServiceClient(
            service_name,
            registry=self.registry,
            timeout=timeout,
            token=self.token,
            providers=self.providers if service_name in self.requirements else None,
            transport=self.transport,
            read_only=read_only,
        )

    # -- addresses ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL others use: ``--advertise``, else the bound address (once started)."""
        if self.advertise:
            return self.advertise
        if self._http is None or self._http.port is None:
            raise RuntimeError(f"rpc: {self.name} has no address until it starts")
        return f"{self._http.url}/rpc"

    def openrpc(self) -> dict[str, Any]:
        return document(self.methods or MethodTable(), self.name or type(self).__name__, __version__)

    # -- lifecycle ----------------------------------------------------------------------

    def make_wsgi_app(self) -> Any:
        """Build the method table and the WSGI app that ``start()`` serves.

        Also for serving the same app on another server (the benchmarks do).
        """
        methods = MethodTable()
        methods.add_object("Service", _ServiceMethods(self))
        self.expose(methods)
        self.methods = methods
        observe = self.metrics.observe_call if self.measure_calls else None
        rpc_app = RpcApp(
            self.name,
            Dispatcher(methods, {"rpc.discover": self.openrpc}, observe=observe),
            self.openrpc,
            token=self.token,
            max_body=self.max_body,
            max_batch=self.max_batch,
            max_response_bytes=self.max_response_bytes,
            health=lambda: not self._draining,
            after_call=self.after_call,
            metrics=self.metrics,
        )
        return self.wsgi_app(rpc_app)

    def start(self) -> Service:
        """Open, build the methods and the app, bind and serve; registration continues in the background."""
        try:
            tls_files = tls.check_server_files(self.tls_cert, self.tls_key)
            if tls.ca_file(self.tls_ca):
                self.transport.ssl_context()  # a CA file that cannot be read stops the start, not each call
        except (tls.TlsConfigError, errors.TransportError) as exc:
            raise errors.StartError(str(exc).removeprefix("rpc: ")) from None
        if self.advertise:
            try:
                urls.parse(self.advertise)
            except urls.BadUrl as exc:
                # The registry would refuse it, and registration would retry it for ever.
                raise errors.StartError(f"advertise: {exc}") from None
        if self.registers:
            self._check_registry_urls()
        if tls_files and self.advertise and not self.advertise.startswith("https://"):
            raise errors.StartError(f"--advertise {self.advertise} must be an https:// URL: this service serves TLS")
        # Made anew for each start: the service and its parts register their series in open() and start().
        self.metrics = ServiceMetrics(self.name or type(self).__name__)
        self.open()
        started: list[Part] = []
        try:
            self._http = HttpServer(
                self.make_wsgi_app(),
                self.host,
                self.port,
                threads=self.request_threads(),
                drain_timeout=self.drain_timeout,
                max_body=self.max_body,
                body_limits=self.body_limits,
                body_timeout=self.body_timeout,
                idle_timeout=self.idle_timeout,
                body_waiters=self.body_waiters,
                tls_files=tls_files,
            )
            self._http.start()
            for part in self.parts:
                part.start(self)
                started.append(part)
            log.info("%s serving at %s", self.name, self.url)
            self.on_start()
        except BaseException:
            # Leave nothing running behind a failed start (and nothing for stop() to do).
            if self._http is not None:
                self._http.stop()
                self._http = None
            self.on_stop()
            for part in reversed(started):
                part.stop()
            raise
        if self.registers:
            registry = RegistryClient(self.registry, token=self.token, transport=self.transport)
            self.push_verifier = PushVerifier(self.providers, registry, self.requirements)
            self.registration = Registration(
                registry,
                self.name,
                self.url,
                self.requirements,
                self.providers,
                on_registered=self.push_verifier.recheck,
            )
            self._spawn(lambda: self.registration.run(self._stopping), "registration")
            self._spawn(lambda: self.push_verifier.run(self._stopping), "push-verifier")
        return self

    def _check_registry_urls(self) -> None:
        """Raise StartError unless every registry URL passes ``urls.parse``.

        Registration would otherwise call a registry it can never reach, "not reachable", for ever.
        """
        entries = [url.strip() for url in self.registry.split(",") if url.strip()]
        if not entries:
            raise errors.StartError(f"registry: {self.registry!r} names no URL")
        for url in entries:
            try:
                urls.parse(url)
            except urls.BadUrl as exc:
                raise errors.StartError(f"registry: {exc}") from None

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        def run() -> None:
            with tracing.serving(self.name):
                target()

        thread = threading.Thread(target=run, name=f"{self.name}-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Deregister, then stop serving once in-flight requests finish. Idempotent."""
        if self._stopped.is_set() or self._http is None:
            return
        self._stopping.set()
        if self.push_verifier is not None:
            self.push_verifier.wake()
        # Joined before deregistering: a registration still in flight could land after it.
        for thread in self._threads:
            thread.join(timeout=5)
        if self.registration is not None:
            self.registration.deregister()
        self._draining = True
        self._http.stop()
        self.on_stop()
        self._stopped.set()
        log.info("%s stopped", self.name)
        # Last, so that the lines above are shipped too.
        for part in reversed(self.parts):
            part.stop()

    def run(self) -> int:
        """Serve until SIGINT/SIGTERM; the process exit code."""
        # The handler only notes the signal. It runs on this thread between two bytecodes, and
        # must take no lock: setting an Event this thread waits on (or logging) could wait for a
        # lock the interrupted code holds, for ever. That happened: a portal ignored every SIGTERM.
        received: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
        signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
        self.start()
        while not received and not self._stopping.is_set():
            time.sleep(0.2)
        if received:
            log.info("%s: %s received, stopping", self.name, signal.Signals(received[0]).name)
        self.stop()
        return 0

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
