"""A bare HTTP server on 127.0.0.1 that hands each request body to a function, one per connection.

For the tests that need a server to misbehave on the wire in ways no real one
does on purpose: read a request and close without answering (a process killed
after doing the work), or answer only after forwarding it. ``received``
holds each request's headers (lowercase names), to see what a caller sent.
"""

from __future__ import annotations

import socket
import threading
from typing import Callable

# What the handler returns: (status, body) to answer, or None to close without a word.
Answer = tuple[int, bytes] | None


class RawServer:
    def __init__(self, handle: Callable[[bytes], Answer]):
        self._handle = handle
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/rpc"
        self._stop = threading.Event()
        #: Each request's headers, names in lowercase, in the order they came.
        self.received: list[dict[str, str]] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                headers, body = _read_request(conn)
                self.received.append(headers)
                answer = self._handle(body)
                if answer is not None:
                    status, body = answer
                    conn.sendall(f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                                 f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()


def _read_request(conn: socket.socket) -> tuple[dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    while len(body) < length:
        body += conn.recv(65536)
    return headers, body
