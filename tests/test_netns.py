"""The cluster across real (virtual) links: test hosts in network namespaces, partitions, TLS and the token.

Every host is a namespace of its own with one address in 192.0.2.0/24 and
no route out (``helpers/netns.py``). Every service listens on its host's
address, advertises its https:// URL, and carries the cluster token. The
test itself reaches the hosts only from the ``client`` host, on threads
inside its namespace. A cut is a link taken down at the bridge: packets
vanish, so the registry must notice through timeouts, not refusals.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import socket
import sys
import threading
import time
import urllib.request
import uuid

import pytest
from helpers.http_browser import HttpBrowser
from helpers.signed_in import make_user, sign_in
from helpers.waiting import wait_until

from rpc_cluster import Client, RegistryClient, TransportError, connect
from rpc_cluster.grading.reads import READ_ONLY
from rpc_cluster.tools.local_etcd import member_arguments

TOKEN = "netns-cluster-token"
INTERVAL = 1.0  # the registry's heartbeat interval in these tests
HEARTBEAT_TIMEOUT = 0.3
PORTS = {"registry": 3000, "log": 4000, "grading": 6000, "portal": 5005, "echo": 7000}
LEADER_TTL = 2  # seconds the checking registry's lease lasts without renewal


class NetCluster:
    """The cluster's processes on the test hosts, all on TLS with the token."""

    def __init__(self, network, certificates, tmp_path, registries=("registry",)):
        self.net = network
        self.ca = certificates.ca
        self.local_ca = certificates.local_ca
        self.tmp_path = tmp_path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RPC_CLUSTER_")}
        self.env.update(PYTHONUNBUFFERED="1", RPC_CLUSTER_TOKEN=TOKEN)
        self.registry_hosts = list(registries)
        self.registries = ",".join(network[host].url(PORTS["registry"], "https") for host in registries)
        self.procs: dict[str, object] = {}

    def url(self, host: str, service: str) -> str:
        return self.net[host].url(PORTS[service], "https")

    def _flags(self, host: str, service: str) -> list[str]:
        address = self.net[host].address
        cert, key = self.local_ca.issue(f"host-{address}", [address])
        return [
            "--host",
            address,
            "--port",
            str(PORTS[service]),
            "--advertise",
            self.url(host, service),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
            "--tls-ca",
            self.ca,
        ]

    def start(self, host: str, service: str, script: str, *extra: str):
        flags = self._flags(host, service)
        if service != "registry":
            flags += ["--registry", self.registries]
        proc = self.net.start(host, [sys.executable, script, *flags, *extra], self.env, f"{service}-{host}")
        self.procs[f"{service}@{host}"] = proc
        return proc

    def start_registry(self, host: str, *extra: str):
        return self.start(
            host,
            "registry",
            "cmd/registryservice/main.py",
            "--heartbeat-interval",
            str(INTERVAL),
            "--heartbeat-timeout",
            str(HEARTBEAT_TIMEOUT),
            *extra,
        )

    def start_services(self) -> None:
        self.start("portal", "log", "cmd/logservice/main.py", "--log-file", str(self.tmp_path / "distributed.log"))
        for host in ("grading-a", "grading-b"):
            # One store for both instances (a shared SQLite file here; PostgreSQL between real machines).
            self.start(host, "grading", "cmd/gradingservice/main.py", "--db", str(self.tmp_path / "grades.db"))
        self.start("portal", "portal", "cmd/teacherportal/main.py", "--grading-timeout", "3")
        # A dependent we can ask what the registry told it (Echo.providers).
        self.start("client", "echo", "tests/helpers/echo_service.py", "--requires", "GradingService")

    # -- seen from the client host ----------------------------------------------------------------

    def registry(self) -> RegistryClient:
        return RegistryClient(self.registries, token=TOKEN, tls_ca=self.ca, timeout=1.0)

    def echo(self) -> Client:
        return Client(self.url("client", "echo"), token=TOKEN, tls_ca=self.ca, timeout=2.0)

    def statuses(self, registry: RegistryClient) -> dict[str, str]:
        return {row["service_url"]: row["status"] for row in registry.call("Registry.services")}

    def wait_all_passing(self, count: int, timeout: float = 60.0) -> None:
        def check():
            registry = self.registry()

            def passing():
                try:
                    statuses = self.statuses(registry)
                except Exception:
                    return False
                return len(statuses) == count and set(statuses.values()) == {"passing"}

            return wait_until(passing, timeout, interval=0.1, message=f"{count} services passing")

        self.net.inside("client", check, timeout + 5)


