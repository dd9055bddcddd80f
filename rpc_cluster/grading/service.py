"""``Grades.*`` over RPC: validation, then the store (``rpc-cluster grading``)."""

from __future__ import annotations

import argparse
import logging
from typing import Any, Unpack

from ..core.errors import InvalidParams, NotFound, StartError
from ..core.methods import MethodTable, rpc_method
from ..runtime import flags, runner
from ..runtime.service import Service, ServiceOptions
from . import csv_import, search, validation
from .accounts.passwords import Passwords
from .accounts.sessions import Sessions
from .accounts.users import Users
from .exactly_once import check_request_id
from .open_store import check_db, open_store, store_folder
from .storage.measured import MeasuredStore
from .storage.protocol import SORTS, GradeStore
from .storage.sqlite_cache import StudentCache

log = logging.getLogger("rpc_cluster.grading")

MAX_PAGE = 1000
# list_students' largest page: a screenful many times over, and a reply that stays small.
MAX_LIST = 500
# Request bodies up to 8 MiB (other services: 1 MiB): an import_grades of 50,000
# grades with titles of 100 characters fits.
MAX_BODY = 8 << 20
# Names are at most 100 characters, so a longer query could match nothing.
MAX_QUERY = 100


class Grades:
    """The ``Grades`` namespace."""

    def __init__(self, store: GradeStore):
        self._store = store
        self._students = StudentCache(store)

    @rpc_method
    def get_students(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Students ordered by id, each with grades and average; page with offset and limit (1-1000)."""
        validation.whole("offset", offset, 0)
        if limit is not None:
            validation.whole("limit", limit, 1)
            if limit > MAX_PAGE:
                raise InvalidParams.field("limit", f"must be at most {MAX_PAGE}")
        return self._store.get_students(offset, limit)

    @rpc_method
    def count_students(self) -> int:
        """How many students there are (for paging)."""
        return self._store.count_students()

    @rpc_method
    def get_student(self, student_id: int) -> dict[str, Any]:
        """One student with its grades and average (null without grades); unknown is a 404."""
        student = self._students.get_student(validation.whole("student_id", student_id, 1))
        if student is None:
            raise NotFound(f"No student with id {student_id}", {"student_id": student_id})
        # The cached JSON text of that object, sent as it is; the signature says what a caller
        # gets (rpc.discover's schema is read from it).
        return student  # type: ignore[return-value]

    @rpc_method
    def add_grade(
        self, student_id: int, title: str, type: str, score: float, request_id: str | None = None
    ) -> dict[str, Any]:
        """Store a grade: title 1-200 characters, type Quiz/Test/Exam/Homework, score 0-100.

        With a request_id (1-64 characters of A-Z a-z 0-9 . _ : -), a repeat stores
        nothing and returns the first call's grade, on any instance sharing the store.
        """
        student_id = validation.whole("student_id", student_id, 1)
        title = validation.title(title)
        stored = self._store.add_grade(
            student_id, title, validation.grade_type(type), validation.score(score), check_request_id(request_id)
        )
        if stored is None:
            raise NotFound(f"No student with id {student_id}", {"student_id": student_id})
        log.info("grade %s (%s, %s) added for student %s", stored["id"], title, stored["score"], student_id)
        return stored

    @rpc_method
    def add_student(self, first_name: str, last_name: str, request_id: str | None = None) -> dict[str, Any]:
        """Store a new student (names 1-100 characters); once per request_id, like add_grade."""
        student = self._store.add_student(
            validation.text("first_name", first_name, 100),
            validation.text("last_name", last_name, 100),
            check_request_id(request_id),
        )
        log.info("student %s (%s %s) added", student["id"], student["first_name"], student["last_name"])
        return student

    @rpc_method
    def update_grade(
        self,
        grade_id: int,
        title: str | None = None,
        type: str | None = None,
        score: float | None = None,
        expected: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Change a grade's given fields (null or absent: unchanged) and return the stored grade.

        The same rules as add_grade; an unknown grade_id is a 404. expected: the
        values the edit form was opened with, an object of any of title, type and
        score (the score exactly as it was returned). If the grade holds other
        values now, nothing changes: 409 whose data is the grade as it is. Without
        expected the last writer wins.
        """
        grade_id = validation.whole("grade_id", grade_id, 1)
        stored = self._store.update_grade(
            grade_id,
            None if title is None else validation.title(title),
            None if type is None else validation.grade_type(type),
            None if score is None else validation.score(score),
            validation.expected(expected),
        )
        if stored is None:
            raise _no_grade(grade_id)
        log.info("grade %s updated: %s, %s, %s", grade_id, stored["title"], stored["type"], stored["score"])
        return stored

    @rpc_method
    def delete_grade(self, grade_id: int, expected: dict[str, Any] | None = None) -> bool:
        """Delete a grade and return true; an unknown grade_id is a 404.

        expected: as in update_grade; a grade changed since is a 409 whose data is
        the grade as it is, and it is not deleted.
        """
        grade_id = validation.whole("grade_id", grade_id, 1)
        if not self._store.delete_grade(grade_id, validation.expected(expected)):
            raise _no_grade(grade_id)
        log.info("grade %s deleted", grade_id)
        return True

    @rpc_method
    def list_students(
        self, offset: int = 0, limit: int = 50, query: str | None = None, sort: str = "name"
    ) -> dict[str, Any]:
        """One page of students without their grades: {"total", "students": [{"id", "first_name",
        "last_name", "average", "grade_count"}]}.

        query: words each found in the first or the last name, ignoring case and accents
        ("carter nick" finds Nick Carter, "zoe" finds Zoë); at most 100 characters, no
        control characters; empty matches everyone. sort: "name" (last name, first name), "average" or
        "-average" (students without grades last either way); ties go by id.
        limit: 1-500. total counts every matching student, for paging.
        """
        validation.whole("offset", offset, 0)
        validation.whole("limit", limit, 1)
        if limit > MAX_LIST:
            raise InvalidParams.field("limit", f"must be at most {MAX_LIST}")
        if query is not None:
            if not isinstance(query, str):
                raise InvalidParams.field("query", "must be text or null")
            if search.unprintable(query):
                raise InvalidParams.field("query", "must not contain control characters")
            query = query.strip() or None
            if query is not None and len(query) > MAX_QUERY:
                raise InvalidParams.field("query", f"must be at most {MAX_QUERY} characters")
        if sort not in SORTS:
            raise InvalidParams.field("sort", f"must be one of {', '.join(SORTS)}")
        return self._store.list_students(offset, limit, query, sort)

    @rpc_method
    def import_grades(self, csv_text: str, request_id: str | None = None) -> dict[str, Any]:
        """Store every grade of a CSV file, all or none, and return {"imported": N}.

        The header is student_id,title,type,score; each line follows add_grade's rules
        and names a known student; at most 50,000 lines. A bad line stores nothing and
        is -32602 whose data names its line (the header is line 1) and field. With a
        request_id, a repeat stores nothing and returns the first call's result.
        """
        request_id = check_request_id(request_id)
        result = self._store.import_grades(csv_import.parse(csv_text), request_id)
        log.info("%s grades imported", result["imported"])
        return result

    @rpc_method
    def statistics(self) -> dict[str, Any]:
        """The class at a glance: {"students", "grades", "mean", "median", "histogram"}.

        mean and median are over the students' averages (each student counts once;
        students without grades are left out; null when no student has a grade).
        histogram: how many averages fall in 0-9.99, 10-19.99, ..., 90-100.
        """
        return self._store.statistics()


def _no_grade(grade_id: int) -> NotFound:
    return NotFound(f"No grade with id {grade_id}", {"grade_id": grade_id})


class GradingService(Service):
    """The grading process: serves ``Grades.*`` over a SQLite or PostgreSQL store."""

    name = "GradingService"
    max_body = MAX_BODY

    def __init__(self, *, db: str = "data/grades.db", **options: Unpack[ServiceOptions]):
        super().__init__(**options)
        #: ``--db``: a SQLite file, or a postgresql:// URL.
        self.db = db
        self._store: GradeStore | None = None

    @property
    def store(self) -> GradeStore:
        """The open store, from ``open()`` to ``stop()``; RuntimeError outside them."""
        if self._store is None:
            raise RuntimeError("rpc: GradingService has an open store only from open() (start()) to stop()")
        return self._store

    def open(self) -> None:
        try:
            self._store = MeasuredStore(open_store(self.db), self.metrics, store_folder(self.db))
        except Exception as exc:  # sqlite3 and psycopg errors: say which store, in one line
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StartError(f"cannot open the store {self.db!r}: {first_line}") from exc

    def request_threads(self) -> int:
        # SQLite answers from memory, so its calls compete for the GIL: one thread
        # measured 9.4k get_student/s here, two 5.0k. PostgreSQL calls wait on the
        # network with the GIL released: there more threads overlap the waits.
        return self.threads or (8 if self._store is not None and self._store.waits_on_network else 1)

    def expose(self, methods: MethodTable) -> None:
        methods.add_object("Grades", Grades(self.store))
        passwords = Passwords()
        methods.add_object("Users", Users(self.store, passwords))
        methods.add_object("Sessions", Sessions(self.store, passwords))

    def on_stop(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    flags.add_service_flags(parser, "RPC_CLUSTER_GRADING", 6000)
    flags.add_flag(
        parser,
        "--db",
        "RPC_CLUSTER_GRADING_DB",
        "./data/grades.db",
        "SQLite file, or a postgresql:// URL shared by several instances",
        type=_db_flag,
    )


def _db_flag(text: str) -> str:
    """--db as given, once open_store.check_db takes it (a bad one is a usage error, exit 2)."""
    try:
        return check_db(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    """Run the grading service in the foreground (``rpc-cluster grading``)."""

    return runner.service_main(
        argv,
        prog="rpc-cluster grading",
        description="Run the grading service.",
        add_arguments=add_arguments,
        make=lambda args: GradingService(db=args.db, **flags.service_kwargs(args)),
    )
