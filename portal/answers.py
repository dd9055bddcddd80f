"""What grading answers, as the portal reads it: JSON objects whose keys docs/protocol.md lists
(``Grades.get_student``, ``Grades.list_students``)."""

from __future__ import annotations

from typing import Any, TypedDict


class Grade(TypedDict):
    """One grade as grading answers it."""

    id: int
    title: str
    type: str
    score: float


class Student(TypedDict):
    """One student as ``Grades.get_student`` answers, with every grade."""

    id: int
    first_name: str
    last_name: str
    #: The mean of the scores; None without grades.
    average: float | None
    grades: list[Grade]


class Listing(TypedDict):
    """A page of ``Grades.list_students``: how many students match, and this page's summaries."""

    total: int
    students: list[dict[str, Any]]
