"""Health checks that silence cannot stall.

A silent service is one behind a cut link: the connection hangs and nothing
refuses. Here that is a listening socket on 127.0.0.1 whose backlog is never
accepted, or one that accepts and never answers.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time

import pytest
from helpers.registry_watch import check_gaps, kill_detection_time, service_row
from helpers.waiting import wait_until

from rpc_cluster import Client
from rpc_cluster.registry.health_check import HealthChecker
from rpc_cluster.registry.table import CRITICAL, PASSING, RegistryTable

OK = b'{"jsonrpc": "2.0", "result": {"status": "ok", "service": "S"}, "id": 1}'


class SocketServer:
    """Listening sockets on 127.0.0.1 served by one thread; closed, thread ended, on ``close()``.

    ``mode``: "backlog" never accepts; "mute" accepts, reads and never answers;
    "answer" answers each request with ``answer(request)``.
    """

    def __init__(self, mode: str, count: int = 1, answer=None):
        self.mode, self.answer = mode, answer
        self.requests: list[bytes] = []
        self.listeners = []
        self._conns: dict[socket.socket, bytes] = {}
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._thread = None
        try:
            for _ in range(count):
                listener = socket.socket()
                self.listeners.append(listener)
                listener.bind(("127.0.0.1", 0))
                listener.listen(1)
                if mode != "backlog":
                    listener.setblocking(False)
                    self._selector.register(listener, selectors.EVENT_READ)
            self._thread = threading.Thread(target=self._serve, daemon=True)
            self._thread.start()
        except BaseException:
            self.close()
            raise

    def urls(self, per_socket: int = 1) -> list[str]:
        return [f"http://127.0.0.1:{s.getsockname()[1]}/svc/{n}/rpc" for s in self.listeners for n in range(per_socket)]

    def _serve(self) -> None:
        while not self._stop.is_set():  # ends with close()
            for key, _ in self._selector.select(0.05):
                sock = key.fileobj
                if sock in self.listeners:
                    try:
                        conn, _ = sock.accept()
                    except OSError:
                        continue
                    conn.setblocking(False)
                    self._conns[conn] = b""
                    self._selector.register(conn, selectors.EVENT_READ)
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self._drop(sock)
                    continue
                if self.mode == "mute":
                    continue  # read and never answer: the peer waits
                buffer = self._conns[sock] + data
                head, sep, rest = buffer.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                if not sep or len(rest) < length:
                    self._conns[sock] = buffer
                    continue
                self._conns[sock] = rest[length:]
                self.requests.append(head + sep + rest[:length])
                sock.sendall(self.answer(self.requests[-1]))

    def _drop(self, sock: socket.socket) -> None:
        self._selector.unregister(sock)
        self._conns.pop(sock, None)
        sock.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        for sock in list(self._conns):
            self._drop(sock)
        for listener in self.listeners:
            listener.close()
        self._selector.close()


def http_answer(body: bytes = OK, status: str = "200 OK", chunked: bool = False) -> bytes:
    if chunked:
        return (
            (
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                f"{len(body[:10]):x}\r\n"
            ).encode()
            + body[:10]
            + f"\r\n{len(body[10:]):x}\r\n".encode()
            + body[10:]
            + b"\r\n0\r\n\r\n"
        )
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@pytest.fixture
def servers():
    started: list[SocketServer] = []

    def start(mode: str, count: int = 1, answer=None) -> SocketServer:
        started.append(SocketServer(mode, count, answer))
        return started[-1]

    try:
        yield start
    finally:
        for server in started:
            server.close()


@pytest.fixture
def checker():
    """Start a HealthChecker on its own table; stopped at teardown."""
    made: list[HealthChecker] = []

    def make(interval: float, timeout: float, **kwargs) -> HealthChecker:
        table = RegistryTable(deregister_after=600)
        made.append(HealthChecker(table, interval=interval, timeout=timeout, **kwargs))
        made[-1].start()
        return made[-1]

    try:
        yield make
    finally:
        for health in made:
            health.stop()


def status(health: HealthChecker, url: str) -> str:
    return health.table.get(url).status


@pytest.mark.parametrize("mode", ["backlog", "mute"])
def test_a_silent_service_turns_critical_within_two_and_a_half_intervals(servers, checker, mode):
    interval = 1.0
    silent = servers(mode)
    # A second connection to a backlog of 1 is not even accepted by the kernel: its SYN waits.
    urls = silent.urls(per_socket=3)
    health = checker(interval, 0.2)
    started = time.monotonic()
    for url in urls:
        health.table.register("Silent", url)
    wait_until(
        lambda: all(status(health, url) == CRITICAL for url in urls),
        5,
        interval=0.02,
        message="the silent services to turn critical",
    )
    took = time.monotonic() - started
    assert took <= 2.5 * interval, f"silent services left passing after {took:.2f} s"


def test_a_crowd_of_silent_services_does_not_delay_the_checks_of_a_live_one(processes, servers):
    interval = 1.0
    registry_proc = processes.registry(interval=interval, timeout=0.2)
    registry = Client(registry_proc.url(), timeout=30)
    echo = processes.echo(registry_proc.url(), "--name", "Live")
    url = echo.url()

    wait_until(
        lambda: (service_row(registry, url) or {}).get("last_checked"), 10, message="the live service to be checked"
    )
    # 300 silent services. On 64 threads, each held one for 3 timeouts: 300 x 0.6 s / 64
    # is 2.8 s before the last of them was even tried a third time.
    backlog, mute = servers("backlog", 15), servers("mute", 15)
    silent = backlog.urls(per_socket=10) + mute.urls(per_socket=10)
    registered = time.monotonic()
    with registry.batch() as batch:
        for silent_url in silent:
            batch.call("Registry.register", "Silent", silent_url)
    wait_until(
        lambda: registry.Registry.lookup("Silent") == [], 10, interval=0.02, message="the silent ones to turn critical"
    )
    took = time.monotonic() - registered
    assert took <= 2.5 * interval, f"the last silent service left passing after {took:.2f} s"

    gaps = check_gaps(registry, url, 4 * interval)  # the silent ones are checked, and time out, all along
    assert len(gaps) >= 2 and max(gaps) <= 2 * interval, f"checks of the live service {gaps} s apart"
    assert service_row(registry, url)["status"] == "passing"

    detected = kill_detection_time(registry, echo, "Live")
    assert detected <= 2.5 * interval, f"a dead service was noticed after {detected:.2f} s"


def test_every_heartbeat_carries_the_token_and_reuses_its_connection(servers, checker):
    server = servers("answer", answer=lambda request: http_answer())
    url = server.urls()[0]
    health = checker(0.2, 0.5, token="s3cret")
    health.table.register("S", url)
    wait_until(lambda: len(server.requests) >= 3, 5, message="three heartbeats")
    for request in server.requests:
        assert b"\r\nAuthorization: Bearer s3cret\r\n" in request
        assert b'"Service.heartbeat"' in request
    assert len(server._conns) == 1, "each heartbeat opened a connection of its own"
    assert status(health, url) == PASSING


@pytest.mark.parametrize(
    "answer, alive",
    [
        (http_answer(), True),
        (http_answer(chunked=True), True),
        (http_answer(b'{"jsonrpc": "2.0", "error": {"code": -32601, "message": "no"}, "id": 1}'), False),
        (http_answer(b"not json"), False),
        (http_answer(status="500 Internal Server Error"), False),
        (http_answer(status="401 Unauthorized"), False),
        (b"garbage\r\n\r\n", False),
    ],
    ids=["result", "chunked", "rpc-error", "not-json", "500", "401", "not-http"],
)
def test_only_a_200_with_a_json_rpc_result_counts_as_alive(servers, checker, answer, alive):
    server = servers("answer", answer=lambda request: answer)
    url = server.urls()[0]
    health = checker(0.2, 0.5)
    health.table.register("S", url)
    wait_until(lambda: health.table.get(url).last_checked, 5, message="a check")
    assert status(health, url) == (PASSING if alive else CRITICAL)


def test_a_refused_service_and_a_url_of_another_scheme_turn_critical(checker):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{s.getsockname()[1]}/rpc"
    health = checker(0.2, 0.5)
    # The registry accepts only http:// and https:// URLs; an older release's etcd data may hold
    # another scheme, which no heartbeat can reach: a failed check, like a refused connection.
    other = "h2c://127.0.0.1:1/up/rpc"
    for url in (refused, other):
        health.table.register("S", url)
    wait_until(lambda: all(health.table.get(u).last_checked for u in (refused, other)), 5, message="checks")
    assert [status(health, u) for u in (refused, other)] == [CRITICAL, CRITICAL]
