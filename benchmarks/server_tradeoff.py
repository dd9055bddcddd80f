"""The server's trade-offs: what its limits, its request threads and its framework cost, side by side.

wrk, 16 keep-alive connections, the trivial call (``Bench.ping``), against: our server with
its limits against hostile clients on (the default ``Limits()``) and off (the same server
and method, every limit out of reach); the same method on a request thread
(``Bench.ping_on_thread``: the cost of the hop that every blocking method takes); the floor,
a bare Granian embedded RSGI app on uvloop doing the same JSON work with nothing of ours;
the same JSON work as a bare WSGI app on Granian's WSGI interface with one blocking thread
(the old design's unprotected mode); and the stdlib's SimpleXMLRPCServer (the peer: it
closes every connection). wrk cannot speak Pyro, so Pyro5 is measured against our Client
with one client thread each. Last, what hostile clients cost: the same wrk run while 200
stalled bodies and 1,000 idle connections are held open, beside the run without them.

Every repetition runs each contender in turn (A B C ... A B C ...); figures are medians,
ratios the median of each repetition's own ratio, so a machine that drifts during the run
moves both sides of one. Goals: protections on at least 0.8x protections off, and at least
3x the stdlib peer. Run: ``python -m benchmarks.server_tradeoff``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import resource
import select
import shutil
import socket
import sys
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

from rpc_cluster import Client

from .common import Proc, bench_main, fmt, latencies, median, on_free_port, wrk
from .rpc_throughput import JSON_BODY, XML_BODY

ON = "rpc-cluster, protections on (default Limits)"
OFF = "rpc-cluster, protections off (no body deadline, other limits out of reach)"
THREAD = "rpc-cluster, protections on, Bench.ping_on_thread (request-thread hop)"
FLOOR = "bare Granian embedded RSGI on uvloop, same JSON work (the floor)"
WSGI = "bare Granian WSGI, 1 blocking thread, same JSON work (old design, unprotected)"
STDLIB = "stdlib SimpleXMLRPCServer (XML-RPC, closes connections)"
OURS_ONE = "rpc_cluster Client -> protections on"
PYRO = "Pyro5 proxy -> Pyro5 daemon"
CALM = "no hostile clients"
HOSTILE = "200 stalled bodies + 1,000 idle connections held open"
# Held against ours, and against the old design's unprotected mode to show what the limits are for;
# each by a short name in that table.
HOSTILE_TARGETS = MappingProxyType({ON: "ours, protections on", WSGI: "Granian WSGI, 1 thread (old, unprotected)"})
STALLED, IDLE = 200, 1000
# A body announced at this length and stalled after its first byte.
_STALLED_LENGTH = 100


class _Contender:
    """One server under wrk: its URL, what to POST there, and the process to stop (None: shared)."""

    def __init__(self, proc: Proc | None, url: str, body: bytes = JSON_BODY, content_type: str = "application/json"):
        self.proc = proc
        self.url = url
        self.body = body
        self.content_type = content_type

    def wrk(self, seconds: int) -> dict[str, float]:
        return wrk(self.url, body=self.body, content_type=self.content_type, seconds=seconds)


def _servers(contenders: dict[str, _Contender]) -> None:
    """Start every server, filling ``contenders`` as they listen (so the caller stops what started)."""

    def cluster(kind: str) -> _Contender:
        proc = Proc("-m", "benchmarks.servers", kind)
        return _Contender(proc, proc.url())

    def floor() -> _Contender:
        proc, port = on_free_port("-m", "benchmarks.servers", "bare-rsgi")
        return _Contender(proc, f"http://127.0.0.1:{port}/rpc")

    def old_wsgi() -> _Contender:
        granian = ("-m", "granian", "--interface", "wsgi", "--workers", "1", "--blocking-threads", "1")
        options = ("--http", "1", "--log-level", "warning", "--host", "127.0.0.1")
        proc, port = on_free_port(*granian, *options, "benchmarks.servers:bare_wsgi_app", "--port")
        return _Contender(proc, f"http://127.0.0.1:{port}/rpc")

    def stdlib() -> _Contender:
        proc = Proc("-m", "benchmarks.servers", "stdlib")
        return _Contender(proc, proc.url(), XML_BODY, "text/xml")

    contenders[ON] = cluster("cluster")
    contenders[OFF] = cluster("cluster-unprotected")
    thread_body = JSON_BODY.replace(b"Bench.ping", b"Bench.ping_on_thread")
    contenders[THREAD] = _Contender(None, contenders[ON].url, thread_body)
    contenders[FLOOR] = floor()
    contenders[WSGI] = old_wsgi()
    contenders[STDLIB] = stdlib()


def _raise_open_files(wanted: int) -> None:
    """Let this process hold ``wanted`` more sockets (the hostile clients) where the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + 256 if hard == resource.RLIM_INFINITY else min(hard, wanted + 256)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@contextlib.contextmanager
