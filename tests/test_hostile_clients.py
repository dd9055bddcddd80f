"""Hostile clients (docs/operations.md, "Limits"): slow bodies, idle connections, huge batches, not-quite-JSON.

Each test attacks a real server on a loopback port with raw sockets, then
checks that ``/health`` and ``Service.heartbeat`` still answer, and that the
attack got the answer docs/operations.md ("Limits") promises.
"""

import contextlib
import json
import selectors
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import xmlrpc.client

import pytest
from helpers.echo_service import EchoService

from rpc_cluster import CallTimeout, Client, Limits
from rpc_cluster.core.jsonrpc import dispatch
from rpc_cluster.core.methods import MethodTable
from rpc_cluster.grading.storage.sqlite import SqliteStore
from rpc_cluster.runtime import flags
from rpc_cluster.serving.server import raise_open_file_limit

NOWHERE = "http://127.0.0.1:9/rpc"
HEARTBEAT = b'{"jsonrpc": "2.0", "method": "Service.heartbeat", "id": 1}'


def raw_request(port: int, request: bytes, timeout: float) -> bytes:
    """Send one request on a fresh connection; everything the server sent before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def health_and_heartbeat(port: int, timeout: float) -> None:
    """Both answer within ``timeout`` seconds each, on new connections."""
    health = raw_request(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout)
    assert health.startswith(b"HTTP/1.1 200"), health
    heartbeat = raw_request(
        port,
        b"POST /rpc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(HEARTBEAT), HEARTBEAT),
        timeout,
    )
    assert heartbeat.startswith(b"HTTP/1.1 200") and b'"status": "ok"' in heartbeat, heartbeat


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@contextlib.contextmanager
def open_sockets():
    opened: list[socket.socket] = []
    try:
        yield opened
    finally:
        for sock in opened:
            sock.close()


# -- 2. a slow request body -------------------------------------------------------------


def test_stalled_bodies_do_not_hold_the_only_request_thread():
    # One request thread (grading on SQLite); eight stalled POSTs froze the portal.
    body_timeout = 4.0
    with (
        EchoService(port=0, registry=NOWHERE, threads=1, limits=Limits(body_timeout=body_timeout)) as service,
        open_sockets() as stalled,
    ):
        port = service.server.port
        for _ in range(8):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(
                b"POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            stalled.append(sock)
        started = time.monotonic()
        # Well before the body timeout: the answers do not wait for the stalled bodies.
        health_and_heartbeat(port, timeout=2.0)
        for sock in stalled:
            answer = read_until_closed(sock, timeout=body_timeout + 6)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer
        # Closed at the body timeout (the clock ticks every 0.25 s), with room for a slow CI.
        assert time.monotonic() - started < body_timeout + 6
        health_and_heartbeat(port, timeout=2.0)


def test_a_body_that_arrives_slowly_but_in_time_is_served():
    with EchoService(port=0, registry=NOWHERE, threads=1, limits=Limits(body_timeout=5.0)) as service:
        body = b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["slow"], "id": 3}'
        with socket.create_connection(("127.0.0.1", service.server.port), timeout=10) as sock:
            sock.sendall(
                b"POST /rpc HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
            )
            for piece in (body[:10], body[10:40], body[40:]):
                sock.sendall(piece)
                time.sleep(0.3)
            answer = read_until_closed(sock, timeout=10)
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"jsonrpc": "2.0", "result": "slow", "id": 3}')


# -- 3. idle connections --------------------------------------------------------------

IDLE_CONNECTIONS = 1100


def test_idle_connections_neither_lock_out_health_nor_stay_open():
    if raise_open_file_limit() < IDLE_CONNECTIONS * 2 + 200:  # client and server ends, in this one process
        pytest.skip("the open-file limit is too low for 1,100 loopback connections in one process")
    idle_timeout = 3.0
    with (
        EchoService(port=0, registry=NOWHERE, threads=1, limits=Limits(idle_timeout=idle_timeout)) as service,
        open_sockets() as idle,
    ):
        port = service.server.port
        for _ in range(IDLE_CONNECTIONS):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        # Some that made a request and keep the connection (keep-alive), then go silent.
        for sock in idle[:5]:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        opened = time.monotonic()
        health_and_heartbeat(port, timeout=2.0)
        # The server closes every silent connection after idle_timeout.
        selector = selectors.DefaultSelector()
        for sock in idle:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        open_count = len(idle)
        deadline = opened + idle_timeout + 10
        while open_count and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                with contextlib.suppress(ConnectionResetError, BlockingIOError):
                    if key.fileobj.recv(65536):
                        continue
                selector.unregister(key.fileobj)
                open_count -= 1
        selector.close()
        assert open_count == 0, f"{open_count} idle connections still open {idle_timeout + 10} s later"
        health_and_heartbeat(port, timeout=2.0)


# -- 4. huge batches and responses --------------------------------------------------------


def counting_methods():
    calls = []
    table = MethodTable()
    table.add("big", lambda size: calls.append(size) or "x" * size)
    return table, calls


def test_a_batch_with_too_many_members_is_one_invalid_request_and_runs_nothing():
    table, calls = counting_methods()
    batch = [{"jsonrpc": "2.0", "method": "big", "params": [1], "id": i} for i in range(11)]
    answer = json.loads(dispatch(table, json.dumps(batch), max_batch=10))
    assert answer["error"]["code"] == -32600 and answer["id"] is None
    assert "at most 10" in answer["error"]["data"]
    assert calls == []
    assert len(json.loads(dispatch(table, json.dumps(batch[:10]), max_batch=10))) == 10


def test_responses_stop_at_the_response_limit():
    table, calls = counting_methods()
    batch = [{"jsonrpc": "2.0", "method": "big", "params": [400], "id": i} for i in range(10)]
    answers = json.loads(dispatch(table, json.dumps(batch), max_response_bytes=1000))
    assert [a["id"] for a in answers] == list(range(10))
    assert [len(a["result"]) for a in answers[:2]] == [400, 400]
    too_large = answers[2]["error"]
    assert too_large["code"] == -32603 and too_large["message"] == "Response too large"
    assert too_large["data"]["limit_bytes"] == 1000 and "ask for less" in too_large["data"]["problem"]
    assert all(a["error"]["data"]["problem"].startswith("not run") for a in answers[3:])
    assert len(calls) == 3  # the calls after the limit were not run
    single = json.loads(
        dispatch(table, '{"jsonrpc": "2.0", "method": "big", "params": [5000], "id": "s"}', max_response_bytes=1000)
    )
    assert single["id"] == "s" and single["error"]["code"] == -32603


def test_limits_come_from_flags_and_environment(monkeypatch):
    monkeypatch.setenv("RPC_CLUSTER_MAX_RESPONSE_BYTES", "5000")
    parser = flags.ArgumentParser()
    flags.add_service_flags(parser, "ECHO", 0)
    args = parser.parse_args(["--max-batch", "7", "--body-timeout", "2.5", "--idle-timeout", "9"])
    kwargs = flags.service_kwargs(args)
    assert kwargs["limits"] == Limits(max_batch=7, max_response_bytes=5000, body_timeout=2.5, idle_timeout=9.0)
    with EchoService(
        port=0, registry=NOWHERE, **{k: v for k, v in kwargs.items() if k not in ("host", "port", "registry")}
    ) as service:
        batch = json.dumps([{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"], "id": i} for i in range(8)])
        request = urllib.request.Request(service.url, data=batch.encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["error"]["code"] == -32600
        big = json.dumps({"jsonrpc": "2.0", "method": "Echo.echo", "params": ["y" * 6000], "id": 1}).encode()
        request = urllib.request.Request(service.url, data=big, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["error"]["message"] == "Response too large"


def peak_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def test_a_batch_of_big_pages_keeps_grading_under_400_mb(processes, tmp_path):
    # The attack that once took 4.2 GB: 400 members of Grades.get_students(limit=1000), a 35 KiB
    # request, against 10,000 students with 20 grades each (a 150 MiB answer, a 1.25 GB peak).
    db = tmp_path / "grades.db"
    SqliteStore(db).close()  # the schema and the seed, as grading makes them
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        first = conn.execute("SELECT COALESCE(MAX(id), 0) FROM students").fetchone()[0] + 1
        conn.executemany(
            "INSERT INTO students (id, first_name, last_name) VALUES (?, ?, ?)",
            [(first + i, f"First{i}", f"Last{i}") for i in range(10_000)],
        )
        conn.executemany(
            "INSERT INTO grades (student_id, title, type, score) VALUES (?, ?, ?, ?)",
            [(first + i, f"Quiz {g}", "Quiz", (i * 7 + g) % 101) for i in range(10_000) for g in range(20)],
        )
    grading = processes.start("cmd/gradingservice/main.py", "--port", "0", "--registry", NOWHERE, "--db", str(db))
    url = grading.url()
    baseline = peak_rss_bytes(grading.pid)
    batch = json.dumps(
        [
            {"jsonrpc": "2.0", "method": "Grades.get_students", "params": {"offset": 0, "limit": 1000}, "id": i}
            for i in range(400)
        ]
    ).encode()
    request = urllib.request.Request(url, data=batch, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        answers = json.loads(response.read())
    peak = peak_rss_bytes(grading.pid)
    assert peak < 400 << 20, f"peak RSS {peak >> 20} MiB (at start {baseline >> 20} MiB)"
    assert len(answers) == 400
    assert sum("result" in a for a in answers) >= 1
    assert {a["error"]["code"] for a in answers if "error" in a} == {-32603}
    assert heartbeat_status(url) == "ok"


def heartbeat_status(url: str) -> str:
    request = urllib.request.Request(url, data=HEARTBEAT, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["result"]["status"]


# -- 12, 13. strict JSON ----------------------------------------------------------------


@pytest.fixture(scope="module")
def echo():
    with EchoService(port=0, registry=NOWHERE, token="s3cret") as service:
        yield service


def post(url: str, body: bytes, token: str | None = "s3cret", path: str = "") -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url + path, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"], "id": NaN}',
        b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"], "id": Infinity}',
        b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"], "id": -Infinity}',
        b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"], "id": 1e400}',
        b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": [NaN], "id": 1}',
        b'[{"jsonrpc": "2.0", "method": "Echo.echo", "params": [-1e999], "id": 1}]',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
    ],
    ids=[
        "id-NaN",
        "id-Infinity",
        "id--Infinity",
        "id-1e400",
        "param-NaN",
        "batch-overflow",
        "deep-array",
        "deep-object",
    ],
)
def test_what_is_not_strict_json_is_a_parse_error(echo, body):
    status, data = post(echo.url, body)
    assert status == 200, (status, data)
    answer = json.loads(data)  # strict JSON: no NaN in the reply either
    assert answer["error"]["code"] == -32700 and answer["id"] is None


def test_big_finite_numbers_are_still_numbers(echo):
    _status, data = post(echo.url, b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": [1e300], "id": 1.5e300}')
    assert json.loads(data) == {"jsonrpc": "2.0", "result": 1e300, "id": 1.5e300}


# -- 14. XML-RPC introspection with a name that is not a string --------------------------


@pytest.mark.parametrize("method", ["system.methodHelp", "system.methodSignature"])
@pytest.mark.parametrize("name", [[1], {"a": 1}, 7])
def test_introspection_of_a_name_that_is_not_a_string_is_invalid_params(echo, method, name):
    proxy = xmlrpc.client.ServerProxy(
        echo.url.replace("/rpc", "/RPC2"), allow_none=True, headers=[("Authorization", "Bearer s3cret")]
    )
    with pytest.raises(xmlrpc.client.Fault) as fault:
        getattr(proxy, method)(name)
    assert fault.value.faultCode == -32602


# -- 15. the OpenRPC document needs the token --------------------------------------------


def test_get_rpc_needs_the_token_like_every_other_rpc_request(echo):
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        request = urllib.request.Request(echo.url, headers=headers)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 401
        assert b"Echo.echo" not in refused.value.read()
    request = urllib.request.Request(echo.url, headers={"Authorization": "Bearer s3cret"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert any(m["name"] == "Echo.echo" for m in json.loads(response.read())["methods"])


def test_health_and_heartbeats_do_not_wait_behind_calls_holding_every_request_thread():
    """Two slow calls hold both request threads; /health and Service.heartbeat still answer at once."""
    with EchoService(port=0, registry=NOWHERE, threads=2) as service:
        slow = [threading.Thread(target=Client(service.url, timeout=10).call, args=("Echo.sleep", 3)) for _ in range(2)]
        for thread in slow:
            thread.start()
        time.sleep(0.3)  # both slots taken
        started = time.monotonic()
        assert Client(service.url, timeout=2).call("Service.heartbeat")["status"] == "ok"
        with urllib.request.urlopen(service.url.replace("/rpc", "/health"), timeout=2) as response:
            assert response.status == 200
        assert time.monotonic() - started < 1.5  # not the 2.7 s the slow calls still hold
        with pytest.raises(CallTimeout):  # an ordinary call does wait for a slot
            Client(service.url, timeout=1).call("Echo.echo", "queued")
        for thread in slow:
            thread.join(10)
