"""Signing in: ``Sessions.sign_in`` latency against a real grading service on SQLite, one client.

Three kinds of sign-in, interleaved call by call so machine noise hits them
alike: the right password, a wrong password for a user who exists, and a
username nobody has (each refused one counts a failure, so every call uses
its own user and no client reaches the lockout). Beside them
``Sessions.check``, what each portal page costs. A bounded loop: a fixed
number of calls, or fewer when the time bound is reached first. Goals: a
sign-in's p50 at most 60 ms (one argon2id verify of about 25 ms of CPU and
one transaction), and the three kinds within 5 ms of each other at p50, so
timing does not tell whether a username exists.
Run: ``python -m benchmarks.sign_in``.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rpc_cluster import Client, Forbidden

from .common import Proc, bench_main

PASSWORD = "correct horse battery staple"
# A client address takes at most 29 failures here: under the lockout's 30.
PER_CLIENT = 25


def _timed(case: Callable[[int], object], i: int) -> float:
    """Milliseconds ``case``'s call number ``i`` took; a refused sign-in is the answer expected."""
    started = time.perf_counter()
    with contextlib.suppress(Forbidden):
        case(i)
    return 1000 * (time.perf_counter() - started)


def run(quick: bool = False) -> list[dict]:
    calls, seconds = (40, 20.0) if quick else (200, 120.0)
    with tempfile.TemporaryDirectory() as folder:
        grading = Proc(
            "cmd/gradingservice/main.py",
            "--port",
            "0",
            "--registry",
            "http://127.0.0.1:9/rpc",
            "--db",
            str(Path(folder) / "grades.db"),
        )
        try:
            client = Client(grading.url(), timeout=30)
            client.call("Users.add", "bench", "teacher", PASSWORD)
            for i in range(calls):
                client.call("Users.add", f"wrong{i}", "teacher", PASSWORD)
            session = client.call("Sessions.sign_in", "bench", PASSWORD, "bench", 3600, 3600)["session"]
            # Each case makes its call number i.
            cases: dict[str, Callable[[int], object]] = {
                "sign_in, right password": lambda i: client.call(
                    "Sessions.sign_in", "bench", PASSWORD, "right", 3600, 3600
                ),
                "sign_in, wrong password (user exists)": lambda i: client.call(
                    "Sessions.sign_in", f"wrong{i}", PASSWORD + "!", f"wrong-{i // PER_CLIENT}", 3600, 3600
                ),
                "sign_in, unknown username": lambda i: client.call(
                    "Sessions.sign_in", f"nobody{i}", PASSWORD, f"unknown-{i // PER_CLIENT}", 3600, 3600
                ),
                "check (each portal page)": lambda i: client.call("Sessions.check", session),
            }
            samples: dict[str, list[float]] = {name: [] for name in cases}
            deadline = time.monotonic() + seconds
            for i in range(calls):
                if time.monotonic() > deadline:
                    break
                for name, case in cases.items():
                    samples[name].append(_timed(case, i))
        finally:
            grading.stop()
    return [
        {
            "case": name,
            "calls": len(values),
            "p50_ms": statistics.median(values),
            "p99_ms": statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0],
        }
        for name, values in samples.items()
    ]


def table(rows: list[dict]) -> str:
    lines = ["| 1 client, SQLite | calls | p50 | p99 |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['calls']} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms |")
    sign_ins = [r["p50_ms"] for r in rows if r["case"].startswith("sign_in")]
    spread = max(sign_ins) - min(sign_ins)
    lines += [
        "",
        f"Slowest sign-in p50 {max(sign_ins):.1f} ms; goal at most 60 ms "
        f"({'met' if max(sign_ins) <= 60 else 'NOT met'}). The three kinds' p50 within {spread:.1f} ms of each "
        f"other; goal within 5 ms ({'met' if spread <= 5 else 'NOT met'}).",
    ]
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