def _hostile(url: str) -> Iterator[dict[str, int]]:
    """``STALLED`` stalled bodies and ``IDLE`` silent connections held open against ``url`` meanwhile.

    Yields a dict: how many were opened (opening stops at the first the server does not accept
    within a second) and, on leaving, how many the server had answered or closed by then.
    """
    _, rest = url.split("://", 1)
    host, port = rest.split("/", 1)[0].rsplit(":", 1)
    head = (
        f"POST /rpc HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {_STALLED_LENGTH}\r\n\r\n{{"
    ).encode()
    _raise_open_files(STALLED + IDLE)
    held: list[socket.socket] = []
    outcome = {"held": 0, "answered_or_closed": 0}
    try:
        for index in range(STALLED + IDLE):
            try:
                sock = socket.create_connection((host, int(port)), timeout=1)
            except OSError:  # its listen backlog is full: what it holds is what it holds
                break
            held.append(sock)
            if index < STALLED:
                sock.sendall(head)
        outcome["held"] = len(held)
        yield outcome
        outcome["answered_or_closed"] = _readable(held)
    finally:
        for sock in held:
            sock.close()


def _readable(socks: list[socket.socket]) -> int:
    """How many of ``socks`` the server has answered (a 408) or closed: readable now."""
    poll = select.poll()  # select() stops at descriptor 1,024
    for sock in socks:
        poll.register(sock, select.POLLIN)
    return len(poll.poll(0))


def _summary(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        "rps": median([r["rps"] for r in runs]),
        "p50_ms": median([r.get("p50_ms", 0.0) for r in runs]),
        "p99_ms": median([r.get("p99_ms", 0.0) for r in runs]),
        "errors": sum(r.get("errors", 0) for r in runs),
    }


def _ratios(samples: dict[str, list[dict[str, float]]], top: str, bottom: str) -> list[float]:
    """``top``'s calls/s over ``bottom``'s, in each repetition (0 where ``bottom`` answered nothing)."""
    pairs = zip(samples[top], samples[bottom], strict=True)
    return [a["rps"] / b["rps"] if b["rps"] else 0.0 for a, b in pairs]


def _ratio(samples: dict[str, list[dict[str, float]]], top: str, bottom: str) -> float:
    """The median over repetitions of ``top``'s calls/s over ``bottom``'s in the same repetition."""
    return median(_ratios(samples, top, bottom))


def _goal(samples: dict[str, list[dict[str, float]]], top: str, bottom: str) -> dict[str, float]:
    ratios = _ratios(samples, top, bottom)
    return {"median": median(ratios), "low": min(ratios), "high": max(ratios)}


def _one_thread(url: str, reps: int, seconds: float) -> dict[str, dict[str, float]]:
    """Our Client and a Pyro5 proxy, one thread each, in turn; {} when Pyro5 is not installed."""
    if importlib.util.find_spec("Pyro5") is None:
        return {}
    import Pyro5.api

    pyro = Proc("-m", "benchmarks.servers", "pyro")
    try:
        proxy = Pyro5.api.Proxy(pyro.url())
        calls = {OURS_ONE: Client(url).Bench.ping, PYRO: proxy.ping}
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in calls}
        for _ in range(reps):
            for name, call in calls.items():
                samples[name].append(latencies(call, 1_000_000, seconds))
        proxy._pyroRelease()
    finally:
        pyro.stop()
    rows = {name: _summary(runs) for name, runs in samples.items()}
    rows[OURS_ONE]["ratio"] = _ratio(samples, OURS_ONE, PYRO)
    rows[PYRO]["ratio"] = 1.0
    return rows


