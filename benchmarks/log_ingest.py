"""Log ingestion: batching shipper vs one HTTP POST per line, and logger.info() cost.

In one run, against one log service process (its file in a temporary folder):

- batched: ``logger.info()`` in a loop with our ``LogShipper`` attached; entries/s
  from the first call until the last entry is flushed to the log file;
- one POST per line, the way the Go sample ships logs: a handler that sends
  each record as its own ``Log.write`` call, from 1 thread and from 16;
- the cost of one ``logger.info()`` with the shipper attached (it must not
  include network time: shipping happens on the shipper's own thread);
- in-process, no HTTP: a batch of 1,000 ``Log.write`` notifications through
  ``JsonRpcCodec.handle`` into ``Log.write`` and the file, against the same
  batch to a method that does nothing (the JSON-RPC parse and dispatch alone:
  the floor of what one entry can cost the log service).

Goals: >= 50,000 entries/s, >= 5x one-POST-per-line, logger.info() < 20 µs.
Run: ``python -m benchmarks.log_ingest``.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from pathlib import Path

from rpc_cluster import Client
from rpc_cluster.core.dispatch import Dispatcher
from rpc_cluster.core.jsonrpc import JsonRpcCodec
from rpc_cluster.core.methods import MethodTable, rpc_method
from rpc_cluster.logs.service import Log
from rpc_cluster.logs.store import LogStore
from rpc_cluster.runtime.log_shipping import LogShipper

from .common import Proc, bench_main, fmt, median


class _LineCounter:
    """Counts the log file's lines incrementally, so polling costs almost nothing."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.lines = 0

    def count(self) -> int:
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                self.lines += chunk.count(b"\n")
                self.offset += len(chunk)
        return self.lines

    def wait_for(self, expected: int, timeout: float = 120) -> float:
        """Poll until the file has ``expected`` lines; the time it got there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= expected:
                return time.perf_counter()
            time.sleep(0.005)
        raise RuntimeError(f"the log file never reached {expected} lines")


class _PostPerLine(logging.Handler):
    """The Go sample's way: every record is one HTTP request, sent by the logging thread."""

    def __init__(self, url: str):
        super().__init__()
        self.client = Client(url)

    def emit(self, record):
        self.client.call("Log.write", self.format(record), "PostPerLine", record.levelname)


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def _batched(url: str, lines: _LineCounter, count: int) -> tuple[float, float]:
    """(ingestion entries/s, end-to-end entries/s including the logger.info() calls)."""
    target: list[str] = []
    shipper = LogShipper("Batched", lambda: target, capacity=count + 10)
    logger = _logger("bench.batched", shipper)
    before = lines.count()
    # Ingestion: the queue is full before the log service is revealed to the shipper.
    for n in range(count):
        logger.info("entry number %d of the batched run", n)
    start = time.perf_counter()
    target.append(url)
    shipper.flush()
    ingest = count / (lines.wait_for(before + count) - start)
    # End to end: producing the records while they are shipped.
    before += count
    start = time.perf_counter()
    for n in range(count):
        logger.info("entry number %d of the batched run", n)
    end_to_end = count / (lines.wait_for(before + count) - start)
    shipper.close(1)
    return ingest, end_to_end


def _post_per_line(url: str, lines: _LineCounter, seconds: float, threads: int) -> float:
    logger = _logger(f"bench.perline.{threads}", _PostPerLine(url))
    before = lines.count()
    stop = time.perf_counter() + seconds
    counts = [0] * threads

    def work(slot):
        n = 0
        while time.perf_counter() < stop:
            logger.info("entry number %d of the one-POST-per-line run", n)
            n += 1
        counts[slot] = n

    start = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    end = lines.wait_for(before + sum(counts))
    return sum(counts) / (end - start)


def _info_cost(url: str, count: int) -> float:
    shipper = LogShipper("InfoCost", lambda: [url], capacity=count + 10)
    logger = _logger("bench.cost", shipper)
    start = time.perf_counter()
    for n in range(count):
        logger.info("entry number %d", n)
    elapsed = time.perf_counter() - start
    shipper.close(30)
    return elapsed / count * 1e6


class _NoLog:
    """``Log.write``'s signature and nothing else: what parsing and dispatching one entry costs."""

    @rpc_method
    def write(self, message, service_name=None, level="INFO", trace_id=None, timestamp=None, entry_id=None) -> bool:
        return True


