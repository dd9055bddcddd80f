"""``open_store``: the grade store that ``--db`` names.

Kept apart from ``store.py`` (the interface) because it imports both
implementations, and each implementation imports the interface.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..net import urls
from .storage.protocol import GradeStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def check_db(text: str) -> str:
    """``text`` itself when it can name a store; raises ValueError saying why in one line.

    A SQLite file path (not empty), or a ``postgresql://`` URL each of whose hosts
    passes the cluster's host rule (``urls.parse``). A host may be left out (libpq's
    default) or be a percent-encoded socket directory (``%2Fvar%2Frun%2Fpostgresql``);
    several are separated by commas, as libpq takes them.
    """
    if not text:
        raise ValueError("names no store: give a SQLite file path or a postgresql:// URL")
    if not text.startswith(POSTGRES_SCHEMES):
        return text
    authority = re.split(r"[/?#]", text.partition("://")[2], maxsplit=1)[0]
    hosts = authority.rpartition("@")[2]  # a user name and password are libpq's business
    for host in hosts.split(","):
        if not host or host.lower().startswith("%2f"):
            continue
        as_url = f"http://{'localhost' if host.startswith(':') else ''}{host}/"  # only a port: the default host
        try:
            urls.parse(as_url)
        except urls.BadUrl as exc:
            raise ValueError(f"bad PostgreSQL URL: {str(exc).replace(f'URL {as_url!r}', f'host {host!r}')}") from None
    return text


def store_folder(url: str) -> Path | None:
    """The folder of a SQLite store's file; None for PostgreSQL."""
    return None if url.startswith(POSTGRES_SCHEMES) else Path(url).resolve().parent


def open_store(url: str) -> GradeStore:
    """A store for ``--db``: a ``postgresql://`` URL, else a SQLite file path."""
    if url.startswith(POSTGRES_SCHEMES):
        from .storage.postgres import PostgresStore

        return PostgresStore(url)
    from .storage.sqlite import SqliteStore

    return SqliteStore(url)