def run(quick: bool = False) -> dict[str, Any]:
    reps, seconds = (2, 2) if quick else (3, 4)
    contenders: dict[str, _Contender] = {}
    try:
        _servers(contenders)
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
        for _ in range(reps):
            for name, contender in contenders.items():
                samples[name].append(contender.wrk(seconds))
        hostile: dict[str, list[dict[str, float]]] = {
            f"{short}: {condition}": [] for short in HOSTILE_TARGETS.values() for condition in (CALM, HOSTILE)
        }
        for _ in range(reps):
            for target, short in HOSTILE_TARGETS.items():
                hostile[f"{short}: {CALM}"].append(contenders[target].wrk(seconds))
                with _hostile(contenders[target].url) as outcome:
                    hostile[f"{short}: {HOSTILE}"].append(contenders[target].wrk(seconds))
                hostile[f"{short}: {HOSTILE}"][-1].update(outcome)
        one_thread = _one_thread(contenders[ON].url, reps, seconds / 2)
    finally:
        for contender in contenders.values():
            if contender.proc is not None:
                contender.proc.stop()
    rows = {name: dict(_summary(runs), vs_on=_ratio(samples, name, ON)) for name, runs in samples.items()}
    hostile_rows = {}
    for short in HOSTILE_TARGETS.values():
        calm, held = f"{short}: {CALM}", f"{short}: {HOSTILE}"
        hostile_rows[calm] = dict(_summary(hostile[calm]), vs_calm=1.0)
        hostile_rows[held] = dict(
            _summary(hostile[held]),
            vs_calm=_ratio(hostile, held, calm),
            held=min(r["held"] for r in hostile[held]),
            answered_or_closed=max(r["answered_or_closed"] for r in hostile[held]),
        )
    return {
        "reps": reps,
        "seconds": seconds,
        "wrk": rows,
        "goals": {
            "on_vs_off": _goal(samples, ON, OFF),
            "on_vs_stdlib": _goal(samples, ON, STDLIB),
            "on_vs_floor": _goal(samples, ON, FLOOR),
            "thread_vs_on": _goal(samples, THREAD, ON),
        },
        "hostile": hostile_rows,
        "one_thread": one_thread,
    }


def _row(name: str, r: dict[str, float], ratio: float) -> str:
    errors = f" ({r['errors']:.0f} errors)" if r["errors"] else ""
    if not r["rps"]:  # not one call answered: there is no latency to show
        return f"| {name} | 0 | - | - | - | {ratio:.2f}x |{errors}"
    return (
        f"| {name} | {fmt(r['rps'])} | {1e6 / r['rps']:.0f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms "
        f"| {ratio:.2f}x |{errors}"
    )


def _measured(goal: dict[str, float], least: float | None = None) -> str:
    """A ratio as printed: its median, its spread over the repetitions, and whether it meets ``least``."""
    text = f"{goal['median']:.2f}x (each repetition {goal['low']:.2f}x to {goal['high']:.2f}x)"
    if least is None:
        return text
    return f"{text}: {'met' if goal['median'] >= least else 'NOT met'}"


def table(result: dict[str, Any]) -> str:
    rows, goals = result["wrk"], result["goals"]
    lines = [
        "| server (Bench.ping, wrk 16 connections) | calls/s | µs per call | p50 | p99 | vs protections on |",
        "|---|---|---|---|---|---|",
        *(_row(name, r, r["vs_on"]) for name, r in rows.items()),
        "",
        f"Medians of {result['reps']} alternating repetitions of {result['seconds']:.0f} s; ratios are the "
        "median of each repetition's own ratio; µs per call is 1 / calls/s.",
        f"Goal: protections on at least 0.8x protections off. Measured: {_measured(goals['on_vs_off'], 0.8)}.",
        f"Goal: protections on at least 3x the stdlib peer. Measured: {_measured(goals['on_vs_stdlib'], 3.0)}.",
        f"Protections on / the bare floor (Granian and uvloop alone): {_measured(goals['on_vs_floor'])}.",
        f"A request-thread hop: {_measured(goals['thread_vs_on'])} the rate of the call run on the loop "
        f"({1e6 / rows[THREAD]['rps'] - 1e6 / rows[ON]['rps']:+.0f} µs per call).",
        "",
        "| server, while ... (wrk 16 connections) | calls/s | µs per call | p50 | p99 | vs none |",
        "|---|---|---|---|---|---|",
        *(_row(name, r, r["vs_calm"]) for name, r in result["hostile"].items()),
        "",
    ]
    for short in HOSTILE_TARGETS.values():
        held = result["hostile"][f"{short}: {HOSTILE}"]
        lines.append(
            f"{short}: {held['held']:.0f} hostile connections opened before wrk started and closed after it "
            f"(the fewest of any repetition), of which at most {held['answered_or_closed']:.0f} were answered "
            "or closed by the server meanwhile."
        )
    lines.append(
        "Ours answers a stalled body 408 after its 10 s deadline and closes an idle connection after 30 s, "
        "both later than a run ends: what these rows show is the cost of holding them, not of ending them."
    )
    one = result["one_thread"]
    lines.append("")
    if not one:
        lines.append("Pyro5 is not installed (the bench extra): the one-thread comparison was not measured.")
        return "\n".join(lines)
    lines += [
        "| one client thread, trivial call (Pyro5 cannot be driven by wrk) | calls/s | µs per call | p50 | p99 "
        "| vs Pyro5 |",
        "|---|---|---|---|---|---|",
        *(_row(name, r, r["ratio"]) for name, r in one.items()),
    ]
    return "\n".join(lines)


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("server_tradeoff: wrk is not installed (apt-get install wrk)")
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
