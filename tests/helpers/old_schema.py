"""A PostgreSQL store taken back to the schema of the releases before schema versions were recorded."""

from __future__ import annotations

from typing import Any

# What versions 3 and 2 added, in an order that drops each thing after what depends on it.
VERSIONS_UNDONE = (
    "DELETE FROM grades WHERE score IS NULL",
    "ALTER TABLE grades DROP COLUMN assignment_id, DROP COLUMN points, DROP COLUMN mark, DROP COLUMN comment, "
    "ALTER COLUMN score SET NOT NULL",
    "DROP TABLE assignments",
    "ALTER TABLE grades DROP COLUMN class_id",
    "DROP TABLE schema_version, audit, enrolments, classes, sign_in_failures, sessions, users",
    "DROP FUNCTION audit_unchangeable()",
)


def before_versions(conn: Any) -> None:
    """Undo every migration after the first on ``conn`` (psycopg), and forget the version: as a release
    before versions left the database, so the next start migrates it from the start."""
    for statement in VERSIONS_UNDONE:
        conn.execute(statement)
