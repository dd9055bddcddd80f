"""Servers for the RPC benchmarks, each serving ``Bench.ping() -> "pong"``.

    python -m benchmarks.servers cluster        our whole stack (Service on Granian)
    python -m benchmarks.servers cluster-unmeasured   the same without counting calls for /metrics
    python -m benchmarks.servers cluster-unprotected  the same with every limit against hostile clients off
    python -m benchmarks.servers bare-rsgi PORT no framework: Granian's embedded RSGI server on uvloop, JSON by hand
    granian --interface wsgi ... benchmarks.servers:bare_wsgi_app   the same JSON work as a bare WSGI app
    python -m benchmarks.servers waitress       our WSGI app on waitress
    python -m benchmarks.servers stdlib [DB]    the stdlib's SimpleXMLRPCServer (and Grades.get_student from DB)
    python -m benchmarks.servers pyro           a Pyro5 daemon
    gunicorn ... benchmarks.servers:wsgi_app    our WSGI app on gunicorn (see rpc_throughput)

Each prints "serving at URL" once it listens.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rpc_cluster import Limits, Service, rpc_method

# Large enough never to be reached in a benchmark: the limits switched off, but the same server.
_UNREACHED = 1 << 30
UNPROTECTED = Limits(
    body_timeout=None,
    idle_timeout=float(_UNREACHED),
    max_connections=_UNREACHED,
    max_batch=_UNREACHED,
    max_response_bytes=_UNREACHED,
)
_JSON_HEADERS = (("content-type", "application/json"),)


class Bench:
    @rpc_method(inline=True)
    def ping(self) -> str:
        """Answer "pong": the cheapest possible method (on the event loop)."""
        return "pong"

    @rpc_method
    def ping_on_thread(self) -> str:
        """Answer "pong" from a request thread: the cost of the hop to one."""
        return "pong"


class BenchService(Service):
    name = "BenchService"
    registers = False

    def expose(self, methods) -> None:
        methods.add_object("Bench", Bench())


class UnmeasuredBenchService(BenchService):
    """The same, with calls neither counted nor timed: the baseline of the metrics' cost."""

    measure_calls = False


def bare_answer(body: bytes) -> bytes:
    """The JSON-RPC answer to ``body`` with no framework: parsed, checked, "pong" or an error, serialized.

    The floor under our dispatch: the JSON work every server here does for ``Bench.ping``, and no more.
    """
    try:
        call = json.loads(body)
    except ValueError:
        return b'{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}'
    if not isinstance(call, dict) or call.get("jsonrpc") != "2.0" or call.get("method") != "Bench.ping":
        error = {"code": -32600, "message": "Invalid Request"}
        return json.dumps({"jsonrpc": "2.0", "error": error, "id": None}).encode()
    return json.dumps({"jsonrpc": "2.0", "result": "pong", "id": call.get("id")}).encode()


class BareRsgi:
    """An RSGI app doing ``bare_answer`` on the loop: what Granian and uvloop alone reach."""

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        proto.response_bytes(200, _JSON_HEADERS, bare_answer(await proto()))


def bare_wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The same as a WSGI app: what Granian's WSGI interface alone reaches."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    answer = bare_answer(environ["wsgi.input"].read(length))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
    return [answer]


def _serve_bare_rsgi(port: int) -> int:
    import uvloop
    from granian.constants import HTTPModes, Interfaces
    from granian.server.embed import Server

    # As HttpServer configures it (HTTP/1.1 only, no websockets), minus everything of ours.
    server = Server(
        BareRsgi(), port=port, interface=Interfaces.RSGI, http=HTTPModes.http1, websockets=False, log_enabled=False
    )
    print(f"serving at http://127.0.0.1:{port}/rpc", flush=True)
    uvloop.run(server.serve())
    return 0


# For gunicorn and waitress: the same WSGI app (dispatch, routes), served by their workers.
wsgi_app = BenchService(port=0).make_wsgi_app()


def main(kind: str) -> int:
    if kind == "cluster":
        return BenchService(port=0).run()
    if kind == "cluster-unmeasured":
        return UnmeasuredBenchService(port=0).run()
    if kind == "cluster-unprotected":
        return BenchService(port=0, limits=UNPROTECTED).run()
    if kind == "bare-rsgi":
        return _serve_bare_rsgi(int(sys.argv[2]))
    if kind == "waitress":
        import waitress

        server = waitress.create_server(wsgi_app, host="127.0.0.1", port=0, threads=8)
        print(f"serving at http://127.0.0.1:{server.effective_port}/rpc", flush=True)
        server.run()
        return 0
    if kind == "stdlib":
        from xmlrpc.server import SimpleXMLRPCServer

        server = SimpleXMLRPCServer(("127.0.0.1", 0), allow_none=True, logRequests=False)
        server.register_function(lambda: "pong", "Bench.ping")
        if len(sys.argv) > 2:  # the grading store too: the peer serves the same function from it
            from rpc_cluster.grading.storage.sqlite import SqliteStore

            store = SqliteStore(sys.argv[2])
            server.register_function(store.get_student, "Grades.get_student")
        print(f"serving at http://127.0.0.1:{server.server_address[1]}/RPC2", flush=True)
        server.serve_forever()
        return 0
    if kind == "pyro":
        import Pyro5.api

        daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
        uri = daemon.register(Pyro5.api.expose(type("PyroBench", (), {"ping": lambda self: "pong"})), "bench")
        print(f"serving at {uri}", flush=True)
        daemon.requestLoop()
        return 0
    print(f"unknown server kind {kind!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(main(sys.argv[1]))
