"""A service's command line in one name (``from rpc_cluster import config``): the flags and the runner.

``config.service_main(argv, prog=..., description=..., add_arguments=..., make=...)`` is a whole
``main``; ``config.add_service_flags`` and ``config.add_flag`` build the flags it parses
(``flags.py``; ``config.service_kwargs`` turns them into ``Service`` arguments, the limits and the TLS
files as one ``Limits`` and one ``TlsFiles``), and ``config.serve`` runs a service built by hand (``runner.py``).
"""

from .flags import (
    ArgumentParser,
    add_client_flags,
    add_flag,
    add_service_flags,
    add_tls_ca_flag,
    http_url,
    http_urls,
    limits,
    non_negative_int,
    port_number,
    positive_int,
    positive_seconds,
    rpc_url,
    service_kwargs,
    tls_files,
    with_rpc_path,
)
from .runner import serve, service_main, setup_logging

__all__ = [
    "ArgumentParser",
    "add_client_flags",
    "add_flag",
    "add_service_flags",
    "add_tls_ca_flag",
    "http_url",
    "http_urls",
    "limits",
    "non_negative_int",
    "port_number",
    "positive_int",
    "positive_seconds",
    "rpc_url",
    "serve",
    "service_kwargs",
    "service_main",
    "setup_logging",
    "tls_files",
    "with_rpc_path",
]
