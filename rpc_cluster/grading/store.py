"""What every grade store does, and what both implementations share.

A store holds students and grades. Both implementations compute averages
and paging in SQL, create their schema at start, and seed the five students
of the original Go sample only when the store is empty. They get values
already validated by the service.
"""

from __future__ import annotations

import abc
from typing import Any

GRADE_TYPES = ("Quiz", "Test", "Exam", "Homework")

# The original sample's students (its mockdata.go).
SEED = [
    ("Nick", "Carter", [("Quiz 1", "Quiz", 85), ("Final Exam", "Exam", 94), ("Quiz 2", "Quiz", 82)]),
    ("Roberto", "Baggio", [("Quiz 1", "Quiz", 100), ("Final Exam", "Exam", 100), ("Quiz 2", "Quiz", 81)]),
    ("Emma", "Stone", [("Quiz 1", "Quiz", 67), ("Final Exam", "Exam", 0), ("Quiz 2", "Quiz", 75)]),
    ("zhangsan", "san", [("Quiz 1", "Quiz", 44), ("Final Exam", "Exam", 0), ("Quiz 2", "Quiz", 66)]),
    ("xiaoqiao", "qiao", [("Quiz 1", "Quiz", 23), ("Final Exam", "Exam", 0), ("Quiz 2", "Quiz", 44)]),
]


def grade(row: tuple) -> dict[str, Any]:
    """A grade dict from (id, title, type, score)."""
    return {"id": row[0], "title": row[1], "type": row[2], "score": float(row[3])}


def students_from_rows(rows: list[tuple], grade_rows: list[tuple]) -> list[dict[str, Any]]:
    """Students from (id, first, last, average) rows and (student_id, id, title, type, score) rows."""
    by_id: dict[int, dict[str, Any]] = {}
    for sid, first, last, average in rows:
        by_id[sid] = {"id": sid, "first_name": first, "last_name": last,
                      "average": float(average) if average is not None else None, "grades": []}
    for sid, *rest in grade_rows:
        by_id[sid]["grades"].append(grade(tuple(rest)))
    return list(by_id.values())


class GradeStore(abc.ABC):
    """Students and grades. Implementations are safe to call from many threads."""

    @abc.abstractmethod
    def get_students(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Students ordered by id, each with its grades and average."""

    @abc.abstractmethod
    def count_students(self) -> int:
        """How many students there are."""

    @abc.abstractmethod
    def get_student(self, student_id: int) -> dict[str, Any] | None:
        """One student with its grades and average; None if unknown."""

    @abc.abstractmethod
    def add_grade(self, student_id: int, title: str, type: str, score: float) -> dict[str, Any] | None:
        """Store a grade durably and return it; None if the student is unknown."""

    @abc.abstractmethod
    def add_student(self, first_name: str, last_name: str) -> dict[str, Any]:
        """Store a new student durably and return it."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""


def open_store(url: str) -> GradeStore:
    """A store for ``--db``: a ``postgresql://`` URL, else a SQLite file path."""
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres_store import PostgresStore

        return PostgresStore(url)
    from .sqlite_store import SqliteStore

    return SqliteStore(url)
