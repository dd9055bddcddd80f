"""``Grades.get_student`` round trip: our JSON-RPC against its peers, one run.

Over the same 10,000-student SQLite store: our /rpc, our /RPC2, the stdlib's
``SimpleXMLRPCServer`` serving the same store function (the Python peer), and
our stack answering a constant (the limit). 16 keep-alive clients (wrk) for
throughput, 1 for p50/p99. Goals: /rpc at least 1.5x the stdlib peer, and
at least 80% of the limit. Run: ``python -m benchmarks.rpc_roundtrip``.
"""

from __future__ import annotations

from .common import Proc, bench_main, fmt, median, wrk
from .grading import STUDENTS, LoadedSqlite

CONSTANT = b'{"jsonrpc": "2.0", "method": "Bench.ping", "id": 1}'


def _lua(xml: bool) -> str:
    if xml:
        body = (
            '\'<?xml version="1.0"?><methodCall><methodName>Grades.get_student</methodName><params><param>'
            f"<value><int>' .. math.random(1, {STUDENTS}) .. '</int></value></param></params></methodCall>'"
        )
        kind = "text/xml"
    else:
        body = (
            '\'{"jsonrpc": "2.0", "method": "Grades.get_student", "id": 1, "params": [\' '
            f".. math.random(1, {STUDENTS}) .. ']}}'"
        )
        kind = "application/json"
    return (
        f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "{kind}"\n'
        f"request = function()\n  return wrk.format(nil, nil, nil, {body})\nend\n"
    )


def run(quick: bool = False) -> list[dict]:
    reps, seconds = (1, 3) if quick else (3, 5)
    folder = LoadedSqlite()
    db = folder.path
    procs = []
    try:
        grading = Proc(
            "cmd/gradingservice/main.py", "--port", "0", "--registry", "http://127.0.0.1:9/rpc", "--db", str(db)
        )
        stdlib = Proc("-m", "benchmarks.servers", "stdlib", str(db))
        constant = Proc("-m", "benchmarks.servers", "cluster")
        procs = [grading, stdlib, constant]
        grading_url = grading.url()
        cases = {
            "rpc-cluster /rpc (JSON-RPC)": {"url": grading_url, "lua": _lua(False)},
            "rpc-cluster /RPC2 (XML-RPC, same server)": {
                "url": grading_url.replace("/rpc", "/RPC2"),
                "lua": _lua(True),
            },
            "stdlib SimpleXMLRPCServer, same store (the peer)": {"url": stdlib.url(), "lua": _lua(True)},
            "constant from an empty method, same stack (the limit)": {"url": constant.url(), "body": CONSTANT},
        }
        samples: dict[tuple, list] = {}
        for _ in range(reps):
            for name, spec in cases.items():
                for clients in (16, 1):
                    samples.setdefault((name, clients), []).append(wrk(connections=clients, seconds=seconds, **spec))
    finally:
        for proc in procs:
            proc.stop()
        folder.cleanup()
    rows: dict[str, dict] = {}
    for (name, clients), runs in samples.items():
        row = rows.setdefault(name, {"server": name})
        if clients == 16:
            row["rps"] = median([r["rps"] for r in runs])
            row["errors"] = sum(r["errors"] for r in runs)
        else:
            row["p50_ms"] = median([r["p50_ms"] for r in runs])
            row["p99_ms"] = median([r["p99_ms"] for r in runs])
    return list(rows.values())


def table(rows: list[dict]) -> str:
    ours = rows[0]["rps"]
    peer = next(r["rps"] for r in rows if "peer" in r["server"])
    limit = next(r["rps"] for r in rows if "limit" in r["server"])
    lines = ["| server | 16 clients: calls/s | vs peer | vs limit | 1 client: p50 | p99 |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['server']} | {fmt(r['rps'])} | {r['rps'] / peer:.2f}x | {100 * r['rps'] / limit:.0f}% "
            f"| {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms |" + (f" ({r['errors']} errors)" if r["errors"] else "")
        )
    lines += [
        "",
        f"Goals: /rpc ≥ 1.5x the stdlib peer: {ours / peer:.2f}x ({'met' if ours >= 1.5 * peer else 'NOT met'}); "
        f"/rpc ≥ 80% of the limit: {100 * ours / limit:.0f}% ({'met' if ours >= 0.8 * limit else 'NOT met'}).",
    ]
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
