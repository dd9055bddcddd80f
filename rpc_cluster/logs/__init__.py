"""The log service: the cluster's central log.

- ``store.py``: the append-only JSON Lines file, its rotation, tail and follow.
- ``matching.py``: which lines a read wants (the filters, checked cheaply first).
- ``cursor.py``: where ``Log.follow`` stopped, a place that survives rotation.
- ``service.py``: ``Log.write``, ``Log.tail`` and ``Log.follow`` over RPC, and ``main()``.
- ``command.py``: ``rpc-cluster logs [-f]``, the reader at the terminal.

The handler that ships every other service's records here is
``rpc_cluster/runtime/log_shipping.py``.
"""
