"""The portal in the cluster: registers as ``PortalService`` (``rpc-cluster portal``).

It serves the Bottle pages and, beside them, the endpoints every service has
(``/rpc`` for the registry's heartbeats and updates, ``/RPC2``, ``/health``),
on the same production server as the RPC services.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from types import MappingProxyType
from typing import Unpack
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from rpc_cluster import RegistryClient, Service, config
from rpc_cluster.grading import reads as grading_reads
from rpc_cluster.grading.accounts.rules import LONGEST_SESSION
from rpc_cluster.runtime.service import ServiceOptions
from rpc_cluster.serving.rpc_app import RpcApp

from .app import make_app
from .cluster_stats import SCRAPE_INTERVAL, ClusterWatch, metrics_fetcher
from .pages.gradebook.import_ import MAX_UPLOAD

RPC_PATHS = ("/rpc", "/RPC2", "/health", "/metrics")
# A session ends after an hour unused, and after twelve hours whatever happens: a working day.
SESSION_IDLE = 3600.0
SESSION_MAX = 43200.0


class PortalService(Service):
    name = "PortalService"
    required_services = ("GradingService", "LogService")
    # Each page waits on grading with the GIL released.
    default_threads = 8
    # A CSV of 10,000 grades is larger than the 1 MiB every other request may be; so is a class's grid
    # file, and its confirm form, which carries the file's text back.
    body_limits = MappingProxyType(
        {"/import": MAX_UPLOAD, "/classes/<id>/import": MAX_UPLOAD, "/classes/<id>/import/confirm": MAX_UPLOAD}
    )

    def __init__(
        self,
        *,
        grading_timeout: float = 5.0,
        secret: bytes | None = None,
        metrics_interval: float = SCRAPE_INTERVAL,
        session_idle: float = SESSION_IDLE,
        session_max: float = SESSION_MAX,
        **options: Unpack[ServiceOptions],
    ):
        super().__init__(**options)
        #: Seconds a session made by signing in here lasts unused, and at most (grading enforces both).
        self.session_idle = session_idle
        self.session_max = session_max
        #: Seconds between scrapes of every instance's /metrics (the /cluster page's figures).
        self.metrics_interval = metrics_interval
        #: Seconds a page waits for the grading service.
        self.grading_timeout = grading_timeout
        #: The key that signs the sign-in form's CSRF token and flash messages; None: random for this process.
        self._secret = secret
        self._watch: ClusterWatch | None = None

    @property
    def watch(self) -> ClusterWatch:
        """Scrapes every instance's /metrics for /cluster; made with the app (``start()``)."""
        if self._watch is None:
            raise RuntimeError("rpc: PortalService watches the cluster only once start() has built its app")
        return self._watch

    def on_start(self) -> None:
        self.watch.start()  # made by wsgi_app(), which start() calls before this

    def on_stop(self) -> None:
        if self._watch is not None:
            self._watch.stop()

    def wsgi_app(self, rpc_app: RpcApp) -> WSGIApplication:
        registry = RegistryClient(self.registry, token=self.token, transport=self.transport)
        self._watch = watch = ClusterWatch(
            lambda: _passing_instances(registry),
            metrics_fetcher(self.token, self.transport.ssl_context),
            interval=self.metrics_interval,
        )
        pages: WSGIApplication = make_app(  # a bottle.Bottle: bottle ships no types
            # Reads go to the other instance when one times out (a partition): pages keep serving.
            self.connect("GradingService", timeout=self.grading_timeout, read_only=grading_reads.READ_ONLY),
            registry=registry,
            logs=self.connect("LogService", timeout=2.0),
            secret=self._secret,
            # Over HTTPS the CSRF cookie is marked Secure: a browser never sends it in clear text.
            secure_cookies=bool(self.tls.cert),
            metrics=self.metrics,
            watch=watch,
            session_idle=self.session_idle,
            session_max=self.session_max,
        )

        def route(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            if environ.get("PATH_INFO") in RPC_PATHS:
                return rpc_app(environ, start_response)
            return pages(environ, start_response)

        return route


def _passing_instances(registry: RegistryClient) -> list[str]:
    """Every passing instance's URL, and the registries' (their /metrics is as interesting)."""
    rows = registry.call("Registry.services")
    return [row["service_url"] for row in rows if row["status"] == "passing"] + list(registry.urls)


class Secret:
    """A ``--secret`` value. It prints as ``<hidden>``, so ``--help`` (which shows
    the environment's value as the default) and logged arguments never show it."""

    MIN_LENGTH = 16

    def __init__(self, text: str):
        if len(text) < self.MIN_LENGTH:
            # Never echo the value: it is meant to stay secret even when it is a bad one.
            raise argparse.ArgumentTypeError(f"the secret must be at least {self.MIN_LENGTH} characters")
        self.value = text.encode()

    def __repr__(self) -> str:
        return "<hidden>"

    __str__ = __repr__


def session_seconds(text: str) -> float:
    """A ``--session-idle`` or ``--session-max``: seconds above 0, at most a year (grading's own limit)."""
    value = config.positive_seconds(text)
    if value > LONGEST_SESSION:
        raise argparse.ArgumentTypeError(f"{text!r} is longer than a year ({LONGEST_SESSION:.0f} seconds)")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    config.add_service_flags(parser, "RPC_CLUSTER_PORTAL", 5005)
    config.add_flag(
        parser,
        "--grading-timeout",
        "RPC_CLUSTER_PORTAL_GRADING_TIMEOUT",
        5.0,
        "seconds a page waits for the grading service",
        type=config.positive_seconds,
    )
    config.add_flag(
        parser,
        "--secret",
        "RPC_CLUSTER_PORTAL_SECRET",
        None,
        "key that signs the sign-in form's CSRF token and the flash messages; give every portal behind one "
        "balancer the same one "
        "(prefer the environment: a flag shows in ps); unset, a random key per process",
        type=Secret,
    )
    config.add_flag(
        parser,
        "--session-idle",
        "RPC_CLUSTER_PORTAL_SESSION_IDLE",
        SESSION_IDLE,
        "seconds a signed-in session lasts without a page being opened",
        type=session_seconds,
    )
    config.add_flag(
        parser,
        "--session-max",
        "RPC_CLUSTER_PORTAL_SESSION_MAX",
        SESSION_MAX,
        "seconds a signed-in session lasts at most, used or not",
        type=session_seconds,
    )
    config.add_flag(
        parser,
        "--metrics-interval",
        "RPC_CLUSTER_PORTAL_METRICS_INTERVAL",
        SCRAPE_INTERVAL,
        "seconds between scrapes of every instance's /metrics for the /cluster page",
        type=config.positive_seconds,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the teacher portal in the foreground (``rpc-cluster portal``)."""
    return config.service_main(
        argv,
        prog="rpc-cluster portal",
        description="Run the teacher portal.",
        add_arguments=add_arguments,
        make=lambda args: PortalService(
            grading_timeout=args.grading_timeout,
            metrics_interval=args.metrics_interval,
            session_idle=args.session_idle,
            session_max=args.session_max,
            secret=args.secret.value if args.secret else None,
            **config.service_kwargs(args),
        ),
    )
