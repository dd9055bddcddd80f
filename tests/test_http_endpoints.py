"""/rpc, /RPC2, GET /rpc, /health over real HTTP on a loopback port."""

import json
import urllib.error
import urllib.request
import xmlrpc.client

import pytest
from helpers.echo_service import EchoService


@pytest.fixture(scope="module")
def echo():
    # No registry is running: the service serves anyway and keeps retrying quietly.
    service = EchoService(port=0, registry="http://127.0.0.1:9/rpc")
    with service:
        yield service


def post(url, body, headers=None):
    request = urllib.request.Request(url, data=body, headers=headers or {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_call_returns_200_with_a_json_body(echo):
    status, headers, body = post(echo.url, b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["hi"], "id": 7}')
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"jsonrpc": "2.0", "result": "hi", "id": 7}


def test_errors_are_200_too(echo):
    status, _, body = post(echo.url, b'{"jsonrpc": "2.0", "method": "Nope.nope", "id": 1}')
    assert status == 200 and json.loads(body)["error"]["code"] == -32601


def test_notification_only_is_204_with_no_body(echo):
    status, _, body = post(echo.url, b'[{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"]}]')
    assert (status, body) == (204, b"")


def test_body_over_the_limit_is_413(echo):
    big = json.dumps({"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x" * (1 << 20)], "id": 1}).encode()
    status, _, _ = post(echo.url, big)
    assert status == 413


def test_traceback_never_reaches_the_caller(echo):
    status, _, body = post(echo.url, b'{"jsonrpc": "2.0", "method": "Echo.fail", "id": 1}')
    assert status == 200
    assert json.loads(body)["error"] == {"code": -32603, "message": "Internal error"}
    assert b"secret" not in body and b"Traceback" not in body


def test_trace_id_is_taken_and_echoed(echo):
    _status, headers, body = post(
        echo.url, b'{"jsonrpc": "2.0", "method": "Echo.whoami", "id": 1}', {"X-Trace-Id": "trace-abc-123"}
    )
    assert headers["x-trace-id"] == "trace-abc-123"
    assert json.loads(body)["result"]["trace_id"] == "trace-abc-123"
    _, headers, body = post(echo.url, b'{"jsonrpc": "2.0", "method": "Echo.whoami", "id": 1}')
    assert len(headers["x-trace-id"]) == 32
    assert json.loads(body)["result"]["trace_id"] == headers["x-trace-id"]


def test_get_rpc_is_the_openrpc_document_and_equals_rpc_discover(echo):
    with urllib.request.urlopen(echo.url, timeout=5) as response:
        document = json.loads(response.read())
    names = {m["name"] for m in document["methods"]}
    assert {"Echo.echo", "Echo.sleep", "Service.heartbeat", "Service.update"} <= names
    echo_method = next(m for m in document["methods"] if m["name"] == "Echo.echo")
    assert echo_method["params"] == [{"name": "text", "schema": {"type": "string"}, "required": True}]
    assert "unchanged" in echo_method["summary"]
    _, _, body = post(echo.url, b'{"jsonrpc": "2.0", "method": "rpc.discover", "id": 1}')
    assert json.loads(body)["result"] == document


def test_health(echo):
    base = echo.url.rsplit("/", 1)[0]
    with urllib.request.urlopen(base + "/health", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"status": "ok", "service": "EchoService"}


def test_unknown_path_is_404(echo):
    base = echo.url.rsplit("/", 1)[0]
    status, _, _ = post(base + "/nope", b"{}")
    assert status == 404


def test_service_methods(echo):
    _, _, body = post(echo.url, b'{"jsonrpc": "2.0", "method": "Service.heartbeat", "id": 1}')
    assert json.loads(body)["result"] == {"status": "ok", "service": "EchoService"}
    update = {
        "jsonrpc": "2.0",
        "method": "Service.update",
        "id": 2,
        "params": {"added": [{"service_name": "X", "service_url": "http://127.0.0.1:1/rpc"}]},
    }
    _, _, body = post(echo.url, json.dumps(update).encode())
    assert json.loads(body)["result"] is True
    # A hint, not an order: nothing the registry does not list enters the table.
    assert echo.providers.get("X") == []
    bad = {"jsonrpc": "2.0", "method": "Service.update", "id": 3, "params": {"added": "nonsense"}}
    _, _, body = post(echo.url, json.dumps(bad).encode())
    assert json.loads(body)["error"]["data"]["field"] == "added"


# -- XML-RPC through the stdlib client -------------------------------------------------------


@pytest.fixture
def proxy(echo):
    return xmlrpc.client.ServerProxy(echo.url.replace("/rpc", "/RPC2"), allow_none=True)


def test_xmlrpc_calls_the_same_methods(proxy):
    assert proxy.Echo.echo("hello") == "hello"
    assert proxy.Service.heartbeat() == {"status": "ok", "service": "EchoService"}


def test_xmlrpc_none_travels_as_nil(proxy):
    assert proxy.Echo.echo(None) is None


def test_xmlrpc_introspection(proxy):
    methods = proxy.system.listMethods()
    assert "Echo.echo" in methods and "system.methodHelp" in methods
    assert "unchanged" in proxy.system.methodHelp("Echo.echo")


