"""``async def`` methods: awaited on the service's event loop, beside plain methods that keep working.

Where a call runs (``Dispatcher.place``): an ``async def`` method on the loop, a plain one marked
``inline`` on the loop too, any other plain method on a request thread. These tests serve real
services on port 0 and call them over HTTP, JSON-RPC and XML-RPC.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor

import pytest

from rpc_cluster import Client, Service, current_trace_id, rpc_method, trace
from rpc_cluster.client import acting
from rpc_cluster.core import errors
from rpc_cluster.core.dispatch import Dispatcher, Place
from rpc_cluster.core.jsonrpc import dispatch
from rpc_cluster.core.methods import MethodTable

NOWHERE = "http://127.0.0.1:9/rpc"
CROWD = 20


class Waits:
    """Async methods that can only finish together: proof that they are in flight at once."""

    def __init__(self) -> None:
        self.arrived = 0
        self.all_here: asyncio.Event | None = None
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    @rpc_method
    async def gather(self, crowd: int) -> int:
        """Wait until ``crowd`` calls are in flight; the count when this one arrived."""
        if self.all_here is None:
            self.all_here = asyncio.Event()
        self.arrived += 1
        mine = self.arrived
        self.threads.add(threading.current_thread().name)
        if self.arrived >= crowd:
            self.all_here.set()
        await asyncio.wait_for(self.all_here.wait(), timeout=20)
        return mine

    @rpc_method
    async def double(self, number: int) -> int:
        """Twice ``number``, after giving the loop a turn."""
        await asyncio.sleep(0)
        return number * 2

    @rpc_method
    async def refuse(self) -> None:
        """Raise an RpcError of its own."""
        raise errors.Forbidden("not yours")

    @rpc_method
    async def crash(self) -> None:
        """Raise an unexpected exception: the caller gets a bare -32603."""
        raise RuntimeError("secret internal detail")

    @rpc_method
    async def context(self) -> dict:
        """The trace id and the acting user this call sees."""
        await asyncio.sleep(0)
        return {"trace_id": current_trace_id(), "acting": acting.current()}

    @rpc_method
    def plain(self, text: str) -> str:
        """A plain method, on a request thread: unchanged by the async ones beside it."""
        with self.lock:
            self.threads.add(threading.current_thread().name)
        return text.upper()

    @rpc_method
    async def hold(self, seconds: float) -> float:
        """Sleep on the loop without holding any thread."""
        await asyncio.sleep(seconds)
        return seconds


class WaitsService(Service):
    name = "WaitsService"
    registers = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.waits = Waits()

    def expose(self, methods) -> None:
        methods.add_object("Waits", self.waits)


@pytest.fixture
def served():
    # One request thread: async methods must not need one at all.
    with WaitsService(port=0, registry=NOWHERE, threads=1) as service:
        yield service


def test_async_calls_are_in_flight_together_on_the_loop_without_a_request_thread(served):
    client = Client(served.url, timeout=30)
    with ThreadPoolExecutor(CROWD) as pool:
        arrivals = sorted(pool.map(lambda _: client.call("Waits.gather", CROWD), range(CROWD)))
    # Each finished only once all had arrived: with one request thread, only the loop could hold them all.
    assert arrivals == list(range(1, CROWD + 1))
    assert served.waits.threads == {"http-loop"}


def test_sync_and_async_methods_side_by_side_in_one_batch(served):
    client = Client(served.url)
    with client.batch() as batch:
        doubled = batch.call("Waits.double", 21)
        upper = batch.call("Waits.plain", "shout")
        refused = batch.call("Waits.refuse")
    assert doubled.result() == 42
    assert upper.result() == "SHOUT"
    with pytest.raises(errors.Forbidden):
        refused.result()
    assert any(name.startswith("http-request") for name in served.waits.threads)


def test_async_methods_answer_errors_as_plain_ones_do(served):
    client = Client(served.url)
    with pytest.raises(errors.Forbidden) as refused:
        client.call("Waits.refuse")
    assert refused.value.message == "not yours"
    with pytest.raises(errors.InternalError) as crashed:
        client.call("Waits.crash")
    assert "secret" not in str(crashed.value)
    with pytest.raises(errors.InvalidParams):
        client.call("Waits.double", 1, 2)
    with pytest.raises(errors.InvalidParams):
        client.call("Waits.double", wrong=1)


def test_an_async_method_sees_its_callers_trace_and_acting_user(served):
    client = Client(served.url)
    with trace("4bf92f3577b34da6a3ce929d0e0e4736"), acting.acting_as("ada"):
        seen = client.call("Waits.context")
    assert seen == {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "acting": "ada"}


def test_async_methods_over_xmlrpc(served):
    proxy = xmlrpc.client.ServerProxy(served.url.replace("/rpc", "/RPC2"))
    assert proxy.Waits.double(4) == 8
    with pytest.raises(xmlrpc.client.Fault) as fault:
        proxy.Waits.refuse()
    assert fault.value.faultCode == errors.Forbidden.code


def test_health_answers_while_async_calls_and_the_request_thread_are_busy(served):
    client = Client(served.url, timeout=30)
    with ThreadPoolExecutor(12) as pool:
        holding = [pool.submit(client.call, "Waits.hold", 2) for _ in range(10)]
        busy = pool.submit(client.call, "Waits.plain", "x")  # the one request thread, briefly
        with urllib.request.urlopen(served.url.replace("/rpc", "/health"), timeout=1.5) as response:
            assert json.loads(response.read())["status"] == "ok"
        assert client.call("Service.heartbeat")["status"] == "ok"
        assert [f.result() for f in holding] == [2] * 10
        assert busy.result() == "X"


def test_the_openrpc_document_and_help_show_async_methods(served):
    client = Client(served.url)
    assert {"gather", "double", "plain"} <= set(dir(client.Waits))
    assert "Wait until ``crowd`` calls are in flight" in client.Waits.gather.__doc__
    document = client.call("rpc.discover")
    gather = next(m for m in document["methods"] if m["name"] == "Waits.gather")
    assert [p["name"] for p in gather["params"]] == ["crowd"]


def test_where_each_method_runs():
    table = MethodTable()
    table.add_object("Waits", Waits(), inline=("plain",))
    core = Dispatcher(table)
    assert core.place("Waits.double") is Place.LOOP
    assert core.place("Waits.plain") is Place.INLINE
    other = MethodTable()
    other.add_object("Waits", Waits())
    assert Dispatcher(other).place("Waits.plain") is Place.THREAD


def test_an_async_method_cannot_be_marked_inline():
    async def nothing() -> None:
        return None

    with pytest.raises(ValueError, match="async"):
        MethodTable().add("nothing", nothing, inline=True)


def test_in_process_dispatch_runs_async_methods_too():
    table = MethodTable()
    table.add_object("Waits", Waits())
    answer = json.loads(dispatch(table, '{"jsonrpc": "2.0", "method": "Waits.double", "params": [5], "id": 1}'))
    assert answer == {"jsonrpc": "2.0", "result": 10, "id": 1}
