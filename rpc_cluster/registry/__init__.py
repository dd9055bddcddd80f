"""The registry: who is up, health checks, and change notifications.

- ``table.py``: the registrations and their state transitions (a plain class).
- ``health_check.py``: the heartbeat loop that finds dead services.
- ``notifier.py``: tells dependents when a provider is added or removed.
- ``service.py``: ``Registry.*`` over RPC, and ``main()``.
"""
