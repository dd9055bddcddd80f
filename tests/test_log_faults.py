"""The central log under faults: a full disk, a kill -9 across rotations, a flood of made-up shippers.

Each entry a shipper numbered must be in the log exactly once, and a shipper
must be told "delivered" only for what is in the file.
"""

import argparse
import errno
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rpc_cluster import Client, InvalidParams
from rpc_cluster.core.errors import StartError
from rpc_cluster.logs.marks import KEEP_SECONDS, MAX_SHIPPERS, Marks
from rpc_cluster.logs.service import LogService, add_arguments
from rpc_cluster.logs.store import LogStore, WriteFailed
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
    try:
        batch = [numbered("real-shipper", n, f"real {n}", "real") for n in range(1, 6)]
        store.append(batch)
        store.append(batch[:2])  # its next batch: an established shipper
        for start in range(0, 10_500, 500):  # more than the table holds
            store.append([numbered(f"made-up-{n}", 1, "flood") for n in range(start, start + 500)])
        store.append(batch)  # its answer was lost: the real shipper sends the batch again
        real = [e["message"] for e in store.tail(100, service_name="real")]
        assert real == [f"real {n}" for n in range(1, 6)]
        assert len(store.marks) <= MAX_SHIPPERS  # the table stays bounded
        store.append([numbered("late-shipper", 1, "late", "late")])
        assert [e["message"] for e in store.tail(5, service_name="late")] == ["late"]
    finally:
        store.close()


def metric(url: str, name: str) -> float:
    """One series of the log service's GET /metrics (0 if it has none)."""
    with urllib.request.urlopen(url.replace("/rpc", "/metrics"), timeout=10) as response:
        found = re.search(rf"^{re.escape(name)} (\S+)$", response.read().decode(), re.MULTILINE)
    return float(found[1]) if found else 0.0


def test_a_new_shipper_arriving_after_a_flood_of_made_up_ids_is_still_stored_once(tmp_path):
    """10 batches of 1,000 made-up shipper ids, then a service restarted meanwhile (a shipper id
    new to the log) sends its batch, loses the answer and sends it again: stored once."""
    log_file = tmp_path / "distributed.log"
    with LogService(port=0, registry=NOWHERE, log_file=log_file) as service:
        for flood in range(10):
            with Client(service.url).batch() as batch:
                for n in range(1000):
                    batch.notify("Log.write", "flood", "Flood", "INFO", None, None, f"fake-{flood}-{n}:1")
        send(service.url, "restarted-7f3a", range(1, 6), "fresh")
        send(service.url, "restarted-7f3a", range(1, 6), "fresh")  # the same batch again
        refused = metric(service.url, 'log_shippers_not_remembered_total{reason="refused"}')
    fresh = [e["message"] for e in stored(log_file) if e["message"].startswith("fresh ")]
    assert fresh == [f"fresh {n}" for n in range(1, 6)]
    assert len([e for e in stored(log_file) if e["message"] == "flood"]) == 10_000  # stored, all of them
    assert refused > 0  # the flood's ids past the first few of each batch were not remembered


def test_new_shippers_cannot_crowd_out_established_ones_nor_each_other():
    now = [1000.0]
    marks = Marks(limit=6, probation=2, new_per_batch=2, clock=lambda: now[0])
    for batch in range(2):  # a, b, c, d: each seen in two batches, established
        for pair in (("a", "b"), ("c", "d")):
            marks.new_batch()
            for origin in pair:
                marks.advance(origin, batch + 1)
    for n in range(50):  # a flood of made-up ids, 3 in each batch: 2 kept (and pushed out by later ones), 1 refused
        marks.new_batch()
        for k in range(3):
            marks.advance(f"flood-{n}-{k}", 1)
    assert (marks.refused, len(marks)) == (50, 6)
    marks.new_batch()
    marks.advance("newcomer", 4)  # a shipper new to the table, during the flood
    assert [marks.stored_up_to(o) for o in ("a", "b", "c", "d", "newcomer")] == [2, 2, 2, 2, 4]
    # Made-up ids seen twice cannot take the newcomers' places: established ones fill at most limit - probation.
    for n in range(10):
        for _ in range(2):
            marks.new_batch()
            marks.advance(f"again-{n}", 1)
    marks.new_batch()
    marks.advance("late", 9)
    assert (marks.stored_up_to("a"), marks.stored_up_to("late")) == (2, 9)
    # Once an established mark has not moved for KEEP_SECONDS, no resend can still come: it makes room first.
    now[0] += KEEP_SECONDS + 1
    marks.new_batch()
    marks.advance("b", 3)
    marks.new_batch()
    marks.advance("newest", 1)
    assert [marks.stored_up_to(o) for o in ("a", "b", "late", "newest")] == [0, 3, 9, 1]


def test_marks_saved_by_an_older_version_load_as_established():
    marks = Marks(limit=4, probation=1)
    marks.load([["old", 7, 1000.0], ["new", 3, 1000.0, False], ["est", 5, 1000.0, True], "junk"])
    assert [marks.stored_up_to(o) for o in ("old", "new", "est")] == [7, 3, 5]
    assert marks.to_json()[0] == ["new", 3, 1000.0, False]


# -- the file's size, a failed rotation, a full disk that only a rotation can free ------------------


def test_the_log_keeps_at_least_two_backups(tmp_path):
    for backups in (0, 1, -1, True):
        with pytest.raises(ValueError, match="backups"):
            LogStore(tmp_path / "d.log", max_bytes=400, backups=backups)
    with pytest.raises(StartError, match="backups"):
        LogService(port=0, registry=NOWHERE, log_file=tmp_path / "d.log", backups=0).start()
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args(["--backups", "2"]).backups == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["--backups", "1"])


