"""The log's lines, built by hand for speed, are byte for byte what ``json.dumps`` writes."""

import json
import os

import pytest

from rpc_cluster.logs import store as store_module
from rpc_cluster.logs.store import LogStore
from rpc_cluster.observability.log_entries import FIELDS

MESSAGES = (
    "plain",
    "",
    'quotes " and \\ backslashes',
    "new\nlines\r\tand \x00 \x1b[31m control characters \x7f \u2028",
    "Zoë, 日本語, emoji 🎉",
    "lone surrogate \ud800 in the middle",
)


def fields(message, **changes):
    entry = {
        "timestamp": "2026-11-22T00:00:00.000001Z",
        "level": "INFO",
        "service_name": "svc",
        "trace_id": None,
        "message": message,
    }
    return {**entry, **changes}


def json_line(entry):
    """The line as the log wrote it before it was built by hand: text UTF-8 cannot carry escaped."""
    kept = {field: entry.get(field) for field in FIELDS}
    if entry.get("entry_id"):
        kept["entry_id"] = entry["entry_id"]
    try:
        return (json.dumps(kept, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        escaped = {
            key: value.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(value, str) else value
            for key, value in kept.items()
        }
        return (json.dumps(escaped, ensure_ascii=False) + "\n").encode("utf-8")


@pytest.mark.parametrize("message", MESSAGES)
@pytest.mark.parametrize(
    "changes",
    [{}, {"trace_id": "t-1", "service_name": None}, {"entry_id": "abc-1.x_y:42"}, {"level": "CRITICAL"}],
)
def test_a_line_is_what_json_dumps_writes(tmp_path, message, changes):
    store = LogStore(tmp_path / "d.log")
    store.append([fields(message, **changes)])
    written = (tmp_path / "d.log").read_bytes()
    assert written == json_line(fields(message, **changes))
    (read,) = store.tail(1)
    assert read["message"] == message.replace("\ud800", "\\ud800")


def test_an_entry_without_an_entry_id_key_or_with_an_empty_one_has_no_entry_id_field(tmp_path):
    store = LogStore(tmp_path / "d.log")
    bare = fields("no id")
    store.append([bare, {**bare, "entry_id": None}, {**bare, "entry_id": ""}])
    assert (tmp_path / "d.log").read_bytes() == json_line(bare) * 3


def test_values_other_than_text_are_written_as_json_writes_them(tmp_path):
    store = LogStore(tmp_path / "d.log")
    odd = fields("odd", timestamp=1.5, trace_id=7)
    store.append([odd])
    assert (tmp_path / "d.log").read_bytes() == json_line(odd)


def test_one_batch_of_many_entries_is_one_write_with_each_repeat_left_out(tmp_path, monkeypatch):
    store = LogStore(tmp_path / "d.log")
    writes = []
    real_write = os.write

    def counting_write(fd, data):
        writes.append(len(data))
        return real_write(fd, data)

    monkeypatch.setattr(store_module.os, "write", counting_write)
    batch = [fields(f"m{n}", entry_id=f"ship:{n}") for n in (1, 2, 3, 2, 4, 1)]
    store.write(batch)
    store.flush()
    assert len(writes) == 1
    store.write([fields("again", entry_id="ship:4"), fields("m5", entry_id="ship:5")])
    store.flush()
    assert [e["message"] for e in store.tail(10)] == ["m1", "m2", "m3", "m4", "m5"]
    assert store.marks.stored_up_to("ship") == 5
    assert store.entries_written == 5
