"""rpc-cluster user: add users, set their passwords, disable them, list them.

rpc-cluster user add USERNAME --role admin|teacher [--name TEXT]
rpc-cluster user passwd USERNAME
rpc-cluster user disable USERNAME        (enable USERNAME undoes it)
rpc-cluster user list [--json]

Each calls grading's ``Users.*`` with the service's own authority, found like
``rpc-cluster call`` finds a service (``--registry``), or at ``--url``. A
password is typed on the terminal without echo, twice, or given as one line of
standard input with ``--password-stdin``; never as an argument, where every
user of the machine could read it (``ps``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

from ..client.client import Client
from ..core.errors import RpcError
from ..runtime import flags
from . import targets

#: The service the commands call when no --url is given.
GRADING = "GradingService"


class _Parser(flags.ArgumentParser):
    """One-line usage errors that never repeat an argument they did not understand.

    argparse repeats unrecognized arguments, and one of them may be a password
    typed in the wrong place: this error says where, not what.
    """

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments:"):
            count = len(message.split(":", 1)[1].split())
            message = f"{count} unrecognized argument{'s' if count > 1 else ''} (not repeated: one may be a password)"
        self.exit(2, f"{self.prog}: error: {message}\n")


class _RefusePassword(argparse.Action):
    """``--password`` is refused with the reason, and its value is never shown."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        parser.error(
            "--password is refused: a password in the arguments is visible to every user of this machine; "
            "type it when asked, or give it on standard input with --password-stdin"
        )


def _fail(command: str, message: str) -> int:
    print(f"rpc-cluster user {command}: error: {message}", file=sys.stderr)
    return 1


def _read_password(args: argparse.Namespace) -> str:
    """The new password: one line of stdin with --password-stdin, else typed twice on the terminal.

    Raises ValueError saying why in one line.
    """
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ValueError("--password-stdin: standard input is empty")
        return line.removesuffix("\n").removesuffix("\r")
    with warnings.catch_warnings():
        # getpass falls back to reading stdin with echo on when there is no terminal: refuse instead.
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            first = getpass.getpass(f"New password for {args.username}: ")
            second = getpass.getpass("The same again: ")
        except getpass.GetPassWarning:
            raise ValueError("no terminal to type the password on: give it with --password-stdin") from None
        except EOFError:
            raise ValueError("no password typed") from None
    if first != second:
        raise ValueError("the two passwords differ; nothing changed")
    return first


def _user_line(user: dict[str, Any]) -> str:
    state = "disabled" if user.get("disabled") else "enabled"
    return f"{user.get('username')} ({user.get('role')}, {state}): {user.get('display_name')}"


def _add(client: Client, args: argparse.Namespace) -> str:
    password = _read_password(args)
    params: dict[str, Any] = {"username": args.username, "role": args.role, "password": password}
    if args.name is not None:
        params["display_name"] = args.name
    return f"added {_user_line(client.call('Users.add', **params))}"


def _passwd(client: Client, args: argparse.Namespace) -> str:
    client.call("Users.set_password", username=args.username, password=_read_password(args))
    return f"password of {args.username} changed; every session they had is ended"


def _disable(client: Client, args: argparse.Namespace) -> str:
    user = client.call("Users.disable", username=args.username, disabled=True)
    return f"disabled {_user_line(user)}; every session they had is ended"


def _enable(client: Client, args: argparse.Namespace) -> str:
    return f"enabled {_user_line(client.call('Users.disable', username=args.username, disabled=False))}"


def _list(client: Client, args: argparse.Namespace) -> str:
    users = client.call("Users.list")
    if args.json:
        return json.dumps(users, indent=2)
    table = [("USERNAME", "ROLE", "STATUS", "NAME")]
    table += [(u["username"], u["role"], "disabled" if u["disabled"] else "enabled", u["display_name"]) for u in users]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table]
    return "\n".join(lines if users else [*lines, "(no users)"])


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rpc-cluster user", description=__doc__.splitlines()[0], allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name: str, run: Callable[[Client, argparse.Namespace], str], summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary, allow_abbrev=False)
        sub.set_defaults(run=run)
        if name != "list":
            sub.add_argument("username", metavar="USERNAME")
        return sub

    add = command("add", _add, "add a user (the password is asked for twice, or read with --password-stdin)")
    add.add_argument("--role", required=True, choices=("admin", "teacher"), help="what the user may do")
    add.add_argument("--name", metavar="TEXT", help="the name shown in the portal (default: the username)")
    passwd = command("passwd", _passwd, "set a user's password and end every session they have")
    command("disable", _disable, "stop a user from signing in and end every session they have")
    command("enable", _enable, "let a disabled user sign in again")
    listing = command("list", _list, "print every user: username, role, status and name")
    listing.add_argument("--json", action="store_true", help="print the raw JSON list")
    for sub in (add, passwd):
        sub.add_argument(
            "--password-stdin", action="store_true", help="read the password as one line of standard input"
        )
        sub.add_argument("--password", nargs="?", action=_RefusePassword, help=argparse.SUPPRESS)
    for sub in commands.choices.values():
        sub.add_argument(
            "--url", type=flags.rpc_url, help=f"grading's URL (default: {GRADING}, found through --registry)"
        )
        flags.add_client_flags(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one ``rpc-cluster user`` command; 0 when it did what it says."""
    args = _parser().parse_args(argv)
    try:
        client = targets.client_for(args.url or GRADING, args)
        print(args.run(client, args))
    except (ValueError, RpcError) as exc:
        return _fail(args.command, str(exc))
    return 0
