"""Calls/s from one thread: our Client against a Pyro5 proxy, and the transports.

The same trivial function (``Bench.ping``) behind each. Our ``Client`` over
its keep-alive ``http.client`` transport is compared in the same run with
Pyro5 (goal: at least equal), and with the same JSON-RPC POST sent through
``requests.Session`` and urllib3, the transports we did not pick.
Run: ``python -m benchmarks.client_calls``.
"""

from __future__ import annotations

import json
import time

from rpc_cluster import Client

from .common import Proc, bench_main, fmt, median

BODY = json.dumps({"jsonrpc": "2.0", "method": "Bench.ping", "id": 1}).encode()


def _rate(call, seconds: float) -> float:
    for _ in range(200):  # warm the connection and caches
        call()
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            call()
        count += 100
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def _contenders(url: str, pyro_uri: str) -> dict:
    import requests
    import urllib3
    import Pyro5.api

    client = Client(url)
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
        "rpc_cluster Client (http.client keep-alive)": lambda: client.Bench.ping(),
        "Pyro5 proxy": proxy.ping,
        "JSON-RPC POST via requests.Session (trust_env=False)": with_requests,
        "JSON-RPC POST via urllib3 PoolManager": with_urllib3,
    }


def run(quick: bool = False) -> list[dict]:
    reps, seconds = (3, 1.0) if quick else (5, 2.0)
    server = Proc("-m", "benchmarks.servers", "cluster")
    pyro = Proc("-m", "benchmarks.servers", "pyro")
    try:
        contenders = _contenders(server.url(), pyro.url())
        samples = {name: [] for name in contenders}
        for _ in range(reps):
            for name, call in contenders.items():
                samples[name].append(_rate(call, seconds))
    finally:
        server.stop()
        pyro.stop()
    return [{"client": name, "calls_per_s": median(values), "us_per_call": 1e6 / median(values)}
            for name, values in samples.items()]


def table(rows: list[dict]) -> str:
    pyro = next(r["calls_per_s"] for r in rows if r["client"].startswith("Pyro5"))
    ours = rows[0]["calls_per_s"]
    lines = ["| client, one thread, trivial call | calls/s (median) | µs per call | vs Pyro5 |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['client']} | {fmt(r['calls_per_s'])} | {r['us_per_call']:.0f} | {r['calls_per_s'] / pyro:.2f}x |")
    verdict = "met" if ours >= pyro else f"NOT met: {100 * (1 - ours / pyro):.0f}% slower"
    lines += ["", f"Goal: our Client at least equal to Pyro5. Measured: {ours / pyro:.2f}x ({verdict})."]
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
