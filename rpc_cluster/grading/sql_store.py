"""What the SQLite and PostgreSQL stores share: per-student totals, and the queries of
``update_grade``, ``delete_grade``, ``list_students``, ``import_grades`` and ``statistics``.

Each student row keeps ``grade_count``, ``score_sum`` and ``average``, kept
by triggers on ``grades`` inside the transaction that changes a grade (so
they hold whoever writes, this service or plain SQL). An insert adds to
them; an update or delete recomputes that student's from its grades, so
rounding never piles up. Paging, search and both orders of averages then
read one indexed table instead of aggregating every grade per call.

SQL here uses ``?`` placeholders; the PostgreSQL store passes them as ``%s``.
"""

from __future__ import annotations

import abc
from types import MappingProxyType
from typing import Any, Callable, Protocol

from .csv_import import Row, unknown_student
from .store import GradeStore, grade

# A student's totals from its grades; with "WHERE id = ..." in a trigger, bare when migrating.
RECOMPUTE = """UPDATE students SET
    grade_count = (SELECT COUNT(*) FROM grades WHERE student_id = students.id),
    score_sum = (SELECT COALESCE(SUM(score), 0) FROM grades WHERE student_id = students.id),
    average = (SELECT AVG(score) FROM grades WHERE student_id = students.id)"""
# In an UPDATE every right-hand side reads the row as it was.
ADD_ONE = """UPDATE students SET grade_count = grade_count + 1, score_sum = score_sum + NEW.score,
    average = (score_sum + NEW.score) / (grade_count + 1) WHERE id = NEW.student_id"""

# Students without grades (a NULL average) come last both ways; ties go by id, so pages are stable.
_AVERAGE_ORDERS = MappingProxyType({"average": "average IS NULL, average, id",
                                    "-average": "average IS NULL, average DESC, id"})
_LIST = """SELECT id, first_name, last_name, average, grade_count, (SELECT COUNT(*) FROM students {where})
FROM students {where} ORDER BY {order} LIMIT ? OFFSET ?"""
_UPDATE = """UPDATE grades SET title = COALESCE(?, title), type = COALESCE(?, type), score = COALESCE(?, score)
WHERE id = ? RETURNING id, title, type, score"""


def _statistics_sql() -> str:
    """All of statistics() in one statement, so every figure comes from one snapshot.

    Of n averages in order, the median is the middle one (n odd) or the mean of
    the middle two (n even): OFFSET (n-1)/2, LIMIT 1 + n/2 - (n-1)/2, which is 1
    or 2 (integer division; no "%", which is psycopg's placeholder). Histogram
    bucket i holds averages from 10*i up to but not including 10*(i+1); the last
    one takes 100 too.
    """
    buckets = ", ".join(f"COUNT(CASE WHEN average >= {10 * i}" + (f" AND average < {10 * i + 10}" if i < 9 else "")
                        + " THEN 1 END)" for i in range(10))
    return f"""WITH graded AS (SELECT COUNT(average) AS n FROM students)
SELECT COUNT(*), COALESCE(SUM(grade_count), 0), AVG(average),
    (SELECT AVG(average) FROM (SELECT average FROM students ORDER BY average IS NULL, average
        LIMIT (SELECT 1 + n / 2 - (n - 1) / 2 FROM graded) OFFSET (SELECT (n - 1) / 2 FROM graded)) AS middle),
    {buckets}
FROM students"""


# Ids per existence query during an import: well under every database's parameter limit.
_CHUNK = 500


def like_pattern(query: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') for text containing ``query``, whose % and _ match themselves."""
    return "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Transaction(Protocol):
    """One open transaction of a store."""

    def rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Run one statement; its rows (none for a statement without RETURNING)."""

    def insert_grades(self, grades: list[tuple[int, str, str, float]]) -> None:
        """Insert (student_id, title, type, score) rows, the fastest way this database has."""


class SqlGradeStore(GradeStore):
    """The five methods of issue 13 over ``_read`` and ``_transaction``, which each store provides."""

    #: The ORDER BY of sort="name": last name, first name (ignoring case), then id; indexed.
    name_order = ""

    @abc.abstractmethod
    def _read(self, sql: str, args: tuple) -> list[tuple]:
        """The rows of one read-only statement."""

    @abc.abstractmethod
    def _transaction(self, request_id: str | None, method: str, params: tuple,
                     write: Callable[[Transaction], Any]) -> Any:
        """``write(transaction)``'s result, committed before it returns; all or nothing.

        Done once per ``request_id`` (``requests.once``).
        """

    @abc.abstractmethod
    def _matching(self, query: str) -> tuple[str, tuple]:
        """The condition (and its args) for students whose first or last name contains ``query``."""

    def update_grade(self, grade_id: int, title: str | None, type: str | None,
                     score: float | None) -> dict[str, Any] | None:
        def write(tx: Transaction) -> dict[str, Any] | None:
            found = tx.rows(_UPDATE, (title, type, score, grade_id))
            return grade(found[0]) if found else None

        return self._transaction(None, "update_grade", (), write)

    def delete_grade(self, grade_id: int) -> bool:
        return self._transaction(None, "delete_grade", (), lambda tx: bool(
            tx.rows("DELETE FROM grades WHERE id = ? RETURNING id", (grade_id,))))

    def list_students(self, offset: int, limit: int, query: str | None, sort: str) -> dict[str, Any]:
        where, args = ("", ()) if query is None else self._matching(query)
        where = f"WHERE {where}" if where else ""
        order = self.name_order if sort == "name" else _AVERAGE_ORDERS[sort]
        rows = self._read(_LIST.format(where=where, order=order), args + args + (limit, offset))
        if rows:
            total = rows[0][5]
        else:  # past the last page: no row carries the count
            total = self._read(f"SELECT COUNT(*) FROM students {where}", args)[0][0] if offset else 0
        return {"total": total, "students": [
            {"id": sid, "first_name": first, "last_name": last,
             "average": None if average is None else float(average), "grade_count": count}
            for sid, first, last, average, count, _ in rows]}

    def import_grades(self, rows: list[Row], request_id: str | None = None) -> dict[str, Any]:
        grades = [row[1:] for row in rows]

        def write(tx: Transaction) -> dict[str, Any]:
            wanted = sorted({row.student_id for row in rows})
            known: set[int] = set()
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                known.update(sid for (sid,) in tx.rows(
                    f"SELECT id FROM students WHERE id IN ({', '.join('?' * len(chunk))})", tuple(chunk)))
            error = unknown_student(rows, known)
            if error is not None:
                raise error  # the transaction rolls back: nothing of the file is stored
            tx.insert_grades(grades)
            return {"imported": len(grades)}

        return self._transaction(request_id, "import_grades", (grades,), write)

    def statistics(self) -> dict[str, Any]:
        students, grades, mean, median, *histogram = self._read(_statistics_sql(), ())[0]
        return {"students": students, "grades": int(grades),
                "mean": None if mean is None else float(mean), "median": None if median is None else float(median),
                "histogram": list(histogram)}
