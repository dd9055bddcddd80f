"""The asyncio client: AsyncClient's calls, batches, errors and proxy, its bounded pool, the retry rule,
connect_async's failover, the token, TLS and the headers each call carries.

pytest-asyncio is not a test dependency: each test drives its own loop with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import pydoc
import signal
import socket

import pytest
from helpers.echo_service import EchoService
from helpers.raw_server import RawServer
from helpers.waiting import wait_until
from test_exactly_once import DiesAfterReading

from rpc_cluster import (
    AsyncClient,
    CallTimeout,
    InvalidParams,
    MethodNotFound,
    NoHealthyProvider,
    RpcError,
    TlsFiles,
    TransportError,
    Unauthorized,
    connect_async,
    trace,
)
from rpc_cluster.client.acting import acting_as
from rpc_cluster.client.aio.transport import DEFAULT_MAX_CONNECTIONS, AsyncTransport

NOWHERE = "http://127.0.0.1:9/rpc"


@pytest.fixture(scope="module")
def echo():
    with EchoService(port=0, registry=NOWHERE) as service:
        yield service


def run(coroutine):
    """Run ``coroutine`` on a fresh loop, bounded so that a hang fails the test instead of stalling it."""

    async def bounded():
        async with asyncio.timeout(60):
            return await coroutine

    return asyncio.run(bounded())


def test_call_positional_and_named_and_through_the_proxy(echo):
    async def calls():
        async with AsyncClient(echo.url) as client:
            assert await client.call("Echo.echo", "a") == "a"
            assert await client.call("Echo.echo", text="b") == "b"
            assert await client.Echo.echo("c") == "c"
            assert await client.Echo.relay([], text="mixed") == ["EchoService"]  # named from rpc.discover
            with pytest.raises(TypeError, match="not both"):
                await client.call("Echo.echo", "a", text="b")
            with pytest.raises(TypeError, match="both by position and by name"):
                await client.Echo.echo("a", text="b")

    run(calls())


def test_remote_errors_raise_the_same_typed_exceptions(echo):
    async def calls():
        async with AsyncClient(echo.url) as client:
            with pytest.raises(MethodNotFound) as info:
                await client.call("Echo.nope")
            assert info.value.code == -32601
            with pytest.raises(InvalidParams):
                await client.Echo.echo()
            with pytest.raises(RpcError) as failed:
                await client.Echo.fail()
            assert failed.value.code == -32603 and "secret" not in str(failed.value)

    run(calls())


def test_notify_and_batch(echo):
    async def calls():
        async with AsyncClient(echo.url) as client:
            assert await client.notify("Echo.echo", "x") is None
            async with client.batch() as batch:
                first = batch.call("Echo.echo", "one")
                second = batch.call("Echo.nope")
                batch.notify("Echo.echo", "ignored")
                third = batch.call("Echo.echo", text="three")
            assert first.result() == "one" and third.result() == "three"
            with pytest.raises(MethodNotFound):
                second.result()
            later = client.batch()
            pending = later.call("Echo.echo", "x")
            with pytest.raises(RuntimeError, match="not sent"):
                pending.result()
            assert await later.send() == ["x"]
            with pytest.raises(TypeError, match="async with"), client.batch():
                pass

    run(calls())


class ConnectionCounter:
    """A TCP relay in front of a server that counts the connections a client opens, and the most open at once."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.accepted = self.open = self.most = 0

    async def start(self) -> asyncio.Server:
        return await asyncio.start_server(self._relay, "127.0.0.1", 0)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self.most = max(self.most, self.open)
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        try:
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        finally:
            self.open -= 1


