"""Calling services: ``client`` (``Client`` and its remote methods), ``connect`` (by service name, with failover),
``registry_client``, ``providers`` (a table of healthy instances), ``transport`` (pooled sockets, every socket
error translated in one place), ``envelope`` (a call's body and headers, and what an HTTP answer means) and
``retry`` (the one module that decides whether a call may be sent again). ``aio``: the same for asyncio
(``AsyncClient``, ``connect_async``), awaited.
"""

from .aio.client import AsyncBatch, AsyncClient
from .aio.connect import AsyncServiceClient, connect_async
from .aio.transport import AsyncTransport

__all__ = ["AsyncBatch", "AsyncClient", "AsyncServiceClient", "AsyncTransport", "connect_async"]
