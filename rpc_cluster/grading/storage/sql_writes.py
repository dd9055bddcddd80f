"""What the SQLite and PostgreSQL stores share: the queries and the writes of every method.

Each student has a row in ``student_totals`` (``grade_count``, ``score_sum``,
``average``), kept by triggers on ``grades`` inside the transaction that
changes a grade, so the totals hold whoever writes (this service or plain
SQL). An insert adds to them; an update or delete recomputes that student's
from its grades (``schema.totals.RECOMPUTE``), so rounding never piles up. Paging, search
and both orders of averages then read indexed rows instead of aggregating
every grade per call. The totals have a table of their own so that grade
writes never touch ``students``: its name indexes (for sorting and
searching) only change when a student is added.

Those totals count every grade, so they answer the service and admins, who
see everything. A teacher's reads, and any read of one class, go through
``classes.views`` instead, over what ``classes.rules`` lets them see.

Every write is one transaction that checks the actor (``classes.rules``),
makes the change and records it in the audit (``audit.record``), so the
three commit together or not at all; a write with a ``request_id`` claims it
in that transaction too (``exactly_once.once``). SQL here uses ``?``
placeholders; the PostgreSQL store's ``Transaction.rows`` and ``_read`` pass
them as ``%s``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, Protocol, TypeVar, cast

from ...core.errors import Conflict
from .. import exactly_once
from ..access import SERVICE, Actor
from ..csv_import import Row
from ..gradebook import assignments, refile, scores, weighting
from ..gradebook.store import SqlGradebook
from ..schema import classes
from ..schema.assignments import POINTS, file_grades
from . import audit
from .classes import rosters, rules, views
from .protocol import SEED, SqlRow, students_from_rows

T = TypeVar("T")
#: What a write that may carry a ``request_id`` returns (``exactly_once.once`` records it).
Written = TypeVar("Written", bound="dict[str, Any] | None")

# protocol.students_from_rows' rows: the grades with a score (a mark or a comment alone is the gradebook's).
_STUDENT = """SELECT s.id, s.first_name, s.last_name, g.id, g.title, g.type, g.score, g.class_id, t.average
FROM students s LEFT JOIN student_totals t ON t.student_id = s.id
LEFT JOIN grades g ON g.student_id = s.id AND g.score IS NOT NULL
WHERE s.id = ? ORDER BY g.id"""
# Page first, then only that page's grades: OFFSET skips bare student rows.
_PAGE = """WITH page AS (SELECT s.id, s.first_name, s.last_name, t.average
    FROM students s LEFT JOIN student_totals t ON t.student_id = s.id ORDER BY s.id LIMIT ? OFFSET ?)