def test_a_thousand_calls_gathered_share_a_bounded_pool(echo):
    port = int(echo.url.rsplit(":", 1)[1].split("/")[0])

    async def calls():
        counter = ConnectionCounter(port)
        relay = await counter.start()
        url = f"http://127.0.0.1:{relay.sockets[0].getsockname()[1]}/rpc"
        try:
            async with AsyncClient(url) as client:
                results = await asyncio.gather(*(client.Echo.echo(f"n{n}") for n in range(1000)))
                assert results == [f"n{n}" for n in range(1000)]
                assert 1 < counter.accepted <= DEFAULT_MAX_CONNECTIONS  # reused, and never more than the bound
                assert client._transport.open_connections() == counter.accepted
            small = AsyncClient(url, max_connections=2)
            assert await asyncio.gather(*(small.Echo.echo(str(n)) for n in range(50))) == [str(n) for n in range(50)]
            await small.aclose()
            assert counter.accepted <= DEFAULT_MAX_CONNECTIONS + 2
        finally:
            relay.close()
            await relay.wait_closed()

    run(calls())


def test_a_server_that_dies_mid_way_fails_the_calls_left_with_transport_errors(processes):
    proc = processes.echo(NOWHERE)
    url = proc.url()

    async def calls():
        answered = 0
        half = asyncio.Event()

        async def one(client: AsyncClient, n: int) -> object:
            nonlocal answered
            result = await client.Echo.sleep(0.01)
            answered += 1
            if answered == 50:
                half.set()
            return result

        async def kill_at_half() -> None:
            await half.wait()
            proc.signal(signal.SIGKILL)

        async with AsyncClient(url, max_connections=4) as client:
            killer = asyncio.create_task(kill_at_half())
            results = await asyncio.gather(*(one(client, n) for n in range(400)), return_exceptions=True)
            await killer
        failures = [r for r in results if isinstance(r, BaseException)]
        assert failures and all(isinstance(f, TransportError) for f in failures)
        assert len(results) - len(failures) >= 50

    run(calls())


@pytest.mark.parametrize(
    "kwargs, read_only, sent_again",
    [
        ({"student_id": 1, "score": 90}, (), False),
        ({"student_id": 1, "score": 90, "request_id": "click-1"}, (), True),
        ({"student_id": 1}, ("Grades.add_grade",), True),  # as if it changed nothing
    ],
)
def test_only_a_repeatable_call_that_may_have_run_is_sent_again(kwargs, read_only, sent_again):
    server = DiesAfterReading(deaths=1)
    try:

        async def call() -> object:
            async with AsyncClient(server.url, timeout=5, read_only=read_only) as client:
                return await client.call("Grades.add_grade", **kwargs)

        if sent_again:
            assert run(call()) == "done"
            assert len(server.requests) == 2
        else:
            with pytest.raises(TransportError) as info:
                run(call())
            assert info.value.sent is True
            assert len(server.requests) == 1
    finally:
        server.close()


def test_a_call_that_never_left_fails_as_not_sent_and_a_slow_one_times_out(echo):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def calls():
        with pytest.raises(ConnectionError) as refused:
            await AsyncClient(f"http://127.0.0.1:{port}/rpc").call("Echo.echo", "x")
        assert isinstance(refused.value, TransportError) and refused.value.sent is False
        with pytest.raises(TimeoutError) as slow:
            await AsyncClient(echo.url, timeout=0.2).call("Echo.sleep", 1.0)
        assert isinstance(slow.value, CallTimeout) and slow.value.sent is True

    run(calls())


def test_connect_async_fails_over_to_the_second_instance(processes, registry_service):
    first = processes.echo(registry_service.url)
    second = processes.echo(registry_service.url)
    urls = {first.url(), second.url()}
    wait_until(lambda: set(registry_service.store.lookup("EchoService")) == urls, 10, message="both registered")

    async def calls():
        client = connect_async("EchoService", registry_service.url)
        seen = {(await client.Echo.whoami())["url"] for _ in range(10)}
        assert seen == urls  # round-robin over both
        first.signal(signal.SIGKILL)
        first.wait()
        # Before the registry notices, every call still succeeds on the survivor.
        answers = await asyncio.gather(*(client.Echo.whoami() for _ in range(20)))
        assert {a["url"] for a in answers} == {second.url()}
        await client.aclose()

    run(calls())


