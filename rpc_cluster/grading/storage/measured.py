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
from . import out_of_space
from .protocol import GradeStore

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

    from ..csv_import import Row

T = TypeVar("T")

#: The store methods timed, by their names (the label ``operation``).
OPERATIONS = (
    "get_students",
    "count_students",
    "get_student",
    "add_grade",
    "add_student",
    "update_grade",
    "delete_grade",
    "list_students",
    "import_grades",
    "statistics",
    "user_row",
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
            name: (latency.labels(name), failures.labels(name)) for name in OPERATIONS
        }
        self._folder = folder

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

    # -- timed ----------------------------------------------------------------------------------

    def user_row(self, username: str) -> tuple[int, str, bool] | None:
        return self._timed("user_row", lambda: self.store.user_row(username))

    def get_students(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        return self._timed("get_students", lambda: self.store.get_students(offset, limit))

    def count_students(self) -> int:
        return self._timed("count_students", self.store.count_students)

    def get_student(self, student_id: int) -> dict[str, Any] | None:
        return self._timed("get_student", lambda: self.store.get_student(student_id))

    def add_grade(
        self, student_id: int, title: str, type: str, score: float, request_id: str | None = None
    ) -> dict[str, Any] | None:
        return self._timed("add_grade", lambda: self.store.add_grade(student_id, title, type, score, request_id))

    def add_student(self, first_name: str, last_name: str, request_id: str | None = None) -> dict[str, Any]:
        return self._timed("add_student", lambda: self.store.add_student(first_name, last_name, request_id))

    def update_grade(
        self,
        grade_id: int,
        title: str | None,
        type: str | None,
        score: float | None,
        expected: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        return self._timed("update_grade", lambda: self.store.update_grade(grade_id, title, type, score, expected))

    def delete_grade(self, grade_id: int, expected: dict[str, Any] | None = None) -> bool:
        return self._timed("delete_grade", lambda: self.store.delete_grade(grade_id, expected))

    def list_students(self, offset: int, limit: int, query: str | None, sort: str) -> dict[str, Any]:
        return self._timed("list_students", lambda: self.store.list_students(offset, limit, query, sort))

    def import_grades(self, rows: list[Row], request_id: str | None = None) -> dict[str, Any]:
        return self._timed("import_grades", lambda: self.store.import_grades(rows, request_id))

    def statistics(self) -> dict[str, Any]:
        return self._timed("statistics", self.store.statistics)
