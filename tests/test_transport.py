"""The client's transport on the wire: framing, keep-alive rules, broken peers, limits, timeouts, TLS.

Each test runs a ``WireServer`` that writes exactly the bytes under test, and
counts the connections it accepted: that count is how a test sees whether a
connection was reused, and whether a failed call was sent again.
"""

from __future__ import annotations

import ast
import json
import socket
import ssl
import struct
import threading
import time

import pytest
from helpers.processes import ROOT
from helpers.raw_server import WireServer, read_request
from helpers.waiting import wait_until

from rpc_cluster import CallTimeout, Client, TlsFiles, TransportError
from rpc_cluster.client import transport as transport_module
from rpc_cluster.client.transport import Transport
from rpc_cluster.grading.service import GradingService


def result_for(body: bytes, result: object = "pong") -> bytes:
    """The JSON-RPC answer to the request ``body``."""
    return json.dumps({"jsonrpc": "2.0", "result": result, "id": json.loads(body)["id"]}).encode()


def answering(head: bytes, result: object = "pong"):
    """A server function that answers every request on a connection with ``head`` and a Content-Length."""

    def serve(conn: socket.socket) -> None:
        while (request := read_request(conn)) is not None:
            body = result_for(request[1], result)
            conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    return serve


def one_pooled_connection(client: Client) -> list:
    return [conn for pool in client._transport._pools.values() for conn in pool._idle]


# -- framing and keep-alive ------------------------------------------------------------------------


