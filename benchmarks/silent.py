"""Services that go silent on a signal, for the registry benchmark: a cut link on loopback.

    python -m benchmarks.silent COUNT [--seconds S]

Opens COUNT listening sockets on 127.0.0.1, prints "silent ports P1,P2,...",
and answers ``Service.heartbeat`` on each (HTTP/1.1 keep-alive) until it gets
SIGUSR1. Then nothing answers again and nothing is refused: on the even
ports nothing is accepted any more (the kernel completes a few handshakes
into the backlog of 8, then drops SYNs, so connecting hangs), on the odd
ports connections are accepted and read, never answered. Connections open
before the signal are never answered either. Exits after ``--seconds``
(default 600) in any case.
"""

from __future__ import annotations

import argparse
import selectors
import signal
import socket
import sys
import threading
import time

_BODY = b'{"jsonrpc": "2.0", "result": {"status": "ok", "service": "SilentService"}, "id": 1}'
_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(_BODY), _BODY)


def main() -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.silent")
    parser.add_argument("count", type=int)
    parser.add_argument("--seconds", type=float, default=600.0)
    args = parser.parse_args()
    silent = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: silent.set())
    selector = selectors.DefaultSelector()
    # The signal wakes select() at once: otherwise heartbeats went on being answered for up to
    # one select timeout after the cut, and the measurement counted that time against the registry.
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
    selector.register(wake_r, selectors.EVENT_READ, "wake")
    listeners = []
    for _ in range(args.count):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        selector.register(listener, selectors.EVENT_READ, "listener")
        listeners.append(listener)
    print("silent ports " + ",".join(str(s.getsockname()[1]) for s in listeners), flush=True)
    buffers: dict[socket.socket, bytes] = {}
    went_silent = False
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:  # bounded in time
        if silent.is_set() and not went_silent:
            went_silent = True
            for n, listener in enumerate(listeners):
                if n % 2 == 0:
                    selector.unregister(listener)  # never accepted again: the backlog fills
            for conn in list(buffers):
                selector.unregister(conn)  # open before the cut: never read, never answered
        for key, _ in selector.select(0.1):
            sock = key.fileobj
            if key.data == "wake":
                sock.recv(64)
                continue
            if key.data == "listener":
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                buffers[conn] = b""
                selector.register(conn, selectors.EVENT_READ, "conn")
                continue
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:  # the registry gave up on it: close, so sockets stay bounded
                selector.unregister(sock)
                buffers.pop(sock, None)
                sock.close()
                continue
            if silent.is_set():
                continue  # read, never answered
            buffers[sock] += data
            # Answer each complete request (head, then Content-Length bytes of body).
            while b"\r\n\r\n" in buffers[sock]:
                head, _, rest = buffers[sock].partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                if len(rest) < length:
                    break
                buffers[sock] = rest[length:]
                sock.sendall(_ANSWER)
    return 0


if __name__ == "__main__":
    sys.exit(main())
