"""Fixtures: real servers on loopback ports, and processes that are always cleaned up."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import contextlib

ROOT = Path(__file__).resolve().parent.parent
HELPERS = Path(__file__).resolve().parent / "helpers"
sys.path.insert(0, str(HELPERS))

_SERVING = re.compile(r"serving at (https?://\S+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; that value, or fail the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


class Proc:
    """A service subprocess whose stderr goes to a file we can search."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str]):
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(
            args, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=ROOT
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match:
        regex = re.compile(pattern)

        def found():
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
        self._log.close()


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

    def registry(self, *extra: str, port: int = 0, interval: float = 0.5, timeout: float = 0.5, env=None) -> Proc:
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

    def echo(self, registry_url: str, *extra: str, env=None) -> Proc:
        return self.start(str(HELPERS / "echo_service.py"), "--port", "0", "--registry", registry_url, *extra, env=env)

    def cleanup(self) -> None:
        for proc in self.started:
            proc.kill()


@pytest.fixture
def processes(tmp_path):
    manager = Processes(tmp_path)
    try:
        yield manager
    finally:
        manager.cleanup()


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


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One whole cluster shared by a module's tests."""
    folder = tmp_path_factory.mktemp("cluster")
    manager = Processes(folder)
    try:
        yield Cluster(manager, folder)
    finally:
        manager.cleanup()


@pytest.fixture
def registry_service():
    """An in-process registry on a free port with a fast heartbeat."""
    from rpc_cluster.registry.service import RegistryService

    service = RegistryService(port=0, heartbeat_interval=0.3, heartbeat_timeout=0.5)
    service.start()
    try:
        yield service
    finally:
        service.stop()


# -- PostgreSQL ------------------------------------------------------------------------------------

POSTGRES_URL = os.environ.get("RPC_CLUSTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres_url():
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards.

    Skipped with a reason where no server answers, unless RPC_CLUSTER_REQUIRE_POSTGRES
    is set (CI sets it): then a missing server fails the test.
    """
    import uuid

    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_URL, connect_timeout=3, autocommit=True)
    except psycopg.Error as exc:
        reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {str(exc).strip().splitlines()[0]}"
        if os.environ.get("RPC_CLUSTER_REQUIRE_POSTGRES"):
            pytest.fail(reason + " (RPC_CLUSTER_REQUIRE_POSTGRES is set)")
        pytest.skip(reason)
    schema = f"rpc_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """Each grading test runs against both stores."""
    if request.param == "sqlite":
        return str(tmp_path / "grades.db")
    return request.getfixturevalue("postgres_url")


# -- etcd ------------------------------------------------------------------------------------------


def _etcd_or_skip() -> str:
    import shutil

    binary = shutil.which("etcd")
    if binary is None:
        from rpc_cluster.tools.local_etcd import INSTALL_HINT

        reason = INSTALL_HINT
        if os.environ.get("RPC_CLUSTER_REQUIRE_ETCD"):
            pytest.fail(reason + " (RPC_CLUSTER_REQUIRE_ETCD is set)")
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="session")
def etcd(tmp_path_factory):
    """A 3-member etcd cluster shared by the session's tests (each uses a key prefix of its own)."""
    from rpc_cluster.tools.local_etcd import EtcdCluster

    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd"), 3, _etcd_or_skip()).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def own_etcd(tmp_path):
    """A 3-member etcd cluster for one test that kills members."""
    from rpc_cluster.tools.local_etcd import EtcdCluster

    cluster = EtcdCluster(tmp_path / "etcd", 3, _etcd_or_skip()).start()
    try:
        yield cluster
    finally:
        cluster.stop()


# -- TLS -------------------------------------------------------------------------------------------


class Certificates:
    """A test CA (trustme, through ``rpc_cluster.tools.local_ca``) and a server certificate for loopback."""

    def __init__(self, folder: Path):
        from rpc_cluster.tools.local_ca import LocalCA

        self.local_ca = LocalCA(folder)
        #: What callers verify servers against (``--tls-ca``).
        self.ca = str(self.local_ca.ca_file)
        cert, key = self.local_ca.issue("loopback", ["127.0.0.1", "localhost"])
        self.cert, self.key = str(cert), str(key)

    def flags(self) -> list[str]:
        """A service's flags to serve HTTPS with the loopback certificate and verify with the CA."""
        return ["--tls-cert", self.cert, "--tls-key", self.key, "--tls-ca", self.ca]


@pytest.fixture(scope="session")
def certificates(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp("tls"))


# -- test hosts (network namespaces) ---------------------------------------------------------------


@pytest.fixture
def test_network(tmp_path):
    """``build(["registry", "grading-a", ...])``: hosts in network namespaces, all removed afterwards.

    Skipped with the reason where namespaces cannot be made (not root, no
    ``ip``), unless RPC_CLUSTER_REQUIRE_NETNS is set (CI sets it): then it fails.
    """
    import netns

    reason = netns.why_unavailable()
    if reason:
        if os.environ.get("RPC_CLUSTER_REQUIRE_NETNS"):
            pytest.fail(reason + " (RPC_CLUSTER_REQUIRE_NETNS is set)")
        pytest.skip(reason)
    netns.sweep()
    built: list = []

    def build(names: list[str]):
        network = netns.TestNetwork(names, tmp_path)
        built.append(network)
        return network.build()

    try:
        yield build
    finally:
        for network in built:
            network.close()


@pytest.fixture
def small_disk(tmp_path):
    """``make(size_bytes)``: a tmpfs of that size (``SmallDisk``), unmounted afterwards.

    Skipped with the reason where it cannot be mounted (not root), unless
    RPC_CLUSTER_REQUIRE_TMPFS is set (CI sets it): then it fails.
    """
    import small_disk as disks

    reason = disks.why_unavailable()
    if reason:
        if os.environ.get("RPC_CLUSTER_REQUIRE_TMPFS"):
            pytest.fail(reason + " (RPC_CLUSTER_REQUIRE_TMPFS is set)")
        pytest.skip(reason)
    mounted: list = []

    def make(size_bytes: int, name: str = "disk"):
        disk = disks.SmallDisk(tmp_path / name, size_bytes)
        try:
            disk.mount()
        except Exception as exc:
            if os.environ.get("RPC_CLUSTER_REQUIRE_TMPFS"):
                pytest.fail(f"cannot mount a tmpfs: {exc} (RPC_CLUSTER_REQUIRE_TMPFS is set)")
            pytest.skip(f"cannot mount a tmpfs: {exc}")
        mounted.append(disk)
        return disk

    try:
        yield make
    finally:
        for disk in mounted:
            disk.unmount()


# -- measured figures in the run's output ----------------------------------------------------------


@pytest.fixture
def report(request):
    """``report(line)``: a measured figure, printed at the end of the run (also under xdist, and in CI)."""
    return lambda line: request.node.user_properties.append(("measured", line))


def pytest_terminal_summary(terminalreporter):
    lines = [
        f"{report.nodeid.split('::')[-1]}: {value}"
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        for name, value in getattr(report, "user_properties", ())
        if name == "measured"
    ]
    if lines:
        terminalreporter.section("measured")
        for line in lines:
            terminalreporter.write_line(line)


# -- the portal in-process over a real grading service (the portal's route tests) ------------------


@pytest.fixture
def grading(tmp_path):
    """A client for a real GradingService on port 0 (SQLite in ``tmp_path``, its registry unreachable)."""
    from rpc_cluster import Client
    from rpc_cluster.grading.service import GradingService

    with GradingService(port=0, registry="http://127.0.0.1:9/rpc", db=str(tmp_path / "grades.db")) as service:
        yield Client(service.url)


@pytest.fixture
def portal(grading):
    """The portal's app over ``grading``, driven in-process by a ``WsgiClient`` with its own cookies."""
    from wsgi_client import WsgiClient

    from portal.app import make_app

    return WsgiClient(make_app(grading))
