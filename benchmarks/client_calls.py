"""Calls/s from one thread: our Client against a Pyro5 proxy, and the transports.

The same trivial function (``Bench.ping``) behind each. Our ``Client`` over
its transport (a pooled socket, answers parsed by httptools) is compared in
the same run with Pyro5 (goal: at least equal), with the same ``Client``
over pooled ``http.client`` connections (the transport it replaced), with
the same JSON-RPC POST sent through ``requests.Session`` and urllib3, and
with that POST on a bare socket that parses nothing (the floor), and with
the same bare POST to a bare Granian RSGI server doing the same JSON work
(the floor of the server library itself, whatever the client). Each
repetition runs every contender in turn (A B C ... A B C ...); ratios are the
median of each repetition's own ratio, so a machine that drifts during the
run moves both sides of one. Run: ``python -m benchmarks.client_calls``.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import time

from rpc_cluster import Client
from rpc_cluster.client.transport import http_target

from .common import Proc, bench_main, fmt, median, on_free_port

BODY = json.dumps({"jsonrpc": "2.0", "method": "Bench.ping", "id": 1}).encode()
OURS = "rpc_cluster Client (pooled socket, httptools)"
HTTP_CLIENT = "rpc_cluster Client over http.client (the transport it replaced)"
PYRO = "Pyro5 proxy"


class HttpClientTransport:
    """The transport before the pooled httptools one, for comparison: one pooled ``http.client`` connection,
    polled before reuse as ``rpc_cluster.client.transport`` does. No error translation: a benchmark."""

    def __init__(self) -> None:
        self._conn: http.client.HTTPConnection | None = None

    def post(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float, *, repeatable: bool = False
    ) -> tuple[int, bytes]:
        _, host, port, path = http_target(url)
        conn, self._conn = self._conn, None
        if conn is None or select.select([conn.sock], [], [], 0)[0]:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        data = response.read()
        self._conn = conn
        return response.status, data


def _bare_socket(url: str):
    """The same POST on a bare socket: one write, read up to the body's length; no HTTP parsing."""
    _, host, port, path = http_target(url)
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY

    def call():
        sock.sendall(request)
        data = sock.recv(65536)
        while not data.endswith(b"}"):
            data += sock.recv(65536)
        return data

    return call


def _rate(call, seconds: float) -> tuple[float, float]:
    """(calls/s, this process's CPU µs per call) of ``call`` over ``seconds``."""
    for _ in range(200):  # warm the connection and caches
        call()
    count, start, cpu = 0, time.perf_counter(), time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(100):
            call()
        count += 100
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start), 1e6 * (time.process_time() - cpu) / count


BARE_FLOOR = "the same POST on a bare socket to a bare Granian RSGI server (the server library's floor)"


def _contenders(url: str, pyro_uri: str, bare_url: str) -> dict:
    import Pyro5.api
    import requests
    import urllib3

    client = Client(url)
    over_http_client = Client(url, transport=HttpClientTransport())
    session = requests.Session()
    session.trust_env = False
    pool = urllib3.PoolManager()
    proxy = Pyro5.api.Proxy(pyro_uri)
    headers = {"Content-Type": "application/json"}

    def with_requests():
        return session.post(url, data=BODY, headers=headers).json()["result"]

    def with_urllib3():
        return json.loads(pool.request("POST", url, body=BODY, headers=headers).data)["result"]

    return {
        OURS: lambda: client.Bench.ping(),
        PYRO: proxy.ping,
        HTTP_CLIENT: lambda: over_http_client.Bench.ping(),
        "JSON-RPC POST via requests.Session (trust_env=False)": with_requests,
        "JSON-RPC POST via urllib3 PoolManager": with_urllib3,
        "the same POST on a bare socket, nothing parsed (the floor)": _bare_socket(url),
        BARE_FLOOR: _bare_socket(bare_url),
    }


def run(quick: bool = False) -> list[dict]:
    reps, seconds = (3, 1.0) if quick else (7, 2.0)
    server = Proc("-m", "benchmarks.servers", "cluster")
    pyro = Proc("-m", "benchmarks.servers", "pyro")
    bare, bare_port = on_free_port("-m", "benchmarks.servers", "bare-rsgi")
    try:
        contenders = _contenders(server.url(), pyro.url(), f"http://127.0.0.1:{bare_port}/rpc")
        rates: dict[str, list[float]] = {name: [] for name in contenders}
        cpu: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(reps):
            for name, call in contenders.items():
                rate, cpu_us = _rate(call, seconds)
                rates[name].append(rate)
                cpu[name].append(cpu_us)
    finally:
        server.stop()
        pyro.stop()
        bare.stop()
    rows = []
    for name in contenders:
        per_rep = zip(rates[name], rates[PYRO], rates[HTTP_CLIENT], strict=True)
        ratios = [(ours / pyro_rate, ours / old) for ours, pyro_rate, old in per_rep]
        rows.append(
            {
                "client": name,
                "calls_per_s": median(rates[name]),
                "us_per_call": 1e6 / median(rates[name]),
                "cpu_us_per_call": median(cpu[name]),
                "vs_pyro5": median([r[0] for r in ratios]),
                "vs_http_client": median([r[1] for r in ratios]),
                "repetitions": reps,
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| client, one thread, trivial call | calls/s (median) | µs per call | client CPU µs per call "
        "| vs Pyro5 | vs http.client |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['client']} | {fmt(r['calls_per_s'])} | {r['us_per_call']:.0f} | "
            f"{r['cpu_us_per_call']:.0f} | {r['vs_pyro5']:.2f}x | {r['vs_http_client']:.2f}x |"
        )
    ours = next(r for r in rows if r["client"] == OURS)
    ratio = ours["vs_pyro5"]
    verdict = "met" if ratio >= 1.0 else f"NOT met: {100 * (1 - ratio):.0f}% slower"
    lines += [
        "",
        f"Ratios are medians of each of {ours['repetitions']} repetitions' own ratio; client CPU is "
        "this process's user and system time.",
        f"Goal: our Client at least equal to Pyro5. Measured: {ratio:.2f}x ({verdict}).",
    ]
    floor = next((r for r in rows if r["client"] == BARE_FLOOR), None)
    if floor is not None and ratio < 1.0:
        lines.append(
            f"The floor: a bare socket against a bare Granian RSGI server doing the same JSON work makes "
            f"{floor['vs_pyro5']:.2f}x Pyro5's calls, so no client of a server on Granian's RSGI interface "
            "gets further than that."
        )
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