@pytest.mark.parametrize(
    "call, code",
    [
        (lambda p: p.Nope.nope(), -32601),
        (lambda p: p.Echo.echo(), -32602),
        (lambda p: p.Echo.fail(), -32603),
        (lambda p: p.system.methodHelp("Nope.nope"), -32601),
    ],
)
def test_xmlrpc_faults_carry_the_json_rpc_codes(proxy, call, code):
    with pytest.raises(xmlrpc.client.Fault) as info:
        call(proxy)
    assert info.value.faultCode == code
    assert "secret" not in info.value.faultString


def test_xmlrpc_application_error_code(proxy, echo):
    with pytest.raises(xmlrpc.client.Fault) as info:
        proxy.Service.update("nonsense")
    assert info.value.faultCode == -32602


def test_xmlrpc_malformed_document_is_a_parse_error(echo):
    status, _, body = post(echo.url.replace("/rpc", "/RPC2"), b"<methodCall><nope", {"Content-Type": "text/xml"})
    assert status == 200
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc.client.loads(body)
    assert info.value.faultCode == -32700


# -- the cluster token --------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded():
    with EchoService(port=0, registry="http://127.0.0.1:9/rpc", token="s3cret") as service:
        yield service


def test_token_refused_without_it(guarded):
    status, headers, _ = post(guarded.url, b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"], "id": 1}')
    assert status == 401 and "Bearer" in headers["www-authenticate"]
    status, _, _ = post(
        guarded.url,
        b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"], "id": 1}',
        {"Authorization": "Bearer wrong"},
    )
    assert status == 401
    proxy = xmlrpc.client.ServerProxy(guarded.url.replace("/rpc", "/RPC2"))
    with pytest.raises(xmlrpc.client.ProtocolError) as info:
        proxy.Echo.echo("x")
    assert info.value.errcode == 401


def test_token_accepted_with_it(guarded):
    status, _, body = post(
        guarded.url,
        b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"], "id": 1}',
        {"Authorization": "Bearer s3cret", "Content-Type": "application/json"},
    )
    assert status == 200 and json.loads(body)["result"] == "x"


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_the_bearer_scheme_is_accepted_in_any_case(guarded, scheme):
    # RFC 9110, section 11.1: the authentication scheme is case-insensitive.
    auth = {"Authorization": f"{scheme} s3cret"}
    status, _, body = post(guarded.url, b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"], "id": 1}', auth)
    assert status == 200 and json.loads(body)["result"] == "x"
    proxy = xmlrpc.client.ServerProxy(guarded.url.replace("/rpc", "/RPC2"), headers=list(auth.items()))
    assert proxy.Echo.echo("x") == "x"
    metrics = urllib.request.Request(guarded.url.replace("/rpc", "/metrics"), headers=auth)
    with urllib.request.urlopen(metrics, timeout=10) as response:
        assert response.status == 200
    openrpc = urllib.request.Request(guarded.url, headers=auth)
    with urllib.request.urlopen(openrpc, timeout=10) as response:
        assert response.status == 200


@pytest.mark.parametrize(
    "authorization",
    ["bearer wrong", "bearer s3cretx", "bearer", "bearers3cret", "Basic s3cret", "s3cret", "bearer S3CRET"],
)
def test_only_the_scheme_is_case_insensitive_never_the_token(guarded, authorization):
    body = b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"], "id": 1}'
    assert post(guarded.url, body, {"Authorization": authorization})[0] == 401


def test_bearer_token_reads_the_token_of_any_case_of_the_scheme():
    from rpc_cluster.serving.rpc_app import bearer_token

    assert bearer_token("Bearer abc") == bearer_token("bearer abc") == bearer_token("BEARER  abc") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearerabc") is None
    assert bearer_token("") is None


def test_client_sends_the_token_from_the_environment(guarded, monkeypatch):
    from rpc_cluster import Client, Unauthorized

    with pytest.raises(Unauthorized) as info:
        Client(guarded.url, token="").call("Echo.echo", "x")
    assert info.value.code == 401
    monkeypatch.setenv("RPC_CLUSTER_TOKEN", "s3cret")
    assert Client(guarded.url).call("Echo.echo", "x") == "x"


def test_a_path_with_its_own_body_limit():
    from rpc_cluster.serving.server import HttpServer

    def app(environ, start_response):
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(len(body)).encode()]

    limits = {"/upload": 3 << 20, "/classes/<id>/import": 3 << 20}
    with HttpServer(app, max_body=1 << 20, body_limits=limits) as server:
        one_and_a_half = b"x" * (3 << 19)
        assert post(server.url + "/upload", one_and_a_half)[::2] == (200, str(3 << 19).encode())
        assert post(server.url + "/rpc", one_and_a_half)[0] == 413
        # <id> is one segment of any text, and no more than one.
        assert post(server.url + "/classes/12/import", one_and_a_half)[::2] == (200, str(3 << 19).encode())
        assert post(server.url + "/classes/12/import/more", one_and_a_half)[0] == 413
        assert post(server.url + "/classes/1/2/import", one_and_a_half)[0] == 413
        status, _, body = post(server.url + "/upload", b"x" * ((3 << 20) + 1))
        assert status == 413 and json.loads(body)["limit_bytes"] == 3 << 20
        assert post(server.url + "/rpc", b"x" * (1 << 20))[::2] == (200, str(1 << 20).encode())
