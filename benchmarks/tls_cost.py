"""What TLS costs per call: the same grading service on plain HTTP and on HTTPS, side by side.

Two grading services over one 10,000-student SQLite store, one started
with ``--tls-cert``/``--tls-key`` (a trustme CA, ``rpc_cluster.tools.local_ca``).
``Grades.get_student`` from 16 keep-alive clients (wrk: the server's cost)
and from 1 (wrk's p50), then from one thread of our own ``Client`` (the
client's TLS too), and with a new connection per call (the handshake),
alternating plain and TLS in each repetition. Run: ``python -m benchmarks.tls_cost``.
"""

from __future__ import annotations

import http.client
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

from rpc_cluster import Client
from rpc_cluster.client.transport import http_target
from rpc_cluster.net.tls import client_context

from .common import Proc, bench_main, fmt, median, wrk
from .grading import STUDENTS, LoadedSqlite
from .rpc_roundtrip import _lua


def _calls_per_second(call, seconds: float, limit: int = 200_000) -> float:
    for _ in range(100):  # warm the connection and caches
        call()
    count, start = 0, time.perf_counter()
    while count < limit:
        for _ in range(50):
            call()
        count += 50
        if time.perf_counter() - start >= seconds:
            break
    return count / (time.perf_counter() - start)


def _one_client(url: str, ca: str | None, seconds: float) -> dict[str, float]:
    client = Client(url, tls_ca=ca)
    pick = random.Random(1).randint
    rate = _calls_per_second(lambda: client.Grades.get_student(pick(1, STUDENTS)), seconds)
    # A new connection (for HTTPS, a handshake) per call, with one context made beforehand, as the
    # transport keeps it: bounded in count and time.
    secure, host, port, path = http_target(url)
    context = client_context(ca) if secure else None
    fresh, start = 0, time.perf_counter()
    while fresh < 2000 and time.perf_counter() - start < seconds:
        conn = (
            http.client.HTTPSConnection(host, port, context=context)
            if secure
            else http.client.HTTPConnection(host, port)
        )
        body = json.dumps({"jsonrpc": "2.0", "method": "Grades.get_student", "params": [pick(1, STUDENTS)], "id": 1})
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        assert b'"result"' in conn.getresponse().read()
        conn.close()
        fresh += 1
    return {"client_rps": rate, "fresh_ms": 1000 * (time.perf_counter() - start) / fresh}


def run(quick: bool = False) -> list[dict]:
    reps, seconds = (1, 2) if quick else (3, 4)
    store = LoadedSqlite()
    certs = Path(tempfile.mkdtemp(prefix="bench-tls-"))
    procs: list[Proc] = []
    try:
        from rpc_cluster.tools.local_ca import LocalCA

        ca = LocalCA(certs)
        chain, key = ca.issue("server", ["127.0.0.1"])
        common = [
            "cmd/gradingservice/main.py",
            "--port",
            "0",
            "--registry",
            "http://127.0.0.1:9/rpc",
            "--db",
            str(store.path),
        ]
        plain = Proc(*common)
        tls = Proc(*common, "--tls-cert", str(chain), "--tls-key", str(key))
        procs = [plain, tls]
        servers = {"plain HTTP": (plain.url(), None), "HTTPS (TLS 1.3)": (tls.url(), str(ca.ca_file))}
        samples: dict[str, dict[str, list[float]]] = {name: {} for name in servers}
        for _ in range(reps):
            for name, (url, ca_file) in servers.items():
                many = wrk(url, lua=_lua(False), connections=16, seconds=seconds)
                one = wrk(url, lua=_lua(False), connections=1, seconds=seconds)
                figures = {
                    "rps": many["rps"],
                    "errors": many["errors"],
                    "p50_ms": one["p50_ms"],
                    **_one_client(url, ca_file, seconds),
                }
                for field, value in figures.items():
                    samples[name].setdefault(field, []).append(value)
    finally:
        for proc in procs:
            proc.stop()
        store.cleanup()
        shutil.rmtree(certs, ignore_errors=True)
    return [
        {
            "server": name,
            **{field: (sum(values) if field == "errors" else median(values)) for field, values in fields.items()},
        }
        for name, fields in samples.items()
    ]


def table(rows: list[dict]) -> str:
    plain, tls = rows
    lines = [
        "| Grades.get_student | 16 clients (wrk): calls/s | 1 client (wrk): p50 | our Client, 1 thread: calls/s "
        "| new connection per call |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['server']} | {fmt(r['rps'])} | {r['p50_ms']:.3f} ms | {fmt(r['client_rps'])} "
            f"| {r['fresh_ms']:.2f} ms |" + (f" ({r['errors']:.0f} errors)" if r["errors"] else "")
        )
    lines += [
        "",
        f"TLS against plain HTTP in the same run: 16 clients {tls['rps'] / plain['rps']:.2f}x the calls/s; "
        f"1 client p50 {1000 * (tls['p50_ms'] - plain['p50_ms']):+.0f} µs; our Client "
        f"{tls['client_rps'] / plain['client_rps']:.2f}x; a new connection "
        f"{tls['fresh_ms'] - plain['fresh_ms']:+.2f} ms (the handshake, paid once per pooled connection).",
    ]
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