def test_connect_async_with_no_instance_raises_503(registry_service):
    async def call():
        await connect_async("NobodyService", registry_service.url).call("Echo.echo", "x")

    with pytest.raises(NoHealthyProvider) as info:
        run(call())
    assert info.value.code == 503 and isinstance(info.value, ConnectionError)


def test_the_token_is_sent_and_a_call_without_it_is_refused():
    with EchoService(port=0, registry=NOWHERE, token="async-secret") as secured:

        async def calls():
            with pytest.raises(Unauthorized):
                await AsyncClient(secured.url, token="").call("Echo.echo", "x")
            assert await AsyncClient(secured.url, token="async-secret").Echo.echo("x") == "x"

        run(calls())


def test_each_call_carries_the_trace_the_acting_user_and_the_token():
    server = RawServer(lambda body: (200, json.dumps({"jsonrpc": "2.0", "result": 1, "id": 1}).encode()))
    try:

        async def calls():
            client = AsyncClient(server.url, token="t0k")
            with trace("0af7651916cd43dd8448eb211c80319c"), acting_as("teacher1"):
                await client.call("Echo.echo", "x")
            await client.call("Echo.echo", "y")

        run(calls())
        inside, outside = server.received
        assert inside["x-trace-id"] == "0af7651916cd43dd8448eb211c80319c"
        assert inside["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
        assert inside["x-acting-user"] == "teacher1" and inside["authorization"] == "Bearer t0k"
        assert "x-trace-id" not in outside and "x-acting-user" not in outside
    finally:
        server.close()


def test_a_service_sees_the_callers_trace_id_in_every_gathered_call(echo):
    async def calls():
        async with AsyncClient(echo.url) as client:
            with trace("async-trace-1"):
                answers = await asyncio.gather(*(client.Echo.whoami() for _ in range(5)))
        assert {a["trace_id"] for a in answers} == {"async-trace-1"}

    run(calls())


def test_https_is_verified_against_tls_ca(tmp_path, certificates, monkeypatch):
    from rpc_cluster.grading.service import GradingService

    monkeypatch.delenv("RPC_CLUSTER_TLS_CA", raising=False)
    service = GradingService(
        db=str(tmp_path / "grades.db"), tls=TlsFiles(cert=certificates.cert, key=certificates.key), registry=NOWHERE
    )
    service.start()
    try:

        async def calls():
            async with AsyncClient(service.url, tls_ca=certificates.ca) as client:
                assert (await client.Grades.get_student(1))["first_name"] == "Nick"
            with pytest.raises(TransportError) as refused:
                await AsyncClient(service.url, timeout=5).call("Grades.get_student", 1)
            assert "certificate" in str(refused.value) and refused.value.sent is False

        run(calls())
    finally:
        service.stop()


def test_dir_and_help_list_remote_methods(echo):
    client = AsyncClient(echo.url)  # outside a loop: dir() and help() fetch the description there and then
    assert {"Echo", "Service"} <= set(dir(client))
    assert {"echo", "sleep", "whoami"} <= set(dir(client.Echo))
    assert str(inspect.signature(client.Echo.echo)) == "(text)"
    text = pydoc.render_doc(client, renderer=pydoc.plaintext)
    assert "AsyncClient for" in text and "Echo.echo(text)" in text and "Return ``text`` unchanged." in text
    assert "Echo.sleep(seconds)" in pydoc.render_doc(client.Echo.sleep, renderer=pydoc.plaintext)

    async def described():
        fresh = AsyncClient(echo.url)
        await fresh.describe()  # then dir() reads what was fetched
        return dir(fresh.Echo)

    assert "whoami" in run(described())


def test_a_transport_serves_a_second_event_loop(echo):
    transport = AsyncTransport()
    client = AsyncClient(echo.url, transport=transport)
    assert run(client.Echo.echo("first loop")) == "first loop"
    assert run(client.Echo.echo("second loop")) == "second loop"
    with pytest.raises(ValueError, match="max_connections"):
        AsyncTransport(max_connections=0)