def fail_writes_to(monkeypatch, path: Path, allow: int) -> None:
    """Writes to ``path`` take ``allow`` bytes, then fail with ENOSPC (a disk filling up)."""
    real_write = os.write
    left = [allow]

    def write(fd, data):
        if path.exists() and os.path.samestat(os.fstat(fd), os.stat(path)):
            if not left[0]:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            data = bytes(data[: left[0]])
            left[0] -= len(data)
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


def test_a_write_that_fails_after_a_failed_rotation_cuts_no_stored_line(tmp_path, monkeypatch):
    """The rotation renamed the file, then could not open a new one (a full disk): the store's count
    of bytes is the old file's, the new file is empty. A failed write must not cut it back by that
    count (padding it with NULs and making the next entry unreadable)."""
    log_file = tmp_path / "d.log"
    store = LogStore(log_file, max_bytes=1000, backups=3)
    try:
        store.append([numbered("s", n, f"kept {n}") for n in range(1, 5)])  # 580 bytes
        with monkeypatch.context() as patch:

            def cannot_open():
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            patch.setattr(store._file, "_open", cannot_open)
            with pytest.raises(WriteFailed):
                store.append([numbered("s", 6, "kept 6 " + "x" * 500)])  # does not fit: rotates
        store.append([numbered("s", 7, "kept 7")])  # fits in the new file (also by the old count of 580)
        with monkeypatch.context() as patch:
            fail_writes_to(patch, log_file, 30)
            with pytest.raises(WriteFailed):
                store.append([numbered("s", 8, "lost 8")])  # torn after 30 bytes, cut back
        store.append([numbered("s", 8, "kept 8")])
    finally:
        store.close()
    entries = stored(log_file)
    assert [e for e in entries if "torn" in e] == []
    assert [e["message"] for e in entries] == [*(f"kept {n}" for n in range(1, 5)), "kept 7", "kept 8"]
    assert b"\0" not in b"".join(path.read_bytes() for path in tmp_path.glob("d.log*"))


def test_a_full_disk_is_freed_by_rotation_even_when_the_marks_cannot_be_saved(small_disk):
    disk = small_disk(1 << 20)
    log_file = disk.path / "distributed.log"
    store = LogStore(log_file, max_bytes=128 * 1024, backups=2)
    number = 0

    def next_batch(size: int = 50) -> list[dict]:
        nonlocal number
        number += size
        return [numbered("disk", n, f"line {n:06d} " + "x" * 200) for n in range(number - size + 1, number + 1)]

    try:
        while not Path(f"{log_file}.2").exists():
            store.append(next_batch())
        while log_file.stat().st_size + 1024 < 128 * 1024:
            store.append(next_batch(1))
        # The live file is full: the next batch rotates it. The disk is full too, and never freed:
        # only the rotation, by deleting the oldest backup, makes room.
        disk.fill()
        last = next_batch(20)
        store.append(last)
    finally:
        store.close()
    # The marks were saved once the rotation made room: a restart knows the batch, and its resend stores nothing.
    again = LogStore(log_file, max_bytes=128 * 1024, backups=2)
    try:
        again.append(last)
    finally:
        again.close()
    messages = [e["message"] for e in stored(log_file)]
    assert messages.count(last[0]["message"]) == 1


# -- one entry-id pattern; the 503 of a batch the file refused -------------------------------------


def test_an_entry_id_log_write_accepts_is_the_one_a_restart_reads_back(tmp_path):
    from rpc_cluster.logs.marks import ENTRY_ID

    log_file = tmp_path / "d.log"
    candidates = ["a" * 40 + ":1", "a" * 41 + ":1", "x.y_z-9:" + "9" * 18, "x:" + "9" * 19, "x:", "é:1", "a:b:1"]
    with LogService(port=0, registry=NOWHERE, log_file=log_file) as service:
        accepted = []
        for entry_id in candidates:
            try:
                Client(service.url).call("Log.write", "once", "Ids", "INFO", None, None, entry_id)
                accepted.append(entry_id)
            except InvalidParams:
                pass
    assert accepted == [c for c in candidates if ENTRY_ID.fullmatch(c)] == [candidates[0], candidates[2]]
    (tmp_path / "d.log.marks").unlink()  # the restart reads the ids back from the log itself
    store = LogStore(log_file)
    try:
        assert [store.marks.stored_up_to(c.rpartition(":")[0]) for c in accepted] == [1, 10**18 - 1]
    finally:
        store.close()


def test_a_batch_the_file_refused_is_a_503_with_its_trace_id_and_counted(tmp_path, monkeypatch):
    with LogService(port=0, registry=NOWHERE, log_file=tmp_path / "d.log") as service:

        def full_disk():
            raise WriteFailed(errno.ENOSPC, "the log file could not be written: No space left on device")

        monkeypatch.setattr(service.store, "flush", full_disk)
        body = json.dumps([{"jsonrpc": "2.0", "method": "Log.write", "params": ["refused"]}]).encode()
        request = urllib.request.Request(
            service.url, body, {"Content-Type": "application/json", "X-Trace-Id": "trace-of-the-batch"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert (refused.value.code, refused.value.headers["X-Trace-Id"]) == (503, "trace-of-the-batch")
        refused.value.close()
        monkeypatch.undo()
        assert metric(service.url, "log_batches_refused_total") == 1
