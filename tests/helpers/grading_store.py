"""Rows written straight into a grading store's database (SQLite file or PostgreSQL URL), for tests that need
what no ``Grades.*`` method makes: users to act for, and a trigger that makes the audit refuse a write."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

POSTGRES = ("postgresql://", "postgres://")


@contextlib.contextmanager
def connected(store_url: str) -> Iterator[Any]:
    """A connection to the store's database, committed when the block ends."""
    if store_url.startswith(POSTGRES):
        import psycopg

        with psycopg.connect(store_url) as conn:
            yield conn
        return
    conn = sqlite3.connect(store_url)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def execute(store_url: str, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement (``?`` placeholders) and commit; its rows."""
    with connected(store_url) as conn:
        if store_url.startswith(POSTGRES):
            cursor = conn.execute(sql.replace("?", "%s"), args)
            return cursor.fetchall() if cursor.description is not None else []
        return conn.execute(sql, args).fetchall()


def add_user(store_url: str, username: str, role: str = "teacher", *, disabled: bool = False) -> int:
    """A user who cannot sign in (no password): enough to act for. Their id."""
    rows = execute(
        store_url,
        "INSERT INTO users (username, display_name, role, disabled, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        (username, username.title(), role, disabled, time.time()),
    )
    return int(rows[0][0])


def refuse_audit_entries(store_url: str) -> None:
    """Make every new audit entry fail, as a full or broken audit table would: no change may then commit."""
    if store_url.startswith(POSTGRES):
        execute(
            store_url,
            "CREATE FUNCTION audit_refused() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the audit refused an entry'; END $$",
        )
        execute(
            store_url,
            "CREATE TRIGGER audit_refused BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION audit_refused()",
        )
    else:
        execute(
            store_url,
            "CREATE TRIGGER audit_refused BEFORE INSERT ON audit "
            "BEGIN SELECT RAISE(ABORT, 'the audit refused an entry'); END",
        )


def accept_audit_entries(store_url: str) -> None:
    """Undo ``refuse_audit_entries``."""
    if store_url.startswith(POSTGRES):
        execute(store_url, "DROP TRIGGER audit_refused ON audit")
        execute(store_url, "DROP FUNCTION audit_refused()")
    else:
        execute(store_url, "DROP TRIGGER audit_refused")


def snapshot(store_url: str, tables: tuple[str, ...]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each table, ordered by all its columns: to show a failed call changed nothing."""
    found = {}
    with connected(store_url) as conn:
        for table in tables:
            found[table] = sorted((tuple(row) for row in conn.execute(f"SELECT * FROM {table}").fetchall()), key=repr)
    return found