class PortalLoad:
    """A teacher adding grades through the portal's forms from the client host, in a loop bounded in count and time.

    A post that fails is sent again with the same request_id, as a teacher
    pressing reload would: a grade is acknowledged once the portal answers 303.
    """

    def __init__(self, cluster: NetCluster, seconds: float, max_posts: int = 2000):
        self.cluster = cluster
        self.deadline = time.monotonic() + seconds
        self.max_posts = max_posts
        self.stop = threading.Event()
        self.acked: list[str] = []
        self.sent: list[str] = []
        self.failures: list[tuple[float, str]] = []  # (when, what) of pages not served
        self.pages = 0
        self.slowest = 0.0
        self._thread = threading.Thread(
            target=lambda: cluster.net.inside("client", self._run, seconds + 60), daemon=True
        )

    def start(self) -> PortalLoad:
        self._thread.start()
        return self

    def _page(self, browser: HttpBrowser, method: str, path: str, form: dict | None = None, expect: int = 200):
        started = time.monotonic()
        try:
            answer = browser.request(method, path, form)
            ok = answer.status == expect
            what = f"{method} {path}: {answer.status}"
        except OSError as exc:
            answer, ok, what = None, False, f"{method} {path}: {exc}"
        self.pages += 1
        self.slowest = max(self.slowest, time.monotonic() - started)
        if not ok:
            self.failures.append((time.monotonic(), what))
        return answer if ok else None

    def _run(self) -> None:
        browser = HttpBrowser(self.cluster.url("portal", "portal").rsplit("/rpc", 1)[0], ca=self.cluster.ca, timeout=15)
        # Signed in first, as the teacher would be: an account made through grading (from this host, before any cut).
        grading = Client(self.cluster.url("grading-a", "grading"), token=TOKEN, tls_ca=self.cluster.ca)
        sign_in(browser, make_user(grading, "admin"), wait=15)
        csrf = None
        for number in range(1, self.max_posts + 1):
            if self.stop.is_set() or time.monotonic() > self.deadline:
                return
            if csrf is None:
                page = self._page(browser, "GET", "/students/1")
                if page is None:
                    continue
                csrf = page.csrf()
            title, request_id = f"netns-{number}", uuid.uuid4().hex
            self.sent.append(title)
            form = {
                "csrf_token": csrf,
                "request_id": request_id,
                "title": title,
                "type": "Quiz",
                "score": str(number % 101),
            }
            for _ in range(5):
                if self._page(browser, "POST", "/students/1/grades", form, expect=303) is not None:
                    self.acked.append(title)
                    break
            self._page(browser, "GET", "/students")

    def finish(self) -> None:
        self.stop.set()
        self._thread.join(90)
        assert not self._thread.is_alive(), "the portal load did not stop"


def stored_titles(cluster: NetCluster) -> collections.Counter:
    def read():
        grading = connect("GradingService", cluster.registries, token=TOKEN, tls_ca=cluster.ca, read_only=READ_ONLY)
        return collections.Counter(grade["title"] for grade in grading.Grades.get_student(1)["grades"])

    return cluster.net.inside("client", read)


def lost_and_doubled(load: PortalLoad, stored: collections.Counter) -> tuple[list[str], list[str]]:
    """Acknowledged grades not stored exactly once, and any grade stored more than once."""
    return ([title for title in load.acked if stored[title] != 1], [title for title in load.sent if stored[title] > 1])


def one_registry_cluster(test_network, certificates, tmp_path):
    """Registry, two graders, portal and log, and a dependent on the client host: all passing, both graders known."""
    network = test_network(["registry", "grading-a", "grading-b", "portal", "client"])
    cluster = NetCluster(network, certificates, tmp_path)
    cluster.start_registry("registry")
    cluster.start_services()
    cluster.wait_all_passing(5)
    network.inside(
        "client",
        lambda: wait_until(
            lambda: len(cluster.echo().Echo.providers().get("GradingService", [])) == 2, 10, message="two providers"
        ),
    )
    return network, cluster


# -- the tests ------------------------------------------------------------------------------------


