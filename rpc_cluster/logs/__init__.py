"""The log service and the handler that ships every service's logs to it.

- ``store.py``: the append-only JSON Lines file, its rotation, and tail.
- ``service.py``: ``Log.write`` and ``Log.tail`` over RPC, and ``main()``.
- ``shipping.py``: the ``logging.Handler`` every service installs.
"""
