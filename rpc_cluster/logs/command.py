"""``rpc-cluster logs``: print the central log's entries, and follow new ones with ``-f``.

    rpc-cluster logs [-f] [--service S] [--level L] [--trace T] [--since TS] [--limit N]
                     [--url URL] [--registry URL] [--token T] [--tls-ca FILE]

One entry a line: timestamp, level, service, trace id, message, with control
characters escaped (``\\n``, ``\\x1b``), so that no message draws on the
terminal or looks like a line of its own. The log service is the registry's
first ``LogService`` unless ``--url`` names one. ``-f`` asks ``Log.follow``
every ``--interval`` seconds for what came after its cursor; a lost log
service is one line on stderr, and it keeps trying (through the registry
again: it may come back at another address). Ctrl-C ends it with exit code 0.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from typing import Any, TextIO

from ..client import retry
from ..client.client import Client
from ..client.registry_client import RegistryClient
from ..client.transport import Transport
from ..core.errors import InvalidParams, RpcError, ServiceUnavailable, TransportError
from ..net import tls
from ..observability.log_entries import LEVELS, timestamp_text
from ..runtime import flags
from .service import MAX_TAIL

PROG = "rpc-cluster logs"
LOG_SERVICE = "LogService"
_LOST = (TransportError, ServiceUnavailable)


def format_entry(entry: dict[str, Any]) -> str:
    """One entry as one line: ``timestamp level service trace message``, a dash for what is missing."""
    fields = (
        entry.get("timestamp") or "-",
        f"{entry.get('level') or '-':<8}",
        entry.get("service_name") or "-",
        entry.get("trace_id") or "-",
        entry.get("message") or "",
    )
    return " ".join(_escaped(str(field)) for field in fields)


def _escaped(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


# -- flags -------------------------------------------------------------------------------------------


def _level(text: str) -> str:
    if text.upper() not in LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a level (choose from {', '.join(LEVELS)})")
    return text.upper()


def _limit(text: str) -> int:
    limit = flags.positive_int(text)
    if limit > MAX_TAIL:
        raise argparse.ArgumentTypeError(f"{limit} is more than {MAX_TAIL}")
    return limit


def _since(text: str) -> str:
    try:
        return timestamp_text(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} {exc}") from None


def _parser() -> flags.ArgumentParser:
    parser = flags.ArgumentParser(
        prog=PROG,
        description="Print the newest entries of the central log, one a line "
        "(timestamp level service trace message); with -f, follow new ones.",
        epilog="example: rpc-cluster logs -f --service GradingService --level WARNING",
    )
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new entries until Ctrl-C")
    flags.add_flag(parser, "--service", "RPC_CLUSTER_LOGS_SERVICE", None, "only this service's entries")
    flags.add_flag(parser, "--level", "RPC_CLUSTER_LOGS_LEVEL", None, "only this level and above", type=_level)
    flags.add_flag(parser, "--trace", "RPC_CLUSTER_LOGS_TRACE", None, "only this trace id's entries")
    flags.add_flag(
        parser,
        "--since",
        "RPC_CLUSTER_LOGS_SINCE",
        None,
        "only entries newer than this timestamp (ISO 8601, e.g. 2026-11-22T09:00:00Z)",
        type=_since,
    )
    flags.add_flag(
        parser,
        "--limit",
        "RPC_CLUSTER_LOGS_LIMIT",
        20,
        f"newest entries to print first (1-{MAX_TAIL}); with -f, most per poll",
        type=_limit,
    )
    flags.add_flag(
        parser,
        "--interval",
        "RPC_CLUSTER_LOGS_INTERVAL",
        0.5,
        "with -f, seconds between polls",
        type=flags.positive_seconds,
    )
    flags.add_flag(
        parser,
        "--url",
        "RPC_CLUSTER_LOGS_URL",
        None,
        "the log service's URL (default: ask the registry for LogService)",
        type=flags.rpc_url,
    )
    flags.add_client_flags(parser)
    return parser


# -- reading ------------------------------------------------------------------------------------------


class _LogSource:
    """The log service to read from: ``--url``, or the registry's first LogService, found again after a failure.

    One instance at a time: a cursor means something only to the log service that made it.
    """

    def __init__(self, args: argparse.Namespace):
        self._args = args
        self._transport = Transport(tls_ca=args.tls_ca)
        self._client: Client | None = None

    @property
    def where(self) -> str:
        return self._client.url if self._client is not None else self._args.url or f"{LOG_SERVICE} (not found yet)"

    def call(self, method: str, **params: Any) -> Any:
        if self._client is None:
            self._client = Client(
                self._find(), token=self._args.token, timeout=self._args.timeout, transport=self._transport
            )
        try:
            return self._client.call(method, **params)
        except TransportError:
            self._client = None  # ask the registry again next time: it may have moved
            raise

    def _find(self) -> str:
        given: str | None = self._args.url
        if given:
            return given
        registry = RegistryClient(
            self._args.registry, token=self._args.token, timeout=self._args.timeout, transport=self._transport
        )
        urls: list[str] = registry.call("Registry.lookup", LOG_SERVICE)
        if not urls:
            raise ServiceUnavailable(f"the registry ({self._args.registry}) lists no passing {LOG_SERVICE}")
        return urls[0]


class Follower:
    """``-f``: print each page of ``Log.follow``, then ask again for what came after it.

    When the log service is lost it warns once and keeps trying with the
    cursor it had (a restarted log service with the same file takes it). A
    log service that does not know the cursor (another instance, or its file
    rotated away) is asked again without one, for the entries newer than the
    last one printed.
    """

    def __init__(self, source: _LogSource, args: argparse.Namespace, out: TextIO, err: TextIO):
        self._source = source
        self._args = args
        self._out = out
        self._err = err
        self._cursor: str | None = None
        #: The newest timestamp printed (or --since): where to go on from without a cursor.
        self._since: str | None = args.since
        self._failures = 0

    def run(self) -> int:
        while True:
            try:
                # After a cursor, every entry that came later is new, whatever its timestamp
                # (a shipper may deliver an older one late): only --since applies.
                page = self._source.call(
                    "Log.follow",
                    cursor=self._cursor,
                    limit=self._args.limit,
                    service_name=self._args.service,
                    level=self._args.level,
                    trace_id=self._args.trace,
                    since=self._args.since if self._cursor else self._since,
                )
            except InvalidParams as exc:
                if self._cursor is None or (exc.data or {}).get("field") != "cursor":
                    raise
                self._cursor = None  # print nothing twice: self._since is the newest entry printed
                continue
            except _LOST as exc:
                self._lost(exc)
                continue
            if self._failures:
                print(f"{PROG}: reading {self._source.where} again", file=self._err, flush=True)
                self._failures = 0
            self._print(page["entries"])
            self._cursor = page["cursor"]
            if not page["more"]:
                time.sleep(self._args.interval)

    def _print(self, entries: list[dict[str, Any]]) -> None:
        if entries:
            self._out.write("".join(format_entry(entry) + "\n" for entry in entries))
            self._out.flush()
            newest = max(str(entry.get("timestamp") or "") for entry in entries)
            self._since = max(self._since or "", newest) or None

    def _lost(self, exc: RpcError) -> None:
        self._failures += 1
        if self._failures == 1:
            print(
                _escaped(f"{PROG}: warning: lost the log service at {self._source.where} ({exc}); still trying"),
                file=self._err,
                flush=True,
            )
        time.sleep(retry.LOG_FOLLOW.delay(self._failures))


def _print_newest(source: _LogSource, args: argparse.Namespace, out: TextIO) -> int:
    try:
        entries = source.call(
            "Log.tail",
            limit=args.limit,
            service_name=args.service,
            level=args.level,
            trace_id=args.trace,
            since=args.since,
        )
    except _LOST as exc:
        return _fail(f"cannot read the log at {source.where}: {exc}")
    out.write("".join(format_entry(entry) + "\n" for entry in entries))
    out.flush()
    return 0


def _fail(message: str) -> int:
    print(_escaped(f"{PROG}: error: {message}"), file=sys.stderr)
    return 1


def _stdout_gone() -> None:
    # The reader left (`rpc-cluster logs -f | head`): exit quietly, without Python's
    # "Exception ignored ... BrokenPipeError" when it flushes stdout at exit.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.tls_ca:
            tls.client_context(args.tls_ca)
    except tls.TlsConfigError as exc:
        parser.error(str(exc))
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    source = _LogSource(args)
    try:
        if not args.follow:
            return _print_newest(source, args, sys.stdout)
        return Follower(source, args, sys.stdout, sys.stderr).run()
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        _stdout_gone()
        return 0
    except RpcError as exc:
        return _fail(f"{source.where}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
