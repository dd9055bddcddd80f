"""The method table: which Python callables a service exposes, by RPC name.

A service exposes plain methods, grouped in a namespace::

    class Grades:
        @rpc_method
        def get_student(self, student_id: int) -> dict:
            "Return one student with its grades."

    table = MethodTable()
    table.add_object("Grades", Grades())        # -> "Grades.get_student"

Only methods marked with ``@rpc_method`` are exposed, so helpers stay private.

Where a call runs (docs/architecture.md, "Where a call runs"): an ``async def`` method is
awaited on the service's event loop; a plain method runs on one of the service's request
threads, unless it is marked ``@rpc_method(inline=True)``: it never blocks and takes
microseconds (a lookup in memory), so it runs on the event loop and skips the hop to a thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection
from typing import Any, TypeVar, overload

_MARK = "_rpc_method_name"
_INLINE = "_rpc_method_inline"

F = TypeVar("F", bound=Callable[..., Any])


@overload
def rpc_method(func: F, *, name: str | None = None, inline: bool = False) -> F: ...
@overload
def rpc_method(func: None = None, *, name: str | None = None, inline: bool = False) -> Callable[[F], F]: ...
def rpc_method(func: F | None = None, *, name: str | None = None, inline: bool = False) -> F | Callable[[F], F]:
    """Mark a method to be exposed over RPC (optionally under another name).

    ``inline=True``: the method never blocks (no database, no network, no disk wait) and
    returns in microseconds, so the server runs it on its event loop instead of a request
    thread. Returns ``func`` itself, marked; called without ``func``, the decorator that marks.
    """

    def mark(f: F) -> F:
        setattr(f, _MARK, name or f.__name__)
        if inline:
            setattr(f, _INLINE, True)
        return f

    return mark(func) if func is not None else mark


class MethodTable:
    """RPC name -> callable, with the signatures used for -32602 and OpenRPC."""

    def __init__(self) -> None:
        self._methods: dict[str, Callable[..., Any]] = {}
        self._signatures: dict[str, inspect.Signature] = {}
        self._inline: set[str] = set()

    def add(self, name: str, func: Callable[..., Any], *, inline: bool | None = None) -> None:
        """Expose one callable under ``name``; a name can be added only once.

        ``inline``: run it on the event loop (see ``rpc_method``); None takes the callable's mark.
        """
        if not callable(func):
            raise TypeError(f"rpc: {name!r} is not callable")
        if not name or name.startswith("rpc.") or name.startswith("system."):
            raise ValueError(f"rpc: {name!r} is not a usable method name (rpc.* and system.* are reserved)")
        if name in self._methods:
            raise ValueError(f"rpc: method {name!r} is already registered")
        self._methods[name] = func
        self._signatures[name] = inspect.signature(func)
        if getattr(func, _INLINE, False) if inline is None else inline:
            if inspect.iscoroutinefunction(func):
                raise ValueError(f"rpc: {name!r} is async: it runs on the event loop already (drop inline=True)")
            self._inline.add(name)

    def add_object(self, namespace: str, obj: Any, *, inline: Collection[str] = ()) -> None:
        """Expose every ``@rpc_method`` of ``obj`` as ``namespace.method``.

        ``inline``: RPC names (without the namespace) of its plain methods that run on the event
        loop here, beside those marked so: what never blocks may depend on the object's store.
        """
        found = False
        for attr in dir(type(obj)):
            member = getattr(type(obj), attr, None)
            rpc_name = getattr(member, _MARK, None)
            if rpc_name:
                self.add(f"{namespace}.{rpc_name}", getattr(obj, attr), inline=True if rpc_name in inline else None)
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

    def inline(self) -> frozenset[str]:
        """The names of the plain methods that run on the event loop (``rpc_method(inline=True)``)."""
        return frozenset(self._inline)

    def names(self) -> list[str]:
        return sorted(self._methods)

    def __contains__(self, name: str) -> bool:
        return name in self._methods

    def __len__(self) -> int:
        return len(self._methods)
