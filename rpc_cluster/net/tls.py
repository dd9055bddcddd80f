"""TLS for the cluster: the files a service serves HTTPS with, and how callers verify servers.

A service given ``--tls-cert`` and ``--tls-key`` serves HTTPS only and
registers an ``https://`` URL. Every caller (the client, the services, the
registry's health checks and pushes) verifies an ``https://`` server against
``--tls-ca`` (``$RPC_CLUSTER_TLS_CA``), else against the system's CAs: a
cluster with its own CA hands that file to everyone.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

CERT_ENV = "RPC_CLUSTER_TLS_CERT"
KEY_ENV = "RPC_CLUSTER_TLS_KEY"
CA_ENV = "RPC_CLUSTER_TLS_CA"


class TlsConfigError(ValueError):
    """A TLS file that cannot be used; the message is one line for the operator."""


def ca_file(ca: str | os.PathLike[str] | None = None) -> str | None:
    """The CA file callers verify servers against: ``ca``, else ``$RPC_CLUSTER_TLS_CA``; None for the system's."""
    ca = ca or os.environ.get(CA_ENV) or None
    return os.fspath(ca) if ca else None


def client_context(ca: str | os.PathLike[str] | None = None) -> ssl.SSLContext:
    """The context that verifies servers: against ``ca`` (else ``$RPC_CLUSTER_TLS_CA``), else the system's CAs.

    With a CA file, only that CA is trusted: a cluster's own CA is not mixed
    with the public ones. Raises TlsConfigError when the file cannot be read.
    """
    ca = ca_file(ca)
    try:
        return ssl.create_default_context(cafile=ca)
    except (OSError, ssl.SSLError) as exc:
        raise TlsConfigError(f"cannot use the TLS CA file {ca}: {_reason(exc)}") from None


def check_server_files(
    cert: str | os.PathLike[str] | None, key: str | os.PathLike[str] | None
) -> tuple[Path, Path] | None:
    """(cert, key) as paths once both load as a pair; None when neither is given.

    Raises TlsConfigError naming the file when one is missing, unreadable, or
    when they do not belong together, so a service refuses to start with one
    line instead of serving nothing.
    """
    if not cert and not key:
        return None
    if not cert or not key:
        raise TlsConfigError("--tls-cert and --tls-key go together: give both, or neither")
    for path in (cert, key):
        if not Path(path).is_file():
            raise TlsConfigError(f"TLS file {path} does not exist")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(os.fspath(cert), os.fspath(key))
    except (OSError, ssl.SSLError) as exc:
        raise TlsConfigError(f"cannot use --tls-cert {cert} with --tls-key {key}: {_reason(exc)}") from None
    return Path(cert).resolve(), Path(key).resolve()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    return getattr(exc, "strerror", None) or str(exc)
