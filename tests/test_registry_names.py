"""Who answers a heartbeat, and which names the registry takes.

Any name registered at any live URL used to stay passing: the heartbeat's
answer was never compared with the registered name, so ``GradingService`` at
the portal's URL drew -32601 for the portal's own grading calls. A heartbeat
answered by another service now counts as a failed check. Names must be
printable text (as ``Log.write`` has it): a lone surrogate made ``/cluster`` a
500 and ``rpc-cluster services`` a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import xmlrpc.client

import pytest
from helpers.echo_service import EchoService
from helpers.processes import ROOT
from helpers.raw_rpc import refused_field, rpc
from helpers.raw_server import RawServer
from helpers.waiting import wait_until

from rpc_cluster import Client
from rpc_cluster.registry.health_check import HealthChecker
from rpc_cluster.registry.heartbeat_client import HeartbeatClient
from rpc_cluster.registry.service import MAX_NAME, RegistryService
from rpc_cluster.registry.table import CRITICAL, PASSING, RegistryTable

# -- a heartbeat must be answered by the registered service ----------------------------------------


def test_a_name_registered_at_another_services_url_turns_critical_and_is_dropped(caplog):
    caplog.set_level(logging.WARNING, logger="rpc_cluster.registry.health_check")
    with (
        RegistryService(port=0, heartbeat_interval=0.2, heartbeat_timeout=0.5, deregister_after=1.0) as registry,
        EchoService("GradingService", port=0, registry=registry.url) as grading,
    ):
        client = Client(registry.url, timeout=5)
        wait_until(lambda: client.Registry.lookup("GradingService") == [grading.url], 10, message="grading")
        impostors = {
            "LogService": f"{grading.url}?fake",
            "PortalService": f"{grading.url}?other",
        }
        for name, url in impostors.items():
            client.Registry.register(name, url)
        rows = lambda: {row["service_url"]: row for row in client.Registry.services()}  # noqa: E731
        wait_until(
            lambda: all(rows().get(url, {}).get("status") != PASSING for url in impostors.values()),
            10,
            message="the impostors to turn critical",
        )
        assert client.Registry.lookup("LogService") == [] and client.Registry.lookup("PortalService") == []
        wait_until(lambda: not set(impostors.values()) & set(rows()), 10, message="the impostors dropped")
        # The right one, at the very same server, passed every check meanwhile.
        row = rows()[grading.url]
        assert row["status"] == PASSING and row["last_checked"] is not None
        assert client.Registry.lookup("GradingService") == [grading.url]
    said = [r.getMessage() for r in caplog.records if "answered the heartbeat" in r.getMessage()]
    for url in impostors.values():
        (line,) = [m for m in said if m.startswith(url + " ")]  # one line for the whole failure streak
        assert "'GradingService'" in line and "\n" not in line


def test_a_heartbeat_without_the_name_or_not_ok_is_a_failed_check():
    answers = {
        "right": {"status": "ok", "service": "S"},
        "no-name": {"status": "ok"},
        "not-ok": {"status": "draining", "service": "S"},
        "other": {"status": "ok", "service": "T"},
        "not-a-dict": "ok",
    }

    def answering(result):
        def answer(body: bytes) -> tuple[int, bytes]:
            return 200, json.dumps({"jsonrpc": "2.0", "result": result, "id": json.loads(body)["id"]}).encode()

        return answer

    servers = {case: RawServer(answering(result)) for case, result in answers.items()}
    table = RegistryTable(deregister_after=600)
    health = HealthChecker(table, interval=0.2, timeout=0.5)
    health.start()
    try:
        for server in servers.values():
            table.register("S", server.url)
        wait_until(lambda: all(table.get(s.url).last_checked for s in servers.values()), 10, message="a check of each")
        assert {case: table.get(server.url).status for case, server in servers.items()} == {
            "right": PASSING,
            "no-name": CRITICAL,
            "not-ok": CRITICAL,
            "other": CRITICAL,
            "not-a-dict": CRITICAL,
        }
    finally:
        health.stop()
        for server in servers.values():
            server.close()


# -- an unexpected failure is one line a streak, not a traceback a round -----------------------------


def test_a_check_that_keeps_failing_unexpectedly_is_logged_once_a_streak(caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="rpc_cluster.registry.health_check")
    broken = {"on": True}
    url = "http://127.0.0.1:1/older-release/rpc"

    async def post(self, _url, body, headers, timeout):  # a bug in the check itself, not a failed call
        if broken["on"]:
            raise RuntimeError("cannot check this URL")
        return 200, b'{"jsonrpc": "2.0", "result": {"status": "ok", "service": "S"}, "id": 1}'

    monkeypatch.setattr(HeartbeatClient, "post", post)

    def told() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "failed unexpectedly" in r.getMessage()]

    table = RegistryTable(deregister_after=600)
    health = HealthChecker(table, interval=0.1, timeout=0.5)
    health.start()
    try:
        table.register("S", url)
        wait_until(lambda: table.get(url).failures >= 4, 10, message="four failed checks")
        (record,) = told()
        assert record.exc_info is None and "\n" not in record.getMessage() and url in record.getMessage()
        broken["on"] = False
        wait_until(lambda: table.get(url).status == PASSING, 10, message="passing again")
        broken["on"] = True
        wait_until(lambda: table.get(url).failures >= 2, 10, message="a new streak")
        assert len(told()) == 2  # the new streak is told once more
    finally:
        health.stop()


# -- names are printable text ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry():
    """A registry that checks nothing during a test (60 s interval): only what it accepts is under test."""
    with RegistryService(port=0, heartbeat_interval=60) as service:
        yield service


BAD_NAMES = ["Grading\ud800", "Grading\uffff", "Grading\x9b", "Grading\x7f", "Grading\u202e", "Grading\u200b", "A\nB"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_name_that_is_not_printable_text_is_refused_naming_its_field(registry, name):
    url = "http://127.0.0.1:1/names/rpc"
    assert refused_field(rpc(registry.url, "Registry.register", [name, url])) == "service_name"
    assert refused_field(rpc(registry.url, "Registry.register", ["Ok", url, ["LogService", name]])) == (
        "required_services"
    )
    assert all(row["service_url"] != url for row in rpc(registry.url, "Registry.services", [])["result"])
    # The listing still works over XML-RPC too (a lone surrogate in it was a 500).
    listed = xmlrpc.client.ServerProxy(registry.url.removesuffix("/rpc") + "/RPC2").Registry.services()
    assert isinstance(listed, list) and all(row["service_url"] != url for row in listed)


def test_printable_names_of_1_to_200_characters_are_taken(registry):
    url = "http://127.0.0.1:1/printable/rpc"
    for name in ["Оценки сервис", "成绩", "a", "x" * MAX_NAME]:
        assert "result" in rpc(registry.url, "Registry.register", [name, url, [name]])
        assert rpc(registry.url, "Registry.lookup", [name])["result"] == [url]
    assert refused_field(rpc(registry.url, "Registry.register", ["x" * (MAX_NAME + 1), url])) == "service_name"
    assert refused_field(rpc(registry.url, "Registry.register", ["", url])) == "service_name"
    assert rpc(registry.url, "Registry.deregister", [url])["result"] is True


# -- deregister: only type and length --------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://€:1/rpc", "http://127.0.0.1:1/r pc", "ftp://127.0.0.1:1/rpc"])
def test_a_registration_an_older_release_took_can_be_removed_by_its_owner(registry, url):
    registry.store.register("OldService", url)  # as an etcd store written by an older release holds it
    assert rpc(registry.url, "Registry.deregister", [url])["result"] is True
    assert registry.store.get(url) is None
    assert rpc(registry.url, "Registry.deregister", [url])["error"]["code"] == 404  # unknown: as before


@pytest.mark.parametrize("url", [42, None, "", "http://127.0.0.1:1/" + "a" * 2048])
def test_deregister_still_refuses_what_is_not_a_url_string_of_a_bounded_length(registry, url):
    assert refused_field(rpc(registry.url, "Registry.deregister", [url])) == "service_url"


# -- rpc-cluster services prints any name safely ---------------------------------------------------


def test_services_prints_names_with_control_characters_escaped(registry):
    odd = {"Bad\ud800Name": "http://127.0.0.1:1/s1/rpc", "Red\x1b[31mName\x9b": "http://127.0.0.1:1/s2/rpc"}
    for name, url in odd.items():
        registry.store.register(name, url)  # forced in: an older release took such names
    try:
        result = subprocess.run(
            [sys.executable, "-m", "rpc_cluster.tools.cli", "services", "--registry", registry.url],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"},
        )
    finally:
        for url in odd.values():
            registry.store.deregister(url)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "Bad\\ud800Name" in result.stdout and "Red\\x1b[31mName\\x9b" in result.stdout
    assert "\x1b" not in result.stdout and "\x9b" not in result.stdout
