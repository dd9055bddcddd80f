"""Skip a test whose outside requirement is missing, unless the environment says it is required.

CI sets ``RPC_CLUSTER_REQUIRE_POSTGRES``, ``..._ETCD``, ``..._NETNS``, ``..._TMPFS`` and
``..._BROWSER``: there a missing PostgreSQL, etcd binary, namespace or tmpfs fails the test.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def skip_unless_required(reason: str, variable: str) -> NoReturn:
    """Skip with ``reason``, or fail with it where ``variable`` is set in the environment."""
    if os.environ.get(variable):
        pytest.fail(f"{reason} ({variable} is set)")
    pytest.skip(reason)


def etcd_or_skip() -> str:
    """The path of the ``etcd`` binary; the test is skipped (or failed, where required) without one."""
    binary = shutil.which("etcd")
    if binary is None:
        from rpc_cluster.tools.local_etcd import INSTALL_HINT

        skip_unless_required(INSTALL_HINT, "RPC_CLUSTER_REQUIRE_ETCD")
    return binary
