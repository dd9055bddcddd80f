"""A forged Service.update must not redirect a service's traffic."""

from __future__ import annotations

import json
import threading
import urllib.request

from helpers.echo_service import EchoService
from helpers.waiting import wait_until


def push(url: str, added=(), removed=()) -> dict:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "Service.update",
            "id": 1,
            "params": {"added": list(added), "removed": list(removed)},
        }
    ).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_a_forged_push_never_enters_the_table_and_a_real_one_does(registry_service):
    with (
        EchoService("Target", port=0, registry=registry_service.url) as target,
        EchoService("Impostor", port=0, registry="http://127.0.0.1:9/rpc") as impostor,
        EchoService("Caller", ("Target",), port=0, registry=registry_service.url) as caller,
    ):
        wait_until(lambda: caller.providers.get("Target") == [target.url], 10, message="the real push")
        fake = {"service_name": "Target", "service_url": impostor.url}
        real = {"service_name": "Target", "service_url": target.url}
        assert push(caller.url, added=[fake], removed=[real])["result"] is True
        # The removal is applied at once, then the registry's answer restores the real one.
        wait_until(lambda: caller.providers.get("Target") == [target.url], 5, message="the registry's answer")
        seen = [caller.connect("Target").Echo.whoami()["url"] for _ in range(20)]
        assert set(seen) == {target.url}
        assert impostor.url not in caller.providers.get("Target")


def test_pushes_are_verified_off_the_request_thread(registry_service):
    """A push answers at once, even while the registry is slow to confirm it."""
    gate = threading.Event()
    with EchoService("Caller", ("Target",), port=0, registry=registry_service.url) as caller:
        verifier = caller.registered.push_verifier
        wait_until(lambda: caller.registered.registration.registered, 10, message="registration")
        original = verifier.registry.call

        def slow_call(method, *args):
            gate.wait(5)
            return original(method, *args)

        verifier.registry.call = slow_call
        try:
            answer = push(caller.url, added=[{"service_name": "Target", "service_url": "http://127.0.0.1:1/rpc"}])
            assert answer["result"] is True
            assert caller.providers.get("Target") == []
        finally:
            gate.set()
        wait_until(lambda: verifier._pending == set(), 5, message="the verification")
        assert caller.providers.get("Target") == []  # the registry lists no such instance
