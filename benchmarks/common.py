"""Helpers shared by the benchmarks: processes on loopback, wrk, medians."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# A URL: "serving at most N connections" (a capped limit) is not the line.
_SERVING = re.compile(r"serving at ([A-Za-z][A-Za-z0-9+.-]*:\S+)")


class Proc:
    """A child process with its output in a temporary file; killed by ``stop()``."""

    def __init__(self, *args: str, env: dict[str, str] | None = None):
        full_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        # The child holds its own copy of the descriptor: ours is closed at once.
        with tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log", delete=False) as log:
            self.log_path = Path(log.name)
            self.popen = subprocess.Popen(
                [sys.executable, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env=full_env,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = regex.search(self.output())
            if match:
                return match
            if self.popen.poll() is not None:
                raise RuntimeError(f"process exited early:\n{self.output()[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"timed out waiting for {pattern!r}:\n{self.output()[-2000:]}")

    def url(self) -> str:
        return self.wait_for(_SERVING.pattern).group(1)

    def kill(self, signum: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def stop(self) -> None:
        self.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)
        self.log_path.unlink()


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a server that cannot be told port 0 (a command line's)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, proc: Proc, timeout: float = 30.0) -> None:
    """Return once 127.0.0.1:``port`` accepts a connection; raises if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if proc.popen.poll() is not None:
            raise RuntimeError(f"process exited early:\n{proc.output()[-2000:]}")
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s:\n{proc.output()[-2000:]}")


def wrk(
    url: str,
    *,
    body: bytes | None = None,
    content_type: str = "application/json",
    connections: int = 16,
    seconds: float = 5.0,
    threads: int = 2,
    lua: str | None = None,
) -> dict[str, float]:
    """Run wrk against ``url`` (POSTing ``body``, or running ``lua``); requests/s and latencies."""
    script = None
    threads = min(threads, connections)
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if body is not None or lua is not None:
        if lua is None:
            lua_body = body.decode().replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            lua = f'wrk.method = "POST"\nwrk.body = "{lua_body}"\nwrk.headers["Content-Type"] = "{content_type}"\n'
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(lua)
        args += ["-s", script.name]
    try:
        out = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 30).stdout
    finally:
        if script:
            os.unlink(script.name)
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        match = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", out)
        if match:
            value, unit = float(match.group(1)), match.group(2)
            result[f"p{pct}_ms"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["errors"] = (int(errors.group(1)) if errors else 0) + (
        sum(int(g) for g in socket_errors.groups()) if socket_errors else 0
    )
    return result


def median(values: list[float]) -> float:
    return statistics.median(values)


def fmt(value: float, digits: int = 0) -> str:
    if value >= 1000 and digits == 0:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


def bench_main(doc: str, run, table) -> None:
    """The command line of one benchmark module: ``--quick``, then its table."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repetitions")
    print(table(run(parser.parse_args().quick)))


def latencies(call: Callable[[], Any], count: int, seconds: float) -> dict[str, float]:
    """``call`` timed up to ``count`` times or for ``seconds``, whichever ends first (after 20 to warm up)."""
    for _ in range(20):
        call()
    times = []
    deadline = time.monotonic() + seconds
    while len(times) < count and time.monotonic() < deadline:
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p99_ms": times[max(0, int(len(times) * 0.99) - 1)],
        "rps": 1000 / statistics.mean(times),
        "errors": 0,
        "n": len(times),
    }


def on_free_port(*args: str) -> tuple[Proc, int]:
    """A server started with ``args`` and a free port as its last argument, once it listens."""
    port = free_port()
    proc = Proc(*args, str(port))
    try:
        wait_listening(port, proc)
    except BaseException:
        proc.stop()
        raise
    return proc, port
