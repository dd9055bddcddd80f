"""The OpenRPC document of a method table (served by GET /rpc and rpc.discover)."""

from __future__ import annotations

import inspect
import types
import typing
from types import MappingProxyType
from typing import Any

from .methods import MethodTable

_JSON_TYPES = MappingProxyType(
    {int: "integer", float: "number", str: "string", bool: "boolean", list: "array", dict: "object", type(None): "null"}
)


def _schema(annotation: Any) -> dict[str, Any]:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    origin = typing.get_origin(annotation) or annotation
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema(arg) for arg in typing.get_args(annotation)]}
    if origin in _JSON_TYPES:
        return {"type": _JSON_TYPES[origin]}
    return {}


def describe_method(name: str, signature: inspect.Signature, func: Any) -> dict[str, Any]:
    """One OpenRPC method object: name, summary, params (with defaults), result."""
    try:
        # Modules with ``from __future__ import annotations`` hold annotations as strings.
        hints = typing.get_type_hints(func)
    except Exception:
        hints = {}
    params = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        entry: dict[str, Any] = {
            "name": param.name,
            "schema": _schema(hints.get(param.name, param.annotation)),
            "required": param.default is param.empty,
        }
        if param.default is not param.empty:
            entry["schema"] = dict(entry["schema"], default=param.default)
        params.append(entry)
    doc = inspect.getdoc(func) or ""
    return {
        "name": name,
        "summary": doc.splitlines()[0] if doc else "",
        "description": doc,
        "params": params,
        "result": {"name": "result", "schema": _schema(hints.get("return", signature.return_annotation))},
        "paramStructure": "either",
    }


def document(methods: MethodTable, title: str, version: str) -> dict[str, Any]:
    """The whole OpenRPC document for ``methods``."""
    return {
        "openrpc": "1.2.6",
        "info": {"title": title, "version": version},
        "methods": [describe_method(name, methods.signature(name), methods.get(name)) for name in methods.names()],
    }
