"""``Grades.*`` over RPC: validation, then the store (``rpc-cluster grading``)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from .. import config
from ..errors import InvalidParams, NotFound, StartError
from ..methods import MethodTable, rpc_method
from ..service import Service
from .cache import StudentCache
from .measured_store import MeasuredStore
from .open_store import open_store
from .requests import check_request_id
from .store import GRADE_TYPES, GradeStore

log = logging.getLogger("rpc_cluster.grading")

MAX_PAGE = 1000


def _whole(field: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParams.field(field, "must be a whole number")
    if value < minimum:
        raise InvalidParams.field(field, f"must be at least {minimum}")
    if value > 2**63 - 1:
        raise InvalidParams.field(field, "is too large")
    return value


def _text(field: str, value: Any, longest: int) -> str:
    if not isinstance(value, str):
        raise InvalidParams.field(field, "must be text")
    value = value.strip()
    if not value:
        raise InvalidParams.field(field, "must not be empty")
    if len(value) > longest:
        raise InvalidParams.field(field, f"must be at most {longest} characters")
    if not value.isprintable():
        raise InvalidParams.field(field, "must not contain control characters")
    return value


def _score(value: Any) -> float:
    # Compared before any float conversion: a 400-digit integer cannot become a float.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise InvalidParams.field("score", "must be a number from 0 to 100")
    return float(value)


class Grades:
    """The ``Grades`` namespace."""

    def __init__(self, store: GradeStore):
        self._store = store
        self._students = StudentCache(store)

    @rpc_method
    def get_students(self, offset: int = 0, limit: int | None = None) -> list:
        """Students ordered by id, each with grades and average; page with offset and limit (1-1000)."""
        _whole("offset", offset, 0)
        if limit is not None:
            _whole("limit", limit, 1)
            if limit > MAX_PAGE:
                raise InvalidParams.field("limit", f"must be at most {MAX_PAGE}")
        return self._store.get_students(offset, limit)

    @rpc_method
    def count_students(self) -> int:
        """How many students there are (for paging)."""
        return self._store.count_students()

    @rpc_method
    def get_student(self, student_id: int) -> dict:
        """One student with its grades and average (null without grades); unknown is a 404."""
        student = self._students.get_student(_whole("student_id", student_id, 1))
        if student is None:
            raise NotFound(f"No student with id {student_id}", {"student_id": student_id})
        return student

    @rpc_method
    def add_grade(self, student_id: int, title: str, type: str, score: float, request_id: str | None = None) -> dict:
        """Store a grade: title 1-200 characters, type Quiz/Test/Exam/Homework, score 0-100.

        With a request_id (1-64 characters of A-Z a-z 0-9 . _ : -), a repeat stores
        nothing and returns the first call's grade, on any instance sharing the store.
        """
        student_id = _whole("student_id", student_id, 1)
        title = _text("title", title, 200)
        if type not in GRADE_TYPES:
            raise InvalidParams.field("type", f"must be one of {', '.join(GRADE_TYPES)}")
        stored = self._store.add_grade(student_id, title, type, _score(score), check_request_id(request_id))
        if stored is None:
            raise NotFound(f"No student with id {student_id}", {"student_id": student_id})
        log.info("grade %s (%s, %s) added for student %s", stored["id"], title, stored["score"], student_id)
        return stored

    @rpc_method
    def add_student(self, first_name: str, last_name: str, request_id: str | None = None) -> dict:
        """Store a new student (names 1-100 characters); once per request_id, like add_grade."""
        student = self._store.add_student(_text("first_name", first_name, 100),
                                          _text("last_name", last_name, 100), check_request_id(request_id))
        log.info("student %s (%s %s) added", student["id"], student["first_name"], student["last_name"])
        return student


class GradingService(Service):
    """The grading process: serves ``Grades.*`` over a SQLite or PostgreSQL store."""

    name = "GradingService"

    def __init__(self, *, db: str = "data/grades.db", **kwargs: Any):
        super().__init__(**kwargs)
        #: ``--db``: a SQLite file, or a postgresql:// URL.
        self.db = db
        #: The open store, from ``start()`` to ``stop()``.
        self.store: GradeStore | None = None

    def open(self) -> None:
        try:
            self.store = MeasuredStore(open_store(self.db), self.metrics)
        except Exception as exc:  # sqlite3 and psycopg errors: say which store, in one line
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StartError(f"cannot open the store {self.db!r}: {first_line}") from exc

    def request_threads(self) -> int:
        # SQLite answers from memory, so its calls compete for the GIL: one thread
        # measured 9.4k get_student/s here, two 5.0k. PostgreSQL calls wait on the
        # network with the GIL released: there more threads overlap the waits.
        return self.threads or (8 if self.store is not None and self.store.waits_on_network else 1)

    def expose(self, methods: MethodTable) -> None:
        methods.add_object("Grades", Grades(self.store))

    def on_stop(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    config.add_service_flags(parser, "RPC_CLUSTER_GRADING", 6000)
    config.add_flag(parser, "--db", "RPC_CLUSTER_GRADING_DB", "./data/grades.db",
                    "SQLite file, or a postgresql:// URL shared by several instances")


def main(argv: list[str] | None = None) -> int:
    """Run the grading service in the foreground (``rpc-cluster grading``)."""

    return config.service_main(argv, prog="rpc-cluster grading", description="Run the grading service.",
                               add_arguments=add_arguments,
                               make=lambda args: GradingService(db=args.db, **config.service_kwargs(args)))
