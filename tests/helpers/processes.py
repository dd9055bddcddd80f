"""Service subprocesses whose output a test can search, all killed at teardown, and whole clusters of them."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent.parent
HELPERS = Path(__file__).resolve().parent

_SERVING = re.compile(r"serving at (https?://\S+)")


class Proc:
    """A service subprocess whose stderr goes to a file we can search."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str]):
        self.args = args
        self.log_path = log_path
        # The child holds its own copy of the descriptor: ours is closed at once.
        with open(log_path, "wb") as log:
            self.popen = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=ROOT
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        """The first match of ``pattern`` in the output; fails the test if the process exits without it."""
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            if self.popen.poll() is not None and not regex.search(self.output()):
                pytest.fail(f"{self.args} exited with {self.popen.returncode}:\n{self.output()}")
            return regex.search(self.output())

        return wait_until(found, timeout, message=f"{pattern!r} in the output of {self.args}")

    def url(self, timeout: float = 15.0) -> str:
        """The URL the service printed when it started serving."""
        return self.wait_for(_SERVING.pattern, timeout).group(1)

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signum)

    def wait(self, timeout: float = 15.0) -> int:
        return self.popen.wait(timeout)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)


class Processes:
    """Starts processes and kills every one of them at teardown."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.started: list[Proc] = []
        self._count = 0

    def start(self, *args: str, env: dict[str, str] | None = None) -> Proc:
        full_env = dict(os.environ, PYTHONUNBUFFERED="1")
        full_env.pop("RPC_CLUSTER_TOKEN", None)
        full_env.update(env or {})
        self._count += 1
        log_path = self.tmp_path / f"proc-{self._count}.log"
        proc = Proc([sys.executable, *args], log_path, full_env)
        self.started.append(proc)
        return proc

    def registry(
        self,
        *extra: str,
        port: int = 0,
        interval: float = 0.5,
        timeout: float = 0.5,
        env: dict[str, str] | None = None,
    ) -> Proc:
        # A fast interval keeps the tests short; a timeout of its own keeps a loaded CI
        # machine from failing heartbeats that were merely slow.
        return self.start(
            "cmd/registryservice/main.py",
            "--port",
            str(port),
            "--heartbeat-interval",
            str(interval),
            "--heartbeat-timeout",
            str(timeout),
            *extra,
            env=env,
        )

    def echo(self, registry_url: str, *extra: str, env: dict[str, str] | None = None) -> Proc:
        return self.start(str(HELPERS / "echo_service.py"), "--port", "0", "--registry", registry_url, *extra, env=env)

    def cleanup(self) -> None:
        for proc in self.started:
            proc.kill()


class Cluster:
    """Registry, log, grading and portal as real processes, on free ports."""

    def __init__(self, processes: Processes, data: Path, interval: float = 0.5):
        self.processes = processes
        self.data = data
        self.interval = interval
        self.registry_proc = processes.registry(interval=interval)
        self.registry = self.registry_proc.url()
        self.registry_port = int(self.registry.rsplit(":", 1)[1].split("/")[0])
        self.log_proc = self.start_log()
        self.grading_proc = self.start_grading()
        self.portal_proc = processes.start(
            "cmd/teacherportal/main.py", "--port", "0", "--registry", self.registry, "--grading-timeout", "2"
        )
        self.portal = self.portal_proc.url().rsplit("/rpc", 1)[0]
        from rpc_cluster import Client

        registry = Client(self.registry)
        wait_until(
            lambda: all(registry.Registry.lookup(name) for name in ("LogService", "GradingService", "PortalService")),
            20,
            message="the cluster",
        )

    @functools.cached_property
    def admin(self):
        """An administrator of the portal (made through grading on first use): ``signed_in.sign_in`` takes it."""
        from helpers.signed_in import make_user
        from rpc_cluster import Client

        return make_user(Client(self.grading_proc.url()), "admin")

    def start_grading(self, port: int = 0) -> Proc:
        return self.processes.start(
            "cmd/gradingservice/main.py",
            "--port",
            str(port),
            "--registry",
            self.registry,
            "--db",
            str(self.data / "grades.db"),
        )

    def start_log(self, port: int = 0) -> Proc:
        return self.processes.start(
            "cmd/logservice/main.py",
            "--port",
            str(port),
            "--registry",
            self.registry,
            "--log-file",
            str(self.data / "distributed.log"),
        )

    def restart_registry(self) -> Proc:
        self.registry_proc = self.processes.registry(port=self.registry_port, interval=self.interval)
        self.registry_proc.url()
        return self.registry_proc

    def outputs(self) -> str:
        return "\n".join(proc.output() for proc in self.processes.started)
