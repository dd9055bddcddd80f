"""The client a command calls: a service found through the registry, the registry itself, or one URL.

Shared by ``rpc-cluster call`` and ``rpc-cluster user``, so both resolve a name
and take ``--registry``, ``--token``, ``--timeout`` and ``--tls-ca``
(``flags.add_client_flags``) the same way.
"""

from __future__ import annotations

import argparse

from ..client.client import Client
from ..client.connect import connect
from ..client.registry_client import RegistryClient
from ..runtime import flags

#: Names that mean the registry itself rather than a service it lists.
REGISTRY_NAMES = ("Registry", "registry")


def client_for(target: str, args: argparse.Namespace) -> Client:
    """A client for ``target`` (a service name or an http(s):// URL) with the client flags in ``args``.

    Raises ``argparse.ArgumentTypeError`` saying why in one line when a URL is not one.
    """
    if "://" in target:
        return Client(flags.rpc_url(target), token=args.token, timeout=args.timeout, tls_ca=args.tls_ca)
    if target in REGISTRY_NAMES:
        return RegistryClient(args.registry, token=args.token, timeout=args.timeout, tls_ca=args.tls_ca)
    return connect(target, args.registry, token=args.token, timeout=args.timeout, tls_ca=args.tls_ca)
