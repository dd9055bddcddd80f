"""A registration the registry cannot check is refused, and a check that breaks is a failed check.

A URL the checker could not use used to be accepted, then fail every check
with a traceback and never record one: the entry stayed passing for ever and
was handed to every client. Now the registry refuses it (-32602 naming
``service_url``), and any unexpected error while checking one service counts
as a failed check for that service, so it turns critical and is dropped.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from helpers.raw_rpc import refused_field, rpc
from helpers.raw_server import RawServer
from helpers.waiting import wait_until

from rpc_cluster import Client
from rpc_cluster.registry.health_check import HealthChecker
from rpc_cluster.registry.heartbeat_client import HeartbeatClient
from rpc_cluster.registry.service import MAX_NAME, MAX_REQUIRED, RegistryService
from rpc_cluster.registry.table import CRITICAL, PASSING, RegistryTable

IDN_URL = "http://оценки:1/rpc"


@pytest.fixture(scope="module")
def registry():
    """A registry that checks nothing during a test (60 s interval): only what it accepts is under test."""
    with RegistryService(port=0, heartbeat_interval=60) as service:
        yield service


BAD_URLS = [
    "http://€:1/rpc",
    "http://[::1",
    "http://user:pw@127.0.0.1:1/rpc",
    "http://127.0.0.1:0/rpc",
    "http://127.0.0.1:65536/rpc",
    "ftp://127.0.0.1:1/rpc",
    "http://127.0.0.1:1/" + "a" * 2048,
    "http://127.0.0.1:1/r pc",
    "http://127.0.0.1:1/rpc\r\n",
    42,
    None,
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_url_the_registry_cannot_check_is_refused_naming_service_url(registry, url):
    assert refused_field(rpc(registry.url, "Registry.register", ["GradingService", url])) == "service_url"
    # Deregister checks only type and length, so that an older release's registration stays removable.
    answer = rpc(registry.url, "Registry.deregister", [url])
    if isinstance(url, str) and len(url) <= 2048:
        assert answer["error"]["code"] == 404, answer
    else:
        assert refused_field(answer) == "service_url"
    assert all(row["service_url"] != url for row in rpc(registry.url, "Registry.services", [])["result"])


def test_an_idn_url_is_stored_as_given_and_found_again_by_the_same_string(registry):
    answer = rpc(registry.url, "Registry.register", {"service_name": "IdnService", "service_url": IDN_URL})
    assert answer["result"] == {"providers": {}}
    assert rpc(registry.url, "Registry.lookup", ["IdnService"])["result"] == [IDN_URL]
    assert rpc(registry.url, "Registry.deregister", [IDN_URL])["result"] is True
    assert rpc(registry.url, "Registry.lookup", ["IdnService"])["result"] == []


def test_required_services_are_at_most_64_names_of_at_most_200_characters(registry):
    url = "http://127.0.0.1:1/bounds/rpc"
    most = [f"S{n}".ljust(MAX_NAME, "x") for n in range(MAX_REQUIRED)]
    assert MAX_REQUIRED == 64 and MAX_NAME == 200
    assert "result" in rpc(registry.url, "Registry.register", ["Bounded", url, most])
    one_more = [*most, "Another"]
    assert refused_field(rpc(registry.url, "Registry.register", ["Bounded", url, one_more])) == "required_services"
    too_long = ["x" * (MAX_NAME + 1)]
    assert refused_field(rpc(registry.url, "Registry.register", ["Bounded", url, too_long])) == "required_services"
    huge = ["Svc"] * 100_000
    assert refused_field(rpc(registry.url, "Registry.register", ["Bounded", url, huge])) == "required_services"
    (row,) = [r for r in rpc(registry.url, "Registry.services", [])["result"] if r["service_url"] == url]
    assert row["required_services"] == most  # the refused ones replaced nothing
    rpc(registry.url, "Registry.deregister", [url])


# -- the health checker --------------------------------------------------------------------------


def failures(table, url: str) -> int:
    return table.get(url).failures


def test_a_url_no_check_can_use_turns_critical_and_is_dropped():
    # Forced into the table, as an older registry (or another store) may hold one.
    with RegistryService(port=0, heartbeat_interval=0.2, heartbeat_timeout=0.2, deregister_after=600) as service:
        bad = "http://€:1/rpc"
        service.store.register("GradingService", bad)
        wait_until(lambda: failures(service.store, bad) >= 2, 10, message="two failed checks")
        assert service.store.get(bad).status == CRITICAL and service.store.get(bad).last_checked is not None
        service.store.table.deregister_after = 0.5  # as --deregister-after 0.5 would have it
        wait_until(lambda: service.store.get(bad) is None, 10, message="the entry dropped")


def test_an_unexpected_error_checking_one_service_is_a_failed_check_for_it_only(monkeypatch):
    broken, up = "http://127.0.0.1:1/broken/rpc", "http://127.0.0.1:1/up/rpc"

    async def post(self, url, body, headers, timeout):
        if url == broken:
            raise RuntimeError("a bug in the check itself")
        return 200, b'{"jsonrpc": "2.0", "result": {"status": "ok", "service": "S"}, "id": 1}'

    monkeypatch.setattr(HeartbeatClient, "post", post)
    table = RegistryTable(deregister_after=600)
    health = HealthChecker(table, interval=0.2, timeout=0.5)
    health.start()
    try:
        table.register("S", broken)
        table.register("S", up)
        wait_until(lambda: failures(table, broken) >= 3, 10, message="three failed checks of the broken one")
        assert table.get(broken).status == CRITICAL and table.get(broken).last_checked is not None
        assert table.get(up).status == PASSING and table.get(up).last_checked is not None
        table.deregister_after = 0.5
        wait_until(lambda: table.get(broken) is None, 10, message="the broken one dropped")
        assert table.get(up).status == PASSING
    finally:
        health.stop()


def test_heartbeats_reach_an_idn_host_by_its_idna_name(monkeypatch):
    real = asyncio.open_connection
    asked: list[str] = []

    async def open_connection(host, port, **kwargs):
        asked.append(host)
        # No DNS leaves the machine: the IDNA name is this machine.
        return await real("127.0.0.1" if host == "xn--e1agfld2c" else host, port, **kwargs)

    monkeypatch.setattr(asyncio, "open_connection", open_connection)

    def heartbeat(body: bytes):
        return 200, json.dumps(
            {"jsonrpc": "2.0", "result": {"status": "ok", "service": "S"}, "id": json.loads(body)["id"]}
        ).encode()

    with RawServer(heartbeat) as server:
        table = RegistryTable(deregister_after=60)
        health = HealthChecker(table, interval=0.2, timeout=0.5)
        health.start()
        try:
            url = f"http://оценки:{server.port}/rpc"
            table.register("S", url)
            wait_until(lambda: table.get(url).last_checked is not None, 10, message="a check")
            assert table.get(url).status == PASSING and table.get(url).failures == 0
        finally:
            health.stop()
    assert set(asked) == {"xn--e1agfld2c"}
    assert server.received[0]["host"] == f"xn--e1agfld2c:{server.port}"


def test_a_client_of_the_registry_is_refused_like_over_raw_json_rpc(registry):
    # The same answer through the library's client: InvalidParams with data naming the field.
    from rpc_cluster import InvalidParams

    with pytest.raises(InvalidParams) as info:
        Client(registry.url, timeout=5).Registry.register("GradingService", "http://€:1/rpc")
    assert info.value.data["field"] == "service_url"
