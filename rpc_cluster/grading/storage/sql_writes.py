"""What the SQLite and PostgreSQL stores share: per-student totals, the queries and the writes.

Each student has a row in ``student_totals`` (``grade_count``, ``score_sum``,
``average``), kept by triggers on ``grades`` inside the transaction that
changes a grade, so the totals hold whoever writes (this service or plain
SQL). An insert adds to them; an update or delete recomputes that student's
from its grades (``schema.totals.RECOMPUTE``), so rounding never piles up. Paging, search
and both orders of averages then read indexed rows instead of aggregating
every grade per call. The totals have a table of their own so that grade
writes never touch ``students``: its name indexes (for sorting and
searching) only change when a student is added.

SQL here uses ``?`` placeholders; the PostgreSQL store's ``Transaction.rows`` and
``_read`` pass them as ``%s``. Every write goes through ``_write`` (one statement,
or a transaction that claims its ``request_id`` first: ``exactly_once.once``).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from ...core.errors import Conflict
from .. import exactly_once, search
from ..csv_import import Row, unknown_student
from ..schema import classes
from .protocol import SEED, SqlRow, grade, students_from_rows

T = TypeVar("T")
#: What a write that may carry a ``request_id`` returns (``exactly_once.once`` records it).
Written = TypeVar("Written", bound="dict[str, Any] | None")

_STUDENT = """SELECT s.id, s.first_name, s.last_name, g.id, g.title, g.type, g.score, t.average
FROM students s LEFT JOIN student_totals t ON t.student_id = s.id LEFT JOIN grades g ON g.student_id = s.id
WHERE s.id = ? ORDER BY g.id"""
# Page first, then only that page's grades: OFFSET skips bare student rows.
_PAGE = """WITH page AS (SELECT s.id, s.first_name, s.last_name, t.average
    FROM students s LEFT JOIN student_totals t ON t.student_id = s.id ORDER BY s.id LIMIT ? OFFSET ?)
SELECT p.id, p.first_name, p.last_name, g.id, g.title, g.type, g.score, p.average
FROM page p LEFT JOIN grades g ON g.student_id = p.id
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
# {unchanged}: "AND column = ?" for each value the caller's form was opened with (compare-and-set).
_UPDATE = """UPDATE grades SET title = COALESCE(?, title), type = COALESCE(?, type), score = COALESCE(?, score)
WHERE id = ?{unchanged} RETURNING id, title, type, score"""
_DELETE = "DELETE FROM grades WHERE id = ?{unchanged} RETURNING id"
_GRADE = "SELECT id, title, type, score FROM grades WHERE id = ?"
# A grade for a student that exists; no row when the student is unknown.
_ADD_GRADE = """INSERT INTO grades (student_id, title, type, score) SELECT ?, ?, ?, ?
WHERE EXISTS (SELECT 1 FROM students WHERE id = ?) RETURNING id, title, type, score"""
# A student with the folded names that searches compare (each schema's first_key and last_key).
_ADD_STUDENT = "INSERT INTO students (first_name, last_name, first_key, last_key) VALUES (?, ?, ?, ?) RETURNING id"
# Compare-and-set rounds before a stale write gives up: see _compare_and_set.
_CAS_ROUNDS = 3


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


# Ids per existence query during an import: well under every database's parameter limit.
_CHUNK = 500


def _unchanged(expected: dict[str, Any] | None) -> tuple[str, tuple[Any, ...]]:
    """The extra WHERE terms (and their args) under which a grade still holds ``expected``.

    Its keys are validated column names (title, type, score); a score compares as a number.
    """
    held = expected or {}
    keys = sorted(held)
    return "".join(f" AND {key} = ?" for key in keys), tuple(held[key] for key in keys)


def _compare_and_set(
    tx: Transaction, grade_id: int, expected: dict[str, Any] | None, write: Callable[[], list[T]]
) -> T | None:
    """``write()``'s first row, the write guarded by ``_unchanged(expected)``; None for an unknown grade.

    A write that matched no row either met no grade (None) or a stale one: that
    is a Conflict carrying the grade as it is now, and nothing was written.
    """
    for _ in range(_CAS_ROUNDS):
        done = write()
        if done:
            return done[0]
        found = tx.rows(_GRADE, (grade_id,))
        if not found:
            return None
        current = grade(found[0])
        if expected is None or any(current[key] != value for key, value in expected.items()):
            raise Conflict(f"grade {grade_id} was changed since the form was opened", current)
        # Under PostgreSQL's READ COMMITTED this read sees a newer commit than the write
        # did: the grade was changed and changed back in between. Its values match again.
    raise Conflict(f"grade {grade_id} was changed since the form was opened", current)


