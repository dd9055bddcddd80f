"""Registration as a plain class: a fake clock and a fake registry, no sockets."""

from __future__ import annotations

import itertools
import logging
import threading

import pytest

from rpc_cluster.client.providers import ProviderTable
from rpc_cluster.client.retry import Backoff
from rpc_cluster.core.errors import InvalidParams, TransportError
from rpc_cluster.runtime.registration import ASSUMED_HEARTBEAT_INTERVAL, Registration

URL = "http://127.0.0.1:7000/rpc"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeRegistry:
    """Answers Registry.* like the real one, or fails while ``down``."""

    url = "http://registry.test/rpc"

    def __init__(self) -> None:
        self.down = False
        self.listed: dict[str, str] = {}
        self.calls: list[str] = []

    def call(self, method: str, *args):
        self.calls.append(method)
        if self.down:
            raise TransportError("rpc: connection to registry refused", sent=False)
        if method == "Registry.register":
            name, url, required = args
            self.listed[url] = name
            return {"providers": {r: ["http://127.0.0.1:4000/rpc"] for r in required}}
        if method == "Registry.lookup":
            return [url for url, name in self.listed.items() if name == args[0]]
        if method == "Registry.deregister":
            del self.listed[args[0]]
            return True
        raise AssertionError(method)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def registry():
    return FakeRegistry()


def make(registry, clock, **kwargs):
    return Registration(
        registry,
        "EchoService",
        URL,
        ["LogService"],
        ProviderTable(),
        clock=clock,
        backoff=Backoff(first=0.1, longest=5.0, jitter=0.0),
        **kwargs,
    )


def test_registers_and_takes_the_providers_it_is_given(registry, clock):
    registration = make(registry, clock)
    assert registration.step() == pytest.approx(0.25)
    assert registration.registered and registry.listed == {URL: "EchoService"}
    assert registration.providers.get("LogService") == ["http://127.0.0.1:4000/rpc"]


def test_a_registry_that_is_down_is_retried_with_growing_pauses_up_to_the_longest(registry, clock):
    registry.down = True
    registration = make(registry, clock)
    waits = [registration.step() for _ in range(8)]
    assert waits == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0])
    assert not registration.registered
    registry.down = False
    assert registration.step() == pytest.approx(0.25)
    assert registration.registered


def test_heartbeats_at_the_expected_pace_cause_no_registry_calls(registry, clock):
    registration = make(registry, clock)
    registration.step()
    registry.calls.clear()
    for _ in range(20):
        clock.advance(1.0)
        registration.heard_heartbeat()
        registration.step()
    assert registry.calls == []
    # The first real gap replaces the assumed interval.
    assert registration.heartbeat_gap == pytest.approx(1.0)


def test_a_registry_that_restarted_and_forgot_us_is_told_again(registry, clock):
    registration = make(registry, clock)
    registration.step()
    for _ in range(3):
        clock.advance(1.0)
        registration.heard_heartbeat()
    registry.listed.clear()  # the registry restarted with an empty table
    registry.calls.clear()
    clock.advance(1.0)  # one interval of silence is normal
    registration.step()
    assert registry.calls == []
    clock.advance(0.5)  # silence past 1.25 intervals + 0.1 s
    registration.step()
    assert registry.calls == ["Registry.lookup", "Registry.register"]
    assert registry.listed == {URL: "EchoService"}


def test_a_registry_that_is_only_slower_than_assumed_is_learned_not_registered_with_again(registry, clock):
    registration = make(registry, clock)
    registration.step()
    registry.calls.clear()
    clock.advance(ASSUMED_HEARTBEAT_INTERVAL * 1.25 + 0.2)  # quiet, but we are still listed
    registration.step()
    assert registry.calls == ["Registry.lookup"]
    assert registration.heartbeat_gap == pytest.approx(ASSUMED_HEARTBEAT_INTERVAL * 1.5)
    assert not registration.forgotten()


def test_deregister_only_when_registered_and_never_raises(registry, clock):
    registration = make(registry, clock)
    registration.deregister()
    assert registry.calls == []
    registration.step()
    registration.deregister()
    assert registry.listed == {}
    registry.down = True
    registration.deregister()  # logged, not raised


def test_a_registry_that_never_checks_us_is_not_registered_with_again_and_again(registry, clock):
    """A one-way partition: registering works, heartbeats never come. Each registration would
    list us as passing to our dependents, so registering again is held off, longer each time."""
    registration = make(registry, clock)
    registration.step()
    registers = []
    for _ in range(400):  # 100 s in steps of a quarter second
        clock.advance(0.25)
        registry.listed.clear()  # the registry marks us critical: lookup does not list us
        before = registry.calls.count("Registry.register")
        registration.step()
        if registry.calls.count("Registry.register") > before:
            registers.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(registers)]
    assert len(registers) <= 6 and gaps == sorted(gaps)  # was one every 4 s: 25 of them
    registration.heard_heartbeat()  # checked at last: back to registering again at once when forgotten
    assert registration._unheard == 0


def test_a_push_that_crossed_a_registration_is_not_overwritten_by_its_older_answer(clock, registry):
    """The registration's answer was read before provider B was added; B's push arrived before the answer."""
    from rpc_cluster.runtime.push_verifier import PushVerifier

    registry.listed["http://127.0.0.1:6001/rpc"] = "GradingService"
    registry.listed["http://127.0.0.1:6002/rpc"] = "GradingService"
    table = ProviderTable()
    stale = {"providers": {"GradingService": ["http://127.0.0.1:6001/rpc"]}}
    answering = registry.call

    def register_with_a_stale_answer(method, *args):
        return stale if method == "Registry.register" else answering(method, *args)

    registry.call = register_with_a_stale_answer
    verifier = PushVerifier(table, registry, ["GradingService"])
    # B's push arrives and is verified while the registration is on its way...
    verifier.push(added=[{"service_name": "GradingService", "service_url": "http://127.0.0.1:6002/rpc"}])
    verifier.verify_pending()
    assert len(table.get("GradingService")) == 2
    # ... then the registration's older answer lands: the service looks its providers up again.
    Registration(registry, "Portal", URL, ["GradingService"], table, clock=clock, on_registered=verifier.recheck).step()
    assert table.get("GradingService") == ["http://127.0.0.1:6001/rpc"]
    assert verifier.verify_pending()
    assert sorted(table.get("GradingService")) == ["http://127.0.0.1:6001/rpc", "http://127.0.0.1:6002/rpc"]


def test_a_registration_refused_as_invalid_is_final_logged_once_and_not_retried(registry, clock, caplog):
    # Asking again cannot change a -32602: retrying with backoff for ever only filled the log.
    def refuse(method, *args):
        registry.calls.append(method)
        raise InvalidParams.field("service_name", "must be at most 200 printable characters")

    registry.call = refuse
    registration = make(registry, clock)
    stopping = threading.Event()
    runner = threading.Thread(target=registration.run, args=(stopping,), daemon=True)
    with caplog.at_level(logging.INFO, logger="rpc_cluster.runtime.registration"):
        runner.start()
        runner.join(5)
    stopping.set()
    assert not runner.is_alive(), "the registration kept retrying"
    assert registry.calls == ["Registry.register"]
    assert registration.refused and not registration.registered
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert "not retrying" in record.getMessage() and "keeps serving" in record.getMessage()
    assert "service_name" in record.getMessage()
    registration.deregister()  # never registered: nothing to tell
    assert registry.calls == ["Registry.register"]