def test_the_test_hosts_reach_each_other_and_nothing_else(test_network):
    network = test_network(["a", "b"])
    for host in ("a", "b"):
        routes = network.routes(host)
        assert "default" not in routes and "192.0.2.0/24" in routes

    def probe():
        outcomes = {}
        for name, address in (
            ("b", (network["b"].address, 9)),
            ("own loopback", ("127.0.0.1", 5432)),
            ("outside", ("198.51.100.1", 80)),
        ):
            try:
                socket.create_connection(address, timeout=2).close()
                outcomes[name] = "connected"
            except ConnectionRefusedError:
                outcomes[name] = "refused"
            except OSError as exc:
                outcomes[name] = exc.strerror or str(exc)
        return outcomes

    outcomes = network.inside("a", probe)
    # b answers (nothing listens on its port 9: refused, so the packet got there); the machine's
    # PostgreSQL is not on a's loopback; anything else has no route at all.
    assert outcomes == {"b": "refused", "own loopback": "refused", "outside": "Network is unreachable"}


def test_a_cut_grading_host_turns_critical_through_timeouts_and_the_portal_serves_from_the_other(
    test_network, certificates, tmp_path, report
):
    network, cluster = one_registry_cluster(test_network, certificates, tmp_path)
    a = cluster.url("grading-a", "grading")

    def providers():
        return cluster.echo().Echo.providers().get("GradingService", [])

    load = PortalLoad(cluster, seconds=40).start()
    try:
        time.sleep(2.0)
        cut_at = time.monotonic()
        network.cut("grading-a")

        def critical():
            registry = cluster.registry()
            wait_until(
                lambda: cluster.statuses(registry).get(a) == "critical", 10, interval=0.02, message="grading-a critical"
            )
            return time.monotonic()

        detected = network.inside("client", critical) - cut_at
        told = network.inside("client", lambda: wait_until(lambda: a not in providers(), 10, message="A removed"))
        assert told
        time.sleep(3.0)  # the portal serves from grading-b alone meanwhile
        during = len(load.acked)
        network.heal("grading-a")
        healed_at = time.monotonic()
        network.inside(
            "client",
            lambda: wait_until(
                lambda: cluster.statuses(cluster.registry()).get(a) == "passing",
                15,
                interval=0.05,
                message="grading-a passing again",
            ),
        )
        back = time.monotonic() - healed_at
        network.inside("client", lambda: wait_until(lambda: a in providers(), 10, message="A added again"))
        time.sleep(1.0)
    finally:
        load.finish()

    lost, doubled = lost_and_doubled(load, stored_titles(cluster))
    report(
        f"partition of grading-a: critical {detected:.2f} s after the cut = {detected / INTERVAL:.2f} "
        f"intervals (interval {INTERVAL:g} s, timeout {HEARTBEAT_TIMEOUT:g} s); passing {back:.2f} s after healing; "
        f"{len(load.acked)} grades acknowledged ({during} before healing), {len(lost)} lost, "
        f"{len(doubled)} doubled; {load.pages} pages, {len(load.failures)} not served, "
        f"slowest {load.slowest:.2f} s"
    )
    assert detected <= 2.5 * INTERVAL
    assert load.failures == [], load.failures[:5]
    assert len(load.acked) > 10 and during > 0
    assert lost == [] and doubled == [], f"lost {lost}, doubled {doubled}"


def test_a_cut_off_registry_leaves_services_serving_and_finds_them_all_passing_when_healed(
    test_network, certificates, tmp_path, report
):
    network, cluster = one_registry_cluster(test_network, certificates, tmp_path)

    load = PortalLoad(cluster, seconds=40).start()
    try:
        time.sleep(1.0)
        network.cut("registry")
        time.sleep(3 * INTERVAL)
        # Nobody heard from the registry: every dependent still has both graders.
        providers = network.inside("client", lambda: cluster.echo().Echo.providers())
        assert len(providers["GradingService"]) == 2
        during = len(load.acked)
        network.heal("registry")
        healed_at = time.monotonic()
        cluster.wait_all_passing(5, timeout=30)
        back = time.monotonic() - healed_at
        time.sleep(1.0)
    finally:
        load.finish()
    lost, doubled = lost_and_doubled(load, stored_titles(cluster))
    report(
        f"registry cut off for {3 * INTERVAL:g} s: {during} grades acknowledged meanwhile; everyone passing "
        f"{back:.2f} s after healing; {len(load.acked)} acknowledged in all, {len(lost)} lost, "
        f"{len(doubled)} doubled; {len(load.failures)} pages not served"
    )
    assert during > 0
    assert load.failures == [], load.failures[:5]
    assert lost == [] and doubled == [], f"lost {lost}, doubled {doubled}"
    restarted = [name for name, proc in cluster.procs.items() if proc.popen.poll() is not None]
    assert restarted == []


