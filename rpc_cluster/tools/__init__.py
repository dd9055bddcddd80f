"""Commands around the cluster: ``cli`` (``rpc-cluster``), ``up`` (the whole cluster in one command),
``local_etcd`` and ``local_ca`` (an etcd cluster and a certificate authority on this machine), ``children``
(child processes that never outlive their parent).
"""
