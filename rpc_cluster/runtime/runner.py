"""Running one service from the command line: parse its flags, set up logging, build it, serve until a signal."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from ..core.errors import StartError
from ..net import tls
from .flags import ArgumentParser, tls_files
from .log_shipping import LogShipping
from .service import Service


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def serve(make_service: Callable[[], Service], *, prog: str = "rpc-cluster", ship_logs: bool = True) -> int:
    """Build and run a service; a failure to start is one line and exit code 1.

    ``ship_logs``: attach ``LogShipping``, so this process's log records reach
    the log service (every service but the log service itself).
    """
    try:
        service = make_service()
        if ship_logs:
            service.add_part(LogShipping())
        return service.run()
    except OSError as exc:
        print(f"rpc-cluster: error: cannot listen: {exc}", file=sys.stderr)
        return 1
    except StartError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1


def service_main(
    argv: list[str] | None,
    *,
    prog: str,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    make: Callable[[argparse.Namespace], Service],
    ship_logs: bool = True,
) -> int:
    """What every service's ``main`` does: parse flags, set up logging, build and run it."""
    parser = ArgumentParser(prog=prog, description=description)
    add_arguments(parser)
    args = parser.parse_args(argv)
    files = tls_files(args)
    try:
        files.server_files()
        if files.ca:
            tls.client_context(files.ca)
    except tls.TlsConfigError as exc:
        parser.error(str(exc))
    setup_logging(args.log_level)
    return serve(lambda: make(args), prog=prog, ship_logs=ship_logs)
