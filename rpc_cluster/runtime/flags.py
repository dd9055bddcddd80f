"""Command-line flags with environment variables, shared by every service.

Each flag can also come from an environment variable named in ``--help``.
A bad value is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from ..client.registry_client import DEFAULT_REGISTRY, REGISTRY_ENV
from ..core.jsonrpc import DEFAULT_MAX_BATCH, DEFAULT_MAX_RESPONSE_BYTES
from ..net import tls, urls
from ..serving.settings import DEFAULT_BODY_TIMEOUT, DEFAULT_IDLE_TIMEOUT, Limits, TlsFiles
from .service import ServiceOptions


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535; 0 picks a free one)")
    return port


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{value} must be at least {minimum}")
    return value


def positive_int(text: str) -> int:
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    return _whole_number(text, 0)


def http_url(text: str) -> str:
    """A flag's http(s):// URL, as given, once ``urls.parse`` takes it."""
    try:
        return urls.check(text)
    except urls.BadUrl as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def listen_host(text: str) -> str:
    """A --host that the service's own URL can carry (it is registered and handed to others)."""
    try:
        return urls.check_host(text)
    except urls.BadUrl as exc:
        raise argparse.ArgumentTypeError(f"{text!r} cannot be the host of a URL: {exc}") from None


def http_urls(text: str) -> str:
    """One http(s):// URL, or several separated by commas (several registries)."""
    urls = [url.strip() for url in text.split(",")]
    if not all(urls):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty entry (URLs are separated by single commas)")
    for url in urls:
        http_url(url)
    return ",".join(urls)


def add_flag(
    parser: argparse.ArgumentParser,
    flag: str,
    env: str,
    default: Any,
    help: str,
    type: Callable[[str], Any] = str,
    **kwargs: Any,
) -> None:
    """Add ``flag`` whose default comes from ``$env`` (checked like the flag itself)."""
    raw = os.environ.get(env)
    if raw is not None:
        try:
            default = type(raw)
        except (argparse.ArgumentTypeError, ValueError) as exc:
            parser.error(f"${env}: {exc}")
    shown = "none" if default is None else default
    parser.add_argument(flag, default=default, type=type, help=f"{help} (env {env}, default {shown})", **kwargs)


def with_rpc_path(url: str) -> str:
    """``url`` with ``/rpc`` added when it names no path (``http://host:4000`` is the service's /rpc)."""
    return url if url.rstrip("/").count("/") > 2 else url.rstrip("/") + "/rpc"


def rpc_url(text: str) -> str:
    """A flag's http(s):// URL of a service, ``/rpc`` added when it names no path."""
    return with_rpc_path(http_url(text))


def add_client_flags(parser: argparse.ArgumentParser) -> None:
    """--registry, --token, --timeout, --tls-ca: what a command needs to call the cluster."""
    add_registry_flag(parser)
    add_flag(parser, "--token", "RPC_CLUSTER_TOKEN", None, "cluster token to send")
    add_flag(parser, "--timeout", "RPC_CLUSTER_TIMEOUT", 10.0, "seconds to wait for an answer", type=positive_seconds)
    add_tls_ca_flag(parser)


def add_registry_flag(parser: argparse.ArgumentParser) -> None:
    add_flag(
        parser,
        "--registry",
        REGISTRY_ENV,
        DEFAULT_REGISTRY,
        "the registry's URL; several, comma-separated, to use any that answers",
        type=http_urls,
    )


def add_tls_ca_flag(parser: argparse.ArgumentParser) -> None:
    add_flag(
        parser,
        "--tls-ca",
        tls.CA_ENV,
        None,
        "CA certificate (PEM) that https:// services are verified against (default: the system's CAs)",
    )


def add_service_flags(
    parser: argparse.ArgumentParser, prefix: str, default_port: int, *, registry: bool = True
) -> None:
    """--host, --port, --advertise, --registry, --token, --threads, the limits, --log-level."""
    add_flag(parser, "--host", f"{prefix}_HOST", "127.0.0.1", "address to listen on", type=listen_host)
    add_flag(
        parser, "--port", f"{prefix}_PORT", default_port, "port to listen on; 0 picks a free one", type=port_number
    )
    add_flag(
        parser,
        "--advertise",
        f"{prefix}_ADVERTISE",
        None,
        "URL others should use to reach this service, e.g. http://host:port/rpc",
        type=http_url,
    )
    if registry:
        add_registry_flag(parser)
    add_flag(
        parser, "--token", "RPC_CLUSTER_TOKEN", None, "cluster token: required on every request, and sent on every call"
    )
    add_tls_ca_flag(parser)
    add_flag(
        parser,
        "--tls-cert",
        tls.CERT_ENV,
        None,
        "certificate chain (PEM): serve HTTPS only, and register an https:// URL",
    )
    add_flag(parser, "--tls-key", tls.KEY_ENV, None, "private key (PEM) of --tls-cert")
    add_flag(
        parser,
        "--threads",
        f"{prefix}_THREADS",
        None,
        "request-handling threads (default: the service's own, see docs/operations.md)",
        type=positive_int,
    )
    # The limits against hostile clients (docs/operations.md, "Limits"); one value for the whole cluster.
    add_flag(
        parser,
        "--max-batch",
        "RPC_CLUSTER_MAX_BATCH",
        DEFAULT_MAX_BATCH,
        "members a JSON-RPC batch may have",
        type=positive_int,
    )
    add_flag(
        parser,
        "--max-response-bytes",
        "RPC_CLUSTER_MAX_RESPONSE_BYTES",
        DEFAULT_MAX_RESPONSE_BYTES,
        "bytes of response one RPC request may produce",
        type=positive_int,
    )
    add_flag(
        parser,
        "--body-timeout",
        "RPC_CLUSTER_BODY_TIMEOUT",
        DEFAULT_BODY_TIMEOUT,
        "seconds a request body may take to arrive (then 408)",
        type=positive_seconds,
    )
    add_flag(
        parser,
        "--idle-timeout",
        "RPC_CLUSTER_IDLE_TIMEOUT",
        DEFAULT_IDLE_TIMEOUT,
        "seconds a connection may stay silent before it is closed",
        type=positive_seconds,
    )
    add_flag(
        parser,
        "--log-level",
        "RPC_CLUSTER_LOG_LEVEL",
        "INFO",
        "stderr log level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
    )


def limits(args: argparse.Namespace) -> Limits:
    """The ``Limits`` that the flags of ``add_service_flags`` name (the rest keep their defaults)."""
    return Limits(
        max_batch=args.max_batch,
        max_response_bytes=args.max_response_bytes,
        body_timeout=args.body_timeout,
        idle_timeout=args.idle_timeout,
    )


def tls_files(args: argparse.Namespace) -> TlsFiles:
    """The ``TlsFiles`` of --tls-cert, --tls-key and --tls-ca."""
    return TlsFiles(cert=args.tls_cert, key=args.tls_key, ca=args.tls_ca)


def service_kwargs(args: argparse.Namespace) -> ServiceOptions:
    """The ``Service.__init__`` arguments from parsed common flags; the limits and TLS files as one value each."""
    return ServiceOptions(
        host=args.host,
        port=args.port,
        advertise=args.advertise,
        registry=getattr(args, "registry", None),
        token=args.token,
        threads=args.threads,
        limits=limits(args),
        tls=tls_files(args),
    )
