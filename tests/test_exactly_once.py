"""Exactly once across lost connections and failover: what the client sends again, and what it never does."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from helpers.echo_service import EchoService
from helpers.raw_server import RawServer
from helpers.waiting import wait_until

from rpc_cluster import Client, InvalidParams, TransportError

NOWHERE = "http://127.0.0.1:9/rpc"


class DiesAfterReading(RawServer):
    """A server that reads a whole request, then dies without answering the first ``deaths`` of them.

    Exactly what a server killed after doing the work looks like on the wire.
    """

    def __init__(self, deaths: int = 1):
        self.deaths = deaths
        self.requests: list[dict] = []
        super().__init__(self._answer)

    def _answer(self, body: bytes):
        message = json.loads(body)
        self.requests.append(message)
        if len(self.requests) <= self.deaths:
            return None  # close without a word, as a killed process does
        return 200, json.dumps({"jsonrpc": "2.0", "result": "done", "id": message["id"]}).encode()


@pytest.fixture
def dies_once():
    server = DiesAfterReading(deaths=1)
    try:
        yield server
    finally:
        server.close()


def test_a_call_that_may_have_run_is_not_sent_again(dies_once):
    with pytest.raises(TransportError) as info:
        Client(dies_once.url, timeout=5).call("Grades.add_grade", student_id=1, title="Q", type="Quiz", score=90)
    assert info.value.sent is True
    assert len(dies_once.requests) == 1


def test_a_call_with_a_request_id_is_sent_again(dies_once):
    result = Client(dies_once.url, timeout=5).call(
        "Grades.add_grade", student_id=1, title="Q", type="Quiz", score=90, request_id="click-1"
    )
    assert result == "done"
    assert [m["params"]["request_id"] for m in dies_once.requests] == ["click-1", "click-1"]


def test_failover_sends_a_call_that_may_have_run_to_no_other_instance():
    dying = DiesAfterReading(deaths=3)
    try:
        failover_only_with_a_request_id(dying)
    finally:
        dying.close()


def failover_only_with_a_request_id(dies_once: DiesAfterReading) -> None:
    with (
        EchoService("Target", port=0, registry=NOWHERE) as healthy,
        EchoService("Caller", ("Target",), port=0, registry=NOWHERE) as caller,
    ):
        caller.providers.replace({"Target": [dies_once.url, healthy.url]})
        client = caller.connect("Target")
        client.instances.order = lambda: [dies_once.url, healthy.url]  # the dying one first
        with pytest.raises(TransportError):
            client.call("Echo.echo", text="once")
        assert len(dies_once.requests) == 1
        # With a request_id it is sent again (once to the same instance, then to the
        # other), since the server recognises a repeat. Echo.echo takes no request_id,
        # so the healthy instance's answer is a -32602 naming it: that is how we see it got there.
        with pytest.raises(InvalidParams, match="request_id"):
            client.call("Echo.echo", text="twice", request_id="r-2")
        assert len(dies_once.requests) == 3


def test_a_pool_of_connections_to_a_restarted_server_is_not_used(tmp_path):
    """After a restart every pooled connection is stale; none may fail a call."""
    first = EchoService(port=0, registry=NOWHERE).start()
    port = int(first.url.rsplit(":", 1)[1].split("/")[0])
    client = Client(first.url, timeout=5)
    barrier = threading.Barrier(8)

    def fill() -> None:
        barrier.wait()
        client.call("Echo.sleep", 0.2)  # eight at once: eight pooled connections

    threads = [threading.Thread(target=fill) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    first.stop()
    with EchoService(port=port, registry=NOWHERE):
        assert [client.call("Echo.echo", f"call {n}") for n in range(10)] == [f"call {n}" for n in range(10)]


def test_an_idle_connection_the_server_closed_is_replaced_not_failed():
    with EchoService(port=0, registry=NOWHERE) as service:
        client = Client(service.url, timeout=5)
        assert client.call("Echo.echo", "warm") == "warm"
        pool = next(iter(client._transport._pools.values()))
        (conn,) = pool._idle
        conn.sock.shutdown(socket.SHUT_RDWR)  # as if the server had closed it while idle
        wait_until(lambda: True, 0.1)
        assert client.call("Echo.echo", "again") == "again"


def test_a_read_that_timed_out_goes_to_another_instance_and_a_write_does_not():
    """A partition hides an instance behind timeouts: reads named read_only fail over, other calls do not."""
    import time

    from helpers.echo_service import EchoService

    from rpc_cluster import CallTimeout
    from rpc_cluster.client.connect import ServiceClient
    from rpc_cluster.client.providers import ProviderTable

    heard: list[bytes] = []

    def silent(body):
        heard.append(body)
        time.sleep(0.8)  # longer than the client's timeout: the call may have run, no answer came

    cut_off = RawServer(silent)
    live = EchoService(port=0, registry="http://127.0.0.1:9/rpc").start()
    try:
        table = ProviderTable()
        table.replace({"EchoService": [cut_off.url, live.url]})
        client = ServiceClient(
            "EchoService", registry="http://127.0.0.1:9/rpc", timeout=0.4, providers=table, read_only={"Echo.whoami"}
        )
        answers = [client.Echo.whoami() for _ in range(4)]  # round-robin: some start at the cut-off one
        assert all(answer for answer in answers) and len(heard) >= 1
        heard.clear()
        # A new client starts its round-robin at the cut-off instance. Echo.echo is not read_only
        # and carries no request_id: after the timeout it is never sent to the second instance.
        writer = ServiceClient(
            "EchoService", registry="http://127.0.0.1:9/rpc", timeout=0.4, providers=table, read_only={"Echo.whoami"}
        )
        with pytest.raises(CallTimeout):
            writer.Echo.echo("once")
        assert len(heard) == 1
    finally:
        live.stop()
        cut_off.close()
