"""Which area a test belongs to, read from what it uses: the markers ``conftest.py`` gives each test.

A test is marked with what its code, its fixtures' code and the test code they call reach:

- ``postgres``, ``etcd``, ``netns``, ``tmpfs``, ``browser``: it reaches code that names the
  ``RPC_CLUSTER_REQUIRE_*`` variable of that outside requirement (the fixture or helper that skips
  without it), or it runs with ``store_url[postgresql]``;
- ``integration``: it starts a server or a process: a ``Service`` (or ``HttpServer``, ``RawServer``,
  ``WireServer``, a ``socketserver`` server, an etcd cluster, ``rpc_cluster up``'s cluster), the
  ``Processes`` of the tests, anything through ``subprocess``, or a socket of its own that listens;
- ``unit``: none of these: plain functions and objects in this process, nothing listening.

Only test code (files under ``tests/``) is followed; product code is a boundary, so a test that
constructs a service is integration whatever the service does inside.
"""

from __future__ import annotations

import dis
import importlib
import socketserver
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

TESTS = str(Path(__file__).resolve().parent.parent)

#: Marker -> the environment variable that makes a missing requirement fail instead of skip.
REQUIREMENTS = {
    "postgres": "RPC_CLUSTER_REQUIRE_POSTGRES",
    "etcd": "RPC_CLUSTER_REQUIRE_ETCD",
    "netns": "RPC_CLUSTER_REQUIRE_NETNS",
    "tmpfs": "RPC_CLUSTER_REQUIRE_TMPFS",
    "browser": "RPC_CLUSTER_REQUIRE_BROWSER",
}
AREAS = ("integration", *REQUIREMENTS)
#: Attribute names of a listening socket made by hand (``socket.listen``, ``asyncio.start_server``).
LISTENING = frozenset({"listen", "create_server", "start_server", "serve_forever"})


def _starters() -> tuple[type, ...]:
    """The classes whose instances listen on a port or run processes."""
    from helpers.processes import Proc, Processes
    from helpers.raw_server import RawServer, WireServer
    from rpc_cluster.runtime.service import Service
    from rpc_cluster.serving.server import HttpServer
    from rpc_cluster.tools.local_etcd import EtcdCluster
    from rpc_cluster.tools.up import Cluster as UpCluster

    return (
        Service,
        HttpServer,
        RawServer,
        WireServer,
        Processes,
        Proc,
        EtcdCluster,
        UpCluster,
        socketserver.BaseServer,
    )


class Areas:
    """Remembers what each piece of test code reaches, so a module's tests share the work."""

    def __init__(self) -> None:
        self._starters = _starters()
        self._memo: dict[int, frozenset[str]] = {}

    def of(self, item: Any) -> set[str]:
        """The area markers of a collected test ``item`` (empty: a unit test)."""
        found: set[str] = set()
        function = getattr(item, "function", None)
        if function is not None:
            found |= self._reached(function)
        for name in item.fixturenames:
            for definition in item._fixtureinfo.name2fixturedefs.get(name, ()):
                found |= self._reached(definition.func)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("store_url") == "postgresql":
            found.add("postgres")
        return found

    def _reached(self, thing: Any) -> frozenset[str]:
        """The areas of one function, class or module, following the test code it names."""
        key = id(thing)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = frozenset()  # a cycle adds nothing
        found: set[str] = set()
        if thing is subprocess:
            found.add("integration")
        elif isinstance(thing, type):
            if issubclass(thing, self._starters):
                found.add("integration")
            elif _is_test_code(thing):
                for member in vars(thing).values():
                    found |= self._reached(_function_of(member))
        elif isinstance(thing, types.FunctionType) and _is_test_code(thing):
            found |= self._in_code(thing.__code__, thing.__globals__)
        self._memo[key] = frozenset(found)
        return self._memo[key]

    def _in_code(self, code: types.CodeType, namespace: dict[str, Any]) -> set[str]:
        found = {area for area, variable in REQUIREMENTS.items() if variable in code.co_consts}
        if LISTENING.intersection(code.co_names):
            found.add("integration")
        for constant in code.co_consts:
            if isinstance(constant, types.CodeType):
                found |= self._in_code(constant, namespace)
        for thing in _names_used(code, namespace):
            found |= self._reached(thing)
        return found


def _function_of(member: Any) -> Any:
    if isinstance(member, (staticmethod, classmethod)):
        return member.__func__
    if isinstance(member, property):
        return member.fget
    return member


def _is_test_code(thing: Any) -> bool:
    if isinstance(thing, types.FunctionType):
        return thing.__code__.co_filename.startswith(TESTS)
    module = sys.modules.get(getattr(thing, "__module__", "") or "")
    return bool(module and (getattr(module, "__file__", None) or "").startswith(TESTS))


def _names_used(code: types.CodeType, namespace: dict[str, Any]) -> list[Any]:
    """The objects ``code`` loads by global name, by ``module.attribute`` and by import."""
    used: list[Any] = []
    chain: Any = None  # what the previous instruction loaded, for a following attribute
    imported: Any = None  # the module of the ``import`` in progress, for its ``from`` names
    for instruction in dis.get_instructions(code):
        name = instruction.argval
        if instruction.opname == "LOAD_GLOBAL":
            chain = namespace.get(name)
        elif instruction.opname in ("LOAD_ATTR", "LOAD_METHOD") and isinstance(chain, types.ModuleType):
            chain = getattr(chain, name, None)
        elif instruction.opname == "IMPORT_NAME":
            imported = chain = _module(name)
        elif instruction.opname == "IMPORT_FROM" and imported is not None:
            chain = getattr(imported, name, None)
            if chain is None:
                chain = _module(f"{imported.__name__}.{name}")
        else:
            continue
        if chain is not None:
            used.append(chain)
    return used


def _module(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception:
        return None
