"""Private parts of pinned dependencies that our code relies on, checked loudly.

Each test imports exactly the internals one module uses and checks they still
behave as that module expects. When an upgrade breaks one, the failure names
the package, its pin and what to check, instead of a wire answer going wrong
somewhere else.
"""

import json

import pytest


def test_jsonrpcserver_response_layer_used_by_jsonrpc_py():
    why = (
        "jsonrpcserver (pinned ==5.0.9 in pyproject.toml): rpc_cluster/core/jsonrpc.py uses its non-__all__ "
        "response layer (jsonrpcserver.response.SuccessResponse, ErrorResponse, serialize_success, "
        "serialize_error, jsonrpcserver.sentinels.NODATA). Check those names and the shape of the "
        "serialized objects in the new release, then adapt jsonrpc.py or keep the pin"
    )
    try:
        from jsonrpcserver.response import ErrorResponse, SuccessResponse, serialize_error, serialize_success
        from jsonrpcserver.sentinels import NODATA
    except ImportError as exc:
        pytest.fail(f"{why}: {exc}")
    try:
        success = serialize_success(SuccessResponse("pong", 1))
        with_data = serialize_error(ErrorResponse(-32601, "Method not found", "x", None))
        without_data = serialize_error(ErrorResponse(-32603, "Internal error", NODATA, "a"))
        null_data = serialize_error(ErrorResponse(404, "gone", None, 2))
    except Exception as exc:  # any change of signature or behaviour
        pytest.fail(f"{why}: {type(exc).__name__}: {exc}")
    # Exact text, member order included: it is what clients receive.
    expected = [
        (success, '{"jsonrpc": "2.0", "result": "pong", "id": 1}'),
        (
            with_data,
            '{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found", "data": "x"}, "id": null}',
        ),
        (without_data, '{"jsonrpc": "2.0", "error": {"code": -32603, "message": "Internal error"}, "id": "a"}'),
        (null_data, '{"jsonrpc": "2.0", "error": {"code": 404, "message": "gone", "data": null}, "id": 2}'),
    ]
    for got, want in expected:
        if json.dumps(got) != want:
            pytest.fail(f"{why}: serialized {json.dumps(got)}, expected {want}")


def test_granian_thread_worker_internals_used_by_serving_server_py():
    why = (
        "granian (pinned >=2.8.7,<2.9 in pyproject.toml): rpc_cluster/serving/server.py runs Granian's "
        "thread worker inside the service's process through its internals (granian.server.mt.MTServer "
        "and its _spawn_workers/_stop_workers/_init_shared_socket/_check_gil, granian.net.SocketHolder, "
        "granian.server.common.configure_logging; for its own WSGI runner: granian._granian.WSGIWorker, "
        "granian._futures._new_cbscheduler, granian.server.common.WORKERS_METHODS and TaskImpl, "
        "granian.server.mt.WorkerThread.wrap_target, the response object's response_bytes/response_iter, "
        "and hyper aborting a response shorter than its Content-Length, tests/test_hostile_clients.py). "
        "Check those in the new release, then adapt "
        "rpc_cluster/serving/server.py or keep the pin"
    )
    try:
        import granian.server.common as common
        from granian._futures import _new_cbscheduler  # noqa: F401
        from granian._granian import WSGIWorker  # noqa: F401
        from granian.net import SocketHolder  # noqa: F401
        from granian.server.common import WORKERS_METHODS, TaskImpl  # noqa: F401
        from granian.server.mt import MTServer, WorkerThread  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"{why}: {exc}")
    missing = [
        name
        for name in ("_spawn_workers", "_stop_workers", "_init_shared_socket", "_check_gil", "serve")
        if not callable(getattr(MTServer, name, None))
    ]
    if not callable(getattr(common, "configure_logging", None)):
        missing.append("granian.server.common.configure_logging")
    if missing:
        pytest.fail(f"{why}: missing {missing}")
    # SocketHolder(fd, is_unix, backlog) is not probed on its own: a bad descriptor
    # aborts the process. Serving for real exercises it, and all of the above.
    import urllib.request

    from rpc_cluster.serving.server import HttpServer

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    try:
        with (
            HttpServer(app, "127.0.0.1", 0, threads=1) as server,
            urllib.request.urlopen(f"{server.url}/", timeout=5) as response,
        ):
            body = response.read()
    except Exception as exc:
        pytest.fail(f"{why}: serving failed: {type(exc).__name__}: {exc}")
    assert body == b"ok"
