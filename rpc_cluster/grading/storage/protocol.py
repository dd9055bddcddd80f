"""What every grade store does (``GradeStore``), and the values and rows every store shares.

A store holds students, their grades, classes and enrolments. The SQL stores
compute averages and paging in SQL, create their schema at start, and seed
the five students of the original Go sample only when the store is empty.
Every store gets values already validated by the service.

Each method takes the ``actor`` a call acts for (``access.Actor``; the
service's own authority when not given) and answers what that actor may
see: everything for the service and admins, a teacher's classes, their
students and those students' grades in them otherwise
(``storage/classes/rules.py``). What an actor may not see answers as
unknown (None, or False); every write records an audit entry in its own
transaction (``storage/audit.py``).

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

from typing import TYPE_CHECKING, Any, NotRequired, Protocol, TypedDict

from ..access import SERVICE, Actor

if TYPE_CHECKING:
    from ..accounts.store import AccountStore
    from ..csv_import import Row
    from ..gradebook.grid_csv import Parsed
    from ..gradebook.scores import Entry


class Grade(TypedDict):
    """One grade as grading answers it (``Grades.add_grade``, and in a ``Student``)."""

    id: int
    title: str
    type: str
    score: float
    #: The grade's class; None for a grade in no class. Grading always sends it; a grade
    #: built from an older answer (or a form) may lack it.
    class_id: NotRequired[int | None]


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


class SchoolClass(TypedDict):
    """One class as ``Grades.add_class`` and ``Grades.update_class`` answer it."""

    id: int
    name: str
    #: The teacher's username; None for a class without a teacher (admins only).
    teacher: str | None


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
    """A grade as answered, from (id, title, type, score, class_id)."""
    return {"id": row[0], "title": row[1], "type": row[2], "score": float(row[3]), "class_id": row[4]}


def students_from_rows(rows: list[SqlRow]) -> list[dict[str, Any]]:
    """Students from joined rows: (id, first, last, grade id, title, type, score, class_id, average).

    A student without grades comes as one row whose grade columns are NULL.
    """
    students: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for sid, first, last, gid, title, kind, score, class_id, average in rows:
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
            current["grades"].append(grade((gid, title, kind, score, class_id)))
    return students


class GradeStore(Protocol):
    """Students, grades, classes and enrolments. Implementations are safe to call from many threads.

    ``actor``: who the call acts for (the service's own authority when not given).
    """

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

    @property
    def accounts(self) -> AccountStore:
        """Users, sessions and failed sign-ins, in this store's database (``accounts/store.py``)."""

    def get_students(
        self, offset: int = 0, limit: int | None = None, *, actor: Actor = SERVICE
    ) -> list[dict[str, Any]]:
        """The students the actor sees, ordered by id, each with the grades they see and their average."""

    def count_students(self, *, actor: Actor = SERVICE) -> int:
        """How many students the actor sees."""

    def get_student(self, student_id: int, *, actor: Actor = SERVICE) -> dict[str, Any] | None:
        """One student with the grades the actor sees and their average; None if unknown or not theirs."""

    def add_grade(
        self,
        student_id: int,
        title: str,
        type: str,
        score: float,
        request_id: str | None = None,
        class_id: int | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        """Store a grade durably and return it.

        The grade goes to ``class_id``, or by ``rules.place`` to the student's one
        class the actor may use; an unknown student, or one the actor may not
        grade there, raises (``rules.refused``). With a ``request_id``, a repeat
        by the same actor stores nothing and returns the first result (``exactly_once.once``).
        """

    def add_student(
        self,
        first_name: str,
        last_name: str,
        request_id: str | None = None,
        class_id: int | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        """Store a new student durably, enrolled in ``class_id`` if given, and return it.

        A teacher must name a class they teach, or teach exactly one. Once per
        ``request_id``, like add_grade.
        """

    def update_student(
        self, student_id: int, first_name: str | None, last_name: str | None, *, actor: Actor = SERVICE
    ) -> dict[str, Any] | None:
        """Rename a student (None: keep) and return it as get_student does; None if unknown or not theirs."""

    def update_grade(
        self,
        grade_id: int,
        title: str | None,
        type: str | None,
        score: float | None,
        expected: dict[str, Any] | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any] | None:
        """Change the given fields (None: keep) and return the stored grade; None if unknown or not theirs.

        ``expected`` (any of title, type, score): the values the caller last saw. If
        the grade holds others now, nothing changes and ``Conflict`` carries the
        grade as it is; the check and the write are one transaction.
        """

    def delete_grade(self, grade_id: int, expected: dict[str, Any] | None = None, *, actor: Actor = SERVICE) -> bool:
        """Delete a grade; False if there was none the actor may change. ``expected`` as in update_grade."""

    def list_students(
        self,
        offset: int,
        limit: int,
        query: str | None,
        sort: str,
        class_id: int | None = None,
        *,
        archived: bool = False,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        """``{"total", "students"}``: one page of the students matching ``query``, without grades.

        ``sort`` is one of SORTS; each student is ``{"id", "first_name",
        "last_name", "average", "grade_count"}``, over the grades the actor sees.
        With ``class_id``: that class's active roster (``archived``: the students archived in it), over
        that class's grades.
        """

    def import_grades(
        self, rows: list[Row], request_id: str | None = None, class_id: int | None = None, *, actor: Actor = SERVICE
    ) -> dict[str, Any]:
        """Store every ``csv_import.Row`` in one transaction and return ``{"imported": N}``.

        Each row's grade goes to a class as add_grade's would. A row naming a
        student the actor may not grade stores nothing and raises InvalidParams
        naming its line. Once per ``request_id``, like add_grade.
        """

    def statistics(self, class_id: int | None = None, *, actor: Actor = SERVICE) -> dict[str, Any]:
        """``{"students", "grades", "mean", "median", "histogram"}`` over the averages of the students
        the actor sees (of ``class_id``'s active roster, if given)."""

    def add_class(self, name: str, teacher: str | None, *, actor: Actor = SERVICE) -> dict[str, Any]:
        """Store a new class taught by the user named ``teacher`` (None: no teacher) and return it."""

    def update_class(
        self, class_id: int, name: str | None, teacher: str | None, *, actor: Actor = SERVICE
    ) -> dict[str, Any] | None:
        """Rename a class or give it another teacher (None: keep; "": none); None if unknown."""

    def list_classes(self, *, actor: Actor = SERVICE) -> list[dict[str, Any]]:
        """The classes the actor may see, each ``{"id", "name", "teacher", "students"}`` (active enrolments)."""

    def get_class(self, class_id: int, *, actor: Actor = SERVICE) -> dict[str, Any]:
        """One class as ``list_classes`` lists it; NotFound if unknown, Forbidden for a class the actor may not see."""

    def enroll(self, class_id: int, student_id: int, *, actor: Actor = SERVICE) -> bool:
        """Enrol a student in a class, or restore their archived enrolment; True."""

    def unenroll(self, class_id: int, student_id: int, *, actor: Actor = SERVICE) -> bool:
        """Take a student out of a class (their grades stay in the store); True."""

    def archive(self, class_id: int, student_id: int, archived: bool, *, actor: Actor = SERVICE) -> bool:
        """Move an enrolment off (or back onto) the class's active roster; True."""

    def history(self, entity: str, entity_id: int, *, actor: Actor = SERVICE) -> list[dict[str, Any]]:
        """The audit entries of one record, oldest first."""

    def changes(self, class_id: int, limit: int, *, actor: Actor = SERVICE) -> list[dict[str, Any]]:
        """A class's newest audit entries, newest first."""

    def add_assignment(
        self, class_id: int, title: str, category: str, max_points: float, due: str | None, *, actor: Actor = SERVICE
    ) -> dict[str, Any]:
        """A new assignment of the class; Conflict for a title the class has (ignoring case)."""

    def update_assignment(
        self, assignment_id: int, changes: dict[str, Any], expected: dict[str, Any] | None, *, actor: Actor = SERVICE
    ) -> dict[str, Any]:
        """Change the fields of ``changes`` that are not None (due "": none); Conflict if ``expected`` is stale."""

    def delete_assignment(self, assignment_id: int, scored: int | None = None, *, actor: Actor = SERVICE) -> bool:
        """Delete the assignment and its scores; True. Conflict when it has other than ``scored`` scores."""

    def list_assignments(self, class_id: int, *, actor: Actor = SERVICE) -> list[dict[str, Any]]:
        """The class's assignments in column order, each with ``scored``."""

    def set_categories(
        self,
        class_id: int,
        categories: list[dict[str, Any]],
        expected: list[dict[str, Any]] | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        """Give the class these categories (checked by ``weighting.categories``); Conflict if ``expected`` is stale."""

    def set_scale(
        self,
        class_id: int,
        scale: list[dict[str, Any]],
        expected: list[dict[str, Any]] | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        """Give the class this letter scale (checked by ``weighting.scale``); Conflict if ``expected`` is stale."""

    def set_scores(
        self,
        assignment_id: int,
        entries: list[Entry],
        was: dict[int, dict[str, Any]],
        request_id: str | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        """Set the entries' scores on the assignment, all or nothing, once per ``request_id``; ``{"saved"}``."""

    def gradebook(self, class_id: int, student_id: int | None = None, *, actor: Actor = SERVICE) -> dict[str, Any]:
        """The class's grid (``gradebook.grid``)."""

    def preview_import(self, class_id: int, parsed: Parsed, *, actor: Actor = SERVICE) -> dict[str, Any]:
        """What importing ``parsed`` into the class would change (``gradebook.imports``); stores nothing."""

    def import_gradebook(
        self,
        class_id: int,
        parsed: Parsed,
        add_students: bool,
        expected: str | None,
        request_id: str | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        """Apply ``parsed`` in one transaction if its preview's token is ``expected``, once per ``request_id``."""

    def close(self) -> None:
        """Release connections."""
