"""Addresses and TLS, shared by the client and the server: ``urls`` (the one rule for an http(s) URL) and ``tls``."""
