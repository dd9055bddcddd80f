"""The gradebook's part of a SQL store (``SqlGradebook``): assignments, settings, scores, the grid, imports.

Each write is one transaction of the store that checks the actor, writes and
records its audit entries; ``set_scores`` and ``import_gradebook`` with a
``request_id`` are done once (``exactly_once``), like ``add_grade``.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ...core.errors import InvalidParams
from ..access import SERVICE, Actor
from ..storage.classes import rules
from . import assignments, grid, grid_csv, imports, scores, settings

if TYPE_CHECKING:
    from ..storage.protocol import SqlRow
    from ..storage.sql_writes import Transaction

T = TypeVar("T")
Written = TypeVar("Written", bound="dict[str, Any] | None")

_SCORED = (
    "SELECT assignment_id, COUNT(*) FROM grades WHERE class_id = ? AND assignment_id IS NOT NULL GROUP BY assignment_id"
)


class SqlGradebook(abc.ABC):
    """The gradebook over a store's ``_read``, ``_transaction`` and ``_once`` (``sql_writes.SqlGradeStore``)."""

    @abc.abstractmethod
    def _read(self, sql: str, args: tuple[Any, ...]) -> list[SqlRow]:
        """The rows of one read-only statement."""

    @abc.abstractmethod
    def _transaction(self, write: Callable[[Transaction], T]) -> T:
        """``write(transaction)``'s result, committed before it returns; all or nothing."""

    @abc.abstractmethod
    def _once(
        self,
        actor: Actor,
        request_id: str | None,
        method: str,
        params: tuple[Any, ...],
        write: Callable[[Transaction], Written],
    ) -> Written:
        """``write(transaction)``'s result in one transaction, done once per ``request_id`` of ``actor``."""

    def add_assignment(
        self,
        class_id: int,
        title: str,
        category: str,
        max_points: float,
        due: str | None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        return self._transaction(lambda tx: assignments.add(tx, actor, class_id, title, category, max_points, due))

    def update_assignment(
        self, assignment_id: int, changes: dict[str, Any], expected: dict[str, Any] | None, *, actor: Actor = SERVICE
    ) -> dict[str, Any]:
        return self._transaction(lambda tx: assignments.update(tx, actor, assignment_id, changes, expected))

    def delete_assignment(self, assignment_id: int, scored: int | None = None, *, actor: Actor = SERVICE) -> bool:
        return self._transaction(lambda tx: assignments.delete(tx, actor, assignment_id, scored))

    def list_assignments(self, class_id: int, *, actor: Actor = SERVICE) -> list[dict[str, Any]]:
        rules.require_class(self._read, actor, class_id)
        scored = {int(aid): int(count) for aid, count in self._read(_SCORED, (class_id,))}
        return [{**a, "scored": scored.get(a["id"], 0)} for a in assignments.of_class(self._read, class_id)]

    def set_categories(
        self,
        class_id: int,
        categories: list[dict[str, Any]],
        expected: list[dict[str, Any]] | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        return self._transaction(lambda tx: settings.set_categories(tx, actor, class_id, categories, expected))

    def set_scale(
        self,
        class_id: int,
        scale: list[dict[str, Any]],
        expected: list[dict[str, Any]] | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        return self._transaction(lambda tx: settings.set_scale(tx, actor, class_id, scale, expected))

    def set_scores(
        self,
        assignment_id: int,
        entries: list[scores.Entry],
        was: dict[int, dict[str, Any]],
        request_id: str | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        def write(tx: Transaction) -> dict[str, Any]:
            found = assignments.usable(tx, actor, assignment_id)
            inside = rules.enrolled(tx.rows, found["class_id"], [entry.student_id for entry in entries])
            # One pass in the entries' order: the error names the first bad entry, whatever is wrong with it.
            for index, entry in enumerate(entries):
                if entry.student_id not in inside:
                    raise entry_error(index, entry.student_id, f"names no student of class {found['class_id']}")
                if entry.points is not None and entry.points > found["max_points"]:
                    raise entry_error(index, entry.student_id, f"points must be from 0 to {found['max_points']:g}")
            column = assignments.of(found)
            shown = {(column.id, sid): values for sid, values in was.items()}
            saved, _ = scores.write(tx, actor.username, [(column, entry) for entry in entries], shown)
            return {"saved": saved}

        params = (assignment_id, [list(entry) for entry in entries], sorted(was.items()))
        return self._once(actor, request_id, "set_scores", params, write)

    def gradebook(self, class_id: int, student_id: int | None = None, *, actor: Actor = SERVICE) -> dict[str, Any]:
        return grid.gradebook(self._read, actor, class_id, student_id)

    def preview_import(self, class_id: int, parsed: grid_csv.Parsed, *, actor: Actor = SERVICE) -> dict[str, Any]:
        return imports.difference(self._read, actor, class_id, parsed)

    def import_gradebook(
        self,
        class_id: int,
        parsed: grid_csv.Parsed,
        add_students: bool,
        expected: str | None,
        request_id: str | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        # The file's cells by their digest: the parsed file itself may be megabytes.
        params = (class_id, hashlib.sha256(repr(parsed).encode()).hexdigest(), add_students, expected)
        return self._once(
            actor,
            request_id,
            "import_gradebook",
            params,
            lambda tx: imports.apply(tx, actor, class_id, parsed, add_students, expected),
        )


def entry_error(index: int, student_id: Any, problem: str) -> InvalidParams:
    """A refusal of ``set_scores``' entry ``index``: data names ``scores``, the index and the student."""
    return InvalidParams(
        f"Invalid params: scores[{index}] (student {student_id}): {problem}",
        {"field": "scores", "index": index, "student_id": student_id, "problem": problem},
    )
