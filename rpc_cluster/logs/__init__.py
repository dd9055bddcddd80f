"""The log service: the cluster's central log.

- ``store.py``: the append-only JSON Lines file, its rotation, and tail.
- ``service.py``: ``Log.write`` and ``Log.tail`` over RPC, and ``main()``.

The handler that ships every other service's records here is
``rpc_cluster/shipping.py``.
"""
