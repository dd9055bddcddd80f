"""``Grades.*`` of a class's assignments and settings: adding, changing, deleting and listing assignments,
and the class's categories with their weights and its letter scale."""

from __future__ import annotations

import logging
from typing import Any

from ...core.errors import InvalidParams
from ...core.methods import rpc_method
from .. import validation
from ..gradebook import weighting
from .base import GradesPart

log = logging.getLogger("rpc_cluster.grading")

# What update_assignment's ``expected`` may hold: the fields a form shows.
_EXPECTED = ("title", "category", "max_points", "due")


class AssignmentMethods(GradesPart):
    """Assignments, categories and letters."""

    @rpc_method
    def add_assignment(
        self, class_id: int, title: str, category: str, max_points: float, due: str | None = None
    ) -> dict[str, Any]:
        """Add an assignment to a class and return it: {"id", "class_id", "title", "category", "max_points", "due"}.

        title: 1-200 characters, unique in the class ignoring case (a second one is 409, whose
        data is the assignment there is). category: one of the class's categories. max_points:
        a number above 0. due: a date as YYYY-MM-DD, or null. Scores are points from 0 to max_points.
        """
        actor = self._actor()
        made = self._store.add_assignment(
            validation.whole("class_id", class_id, 1),
            validation.title(title),
            validation.text("category", category, weighting.MAX_CATEGORY_NAME),
            validation.max_points(max_points),
            validation.due(due) or None,
            actor=actor,
        )
        log.info("assignment %s added to class %s", made["id"], made["class_id"])
        return made

    @rpc_method
    def update_assignment(
        self,
        assignment_id: int,
        title: str | None = None,
        category: str | None = None,
        max_points: float | None = None,
        due: str | None = None,
        expected: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Change an assignment's given fields (null or absent: unchanged; due "": no date) and return it.

        A title another assignment of the class has is 409; max_points below a score already
        given is -32602. expected: the fields as the form showed them (any of title, category,
        max_points, due); if the assignment holds others now, nothing changes: 409 whose data is
        the assignment as it is.
        """
        actor = self._actor()
        assignment_id = validation.whole("assignment_id", assignment_id, 1)
        changes = {
            "title": None if title is None else validation.title(title),
            "category": None if category is None else validation.text("category", category, 40),
            "max_points": None if max_points is None else validation.max_points(max_points),
            "due": validation.due(due),
        }
        if expected is not None and (not isinstance(expected, dict) or not set(expected) <= set(_EXPECTED)):
            raise InvalidParams.field("expected", f"must be an object of {', '.join(_EXPECTED)}, or null")
        changed = self._store.update_assignment(assignment_id, changes, expected, actor=actor)
        log.info("assignment %s updated", assignment_id)
        return changed

    @rpc_method
    def delete_assignment(self, assignment_id: int, scored: int | None = None) -> bool:
        """Delete an assignment with every score on it (each one recorded in the audit); true.

        scored: how many scores the confirmation said go with it; if it has another number now
        (scores entered since), nothing is deleted: 409 whose data is the assignment with "scored".
        """
        actor = self._actor()
        assignment_id = validation.whole("assignment_id", assignment_id, 1)
        expected = None if scored is None else validation.whole("scored", scored, 0)
        self._store.delete_assignment(assignment_id, expected, actor=actor)
        log.info("assignment %s deleted", assignment_id)
        return True

    @rpc_method
    def list_assignments(self, class_id: int) -> list[dict[str, Any]]:
        """A class's assignments in column order (by due date, then undated ones as added), each as
        add_assignment answers it with "scored": how many scores it has."""
        actor = self._actor()
        return self._store.list_assignments(validation.whole("class_id", class_id, 1), actor=actor)

    @rpc_method
    def set_categories(
        self, class_id: int, categories: list[dict[str, Any]], expected: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Give a class its categories and return {"categories": [...]}.

        categories: 1-12 {"name", "weight"}, names unique ignoring case, weights percentages
        from 0 to 100 that add up to 100 (else -32602 naming weight). {"name", "weight", "was"}
        renames category "was", its assignments with it. A category that assignments use
        cannot be left out. The default is Quiz, Test, Exam and Homework, 25 each. expected: the
        categories the form showed ({"name", "weight"} each); if the class has others now, nothing
        changes: 409 whose data is {"categories": [...]}, as they are.
        """
        actor = self._actor()
        class_id = validation.whole("class_id", class_id, 1)
        seen = _shown("expected", expected, ("name", "weight"))
        stored = self._store.set_categories(class_id, weighting.categories(categories), seen, actor=actor)
        log.info("class %s has %s categories", class_id, len(stored["categories"]))
        return stored

    @rpc_method
    def set_scale(
        self, class_id: int, scale: list[dict[str, Any]], expected: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Give a class its letter scale and return {"scale": [...]}, highest minimum first.

        scale: 1-15 {"letter", "min"}: letters (1-5 characters) and minimums (0-100) unique, one
        minimum 0. An average gets the first letter whose minimum it reaches. The default is
        A 90, B 80, C 70, D 60, F 0. expected: the scale the form showed ({"letter", "min"} each);
        if the class has another now, nothing changes: 409 whose data is {"scale": [...]}.
        """
        actor = self._actor()
        class_id = validation.whole("class_id", class_id, 1)
        seen = _shown("expected", expected, ("letter", "min"))
        stored = self._store.set_scale(class_id, weighting.scale(scale), seen, actor=actor)
        log.info("class %s has a scale of %s letters", class_id, len(stored["scale"]))
        return stored


def _shown(field: str, value: Any, keys: tuple[str, str]) -> list[dict[str, Any]] | None:
    """A list a form showed, as stored (the text key, then the number as a float), to compare with the
    class's; None when not given."""
    if value is None:
        return None
    text, number = keys
    if not isinstance(value, list) or not all(isinstance(item, dict) and item.keys() == set(keys) for item in value):
        raise InvalidParams.field(field, f'must be a list of objects of "{text}" and "{number}", or null')
    if not all(isinstance(i[text], str) and isinstance(i[number], int | float) for i in value):
        raise InvalidParams.field(field, f'must hold a text "{text}" and a number "{number}"')
    try:
        return [{text: item[text], number: float(item[number])} for item in value]
    except OverflowError:  # an int too large for a float: no class holds it
        raise InvalidParams.field(field, f'"{number}" must be from 0 to 100') from None
