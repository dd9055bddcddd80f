"""Numbered migrations of a grade store's schema, applied at start in the store's one start transaction.

Each store lists its own (``schema.sqlite.MIGRATIONS``, ``schema.postgres.MIGRATIONS``),
numbered from 1 without gaps, and ``migrate`` applies those newer than the
version the database records in ``schema_version``. The store runs it inside
the transaction that opens the store (SQLite's ``BEGIN IMMEDIATE``,
PostgreSQL's advisory lock), so a migration that fails rolls every one of
that start back: the database keeps its old schema and version, and the
service does not start. Both databases change their schema transactionally.

Version 1 is the schema of the releases before versions were recorded: its
migration makes whatever such a database lacks, so it brings a database of
any earlier release (which records no version: 0) up to date.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

log = logging.getLogger("rpc_cluster.grading")

#: The connection a migration works on (sqlite3's or psycopg's).
C = TypeVar("C")
#: One statement with "?" placeholders, and its rows.
Execute = Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]

VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (only_row INTEGER PRIMARY KEY CHECK (only_row = 1), "
    "version INTEGER NOT NULL)"
)


class Migration(NamedTuple, Generic[C]):
    """One numbered step: what it makes, and the function that makes it on a connection."""

    version: int
    summary: str
    apply: Callable[[C], object]


class SchemaTooNew(Exception):
    """The database was migrated by a newer release than this one; opening it could lose data."""


def check(migrations: Sequence[Migration[C]]) -> None:
    """Raise ValueError unless ``migrations`` are numbered 1, 2, ... without gaps."""
    numbers = [migration.version for migration in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"migrations must be numbered 1 to {len(numbers)} in order, not {numbers}")


def recorded_version(execute: Execute) -> int:
    """The version the database records; 0 when it records none (new, or made before versions)."""
    execute(VERSION_TABLE, ())
    found = execute("SELECT version FROM schema_version WHERE only_row = 1", ())
    return int(found[0][0]) if found else 0


def migrate(conn: C, execute: Execute, migrations: Sequence[Migration[C]]) -> int:
    """Apply the migrations newer than the recorded version, record the newest, and return it.

    Call inside the transaction that opens the store. Raises SchemaTooNew for a
    database of a newer release, and whatever a failing migration raises (the
    caller's transaction then rolls back all of them).
    """
    check(migrations)
    before = recorded_version(execute)
    newest = migrations[-1].version if migrations else 0
    if before > newest:
        raise SchemaTooNew(
            f"its schema is version {before}, made by a newer release than this one (which knows up to "
            f"{newest}); run that release or a newer one"
        )
    for migration in migrations:
        if migration.version > before:
            log.info("grading: migrating the store to schema version %s: %s", migration.version, migration.summary)
            migration.apply(conn)
    if newest != before:
        execute("DELETE FROM schema_version", ())
        execute("INSERT INTO schema_version (only_row, version) VALUES (1, ?)", (newest,))
    return newest
