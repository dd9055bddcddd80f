"""Servers for the RPC benchmarks, each serving ``Bench.ping() -> "pong"``.

    python -m benchmarks.servers cluster        our whole stack (Service on Granian)
    python -m benchmarks.servers cluster-unmeasured   the same without counting calls for /metrics
    python -m benchmarks.servers waitress       our WSGI app on waitress
    python -m benchmarks.servers stdlib [DB]    the stdlib's SimpleXMLRPCServer (and Grades.get_student from DB)
    python -m benchmarks.servers pyro           a Pyro5 daemon
    gunicorn ... benchmarks.servers:wsgi_app    our WSGI app on gunicorn (see rpc_throughput)

Each prints "serving at URL" once it listens.
"""

from __future__ import annotations

import sys

from rpc_cluster import Service, rpc_method


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


# For gunicorn and waitress: the same WSGI app (dispatch, routes), served by their workers.
wsgi_app = BenchService(port=0).make_wsgi_app()


def main(kind: str) -> int:
    if kind == "cluster":
        return BenchService(port=0).run()
    if kind == "cluster-unmeasured":
        return UnmeasuredBenchService(port=0).run()
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
