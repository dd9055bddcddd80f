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
  real port is registered), with the service's ``Limits`` and ``TlsFiles``
  and its ``goes_first`` rule for the requests that skip the queue;
- ``Registration``: registers with retry and backoff, follows the registry's
  pace, registers again when a restarted registry has forgotten it, and
  deregisters on stop;
- its ``ProviderTable``, kept current by the registry's ``Service.update``
  pushes, which ``service.connect(name)`` hands to its clients;
- any ``Part`` added by whoever starts it (``config.service_main`` adds log
  shipping).

``__init__`` only stores configuration; what ``start()`` builds is one
``Started`` value, so nothing is half there. Two things ``start()`` renews
stay outside it: ``metrics``, made anew before ``open()`` (the service and its
parts register their series there, before any server exists), and
``methods``, built by ``make_wsgi_app()``, which also serves without
``start()`` (the benchmarks do). Both have a usable value from ``__init__``. ``run()`` serves until
SIGINT/SIGTERM, then deregisters and drains in-flight requests.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, TypedDict

from ..client.client import DEFAULT_TIMEOUT
from ..client.connect import ServiceClient
from ..client.providers import ProviderTable
from ..client.registry_client import RegistryClient, registry_url
from ..client.transport import Transport
from ..core import errors, tracing
from ..core.dispatch import Dispatcher
from ..core.methods import MethodTable, rpc_method
from ..core.openrpc import document
from ..net import tls, urls
from ..observability.metrics import ServiceMetrics
from ..serving.exchange import Handler
from ..serving.rpc_app import DEFAULT_MAX_BODY, RpcApp, lone_call_method
from ..serving.server import HttpServer
from ..serving.settings import Limits, TlsFiles
from ..version import __version__
from .push_verifier import PushVerifier
from .registration import Registration

log = logging.getLogger("rpc_cluster.runtime.service")

# Bodies larger than this are never a lone heartbeat: they wait their turn unparsed.
_PRIORITY_BODY = 256


class Part(Protocol):
    """Something a service runs beside its methods, started and stopped with it.

    Any object with these three members is a part (``LogShipping`` is one); one that
    misses a member is refused by the type checker where it is added
    (``Service.add_part``). Subclassing ``Part`` is optional and gives ``requires = ()``.
    """

    @property
    def requires(self) -> tuple[str, ...]:
        """Services the part calls: added to the service's registration, so the registry tells it where they are."""
        return ()

    def start(self, service: Service) -> None:
        """Called once the service serves, before it registers."""

    def stop(self) -> None:
        """Called last, after the service has stopped serving."""


@dataclass(frozen=True)
class Registered:
    """A registering service's two jobs in the background, made by ``start()``."""

    #: Registers with retry and backoff, and again when the registry has forgotten it.
    registration: Registration
    #: Checks the registry's pushes with the registry before the provider table follows them.
    push_verifier: PushVerifier


@dataclass
class Started:
    """What ``start()`` built and ``stop()`` ends: a service that has not started has none of it."""

    #: The bound HTTP server (its ``port`` is the real one, also for port 0).
    http: HttpServer
    #: The parts started so far; stopped in reverse.
    parts: list[Part] = field(default_factory=list)
    #: Its registration, from the end of ``start()``; stays None for a service that does not register.
    registered: Registered | None = None
    #: Its threads in the background, joined by ``stop()`` before it deregisters.
    threads: list[threading.Thread] = field(default_factory=list)


class ServiceOptions(TypedDict, total=False):
    """The settings every service takes (``Service.__init__``'s keywords), as ``flags.service_kwargs`` builds them.

    A subclass takes them as ``**options: Unpack[ServiceOptions]``, so a misspelled one is a type error.
    """

    host: str
    port: int
    advertise: str | None
    registry: str | None
    token: str | None
    threads: int | None
    limits: Limits | None
    tls: TlsFiles | None


