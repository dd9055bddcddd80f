"""XML-RPC (served at /RPC2) over the same method table as JSON-RPC.

Marshalling is the stdlib's (``xmlrpc.client.loads``/``dumps``, with
``<nil/>`` for None); the rules are ours, so the error codes match JSON-RPC:
a bad document is -32700, an unknown method -32601, wrong arguments -32602,
and an application error keeps its own code in the Fault.
"""

from __future__ import annotations

import inspect
import json
import logging
import xmlrpc.client

from . import errors
from .dispatch import RawJSON
from .methods import MethodTable

log = logging.getLogger("rpc_cluster.xmlrpc")


def _fault(code: int, message: str) -> bytes:
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, message), methodresponse=True, allow_none=True).encode()


class XmlRpcDispatcher:
    """Dispatches XML-RPC documents; adds system.listMethods and system.methodHelp."""

    def __init__(self, methods: MethodTable):
        self.methods = methods
        self._system = {
            "system.listMethods": self._list_methods,
            "system.methodHelp": self._method_help,
            "system.methodSignature": self._method_signature,
        }

    def _list_methods(self) -> list[str]:
        return self.methods.names() + sorted(self._system)

    def _method_help(self, name: str) -> str:
        func = self.methods.get(name) or self._system.get(name)
        if func is None:
            raise errors.MethodNotFound(f"Method not found: {name}")
        signature = self.methods.signature(name) if name in self.methods else inspect.signature(func)
        return f"{name}{signature}\n\n{inspect.getdoc(func) or ''}".rstrip()

    def _method_signature(self, name: str) -> str:
        # The XML-RPC introspection answer for "signatures are not described".
        if name not in self.methods and name not in self._system:
            raise errors.MethodNotFound(f"Method not found: {name}")
        return "signatures not supported"

    def dispatch(self, body: bytes) -> bytes:
        """The methodResponse document for one methodCall document."""
        try:
            params, name = xmlrpc.client.loads(body, use_builtin_types=True)
        except Exception as exc:  # expat and the unmarshaller raise many types
            return _fault(errors.PARSE_ERROR, f"Parse error: {exc}")
        if not name:
            return _fault(errors.INVALID_REQUEST, "Invalid Request: no methodName")
        func = self.methods.get(name) or self._system.get(name)
        if func is None:
            return _fault(errors.METHOD_NOT_FOUND, f"Method not found: {name}")
        signature = self.methods.signature(name) if name in self.methods else inspect.signature(func)
        try:
            signature.bind(*params)
        except TypeError as exc:
            return _fault(errors.INVALID_PARAMS, f"Invalid params: {exc}")
        try:
            result = func(*params)
        except errors.RpcError as exc:
            return _fault(exc.code, str(exc) if exc.data is not None else exc.message)
        except Exception:
            log.exception("rpc: method %s raised (XML-RPC)", name)
            return _fault(errors.INTERNAL_ERROR, "Internal error")
        if isinstance(result, RawJSON):
            result = json.loads(result)
        try:
            return xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True).encode()
        except (TypeError, OverflowError):
            log.exception("rpc: result of %s cannot be marshalled to XML-RPC", name)
            return _fault(errors.INTERNAL_ERROR, "Internal error: result cannot be sent as XML-RPC")
