"""The JSON-RPC client for asyncio: ``AsyncClient(url)`` for one server.

    >>> async with AsyncClient("http://127.0.0.1:6000/rpc") as c:
    ...     await c.call("Grades.get_student", 1)          # or by name: student_id=1
    ...     await c.Grades.get_student(1)                  # the same, through the proxy
    ...     await c.notify("Log.write", "hello")           # no answer expected
    ...     students = await asyncio.gather(*(c.Grades.get_student(n) for n in range(1, 6)))
    ...     async with c.batch() as batch:                 # one HTTP request
    ...         first = batch.call("Grades.get_student", 1)
    ...     first.result()

The same wire, errors and rules as ``Client``: remote errors raise
``RpcError`` subclasses, transport failures ``TransportError`` and
``CallTimeout``; the token, the trace and the acting user travel as headers;
a call that may have reached the server is sent again only when repeatable.
Calls in flight share at most ``max_connections`` keep-alive connections per
host. ``dir()`` and ``help()`` show the remote methods: from ``await
c.describe()`` once it has run, else fetched there and then (blocking the
event loop for that one call, as a REPL does not mind).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Collection
from typing import Any

from .. import envelope, retry
from ..client import DEFAULT_TIMEOUT, Batch, Client, RemoteProxy, _RemoteDoc, _RemoteMethod
from ..envelope import TOKEN_ENV, decode_answer, request_headers
from .transport import DEFAULT_MAX_CONNECTIONS, AsyncTransport


class AsyncClient(RemoteProxy):
    __doc__ = _RemoteDoc(__doc__ or "")
    _kind = "AsyncClient"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        token: str | None = None,
        transport: AsyncTransport | None = None,
        tls_ca: str | None = None,
        read_only: Collection[str] = (),
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ):
        self.url = url
        #: Seconds a call may take in all, the wait for a free connection included.
        self.timeout = timeout
        self.token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        self._transport = transport or AsyncTransport(tls_ca=tls_ca, max_connections=max_connections)
        #: Methods that change nothing: sent again, even to another instance, after a timeout (retry.is_repeatable).
        self.read_only = frozenset(read_only)
        self._ids = itertools.count(1)
        self._discovered: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the idle connections; a later call connects anew."""
        self._transport.close()

    # -- the calls -------------------------------------------------------------------

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` and return its result; raises RpcError subclasses."""
        params = envelope.params(method, args, kwargs)
        body = envelope.body(envelope.message(method, params, next(self._ids)))
        return envelope.result(await self._exchange(body, retry.is_repeatable(method, params, self.read_only)))

    async def notify(self, method: str, *args: Any, **kwargs: Any) -> None:
        """Send a notification: the server runs ``method`` and answers nothing."""
        await self._exchange(envelope.body(envelope.message(method, envelope.params(method, args, kwargs), None)))

    def batch(self) -> AsyncBatch:
        """A batch, sent as one request when its ``async with`` block ends (or on ``await send()``)."""
        return AsyncBatch(self)

    async def describe(self) -> dict[str, Any]:
        """The server's OpenRPC document (``rpc.discover``), fetched once."""
        if self._discovered is None:
            self._discovered = await self.call("rpc.discover")
        return self._discovered

    # -- the wire --------------------------------------------------------------------

    async def _exchange(self, body: bytes, repeatable: bool = False) -> Any:
        """POST one JSON-RPC message; the decoded answer, or None for 204 (as ``Client._exchange``)."""
        return await self._post(self.url, body, repeatable)

    async def _post(self, url: str, body: bytes, repeatable: bool = False) -> Any:
        headers = request_headers(self.token)
        status, data = await self._transport.post(url, body, headers, self.timeout, repeatable=repeatable)
        return decode_answer(url, status, data)

    # -- the REPL proxy --------------------------------------------------------------

    def _remote_method(self, name: str) -> _AsyncRemoteMethod:
        return _AsyncRemoteMethod(self, name)

    def _remote_methods(self) -> list[dict[str, Any]]:
        # dir() and help() cannot await: they read what describe() fetched, else fetch it now.
        if self._discovered is None:
            self._discovered = self._blocking_twin().describe()
        return list(self._discovered.get("methods", []))

    def _blocking_twin(self) -> Client:
        """A threaded Client to the same server, for what must be answered without awaiting."""
        return Client(self.url, timeout=self.timeout, token=self.token, tls_ca=self._transport.tls_ca)


class _AsyncRemoteMethod(_RemoteMethod):
    """``client.Grades.get_student``: a call to await; help() shows its docs."""

    __doc__ = _RemoteDoc("A remote method; await a call to it.")

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and kwargs:
            # Naming the positional params needs the server's description: fetched without blocking.
            await self._client.describe()
            kwargs = self._name_positionals(args, kwargs)
            args = ()
        return await self._client.call(self.__name__, *args, **kwargs)


class AsyncBatch(Batch):
    """Collects calls and notifications and sends them as one JSON-RPC batch, with ``await``."""

    async def send(self) -> list[Any]:  # type: ignore[override]
        """Send the batch; returns the results in call order (errors as exceptions)."""
        if not self._messages:
            return []
        return self._settle(await self._client._exchange(*self._take()))

    def __enter__(self) -> Batch:
        raise TypeError("rpc: an AsyncClient's batch is sent with 'async with', not 'with'")

    async def __aenter__(self) -> AsyncBatch:
        return self

    async def __aexit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is None:
            await self.send()