def like_pattern(query: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') for text containing ``query``, whose % and _ match themselves."""
    return "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Transaction(Protocol):
    """One connection of a store, inside a transaction or committing each statement on its own."""

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[SqlRow]:
        """Run one statement (``?`` placeholders); its rows (none for a statement without RETURNING)."""

    def insert_grades(self, grades: list[tuple[int, str, str, float]]) -> None:
        """Insert (student_id, title, type, score) rows, the fastest way this database has."""


def student_keys(first_name: str, last_name: str) -> tuple[str, str, str, str]:
    """A new student's row: the names, then the folded keys a search compares (``search.fold``)."""
    return first_name, last_name, search.fold(first_name), search.fold(last_name)


def seed(tx: Transaction) -> None:
    """Add the original sample's students (SEED), in a class of their own, when the store has none; call in
    the schema's transaction."""
    if tx.rows("SELECT COUNT(*) FROM students")[0][0] != 0:
        return
    for first, last, grades in SEED:
        sid = tx.rows(_ADD_STUDENT, student_keys(first, last))[0][0]
        tx.insert_grades([(sid, *row) for row in grades])
    classes.gather(tx.rows, classes.SAMPLE_CLASS)


_USER_ROW = "SELECT id, role, disabled FROM users WHERE username = ?"


class SqlGradeStore(abc.ABC):
    """A ``GradeStore`` over SQL: its reads and writes over ``_read``, ``_autocommitted``,
    ``_transaction`` and ``_matching``.

    Each store provides those four and the class attributes below (its SQL dialect).
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
    def _autocommitted(self, write: Callable[[Transaction], T]) -> T:
        """``write(connection)``'s result, where each statement commits on its own before it returns."""

    @abc.abstractmethod
    def _transaction(self, write: Callable[[Transaction], T]) -> T:
        """``write(transaction)``'s result, committed before it returns; all or nothing."""

    @abc.abstractmethod
    def _matching(self, query: str) -> tuple[str, tuple[Any, ...]]:
        """A SELECT of the ids (each once) of the students ``query`` finds (``search``), and its args."""

    def _once(
        self, request_id: str | None, method: str, params: tuple[Any, ...], write: Callable[[Transaction], Written]
    ) -> Written:
        """``write(transaction)``'s result in one transaction, done once per ``request_id``.

        The id is claimed in the write's own transaction (``exactly_once.once``), so the
        claim and the write commit together or not at all.
        """
        return self._transaction(lambda tx: exactly_once.once(tx.rows, request_id, method, params, lambda: write(tx)))

    def _write(
        self, request_id: str | None, method: str, params: tuple[Any, ...], write: Callable[[Transaction], Written]
    ) -> Written:
        """A write of one statement, committed before it returns; done once per ``request_id``.

        Without an id the statement needs no transaction around it: it commits on its own.
        """
        if request_id is None:
            return self._autocommitted(write)
        return self._once(request_id, method, params, write)

    def change_token(self) -> object:
        return None

    def user_row(self, username: str) -> tuple[int, str, bool] | None:
        found = self._read(_USER_ROW, (username,))
        return (int(found[0][0]), str(found[0][1]), bool(found[0][2])) if found else None

    def get_students(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        return students_from_rows(self._read(_PAGE, (self.no_limit if limit is None else limit, offset)))

    def count_students(self) -> int:
        count: int = self._read(self.count_sql, ())[0][0]
        return count

    def get_student(self, student_id: int) -> dict[str, Any] | None:
        found = students_from_rows(self._read(_STUDENT, (student_id,)))
        return found[0] if found else None

    def add_grade(
        self, student_id: int, title: str, type: str, score: float, request_id: str | None = None
    ) -> dict[str, Any] | None:
        def write(tx: Transaction) -> dict[str, Any] | None:
            added = tx.rows(_ADD_GRADE, (student_id, title, type, score, student_id))
            return grade(added[0]) if added else None

        return self._write(request_id, "add_grade", (student_id, title, type, score), write)

    def add_student(self, first_name: str, last_name: str, request_id: str | None = None) -> dict[str, Any]:
        def write(tx: Transaction) -> dict[str, Any]:
            sid = tx.rows(_ADD_STUDENT, student_keys(first_name, last_name))[0][0]
            return {"id": sid, "first_name": first_name, "last_name": last_name, "average": None, "grades": []}

        return self._write(request_id, "add_student", (first_name, last_name), write)

    def update_grade(
        self,
        grade_id: int,
        title: str | None,
        type: str | None,
        score: float | None,
        expected: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        unchanged, expected_args = _unchanged(expected)
        sql = _UPDATE.format(unchanged=unchanged)

        def write(tx: Transaction) -> dict[str, Any] | None:
            return _compare_and_set(
                tx,
                grade_id,
                expected,
                lambda: [grade(row) for row in tx.rows(sql, (title, type, score, grade_id, *expected_args))],
            )

        return self._transaction(write)

    def delete_grade(self, grade_id: int, expected: dict[str, Any] | None = None) -> bool:
        unchanged, expected_args = _unchanged(expected)
        sql = _DELETE.format(unchanged=unchanged)

        def write(tx: Transaction) -> bool:
            deleted = _compare_and_set(tx, grade_id, expected, lambda: tx.rows(sql, (grade_id, *expected_args)))
            return deleted is not None

        return self._transaction(write)

    def list_students(self, offset: int, limit: int, query: str | None, sort: str) -> dict[str, Any]:
        order = self.name_order if sort == "name" else self.average_orders[sort]
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
                    "grade_count": count,
                }
                for sid, first, last, average, count, _ in rows
            ],
        }

    def import_grades(self, rows: list[Row], request_id: str | None = None) -> dict[str, Any]:
        grades = [row[1:] for row in rows]

        def write(tx: Transaction) -> dict[str, Any]:
            wanted = sorted({row.student_id for row in rows})
            known: set[int] = set()
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                known.update(
                    sid
                    for (sid,) in tx.rows(
                        f"SELECT id FROM students WHERE id IN ({', '.join('?' * len(chunk))})", tuple(chunk)
                    )
                )
            error = unknown_student(rows, known)
            if error is not None:
                raise error  # the transaction rolls back: nothing of the file is stored
            tx.insert_grades(grades)
            return {"imported": len(grades)}

        return self._once(request_id, "import_grades", (grades,), write)

    def statistics(self) -> dict[str, Any]:
        sql = _statistics_sql(self.count_sql, self.graded_sql)
        students, grades, mean, median, *histogram = self._read(sql, ())[0]
        return {
            "students": students,
            "grades": int(grades),
            "mean": None if mean is None else float(mean),
            "median": None if median is None else float(median),
            "histogram": list(histogram),
        }
