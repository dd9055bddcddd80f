"""The shape of the tree: the layers and the arrows between them, no import cycles, no
module-level mutable state, and each pinned library's internals used in one module only."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rpc_cluster", "portal")
# Services built on the framework: the framework's own modules must not import them.
SERVICE_PACKAGES = ("rpc_cluster.registry", "rpc_cluster.logs", "rpc_cluster.grading")
# Commands around the cluster: on top of everything, as they run the services and the portal.
COMMAND_MODULES = ("rpc_cluster.tools", "rpc_cluster.__main__")
# Calls whose result never changes, fine to keep at module level.
IMMUTABLE_CALLS = {
    "getLogger",
    "compile",
    "MappingProxyType",
    "frozenset",
    "tuple",
    "ContextVar",
    "Path",
    "resolve",
    "TypeVar",
    "Backoff",
    # A frozen dataclass: the grading service's own authority (grading/access.py).
    "Actor",
    "Migration",
}
# Pinned libraries whose private parts we use, and the one module allowed to import them.
PINNED = {"granian": "rpc_cluster.serving.server", "jsonrpcserver": "rpc_cluster.core.jsonrpc"}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = modules()


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports(name: str) -> list[tuple[str, str]]:
    """(imported module, the text of the import) for every import in module ``name``."""
    tree = ast.parse(MODULES[name].read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = name if is_package(name) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, ast.unparse(node)) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                # "from pkg import sub" imports the submodule when there is one, else pkg itself.
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in MODULES else base, ast.unparse(node)))
    return found


@functools.cache
def internal_graph() -> dict[str, frozenset[str]]:
    return {
        name: frozenset(target for target, _ in imports(name) if target in MODULES and target != name)
        for name in MODULES
    }


# The layers, bottom up: a module imports its own layer and those below, never one above.
LAYERS = (
    ("rpc_cluster.version", "rpc_cluster.core"),  # the RPC core: no sockets
    ("rpc_cluster.net",),  # addresses and TLS
    ("rpc_cluster.observability",),  # metrics and log entries
    ("rpc_cluster.client",),  # calling services
    ("rpc_cluster.serving",),  # serving them over HTTP
    ("rpc_cluster.runtime",),  # a service's life
    SERVICE_PACKAGES,  # the services built on the framework
    ("rpc_cluster",),  # the public API (rpc_cluster/__init__.py)
    ("portal",),  # the teacher portal, on the public API and the services' read rules
    COMMAND_MODULES,  # commands around the cluster, which run the services and the portal
)


def layer(name: str) -> int:
    """The index in LAYERS of the longest prefix that names ``name``'s family."""
    best, index = "", -1
    for position, members in enumerate(LAYERS):
        for prefix in members:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > len(best):
                best, index = prefix, position
    return index


def test_every_module_has_a_layer():
    assert [name for name in MODULES if layer(name) < 0] == []


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"{name} (layer {layer(name)}) -> {target} (layer {layer(target)})"
        for name in MODULES
        for target in internal_graph()[name]
        if layer(target) > layer(name)
    ]
    assert upward == []


def test_no_service_imports_another():
    def service(name: str) -> str | None:
        return next((p for p in SERVICE_PACKAGES if name == p or name.startswith(p + ".")), None)

    crossing = [
        f"{name} -> {target}"
        for name in MODULES
        for target in internal_graph()[name]
        if service(name) and service(target) and service(name) != service(target)
    ]
    assert crossing == []


def test_no_level_holds_more_than_nine_modules():
    # A reader finds a module by its package's name: past about eight, a level wants another package.
    # Nine is the most any level holds now (core/, grading/storage/); a tenth means a new package.
    crowded = {}
    for package in {name.rpartition(".")[0] for name in MODULES if not is_package(name)}:
        modules = [n for n in MODULES if n.rpartition(".")[0] == package and not is_package(n)]
        if len(modules) > 9:
            crowded[package] = len(modules)
    assert crowded == {}


def test_the_tree_has_no_import_cycle():
    graph = internal_graph()
    state: dict[str, str] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_module_imports_a_package_it_belongs_to():
    upward = [
        f"{name}: {text}"
        for name in MODULES
        for target, text in imports(name)
        if target in MODULES and is_package(target) and name != target and name.startswith(target + ".")
    ]
    assert upward == []


def test_the_framework_does_not_import_the_services_built_on_it():
    framework = [
        name
        for name in MODULES
        if name.startswith("rpc_cluster") and not name.startswith((*SERVICE_PACKAGES, *COMMAND_MODULES))
    ]
    wrong = [
        f"{name}: {text}" for name in framework for target, text in imports(name) if target.startswith(SERVICE_PACKAGES)
    ]
    assert wrong == []


def _mutable(value: ast.AST) -> bool:
    if isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return called not in IMMUTABLE_CALLS
    return False


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_level_mutable_state(name):
    tree = ast.parse(MODULES[name].read_text())
    problems = [f"line {node.lineno}: global statement" for node in ast.walk(tree) if isinstance(node, ast.Global)]
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _mutable(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                continue
            problems.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) for t in node.targets):
            problems.append(f"line {node.lineno}: patches another module at import: {ast.unparse(node)[:80]}")
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and ast.unparse(node.value.func).endswith(".setLevel")
        ):
            problems.append(f"line {node.lineno}: configures logging at import: {ast.unparse(node)[:80]}")
    assert problems == []


@pytest.mark.parametrize("library", sorted(PINNED))
def test_a_pinned_library_is_imported_by_one_module_only(library):
    users = sorted(
        {
            name
            for name in MODULES
            for target, _ in imports(name)
            if target == library or target.startswith(library + ".")
        }
    )
    assert users == [PINNED[library]]
