"""``Grades.*`` of students: reading them (one, a page, a search, the statistics), adding and renaming them."""

from __future__ import annotations

import logging
from typing import Any

from ...core.errors import InvalidParams
from ...core.methods import rpc_method
from .. import search, validation
from ..exactly_once import check_request_id
from ..storage.classes.rules import refused
from ..storage.protocol import SORTS
from .base import MAX_LIST, MAX_PAGE, GradesPart

log = logging.getLogger("rpc_cluster.grading")

# Names are at most 100 characters, so a longer query could match nothing.
MAX_QUERY = 100


class StudentMethods(GradesPart):
    """Students: read, add, rename, list and sum up."""

    @rpc_method
    def get_students(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Students ordered by id, each with grades and average; page with offset and limit (1-1000).

        A teacher gets the students of their classes, each with their grades in those classes.
        """
        actor = self._actor()
        validation.whole("offset", offset, 0)
        if limit is not None:
            validation.whole("limit", limit, 1)
            if limit > MAX_PAGE:
                raise InvalidParams.field("limit", f"must be at most {MAX_PAGE}")
        return self._store.get_students(offset, limit, actor=actor)

    @rpc_method
    def count_students(self) -> int:
        """How many students there are (for paging); for a teacher, how many their classes hold."""
        return self._store.count_students(actor=self._actor())

    @rpc_method
    def get_student(self, student_id: int) -> dict[str, Any]:
        """One student with its grades and average (null without grades); unknown is a 404.

        A teacher sees a student of their classes (else 403, whether the id exists or not),
        with the grades of those classes and the average over them.
        """
        actor = self._actor()
        student_id = validation.whole("student_id", student_id, 1)
        if actor.sees_all:
            cached = self._students.get_student(student_id)
            if cached is None:
                raise refused(actor, "student_id", student_id)
            # The cached JSON text of that object, sent as it is; the signature says what a caller
            # gets (rpc.discover's schema is read from it).
            return cached  # type: ignore[return-value]
        student = self._store.get_student(student_id, actor=actor)
        if student is None:
            raise refused(actor, "student_id", student_id)
        return student

    @rpc_method
    def add_student(
        self, first_name: str, last_name: str, request_id: str | None = None, class_id: int | None = None
    ) -> dict[str, Any]:
        """Store a new student (names 1-100 characters); once per request_id, like add_grade.

        With class_id the student is enrolled in that class in the same transaction. A
        teacher must name a class they teach, or teach exactly one (then it is that one).
        """
        actor = self._actor()
        student = self._store.add_student(
            validation.text("first_name", first_name, 100),
            validation.text("last_name", last_name, 100),
            check_request_id(request_id),
            validation.optional_id("class_id", class_id),
            actor=actor,
        )
        log.info("student %s (%s %s) added", student["id"], student["first_name"], student["last_name"])
        return student

    @rpc_method
    def update_student(
        self, student_id: int, first_name: str | None = None, last_name: str | None = None
    ) -> dict[str, Any]:
        """Rename a student (null or absent: unchanged) and return it as get_student does.

        The names follow add_student's rules. A teacher may rename a student of their classes.
        """
        actor = self._actor()
        student_id = validation.whole("student_id", student_id, 1)
        student = self._store.update_student(
            student_id,
            None if first_name is None else validation.text("first_name", first_name, 100),
            None if last_name is None else validation.text("last_name", last_name, 100),
            actor=actor,
        )
        if student is None:
            raise refused(actor, "student_id", student_id)
        log.info("student %s renamed %s %s", student_id, student["first_name"], student["last_name"])
        return student

    @rpc_method
    def list_students(
        self,
        offset: int = 0,
        limit: int = 50,
        query: str | None = None,
        sort: str = "name",
        class_id: int | None = None,
        archived: bool = False,
    ) -> dict[str, Any]:
        """One page of students without their grades: {"total", "students": [{"id", "first_name",
        "last_name", "average", "grade_count"}]}.

        query: words each found in the first or the last name, ignoring case and accents
        ("carter nick" finds Nick Carter, "zoe" finds Zoë); at most 100 characters, no
        control characters; empty matches everyone. sort: "name" (last name, first name), "average" or
        "-average" (students without grades last either way); ties go by id.
        limit: 1-500. total counts every matching student, for paging.
        class_id: only that class's active roster, each average over that class's grades;
        with archived true, the students archived in that class instead (archived needs class_id).
        A teacher lists the students of their classes (averages over those classes' grades),
        and only classes they teach.
        """
        actor = self._actor()
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
        class_id = validation.optional_id("class_id", class_id)
        if not isinstance(archived, bool):
            raise InvalidParams.field("archived", "must be true or false")
        if archived and class_id is None:
            raise InvalidParams.field("archived", "needs class_id: students are archived in a class")
        return self._store.list_students(offset, limit, query, sort, class_id, archived=archived, actor=actor)

    @rpc_method
    def statistics(self, class_id: int | None = None) -> dict[str, Any]:
        """The class at a glance: {"students", "grades", "mean", "median", "histogram"}.

        mean and median are over the students' averages (each student counts once;
        students without grades are left out; null when no student has a grade).
        histogram: how many averages fall in 0-9.99, 10-19.99, ..., 90-100.
        class_id: over that class's active roster and its grades. A teacher sums up the
        students of their classes and those classes' grades.
        """
        actor = self._actor()
        return self._store.statistics(validation.optional_id("class_id", class_id), actor=actor)
