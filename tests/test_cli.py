"""The command line: help, one-line errors with exit code 2, services and call."""

import ast
import json
import subprocess
import sys

import pytest
from helpers.processes import ROOT
from helpers.waiting import wait_until


def run(*args, env=None, timeout=30):
    return subprocess.run(
        [sys.executable, "-m", "rpc_cluster.tools.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


@pytest.mark.parametrize(
    "command", ["up", "registry", "log", "grading", "portal", "services", "call", "logs", "user", "user add"]
)
def test_every_command_has_help(command):
    result = run(*command.split(), "--help")
    assert result.returncode == 0
    assert "usage: rpc-cluster" in result.stdout


def test_the_cli_imports_what_each_command_runs():
    # Real imports (not importlib strings), so tests/test_architecture.py sees every arrow.
    tree = ast.parse((ROOT / "rpc_cluster" / "tools" / "cli.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            anchor = ["rpc_cluster", "tools"][: 3 - node.level] if node.level else []
            base = ".".join([*anchor, *([node.module] if node.module else [])])
            imported |= {f"{base}.{alias.name}" for alias in node.names}
    runs = {
        "rpc_cluster.tools.up",
        "rpc_cluster.registry.service",
        "rpc_cluster.logs.service",
        "rpc_cluster.grading.service",
        "portal.service",
        "rpc_cluster.logs.command",
        "rpc_cluster.tools.user_command",
    }
    assert runs - imported == set()
    assert not any(name.startswith("importlib") for name in imported)


def test_help_names_the_environment_variables():
    text = run("registry", "--help").stdout
    for variable in (
        "RPC_CLUSTER_REGISTRY_PORT",
        "RPC_CLUSTER_HEARTBEAT_INTERVAL",
        "RPC_CLUSTER_TOKEN",
        "RPC_CLUSTER_DEREGISTER_AFTER",
    ):
        assert variable in text


@pytest.mark.parametrize(
    "args",
    [
        ["registry", "--port", "abc"],
        ["registry", "--port", "70000"],
        ["registry", "--heartbeat-interval", "-1"],
        ["registry", "--advertise", "ftp://x"],
        ["registry", "--bogus"],
        ["call", "Registry", "Registry.lookup", "{not json"],
        ["call", "Registry", "Registry.lookup", "42"],
        ["call"],
        ["nosuchcommand"],
    ],
)
def test_bad_values_are_one_line_and_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_bad_environment_value_is_one_line_and_exit_2():
    import os

    result = run("registry", env=dict(os.environ, RPC_CLUSTER_HEARTBEAT_INTERVAL="soon"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "rpc-cluster registry: error: $RPC_CLUSTER_HEARTBEAT_INTERVAL: 'soon' is not a number of seconds"
    )


def test_port_in_use_is_one_line(processes):
    registry = processes.registry()
    port = registry.url().split(":")[2].split("/")[0]
    result = run("registry", "--port", port)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "cannot listen" in result.stderr


def test_register_lookup_list_deregister_from_the_cli(processes):
    # A long interval: the fake service (nothing listens on port 1) must stay passing until looked up.
    registry = processes.registry(interval=60, timeout=1)
    url = registry.url()
    flags = ["--registry", url]
    service_url = "http://127.0.0.1:1/rpc"
    result = run("call", "Registry", "Registry.register", json.dumps(["DemoService", service_url]), *flags)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"providers": {}}
    assert json.loads(run("call", url, "Registry.lookup", '{"service_name": "DemoService"}').stdout) == [service_url]
    listing = run("services", *flags).stdout
    assert "DemoService" in listing and service_url in listing and "STATUS" in listing
    assert run("call", "Registry", "Registry.deregister", json.dumps([service_url]), *flags).returncode == 0
    missing = run("call", "Registry", "Registry.deregister", json.dumps([service_url]), *flags)
    assert missing.returncode == 1
    assert json.loads(missing.stderr)["error"]["code"] == 404


def test_call_resolves_a_service_name(processes):
    registry = processes.registry()
    echo = processes.echo(registry.url())
    echo.url()
    wait_until(
        lambda: "EchoService" in run("services", "--registry", registry.url()).stdout, 10, message="registration"
    )
    result = run("call", "EchoService", "Echo.echo", '["via the registry"]', "--registry", registry.url())
    assert result.returncode == 0 and json.loads(result.stdout) == "via the registry"


def test_call_to_nothing_is_one_line_and_non_zero():
    result = run("call", "http://127.0.0.1:9/rpc", "Echo.echo", '["x"]')
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "refused" in result.stderr
    assert run("services", "--registry", "http://127.0.0.1:9/rpc").returncode == 1


def test_cmd_script_runs_the_registry(processes):
    registry = processes.start("cmd/registryservice/main.py", "--port", "0")
    assert registry.url().startswith("http://127.0.0.1:")
