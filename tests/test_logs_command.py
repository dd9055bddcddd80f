"""rpc-cluster logs: entries one a line, found through the registry or a URL, and -f following new ones."""

import os
import signal
import subprocess
import sys
import threading

import pytest
from helpers.ports import free_port
from helpers.processes import ROOT
from helpers.waiting import wait_until

from rpc_cluster import Client
from rpc_cluster.logs.command import format_entry
from rpc_cluster.logs.service import LogService

NOWHERE = "http://127.0.0.1:9/rpc"
ENV = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
ENV.pop("RPC_CLUSTER_TOKEN", None)


def run(*args, timeout=30):
    return subprocess.run(
        [sys.executable, "-m", "rpc_cluster.tools.cli", "logs", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=ENV,
    )


def _ctrl_c_as_at_a_terminal():
    # A suite started in the background (`pytest &` from a script) runs with SIGINT ignored, and a
    # child inherits that: Python then installs no KeyboardInterrupt handler, and Ctrl-C does nothing.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Following:
    """``rpc-cluster logs -f ...`` as a subprocess whose stdout and stderr lines are collected as they come."""

    def __init__(self, *args):
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "rpc_cluster.tools.cli", "logs", "-f", "--interval", "0.1", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=ENV,
            preexec_fn=_ctrl_c_as_at_a_terminal,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True)
            for stream, lines in ((self.popen.stdout, self.out), (self.popen.stderr, self.err))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _collect(stream, lines):
        for line in stream:
            lines.append(line.rstrip("\n"))

    def messages(self):
        return [line.split(None, 4)[4] for line in self.out]

    def wait_for(self, predicate, message, timeout=15):
        return wait_until(
            lambda: self.popen.poll() is None and predicate(),
            timeout,
            message=f"{message} (stdout {self.out}, stderr {self.err})",
        )

    def interrupt(self, timeout=10):
        """Ctrl-C; the exit code."""
        self.popen.send_signal(signal.SIGINT)
        code = self.popen.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return code

    def kill(self):
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)


@pytest.fixture
def following():
    started = []

    def start(*args):
        started.append(Following(*args))
        return started[-1]

    try:
        yield start
    finally:
        for follower in started:
            follower.kill()


@pytest.fixture
def log_service(tmp_path):
    service = LogService(port=0, registry=NOWHERE, log_file=tmp_path / "distributed.log")
    with service:
        yield service


def test_an_entry_is_one_readable_line_and_no_message_can_break_it():
    line = format_entry(
        {
            "timestamp": "2026-11-22T09:00:00.000000Z",
            "level": "WARNING",
            "service_name": "Grading",
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "message": "first\nforged line\x1b[31m red\ttab \u2028 é",
        }
    )
    assert line == (
        "2026-11-22T09:00:00.000000Z WARNING  Grading 4bf92f3577b34da6a3ce929d0e0e4736 "
        "first\\nforged line\\x1b[31m red\\ttab \\u2028 é"
    )
    assert (
        format_entry(
            {
                "timestamp": "2026-11-22T09:00:00.000000Z",
                "level": "INFO",
                "service_name": None,
                "trace_id": None,
                "message": "m",
            }
        )
        == "2026-11-22T09:00:00.000000Z INFO     - - m"
    )


def test_logs_prints_the_newest_matching_entries_oldest_first(log_service):
    client = Client(log_service.url)
    for n in range(6):
        client.Log.write(
            f"entry {n}",
            service_name="cli-test",
            level="ERROR" if n % 2 else "INFO",
            trace_id=f"t{n % 3}",
            timestamp=f"2026-11-22T09:00:0{n}Z",
        )
    result = run("--url", log_service.url, "--service", "cli-test", "--limit", "3")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.splitlines() == [
        "2026-11-22T09:00:03.000000Z ERROR    cli-test t0 entry 3",
        "2026-11-22T09:00:04.000000Z INFO     cli-test t1 entry 4",
        "2026-11-22T09:00:05.000000Z ERROR    cli-test t2 entry 5",
    ]
    filtered = run(
        "--url",
        log_service.url.rsplit("/rpc", 1)[0],
        "--service",
        "cli-test",
        "--level",
        "error",
        "--since",
        "2026-11-22T10:00:01+01:00",
    )
    assert [line.split(None, 4)[4] for line in filtered.stdout.splitlines()] == ["entry 3", "entry 5"]
    by_trace = run("--url", log_service.url, "--trace", "t0")
    assert [line.split(None, 4)[4] for line in by_trace.stdout.splitlines()] == ["entry 0", "entry 3"]


