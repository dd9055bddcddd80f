"""Calling services from asyncio: the faces of ``Client`` and ``connect()`` that are awaited.

``client`` (``AsyncClient``, its remote methods and ``AsyncBatch``), ``connect``
(``connect_async`` and ``AsyncServiceClient``: by service name, with failover) and
``transport`` (``AsyncTransport``: bounded keep-alive connections per host). They
share the request body, headers, answers, errors, proxy and retry rules with the
threaded client (``envelope``, ``client``, ``retry``); only the I/O differs.
"""
