"""Log queries that follow: Log.tail(since=...), and Log.follow's cursor across writes, rotations and restarts."""

import itertools
import json
import random

import pytest

from rpc_cluster import Client, InvalidParams
from rpc_cluster.logs.cursor import CursorError
from rpc_cluster.logs.service import LogService
from rpc_cluster.logs.store import LogStore

NOWHERE = "http://127.0.0.1:9/rpc"


def at(n):
    """The n-th second of a day, as the log writes timestamps."""
    return f"2026-11-22T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000000Z"


def entry(message, n=0, service="svc", level="INFO", trace_id=None):
    return {"message": message, "service_name": service, "level": level, "trace_id": trace_id, "timestamp": at(n)}


def messages(entries):
    return [e["message"] for e in entries]


def drain(store, cursor, limit=100, **filters):
    """Every page from ``cursor`` until one says there is no more: (messages, the last cursor, pages)."""
    found, pages = [], 0
    while True:
        page = store.follow(cursor, limit, **filters)
        found += messages(page.entries)
        cursor, pages = page.cursor, pages + 1
        if not page.more:
            return found, cursor, pages


# -- since ------------------------------------------------------------------------------------------


def test_tail_since_returns_only_newer_entries(tmp_path):
    store = LogStore(tmp_path / "d.log")
    store.append([entry(f"m{n}", n) for n in range(1, 6)])
    assert messages(store.tail(10, since=at(3))) == ["m4", "m5"]
    assert messages(store.tail(10, since=at(0))) == ["m1", "m2", "m3", "m4", "m5"]
    assert store.tail(10, since=at(5)) == []
    assert messages(store.tail(1, since=at(2))) == ["m5"]


def test_since_skips_old_blocks_but_finds_a_newer_line_written_another_way(tmp_path):
    path = tmp_path / "d.log"
    store = LogStore(path, max_bytes=0)
    start = store.follow(None).cursor
    big_log(path, 10_000)
    with open(path, "a") as handle:  # not as write() puts it: the timestamp is not first
        handle.write(json.dumps({"message": "by hand", "level": "INFO", "timestamp": at(7)}) + "\n")
    big_log(path, 10_000)
    store.append([entry("newest", 5)])
    assert messages(store.tail(10, since=at(1))) == ["newest", "by hand"]
    assert messages(store.tail(10, since=at(5))) == ["by hand"]
    assert drain(store, start, since=at(1))[0] == ["newest", "by hand"]
    assert drain(store, start, since=at(7))[0] == []


# -- follow -------------------------------------------------------------------------------------------


def test_follow_starts_as_tail_then_returns_each_new_entry_once(tmp_path):
    store = LogStore(tmp_path / "d.log")
    store.append([entry(f"old {n}", n) for n in range(5)])
    first = store.follow(None, 2)
    assert messages(first.entries) == ["old 3", "old 4"] and not first.more
    assert store.follow(first.cursor).entries == []
    store.append([entry("new 1", 10), entry("new 2", 11)])
    second = store.follow(first.cursor)
    assert messages(second.entries) == ["new 1", "new 2"] and not second.more
    assert store.follow(second.cursor).entries == []
    # The same cursor read twice gives the same page: the caller decides when to move on.
    assert messages(store.follow(first.cursor).entries) == ["new 1", "new 2"]


def test_a_page_stops_at_limit_and_says_there_is_more(tmp_path):
    store = LogStore(tmp_path / "d.log")
    cursor = store.follow(None).cursor
    store.append([entry(f"e{n}", n) for n in range(10)])
    page = store.follow(cursor, 4)
    assert messages(page.entries) == ["e0", "e1", "e2", "e3"] and page.more
    found, _, pages = drain(store, page.cursor, 4)
    assert found == [f"e{n}" for n in range(4, 10)] and pages == 2


def test_a_page_keeps_arrival_order_for_one_moment_and_is_oldest_first(tmp_path):
    store = LogStore(tmp_path / "d.log")
    cursor = store.follow(None).cursor
    store.append([entry("late", 5), entry("same a", 3), entry("same b", 3), entry("early", 1)])
    assert messages(store.follow(cursor).entries) == ["early", "same a", "same b", "late"]


