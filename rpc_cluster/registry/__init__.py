"""The registry: who is up, health checks, and change notifications.

- ``table.py``: the registrations and their state transitions (a plain class).
- ``store.py``: the ``RegistryStore`` interface, and the memory store; ``etcd/``: the etcd one.
- ``health_check.py``: the heartbeat loop that finds dead services (over ``heartbeat_client.py``).
- ``notifier.py``: tells dependents when a provider is added or removed.
- ``service.py``: ``Registry.*`` over RPC, and ``main()``.
"""
