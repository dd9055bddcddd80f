"""rpc-cluster: JSON-RPC services with a registry, central logs and traces.

From a REPL::

    >>> from rpc_cluster import connect, Client
    >>> grades = connect("GradingService")         # resolved through the registry
    >>> grades.Grades.get_student(1)
    >>> Client("http://127.0.0.1:3000/rpc").Registry.services()

Remote errors raise ``RpcError`` subclasses (``.code``, ``.message``,
``.data``); ``TransportError`` is also a ``ConnectionError`` and
``CallTimeout`` also a ``TimeoutError``.
"""

__version__ = "0.1.0"

from .client import Batch, Client  # noqa: E402
from .discovery import NoHealthyProvider, ServiceClient, connect  # noqa: E402
from .errors import (  # noqa: E402
    CallTimeout, Conflict, InternalError, InvalidParams, InvalidRequest, MethodNotFound,
    NotFound, ParseError, RpcError, ServiceUnavailable, TransportError, Unauthorized,
)
from .methods import MethodTable, rpc_method  # noqa: E402
from .service import Service  # noqa: E402
from .tracing import current_trace_id, trace  # noqa: E402

__all__ = [
    "Batch", "CallTimeout", "Client", "Conflict", "InternalError", "InvalidParams", "InvalidRequest",
    "MethodNotFound", "MethodTable", "NoHealthyProvider", "NotFound", "ParseError", "RpcError",
    "Service", "ServiceClient", "ServiceUnavailable", "TransportError", "Unauthorized", "connect",
    "current_trace_id", "rpc_method", "trace",
]
