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

Errors are RpcError subclasses carrying the wire code. The two the core
raises itself (unknown method, params that do not bind) are subclasses of
their errors.py type, so a codec can tell them from the same codes raised by
a method (XML-RPC words the two differently).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Mapping, Sequence
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

    def _call(self, name: str, params: Params) -> Any:
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
        try:
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
