"""A bare HTTP server on 127.0.0.1 that hands each request body to a function, one per connection.

For the tests that need a server to misbehave on the wire in ways no real one
does on purpose: read a request and close without answering (a process killed
after doing the work), or answer only after forwarding it.
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
                answer = self._handle(_read_body(conn))
                if answer is not None:
                    status, body = answer
                    conn.sendall(f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                                 f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()


def _read_body(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += conn.recv(65536)
    return body
