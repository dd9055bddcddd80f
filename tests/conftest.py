"""Fixtures: real servers on loopback ports, and processes that are always cleaned up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.areas import AREAS, Areas
from helpers.processes import Cluster, Processes
from helpers.required import etcd_or_skip, skip_unless_required


def pytest_collection_modifyitems(items):
    """Mark each test with its areas (``helpers/areas.py`` reads them from what it uses), else ``unit``.

    A test or module can also say it with ``pytestmark``: its own area markers are kept.
    """
    areas = Areas()
    for item in items:
        found = areas.of(item) | {mark.name for mark in item.iter_markers() if mark.name in AREAS}
        for area in sorted(found) or ["unit"]:
            item.add_marker(area)


@pytest.fixture
def processes(tmp_path):
    manager = Processes(tmp_path)
    try:
        yield manager
    finally:
        manager.cleanup()


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
        skip_unless_required(reason, "RPC_CLUSTER_REQUIRE_POSTGRES")
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


@pytest.fixture(scope="session")
def etcd(tmp_path_factory):
    """A 3-member etcd cluster shared by the session's tests (each uses a key prefix of its own)."""
    from rpc_cluster.tools.local_etcd import EtcdCluster

    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd"), 3, etcd_or_skip()).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def own_etcd(tmp_path):
    """A 3-member etcd cluster for one test that kills members."""
    from rpc_cluster.tools.local_etcd import EtcdCluster

    cluster = EtcdCluster(tmp_path / "etcd", 3, etcd_or_skip()).start()
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
    from helpers import netns

    reason = netns.why_unavailable()
    if reason:
        skip_unless_required(reason, "RPC_CLUSTER_REQUIRE_NETNS")
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
    from helpers import small_disk as disks

    reason = disks.why_unavailable()
    if reason:
        skip_unless_required(reason, "RPC_CLUSTER_REQUIRE_TMPFS")
    mounted: list = []

    def make(size_bytes: int, name: str = "disk"):
        disk = disks.SmallDisk(tmp_path / name, size_bytes)
        try:
            disk.mount()
        except Exception as exc:
            skip_unless_required(f"cannot mount a tmpfs: {exc}", "RPC_CLUSTER_REQUIRE_TMPFS")
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
    """The portal's app over ``grading``, driven in-process by a ``WsgiClient`` with its own cookies,
    signed in as an administrator made through grading."""
    from helpers.signed_in import make_user, portal_client

    from portal.app import make_app

    return portal_client(make_app(grading), make_user(grading, "admin"))


# -- the portal in a real headless Chromium (helpers in helpers/browser.py) -----------------------


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright; skipped without either, unless RPC_CLUSTER_REQUIRE_BROWSER is set."""
    from helpers.browser import ARGS, CHROMIUM

    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            reason = "playwright is not installed (pip install -e '.[test]')"
    if reason:
        if os.environ.get("RPC_CLUSTER_REQUIRE_BROWSER"):
            pytest.fail(reason + " (RPC_CLUSTER_REQUIRE_BROWSER is set)")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context's page, 1024x800."""
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def axe(browser):
    """axe-core (bundled by axe-playwright-python), run inside the page."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        reason = "axe-playwright-python is not installed (pip install -e '.[test]')"
        if os.environ.get("RPC_CLUSTER_REQUIRE_BROWSER"):
            pytest.fail(reason + " (RPC_CLUSTER_REQUIRE_BROWSER is set)")
        pytest.skip(reason)
    return Axe()
