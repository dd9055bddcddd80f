"""What every grade store does (``GradeStore``), and the values and rows every store shares.

A store holds students and grades. The SQL stores compute averages and
paging in SQL, create their schema at start, and seed the five students of
the original Go sample only when the store is empty. Every store gets values
already validated by the service.

``Grade``, ``Student`` and ``Listing`` are the shapes of grading's answers
(docs/protocol.md lists their keys); the portal reads its answers through them.
The store methods below answer plain dicts of those shapes: the service's
``Grades.*`` methods pass them on as they are, and their annotations are on the
wire (OpenRPC, ``system.methodHelp``).

``GradeStore`` is a Protocol: a store satisfies it by having its methods, so
one that misses a method, or takes other arguments, fails mypy where it is
used as a ``GradeStore`` (``open_store``, the service), not in production.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypedDict

if TYPE_CHECKING:
    from ..csv_import import Row


class Grade(TypedDict):
    """One grade as grading answers it (``Grades.add_grade``, and in a ``Student``)."""

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


#: One row as a database driver returns it.
SqlRow = tuple[Any, ...]

GRADE_TYPES = ("Quiz", "Test", "Exam", "Homework")
# Grades.list_students' orders: by last then first name, by average up, by average down.
SORTS = ("name", "average", "-average")

# The original sample's students (its mockdata.go).
SEED = (
    ("Nick", "Carter", [("Quiz 1", "Quiz", 85), ("Final Exam", "Exam", 94), ("Quiz 2", "Quiz", 82)]),
    ("Roberto", "Baggio", [("Quiz 1", "Quiz", 100), ("Final Exam", "Exam", 100), ("Quiz 2", "Quiz", 81)]),
    ("Emma", "Stone", [("Quiz 1", "Quiz", 67), ("Final Exam", "Exam", 0), ("Quiz 2", "Quiz", 75)]),
    ("zhangsan", "san", [("Quiz 1", "Quiz", 44), ("Final Exam", "Exam", 0), ("Quiz 2", "Quiz", 66)]),
    ("xiaoqiao", "qiao", [("Quiz 1", "Quiz", 23), ("Final Exam", "Exam", 0), ("Quiz 2", "Quiz", 44)]),
)


def grade(row: SqlRow) -> dict[str, Any]:
    """A grade dict from (id, title, type, score)."""
    return {"id": row[0], "title": row[1], "type": row[2], "score": float(row[3])}


def students_from_rows(rows: list[SqlRow]) -> list[dict[str, Any]]:
    """Students from joined rows: (id, first, last, grade id, title, type, score, average).

    A student without grades comes as one row whose grade columns are NULL.
    """
    students: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for sid, first, last, gid, title, kind, score, average in rows:
        if current is None or current["id"] != sid:
            current = {
                "id": sid,
                "first_name": first,
                "last_name": last,
                "average": float(average) if average is not None else None,
                "grades": [],
            }
            students.append(current)
        if gid is not None:
            current["grades"].append({"id": gid, "title": title, "type": kind, "score": float(score)})
    return students


class GradeStore(Protocol):
    """Students and grades. Implementations are safe to call from many threads."""

    @property
    def waits_on_network(self) -> bool:
        """True when each call waits on a database server (more request threads help)."""

    def change_token(self) -> object:
        """A cheap value that changes whenever any student may have changed, or None.

        None means "cannot tell without reading": nothing may be cached (the
        PostgreSQL store, whose data other instances change).
        """

    def user_row(self, username: str) -> tuple[int, str, bool] | None:
        """``(id, role, disabled)`` of the user named ``username``; None if there is none."""

    def get_students(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Students ordered by id, each with its grades and average."""

    def count_students(self) -> int:
        """How many students there are."""

    def get_student(self, student_id: int) -> dict[str, Any] | None:
        """One student with its grades and average; None if unknown."""

    def add_grade(
        self, student_id: int, title: str, type: str, score: float, request_id: str | None = None
    ) -> dict[str, Any] | None:
        """Store a grade durably and return it; None if the student is unknown.

        With a ``request_id``, a repeat stores nothing and returns the first result
        (``exactly_once.once``).
        """

    def add_student(self, first_name: str, last_name: str, request_id: str | None = None) -> dict[str, Any]:
        """Store a new student durably and return it (once per ``request_id``, like add_grade)."""

    def update_grade(
        self,
        grade_id: int,
        title: str | None,
        type: str | None,
        score: float | None,
        expected: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Change the given fields (None: keep) and return the stored grade; None if unknown.

        ``expected`` (any of title, type, score): the values the caller last saw. If
        the grade holds others now, nothing changes and ``Conflict`` carries the
        grade as it is; the check and the write are one transaction.
        """

    def delete_grade(self, grade_id: int, expected: dict[str, Any] | None = None) -> bool:
        """Delete a grade; False if there was none with that id. ``expected`` as in update_grade."""

    def list_students(self, offset: int, limit: int, query: str | None, sort: str) -> dict[str, Any]:
        """``{"total", "students"}``: one page of students matching ``query``, without grades.

        ``sort`` is one of SORTS; each student is ``{"id", "first_name",
        "last_name", "average", "grade_count"}``.
        """

    def import_grades(self, rows: list[Row], request_id: str | None = None) -> dict[str, Any]:
        """Store every ``csv_import.Row`` in one transaction and return ``{"imported": N}``.

        A row naming an unknown student stores nothing and raises InvalidParams
        naming its line. Once per ``request_id``, like add_grade.
        """

    def statistics(self) -> dict[str, Any]:
        """``{"students", "grades", "mean", "median", "histogram"}`` over the students' averages."""

    def close(self) -> None:
        """Release connections."""
