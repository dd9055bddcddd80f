"""The registry against floods and races."""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time

import pytest
from helpers.registry_watch import check_gaps, kill_detection_time, service_row
from helpers.waiting import wait_until

from rpc_cluster import Client, ServiceUnavailable
from rpc_cluster.core.errors import TransportError
from rpc_cluster.registry import service as registry_service
from rpc_cluster.registry.notifier import Notifier
from rpc_cluster.registry.service import RegistryService, add_arguments

PROVIDER = "http://127.0.0.1:1/provider/rpc"
DEPENDENT = "http://127.0.0.1:1/dependent/rpc"


def refused_port() -> int:
    """A loopback port nobody listens on: connections to it are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a cap on registrations ------------------------------------------------------------------------


@pytest.fixture
def small_registry():
    with RegistryService(port=0, heartbeat_interval=60, max_registrations=3) as service:
        yield service


def test_registrations_over_the_cap_are_refused_with_a_clear_error(small_registry):
    registry = Client(small_registry.url)
    urls = [f"http://127.0.0.1:1/svc/{n}/rpc" for n in range(4)]
    for url in urls[:3]:
        registry.Registry.register("Svc", url)
    with pytest.raises(ServiceUnavailable) as info:
        registry.Registry.register("Svc", urls[3])
    assert info.value.code == 503
    assert "--max-registrations" in info.value.message and "3" in info.value.message
    assert info.value.data == {"max_registrations": 3, "service_url": urls[3]}
    assert len(registry.Registry.services()) == 3
    # A URL already registered may always register again (a restart, new requirements).
    registry.Registry.register("Svc", urls[0], ["Other"])
    assert len(registry.Registry.services()) == 3
    # Room made by a deregistration is room again.
    registry.Registry.deregister(urls[1])
    registry.Registry.register("Svc", urls[3])
    assert {row["service_url"] for row in registry.Registry.services()} == {urls[0], urls[2], urls[3]}


def test_max_registrations_flag_and_environment(monkeypatch):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).max_registrations == registry_service.MAX_REGISTRATIONS
    assert parser.parse_args(["--max-registrations", "12"]).max_registrations == 12
    monkeypatch.setenv("RPC_CLUSTER_MAX_REGISTRATIONS", "7")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).max_registrations == 7
    assert "RPC_CLUSTER_MAX_REGISTRATIONS" in parser.format_help()


# -- dead registrations cost the others nothing ----------------------------------------------------


def test_many_dead_registrations_do_not_delay_the_checks_of_a_live_service(processes):
    # 1 s, not less: on two cores busy with the rest of the suite, 800 refused checks a round took
    # 1.7 s to notice a kill at 0.6 s. The old checker's 2.5 s rounds still fail both bounds below.
    interval = 1.0
    registry_proc = processes.registry(interval=interval, timeout=0.5)
    registry = Client(registry_proc.url(), timeout=30)
    # 800 registrations whose heartbeats are refused. The old checker slept its
    # backoff (0.05 + 0.15 s) in one of 64 pool threads per check: 800 of them
    # made a round last 2.5 s, and a live service waited that long for its turn.
    port = refused_port()
    for start in range(0, 800, 100):
        with registry.batch() as batch:
            for n in range(start, start + 100):
                batch.call("Registry.register", "Dead", f"http://127.0.0.1:{port}/dead/{n}/rpc")
    echo = processes.echo(registry_proc.url(), "--name", "Live")
    url = echo.url()

    wait_until(
        lambda: (service_row(registry, url) or {}).get("last_checked"), 10, message="the live service to be checked"
    )
    wait_until(lambda: registry.Registry.lookup("Dead") == [], 10, message="the dead ones to turn critical")
    # The median, and a looser bound on the longest: a loaded machine may delay one round (2.2 s was
    # seen once in a full suite), while the old checker's 2.5 s rounds delayed every one.
    gaps = check_gaps(registry, url, 6 * interval)
    assert len(gaps) >= 3, f"checks of the live service {gaps} s apart"
    assert statistics.median(gaps) <= 1.5 * interval and max(gaps) <= 3 * interval, (
        f"checks of the live service {gaps} s apart"
    )
    assert service_row(registry, url)["status"] == "passing"

    detected = kill_detection_time(registry, echo, "Live")
    assert detected <= 2.5 * interval, f"a dead service was noticed after {detected:.2f} s"


# -- pushes for one provider in the order of the table's changes ------------------------------


class PausingNotifier(Notifier):
    """A Notifier that, told of a removal, waits (at most 1 s) for a registration to finish.

    That is the window of the race: a check that recorded a failure but had not
    queued its notice yet, while the provider registered again.
    """

    removal_seen: threading.Event
    registered: threading.Event

    def send(self, notices):
        notices = list(notices)
        if any(n.removed for n in notices) and not self.removal_seen.is_set():
            self.removal_seen.set()
            self.registered.wait(1.0)
        super().send(notices)


def test_pushes_follow_the_order_of_the_table_when_a_provider_registers_during_its_failure(monkeypatch):
    removal_seen, registered = threading.Event(), threading.Event()
    monkeypatch.setattr(PausingNotifier, "removal_seen", removal_seen, raising=False)
    monkeypatch.setattr(PausingNotifier, "registered", registered, raising=False)
    monkeypatch.setattr(registry_service, "Notifier", PausingNotifier)
    delivered: list[dict] = []
    provider_down = threading.Event()

    class Rigged(RegistryService):
        """Heartbeats and pushes go nowhere: the provider fails on cue, the dependent records its pushes."""

        def _post(self, url, body, timeout):
            request = json.loads(body)
            if request["method"] == "Service.heartbeat":
                if url == PROVIDER and provider_down.is_set():
                    raise TransportError(f"rpc: connection to {url} refused", sent=False)
                name = "Provider" if url == PROVIDER else "Dependent"
                return {"jsonrpc": "2.0", "result": {"status": "ok", "service": name}, "id": 1}
            assert url == DEPENDENT
            delivered.append(request["params"])
            return {"jsonrpc": "2.0", "result": True, "id": 1}

    service = Rigged(port=0, heartbeat_interval=60)  # no round of its own: the test starts the one check
    service.start()
    try:
        registry = Client(service.url)
        registry.Registry.register("Dependent", DEPENDENT, ["Provider"])
        registry.Registry.register("Provider", PROVIDER)
        wait_until(lambda: len(delivered) == 1, 5, message="the dependent to hear of the provider")

        provider_down.set()
        service.health_check.check_round()
        assert removal_seen.wait(5), "the failed check never produced a removal"
        provider_down.clear()
        again = threading.Thread(target=registry.Registry.register, args=("Provider", PROVIDER))
        again.start()
        again.join(10)
        registered.set()
        wait_until(lambda: len(delivered) == 3, 5, message="the removal and the new addition")
        time.sleep(0.2)  # nothing more is on its way
        assert len(delivered) == 3

        table: set[str] = set()
        for push in delivered:
            table |= {e["service_url"] for e in push["added"]}
            table -= {e["service_url"] for e in push["removed"]}
        assert registry.Registry.lookup("Provider") == [PROVIDER]
        assert table == {PROVIDER}, f"the dependent's pushes, in order: {delivered}"
    finally:
        registered.set()
        service.stop()
