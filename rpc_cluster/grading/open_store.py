"""``open_store``: the grade store that ``--db`` names.

Kept apart from ``store.py`` (the interface) because it imports both
implementations, and each implementation imports the interface.
"""

from __future__ import annotations

from .storage.protocol import GradeStore


def open_store(url: str) -> GradeStore:
    """A store for ``--db``: a ``postgresql://`` URL, else a SQLite file path."""
    if url.startswith(("postgresql://", "postgres://")):
        from .storage.postgres import PostgresStore

        return PostgresStore(url)
    from .storage.sqlite import SqliteStore

    return SqliteStore(url)
