"""The etcd store (``--store etcd://...``): several registries serving one cluster.

- ``gateway.py``: the one module that talks to etcd (requests, the watch, moving between members).
- ``mirror.py``: this registry's table, loaded from etcd and fed by its watch (read-your-writes).
- ``push_ledger.py``: the notices not yet pushed, and the leader's pusher that sends them.
- ``election.py``: which registry checks and pushes (a key under a lease).
- ``store.py``: ``EtcdStore``, the ``RegistryStore`` made of the four.
"""
