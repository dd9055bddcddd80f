"""What counting and timing every call for /metrics costs, on the trivial call.

The same ``Bench.ping`` service twice, with its calls counted and timed and
without (``Service.measure_calls = False``), alternated in each repetition
so machine noise hits both alike: 16 keep-alive clients (wrk) and 1 (p50).
Then the cost in-process, with no network: ``Dispatcher.call`` with and
without the observer, in microseconds a call. Goal: under 10% on the
trivial-call rate. Run: ``python -m benchmarks.metrics_cost``.
"""

from __future__ import annotations

import time

from rpc_cluster.core.dispatch import Dispatcher
from rpc_cluster.core.methods import MethodTable
from rpc_cluster.observability.metrics import ServiceMetrics

from .common import Proc, bench_main, fmt, median, wrk
from .rpc_throughput import JSON_BODY
from .servers import Bench


def _in_process_us(observe, calls: int = 200_000, seconds: float = 2.0) -> float:
    methods = MethodTable()
    methods.add_object("Bench", Bench())
    dispatcher = Dispatcher(methods, observe=observe)
    done, start = 0, time.perf_counter()
    while done < calls and time.perf_counter() - start < seconds:
        for _ in range(1000):
            dispatcher.call("Bench.ping", [])
        done += 1000
    return 1e6 * (time.perf_counter() - start) / done


def run(quick: bool = False) -> list[dict]:
    reps, seconds = (1, 2) if quick else (3, 5)
    servers = {
        "counted and timed (the default)": Proc("-m", "benchmarks.servers", "cluster"),
        "not measured (the baseline)": Proc("-m", "benchmarks.servers", "cluster-unmeasured"),
    }
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in servers}
    try:
        urls = {name: proc.url() for name, proc in servers.items()}
        for _ in range(reps):
            for name, url in urls.items():
                many = wrk(url, body=JSON_BODY, connections=16, seconds=seconds)
                one = wrk(url, body=JSON_BODY, connections=1, seconds=seconds)
                observe = ServiceMetrics("Bench").observe_call if name.startswith("counted") else None
                for field, number in (("rps", many["rps"]), ("p50_ms", one["p50_ms"]), ("us", _in_process_us(observe))):
                    samples[name].setdefault(field, []).append(number)
    finally:
        for proc in servers.values():
            proc.stop()
    return [
        {"server": name, **{field: median(values) for field, values in fields.items()}}
        for name, fields in samples.items()
    ]


def table(rows: list[dict]) -> str:
    measured, baseline = rows
    cost = 1 - measured["rps"] / baseline["rps"]
    lines = [
        "| Bench.ping | 16 clients (wrk): calls/s | 1 client: p50 | in-process Dispatcher.call |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['server']} | {fmt(r['rps'])} | {r['p50_ms']:.3f} ms | {r['us']:.2f} µs |")
    lines += [
        "",
        f"Cost of the instrumentation in the same run: {100 * cost:.1f}% of the trivial-call rate "
        f"({measured['us'] - baseline['us']:+.2f} µs a call in-process). Goal: under 10% "
        f"({'met' if cost < 0.10 else 'NOT met'}).",
    ]
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
