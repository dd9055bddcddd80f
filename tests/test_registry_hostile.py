"""The registry against floods and races (issue 10)."""

from __future__ import annotations

import json
import threading
import time

from conftest import wait_until
from rpc_cluster import Client
from rpc_cluster.errors import TransportError
from rpc_cluster.registry import service as registry_service
from rpc_cluster.registry.notifier import Notifier
from rpc_cluster.registry.service import RegistryService

PROVIDER = "http://127.0.0.1:1/provider/rpc"
DEPENDENT = "http://127.0.0.1:1/dependent/rpc"


# -- item 11: pushes for one provider in the order of the table's changes ------------------------------


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
                return {"jsonrpc": "2.0", "result": {"status": "ok"}, "id": 1}
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
