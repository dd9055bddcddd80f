"""A service's table of the healthy instances of each service it requires, kept up to date by the registry."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any


class ProviderTable:
    """Service name -> URLs of its healthy instances. Thread-safe."""

    def __init__(self) -> None:
        self._urls: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def replace(self, providers: dict[str, Iterable[str]]) -> None:
        """Set the URLs of each named service (as ``Registry.register`` returns them)."""
        with self._lock:
            for name, urls in providers.items():
                self._urls[name] = list(dict.fromkeys(urls))

    def update(self, added: Iterable[dict[str, Any]] = (), removed: Iterable[dict[str, Any]] = ()) -> None:
        """Apply one ``Service.update`` push."""
        with self._lock:
            for entry in removed:
                urls = self._urls.get(entry["service_name"], [])
                if entry["service_url"] in urls:
                    urls.remove(entry["service_url"])
            for entry in added:
                urls = self._urls.setdefault(entry["service_name"], [])
                if entry["service_url"] not in urls:
                    urls.append(entry["service_url"])

    def get(self, name: str) -> list[str]:
        with self._lock:
            return list(self._urls.get(name, ()))

    def snapshot(self) -> dict[str, list[str]]:
        with self._lock:
            return {name: list(urls) for name, urls in self._urls.items()}
