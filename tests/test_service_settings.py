"""A service's settings as values: the limits and TLS files built once, what start() builds in one
value, the HTTP server told by the service which requests go first, and parts checked by type."""

from __future__ import annotations

import dataclasses
import json
import threading
import urllib.request
from pathlib import Path

import pytest
from helpers.echo_service import EchoService

from rpc_cluster import Limits, Service, TlsFiles
from rpc_cluster.runtime import flags
from rpc_cluster.runtime.service import Registered
from rpc_cluster.serving.server import HttpServer

ROOT = Path(__file__).resolve().parent.parent
NOWHERE = "http://127.0.0.1:9/rpc"
HEARTBEAT = b'{"jsonrpc": "2.0", "method": "Service.heartbeat", "id": 1}'


def parsed(*argv: str):
    parser = flags.ArgumentParser()
    flags.add_service_flags(parser, "ECHO", 0)
    return parser.parse_args(list(argv))


def test_the_flags_build_one_limits_and_one_tls_files_value():
    args = parsed("--max-batch", "7", "--body-timeout", "3", "--tls-ca", "ca.pem", "--tls-cert", "c.pem")
    kwargs = flags.service_kwargs(args)
    assert kwargs["limits"] == Limits(max_batch=7, body_timeout=3.0)
    assert kwargs["tls"] == TlsFiles(cert="c.pem", key=None, ca="ca.pem")
    # Values, not bags of attributes: nothing changes one after it is built.
    with pytest.raises(dataclasses.FrozenInstanceError):
        kwargs["limits"].max_batch = 8
    # No limit or TLS file is a loose argument any more.
    assert set(kwargs) == {"host", "port", "advertise", "registry", "token", "threads", "limits", "tls"}


