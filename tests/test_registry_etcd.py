"""Several registries on one real etcd cluster: shared state, failover of checks and pushes, no loss.

Required in CI (RPC_CLUSTER_REQUIRE_ETCD=1); skipped with the reason where etcd is not installed.
"""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
from helpers.ports import free_port
from helpers.waiting import wait_until

from rpc_cluster import Client, RegistryClient
from rpc_cluster.serving.server import HttpServer

INTERVAL = 0.5
TTL = 2


class Recorder:
    """A fake dependent: answers heartbeats and records every Service.update it gets."""

    def __init__(self, delay: float = 0.0) -> None:
        #: Seconds it takes to answer a push (a slow dependent).
        self.delay = delay
        self.updates: list[tuple[float, list, list]] = []
        self._lock = threading.Lock()
        self.server = HttpServer(self, "127.0.0.1", 0, threads=2).start()
        self.url = f"{self.server.url}/rpc"

    def __call__(self, environ, start_response):
        body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"{}")
        if body.get("method") == "Service.update":
            time.sleep(self.delay)
            with self._lock:
                self.updates.append(
                    (time.monotonic(), body["params"].get("added", []), body["params"].get("removed", []))
                )
            answer = {"jsonrpc": "2.0", "result": True, "id": body.get("id")}
        else:
            answer = {"jsonrpc": "2.0", "result": {"status": "ok", "service": "Recorder"}, "id": body.get("id")}
        data = json.dumps(answer).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def told(self, kind: str, url: str) -> list[float]:
        index = 1 if kind == "added" else 2
        with self._lock:
            return [u[0] for u in self.updates if any(e["service_url"] == url for e in u[index])]

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def recorder():
    rec = Recorder()
    try:
        yield rec
    finally:
        rec.stop()


def two_registries(processes, store: str, ports=(0, 0)):
    procs = [
        processes.registry("--store", store, "--leader-ttl", str(TTL), port=port, interval=INTERVAL) for port in ports
    ]
    return procs, [proc.url() for proc in procs]


def checker(urls: list[str]) -> str:
    """The registry that checks, as the registries say."""

    def ask():
        rows = RegistryClient(",".join(urls)).Registry.services()
        return rows and rows[0].get("checked_by")

    return wait_until(ask, 15, message="a registry to lead")


def test_a_registration_through_one_registry_is_returned_by_the_other_at_once(processes, etcd):
    _, (a, b) = two_registries(processes, etcd.store())
    Client(a).Registry.register("Shared", "http://127.0.0.1:1/rpc", [])
    assert Client(b).Registry.lookup("Shared") == ["http://127.0.0.1:1/rpc"]
    assert [r["service_url"] for r in Client(b).Registry.services()] == ["http://127.0.0.1:1/rpc"]
    Client(b).Registry.deregister("http://127.0.0.1:1/rpc")
    assert Client(a).Registry.lookup("Shared") == []


def test_killing_the_checking_registry_moves_checks_and_pushes_to_the_other(processes, etcd, recorder):
    procs, urls = two_registries(processes, etcd.store())
    both = ",".join(urls)
    target = processes.echo(both, "--name", "Target")
    target_url = target.url()
    registry = RegistryClient(both)
    wait_until(lambda: registry.Registry.lookup("Target") == [target_url], 10, message="Target registered")
    registry.Registry.register("Recorder", recorder.url, ["Target"])
    leader = checker(urls)
    procs[urls.index(leader)].signal(signal.SIGKILL)
    other = next(url for url in urls if url != leader)
    killed_at = time.monotonic()
    target.signal(signal.SIGKILL)
    wait_until(
        lambda: recorder.told("removed", target_url),
        TTL + 6 * INTERVAL + 5,
        message="the other registry to push the removal",
    )
    took = recorder.told("removed", target_url)[0] - killed_at
    print(
        f"\nfailover: the dead service's dependents were told {took:.2f} s after the checking registry "
        f"was killed ({took / INTERVAL:.1f} intervals; lease TTL {TTL} s)"
    )
    assert took <= TTL + 3 * INTERVAL + 1.0  # one TTL plus about one interval, and CI's noise
    assert Client(other).Registry.services()[0]["checked_by"] == other
    time.sleep(3 * INTERVAL)
    assert len(recorder.told("removed", target_url)) == 1  # each change once


