"""The central log under faults: a full disk, a kill -9 across rotations, a flood of made-up shippers.

Each entry a shipper numbered must be in the log exactly once, and a shipper
must be told "delivered" only for what is in the file.
"""

import json
import logging
import re
import time
import urllib.request
from pathlib import Path

import pytest

from rpc_cluster import Client
from rpc_cluster.logs.service import LogService
from rpc_cluster.logs.store import LogStore
from rpc_cluster.runtime.log_shipping import LogShipper

NOWHERE = "http://127.0.0.1:9/rpc"


def stored(log_file: Path) -> list[dict]:
    """Every entry in the log and its rotated files, oldest file first; a line that is no
    entry (torn, or two run together) as ``{"torn": line}``."""
    files = [*sorted(log_file.parent.glob(log_file.name + ".[0-9]*"), key=lambda p: -int(p.suffix[1:])), log_file]
    entries = []
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                entries.append({"torn": line, "message": "", "service_name": None})
    return entries


def write_failures(url: str) -> float:
    """The log service's count of writes its file refused, from GET /metrics (0 if it has none)."""
    with urllib.request.urlopen(url.replace("/rpc", "/metrics"), timeout=10) as response:
        found = re.search(r"^log_write_failures_total (\S+)$", response.read().decode(), re.MULTILINE)
    return float(found[1]) if found else 0.0


def shipping_logger(name: str, shipper: LogShipper) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [shipper]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


# -- a full disk -----------------------------------------------------------------------------------


def test_a_full_disk_loses_no_line_and_the_shipper_is_told_only_of_what_was_stored(small_disk):
    disk = small_disk(2 << 20)
    log_file = disk.path / "distributed.log"
    with LogService(port=0, registry=NOWHERE, log_file=log_file, max_bytes=256 * 1024, backups=20) as service:
        shipper = LogShipper("FullDisk", lambda: [service.url], flush_interval=0.02, batch_size=100)
        logger = shipping_logger("test.faults.full", shipper)
        try:
            for n in range(1000):
                logger.info("line %04d", n)
            assert shipper.wait_delivered(30)
            disk.fill()
            try:
                for n in range(1000, 2000):
                    logger.info("line %04d", n)
                # The shipper sends against a disk with no room until a write fails (asserted
                # below) or, wrongly, everything is taken as delivered.
                deadline = time.monotonic() + 30
                while write_failures(service.url) == 0 and shipper.pending() > 0 and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                disk.free()
            assert shipper.wait_delivered(60)
            for n in range(2000, 3000):
                logger.info("line %04d", n)
            assert shipper.wait_delivered(30)
        finally:
            shipper.close(1)
        failures = write_failures(service.url)
    entries = stored(log_file)
    lines = [e["message"] for e in entries if e["service_name"] == "FullDisk"]
    missing = sorted({f"test.faults.full: line {n:04d}" for n in range(3000)} - set(lines))
    assert missing == [], f"{len(missing)} lines lost, e.g. {missing[:3]}"
    assert len(lines) == 3000, f"{len(lines) - len(set(lines))} lines stored twice"
    assert (shipper.delivered, shipper.dropped_total) == (3000, 0)
    assert [e for e in entries if "torn" in e] == []
    assert failures > 0  # the disk was full for a while: writes failed, and were told


# -- kill -9 across rotations -------------------------------------------------------------------------


def send(url: str, origin: str, numbers: range, label: str) -> None:
    """One batch of numbered Log.write notifications, as a shipper sends it."""
    with Client(url).batch() as batch:
        for n in numbers:
            batch.notify("Log.write", f"{label} {n}", "KillTest", "INFO", None, None, f"{origin}:{n}")


@pytest.mark.parametrize("fillers", [60, 400], ids=["rotated-into-an-older-file", "rotated-out-of-the-log"])
def test_a_batch_rotated_away_before_a_kill_is_stored_once_when_sent_again(processes, tmp_path, fillers):
    """The batch was stored and rotated out of the live file; its answer was lost to the kill -9.
    The shipper sends it again to the restarted log service: it must not be stored a second time."""
    log_file = tmp_path / "distributed.log"
    args = (
        "cmd/logservice/main.py",
        "--port",
        "0",
        "--registry",
        NOWHERE,
        "--log-file",
        str(log_file),
        "--max-bytes",
        "4096",
        "--backups",
        "3",
    )
    first = processes.start(*args)
    url = first.url()
    send(url, "shipper-a", range(1, 11), "kept")
    for start in range(1, fillers, 50):
        send(url, "filler", range(start, min(start + 50, fillers + 1)), "filler")
    assert "kept 1" not in log_file.read_text()  # rotated out of the live file
    first.kill()

    again = processes.start(*args)
    url = again.url()
    send(url, "shipper-a", range(1, 11), "kept")  # the same batch, the same entry ids
    send(url, "shipper-a", range(11, 13), "kept")  # and the shipper goes on
    kept = [e["message"] for e in stored(log_file) if e["message"].startswith("kept ")]
    expected = [f"kept {n}" for n in range(1, 11)] if fillers < 100 else []  # 400 fillers: rotated away
    assert kept == [*expected, "kept 11", "kept 12"]


# -- a flood of made-up shipper ids ---------------------------------------------------------------


def numbered(origin: str, number: int, message: str, service: str = "flood") -> dict:
    return {
        "message": message,
        "service_name": service,
        "level": "INFO",
        "trace_id": None,
        "timestamp": "2026-11-22T00:00:00.000000Z",
        "entry_id": f"{origin}:{number}",
    }


def test_a_flood_of_made_up_shipper_ids_does_not_push_out_a_real_shippers_mark(tmp_path):
    store = LogStore(tmp_path / "d.log", max_bytes=0)
    batch = [numbered("real-shipper", n, f"real {n}", "real") for n in range(1, 6)]
    store.append(batch)
    store.append([numbered(f"made-up-{n}", 1, "flood") for n in range(10_500)])  # more than the table holds
    store.append(batch)  # its answer was lost: the real shipper sends the batch again
    real = [e["message"] for e in store.tail(100, service_name="real")]
    assert real == [f"real {n}" for n in range(1, 6)]
    # The table stays bounded; a shipper new to a full table is still stored, only not remembered.
    from rpc_cluster.logs.marks import MAX_SHIPPERS

    assert len(store.marks) <= MAX_SHIPPERS
    store.append([numbered("late-shipper", 1, "late", "late")])
    assert [e["message"] for e in store.tail(5, service_name="late")] == ["late"]


def test_marks_older_than_any_resend_make_room_for_new_shippers():
    from rpc_cluster.logs.marks import KEEP_SECONDS, Marks

    now = [1000.0]
    marks = Marks(limit=3, clock=lambda: now[0])
    for origin in ("a", "b", "c"):
        marks.advance(origin, 7)
    marks.advance("flood", 1)  # all three moved just now: none is forgotten
    assert (marks.stored_up_to("a"), marks.stored_up_to("flood"), marks.crowded) == (7, 0, 1)
    now[0] += KEEP_SECONDS + 1
    marks.advance("b", 8)  # b moves again
    marks.advance("new", 1)  # a is the least recently moved and old enough: forgotten
    assert [marks.stored_up_to(o) for o in ("a", "b", "c", "new")] == [0, 8, 7, 1]
