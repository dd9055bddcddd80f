"""The dispatch core: a method name and its params in, the method's result out.

This is the one place that looks a method up by name, binds its params (a
positional list or a named dict), runs it, and maps what it raises to the
error codes of docs/protocol.md. It knows no encoding: like Go's net/rpc, each wire
format is a codec around one core (``jsonrpc.py`` for JSON-RPC 2.0 at /rpc,
``xmlrpc.py`` for XML-RPC at /RPC2), so a method behaves the same over both::

    core = Dispatcher(table)
    core.call("Grades.get_student", [7])          # the method's return value
    core.call("Grades.get_student", {"student_id": 7})
    core.call("Nope", [])                          # raises UnknownMethod (-32601)

Where a method runs is the core's to say too (``place``): ``LOOP`` for an ``async def``
method (awaited on the service's event loop), ``INLINE`` for a plain method marked to run
there, ``THREAD`` for the rest, which may block and go to a request thread. ``call_async``
runs a call where it belongs; ``call`` runs it here, an ``async def`` method included.

Errors are RpcError subclasses carrying the wire code. The two the core
raises itself (unknown method, params that do not bind) are subclasses of
their errors.py type, so a codec can tell them from the same codes raised by
a method (XML-RPC words the two differently).
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from . import errors
from .methods import MethodTable

log = logging.getLogger("rpc_cluster.core.dispatch")

#: The method an observed call is reported under when the name is not one of the service's:
#: a stranger cannot grow the metrics' series without bound.
UNKNOWN_METHOD = "(unknown)"
#: ... and a request refused before it named a method (-32700, -32600).
NO_METHOD = "(none)"

#: A call's params: positional (a list or tuple) or named (a dict).
Params = list[Any] | tuple[Any, ...] | dict[str, Any]

#: Runs a blocking callable on a request thread, for a caller on the event loop.
Offload = Callable[[Callable[[], Any]], Awaitable[Any]]

#: The event loop that serves this request, when it serves one: where a blocking caller
#: (an XML-RPC call on a request thread) sends an ``async def`` method to be awaited.
SERVING_LOOP: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "rpc_cluster_serving_loop", default=None
)


class Place(enum.Enum):
    """Where a method runs when a server calls it."""

    #: An ``async def`` method: awaited on the service's event loop.
    LOOP = "loop"
    #: A plain method marked ``inline``: called on the event loop, no thread hop.
    INLINE = "inline"
    #: Any other plain method: on a request thread, since it may block.
    THREAD = "thread"


class RawJSON(str):
    """A method result that is already JSON text: sent as it is, not encoded again.

    For hot methods that cache their answer serialized (``Grades.get_student``).
    """


class UnknownMethod(errors.MethodNotFound):
    """No method has the called name; ``data`` is the name."""


class BadParams(errors.InvalidParams):
    """The params do not bind to the method; ``data`` is the standard TypeError text."""


class _QuickSignature(inspect.Signature):
    """A method's Signature, with a quick check for the calls that surely bind.

    ``inspect.Signature.bind`` is most of the cost of a trivial call; a
    precomputed check made one twice as fast (measured when it was added).
    With the core calling the method itself right after the check, a trivial
    JSON-RPC call in-process (``JsonRpcCodec.handle``, timeit) takes about 7 us
    against 24 us through jsonrpcserver's pipeline before (docs/decisions.md,
    "Private internals we rely on").
    """

    __slots__ = ("_names", "_required", "_simple")

    _names: tuple[str, ...]
    _required: int
    _simple: bool

    @classmethod
    def of(cls, signature: inspect.Signature) -> _QuickSignature:
        """The quick form of ``signature`` (same parameters, same text)."""
        params = list(signature.parameters.values())
        quick = cls(params, return_annotation=signature.return_annotation)
        quick._names = tuple(p.name for p in params)
        # Signature() refuses a required positional parameter after one with a
        # default, so for simple signatures the required ones are the first N.
        quick._required = sum(1 for p in params if p.default is p.empty)
        quick._simple = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)
        return quick

    def binds(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> bool:
        """True when the call surely binds; False means "ask bind()".

        For parameters that are all positional-or-keyword (most RPC methods), a
        call binds when it gives no more values than there are names, names only
        known ones not already given by position, and leaves no required one out.
        """
        names = self._names
        given = len(args)
        if not self._simple or given > len(names):
            return False
        if not kwargs:
            return given >= self._required
        rest = names[given:]
        return all(name in rest for name in kwargs) and all(names[i] in kwargs for i in range(given, self._required))

    def bind(self, *args: Any, **kwargs: Any) -> inspect.BoundArguments:
        # An override only so the TypeError text stays what callers got before the
        # core existed: params naming "self" read "_QuickSignature.bind() got
        # multiple values for argument 'self'", and the wire's answers never change.
        return super().bind(*args, **kwargs)


class Dispatcher:
    """Calls the methods of one table (plus ``extra`` ones) by name. Thread-safe.

    ``extra`` holds methods outside the table, answered only by this
    dispatcher: ``rpc.discover`` for JSON-RPC, ``system.*`` for XML-RPC.
    """

    def __init__(
        self,
        methods: MethodTable,
        extra: Mapping[str, Callable[..., Any]] | None = None,
        *,
        observe: Callable[[str, str, float], None] | None = None,
        inline: frozenset[str] = frozenset(),
    ):
        #: The service's own methods (the codecs and OpenRPC read it).
        self.methods = methods
        #: Told of every call: (method, "result" or the error code, seconds); metrics.py.
        self.observe = observe
        entries = {name: (func, _QuickSignature.of(methods.signature(name))) for name, func in methods.items()}
        for name, func in (extra or {}).items():
            if name in entries:
                raise ValueError(f"rpc: extra method {name!r} is already in the method table")
            entries[name] = (func, _QuickSignature.of(inspect.signature(func)))
        # name -> (callable, its signature); never changes after construction.
        self._entries = MappingProxyType(entries)
        marked = methods.inline() | inline
        self._places = MappingProxyType(
            {
                name: Place.LOOP
                if inspect.iscoroutinefunction(func)
                else Place.INLINE
                if name in marked or name in (extra or {})
                else Place.THREAD
                for name, (func, _) in entries.items()
            }
        )

    def place(self, name: str) -> Place:
        """Where a call of ``name`` runs; an unknown name is answered at once, on the loop."""
        return self._places.get(name, Place.INLINE)

    async def call_async(self, name: str, params: Params, offload: Offload) -> Any:
        """``call``, run where the method belongs: awaited, inline, or through ``offload`` to a thread."""
        place = self._places.get(name, Place.INLINE)
        if place is Place.THREAD:
            return await offload(lambda: self.call(name, params))
        if place is Place.INLINE:
            return self.call(name, params)
        if self.observe is None:
            return await self._call_async(name, params)
        started = time.perf_counter()
        try:
            result = await self._call_async(name, params)
        except errors.RpcError as exc:
            self.observe(name, str(exc.code), time.perf_counter() - started)
            raise
        self.observe(name, "result", time.perf_counter() - started)
        return result

    async def _call_async(self, name: str, params: Params) -> Any:
        func, args, kwargs = self._bound(name, params)
        try:
            return await func(*args, **kwargs)
        except errors.RpcError:
            raise
        except Exception:
            log.exception("rpc: method %s raised", name)
            raise errors.InternalError() from None

    def call(self, name: str, params: Params = ()) -> Any:
        """The method's result; raises RpcError subclasses with the exact wire codes.

        ``params`` is positional (list or tuple) or named (dict). Raises
        UnknownMethod (-32601, data the name), BadParams (-32602, data the
        TypeError text), the method's own RpcError unchanged, or InternalError
        (-32603, no data) for anything else the method raises, whose traceback
        goes to the log only.
        """
        if self.observe is None:
            return self._call(name, params)
        started = time.perf_counter()
        method = name if name in self._entries else UNKNOWN_METHOD
        try:
            result = self._call(name, params)
        except errors.RpcError as exc:
            self.observe(method, str(exc.code), time.perf_counter() - started)
            raise
        self.observe(method, "result", time.perf_counter() - started)
        return result

    def rejected(self, code: int) -> None:
        """Count a request the codec refused before it named a method (-32700, -32600)."""
        if self.observe is not None:
            self.observe(NO_METHOD, str(code), 0.0)

    def _bound(self, name: str, params: Params) -> tuple[Callable[..., Any], Sequence[Any], Mapping[str, Any]]:
        """The method and its args, once they surely bind; UnknownMethod or BadParams otherwise."""
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownMethod("Method not found", name)
        func, signature = entry
        args: Sequence[Any] = ()
        kwargs: Mapping[str, Any] = {}
        if isinstance(params, dict):
            kwargs = params
        else:
            args = params
        if not signature.binds(args, kwargs):
            try:
                signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise BadParams("Invalid params", str(exc)) from None
        return func, args, kwargs

    def _call(self, name: str, params: Params) -> Any:
        func, args, kwargs = self._bound(name, params)
        try:
            if self._places[name] is Place.LOOP:
                return _await_here(func(*args, **kwargs))
            return func(*args, **kwargs)
        except errors.RpcError:
            raise
        except Exception:
            # The caller gets a bare -32603; the traceback is for the service's log only.
            log.exception("rpc: method %s raised", name)
            raise errors.InternalError() from None

    def signature(self, name: str) -> inspect.Signature:
        """The signature of method ``name`` (for system.methodHelp); KeyError if unknown."""
        return self._entries[name][1]

    def doc(self, name: str) -> str:
        """The docstring of method ``name``, "" if it has none; KeyError if unknown."""
        return inspect.getdoc(self._entries[name][0]) or ""

    def __contains__(self, name: object) -> bool:
        return name in self._entries


def _await_here(coroutine: Any) -> Any:
    """The result of an ``async def`` method called from blocking code (XML-RPC, ``call``).

    On a request thread of a server it is awaited on the server's loop; with no loop at all
    (a test, a WSGI server of another kind) on a loop of its own. The event loop itself never
    blocks on one: its callers use ``call_async``.
    """
    loop = SERVING_LOOP.get()
    if loop is not None and loop.is_running():
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result()
        coroutine.close()
        raise RuntimeError("rpc: an async method was called without await on the event loop (use call_async)")
    return asyncio.run(coroutine)