def test_logs_finds_the_log_service_through_the_registry(registry_service, tmp_path):
    with LogService(port=0, registry=registry_service.url, log_file=tmp_path / "d.log") as service:
        wait_until(
            lambda: registry_service.store.lookup("LogService") == [service.url],
            10,
            message="the log service registered",
        )
        Client(service.url).Log.write("found through the registry", service_name="via-registry")
        result = run("--registry", registry_service.url, "--service", "via-registry")
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(" via-registry - found through the registry\n")


def test_logs_without_a_log_service_is_one_line_and_exit_1(registry_service):
    result = run("--url", NOWHERE)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1 and "refused" in result.stderr
    result = run("--registry", registry_service.url)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "lists no passing LogService" in result.stderr


def test_follow_prints_new_entries_once_and_ctrl_c_exits_0_quietly(log_service, following):
    client = Client(log_service.url)
    for n in range(5):
        client.Log.write(f"old {n}", service_name="follow-test")
    follower = following("--url", log_service.url, "--service", "follow-test", "--limit", "2")
    follower.wait_for(lambda: follower.messages() == ["old 3", "old 4"], "the newest two entries")
    for n in range(30):
        client.Log.write(f"new {n}", service_name="follow-test")
        client.Log.write("someone else's", service_name="other")
    follower.wait_for(lambda: len(follower.out) >= 32, "the new entries")
    assert follower.interrupt() == 0
    assert follower.messages() == ["old 3", "old 4"] + [f"new {n}" for n in range(30)]
    assert follower.err == []


def test_follow_warns_once_while_the_log_service_is_lost_and_goes_on_where_it_was(tmp_path, following):
    port = free_port()
    path = tmp_path / "d.log"
    follower = following("--url", f"http://127.0.0.1:{port}/rpc")
    follower.wait_for(lambda: follower.err, "a warning")
    (warning,) = follower.err
    assert warning.startswith("rpc-cluster logs: warning: lost the log service at ") and "still trying" in warning
    with LogService(port=port, registry=NOWHERE, log_file=path) as service:
        Client(service.url).Log.write("first life", service_name="lost-test")
        follower.wait_for(lambda: "first life" in follower.messages(), "the entry of the first life")
    follower.wait_for(lambda: len(follower.err) >= 3, "a warning for the second loss")
    with LogService(port=port, registry=NOWHERE, log_file=path) as service:
        Client(service.url).Log.write("second life", service_name="lost-test")
        follower.wait_for(lambda: "second life" in follower.messages(), "the entry of the second life")
    assert follower.interrupt() == 0
    mine = [m for m in follower.messages() if m in ("first life", "second life")]
    assert mine == ["first life", "second life"]  # the restarted service took the cursor: nothing twice
    assert [line.split(":")[1].strip() for line in follower.err] == [
        "warning",
        "reading http",
        "warning",
        "reading http",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--limit", "0"],
        ["--limit", "x"],
        ["--limit", "10001"],
        ["--level", "LOUD"],
        ["--since", "yesterday"],
        ["--interval", "0"],
        ["--url", "ftp://x"],
        ["--registry", "nowhere"],
        ["--bogus"],
        ["extra"],
    ],
)
def test_bad_flags_are_one_line_and_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("rpc-cluster logs: error: ")
    assert "Traceback" not in result.stderr