SELECT p.id, p.first_name, p.last_name, g.id, g.title, g.type, g.score, g.class_id, p.average
FROM page p LEFT JOIN grades g ON g.student_id = p.id AND g.score IS NOT NULL
ORDER BY p.id, g.id"""
_LIST = """SELECT s.id, s.first_name, s.last_name, t.average, t.grade_count, ({count})
FROM students s JOIN student_totals t ON t.student_id = s.id ORDER BY {order} LIMIT ? OFFSET ?"""
# A search finds its students once (MATERIALIZED), for both the count and the page, and
# the page is sorted from them: 0.5 ms for ten matches at 10,000 students, where walking
# an order's index until a page of matches turns up took up to 13 ms.
_SEARCH = """WITH hits AS MATERIALIZED ({hits})
SELECT s.id, s.first_name, s.last_name, t.average, t.grade_count, (SELECT COUNT(*) FROM hits)
FROM hits h JOIN students s ON s.id = h.id JOIN student_totals t ON t.student_id = h.id
ORDER BY {order} LIMIT ? OFFSET ?"""
# A grade as the audit records it (scores.recorded).
_GRADE = f"SELECT {scores.COLUMNS} FROM grades WHERE id = ?"
# A grade in no class has no assignment: its points are its score, out of 100.
_UPDATE = f"""UPDATE grades SET title = COALESCE(?, title), type = COALESCE(?, type), score = COALESCE(?, score),
    points = COALESCE(?, points) WHERE id = ? RETURNING {scores.COLUMNS}"""


def _statistics_sql(count_sql: str, graded_sql: str) -> str:
    """All of statistics() in one statement, so every figure comes from one snapshot.

    Each figure is a subquery that an index of averages answers: 4 ms on SQLite
    at 10,000 students, where one pass with ten CASEs per row took 11 ms.

    Of n averages in order, the median is the middle one (n odd) or the mean of
    the middle two (n even): OFFSET (n-1)/2, LIMIT 1 + n/2 - (n-1)/2, which is 1
    or 2 (integer division; no "%", which is psycopg's placeholder). Histogram
    bucket i holds averages from 10*i up to but not including 10*(i+1); the
    last one takes 100 too.
    """
    graded = f"FROM student_totals WHERE {graded_sql}"
    buckets = ", ".join(
        f"(SELECT COUNT(*) {graded} AND average >= {10 * i}" + (f" AND average < {10 * i + 10})" if i < 9 else ")")
        for i in range(10)
    )
    return f"""WITH graded AS (SELECT COUNT(*) AS n {graded})
SELECT ({count_sql}), (SELECT COALESCE(SUM(grade_count), 0) FROM student_totals), (SELECT AVG(average) {graded}),
    (SELECT AVG(average) FROM (SELECT average {graded} ORDER BY average
        LIMIT (SELECT 1 + n / 2 - (n - 1) / 2 FROM graded) OFFSET (SELECT (n - 1) / 2 FROM graded)) AS middle),
    {buckets}"""


def _owner(actor: Actor) -> str | None:
    """Whose ``request_id`` a write's is (``exactly_once.once``): None for the service's own authority."""
    return None if actor.role == "service" else actor.username


def _with_class(params: tuple[Any, ...], class_id: int | None) -> tuple[Any, ...]:
    """A write's params for its ``request_id`` fingerprint: ``class_id`` only when given, so a call
    without it has the fingerprint it had before classes."""
    return params if class_id is None else (*params, class_id)


def like_pattern(query: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') for text containing ``query``, whose % and _ match themselves."""
    return "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Transaction(Protocol):
    """One connection of a store, inside a transaction or committing each statement on its own."""

    #: What ends a SELECT that locks the rows it reads until the transaction ends: " FOR UPDATE"
    #: where other transactions write at the same time (PostgreSQL), "" where a write
    #: transaction holds the whole database (SQLite's BEGIN IMMEDIATE).
    locking: str

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[SqlRow]:
        """Run one statement (``?`` placeholders); its rows (none for a statement without RETURNING)."""

    def insert_rows(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """Insert many rows into ``table``, the fastest way this database has (PostgreSQL: COPY)."""

    def insert_grades(self, grades: list[tuple[Any, ...]]) -> list[int]:
        """Insert rows of ``scores.INSERTED`` (``insert_rows``); their ids, in order and ascending (a
        student's grades are listed by id)."""


def seed(tx: Transaction) -> None:
    """Add the original sample's students (SEED), in a class of their own, when the store has none, their
    grades filed under the class's assignments; call in the schema's transaction."""
    if tx.rows("SELECT COUNT(*) FROM students")[0][0] != 0:
        return
    for first, last, grades in SEED:
        sid = tx.rows(rosters.ADD_STUDENT, rosters.student_keys(first, last))[0][0]
        tx.insert_grades([(sid, None, title, kind, score, None, score, None, None) for title, kind, score in grades])
    classes.gather(tx.rows, classes.SAMPLE_CLASS)
    file_grades(tx.rows)


_USER_ROW = "SELECT id, role, disabled FROM users WHERE username = ?"


class SqlGradeStore(SqlGradebook):
    """A ``GradeStore`` over SQL: its reads and writes over ``_read``, ``_transaction`` and ``_matching``.

    Each store provides those three and the class attributes below (its SQL dialect).
    """

    #: True when each call waits on a database server (more request threads help).
    waits_on_network = False

    #: The ORDER BY of sort="name" over ``students s``: last name, first name (ignoring
    #: case), then id; indexed.
    name_order = ""
    #: The LIMIT that means none.
    no_limit: int | None = None
    #: A statement whose one value is how many students there are.
    count_sql = "SELECT COUNT(*) FROM students"
    #: The ORDER BY of sort="average" and "-average" over ``student_totals t``: students
    #: without grades (a NULL average) last both ways, ties by id (stable pages); indexed.
    average_orders = MappingProxyType(
        {
            "average": "t.average IS NULL, t.average, t.student_id",
            "-average": "t.average IS NULL, t.average DESC, t.student_id",
        }
    )
    #: The condition on student_totals for students with grades, in the form its index answers.
    graded_sql = "(average IS NULL) = FALSE"

    @abc.abstractmethod
    def _read(self, sql: str, args: tuple[Any, ...]) -> list[SqlRow]:
        """The rows of one read-only statement."""

    @abc.abstractmethod
    def _transaction(self, write: Callable[[Transaction], T]) -> T:
        """``write(transaction)``'s result, committed before it returns; all or nothing."""

    @abc.abstractmethod
    def _matching(self, query: str) -> tuple[str, tuple[Any, ...]]:
        """A SELECT of the ids (each once) of the students ``query`` finds (``search``), and its args."""

    def _once(
        self,
        actor: Actor,
        request_id: str | None,
        method: str,
        params: tuple[Any, ...],
        write: Callable[[Transaction], Written],
    ) -> Written:
        """``write(transaction)``'s result in one transaction, done once per ``request_id`` of ``actor``.

        The id is claimed in the write's own transaction (``exactly_once.once``), so the
        claim, the write and its audit entries commit together or not at all.
        """
        return self._transaction(
            lambda tx: exactly_once.once(tx.rows, request_id, method, params, lambda: write(tx), _owner(actor))
        )

    def _limit(self, limit: int | None) -> int | None:
        return self.no_limit if limit is None else limit

    def change_token(self) -> object:
        return None

    def user_row(self, username: str) -> tuple[int, str, bool] | None:
        found = self._read(_USER_ROW, (username,))
        return (int(found[0][0]), str(found[0][1]), bool(found[0][2])) if found else None

    # -- reads ------------------------------------------------------------------------------------

    def get_students(
        self, offset: int = 0, limit: int | None = None, *, actor: Actor = SERVICE
    ) -> list[dict[str, Any]]:
        if not actor.sees_all:
            return views.get_students(self._read, rules.teacher_view(actor), offset, self._limit(limit))
        return students_from_rows(self._read(_PAGE, (self._limit(limit), offset)))

    def count_students(self, *, actor: Actor = SERVICE) -> int:
        if not actor.sees_all:
            return views.count_students(self._read, rules.teacher_view(actor))
        count: int = self._read(self.count_sql, ())[0][0]
        return count

    def get_student(self, student_id: int, *, actor: Actor = SERVICE) -> dict[str, Any] | None:
        return self._student(self._read, student_id, actor)

    def _student(self, read: rules.Read, student_id: int, actor: Actor) -> dict[str, Any] | None:
        if not actor.sees_all:
            return views.get_student(read, rules.teacher_view(actor), student_id)
        found = students_from_rows(read(_STUDENT, (student_id,)))
        return found[0] if found else None

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
        order = self.name_order if sort == "name" else self.average_orders[sort]
        view = rules.view(self._read, actor, class_id, archived=archived)
        if view is not None:
            matching = None if query is None else self._matching(query)
            total, rows = views.list_students(self._read, view, offset, limit, order, matching)
        else:
            if query is None:
                sql, args = _LIST.format(count=self.count_sql, order=order), ()
            else:
                hits, args = self._matching(query)
                sql = _SEARCH.format(hits=hits, order=order)
            rows = self._read(sql, (*args, limit, offset))
            # Past the last page, the first one's row carries the count.
            rows_for_total = self._read(sql, (*args, 1, 0)) if not rows and offset else rows
            total = rows_for_total[0][5] if rows_for_total else 0
        return {
            "total": total,
            "students": [
                {
                    "id": sid,
                    "first_name": first,
                    "last_name": last,
                    "average": None if average is None else float(average),
                    "grade_count": int(count),
                }
                for sid, first, last, average, count, _ in rows
            ],
        }

    def statistics(self, class_id: int | None = None, *, actor: Actor = SERVICE) -> dict[str, Any]:
        view = rules.view(self._read, actor, class_id)
        if view is not None:
            return views.statistics(self._read, view)
        sql = _statistics_sql(self.count_sql, self.graded_sql)
        students, grades, mean, median, *histogram = self._read(sql, ())[0]
        return {
            "students": students,
            "grades": int(grades),
            "mean": None if mean is None else float(mean),
            "median": None if median is None else float(median),
            "histogram": list(histogram),
        }

    def list_classes(self, *, actor: Actor = SERVICE) -> list[dict[str, Any]]:
        return rosters.list_classes(self._read, actor)

    def get_class(self, class_id: int, *, actor: Actor = SERVICE) -> dict[str, Any]:
        return rosters.get_class(self._read, actor, class_id)

    def history(self, entity: str, entity_id: int, *, actor: Actor = SERVICE) -> list[dict[str, Any]]:
        rules.require_history(self._read, actor, entity, entity_id)
        entries = audit.history(self._read, cast("audit.Entity", entity), entity_id)
        if not entries:
            rules.require_record(self._read, actor, entity, entity_id)
        return entries

    def changes(self, class_id: int, limit: int, *, actor: Actor = SERVICE) -> list[dict[str, Any]]:
        rules.require_class(self._read, actor, class_id)
        return audit.changes(self._read, class_id, limit)

    # -- writes: each one transaction with its audit entries ------------------------------------------

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
        def write(tx: Transaction) -> dict[str, Any]:
            placed = rules.place(tx.rows, actor, student_id, class_id)
            if placed is None:
                return scores.answered(_unfiled(tx, actor, [(student_id, title, type, score)])[0])
            column = assignments.of(assignments.for_grade(tx, actor, placed, title, type, POINTS))
            entry = scores.Entry(student_id, weighting.points_of(score, column.max_points), None, None)
            _, after = scores.write(tx, actor.username, [(column, entry)], keep=True)
            stored = after[(column.id, student_id)]
            assert stored is not None  # an entry with points always leaves a score
            return scores.answered(stored)

        params = _with_class((student_id, title, type, score), class_id)
        return self._once(actor, request_id, "add_grade", params, write)

    def add_student(
        self,
        first_name: str,
        last_name: str,
        request_id: str | None = None,
        class_id: int | None = None,
        *,
        actor: Actor = SERVICE,
    ) -> dict[str, Any]:
        def write(tx: Transaction) -> dict[str, Any]:
            placed = rules.new_student_class(tx.rows, actor, class_id)
            made = rosters.new_student(tx, actor, first_name, last_name, placed)
            return {**made, "average": None, "grades": []}

        return self._once(actor, request_id, "add_student", _with_class((first_name, last_name), class_id), write)

    def update_student(
        self, student_id: int, first_name: str | None, last_name: str | None, *, actor: Actor = SERVICE
    ) -> dict[str, Any] | None:
        def write(tx: Transaction) -> dict[str, Any] | None:
            found = tx.rows("SELECT first_name, last_name FROM students WHERE id = ?" + tx.locking, (student_id,))
            if not found or (not actor.sees_all and not rules.sees_student(tx.rows, actor, student_id)):
                return None
            first, last = str(found[0][0]), str(found[0][1])
            before = {"id": student_id, "first_name": first, "last_name": last}
            first, last = first if first_name is None else first_name, last if last_name is None else last_name
            after = {"id": student_id, "first_name": first, "last_name": last}
            if after != before:
                tx.rows("UPDATE students SET first_name = ?, last_name = ? WHERE id = ?", (first, last, student_id))
                # The keys in a statement of their own: a rename whose folded keys stay the same
                # (a change of case) has its keys cleared by the schema's trigger on names, which
                # guards against renames by plain SQL.
                keys = rosters.student_keys(first, last)[2:]
                tx.rows("UPDATE students SET first_key = ?, last_key = ? WHERE id = ?", (*keys, student_id))
                audit.record(tx, actor.username, "update", "student", student_id, None, before, after)
            return self._student(tx.rows, student_id, actor)

        return self._transaction(write)

    def _grade_to_change(self, tx: Transaction, grade_id: int, actor: Actor) -> dict[str, Any] | None:
        """The grade as recorded, locked until the transaction ends; None if unknown, not the actor's, or
        without a score (a mark or a comment alone, which only the gradebook's methods change)."""
        found = tx.rows(_GRADE + tx.locking, (grade_id,))
        if not found:
            return None
        recorded = scores.recorded(found[0])
        if recorded["score"] is None:
            return None
        if not rules.sees_grade(tx.rows, actor, recorded["student_id"], recorded["class_id"]):
            return None
        return recorded

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
        def write(tx: Transaction) -> dict[str, Any] | None:
            before = self._grade_to_change(tx, grade_id, actor)
            if before is None:
                return None
            _still(grade_id, before, expected)
            if before["assignment_id"] is None:
                after = scores.recorded(tx.rows(_UPDATE, (title, type, score, score, grade_id))[0])
            else:
                after = refile.refile(tx, actor, before, title, type, score)
            if after != before:
                audit.record(tx, actor.username, "update", "grade", grade_id, after["class_id"], before, after)
            return scores.answered(after)

        return self._transaction(write)

    def delete_grade(self, grade_id: int, expected: dict[str, Any] | None = None, *, actor: Actor = SERVICE) -> bool:
        def write(tx: Transaction) -> bool:
            before = self._grade_to_change(tx, grade_id, actor)
            if before is None:
                return False
            _still(grade_id, before, expected)
            tx.rows("DELETE FROM grades WHERE id = ?", (grade_id,))
            audit.record(tx, actor.username, "delete", "grade", grade_id, before["class_id"], before, None)
            return True

        return self._transaction(write)

    def import_grades(
        self, rows: list[Row], request_id: str | None = None, class_id: int | None = None, *, actor: Actor = SERVICE
    ) -> dict[str, Any]:
        def write(tx: Transaction) -> dict[str, Any]:
            placed = rules.place_rows(tx.rows, actor, rows, class_id)
            _unfiled(
                tx,
                actor,
                [
                    (row.student_id, row.title, row.type, row.score)
                    for row, cid in zip(rows, placed, strict=True)
                    if cid is None
                ],
            )
            # Each class's rows by assignment, a student's last line winning (one score per assignment).
            by_class: dict[int, list[Row]] = {}
            for row, cid in zip(rows, placed, strict=True):
                if cid is not None:
                    by_class.setdefault(cid, []).append(row)
            for cid, lines in by_class.items():
                wanted = {row.title.casefold(): (row.title, row.type) for row in reversed(lines)}
                columns = {
                    key: assignments.of(found)
                    for key, found in assignments.for_grades(tx, actor, cid, wanted, POINTS).items()
                }
                items = {
                    (row.title.casefold(), row.student_id): (
                        columns[row.title.casefold()],
                        scores.Entry(
                            row.student_id,
                            weighting.points_of(row.score, columns[row.title.casefold()].max_points),
                            None,
                            None,
                        ),
                    )
                    for row in lines
                }
                scores.write(tx, actor.username, list(items.values()), keep=True)
            return {"imported": len(rows)}

        fingerprinted = [row[1:] for row in rows]
        return self._once(actor, request_id, "import_grades", _with_class((fingerprinted,), class_id), write)

    def add_class(self, name: str, teacher: str | None, *, actor: Actor = SERVICE) -> dict[str, Any]:
        return self._transaction(lambda tx: rosters.add_class(tx, actor, name, teacher))

    def update_class(
        self, class_id: int, name: str | None, teacher: str | None, *, actor: Actor = SERVICE
    ) -> dict[str, Any] | None:
        return self._transaction(lambda tx: rosters.update_class(tx, actor, class_id, name, teacher))

    def enroll(self, class_id: int, student_id: int, *, actor: Actor = SERVICE) -> bool:
        return self._transaction(lambda tx: rosters.enroll(tx, actor, class_id, student_id))

    def unenroll(self, class_id: int, student_id: int, *, actor: Actor = SERVICE) -> bool:
        return self._transaction(lambda tx: rosters.unenroll(tx, actor, class_id, student_id))

    def archive(self, class_id: int, student_id: int, archived: bool, *, actor: Actor = SERVICE) -> bool:
        return self._transaction(lambda tx: rosters.archive(tx, actor, class_id, student_id, archived))


def _unfiled(tx: Transaction, actor: Actor, grades: list[tuple[int, str, str, float]]) -> list[dict[str, Any]]:
    """Store (student_id, title, type, score) grades in no class, with their audit entries; as recorded.

    A grade in no class has no assignment, so it keeps the rules grades had before assignments: its
    title is free (each call adds a grade) and its points are its score, out of 100.
    """
    if not grades:
        return []
    rows = [(sid, None, title, kind, score, None, score, None, None) for sid, title, kind, score in grades]
    made = [scores.recorded((gid, *row)) for gid, row in zip(tx.insert_grades(rows), rows, strict=True)]
    audit.record_many(tx, actor.username, "create", "grade", [(g["id"], None, None, g) for g in made])
    return made


def _still(grade_id: int, current: dict[str, Any], expected: dict[str, Any] | None) -> None:
    """Raise Conflict, carrying the grade as it is, unless it holds every value of ``expected``.

    ``expected``'s values are validated as stored (a title stripped, a score a float), so
    they compare with the row as read; the row is locked, so no write comes in between.
    """
    if expected and any(current[key] != value for key, value in expected.items()):
        raise Conflict(f"grade {grade_id} was changed since the form was opened", scores.answered(current))
