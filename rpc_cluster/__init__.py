"""rpc-cluster: JSON-RPC services with a registry, central logs and traces.

Calling services (the cluster runs with ``rpc-cluster up``)::

    >>> from rpc_cluster import connect, Client, NotFound
    >>> grades = connect("GradingService")          # found through the registry
    >>> grades.Grades.get_student(1)["first_name"]
    'Nick'
    >>> grades.Grades.add_grade(1, "Quiz 3", "Quiz", 91)
    {'id': 16, 'title': 'Quiz 3', 'type': 'Quiz', 'score': 91.0}
    >>> try:
    ...     grades.Grades.get_student(999)
    ... except NotFound as exc:
    ...     print(exc.code, exc.data)
    404 {'student_id': 999}
    >>> registry = Client("http://127.0.0.1:3000/rpc")   # one server, by URL
    >>> with registry.batch() as batch:                  # one HTTP request
    ...     services = batch.call("Registry.services")
    >>> dir(grades.Grades), help(grades.Grades.add_grade) # from the server's rpc.discover

From asyncio, the same calls are awaited::

    >>> from rpc_cluster import AsyncClient, connect_async
    >>> grades = connect_async("GradingService")
    >>> await grades.Grades.get_student(1)
    >>> await asyncio.gather(*(grades.Grades.get_student(n) for n in range(1, 6)))

``connect()`` spreads calls over every healthy instance and moves on when one
refuses the connection. Remote errors raise ``RpcError`` subclasses
(``.code``, ``.message``, ``.data``); ``TransportError`` is also a
``ConnectionError`` and ``CallTimeout`` also a ``TimeoutError``.

Writing a service::

    from rpc_cluster import Service, rpc_method, InvalidParams

    class Echo:
        @rpc_method
        def echo(self, text: str) -> str:
            "Return text unchanged."
            if not isinstance(text, str):
                raise InvalidParams.field("text", "must be a string")
            return text

    class EchoService(Service):
        name = "EchoService"                       # registers as
        required_services = ("GradingService",)   # self.providers follows them

        def expose(self, methods):
            methods.add_object("Echo", Echo())     # served as "Echo.echo"

    EchoService(port=0).add_part(LogShipping()).run()
    # serve, register, ship its logs to the LogService; SIGTERM deregisters and drains

``config.service_main`` builds such a command line (flags with environment
variables, one-line errors) and attaches log shipping itself.

Inside ``with trace():`` (and inside any method a service runs) every call
carries one ``X-Trace-Id``, and every log record shipped to the log service
is stamped with it.
"""

from .client.aio.client import AsyncBatch, AsyncClient
from .client.aio.connect import AsyncServiceClient, connect_async
from .client.client import Batch, Client
from .client.connect import NoHealthyProvider, ServiceClient, connect
from .client.registry_client import RegistryClient
from .core.errors import (
    CallTimeout,
    Conflict,
    Forbidden,
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    NotFound,
    ParseError,
    RpcError,
    ServiceUnavailable,
    StartError,
    StoreFull,
    TooManyRequests,
    TransportError,
    Unauthorized,
)
from .core.methods import MethodTable, rpc_method
from .core.tracing import current_trace_id, new_trace_id, trace
from .runtime import config
from .runtime.log_shipping import LogShipping
from .runtime.service import Part, Service
from .serving.settings import Limits, TlsFiles
from .version import __version__

__all__ = [
    "AsyncBatch",
    "AsyncClient",
    "AsyncServiceClient",
    "Batch",
    "CallTimeout",
    "Client",
    "Conflict",
    "Forbidden",
    "InternalError",
    "InvalidParams",
    "InvalidRequest",
    "Limits",
    "LogShipping",
    "MethodNotFound",
    "MethodTable",
    "NoHealthyProvider",
    "NotFound",
    "ParseError",
    "Part",
    "RegistryClient",
    "RpcError",
    "Service",
    "ServiceClient",
    "ServiceUnavailable",
    "StartError",
    "StoreFull",
    "TlsFiles",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "__version__",
    "config",
    "connect",
    "connect_async",
    "current_trace_id",
    "new_trace_id",
    "rpc_method",
    "trace",
]