def _notifications(origin: str, first: int, count: int = 1000) -> bytes:
    """A batch as a shipper sends it: ``count`` Log.write notifications, params by position."""
    calls = [
        {
            "jsonrpc": "2.0",
            "method": "Log.write",
            "params": [
                f"bench.batched: entry number {n} of the batched run",
                "Batched",
                "INFO",
                None,
                "2026-11-22T00:00:00.000000Z",
                f"{origin}:{n}",
            ],
        }
        for n in range(first, first + count)
    ]
    return json.dumps(calls).encode()


def _in_process(folder: Path, batches: int, reps: int) -> tuple[float, float]:
    """(µs per entry: Log.write into the file, µs per entry: the empty method), in-process, medians."""
    store = LogStore(folder / "in-process.log", max_bytes=1 << 30)
    table, empty = MethodTable(), MethodTable()
    table.add_object("Log", Log(store))
    empty.add_object("Log", _NoLog())
    codec, floor = JsonRpcCodec(Dispatcher(table)), JsonRpcCodec(Dispatcher(empty))
    written, parsed = [], []
    try:
        for rep in range(reps):
            # New entry ids each time: none of them is a repeat the store would skip.
            bodies = [_notifications(f"in-process-{rep}", 1 + k * 1000) for k in range(batches)]
            start = time.perf_counter()
            for body in bodies:
                codec.handle(body)
                store.flush()
            written.append((time.perf_counter() - start) / (batches * 1000) * 1e6)
            start = time.perf_counter()
            for body in bodies:
                floor.handle(body)
            parsed.append((time.perf_counter() - start) / (batches * 1000) * 1e6)
    finally:
        store.close()
    return median(written), median(parsed)


def run(quick: bool = False) -> list[dict]:
    reps, count, seconds = (2, 50_000, 2.0) if quick else (3, 200_000, 4.0)
    folder = tempfile.TemporaryDirectory()
    path = Path(folder.name) / "distributed.log"
    service = Proc(
        "cmd/logservice/main.py",
        "--port",
        "0",
        "--registry",
        "http://127.0.0.1:9/rpc",
        "--log-file",
        str(path),
        "--max-bytes",
        str(1 << 30),
    )
    try:
        url = service.url()
        lines = _LineCounter(path)
        samples = {"batched": [], "end_to_end": [], "post1": [], "post16": [], "cost": []}
        for _ in range(reps):
            ingest, end_to_end = _batched(url, lines, count)
            samples["batched"].append(ingest)
            samples["end_to_end"].append(end_to_end)
            samples["post1"].append(_post_per_line(url, lines, seconds, 1))
            samples["post16"].append(_post_per_line(url, lines, seconds, 16))
            samples["cost"].append(_info_cost(url, count // 2))
        row = {key: median(values) for key, values in samples.items()}
        row["write_us"], row["floor_us"] = _in_process(Path(folder.name), 10 if quick else 30, reps + 2)
    finally:
        service.stop()
        folder.cleanup()
    return [row]


def table(rows: list[dict]) -> str:
    r = rows[0]
    best_per_line = max(r["post1"], r["post16"])
    ratio = r["batched"] / best_per_line
    lines = [
        "| log shipping (one client process, one log service) | entries/s (median) |",
        "|---|---|",
        f"| batched: LogShipper, JSON-RPC batches of notifications (ingestion) | {fmt(r['batched'])} |",
        "| batched, end to end: the same process also making the records with logger.info() "
        f"| {fmt(r['end_to_end'])} |",
        f"| one HTTP POST per line, 1 thread (the Go sample's way) | {fmt(r['post1'])} |",
        f"| one HTTP POST per line, 16 threads | {fmt(r['post16'])} |",
        "",
        f"`logger.info()` with the shipper attached: **{r['cost']:.1f} µs** a call "
        "(median; no network on the calling thread).",
        "",
        "| in-process, no HTTP: a batch of 1,000 Log.write notifications | µs per entry (median) |",
        "|---|---|",
        f"| JsonRpcCodec.handle into Log.write and the file (one write per batch) | {r['write_us']:.2f} |",
        f"| the same batch to a method that does nothing (JSON-RPC parse and dispatch: the floor) "
        f"| {r['floor_us']:.2f} |",
        "",
        f"Goals: ≥ 50,000 entries/s ({'met' if r['batched'] >= 50_000 else 'NOT met'}), "
        f"≥ 5x one POST per line: {ratio:.1f}x ({'met' if ratio >= 5 else 'NOT met'}), "
        f"logger.info() < 20 µs ({'met' if r['cost'] < 20 else 'NOT met'}).",
    ]
    return "\n".join(lines)


def main() -> None:
    bench_main(__doc__, run, table)


if __name__ == "__main__":
    main()
