"""The client: calls, batches, errors, timeouts, the REPL proxy, connect() and failover."""

import inspect
import pydoc
import signal
import socket
import threading
import time

import pytest
from helpers.echo_service import EchoService
from helpers.waiting import wait_until

from rpc_cluster import (
    CallTimeout,
    Client,
    InvalidParams,
    MethodNotFound,
    NoHealthyProvider,
    RpcError,
    TransportError,
    connect,
    trace,
)
from rpc_cluster.client import connect as connecting
from rpc_cluster.client import providers


@pytest.fixture(scope="module")
def echo():
    with EchoService(port=0, registry="http://127.0.0.1:9/rpc") as service:
        yield service


@pytest.fixture
def client(echo):
    return Client(echo.url)


def test_call_positional_and_named(client):
    assert client.call("Echo.echo", "a") == "a"
    assert client.call("Echo.echo", text="b") == "b"
    with pytest.raises(TypeError):
        client.call("Echo.echo", "a", text="b")


def test_attribute_proxy(client):
    assert client.Echo.echo("proxied") == "proxied"
    assert client.Echo.echo(text="named") == "named"
    assert client.Echo.relay([], text="mixed") == ["EchoService"]  # named from rpc.discover
    with pytest.raises(TypeError, match="both by position and by name"):
        client.Echo.echo("a", text="b")


def test_remote_errors_raise_typed_exceptions(client):
    with pytest.raises(MethodNotFound) as info:
        client.call("Echo.nope")
    assert info.value.code == -32601
    with pytest.raises(InvalidParams):
        client.Echo.echo()
    with pytest.raises(RpcError) as info:
        client.Echo.fail()
    assert info.value.code == -32603 and "secret" not in str(info.value)


def test_notify_returns_nothing(client):
    assert client.notify("Echo.echo", "x") is None


def test_batch(client):
    with client.batch() as batch:
        first = batch.call("Echo.echo", "one")
        second = batch.call("Echo.nope")
        batch.notify("Echo.echo", "ignored")
        third = batch.call("Echo.echo", text="three")
    assert first.result() == "one"
    assert third.result() == "three"
    with pytest.raises(MethodNotFound):
        second.result()


def test_batch_result_before_sending_is_an_error(client):
    batch = client.batch()
    pending = batch.call("Echo.echo", "x")
    with pytest.raises(RuntimeError, match="not sent"):
        pending.result()
    assert batch.send() == ["x"]


def test_connection_refused_is_a_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError) as info:
        Client(f"http://127.0.0.1:{port}/rpc").call("Echo.echo", "x")
    assert isinstance(info.value, TransportError) and isinstance(info.value, RpcError)


def test_timeout_is_a_timeout_error(echo):
    with pytest.raises(TimeoutError) as info:
        Client(echo.url, timeout=0.2).call("Echo.sleep", 1.0)
    assert isinstance(info.value, CallTimeout) and isinstance(info.value, ConnectionError)


def test_trace_id_travels_with_calls(client):
    with trace("my-trace-1"):
        assert client.Echo.whoami()["trace_id"] == "my-trace-1"


def test_many_threads_share_pooled_connections(client):
    results = []

    def work(n):
        for i in range(50):
            results.append(client.Echo.echo(f"{n}-{i}") == f"{n}-{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 400 and all(results)


def test_dir_and_help_list_remote_methods(client):
    assert {"Echo", "Service"} <= set(dir(client))
    assert {"echo", "sleep", "whoami"} <= set(dir(client.Echo))
    assert str(inspect.signature(client.Echo.echo)) == "(text)"
    text = pydoc.render_doc(client, renderer=pydoc.plaintext)
    assert "Echo.echo(text)" in text and "Return ``text`` unchanged." in text
    method_text = pydoc.render_doc(client.Echo.sleep, renderer=pydoc.plaintext)
    assert "Echo.sleep(seconds)" in method_text


# -- through the registry ---------------------------------------------------------------------


def test_connect_resolves_through_the_registry(registry_service):
    with EchoService(port=0, registry=registry_service.url) as echo:
        wait_until(lambda: registry_service.store.lookup("EchoService"), 5, message="registration")
        client = connect("EchoService", registry_service.url)
        assert client.Echo.whoami()["url"] == echo.url


def test_connect_with_no_instance_raises_503(registry_service):
    client = connect("NobodyService", registry_service.url)
    with pytest.raises(NoHealthyProvider) as info:
        client.call("Echo.echo", "x")
    assert info.value.code == 503 and isinstance(info.value, ConnectionError)


def test_calls_spread_and_fail_over_between_two_instances(processes, registry_service):
    first = processes.echo(registry_service.url)
    second = processes.echo(registry_service.url)
    urls = {first.url(), second.url()}
    wait_until(lambda: set(registry_service.store.lookup("EchoService")) == urls, 10, message="both registered")
    client = connect("EchoService", registry_service.url)
    seen = {client.Echo.whoami()["url"] for _ in range(10)}
    assert seen == urls  # round-robin over both
    first.signal(signal.SIGKILL)
    first.wait()
    # Before the registry notices, every call still succeeds on the survivor.
    answers = [client.Echo.whoami()["url"] for _ in range(20)]
    assert set(answers) == {second.url()}
    wait_until(
        lambda: registry_service.store.lookup("EchoService") == [second.url()],
        5,
        message="the registry to drop the killed instance",
    )


def test_connect_inside_a_service_asks_the_registry_when_its_table_is_still_empty(registry_service):
    # The portal registers before grading; a call made before the registry's push
    # arrives must still find grading.
    with EchoService("PortalLike", ("LateService",), port=0, registry=registry_service.url) as portal:
        wait_until(lambda: registry_service.store.lookup("PortalLike"), 5, message="registration")
        with EchoService("LateService", port=0, registry=registry_service.url) as late:
            wait_until(lambda: registry_service.store.lookup("LateService"), 5, message="registration")
            portal.providers.replace({"LateService": []})  # as if the push had not arrived yet
            assert portal.connect("LateService").Echo.whoami()["url"] == late.url


def test_the_last_instances_known_are_tried_only_for_a_moment(monkeypatch):
    """When the registry names no instance, the last known are tried for LAST_KNOWN_SECONDS, then no more."""

    table = providers.ProviderTable()
    table.replace({"X": ["http://127.0.0.1:9/rpc"]})
    instances = connecting._Instances("X", "http://127.0.0.1:9/rpc", None, 2.0, table, connecting.Transport())
    assert instances.urls() == ["http://127.0.0.1:9/rpc"]
    table.replace({"X": []})
    assert instances.urls() == ["http://127.0.0.1:9/rpc"]  # the registry may be wrong for a moment
    monkeypatch.setattr(connecting, "LAST_KNOWN_SECONDS", 0.0)
    time.sleep(0.01)
    assert instances.urls() == []
