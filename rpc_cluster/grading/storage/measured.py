"""A grade store whose operations are counted and timed on ``/metrics``.

It wraps either store (``open_store``) and is a ``GradeStore`` itself; the
reads and writes the service makes are timed per operation, and the ones
that raise are counted. ``change_token`` is passed on untimed: it is called
on every cached read and costs less than timing it would. Every operation passes here, so
this is also where a database's "disk full" becomes ``StoreFull`` (503,
``out_of_space``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ...observability.metrics import ServiceMetrics
from ..access import SERVICE, Actor
from ..accounts import store as accounts_store
from . import out_of_space
from .protocol import GradeStore

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

    from ..csv_import import Row
    from ..gradebook.grid_csv import Parsed
    from ..gradebook.scores import Entry

T = TypeVar("T")

#: The store methods timed, by their names (the label ``operation``).
OPERATIONS = (
    "get_students",
    "count_students",
    "get_student",
    "add_grade",
    "add_student",
    "update_student",
    "update_grade",
    "delete_grade",
    "list_students",
    "import_grades",
    "statistics",
    "user_row",
    "add_class",
    "update_class",
    "list_classes",
    "get_class",
    "enroll",
    "unenroll",
    "archive",
    "history",
    "changes",
    "add_assignment",
    "update_assignment",
    "delete_assignment",
    "list_assignments",
    "set_categories",
    "set_scale",
    "set_scores",
    "gradebook",
    "preview_import",
    "import_gradebook",
)


class MeasuredStore:
    """``store`` with its operations timed: a ``GradeStore`` itself."""

    def __init__(self, store: GradeStore, metrics: ServiceMetrics, folder: Path | None = None):
        """``folder``: where a SQLite store keeps its file (``open_store.store_folder``), where a disk
        I/O error may mean a full disk; None for PostgreSQL, which says so itself."""
        #: The store doing the work.
        self.store = store
        latency = metrics.histogram(
            "grading_store_operation_duration_seconds", "Seconds one store operation took, by operation", ("operation",)
        )
        failures = metrics.counter("grading_store_errors", "Store operations that raised, by operation", ("operation",))
        # Every operation's series from the start, so a scrape shows each one before its first call.
        self._series: dict[str, tuple[Histogram, Counter]] = {
            name: (latency.labels(name), failures.labels(name)) for name in (*OPERATIONS, *accounts_store.OPERATIONS)
        }
        self._folder = folder
        self._accounts = store.accounts.timed_by(self._timed)

    def _timed(self, name: str, operation: Callable[[], T]) -> T:
        """``operation()`` timed under ``name``, its failures counted, a full disk raised as StoreFull."""
        latency, failures = self._series[name]
        started = time.perf_counter()
        try:
            return operation()
        except Exception as exc:
            failures.inc()
            if out_of_space.out_of_space(exc, self._folder):
                raise out_of_space.refused(name, exc) from None
            raise
        finally:
            latency.observe(time.perf_counter() - started)

    # -- not timed: change_token is called on every cached read and costs less than timing it would

    @property
    def waits_on_network(self) -> bool:
        return self.store.waits_on_network

    def change_token(self) -> object:
        return self.store.change_token()

    def close(self) -> None:
        self.store.close()

    @property
    def accounts(self) -> accounts_store.AccountStore:
        """The store's accounts, each operation timed here under its own name (``accounts_store.OPERATIONS``)."""
        return self._accounts

    # -- timed ----------------------------------------------------------------------------------

    def user_row(self, username: str) -> tuple[int, str, bool] | None:
        return self._timed("user_row", lambda: self.store.user_row(username))

    def get_students(
        self, offset: int = 0, limit: int | None = None, *, actor: Actor = SERVICE
    ) -> list[dict[str, Any]]:
        return self._timed("get_students", lambda: self.store.get_students(offset, limit, actor=actor))

    def count_students(self, *, actor: Actor = SERVICE) -> int:
        return self._timed("count_students", lambda: self.store.count_students(actor=actor))

    def get_student(self, student_id: int, *, actor: Actor = SERVICE) -> dict[str, Any] | None:
        return self._timed("get_student", lambda: self.store.get_student(student_id, actor=actor))

    def add_grade(
        self,
        student_id: int,
        title: str,
        type: str,
        score: float,
        request_id: str | None = None,
        class_id: int | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        return self._timed(
            "add_grade",
            lambda: self.store.add_grade(student_id, title, type, score, request_id, class_id, actor=actor),
        )

    def add_student(
        self,
        first_name: str,
        last_name: str,
        request_id: str | None = None,
        class_id: int | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        return self._timed(
            "add_student", lambda: self.store.add_student(first_name, last_name, request_id, class_id, actor=actor)
        )

    def update_student(
        self, student_id: int, first_name: str | None, last_name: str | None, *, actor: Actor = SERVICE
    ) -> dict[str, Any] | None:
        return self._timed(
            "update_student", lambda: self.store.update_student(student_id, first_name, last_name, actor=actor)
        )

    def update_grade(
        self,
        grade_id: int,
        title: str | None,
        type: str | None,
        score: float | None,
        expected: dict[str, Any] | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any] | None:
        return self._timed(
            "update_grade", lambda: self.store.update_grade(grade_id, title, type, score, expected, actor=actor)
        )

    def delete_grade(self, grade_id: int, expected: dict[str, Any] | None = None, *, actor: Actor = SERVICE) -> bool:
        return self._timed("delete_grade", lambda: self.store.delete_grade(grade_id, expected, actor=actor))

    def list_students(
        self,
        offset: int,
        limit: int,
        query: str | None,
        sort: str,
        class_id: int | None = None,
        *,
        archived: bool = False,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        return self._timed(
            "list_students",
            lambda: self.store.list_students(offset, limit, query, sort, class_id, archived=archived, actor=actor),
        )

    def import_grades(
        self, rows: list[Row], request_id: str | None = None, class_id: int | None = None, *, actor: Actor = SERVICE
    ) -> dict[str, Any]:
        return self._timed("import_grades", lambda: self.store.import_grades(rows, request_id, class_id, actor=actor))

    def statistics(self, class_id: int | None = None, *, actor: Actor = SERVICE) -> dict[str, Any]:
        return self._timed("statistics", lambda: self.store.statistics(class_id, actor=actor))

    def add_class(self, name: str, teacher: str | None, *, actor: Actor = SERVICE) -> dict[str, Any]:
        return self._timed("add_class", lambda: self.store.add_class(name, teacher, actor=actor))

    def update_class(
        self, class_id: int, name: str | None, teacher: str | None, *, actor: Actor = SERVICE
    ) -> dict[str, Any] | None:
        return self._timed("update_class", lambda: self.store.update_class(class_id, name, teacher, actor=actor))

    def list_classes(self, *, actor: Actor = SERVICE) -> list[dict[str, Any]]:
        return self._timed("list_classes", lambda: self.store.list_classes(actor=actor))

    def get_class(self, class_id: int, *, actor: Actor = SERVICE) -> dict[str, Any]:
        return self._timed("get_class", lambda: self.store.get_class(class_id, actor=actor))

    def enroll(self, class_id: int, student_id: int, *, actor: Actor = SERVICE) -> bool:
        return self._timed("enroll", lambda: self.store.enroll(class_id, student_id, actor=actor))

    def unenroll(self, class_id: int, student_id: int, *, actor: Actor = SERVICE) -> bool:
        return self._timed("unenroll", lambda: self.store.unenroll(class_id, student_id, actor=actor))

    def archive(self, class_id: int, student_id: int, archived: bool, *, actor: Actor = SERVICE) -> bool:
        return self._timed("archive", lambda: self.store.archive(class_id, student_id, archived, actor=actor))

    def history(self, entity: str, entity_id: int, *, actor: Actor = SERVICE) -> list[dict[str, Any]]:
        return self._timed("history", lambda: self.store.history(entity, entity_id, actor=actor))

    def changes(self, class_id: int, limit: int, *, actor: Actor = SERVICE) -> list[dict[str, Any]]:
        return self._timed("changes", lambda: self.store.changes(class_id, limit, actor=actor))

    def add_assignment(
        self, class_id: int, title: str, category: str, max_points: float, due: str | None, *, actor: Actor = SERVICE
    ) -> dict[str, Any]:
        return self._timed(
            "add_assignment", lambda: self.store.add_assignment(class_id, title, category, max_points, due, actor=actor)
        )

    def update_assignment(
        self, assignment_id: int, changes: dict[str, Any], expected: dict[str, Any] | None, *, actor: Actor = SERVICE
    ) -> dict[str, Any]:
        return self._timed(
            "update_assignment", lambda: self.store.update_assignment(assignment_id, changes, expected, actor=actor)
        )

    def delete_assignment(self, assignment_id: int, scored: int | None = None, *, actor: Actor = SERVICE) -> bool:
        return self._timed(
            "delete_assignment", lambda: self.store.delete_assignment(assignment_id, scored, actor=actor)
        )

    def list_assignments(self, class_id: int, *, actor: Actor = SERVICE) -> list[dict[str, Any]]:
        return self._timed("list_assignments", lambda: self.store.list_assignments(class_id, actor=actor))

    def set_categories(
        self,
        class_id: int,
        categories: list[dict[str, Any]],
        expected: list[dict[str, Any]] | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        return self._timed(
            "set_categories", lambda: self.store.set_categories(class_id, categories, expected, actor=actor)
        )

    def set_scale(
        self,
        class_id: int,
        scale: list[dict[str, Any]],
        expected: list[dict[str, Any]] | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        return self._timed("set_scale", lambda: self.store.set_scale(class_id, scale, expected, actor=actor))

    def set_scores(
        self,
        assignment_id: int,
        entries: list[Entry],
        was: dict[int, dict[str, Any]],
        request_id: str | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        return self._timed(
            "set_scores", lambda: self.store.set_scores(assignment_id, entries, was, request_id, actor=actor)
        )

    def gradebook(self, class_id: int, student_id: int | None = None, *, actor: Actor = SERVICE) -> dict[str, Any]:
        return self._timed("gradebook", lambda: self.store.gradebook(class_id, student_id, actor=actor))

    def preview_import(self, class_id: int, parsed: Parsed, *, actor: Actor = SERVICE) -> dict[str, Any]:
        return self._timed("preview_import", lambda: self.store.preview_import(class_id, parsed, actor=actor))

    def import_gradebook(
        self,
        class_id: int,
        parsed: Parsed,
        add_students: bool,
        expected: str | None,
        request_id: str | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        return self._timed(
            "import_gradebook",
            lambda: self.store.import_gradebook(class_id, parsed, add_students, expected, request_id, actor=actor),
        )
