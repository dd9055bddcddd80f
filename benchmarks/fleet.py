"""Many fake services in one process, for the registry benchmark.

Each URL ``/svc/<n>/rpc`` behaves as one service: it answers
``Service.heartbeat`` and records when each ``Service.update`` arrived. The
registry counts a heartbeat only when it names the service registered at that
URL, so a URL registered under another name than ``FakeService`` says which
in its query: ``/svc/<n>/rpc?as=Lat1``.
``GET /updates`` returns those records. Run: ``python -m benchmarks.fleet``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import urllib.parse

from rpc_cluster.serving.server import HttpServer

_HEARTBEAT = '{{"jsonrpc": "2.0", "result": {{"status": "ok", "service": {name}}}, "id": 1}}'
_TRUE = b'{"jsonrpc": "2.0", "result": true, "id": 1}'


class Fleet:
    def __init__(self) -> None:
        self.updates: list[tuple[str, float, list, list]] = []
        self.heartbeats = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        if environ["REQUEST_METHOD"] == "GET" and path == "/updates":
            with self._lock:
                body = json.dumps({"updates": self.updates, "heartbeats": self.heartbeats}).encode()
        else:
            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            if b"Service.heartbeat" in raw:
                with self._lock:
                    self.heartbeats += 1
                name = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("as", ["FakeService"])[0]
                body = _HEARTBEAT.format(name=json.dumps(name)).encode()
            else:
                params = json.loads(raw).get("params", {})
                with self._lock:
                    self.updates.append((path, time.time(), params.get("added", []), params.get("removed", [])))
                body = _TRUE
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def main() -> int:
    # The registry keeps a connection per service URL: 2,000 URLs here are 2,000 connections,
    # and Granian serves at most backlog / workers of them at once.
    server = HttpServer(Fleet(), "127.0.0.1", 0, threads=16, backlog=8192).start()
    print(f"fleet serving at {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
