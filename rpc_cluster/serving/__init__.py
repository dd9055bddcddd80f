"""Serving a service over HTTP: ``rpc_app`` (the WSGI app around the codecs: /rpc, /RPC2, /health, /metrics)
and ``server`` (Granian, inside this process, with the limits that keep hostile clients from stopping it).
"""