def test_follow_filters_like_tail(tmp_path):
    store = LogStore(tmp_path / "d.log")
    cursor = store.follow(None).cursor
    store.append(
        [
            entry("a", 1, "grading", "DEBUG", "t1"),
            entry("b", 2, "grading", "ERROR", "t2"),
            entry("c", 3, "portal", "WARNING", "t1"),
            entry("d", 4, "portal", "INFO"),
        ]
    )
    assert messages(store.follow(cursor, service_name="portal").entries) == ["c", "d"]
    assert messages(store.follow(cursor, trace_id="t1").entries) == ["a", "c"]
    assert messages(store.follow(cursor, min_level=30).entries) == ["b", "c"]
    assert messages(store.follow(cursor, since=at(2)).entries) == ["c", "d"]
    assert messages(store.follow(None, 10, since=at(3)).entries) == ["d"]


def test_a_cursor_in_a_file_that_rotates_twice_goes_on_where_it_stopped(tmp_path):
    store = LogStore(tmp_path / "d.log", max_bytes=1200, backups=5)
    cursor = store.follow(None).cursor
    store.append([entry(f"first {n}", n) for n in range(6)])
    page = store.follow(cursor, 3)  # stops in the middle of the live file
    store.append([entry(f"second {n}", 100 + n) for n in range(14)])
    assert (tmp_path / "d.log.2").exists()  # the file the cursor points into is now d.log.2 or older
    found, _, _ = drain(store, page.cursor, 5)
    assert found == [f"first {n}" for n in range(3, 6)] + [f"second {n}" for n in range(14)]


def test_following_through_many_rotations_repeats_and_skips_nothing(tmp_path):
    rng = random.Random(14)
    store = LogStore(tmp_path / "d.log", max_bytes=1000, backups=5)
    cursor = store.follow(None).cursor
    written, read, number = [], [], 0
    for _ in range(120):
        batch = [entry(f"entry {number + k}", number + k) for k in range(rng.randint(1, 12))]
        number += len(batch)
        written += messages(batch)
        # Several small appends, so rotations fall between entries of one step too.
        while batch:
            cut = rng.randint(1, len(batch))
            store.append(batch[:cut])
            batch = batch[cut:]
        found, cursor, _ = drain(store, cursor, rng.randint(1, 7))
        read += found
    assert read == written
    # Many rotations happened, far more than the files kept.
    assert len(written) * 140 > 1000 * 20 and (tmp_path / "d.log.5").exists()


def test_a_cursor_rotated_away_from_another_log_or_made_up_is_refused(tmp_path):
    store = LogStore(tmp_path / "d.log", max_bytes=500, backups=2)
    store.append([entry("before", 0)])
    cursor = store.follow(None).cursor
    other = LogStore(tmp_path / "other.log")
    other.append([entry("elsewhere", 0)])
    with pytest.raises(CursorError, match="another"):
        other.follow(cursor)
    store.append([entry(f"filler {n}", n) for n in range(30)])  # rotates far past the 2 backups
    with pytest.raises(CursorError, match="no longer keeps"):
        store.follow(cursor)
    for made_up in ["", "nope", "1.5.zz", "1.0." + "0" * 24, "2.5." + "a" * 24]:
        with pytest.raises(CursorError):
            store.follow(made_up)


def test_a_cursor_at_the_start_of_an_empty_log_is_refused_once_a_file_was_deleted(tmp_path):
    """Named by its inode alone, such a cursor was taken by a newer file that reused the inode
    (ext4 hands a freed inode to the next file created): the lines rotated away were skipped unsaid."""
    path = tmp_path / "d.log"
    store = LogStore(path, max_bytes=500, backups=2)
    cursor = store.follow(None).cursor
    store.append([entry("early", 0)])
    assert messages(store.follow(cursor).entries) == ["early"]  # no file deleted yet: taken
    rotations, size = 0, path.stat().st_size
    for n in range(60):
        store.append([entry(f"filler {n}", n)])
        rotations, size = rotations + (path.stat().st_size < size), path.stat().st_size
        if rotations > 2:  # the cursor's file is deleted, whichever file has its inode now
            with pytest.raises(CursorError, match="no longer keeps"):
                store.follow(cursor)
    assert rotations > 10