def test_two_registries_on_two_hosts_one_cut_off_the_other_takes_over(test_network, certificates, tmp_path, report):
    etcd = shutil.which("etcd")
    if etcd is None:
        from rpc_cluster.tools.local_etcd import INSTALL_HINT

        if os.environ.get("RPC_CLUSTER_REQUIRE_ETCD"):
            pytest.fail(INSTALL_HINT + " (RPC_CLUSTER_REQUIRE_ETCD is set)")
        pytest.skip(INSTALL_HINT)
    network = test_network(["etcd", "registry-1", "registry-2", "grading-a", "grading-b", "portal", "client"])
    # One etcd member on a host of its own: the registries' shared state, reached over the test network.
    address = network["etcd"].address
    client_url, peer_url = f"http://{address}:2379", f"http://{address}:2380"
    network.start(
        "etcd",
        [etcd, *member_arguments("m0", tmp_path / "etcd", client_url, peer_url, f"m0={peer_url}", "netns")],
        dict(os.environ),
        "etcd",
    )

    def etcd_healthy():
        try:
            with urllib.request.urlopen(f"{client_url}/health", timeout=1) as answer:
                return json.loads(answer.read()).get("health") == "true"
        except (OSError, ValueError):
            return False

    network.inside("client", lambda: wait_until(etcd_healthy, 30, interval=0.1, message="etcd healthy"))
    cluster = NetCluster(network, certificates, tmp_path, registries=("registry-1", "registry-2"))
    store = f"etcd://{address}:2379/netns-{uuid.uuid4().hex[:8]}"
    for host in cluster.registry_hosts:
        cluster.start_registry(host, "--store", store, "--leader-ttl", str(LEADER_TTL))
    cluster.start_services()
    cluster.wait_all_passing(5)

    def checked_by(url):
        rows = Client(url, token=TOKEN, tls_ca=cluster.ca, timeout=1.0).Registry.services()
        return {row.get("checked_by") for row in rows}

    urls = [cluster.url(host, "registry") for host in cluster.registry_hosts]
    checker = network.inside(
        "client", lambda: wait_until(lambda: checked_by(urls[0]) - {None}, 15, message="a checking registry")
    ).pop()
    survivor = next(url for url in urls if url != checker)
    cut_host = cluster.registry_hosts[urls.index(checker)]

    load = PortalLoad(cluster, seconds=50).start()
    try:
        time.sleep(2.0)
        cut_at = time.monotonic()
        network.cut(cut_host)

        def taken_over():
            wait_until(lambda: checked_by(survivor) == {survivor}, 20, interval=0.05, message="the survivor checks")
            return time.monotonic()

        took = network.inside("client", taken_over) - cut_at
        time.sleep(2 * INTERVAL)
        statuses = network.inside(
            "client", lambda: cluster.statuses(RegistryClient(survivor, token=TOKEN, tls_ca=cluster.ca, timeout=1.0))
        )
        assert len(statuses) == 5 and set(statuses.values()) == {"passing"}, statuses
        network.heal(cut_host)

        # Back on the network, the cut-off registry follows the store again: the same table, one checker.
        def agrees():
            try:
                return checked_by(checker) == {survivor}
            except TransportError:  # just healed, its first answers may wait on etcd past the call's 1 s
                return False

        network.inside("client", lambda: wait_until(agrees, 20, interval=0.1, message="the healed registry agreeing"))
        time.sleep(1.0)
    finally:
        load.finish()
    lost, doubled = lost_and_doubled(load, stored_titles(cluster))
    report(
        f"registry {cut_host} (the checker) cut off: the other checks {took:.2f} s later (leader TTL "
        f"{LEADER_TTL} s, interval {INTERVAL:g} s); {len(load.acked)} grades acknowledged, {len(lost)} lost, "
        f"{len(doubled)} doubled; {load.pages} pages, {len(load.failures)} not served"
    )
    assert took <= LEADER_TTL + 2 * INTERVAL + 1
    assert load.failures == [], load.failures[:5]
    assert lost == [] and doubled == [], f"lost {lost}, doubled {doubled}"
