"""JSON-RPC call rate for a trivial method, 16 concurrent keep-alive clients (wrk).

Side by side in one run, interleaved so machine noise hits all alike:
our stack on /rpc, our /RPC2, the stdlib's SimpleXMLRPCServer, and our same
WSGI app on waitress and on gunicorn (the server choice). Goal: /rpc at
least 1.5x the stdlib peer. Run: ``python -m benchmarks.rpc_throughput``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import xmlrpc.client

from .common import Proc, bench_main, fmt, median, wrk

JSON_BODY = b'{"jsonrpc": "2.0", "method": "Bench.ping", "id": 1}'
XML_BODY = xmlrpc.client.dumps((), "Bench.ping").encode()


def _servers() -> dict[str, tuple[Proc, str, bytes, str]]:
    procs = {}
    cluster = Proc("-m", "benchmarks.servers", "cluster")
    url = cluster.url()
    procs["rpc-cluster /rpc (Granian, in-process, 1 process)"] = (cluster, url, JSON_BODY, "application/json")
    procs["rpc-cluster /RPC2 (XML-RPC, same server)"] = (None, url.replace("/rpc", "/RPC2"), XML_BODY, "text/xml")
    stdlib = Proc("-m", "benchmarks.servers", "stdlib")
    procs["stdlib SimpleXMLRPCServer (XML-RPC)"] = (stdlib, stdlib.url(), XML_BODY, "text/xml")
    waitress = Proc("-m", "benchmarks.servers", "waitress")
    procs["same app on waitress (8 threads)"] = (waitress, waitress.url(), JSON_BODY, "application/json")
    # Run as "python -m gunicorn": look for the module, not a gunicorn script on PATH.
    if importlib.util.find_spec("gunicorn"):
        gunicorn = Proc(
            "-m",
            "gunicorn",
            "-k",
            "gthread",
            "-w",
            "2",
            "--threads",
            "4",
            "-b",
            "127.0.0.1:0",
            "benchmarks.servers:wsgi_app",
        )
        port = gunicorn.wait_for(r"Listening at: http://127.0.0.1:(\d+)").group(1)
        procs["same app on gunicorn gthread (2 workers x 4 threads)"] = (
            gunicorn,
            f"http://127.0.0.1:{port}/rpc",
            JSON_BODY,
            "application/json",
        )
    return procs


def run(quick: bool = False) -> list[dict]:
    reps, seconds = (2, 3) if quick else (3, 5)
    servers = _servers()
    try:
        samples: dict[str, list[dict]] = {name: [] for name in servers}
        for _ in range(reps):
            for name, (_, url, body, content_type) in servers.items():
                samples[name].append(wrk(url, body=body, content_type=content_type, seconds=seconds))
    finally:
        for proc, *_ in servers.values():
            if proc:
                proc.stop()
    rows = []
    for name, runs in samples.items():
        rows.append(
            {
                "server": name,
                "rps": median([r["rps"] for r in runs]),
                "p50_ms": median([r.get("p50_ms", 0) for r in runs]),
                "p99_ms": median([r.get("p99_ms", 0) for r in runs]),
                "errors": sum(r["errors"] for r in runs),
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    peer = next(r["rps"] for r in rows if r["server"].startswith("stdlib"))
    ours = next(r["rps"] for r in rows if r["server"].startswith("rpc-cluster /rpc"))
    lines = [
        "| server (trivial method, wrk 16 connections) | calls/s (median) | p50 | p99 | vs stdlib |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['server']} | {fmt(r['rps'])} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms "
            f"| {r['rps'] / peer:.2f}x |" + (f" ({r['errors']} errors)" if r["errors"] else "")
        )
    lines.append("")
    lines.append(
        f"Goal: /rpc at least 1.5x the stdlib peer. Measured: {ours / peer:.2f}x "
        f"({'met' if ours >= 1.5 * peer else 'NOT met'})."
    )
    return "\n".join(lines)


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("rpc_throughput: wrk is not installed (apt-get install wrk)")
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