def test_killing_one_etcd_member_of_three_loses_nothing(processes, own_etcd, recorder):
    _, urls = two_registries(processes, own_etcd.store())
    both = ",".join(urls)
    registry = RegistryClient(both)
    before = [f"http://127.0.0.1:{port}/rpc" for port in range(20001, 20011)]
    for url in before:
        registry.Registry.register("Before", url, [])
    registry.Registry.register("Recorder", recorder.url, ["Target"])
    own_etcd.kill(0)
    for url in urls:  # through either registry, every registration made before the kill
        assert sorted(
            r["service_url"] for r in Client(url).Registry.services() if r["service_name"] == "Before"
        ) == sorted(before)
    registry.Registry.register("After", "http://127.0.0.1:20100/rpc", [])
    assert Client(urls[0]).Registry.lookup("After") == ["http://127.0.0.1:20100/rpc"]
    target = processes.echo(both, "--name", "Target")
    target_url = target.url()
    wait_until(lambda: recorder.told("added", target_url), 15, message="the push about the new Target")
    target.signal(signal.SIGKILL)
    wait_until(lambda: recorder.told("removed", target_url), 15, message="the push about the dead Target")
    assert Client(urls[0]).Registry.lookup("Target") == []


def test_a_registries_list_with_a_dead_entry_still_registers(processes, etcd):
    _, (a, b) = two_registries(processes, etcd.store())
    dead = f"http://127.0.0.1:{free_port()}/rpc"
    echo = processes.echo(f"{dead},{a}", "--name", "Listed")
    wait_until(lambda: Client(b).Registry.lookup("Listed") == [echo.url()], 10, message="registration")


def test_a_rolling_restart_of_both_registries_keeps_every_service_listed_and_passing(processes, etcd):
    store = etcd.store()
    ports = (free_port(), free_port())
    procs, urls = two_registries(processes, store, ports)
    both = ",".join(urls)
    services = [processes.echo(both, "--name", f"Rolling{n}") for n in range(3)]
    service_urls = sorted(proc.url() for proc in services)

    def all_passing(url: str) -> bool:
        try:
            rows = Client(url).Registry.services()
        except Exception:
            return False
        return sorted(r["service_url"] for r in rows if r["status"] == "passing") == service_urls

    wait_until(lambda: all_passing(urls[0]), 15, message="everyone registered")
    for index in (0, 1):
        procs[index].signal(signal.SIGKILL)
        time.sleep(2 * INTERVAL)
        procs[index] = processes.registry(
            "--store", store, "--leader-ttl", str(TTL), port=ports[index], interval=INTERVAL
        )
        procs[index].url()
        wait_until(lambda url=urls[index]: all_passing(url), 15, message=f"registry {index} back with everyone")
    for url in urls:
        wait_until(lambda url=url: all_passing(url), TTL + 10 * INTERVAL, message="everyone passing after the restarts")


def test_a_slow_dependent_does_not_hold_back_pushes_to_the_others(processes, etcd, recorder):
    slow = Recorder(delay=2.5)  # past the notifier's 2 s timeout: it tries again, and again
    try:
        _, urls = two_registries(processes, etcd.store())
        both = ",".join(urls)
        registry = RegistryClient(both)
        first, second = processes.echo(both, "--name", "First"), processes.echo(both, "--name", "Second")
        first_url, second_url = first.url(), second.url()
        wait_until(lambda: registry.Registry.lookup("Second") == [second_url], 10, message="registrations")
        registry.Registry.register("Slow", slow.url, ["First"])
        registry.Registry.register("Fast", recorder.url, ["Second"])
        first.signal(signal.SIGKILL)
        wait_until(lambda: first_url not in registry.Registry.lookup("First"), 10, message="First critical")
        second.signal(signal.SIGKILL)
        critical_at = wait_until(
            lambda: second_url not in registry.Registry.lookup("Second") and time.monotonic(),
            10,
            message="Second critical",
        )
        wait_until(lambda: recorder.told("removed", second_url), 10, message="Fast told")
        # Behind the slow push (3 tries of 2 s), Fast would wait about 6 s more.
        assert recorder.told("removed", second_url)[0] - critical_at < 2.0
    finally:
        slow.stop()
