"""``Grades.*`` of grades: adding one, editing and deleting it, importing many from CSV."""

from __future__ import annotations

import logging
from typing import Any

from ...core.methods import rpc_method
from .. import csv_import, validation
from ..exactly_once import check_request_id
from ..storage.classes.rules import refused
from .base import GradesPart

log = logging.getLogger("rpc_cluster.grading")


class GradeMethods(GradesPart):
    """Grades: add, edit, delete, import."""

    @rpc_method
    def add_grade(
        self,
        student_id: int,
        title: str,
        type: str,
        score: float,
        request_id: str | None = None,
        class_id: int | None = None,
    ) -> dict[str, Any]:
        """Store a grade: title 1-200 characters, type Quiz/Test/Exam/Homework, score 0-100.

        In a class, the grade is the student's score on the class's assignment of that title
        (ignoring case), made with category type and 100 points when there is none; score is a
        percentage of the assignment's points. A second add_grade of that title for the student
        changes that score (the same grade id), and type then stays the assignment's.

        With a request_id (1-64 characters of A-Z a-z 0-9 . _ : -), a repeat stores
        nothing and returns the first call's grade, on any instance sharing the store.
        class_id: the grade's class, which the student is enrolled in. Without it the
        grade goes to the student's one active class (a teacher's: one they teach); a
        student in several must name one; in none, the grade has no class (a teacher
        is refused).
        """
        actor = self._actor()
        student_id = validation.whole("student_id", student_id, 1)
        title = validation.title(title)
        stored = self._store.add_grade(
            student_id,
            title,
            validation.grade_type(type),
            validation.score(score),
            check_request_id(request_id),
            validation.optional_id("class_id", class_id),
            actor=actor,
        )
        log.info("grade %s (%s, %s) added for student %s", stored["id"], title, stored["score"], student_id)
        return stored

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
        expected the last writer wins. A teacher may change a grade of their classes.
        """
        actor = self._actor()
        grade_id = validation.whole("grade_id", grade_id, 1)
        stored = self._store.update_grade(
            grade_id,
            None if title is None else validation.title(title),
            None if type is None else validation.grade_type(type),
            None if score is None else validation.score(score),
            validation.expected(expected),
            actor=actor,
        )
        if stored is None:
            raise refused(actor, "grade_id", grade_id)
        log.info("grade %s updated: %s, %s, %s", grade_id, stored["title"], stored["type"], stored["score"])
        return stored

    @rpc_method
    def delete_grade(self, grade_id: int, expected: dict[str, Any] | None = None) -> bool:
        """Delete a grade and return true; an unknown grade_id is a 404.

        expected: as in update_grade; a grade changed since is a 409 whose data is
        the grade as it is, and it is not deleted. A teacher may delete a grade of their classes.
        """
        actor = self._actor()
        grade_id = validation.whole("grade_id", grade_id, 1)
        if not self._store.delete_grade(grade_id, validation.expected(expected), actor=actor):
            raise refused(actor, "grade_id", grade_id)
        log.info("grade %s deleted", grade_id)
        return True

    @rpc_method
    def import_grades(
        self, csv_text: str, request_id: str | None = None, class_id: int | None = None
    ) -> dict[str, Any]:
        """Store every grade of a CSV file, all or none, and return {"imported": N}.

        The header is student_id,title,type,score; each line follows add_grade's rules
        and names a known student; at most 50,000 lines. A bad line stores nothing and
        is -32602 whose data names its line (the header is line 1) and field. With a
        request_id, a repeat stores nothing and returns the first call's result.
        Each grade goes to a class as add_grade's would (class_id: that class for all);
        a line naming a student the caller may not grade is -32602 naming its line and student_id.
        """
        actor = self._actor()
        request_id = check_request_id(request_id)
        class_id = validation.optional_id("class_id", class_id)
        result = self._store.import_grades(csv_import.parse(csv_text), request_id, class_id, actor=actor)
        log.info("%s grades imported", result["imported"])
        return result
