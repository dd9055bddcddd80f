"""Every URL the command line takes is checked as it is parsed: one line on stderr, exit code 2.

Odd URLs used to end in a UnicodeEncodeError or ValueError traceback, and
``rpc-cluster grading --registry 'http://€:1/rpc'`` printed one and went on
running, never registered.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers.processes import ROOT


def run(tmp_path, *args, env=None):
    # In a folder of its own: a service that wrongly starts writes its files there, not in the tree.
    try:
        return subprocess.run(
            [sys.executable, "-m", "rpc_cluster.tools.cli", *args],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"rpc-cluster {' '.join(args)} was still running after 30 s: {exc.stderr!r}")


def assert_one_line_exit_2(result, flag: str):
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert flag in line


@pytest.mark.parametrize(
    "target",
    [
        "http://[::1",
        "http://€:1/rpc",
        "http://user:pw@127.0.0.1:1/rpc",
        "http://127.0.0.1:0/rpc",
        "ftp://127.0.0.1:1/rpc",
    ],
)
def test_call_with_a_url_it_cannot_use(tmp_path, target):
    assert_one_line_exit_2(run(tmp_path, "call", target, "Service.heartbeat"), "NAME_OR_URL")


@pytest.mark.parametrize(
    "args, flag",
    [
        (["logs", "--url", "http://€:1/rpc"], "--url"),
        (["logs", "--registry", "http://[::1"], "--registry"),
        (["services", "--registry", "http://€:1/rpc"], "--registry"),
        (["services", "--registry", "http://127.0.0.1:3000/rpc,http://€:1/rpc"], "--registry"),
        (["call", "Registry", "Registry.services", "--registry", "http://127.0.0.1:65536/rpc"], "--registry"),
        (["grading", "--port", "0", "--registry", "http://€:1/rpc"], "--registry"),
        (["log", "--port", "0", "--advertise", "http://€:1/rpc"], "--advertise"),
        (["registry", "--port", "0", "--advertise", "http://[::1"], "--advertise"),
        (["up", "--host", "€"], "--host"),
        (["registry", "--port", "0", "--store", "etcd://€:1"], "--store"),
        (["registry", "--port", "0", "--store", "etcd://a b:2379"], "--store"),
        (["registry", "--port", "0", "--store", "etcd://127.0.0.1:2379,[::1:2379"], "--store"),
        (["registry", "--port", "0", "--host", "€"], "--host"),
        (["grading", "--port", "0", "--host", "a b"], "--host"),
        (["log", "--port", "0", "--host", "[::1]"], "--host"),
    ],
)
def test_a_url_flag_it_cannot_use(tmp_path, args, flag):
    assert_one_line_exit_2(run(tmp_path, *args), flag)


def test_a_registry_from_the_environment_it_cannot_use(tmp_path):
    result = run(tmp_path, "grading", "--port", "0", env={"RPC_CLUSTER_REGISTRY": "http://€:1/rpc"})
    assert_one_line_exit_2(result, "$RPC_CLUSTER_REGISTRY")


def test_a_store_from_the_environment_it_cannot_use(tmp_path):
    result = run(tmp_path, "registry", "--port", "0", env={"RPC_CLUSTER_REGISTRY_STORE": "etcd://€:1"})
    assert_one_line_exit_2(result, "$RPC_CLUSTER_REGISTRY_STORE")