def test_a_chunked_answer_in_several_reads_is_read_whole_and_its_connection_kept():
    def serve(conn):
        while (request := read_request(conn)) is not None:
            body = result_for(request[1], "x" * 3000)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            for start in range(0, len(body), 1000):
                piece = body[start : start + 1000]
                conn.sendall(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
                time.sleep(0.01)  # each chunk in a read of its own
            conn.sendall(b"0\r\nX-Trailer: yes\r\n\r\n")

    with WireServer(serve) as server:
        client = Client(server.url, timeout=5)
        assert client.call("Bench.ping") == "x" * 3000
        assert client.call("Bench.ping") == "x" * 3000
        assert server.connections == 1


@pytest.mark.parametrize(
    "head, reused",
    [
        (b"HTTP/1.1 200 OK\r\n", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n", False),
        (b"HTTP/1.0 200 OK\r\n", False),  # HTTP/1.0 closes unless it says keep-alive
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n", True),
    ],
)
def test_the_answer_decides_whether_its_connection_is_reused(head, reused):
    # The server keeps every connection open: only the answer's own words may make the client close it.
    with WireServer(answering(head)) as server:
        client = Client(server.url, timeout=5)
        assert [client.call("Bench.ping") for _ in range(3)] == ["pong"] * 3
        assert server.connections == (1 if reused else 3)
        assert len(one_pooled_connection(client)) == (1 if reused else 0)


def test_an_answer_framed_by_the_end_of_the_connection_is_read_whole():
    def serve(conn):
        request = read_request(conn)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
        time.sleep(0.05)
        conn.sendall(result_for(request[1], "to the end"))
        conn.shutdown(socket.SHUT_WR)

    with WireServer(serve) as server:
        client = Client(server.url, timeout=5)
        assert client.call("Bench.ping") == "to the end"
        assert client.call("Bench.ping") == "to the end"
        assert server.connections == 2


def test_an_interim_100_continue_is_skipped():
    def serve(conn):
        request = read_request(conn)
        body = result_for(request[1])
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        time.sleep(0.02)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    with WireServer(serve) as server:
        assert Client(server.url, timeout=5).call("Bench.ping") == "pong"


def test_bytes_after_the_answer_keep_its_connection_out_of_the_pool():
    def serve(conn):
        while (request := read_request(conn)) is not None:
            body = result_for(request[1])
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%sHTTP/1.1 200 OK\r\n" % (len(body), body))

    with WireServer(serve) as server:
        client = Client(server.url, timeout=5)
        assert [client.call("Bench.ping") for _ in range(2)] == ["pong"] * 2
        assert server.connections == 2 and one_pooled_connection(client) == []


# -- a peer that breaks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "partial, where",
    [
        (b"", "before answering"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "in the middle of the answer's headers"),
        (b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"jsonrpc": ', "in the middle of the answer's body"),
        (
            b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{"jsonrpc"',
            "in the middle of the answer's body",
        ),
    ],
)
def test_a_peer_that_closes_mid_answer_is_a_typed_error_and_the_call_is_not_sent_again(partial, where):
    def serve(conn):
        read_request(conn)
        conn.sendall(partial)

    with WireServer(serve) as server:
        with pytest.raises(TransportError) as info:
            Client(server.url, timeout=5).call("Grades.add_grade", student_id=1, score=90)
        assert server.connections == 1  # the request was written: it may have run, so it is not sent again
    assert info.value.sent is True and not isinstance(info.value, CallTimeout)
    assert where in str(info.value) and "\n" not in str(info.value)


def test_a_call_with_a_request_id_is_sent_again_after_a_peer_closed_mid_answer():
    def serve(conn):
        request = read_request(conn)
        if server.connections == 1:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Len")
            return
        body = result_for(request[1], "done")
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    with WireServer(serve) as server:
        assert Client(server.url, timeout=5).call("Grades.add_grade", student_id=1, request_id="r-1") == "done"
        assert server.connections == 2


def test_a_peer_that_resets_while_the_request_is_written_was_not_sent():
    def serve(conn):
        read_request(conn, body=False)  # the head only: megabytes of body are still coming
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset

    with WireServer(serve) as server:
        with pytest.raises(TransportError) as info:
            Client(server.url, timeout=10).call("Echo.echo", "x" * (32 << 20))
        # It cannot have run, so it was sent once more (retry.TRANSPORT), and failed the same way.
        assert server.connections == 2
    assert info.value.sent is False and "lost" in str(info.value)


def test_a_pooled_connection_the_server_closed_is_not_reused():
    closed = threading.Event()

    def serve(conn):
        request = read_request(conn)
        body = result_for(request[1])
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        time.sleep(0.05)  # the client has put it in its pool by now
        conn.shutdown(socket.SHUT_RDWR)
        closed.set()

    with WireServer(serve) as server:
        client = Client(server.url, timeout=5)
        assert client.call("Grades.add_grade", student_id=1) == "pong"
        assert closed.wait(5) and len(one_pooled_connection(client)) == 1
        # Not repeatable: had the closed connection been used, this call would fail.
        assert client.call("Grades.add_grade", student_id=2) == "pong"
        assert server.connections == 2


def test_a_connection_idle_longer_than_max_idle_is_not_reused(monkeypatch):
    with WireServer(answering(b"HTTP/1.1 200 OK\r\n")) as server:
        client = Client(server.url, timeout=5)
        assert client.call("Bench.ping") == "pong"
        monkeypatch.setattr(transport_module, "MAX_IDLE_SECONDS", 0.0)
        assert client.call("Bench.ping") == "pong"
        assert server.connections == 2


def test_an_answer_that_is_not_http_is_one_clear_line():
    def serve(conn):
        read_request(conn)
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")

    with WireServer(serve) as server, pytest.raises(TransportError) as info:
        Client(server.url, timeout=5).call("Bench.ping")
    assert "did not answer in HTTP/1.1" in str(info.value) and "\n" not in str(info.value)


# -- limits ----------------------------------------------------------------------------------------


def test_an_answer_whose_length_is_over_the_cap_is_refused_before_its_body():
    def serve(conn):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n{")
        read_request(conn)  # wait for the client to hang up; the body never comes

    with WireServer(serve) as server:
        client = Client(server.url, timeout=5, transport=Transport(max_response_bytes=4096))
        with pytest.raises(TransportError) as info:
            client.call("Bench.ping")
    assert not isinstance(info.value, CallTimeout)  # refused at once, not after waiting for a gigabyte
    assert "larger than 4,096 bytes" in str(info.value) and info.value.sent is True
    assert one_pooled_connection(client) == []


def test_a_chunked_answer_that_grows_over_the_cap_is_refused():
    def serve(conn):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(10):
            conn.sendall(b"400\r\n" + b"x" * 1024 + b"\r\n")
        conn.sendall(b"0\r\n\r\n")

    with WireServer(serve) as server:
        client = Client(server.url, timeout=5, transport=Transport(max_response_bytes=4096))
        with pytest.raises(TransportError, match="larger than 4,096 bytes"):
            client.call("Bench.ping")
        assert one_pooled_connection(client) == []


def test_a_header_with_a_line_break_is_refused_before_anything_is_sent():
    with WireServer(answering(b"HTTP/1.1 200 OK\r\n")) as server:
        with pytest.raises(TransportError) as info:
            Client(server.url, timeout=5, token="secret\r\nX-Forged: 1").call("Bench.ping")
        assert server.connections == 0
    assert info.value.sent is False and "line break" in str(info.value)


# -- timeouts --------------------------------------------------------------------------------------


def test_a_silent_server_is_a_call_timeout_after_the_request_was_sent():
    def serve(conn):
        read_request(conn)
        read_request(conn)  # silent until the client hangs up

    with WireServer(serve) as server:
        start = time.monotonic()
        with pytest.raises(CallTimeout) as info:
            Client(server.url, timeout=0.3).call("Bench.ping")
        assert 0.25 < time.monotonic() - start < 3
        assert server.connections == 1
    assert info.value.sent is True and "timed out after 0.3 s" in str(info.value)


def test_a_tls_handshake_that_times_out_was_not_sent(certificates):
    def serve(conn):
        conn.recv(65536)  # the ClientHello, never answered
        conn.recv(65536)

    with WireServer(serve) as server, pytest.raises(CallTimeout) as info:
        Client(server.url.replace("http://", "https://"), timeout=0.3, tls_ca=certificates.ca).call("Bench.ping")
    assert info.value.sent is False  # no connection was ready to carry the request


# -- HTTPS -----------------------------------------------------------------------------------------


def test_https_calls_share_one_verified_pooled_connection(tmp_path, certificates):
    with GradingService(
        db=str(tmp_path / "grades.db"),
        tls=TlsFiles(cert=certificates.cert, key=certificates.key),
        registry="http://127.0.0.1:9/rpc",
    ) as service:
        client = Client(service.url, timeout=5, tls_ca=certificates.ca)
        assert client.Grades.get_student(1)["first_name"] == "Nick"
        (first,) = one_pooled_connection(client)
        assert isinstance(first.sock, ssl.SSLSocket) and first.sock.version().startswith("TLS")
        assert client.Grades.get_student(2)["first_name"] == "Roberto"
        assert one_pooled_connection(client) == [first]


def test_https_after_the_server_restarts_uses_a_new_connection(tmp_path, certificates):
    tls = {"tls": TlsFiles(cert=certificates.cert, key=certificates.key), "registry": "http://127.0.0.1:9/rpc"}
    service = GradingService(db=str(tmp_path / "grades.db"), **tls).start()
    port = service.server.port
    client = Client(service.url, timeout=5, tls_ca=certificates.ca)
    assert client.Grades.get_student(1)["first_name"] == "Nick"
    service.stop()
    wait_until(lambda: one_pooled_connection(client)[0].closed_by_peer(), 5, message="the server's close")
    with GradingService(db=str(tmp_path / "grades.db"), port=port, **tls):
        assert client.Grades.get_student(1)["first_name"] == "Nick"


# -- the request line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, line",
    [
        ("http://127.0.0.1:6000/rpc", b"POST /rpc HTTP/1.1\r\nHost: 127.0.0.1:6000\r\n"),
        (
            "https://grading.lan/rpc?x=1",
            b"POST /rpc?x=1 HTTP/1.1\r\nHost: grading.lan\r\n",
        ),  # the default port is left out
        ("http://[::1]:80/", b"POST / HTTP/1.1\r\nHost: [::1]\r\n"),
    ],
)
def test_the_request_line_and_host_header(url, line):
    secure, host, port, path = transport_module.http_target(url)
    assert b"POST" + transport_module._request_line(host, port, secure, path) == line


@pytest.mark.parametrize("url", ["http://127.0.0.1:6000/r pc", "http://127.0.0.1:6000/rpc\r\nX: 1", "http://h/é"])
def test_a_path_that_cannot_go_in_a_request_line_is_refused(url):
    # Refused with the URL itself (urls.parse), before any request line is built.
    with pytest.raises(TransportError, match="percent-encode") as info:
        transport_module.http_target(url)
    assert info.value.sent is False


def test_urls_past_the_remembered_number_still_work(monkeypatch):
    monkeypatch.setattr(transport_module, "_MAX_ROUTES", 2)
    with WireServer(answering(b"HTTP/1.1 200 OK\r\n")) as server:
        client = Client(server.url, timeout=5)
        for n in range(5):
            client.url = f"{server.url}?n={n}"
            assert client.call("Bench.ping") == "pong"
        assert len(client._transport._routes) <= 2 and server.connections == 1


def test_the_pools_of_instances_that_are_gone_are_closed_when_a_new_one_appears(tmp_path):
    from rpc_cluster.client.transport import Transport
    from rpc_cluster.grading.service import GradingService

    transport = Transport()
    with (
        GradingService(port=0, db=str(tmp_path / "a.db"), registry="http://127.0.0.1:9/rpc") as first,
        GradingService(port=0, db=str(tmp_path / "b.db"), registry="http://127.0.0.1:9/rpc") as second,
    ):
        Client(first.url, transport=transport).Grades.count_students()
        (old_pool,) = transport._pools.values()
        for conn in old_pool._idle:
            conn.idle_since -= 3600  # as if its instance went away an hour ago
        Client(second.url, transport=transport).Grades.count_students()
        assert [key[2] for key in transport._pools] == [second.server.port]
        assert old_pool._idle == []


# -- GET, for the project's own small reads ------------------------------------------------------------


def test_a_get_returns_any_status_and_its_body_on_a_pooled_connection():
    heads = []

    def serve(conn):
        answers = iter([b"503 Service Unavailable", b"200 OK"])
        while (request := read_request(conn, body=False)) is not None:
            heads.append(request[0])
            body = b'{"health": "%s"}' % (b"false" if len(heads) == 1 else b"true")
            conn.sendall(b"HTTP/1.1 %s\r\nContent-Length: %d\r\n\r\n%s" % (next(answers), len(body), body))

    with WireServer(serve) as server:
        transport = Transport()
        url = f"http://127.0.0.1:{server.port}/health"
        assert transport.get(url, {"X-Probe": "up"}, timeout=5) == (503, b'{"health": "false"}')
        assert transport.get(url, timeout=5) == (200, b'{"health": "true"}')
        assert server.connections == 1
        assert heads[0] == b"GET /health HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Probe: up" % server.port
        assert b"content-length" not in heads[1].lower()
        transport.close()
        assert transport._pools == {}


def test_a_get_to_a_port_nobody_listens_on_is_a_transport_error_that_was_not_sent():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransportError, match="refused") as info:
        Transport().get(f"http://127.0.0.1:{port}/health", timeout=5)
    assert info.value.sent is False


def test_the_project_makes_its_own_http_calls_through_the_transport():
    # One HTTP client for the project's calls. etcd3gw brings its own requests (registry/etcd/gateway.py);
    # the registry's heartbeats (asyncio) and the portal's scraper (one deadline a scrape) use
    # sockets with the transport's parser or rules, not another HTTP library.
    allowed = {("rpc_cluster/registry/etcd/gateway.py", "requests")}
    libraries = ("urllib.request", "http.client", "requests", "urllib3", "httpx", "aiohttp")
    found = set()
    for package in ("rpc_cluster", "portal"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    names = [f"{node.module}.{alias.name}" for alias in node.names]
                else:
                    continue
                found |= {
                    (str(path.relative_to(ROOT)), name.split(".")[0]) for name in names if name.startswith(libraries)
                }
    assert found - allowed == set()
