"""What the shipper sends: the text json.dumps makes of each record's entry, built on its own thread.

The records keep only what was true when they were logged (message, exception
text, trace id, time); the shipping thread makes the timestamps, levels and
JSON. These tests read the batches a bare server receives.
"""

import json
import logging
import random
import threading
from datetime import UTC, datetime

from helpers.raw_server import RawServer

from rpc_cluster import trace
from rpc_cluster.observability.log_entries import MAX_MESSAGE_CHARS, Timestamps
from rpc_cluster.runtime.log_shipping import MAX_BATCH_BYTES, LogShipper


def datetime_text(created):
    """The timestamp as the shipper wrote it before it kept one second's text."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Kept(logging.Handler):
    """Keeps every record it is given, to compare with what was shipped."""

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def shipped(log_some, **options):
    """(the notifications a bare log service received, the records logged, the request bodies)."""
    bodies = []

    def take(body):
        bodies.append(body)
        return 204, b""

    with RawServer(take) as server:
        shipper = LogShipper("TextTest", lambda: [server.url], flush_interval=0.05, **options)
        kept = Kept()
        logger = logging.getLogger("test.ship.text")
        logger.handlers[:] = [shipper, kept]
        logger.propagate = False
        logger.setLevel(1)
        try:
            log_some(logger)
            assert shipper.wait_delivered(10)
        finally:
            shipper.close(1)
            logger.handlers[:] = []
    calls = []
    for body in bodies:
        batch = json.loads(body)
        assert json.dumps(batch).encode() == body  # byte for byte what json.dumps makes of the calls
        calls += batch
    return calls, kept.records, bodies


def test_each_record_is_one_notification_with_the_entry_it_had_when_logged():
    captured_trace = "trace-text-1"

    def log_some(logger):
        logger.info("plain %d", 1)
        with trace(captured_trace):
            logger.warning('with a trace and non-ASCII: Zoë 日本 🎉 \x00\n"quoted"')
        logger.log(25, "a custom level between INFO and WARNING")
        logger.log(5, "below DEBUG")
        logger.info("an id of the caller's own", extra={"trace_id": 42})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
        logger.error("long %s", "x" * (MAX_MESSAGE_CHARS + 10))
        logger.info("stack", stack_info=True)

    calls, records, _ = shipped(log_some)
    assert all(c["jsonrpc"] == "2.0" and c["method"] == "Log.write" and "id" not in c for c in calls)
    params = [c["params"] for c in calls]
    assert [p[2] for p in params] == ["INFO", "WARNING", "INFO", "DEBUG", "INFO", "ERROR", "ERROR", "INFO"]
    assert {p[1] for p in params} == {"TextTest"}
    assert [p[3] for p in params] == [None, captured_trace, None, None, "42", None, None, None]
    assert [p[4] for p in params] == [datetime_text(r.created) for r in records]
    origins = {p[5].split(":")[0] for p in params}
    assert len(origins) == 1 and [int(p[5].split(":")[1]) for p in params] == list(range(1, 9))
    messages = [p[0] for p in params]
    assert messages[:5] == [
        "test.ship.text: plain 1",
        'test.ship.text: with a trace and non-ASCII: Zoë 日本 🎉 \x00\n"quoted"',
        "test.ship.text: a custom level between INFO and WARNING",
        "test.ship.text: below DEBUG",
        "test.ship.text: an id of the caller's own",
    ]
    assert messages[5].startswith("test.ship.text: failed\nTraceback") and "ValueError: boom" in messages[5]
    prefix = "test.ship.text: long "
    whole = len(prefix) + MAX_MESSAGE_CHARS + 10
    kept = "x" * (MAX_MESSAGE_CHARS - len(prefix))
    assert messages[6] == f"{prefix}{kept}... [truncated: {whole} characters in all]"
    assert messages[7].startswith("test.ship.text: stack\nStack (most recent call last):")


def test_a_formatter_of_ones_own_and_filters_are_honoured():
    def log_some(logger):
        shipper = logger.handlers[0]
        shipper.setFormatter(logging.Formatter("%(levelname)s|%(name)s|%(message)s"))
        shipper.addFilter(lambda record: "secret" not in record.getMessage())
        logger.info("kept %s", "one")
        logger.info("a secret %s", "dropped")
        logger.warning("kept %s", "two")

    calls, _, _ = shipped(log_some)
    assert [c["params"][0] for c in calls] == ["INFO|test.ship.text|kept one", "WARNING|test.ship.text|kept two"]


def test_a_batch_stops_short_of_the_byte_limit():
    def log_some(logger):
        for n in range(40):
            logger.info("%d %s", n, "é" * 30_000)  # 180 kB of JSON each: two to a batch

    calls, _, bodies = shipped(log_some)
    assert [int(c["params"][0].split()[1]) for c in calls] == list(range(40))
    assert all(len(body) <= MAX_BATCH_BYTES for body in bodies) and len(bodies) >= 20


def test_timestamps_are_what_datetime_makes_of_them():
    stamps = Timestamps()
    rng = random.Random(7)
    edges = [0.0, 0.5e-6, 1.5e-6, 0.9999995, 0.99999949, 1e-7]
    moments = [1_790_000_000 + e for e in edges] + [1_790_000_000.000_250, 1_790_000_000.000_750]
    moments += [rng.uniform(0, 4e9) for _ in range(5000)]
    moments += [1_790_000_000 + rng.randrange(10**6) / 1e6 + rng.choice(edges) for _ in range(5000)]
    moments.sort()
    assert [stamps(m) for m in moments] == [datetime_text(m) for m in moments]
    assert stamps(1_790_000_000.000_250) == "2026-09-21T14:13:20.000250Z"


def test_records_from_many_threads_are_each_sent_once_numbered_in_the_order_queued():
    def log_some(logger):
        def work(worker):
            for n in range(400):
                logger.info("worker %d entry %d", worker, n)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    calls, records, _ = shipped(log_some)
    params = [c["params"] for c in calls]
    assert [int(p[5].split(":")[1]) for p in params] == list(range(1, 3201))
    assert sorted(p[0] for p in params) == sorted(f"test.ship.text: {r.getMessage()}" for r in records)
    for worker in range(8):
        mine = [p[0] for p in params if p[0].startswith(f"test.ship.text: worker {worker} ")]
        assert mine == [f"test.ship.text: worker {worker} entry {n}" for n in range(400)]
