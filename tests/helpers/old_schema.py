"""A PostgreSQL store taken back to the schema of the releases before schema versions were recorded."""

from __future__ import annotations

from typing import Any

# What version 2 added, in an order that drops each thing after what depends on it.
VERSION_2_UNDONE = (
    "ALTER TABLE grades DROP COLUMN class_id",
    "DROP TABLE schema_version, audit, enrolments, classes, sign_in_failures, sessions, users",
    "DROP FUNCTION audit_unchangeable()",
)


def before_versions(conn: Any) -> None:
    """Undo every migration after the first on ``conn`` (psycopg), and forget the version: as a release
    before versions left the database, so the next start migrates it from the start."""
    for statement in VERSION_2_UNDONE:
        conn.execute(statement)