def test_a_cursor_edited_to_another_offset_is_refused(tmp_path):
    """The digest covers the offset: past the first 4 KiB too, an edited cursor would start mid-line."""
    store = LogStore(tmp_path / "d.log", max_bytes=0)
    store.append([entry(f"line {n:03d} " + "x" * 80, n) for n in range(100)])  # about 14 KiB
    middle = store.follow(None, 40).cursor
    page = store.follow(None, 1)
    version, offset, digest = page.cursor.split(".")
    assert int(offset) > 4096
    for edited in (int(offset) - 1, int(offset) - 50, int(offset) + 1, 5000, 4096, 0):
        with pytest.raises(CursorError):
            store.follow(f"{version}.{edited}.{digest}")
    # The real ones still work, in the first 4 KiB and beyond.
    assert store.follow(page.cursor).entries == []
    assert store.follow(middle).entries == []


def test_the_cursor_survives_a_restart_of_the_log_service(tmp_path):
    path = tmp_path / "d.log"
    before = LogStore(path)
    before.append([entry("before", 1)])
    cursor = before.follow(None).cursor
    before.append([entry("written before the restart", 2)])
    before.close()
    after = LogStore(path)
    after.append([entry("written after the restart", 3)])
    assert messages(after.follow(cursor).entries) == ["written before the restart", "written after the restart"]


def test_a_line_torn_at_the_end_of_a_rotated_file_is_read_past(tmp_path):
    path = tmp_path / "d.log"
    store = LogStore(path, max_bytes=400)
    store.append([entry("one", 1)])
    cursor = store.follow(None).cursor
    with open(path, "a") as handle:
        handle.write('{"timestamp": "2026-')  # a crash in the middle of a line
    store.append([entry("two " + "x" * 300, 2)])  # does not fit: the torn file becomes d.log.1
    assert (tmp_path / "d.log.1").read_text().endswith('"2026-')
    page = store.follow(cursor)
    assert [m[:3] for m in messages(page.entries)] == ["two"] and not page.more


