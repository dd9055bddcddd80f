"""``Grades.*`` of classes and their rosters: adding and changing classes (admins), listing them,
enrolling, unenrolling and archiving students."""

from __future__ import annotations

import logging
from typing import Any

from ...core.errors import InvalidParams
from ...core.methods import rpc_method
from .. import validation
from ..access import require_admin
from ..storage.classes.rules import refused
from .base import GradesPart

log = logging.getLogger("rpc_cluster.grading")

# A class's name: as long as a student's.
MAX_NAME = 100


class ClassMethods(GradesPart):
    """Classes and rosters."""

    @rpc_method
    def add_class(self, name: str, teacher: str | None) -> dict[str, Any]:
        """Store a new class and return it: {"id", "name", "teacher"}. For admins.

        name: 1-100 characters. teacher: the user name of its teacher, or null for a
        class without one (which only admins see); a name that is no user is -32602.
        """
        actor = self._actor()
        require_admin(actor, "Grades.add_class")
        made = self._store.add_class(
            validation.text("name", name, MAX_NAME),
            None if teacher is None else validation.username("teacher", teacher),
            actor=actor,
        )
        log.info("class %s (%s) added, teacher %s", made["id"], made["name"], made["teacher"])
        return made

    @rpc_method
    def update_class(self, class_id: int, name: str | None = None, teacher: str | None = None) -> dict[str, Any]:
        """Rename a class or give it another teacher, and return it as add_class does. For admins.

        null or absent: unchanged; teacher "" (empty): no teacher. Unknown class_id: 404.
        """
        actor = self._actor()
        require_admin(actor, "Grades.update_class")
        class_id = validation.whole("class_id", class_id, 1)
        changed = self._store.update_class(
            class_id,
            None if name is None else validation.text("name", name, MAX_NAME),
            # "" stays "": the store takes it as no teacher.
            teacher if teacher in (None, "") else validation.username("teacher", teacher),
            actor=actor,
        )
        if changed is None:
            raise refused(actor, "class_id", class_id)
        log.info("class %s is now %s, teacher %s", class_id, changed["name"], changed["teacher"])
        return changed

    @rpc_method
    def list_classes(self) -> list[dict[str, Any]]:
        """The classes the caller may see (a teacher: those they teach), by name then id:
        [{"id", "name", "teacher", "students"}], students counting the active roster."""
        return self._store.list_classes(actor=self._actor())

    @rpc_method
    def get_class(self, class_id: int) -> dict[str, Any]:
        """One class as list_classes lists it: {"id", "name", "teacher", "students"}; an unknown one is a 404
        (a teacher gets 403 for a class they do not teach, whether it exists or not)."""
        actor = self._actor()
        return self._store.get_class(validation.whole("class_id", class_id, 1), actor=actor)

    @rpc_method
    def enroll(self, class_id: int, student_id: int) -> bool:
        """Enrol a student in a class and return true; enrolled already: true, and an archived
        enrolment is restored. A teacher must teach the class and have the student in another of
        their classes."""
        actor = self._actor()
        class_id, student_id = validation.whole("class_id", class_id, 1), validation.whole("student_id", student_id, 1)
        self._store.enroll(class_id, student_id, actor=actor)
        log.info("student %s enrolled in class %s", student_id, class_id)
        return True

    @rpc_method
    def unenroll(self, class_id: int, student_id: int) -> bool:
        """Take a student out of a class and return true (also when they were not in it).

        Their grades of the class stay in the store: admins still see them, and they show
        again if the student is enrolled again. A teacher must teach the class.
        """
        actor = self._actor()
        class_id, student_id = validation.whole("class_id", class_id, 1), validation.whole("student_id", student_id, 1)
        self._store.unenroll(class_id, student_id, actor=actor)
        log.info("student %s unenrolled from class %s", student_id, class_id)
        return True

    @rpc_method
    def archive(self, class_id: int, student_id: int, archived: bool = True) -> bool:
        """Take a student off a class's active roster (archived false: back onto it) and return true.

        The enrolment and the grades stay, shown as archived. A student not in the class is
        404. A teacher must teach the class.
        """
        actor = self._actor()
        class_id, student_id = validation.whole("class_id", class_id, 1), validation.whole("student_id", student_id, 1)
        if not isinstance(archived, bool):
            raise InvalidParams.field("archived", "must be true or false")
        self._store.archive(class_id, student_id, archived, actor=actor)
        log.info("student %s %s in class %s", student_id, "archived" if archived else "restored", class_id)
        return True
