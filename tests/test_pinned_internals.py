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


def test_granian_embedded_server_internals_used_by_serving_server_py():
    why = (
        "granian (pinned >=2.8.7,<2.9 in pyproject.toml): rpc_cluster/serving/server.py serves with Granian's "
        "public embedded server (granian.server.embed.Server, RSGI) but overrides its _init_shared_socket to "
        "serve a socket bound by the service (setting _shd, _sfd and _ssp, with granian.net.SocketHolder built "
        "from (fd, is_unix, backlog)), sets workers_kill_timeout after construction, waits for its wrks list "
        "to fill, and passes an incremental log_dictconfig so that Granian configures only its own logger. "
        "Check those in the new release, then adapt rpc_cluster/serving/server.py or keep the pin"
    )
    try:
        from granian.net import SocketHolder  # noqa: F401
        from granian.server.embed import Server
    except ImportError as exc:
        pytest.fail(f"{why}: {exc}")
    missing = [name for name in ("_init_shared_socket", "serve", "stop") if not callable(getattr(Server, name, None))]
    if missing:
        pytest.fail(f"{why}: missing {missing}")
    import logging
    import urllib.request

    from rpc_cluster.serving.server import HttpServer

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    # A handler of the application's own must survive Granian's logging setup, open and attached.
    kept = logging.StreamHandler()
    logging.getLogger().addHandler(kept)
    try:
        with (
            HttpServer(app, "127.0.0.1", 0, threads=1) as server,
            urllib.request.urlopen(f"{server.url}/", timeout=5) as response,
        ):
            body = response.read()
    except Exception as exc:
        pytest.fail(f"{why}: serving failed: {type(exc).__name__}: {exc}")
    finally:
        logging.getLogger().removeHandler(kept)
    assert body == b"ok"
    assert kept.stream is not None and not getattr(kept.stream, "closed", False), f"{why}: a handler was closed"
