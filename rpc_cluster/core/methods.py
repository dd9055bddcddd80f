"""The method table: which Python callables a service exposes, by RPC name.

A service exposes plain methods, grouped in a namespace::

    class Grades:
        @rpc_method
        def get_student(self, student_id: int) -> dict:
            "Return one student with its grades."

    table = MethodTable()
    table.add_object("Grades", Grades())        # -> "Grades.get_student"

Only methods marked with ``@rpc_method`` are exposed, so helpers stay private.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

_MARK = "_rpc_method_name"

F = TypeVar("F", bound=Callable[..., Any])


@overload
def rpc_method(func: F, *, name: str | None = None) -> F: ...
@overload
def rpc_method(func: None = None, *, name: str | None = None) -> Callable[[F], F]: ...
def rpc_method(func: F | None = None, *, name: str | None = None) -> F | Callable[[F], F]:
    """Mark a method to be exposed over RPC (optionally under another name).

    Returns ``func`` itself, marked; called with only ``name``, the decorator that marks.
    """

    def mark(f: F) -> F:
        setattr(f, _MARK, name or f.__name__)
        return f

    return mark(func) if func is not None else mark


class MethodTable:
    """RPC name -> callable, with the signatures used for -32602 and OpenRPC."""

    def __init__(self) -> None:
        self._methods: dict[str, Callable[..., Any]] = {}
        self._signatures: dict[str, inspect.Signature] = {}

    def add(self, name: str, func: Callable[..., Any]) -> None:
        """Expose one callable under ``name``; a name can be added only once."""
        if not callable(func):
            raise TypeError(f"rpc: {name!r} is not callable")
        if not name or name.startswith("rpc.") or name.startswith("system."):
            raise ValueError(f"rpc: {name!r} is not a usable method name (rpc.* and system.* are reserved)")
        if name in self._methods:
            raise ValueError(f"rpc: method {name!r} is already registered")
        self._methods[name] = func
        self._signatures[name] = inspect.signature(func)

    def add_object(self, namespace: str, obj: Any) -> None:
        """Expose every ``@rpc_method`` of ``obj`` as ``namespace.method``."""
        found = False
        for attr in dir(type(obj)):
            member = getattr(type(obj), attr, None)
            rpc_name = getattr(member, _MARK, None)
            if rpc_name:
                self.add(f"{namespace}.{rpc_name}", getattr(obj, attr))
                found = True
        if not found:
            raise ValueError(
                f"rpc: {type(obj).__name__} has no exposed methods (hint: mark the methods to expose with @rpc_method)"
            )

    def get(self, name: str) -> Callable[..., Any] | None:
        return self._methods.get(name)

    def items(self) -> list[tuple[str, Callable[..., Any]]]:
        """(name, callable) of every method, sorted by name."""
        return sorted(self._methods.items())

    def signature(self, name: str) -> inspect.Signature:
        return self._signatures[name]

    def names(self) -> list[str]:
        return sorted(self._methods)

    def __contains__(self, name: str) -> bool:
        return name in self._methods

    def __len__(self) -> int:
        return len(self._methods)
