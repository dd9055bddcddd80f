"""The grades CSV the portal exports (``/students.csv``) and imports (``/import``).

Columns: ``student_id,title,type,score,first_name,last_name``: the import's
four (``Grades.import_grades`` in docs/protocol.md) and the names, so a teacher can
read the file. Import takes the four, in any order, and ignores the names.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return) as a formula (CSV injection, OWASP). Export puts an
apostrophe before such a text, as spreadsheets themselves do, and import
takes one apostrophe off again, so a file goes round unchanged. A text that
already starts with apostrophes before such a character gets one more, so
``'=x`` survives the round trip too.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rpc_cluster.grading.csv_import import SCORE_TEXT
from rpc_cluster.grading.storage.protocol import Student

EXPORT_COLUMNS = ("student_id", "title", "type", "score", "first_name", "last_name")
IMPORT_COLUMNS = ("student_id", "title", "type", "score")
NAME_COLUMNS = ("first_name", "last_name")
_FORMULA = re.compile(r"'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")
#: A score as text: grading's rule for an imported file's score cell, so a form takes exactly what
#: /import takes (float() alone would also take "5_0", Arabic-Indic digits, "nan" and "infinity").
SCORE = SCORE_TEXT


def escape_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it: ``=1+1`` becomes ``'=1+1``."""
    return "'" + text if _FORMULA.match(text) else text


def unescape_cell(text: str) -> str:
    """What ``escape_cell`` was given: one leading apostrophe off a cell it escaped."""
    return text[1:] if _ESCAPED.match(text) else text


def parse_score(text: str) -> float | None:
    """The score ``text`` gives (white space around it ignored, as import strips a cell), as a finite
    number; None when it is not one by ``SCORE`` (or too large for a float)."""
    text = text.strip()
    if not SCORE.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def score_text(value: float) -> str:
    """``85`` or ``91.25``: the stored number exactly, as a spreadsheet reads it."""
    return str(int(value)) if value.is_integer() else repr(value)


def export_chunks(pages: Iterable[list[Student]]) -> Iterator[bytes]:
    """The CSV, header first, one UTF-8 chunk for each page of students (each with its ``grades``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for students in pages:
        for student in students:
            first, last = escape_cell(student["first_name"]), escape_cell(student["last_name"])
            for grade in student["grades"]:
                writer.writerow(
                    (student["id"], escape_cell(grade["title"]), grade["type"], score_text(grade["score"]), first, last)
                )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


class CsvProblem(ValueError):
    """Why a file cannot be imported: the ``problem``, its ``line`` (1 is the header; None: the whole file)
    and ``field``."""

    def __init__(self, problem: str, line: int | None = None, field: str | None = None):
        super().__init__(problem)
        self.problem, self.line, self.field = problem, line, field

    def __str__(self) -> str:
        if not self.line:
            return f"The file {self.problem}."
        return f"Line {self.line}{f', {self.field}' if self.field else ''}: {self.problem}."


@dataclass
class Prepared:
    """An uploaded file made ready for ``Grades.import_grades``."""

    #: The CSV with the header ``student_id,title,type,score``, one line for each grade.
    text: str
    #: ``lines[k - 1]``: the line of the uploaded file where line ``k`` of ``text`` came from.
    lines: list[int] = field(repr=False)
    #: How many distinct student ids its grades name.
    students: int

    @property
    def grades(self) -> int:
        return len(self.lines) - 1

    def file_line(self, line: object) -> int | None:
        """The uploaded file's line for line ``line`` of ``text`` (as grading names it), if known."""
        if isinstance(line, int) and not isinstance(line, bool) and 1 <= line <= len(self.lines):
            return self.lines[line - 1]
        return None


def prepare_import(data: bytes) -> Prepared:
    """Check an uploaded CSV's shape and turn it into the import's four columns.

    Only the shape is checked here (text, header, the number of fields); the
    values are grading's to check, all rows or none. Raises ``CsvProblem``.
    """
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte order mark
    except UnicodeDecodeError as exc:
        raise CsvProblem('is not UTF-8 text (save it as "CSV UTF-8")', data.count(b"\n", 0, exc.start) + 1) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header:
            raise CsvProblem("is empty: it needs the header " + ",".join(IMPORT_COLUMNS), 1)
        positions = _positions(header)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(IMPORT_COLUMNS)
        lines, students = [1], set()
        start = reader.line_num + 1
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue  # a blank line, e.g. at the end
            if len(row) != len(header):
                raise CsvProblem(f"has {len(row)} fields where the header has {len(header)}", line)
            values = [unescape_cell(row[positions[name]].strip()) for name in IMPORT_COLUMNS]
            for name, value in zip(IMPORT_COLUMNS, values, strict=True):
                if "\n" in value or "\r" in value:
                    raise CsvProblem("must not contain a line break", line, name)
            writer.writerow(values)
            lines.append(line)
            students.add(values[0].strip())
    except csv.Error as exc:
        raise CsvProblem(f"is not valid CSV ({exc})", reader.line_num) from None
    if len(lines) == 1:
        raise CsvProblem("has no grades, only the header")
    return Prepared(out.getvalue(), lines, len(students))


def _positions(header: list[str]) -> dict[str, int]:
    names = [name.strip().lower() for name in header]
    for name in names:
        if name not in IMPORT_COLUMNS + NAME_COLUMNS:
            raise CsvProblem(f"has the column {name!r}; the columns are {', '.join(EXPORT_COLUMNS)}", 1)
        if names.count(name) > 1:
            raise CsvProblem(f"has the column {name!r} twice", 1)
    missing = [name for name in IMPORT_COLUMNS if name not in names]
    if missing:
        raise CsvProblem(f"has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}", 1)
    return {name: names.index(name) for name in IMPORT_COLUMNS}
