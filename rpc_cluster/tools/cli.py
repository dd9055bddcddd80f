"""``rpc-cluster``: run a service, list the registry's services, call a method, read the log.

rpc-cluster up [--data DIR]                 the whole cluster, in the foreground
rpc-cluster registry|log|grading|portal ... run one service in the foreground
rpc-cluster services                        the registry's table
rpc-cluster call NAME_OR_URL METHOD [JSON]  call one method, print the result
rpc-cluster logs [-f] [--service S] ...      the central log's entries; -f follows new ones
rpc-cluster user add|passwd|disable|list ... grading's users (passwords never in the arguments)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ..client.registry_client import RegistryClient
from ..core.errors import RpcError, TransportError
from ..runtime import flags
from . import targets


def _fail(message: str, code: int = 1) -> int:
    print(f"rpc-cluster: error: {message}", file=sys.stderr)
    return code


def services_main(argv: list[str] | None) -> int:
    parser = flags.ArgumentParser(
        prog="rpc-cluster services", description="Print the registry's services: name, URL, status, last check."
    )
    flags.add_client_flags(parser)
    parser.add_argument("--json", action="store_true", help="print the raw JSON list")
    args = parser.parse_args(argv)
    try:
        rows = RegistryClient(args.registry, token=args.token, timeout=args.timeout, tls_ca=args.tls_ca).call(
            "Registry.services"
        )
    except RpcError as exc:
        return _fail(f"registry {args.registry}: {exc}")
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return _fail(f"registry {args.registry} answered Registry.services with something other than a list of rows")
    table: list[tuple[str, ...]] = [("NAME", "URL", "STATUS", "LAST CHECK", "FAILURES")]
    table += sorted(
        tuple(_cell(r.get(key)) for key in ("service_name", "service_url", "status", "last_checked", "failures"))
        for r in rows
    )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if not rows:
        print("(no services registered)")
    if rows:
        checking = {_cell(r.get("checked_by")) for r in rows if r.get("checked_by") is not None}
        print(f"checked by: {', '.join(sorted(checking)) if checking else 'no registry at the moment'}")
    return 0


def _cell(value: object) -> str:
    """``value`` as one printable cell: a dash when missing, control characters escaped as ``logs`` does.

    Names come from whoever registered; a control character would reach the terminal, and a
    lone surrogate cannot be printed at all.
    """
    text = "-" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def call_main(argv: list[str] | None) -> int:
    parser = flags.ArgumentParser(
        prog="rpc-cluster call",
        description="Call one method and print its result as JSON. NAME_OR_URL is a service name "
        "resolved through the registry (Registry means the registry itself) or an http(s):// URL.",
        epilog="example: rpc-cluster call GradingService Grades.get_student '{\"student_id\": 1}'",
    )
    parser.add_argument("target", metavar="NAME_OR_URL")
    parser.add_argument("method", metavar="METHOD")
    parser.add_argument(
        "params", metavar="JSON", nargs="?", help="params: a JSON array (by position) or object (by name)"
    )
    flags.add_client_flags(parser)
    args = parser.parse_args(argv)
    args_list: list[Any] = []
    kwargs: dict[str, Any] = {}
    if args.params is not None:
        try:
            params = json.loads(args.params)
        except ValueError as exc:
            parser.error(f"JSON params: {exc}")
        if isinstance(params, list):
            args_list = params
        elif isinstance(params, dict):
            kwargs = params
        else:
            parser.error("JSON params must be an array (by position) or an object (by name)")
    try:
        client = targets.client_for(args.target, args)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"argument NAME_OR_URL: {exc}")
    try:
        result = client.call(args.method, *args_list, **kwargs)
    except TransportError as exc:
        return _fail(str(exc))
    except RpcError as exc:
        print(json.dumps({"error": exc.to_error_object()}, indent=2), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


# Each command that runs a service imports it when chosen, not when the CLI starts: importing
# every service brings etcd3gw (with requests), bottle and sqlite3, and took a ``call`` or
# ``services`` from 0.21 s to 0.32 s of start-up (three runs each, on this project's machine).


def _up(argv: list[str] | None) -> int:
    from . import up

    return up.main(argv)


def _registry(argv: list[str] | None) -> int:
    from ..registry import service

    return service.main(argv)


def _log(argv: list[str] | None) -> int:
    from ..logs import service

    return service.main(argv)


def _grading(argv: list[str] | None) -> int:
    from ..grading import service

    return service.main(argv)


def _portal(argv: list[str] | None) -> int:
    from portal import service

    return service.main(argv)


def _logs(argv: list[str] | None) -> int:
    from ..logs import command

    return command.main(argv)


def _user(argv: list[str] | None) -> int:
    from . import user_command

    return user_command.main(argv)


COMMANDS: Mapping[str, tuple[Callable[[list[str] | None], int], str]] = MappingProxyType(
    {
        "up": (_up, "start the whole cluster (registry, log, grading, portal)"),
        "registry": (_registry, "run the service registry"),
        "log": (_log, "run the central log service"),
        "grading": (_grading, "run the grading service"),
        "portal": (_portal, "run the teacher portal"),
        "services": (services_main, "print the registry's services and their health"),
        "call": (call_main, "call one method of a service and print the result"),
        "logs": (_logs, "print the central log's entries; -f follows new ones"),
        "user": (_user, "add users, set their passwords, disable or list them"),
    }
)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: rpc-cluster COMMAND [options]   (rpc-cluster COMMAND --help for its options)\n")
        print("commands:")
        for name, (_, summary) in COMMANDS.items():
            print(f"  {name:<10} {summary}")
        return 0 if argv else 2
    if argv[0] == "--version":
        from ..version import __version__

        print(f"rpc-cluster {__version__}")
        return 0
    command = COMMANDS.get(argv[0])
    if command is None:
        return _fail(f"unknown command {argv[0]!r} (choose from {', '.join(COMMANDS)})", 2)
    try:
        return command[0](argv[1:])
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