class _ServiceMethods:
    """``Service.*``: what the registry calls on every service."""

    def __init__(self, service: Service):
        self._service = service

    # The annotations below stay bare: their text is on the wire (XML-RPC system.methodHelp shows the signature).

    @rpc_method(inline=True)
    def heartbeat(self) -> dict:  # type: ignore[type-arg]
        """Answer the registry's health check."""
        registered = self._service.registered
        if registered is not None:
            registered.registration.heard_heartbeat()
        return {"status": "ok", "service": self._service.name}

    # Inline: it only queues the lookups a push asks for (the push verifier's thread makes them).
    @rpc_method(inline=True)
    def update(self, added: list = (), removed: list = ()) -> bool:  # type: ignore[type-arg, assignment]
        """Apply a change in the providers of the services this one requires."""
        for name, entries in (("added", added), ("removed", removed)):
            if not isinstance(entries, (list, tuple)) or not all(
                isinstance(e, dict) and isinstance(e.get("service_name"), str) and isinstance(e.get("service_url"), str)
                for e in entries
            ):
                raise errors.InvalidParams.field(name, "must be a list of {service_name, service_url} objects")
        registered = self._service.registered
        if registered is None:
            raise errors.ServiceUnavailable("Not registered: pushes are verified against the registry")
        # A hint, not an order: the registry confirms it before any traffic goes there.
        registered.push_verifier.push(added, removed)
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
    #: Bytes a request body may have: what its methods take decides it (grading's imports are larger).
    max_body = DEFAULT_MAX_BODY
    #: Paths whose request bodies may be larger than ``max_body`` (the portal's imports); ``<name>`` in a
    #: path stands for one segment (``/classes/<id>/import``).
    body_limits: Mapping[str, int] = MappingProxyType({})
    #: Methods whose lone call skips the queue for a request thread (see ``goes_first``).
    priority_methods: frozenset[str] = frozenset({"Service.heartbeat"})

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        advertise: str | None = None,
        registry: str | None = None,
        token: str | None = None,
        threads: int | None = None,
        limits: Limits | None = None,
        tls: TlsFiles | None = None,
    ):
        self.host = host
        self.port = port
        self.advertise = advertise
        self.registry = registry_url(registry)
        self.token = token
        self.threads = threads
        #: Bounds against hostile clients, and the drain time (docs/operations.md, "Limits").
        self.limits = limits if limits is not None else Limits()
        #: ``cert``/``key``: serve HTTPS only (checked by ``start()``); ``ca``: what the servers it calls
        #: are verified against (``tls.client_context``).
        self.tls = tls if tls is not None else TlsFiles()
        #: Healthy providers of the required services, kept current by the registry.
        self.providers = ProviderTable()
        #: Pooled connections shared by every call this service makes.
        self.transport = Transport(tls_ca=self.tls.ca)
        #: Its Prometheus series (GET /metrics), made anew by ``start()``; parts add theirs.
        self.metrics = ServiceMetrics(self.name or type(self).__name__)
        #: Parts started and stopped with the service (see ``add_part``).
        self.parts: list[Part] = []
        #: The exposed methods: empty until ``start()`` (or ``make_wsgi_app()``) builds them.
        self.methods = MethodTable()
        self._started: Started | None = None
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._draining = False

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
        if self._started is not None:
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

    # -- addresses and state --------------------------------------------------------------

    @property
    def server(self) -> HttpServer:
        """The HTTP server, once ``start()`` has bound it (its ``port`` is the real one)."""
        if self._started is None:
            raise RuntimeError(f"rpc: {self.name} has no server until it starts")
        return self._started.http

    @property
    def url(self) -> str:
        """The URL others use: ``--advertise``, else the bound address (once started)."""
        if self.advertise:
            return self.advertise
        if self._started is None:
            raise RuntimeError(f"rpc: {self.name} has no address until it starts")
        return f"{self._started.http.url}/rpc"

    @property
    def registered(self) -> Registered | None:
        """Its registration and push verifier, from the end of ``start()``; always None when it does not register."""
        return self._started.registered if self._started is not None else None

    def openrpc(self) -> dict[str, Any]:
        return document(self.methods, self.name or type(self).__name__, __version__)

    def goes_first(self, path: str, body: bytes) -> bool:
        """Whether a request skips the queue for a request thread: ``/health``, or one call of a ``priority_methods``.

        They cost microseconds, and a service whose threads are all held by big calls (a huge
        batch, a slow database) must still tell the registry it is alive.
        """
        if path == "/health":
            return True
        # The byte search only saves time: measured with timeit, it turns away a 91-byte call of
        # another method in 0.5 us, where parsing takes 2.1 us, 5% of a trivial call (29 us at
        # 34k calls/s). What it lets through is parsed; a heartbeat it misses (its name written
        # with JSON escapes) only waits its turn.
        if len(body) > _PRIORITY_BODY or not any(name.encode() in body for name in self.priority_methods):
            return False
        return lone_call_method(body) in self.priority_methods

    # -- lifecycle ----------------------------------------------------------------------

    def make_wsgi_app(self) -> Any:
        """Build the method table and the WSGI app of the service, for serving it on another server
        (the benchmarks do); ``start()`` serves ``make_handler()``."""
        return self.wsgi_app(self._rpc_app())

    def make_handler(self) -> Handler:
        """Build the method table and what ``start()`` serves: the ``RpcApp``, or the service's
        WSGI app beside it when ``wsgi_app`` adds routes (``/rpc``, ``/RPC2``, ``/health`` and
        ``/metrics`` stay the RpcApp's, on the event loop)."""
        rpc_app = self._rpc_app()
        served: Handler = rpc_app
        pages = self.wsgi_app(rpc_app)
        if pages is not served:
            served = rpc_app.beside(pages, lambda request: self.goes_first(request.path, request.body))
        return served

    def _rpc_app(self) -> RpcApp:
        methods = MethodTable()
        methods.add_object("Service", _ServiceMethods(self))
        self.expose(methods)
        self.methods = methods
        observe = self.metrics.observe_call if self.measure_calls else None
        return RpcApp(
            self.name,
            Dispatcher(methods, {"rpc.discover": self.openrpc}, observe=observe, inline=self.priority_methods),
            self.openrpc,
            token=self.token,
            max_body=self.max_body,
            max_batch=self.limits.max_batch,
            max_response_bytes=self.limits.max_response_bytes,
            health=lambda: not self._draining,
            after_call=self.after_call,
            metrics=self.metrics,
        )

    def start(self) -> Service:
        """Open, build the methods and the app, bind and serve; registration continues in the background."""
        tls_files = self._check_addresses()
        # Made anew for each start: the service and its parts register their series in open() and start().
        self.metrics = ServiceMetrics(self.name or type(self).__name__)
        self.open()
        http: HttpServer | None = None
        try:
            http = HttpServer(
                self.make_handler(),
                self.host,
                self.port,
                threads=self.request_threads(),
                limits=self.limits,
                max_body=self.max_body,
                body_limits=self.body_limits,
                priority=self.goes_first,
                tls_files=tls_files,
            )
            http.start()
            self._started = started = Started(http)
            for part in self.parts:
                part.start(self)
                started.parts.append(part)
            log.info("%s serving at %s", self.name, self.url)
            self.on_start()
        except BaseException:
            # Leave nothing running behind a failed start (and nothing for stop() to do).
            if http is not None:
                http.stop()
            parts = self._started.parts if self._started is not None else []
            self._started = None
            self.on_stop()
            for part in reversed(parts):
                part.stop()
            raise
        if self.registers:
            started.registered = self._register(started)
        return self

    def _check_addresses(self) -> tuple[Path, Path] | None:
        """The TLS files to serve with, once they and every URL it will use can work; else StartError."""
        try:
            tls_files = self.tls.server_files()
            if tls.ca_file(self.tls.ca):
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
        return tls_files

    def _register(self, started: Started) -> Registered:
        """Start registering, and verifying the registry's pushes, each on its own thread."""
        registry = RegistryClient(self.registry, token=self.token, transport=self.transport)
        verifier = PushVerifier(self.providers, registry, self.requirements)
        registration = Registration(
            registry,
            self.name,
            self.url,
            self.requirements,
            self.providers,
            on_registered=verifier.recheck,
        )
        self._spawn(started, lambda: registration.run(self._stopping), "registration")
        self._spawn(started, lambda: verifier.run(self._stopping), "push-verifier")
        return Registered(registration, verifier)

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

    def _spawn(self, started: Started, target: Callable[[], None], name: str) -> None:
        def run() -> None:
            with tracing.serving(self.name):
                target()

        thread = threading.Thread(target=run, name=f"{self.name}-{name}", daemon=True)
        thread.start()
        started.threads.append(thread)

    def stop(self) -> None:
        """Deregister, then stop serving once in-flight requests finish. Idempotent."""
        started = self._started
        if self._stopped.is_set() or started is None:
            return
        self._stopping.set()
        registered = started.registered
        if registered is not None:
            registered.push_verifier.wake()
        # Joined before deregistering: a registration still in flight could land after it.
        for thread in started.threads:
            thread.join(timeout=5)
        if registered is not None:
            registered.registration.deregister()
        self._draining = True
        started.http.stop()
        self.on_stop()
        self._stopped.set()
        log.info("%s stopped", self.name)
        # Last, so that the lines above are shipped too.
        for part in reversed(started.parts):
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
