"""The log service: the cluster's central log.

- ``service.py``: ``Log.write``, ``Log.tail`` and ``Log.follow`` over RPC, and ``main()``.
- ``store.py``: the append-only JSON Lines file, its rotation, tail and follow.
- ``marks.py``: how far each shipper got, so a batch sent again stores each entry once.
- ``matching.py``: which lines a read wants (the filters, checked cheaply first).
- ``cursor.py``: where ``Log.follow`` stopped, a place that survives rotation.
- ``command.py``: ``rpc-cluster logs [-f]``, the reader at the terminal.

The handler that ships every other service's records here is
``rpc_cluster/runtime/log_shipping.py``.
"""
