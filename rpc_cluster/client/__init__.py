"""Calling services: ``client`` (``Client`` and its remote methods), ``connect`` (by service name, with failover),
``registry_client``, ``providers`` (a table of healthy instances), ``transport`` (pooled sockets, every socket
error translated in one place), ``envelope`` (a call's headers and what an HTTP answer means) and ``retry`` (the
one module that decides whether a call may be sent again).
"""
