"""``Grades.*`` of the audit: one record's history, and a class's recent changes. Nothing changes an entry."""

from __future__ import annotations

from typing import Any

from ...core.errors import InvalidParams
from ...core.methods import rpc_method
from .. import validation
from ..storage.audit import ENTITIES
from .base import GradesPart

# The most entries one changes() answers.
MAX_CHANGES = 500


class HistoryMethods(GradesPart):
    """The audit, read."""

    @rpc_method
    def history(self, entity: str, id: int) -> list[dict[str, Any]]:
        """Every change of one record, oldest first: [{"at", "user", "action", "entity", "id", "before",
        "after"}].

        entity: grade, student, enrolment, class or user. at: ISO 8601 UTC with microseconds;
        user: who acted ("(service)" for a call without an acting user); action: create,
        update or delete; before and after: the record before and after (null for none).
        A teacher reads the history of their classes, their students, and grades and
        enrolments of their classes (deleted ones too); no user's.
        """
        actor = self._actor()
        if entity not in ENTITIES:
            raise InvalidParams.field("entity", f"must be one of {', '.join(ENTITIES)}")
        return self._store.history(entity, validation.whole("id", id, 1), actor=actor)

    @rpc_method
    def changes(self, class_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """A class's newest changes first (entries as history's): its grades, enrolments and the class
        itself, and its students' own (a rename). limit: 1-500. A teacher reads those of a class they teach."""
        actor = self._actor()
        class_id = validation.whole("class_id", class_id, 1)
        validation.whole("limit", limit, 1)
        if limit > MAX_CHANGES:
            raise InvalidParams.field("limit", f"must be at most {MAX_CHANGES}")
        return self._store.changes(class_id, limit, actor=actor)