def test_a_service_hands_its_limits_whole_to_its_http_server():
    limits = Limits(max_batch=3, body_timeout=2.0)
    with EchoService(port=0, registry=NOWHERE, limits=limits) as service:
        assert service.server.limits is limits
        batch = [{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"], "id": n} for n in range(4)]
        request = urllib.request.Request(service.url, json.dumps(batch).encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.loads(answer.read())["error"]["code"] == -32600
    assert Service(port=0).limits == Limits()  # the plain constructor keeps working


def test_what_start_builds_exists_only_once_started():
    service = EchoService(port=0, registry=NOWHERE)
    assert service.registered is None
    with pytest.raises(RuntimeError, match="until it starts"):
        service.server  # noqa: B018 (the property is the test)
    with service:
        registered = service.registered
        assert isinstance(registered, Registered)
        assert registered.push_verifier.required == frozenset(service.requirements)
        assert service.server.port > 0 and service.url.endswith(f":{service.server.port}/rpc")


def test_the_service_names_the_requests_that_go_first():
    service = EchoService(port=0, registry=NOWHERE)
    assert service.goes_first("/health", b"")
    assert service.goes_first("/rpc", HEARTBEAT)
    assert not service.goes_first("/rpc", b"[" + HEARTBEAT + b"]")  # a batch waits its turn
    assert not service.goes_first("/rpc", b'{"jsonrpc": "2.0", "method": "Echo.echo", "params": ["x"], "id": 1}')
    assert not service.goes_first("/rpc", b'{"method": "Echo.echo", "params": ["Service.heartbeat"]}')

    class Urgent(EchoService):
        priority_methods = frozenset({"Service.heartbeat", "Echo.whoami"})

    assert Urgent(port=0, registry=NOWHERE).goes_first("/rpc", b'{"jsonrpc": "2.0", "method": "Echo.whoami", "id": 2}')


def test_the_http_server_asks_its_priority_callback_which_requests_skip_the_queue():
    """With its one request thread held, a request the callback names is still answered."""
    held, release = threading.Event(), threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            held.set()
            release.wait(30)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    with HttpServer(app, threads=1, priority=lambda path, body: path == "/urgent") as server:
        slow = threading.Thread(target=lambda: urllib.request.urlopen(f"{server.url}/slow", timeout=30).read())
        slow.start()
        try:
            assert held.wait(10), "the slow request never reached the app"
            with urllib.request.urlopen(f"{server.url}/urgent", timeout=10) as answer:
                assert answer.read() == b"ok"
        finally:
            release.set()
            slow.join(30)


def test_a_part_that_misses_a_method_fails_the_type_check(tmp_path):
    api = pytest.importorskip("mypy.api")
    snippet = tmp_path / "parts.py"
    snippet.write_text(
        "from rpc_cluster import LogShipping, Service\n"
        "\n"
        "\n"
        "class NoStop:\n"
        "    requires = ('X',)\n"
        "\n"
        "    def start(self, service: Service) -> None:\n"
        "        pass\n"
        "\n"
        "\n"
        "service = Service(port=0)\n"
        "service.add_part(LogShipping())\n"
        "service.add_part(NoStop())\n"
    )
    # Run from the repository, so that mypy reads rpc_cluster's own source and types.
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        options = ["--strict", "--follow-imports=silent", "--no-error-summary", "--cache-dir", str(tmp_path / "cache")]
        out, err, status = api.run([*options, str(snippet)])
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1, out + err
    assert len(errors) == 1 and errors[0].startswith(f"{snippet}:13:"), out
    assert '"NoStop" is missing following "Part" protocol member' in out and "stop" in out


def test_a_misspelled_setting_fails_the_type_check(tmp_path):
    api = pytest.importorskip("mypy.api")
    snippet = tmp_path / "settings.py"
    lines = [
        "import argparse",
        "",
        "from portal.service import PortalService",
        "from rpc_cluster.grading.service import GradingService",
        "from rpc_cluster.logs.service import LogService",
        "from rpc_cluster.registry.service import RegistryService",
        "from rpc_cluster.runtime import flags",
        "",
        "args = argparse.Namespace()",
        "GradingService(db='g.db', **flags.service_kwargs(args))",
        "RegistryService(push_workers=4, port=0, limits=None)",
        "GradingService(prot=0)",
        "RegistryService(limts=None)",
        "LogService(tls_file=None)",
        "PortalService(hots='127.0.0.1')",
        "",
    ]
    snippet.write_text("\n".join(lines))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        options = ["--strict", "--follow-imports=silent", "--no-error-summary", "--cache-dir", str(tmp_path / "cache")]
        out, err, status = api.run([*options, str(snippet)])
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1, out + err
    # One error on each misspelled line, naming the keyword; none on the two right ones.
    wrong = {12: "prot", 13: "limts", 14: "tls_file", 15: "hots"}
    assert sorted({int(line.split(":")[1]) for line in errors}) == sorted(wrong), out
    for number, keyword in wrong.items():
        assert any(line.startswith(f"{snippet}:{number}:") and f'"{keyword}"' in line for line in errors), out


def test_what_open_builds_is_there_only_once_opened(tmp_path):
    from portal.service import PortalService
    from rpc_cluster import LogShipping
    from rpc_cluster.grading.service import GradingService
    from rpc_cluster.logs.service import LogService
    from rpc_cluster.registry.service import RegistryService

    unopened = {
        RegistryService(port=0): ("store", "notifier", "health_check"),
        GradingService(port=0, registry=NOWHERE): ("store",),
        LogService(port=0, registry=NOWHERE, log_file=tmp_path / "x.log"): ("store",),
        PortalService(port=0, registry=NOWHERE): ("watch",),
        LogShipping(): ("shipper",),
        HttpServer(lambda environ, start_response: []): ("port",),
    }
    for owner, names in unopened.items():
        for name in names:
            with pytest.raises(RuntimeError):
                getattr(owner, name)
    with RegistryService(port=0, heartbeat_interval=60) as registry:
        assert registry.store.lookup("Nobody") == []
        assert registry.health_check is not None and registry.notifier is not None
    with LogService(port=0, registry=NOWHERE, log_file=tmp_path / "y.log") as logs:
        assert logs.store.path == tmp_path / "y.log"
    assert logs.store.path == tmp_path / "y.log"  # still readable once stopped, as before
    assert logs.server.port > 0  # the port stays known after stop


def test_the_registry_flag_is_declared_once_for_clients_and_services():
    client, service = flags.ArgumentParser(), flags.ArgumentParser()
    flags.add_registry_flag(client)
    flags.add_service_flags(service, "ECHO", 0)

    def registry_help(parser):
        return next(action.help for action in parser._actions if "--registry" in action.option_strings)

    assert registry_help(client) == registry_help(service)


def test_the_registry_port_is_one_constant():
    from rpc_cluster.client.registry_client import DEFAULT_REGISTRY, DEFAULT_REGISTRY_PORT
    from rpc_cluster.registry import service as registry
    from rpc_cluster.tools import up

    parser = flags.ArgumentParser()
    registry.add_arguments(parser)
    assert parser.parse_args([]).port == DEFAULT_REGISTRY_PORT
    assert up.SERVICES["registry"] == DEFAULT_REGISTRY_PORT
    assert up.HA_SERVICES["registry2"] == DEFAULT_REGISTRY_PORT + 1
    assert f"http://127.0.0.1:{DEFAULT_REGISTRY_PORT}/rpc" == DEFAULT_REGISTRY


def test_check_workers_sizes_the_push_notifier():
    from rpc_cluster.registry.service import RegistryService

    with RegistryService(port=0, heartbeat_interval=60, push_workers=3) as registry:
        assert registry.notifier._pool._max_workers == 3