def big_log(path, lines, service_name="filler"):
    text = (
        json.dumps(
            {"timestamp": at(0), "level": "INFO", "service_name": service_name, "trace_id": None, "message": "x" * 100}
        )
        + "\n"
    )
    with open(path, "a", encoding="utf-8") as handle:
        for _ in range(lines // 10_000):
            handle.write(text * 10_000)


def test_each_follow_reads_at_most_its_budget_and_nothing_is_skipped(tmp_path):
    path = tmp_path / "d.log"
    budget = 64 * 1024
    store = LogStore(path, max_bytes=0, tail_bytes=budget)
    cursor = start = store.follow(None).cursor
    big_log(path, 30_000)  # 5 MB after the cursor: about 80 budgets
    store.append([entry("the newest", 1, service="fresh")])
    offsets, pages = [0], []
    while True:
        page = store.follow(cursor, 100, service_name="fresh")
        pages.append(page)
        cursor = page.cursor
        offsets.append(int(cursor.split(".")[1]))  # the cursor is opaque to callers; a test may peek
        if not page.more:
            break
    steps = [b - a for a, b in itertools.pairwise(offsets)]
    assert max(steps) <= budget and len(pages) >= path.stat().st_size // budget > 60
    assert [messages(p.entries) for p in pages[:-1]] == [[]] * (len(pages) - 1)
    assert messages(pages[-1].entries) == ["the newest"]
    # Without a filter, a page stops at its limit long before its budget, just after its last entry.
    first = store.follow(start, 100)
    assert len(first.entries) == 100 and first.more
    line = len(path.read_bytes().split(b"\n", 1)[0]) + 1
    assert int(first.cursor.split(".")[1]) == 100 * line


# -- over RPC -------------------------------------------------------------------------------------------


@pytest.fixture
def log_service(tmp_path):
    service = LogService(port=0, registry=NOWHERE, log_file=tmp_path / "distributed.log", max_bytes=2000, backups=2)
    with service:
        yield service


def test_log_follow_over_rpc(log_service):
    client = Client(log_service.url)
    client.Log.write("before", service_name="rpc", timestamp="2026-11-21T12:00:00Z")
    start = client.Log.follow(service_name="rpc")
    assert set(start) == {"entries", "cursor", "more"} and messages(start["entries"]) == ["before"]
    client.Log.write("after", service_name="rpc", timestamp="2026-11-22T01:00:00+01:00")
    page = client.call("Log.follow", start["cursor"], 10, "rpc")  # by position too
    assert page["entries"] == [
        {
            "timestamp": "2026-11-22T00:00:00.000000Z",
            "level": "INFO",
            "service_name": "rpc",
            "trace_id": None,
            "message": "after",
        }
    ]
    assert client.Log.follow(page["cursor"])["entries"] == [] and page["more"] is False
    # since takes the same forms as Log.write's timestamp.
    assert messages(client.Log.tail(service_name="rpc", since="2026-11-21T23:59:59Z")) == ["after"]


@pytest.mark.parametrize(
    "method, kwargs, field",
    [
        ("Log.follow", {"cursor": 5}, "cursor"),
        ("Log.follow", {"cursor": "not a cursor"}, "cursor"),
        ("Log.follow", {"cursor": "1.0." + "0" * 24}, "cursor"),
        ("Log.follow", {"limit": 0}, "limit"),
        ("Log.follow", {"limit": "10"}, "limit"),
        ("Log.follow", {"level": "LOUD"}, "level"),
        ("Log.follow", {"since": "yesterday"}, "since"),
        ("Log.follow", {"since": 10**400}, "since"),
        ("Log.follow", {"trace_id": ""}, "trace_id"),
        ("Log.tail", {"since": "yesterday"}, "since"),
        ("Log.tail", {"since": [2026]}, "since"),
    ],
)
def test_bad_params_name_the_field(log_service, method, kwargs, field):
    with pytest.raises(InvalidParams) as info:
        Client(log_service.url).call(method, **kwargs)
    assert info.value.data["field"] == field


def test_a_cursor_the_log_rotated_away_is_invalid_params_naming_cursor(log_service):
    client = Client(log_service.url)
    cursor = client.Log.follow()["cursor"]
    with client.batch() as batch:
        for n in range(60):
            batch.notify("Log.write", message=f"filler {n}", service_name="filler")
    with pytest.raises(InvalidParams) as info:
        client.Log.follow(cursor)
    assert info.value.data["field"] == "cursor" and "without a cursor" in info.value.data["problem"]


def test_following_from_since_without_a_cursor_reads_every_newer_entry_not_only_the_newest(tmp_path):
    """A follower that lost its cursor goes on from its last timestamp: all that is newer, page by page."""
    from rpc_cluster.logs.store import LogStore

    store = LogStore(tmp_path / "d.log")
    store.append(
        [
            {
                "timestamp": f"2026-01-01T00:{m:02d}:{s:02d}.000Z",
                "level": "INFO",
                "service_name": "S",
                "trace_id": None,
                "message": f"line {m * 60 + s}",
            }
            for m in range(5)
            for s in range(60)
        ]
    )
    seen, cursor, since = [], None, "2026-01-01T00:00:59.000Z"
    for _ in range(20):
        page = store.follow(cursor, limit=100, since=since if cursor is None else None)
        seen += [entry["message"] for entry in page.entries]
        cursor = page.cursor
        if not page.more:
            break
    assert seen == [f"line {n}" for n in range(60, 300)]


def test_a_line_torn_by_a_crash_does_not_swallow_the_next_entry(tmp_path):
    from rpc_cluster.logs.store import LogStore

    path = tmp_path / "d.log"
    path.write_text('{"timestamp": "2026-01-01T00:00:00.000Z", "level": "INFO", "message": "whole"}\n{"timest')
    store = LogStore(path)
    store.append(
        [
            {
                "timestamp": "2026-01-01T00:00:01.000Z",
                "level": "INFO",
                "service_name": "S",
                "trace_id": None,
                "message": "after the restart",
            }
        ]
    )
    assert [entry["message"] for entry in store.tail(10)] == ["whole", "after the restart"]
