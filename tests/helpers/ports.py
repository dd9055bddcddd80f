"""Loopback ports for the tests that must name a port before the server listens on it."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on at the moment of asking (another process may take it later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
