"""A Service assembled from parts: configuration in __init__, everything built in start()."""

from __future__ import annotations

import logging
import socket

import pytest
from helpers.echo_service import EchoService
from helpers.waiting import wait_until

from rpc_cluster import NoHealthyProvider, Part, StartError, connect
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"


def test_init_only_stores_configuration_and_start_reports_a_store_it_cannot_open(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    service = GradingService(port=0, registry=NOWHERE, db=str(folder))  # a folder is no database
    assert len(service.methods) == 0 and service.registered is None
    with pytest.raises(RuntimeError, match="open store only"):
        service.store  # noqa: B018 (the property is the test)
    with pytest.raises(StartError, match="cannot open the store"):
        service.start()
    service.stop()  # nothing was started: nothing to stop, no error


@pytest.mark.parametrize(
    "advertise",
    [
        "http://\u20ac:1/rpc",
        "http://[::1",
        "ftp://127.0.0.1:1/rpc",
        "http://user:pw@127.0.0.1:1/rpc",
        "http://127.0.0.1:0/rpc",
    ],
)
def test_start_refuses_an_advertised_url_the_registry_could_not_check(advertise):
    # Started anyway, it would serve unregistered, its registration refused and retried for ever.
    service = EchoService("Echo", port=0, registry=NOWHERE, advertise=advertise)
    with pytest.raises(StartError, match="advertise"):
        service.start()
    service.stop()


@pytest.mark.parametrize(
    "registry",
    [
        "http://\u20ac:1/rpc",
        "http://[::1",
        "ftp://127.0.0.1:1/rpc",
        "http://127.0.0.1:65536/rpc",
        "http://127.0.0.1:3000/rpc,http://a b:1/rpc",
        " , ",
    ],
)
def test_start_refuses_a_registry_url_it_could_never_reach(registry):
    # Started anyway, it would serve unregistered and retry "not reachable" for ever.
    service = EchoService("Echo", port=0, registry=registry)
    with pytest.raises(StartError, match="registry"):
        service.start()
    assert service.registered is None
    service.stop()


def test_a_subclass_sets_its_own_attributes_after_the_base_init():
    class Late(EchoService):
        def __init__(self, **kwargs):
            super().__init__("Late", **kwargs)
            self.greeting = "set after super().__init__"

        def expose(self, methods):
            super().expose(methods)
            assert self.greeting  # expose() runs in start(), when the subclass is complete

    with Late(port=0, registry=NOWHERE) as service:
        assert "Echo.echo" in service.methods


class Recorder(Part):
    requires = ("NeededByThePart",)

    def __init__(self) -> None:
        self.events: list[str] = []

    def start(self, service) -> None:
        self.events.append(f"start {service.url}")

    def stop(self) -> None:
        self.events.append("stop")


def test_a_part_runs_with_the_service_and_its_needs_are_registered(registry_service):
    part = Recorder()
    service = EchoService("WithPart", ("Own",), port=0, registry=registry_service.url).add_part(part)
    assert service.requirements == ("Own", "NeededByThePart")
    with service:
        assert part.events == [f"start {service.url}"]
        registered = wait_until(
            lambda: [r for r in registry_service.store.services() if r["service_name"] == "WithPart"],
            5,
            message="registration",
        )
        assert registered[0]["required_services"] == ["Own", "NeededByThePart"]
        with pytest.raises(RuntimeError, match="before it starts"):
            service.add_part(Recorder())
    assert part.events[-1] == "stop"


def test_service_connect_follows_the_services_own_table_without_a_registry():
    with (
        EchoService("Target", port=0, registry=NOWHERE) as target,
        EchoService("Caller", ("Target",), port=0, registry=NOWHERE) as caller,
    ):
        caller.providers.update(added=[{"service_name": "Target", "service_url": target.url}])
        assert caller.connect("Target").Echo.whoami()["url"] == target.url
        # A client outside the service has only the (unreachable) registry to ask.
        with pytest.raises(NoHealthyProvider):
            connect("Target", NOWHERE).Echo.whoami()


def test_a_port_that_is_taken_fails_start_and_leaves_nothing_running():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        service = EchoService(port=taken.getsockname()[1], registry=NOWHERE)
        with pytest.raises(OSError):
            service.start()
        assert service.registered is None


def test_two_services_in_one_process_each_ship_their_own_records_once(tmp_path, caplog):
    from rpc_cluster import Client, LogShipping
    from rpc_cluster.logs.service import LogService

    caplog.set_level(logging.INFO, logger="echo")

    with (
        LogService(port=0, registry=NOWHERE, log_file=tmp_path / "d.log") as logs,
        EchoService("Alpha", port=0, registry=NOWHERE).add_part(LogShipping(flush_interval=0.05)) as alpha,
        EchoService("Beta", port=0, registry=NOWHERE).add_part(LogShipping(flush_interval=0.05)) as beta,
    ):
        for service in (alpha, beta):
            service.providers.update(added=[{"service_name": "LogService", "service_url": logs.url}])
        Client(alpha.url).Echo.relay([], "from-alpha")
        Client(beta.url).Echo.relay([], "from-beta")

        def shipped():
            found = [
                (e["service_name"], e["message"]) for e in logs.store.tail(1000) if "relay of 'from-" in e["message"]
            ]
            return found if len(found) >= 2 else None

        found = wait_until(shipped, 10, message="both relays in the central log")
        alpha.parts[0].shipper.wait_delivered()
        beta.parts[0].shipper.wait_delivered()
        found = shipped()
    assert sorted(found) == [
        ("Alpha", "echo: relay of 'from-alpha' at Alpha"),
        ("Beta", "echo: relay of 'from-beta' at Beta"),
    ]
