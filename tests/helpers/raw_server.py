"""Bare HTTP servers on 127.0.0.1 for the tests that need a server to misbehave on the wire.

``WireServer`` hands each connection, one at a time, to a function that
writes whatever bytes it likes (chunked answers, HTTP/1.0, a close in the
middle of the headers, a reset); ``read_request`` reads one request from it.
``RawServer`` hands each request body to a function, one request per
connection: read a request and close without answering (a process killed
after doing the work), or answer only after forwarding it. Its ``received``
holds each request's headers (lowercase names), to see what a caller sent.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

# What a RawServer handler returns: (status, body) to answer, or None to close without a word.
Answer = tuple[int, bytes] | None


class WireServer:
    """Accepts connections one at a time and runs ``serve(conn)`` on each; a context manager.

    ``connections`` counts those accepted. An OSError in ``serve`` (the client
    went away) ends that connection only; ``close()`` ends the one being served.
    """

    def __init__(self, serve: Callable[[socket.socket], None]):
        self._serve_one = serve
        self.connections = 0
        self._current: socket.socket | None = None
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/rpc"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._current = conn
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    self._serve_one(conn)

    def close(self) -> None:
        self._stop.set()
        current = self._current
        if current is not None:
            with contextlib.suppress(OSError):
                current.shutdown(socket.SHUT_RDWR)  # a keep-alive connection the client still holds
        self._thread.join(5)
        self._sock.close()

    def __enter__(self) -> WireServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RawServer(WireServer):
    """Hands each request body to ``handle`` and writes its answer with ``Connection: close``."""

    def __init__(self, handle: Callable[[bytes], Answer]):
        self._handle = handle
        #: Each request's headers, names in lowercase, in the order they came.
        self.received: list[dict[str, str]] = []
        super().__init__(self._answer_one)

    def _answer_one(self, conn: socket.socket) -> None:
        request = read_request(conn)
        if request is None:
            return
        self.received.append(_headers(request[0]))
        answer = self._handle(request[1])
        if answer is not None:
            status, body = answer
            conn.sendall(
                f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )


def read_request(conn: socket.socket, *, body: bool = True) -> tuple[bytes, bytes] | None:
    """(head, body) of the next request on ``conn``; None when the client closed it first.

    ``body=False`` returns after the head, with only what came along with it.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return None
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    if not body:
        return head, rest
    length = int(
        next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    )
    while len(rest) < length:
        more = conn.recv(65536)
        if not more:
            return None
        rest += more
    return head, rest


def _headers(head: bytes) -> dict[str, str]:
    """The header fields of a request head, names in lowercase."""
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers
