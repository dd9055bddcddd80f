"""XML-RPC codec (served at /RPC2) around the same dispatch core as JSON-RPC.

Marshalling is the stdlib's (``xmlrpc.client.loads``/``dumps``, with
``<nil/>`` for None); the calls and their errors are the core's, so the
codes match JSON-RPC: a bad document is -32700, an unknown method -32601,
wrong arguments -32602, and an application error keeps its own code in the
Fault. The introspection methods system.listMethods, system.methodHelp and
system.methodSignature exist here only (JSON-RPC has ``rpc.discover``).

XML 1.0 cannot carry every string JSON can: C0 controls other than tab, LF
and CR, U+FFFE, U+FFFF and lone surrogates. Each such character in a result
or a fault string is sent as U+FFFD, so every answer is a well-formed
document; a result that cannot be marshalled at all is a -32603 Fault.
"""

from __future__ import annotations

import json
import logging
import re
import xmlrpc.client
from collections.abc import Callable
from typing import Any

from . import errors
from .dispatch import BadParams, Dispatcher, RawJSON, UnknownMethod
from .methods import MethodTable

log = logging.getLogger("rpc_cluster.core.xmlrpc")

# Characters outside XML 1.0's Char production. The stdlib marshaller writes them
# as they are: a control character makes every reader's parser fail on the whole
# answer, and a lone surrogate cannot even be encoded to UTF-8.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(document: str) -> str:
    """``document`` with each character XML 1.0 cannot hold replaced by U+FFFD.

    The marshaller's own markup is plain ASCII, so replacing over the whole
    document touches only the strings (values and struct member names) in it.
    """
    return _NOT_XML.sub("\ufffd", document)


def _encode(document: str) -> bytes:
    return xml_safe(document).encode()


def _fault(code: int, message: str) -> bytes:
    """The methodResponse document holding one Fault."""
    return _encode(xmlrpc.client.dumps(xmlrpc.client.Fault(code, message), methodresponse=True, allow_none=True))


class XmlRpcCodec:
    """Answers XML-RPC methodCall documents for one method table. Thread-safe."""

    def __init__(
        self,
        methods: MethodTable,
        *,
        max_response_bytes: int | None = None,
        observe: Callable[[str, str, float], None] | None = None,
    ):
        #: The service's own methods.
        self.methods = methods
        #: Bytes a methodResponse may have; a larger one is a -32603 Fault (None: no limit).
        self.max_response_bytes = max_response_bytes
        system: dict[str, Callable[..., Any]] = {
            "system.listMethods": self._list_methods,
            "system.methodHelp": self._method_help,
            "system.methodSignature": self._method_signature,
        }
        self._system_names = sorted(system)
        #: The core: the table plus the system.* methods.
        self.dispatcher = Dispatcher(methods, extra=system, observe=observe)

    def _list_methods(self) -> list[str]:
        return self.methods.names() + self._system_names

    @staticmethod
    def _check_name(name: object) -> None:
        # A list or a dict is not hashable: looked up as it is, it raised TypeError (-32603).
        if not isinstance(name, str):
            raise errors.InvalidParams.field("name", f"must be a method name (a string), not {type(name).__name__}")

    def _method_help(self, name: str) -> str:
        self._check_name(name)
        if name not in self.dispatcher:
            raise errors.MethodNotFound(f"Method not found: {name}")
        return f"{name}{self.dispatcher.signature(name)}\n\n{self.dispatcher.doc(name)}".rstrip()

    def _method_signature(self, name: str) -> str:
        # The XML-RPC introspection answer for "signatures are not described".
        self._check_name(name)
        if name not in self.dispatcher:
            raise errors.MethodNotFound(f"Method not found: {name}")
        return "signatures not supported"

    def handle(self, body: bytes) -> bytes:
        """The methodResponse document for one methodCall document."""
        try:
            params, name = xmlrpc.client.loads(body, use_builtin_types=True)
        except Exception as exc:  # expat and the unmarshaller raise many types
            return _fault(errors.PARSE_ERROR, f"Parse error: {exc}")
        if not name:
            return _fault(errors.INVALID_REQUEST, "Invalid Request: no methodName")
        try:
            result = self.dispatcher.call(name, params)
        except UnknownMethod:
            return _fault(errors.METHOD_NOT_FOUND, f"Method not found: {name}")
        except BadParams as exc:
            return _fault(errors.INVALID_PARAMS, f"Invalid params: {exc.data}")
        except errors.RpcError as exc:
            return _fault(exc.code, str(exc) if exc.data is not None else exc.message)
        try:
            if isinstance(result, RawJSON):
                result = json.loads(result)
            answer = _encode(xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True))
        except Exception:  # a result the marshaller refuses is the method's fault, never an HTTP 500
            log.exception("rpc: result of %s cannot be marshalled to XML-RPC", name)
            return _fault(errors.INTERNAL_ERROR, "Internal error: result cannot be sent as XML-RPC")
        if self.max_response_bytes is not None and len(answer) > self.max_response_bytes:
            return _fault(
                errors.INTERNAL_ERROR,
                f"Response too large: the result is larger than the response "
                f"limit of {self.max_response_bytes} bytes; ask for less",
            )
        return answer
