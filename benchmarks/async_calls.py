"""1,000 calls at once: one asyncio task with AsyncClient against 16 threads of Client.

The same 1,000 ``Grades.get_student`` calls (random students of the 10,000 in
``benchmarks.grading``'s class) against one grading service on SQLite: all
gathered at once from one task over AsyncClient's pool (at most 16
connections, its default), and shared out among 16 threads of one ``Client``
(each thread its own 1/16th, one pooled connection each). Each repetition
runs both in turn (A B A B ...); the table gives medians of the wall time of a
round of 1,000, the calls/s it makes, and this process's CPU per call.
Run: ``python -m benchmarks.async_calls``.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable

import uvloop

from rpc_cluster import AsyncClient, Client

from .common import bench_main, fmt, median
from .grading import STUDENTS, LoadedSqlite, grading_proc

CALLS, THREADS = 1000, 16
ASYNC = "AsyncClient, one task, asyncio.gather of 1,000"
ON_UVLOOP = "the same on uvloop's event loop"
THREADED = "Client, 16 threads, 1,000 shared out"


def _ids(seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(1, STUDENTS) for _ in range(CALLS)]


class _Threads:
    """16 threads waiting on a barrier: each round, each makes its share of the calls with one Client."""

    def __init__(self, client: Client):
        self.client = client
        self.ids: list[int] = []
        self.failures = 0
        self._start = threading.Barrier(THREADS + 1)
        self._done = threading.Barrier(THREADS + 1)
        self._stop = False
        self._threads = [threading.Thread(target=self._work, args=(n,), daemon=True) for n in range(THREADS)]
        for thread in self._threads:
            thread.start()

    def _work(self, n: int) -> None:
        while True:
            self._start.wait()
            if self._stop:
                return
            for student in self.ids[n::THREADS]:
                if self.client.Grades.get_student(student)["id"] != student:
                    self.failures += 1
            self._done.wait()

    def round(self, ids: list[int]) -> None:
        self.ids = ids
        self._start.wait()
        self._done.wait()

    def close(self) -> None:
        self._stop = True
        self._start.wait()
        for thread in self._threads:
            thread.join(5)


def _timed(round_: Callable[[], None]) -> tuple[float, float]:
    """(seconds of wall time, this process's CPU seconds) of one round."""
    start, cpu = time.perf_counter(), time.process_time()
    round_()
    return time.perf_counter() - start, time.process_time() - cpu


async def _async_rounds(url: str, rounds: list[list[int]]) -> tuple[list[tuple[float, float]], int]:
    """The time of each round gathered by one AsyncClient, and the most connections it held."""
    async with AsyncClient(url) as client:
        await asyncio.gather(*(client.Grades.get_student(n) for n in _ids(0)[:200]))  # connect and warm up
        times = []
        most = 0
        for ids in rounds:
            start, cpu = time.perf_counter(), time.process_time()
            students = await asyncio.gather(*(client.Grades.get_student(n) for n in ids))
            times.append((time.perf_counter() - start, time.process_time() - cpu))
            if [s["id"] for s in students] != ids:
                raise RuntimeError("async_calls: a wrong student came back")
            most = max(most, client._transport.open_connections())
    return times, most


def run(quick: bool = False) -> list[dict]:
    reps = 3 if quick else 7
    folder = LoadedSqlite()
    proc = grading_proc(str(folder.path))
    try:
        url = proc.url()
        threads = _Threads(Client(url))
        try:
            threads.round(_ids(0)[:200])  # connect and warm up
            measured: dict[str, list[tuple[float, float]]] = {ASYNC: [], ON_UVLOOP: [], THREADED: []}
            most = 0
            deadline = time.monotonic() + 120
            for rep in range(reps):
                if time.monotonic() > deadline:
                    break
                ids = _ids(rep + 1)
                # One loop per repetition, as a program calling asyncio.run would; its warm-up connects.
                times, held = asyncio.run(_async_rounds(url, [ids]))
                measured[ASYNC] += times
                most = max(most, held)
                times, held = uvloop.run(_async_rounds(url, [ids]))
                measured[ON_UVLOOP] += times
                most = max(most, held)
                measured[THREADED].append(_timed(lambda ids=ids: threads.round(ids)))
            if threads.failures:
                raise RuntimeError("async_calls: a wrong student came back to a thread")
        finally:
            threads.close()
    finally:
        proc.stop()
        folder.cleanup()
    rows = []
    for name, times in measured.items():
        wall = median([t for t, _ in times])
        rows.append(
            {
                "client": name,
                "ms_per_1000": 1000 * wall,
                "calls_per_s": CALLS / wall,
                "cpu_us_per_call": 1e6 * median([c for _, c in times]) / CALLS,
                "connections": THREADS if name == THREADED else most,
                "repetitions": len(times),
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| 1,000 Grades.get_student, SQLite | ms for 1,000 (median) | calls/s | client CPU µs per call | connections |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['client']} | {r['ms_per_1000']:.0f} | {fmt(r['calls_per_s'])} | "
            f"{r['cpu_us_per_call']:.0f} | {r['connections']} |"
        )
    async_row, uvloop_row, threaded_row = rows
    lines += [
        "",
        f"Medians of {async_row['repetitions']} repetitions, run in turn; client CPU is this process's user and "
        f"system time. AsyncClient / threads: {threaded_row['ms_per_1000'] / async_row['ms_per_1000']:.2f}x "
        f"the calls/s ({threaded_row['ms_per_1000'] / uvloop_row['ms_per_1000']:.2f}x on uvloop).",
    ]
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
