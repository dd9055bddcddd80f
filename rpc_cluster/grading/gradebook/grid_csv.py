"""An uploaded gradebook CSV read into plain values, with every error in it at once.

Two shapes, told apart by the header (each name compared case-insensitively, white space around it
ignored):

- the grid, as the portal exports a class: ``student_id,first_name,last_name``, then one column per
  assignment (its title), and ``average`` and ``letter`` (optional, wherever they stand after the names,
  recognised by name and ignored). An empty ``student_id`` is a new student, who needs both names. A cell
  is ``""`` (no score: leave it as it is), points (``85``, ``12.5``), a mark alone (``missing``,
  ``excused``, ``late``) or points and a mark (``85 late``);
- today's per-grade CSV: ``student_id,title,type,score`` in any order (and, ignored, the
  ``first_name,last_name`` that ``/students.csv`` adds), one score per line, a percentage from 0 to 100.

Nothing here knows a class: whether a student exists, an assignment is new or points exceed its
``max_points`` is the caller's to check. What this module checks it reports as a ``CellError`` naming the
file's line (1-based, the header is line 1, counted in physical lines so a quoted line break counts) and
the column, and goes on: a teacher fixes the whole file at once.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return; the
portal's export puts an apostrophe before such a text (portal/grades_csv.py). Every value read here loses
that one apostrophe again, so an exported file imports back unchanged.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from ...core.errors import InvalidParams
from .. import validation
from ..csv_import import SCORE_TEXT
from ..storage.protocol import GRADE_TYPES

# Grades.import_grades' bound. 50,000 rows of 20 cells (6 MB) read in 3.5 s on the 2-core development machine.
_MAX_LINES = 50_000
# As many scores as import_grades' lines: the preview lists each one (some 150 bytes of JSON), and a file of
# tiny cells holds millions (2,000 columns of "1," in 8 MiB), whose preview went past the response limit.
_MAX_SCORES = 50_000
_MAX_COLUMNS = 2_000
# An error shows at most this much of the value it is about.
_SHOWN = 100
_MARKS = ("missing", "excused", "late")
_FIXED = ("student_id", "first_name", "last_name")
_IGNORED = ("average", "letter")
_GRADES = ("student_id", "title", "type", "score")
_GRADES_NAMES = ("first_name", "last_name")
_HEADERS = (
    "the first line must be the grid's header (student_id,first_name,last_name, then one column per "
    "assignment) or student_id,title,type,score"
)
_CELL = 'must be points (85), a mark (missing, excused or late), or points and a mark ("85 late")'
_WHOLE = re.compile(r"[0-9]+")
# A grid's cell: points, points and a mark, or a mark alone; one match, as a file may hold a million cells.
_GRID_CELL = re.compile(
    rf"(?P<points>{SCORE_TEXT.pattern})(\s+(?P<mark>{'|'.join(_MARKS)}))?|(?P<alone>{'|'.join(_MARKS)})", re.IGNORECASE
)
# What the export escapes (portal/grades_csv.py): apostrophes, then a character a spreadsheet runs.
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")


class Cell(NamedTuple):
    """One score as the file gives it (a tuple, not a dataclass: a file may hold a million)."""

    #: Points (the grid) or a percentage (the per-grade CSV, see ``percent``); None: a mark alone.
    points: float | None
    #: ``missing``, ``excused``, ``late`` or None.
    mark: str | None
    #: True when ``points`` is a percentage of the assignment's max_points, for the caller to convert.
    percent: bool


@dataclass(frozen=True)
class GridRow:
    """One student of the file and their cells."""

    #: The file's line of the row (the per-grade CSV: of the student's first line).
    line: int
    #: None: a new student (the grid only).
    student_id: int | None
    #: Stripped; "" when the file gives none (always, in the per-grade CSV).
    first_name: str
    last_name: str
    #: By the assignment's title key (``title.casefold()``); a cell left empty in the file is absent.
    cells: dict[str, Cell]


@dataclass(frozen=True)
class CellError:
    """Why one value, or one line, cannot be imported."""

    line: int
    #: ``student_id``, ``first_name``, ...: the column's name (an assignment's: its title); "": the line.
    column: str
    #: The value as the file gives it (stripped), at most 100 characters.
    value: str
    #: What is wrong, to follow the column's name: "must be a whole number".
    problem: str


@dataclass(frozen=True)
class Parsed:
    """What ``parse`` read: the values that are right, and an error for each that is not."""

    #: "grid" or "grades" (the per-grade CSV); "grid" too when the header is neither (see ``errors``).
    shape: Literal["grid", "grades"]
    #: The assignments' titles as written, in column order (per-grade: in order of first appearance).
    titles: list[str] = field(default_factory=list)
    #: Each student's row, in the file's order (per-grade: each line's, so a student may have several).
    #: A row whose student cannot be told is left out, and a bad cell is left out of its row; both are in
    #: ``errors``.
    rows: list[GridRow] = field(default_factory=list)
    #: Per-grade: each title key's type (Quiz, Test, Exam, Homework) as on its first line. Grid: empty.
    types: dict[str, str] = field(default_factory=dict)
    errors: list[CellError] = field(default_factory=list)


def parse(text: str) -> Parsed:
    """The gradebook in ``text`` (either shape), and every error in it.

    A file larger than the limits (50,000 data lines, 2,000 columns, 50,000 scores), an empty one or one whose
    header is neither shape gives that one error and nothing else; a break in the CSV's quoting ends the reading there.
    """
    records = _records(text)
    try:
        header = next(records, None)
    except _BrokenCsv as exc:
        return _refused("grid", exc.error())
    if header is None:
        return _refused("grid", CellError(1, "", "", f"is empty: {_HEADERS}"))
    if len(header.fields) > _MAX_COLUMNS:
        return _refused("grid", _line_error(header, f"has {len(header.fields):,} columns: at most 2,000"))
    names = [_read(value) for value in header.fields]
    keys = tuple(name.casefold() for name in names)
    reading: _Grid | _Grades
    if keys[:3] == _FIXED:
        reading = _Grid(header.line, names)
    elif sorted(keys) in (sorted(_GRADES), sorted(_GRADES + _GRADES_NAMES)):
        reading = _Grades(keys)
    else:
        return _refused("grid", _line_error(header, f"has no header this import reads: {_HEADERS}"))
    try:
        for count, record in enumerate(records, 1):
            if count > _MAX_LINES:
                limit = "has more than 50,000 lines of scores: split the file into several imports"
                return _refused(reading.shape, CellError(record.line, "", "", limit))
            reading.add(record)
            if reading.scores > _MAX_SCORES:
                limit = "has more than 50,000 scores: split the file into several imports"
                return _refused(reading.shape, CellError(record.line, "", "", limit))
    except _BrokenCsv as exc:
        reading.errors.append(exc.error())
    return reading.parsed()


def format_cell(points: float | None, mark: str | None) -> str:
    """A score as the grid's CSV writes it: ``""``, ``85``, ``12.5``, ``missing`` or ``85 late``.

    ``parse`` reads it back as the same points and mark (points finite and at least 0, mark one of
    missing, excused, late).
    """
    number = "" if points is None else _number_text(float(points))
    return " ".join(part for part in (number, mark or "") if part)


class _Record:
    """One non-blank record of the file: its first physical line and its raw fields."""

    __slots__ = ("fields", "line")

    def __init__(self, line: int, fields: list[str]):
        self.line, self.fields = line, fields


class _BrokenCsv(Exception):
    """The csv module gave up at ``line``."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line, self.reason = line, reason

    def error(self) -> CellError:
        return CellError(self.line, "", "", f"is not valid CSV ({self.reason}): nothing after it was read")


def _records(text: str) -> Iterator[_Record]:
    """The file's records with the physical line each starts on; blank ones (all fields empty) skipped."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The record's first line: where an unclosed quote opened.
            raise _BrokenCsv(start, str(exc)) from None
        line, start = start, reader.line_num + 1
        if any(value.strip() for value in fields):
            yield _Record(line, fields)


class _Grid:
    """Reads the grid's data rows, once its header is checked."""

    shape: Literal["grid"] = "grid"

    def __init__(self, line: int, names: list[str]):
        self.width = len(names)
        self.errors: list[CellError] = []
        self.titles: list[str] = []
        # (position, title, title key) of each assignment column whose title is right.
        self.columns: list[tuple[int, str, str]] = []
        self.rows: list[GridRow] = []
        #: How many cells of the rows hold a score.
        self.scores = 0
        self.seen: dict[int, int] = {}  # student id -> the line naming it
        positions: dict[str, int] = {}  # title key -> its column
        for position, title in enumerate(names[3:], 3):
            key = title.casefold()
            if key in _IGNORED:
                continue
            if not title:
                problem = f"column {_letter(position)} has no title: every assignment's column needs one"
            elif key in _FIXED:
                problem = f"is column {_letter(_FIXED.index(key))} already: an assignment needs another title"
            elif key in positions:
                problem = f"is the title of column {_letter(positions[key])} too: titles must differ"
            else:
                problem = _problem(validation.title, title)
            if problem:
                self.errors.append(CellError(line, _cut(title), _cut(title), problem))
                continue
            positions[key] = position
            self.titles.append(title)
            self.columns.append((position, title, key))

    def add(self, record: _Record) -> None:
        values = [_read(value) for value in record.fields]
        if len(values) != self.width:
            self.errors.append(_line_error(record, f"has {len(values)} fields where the header has {self.width}"))
            return
        line, (number, first, last) = record.line, values[:3]
        known = True
        student_id = None
        if number:
            student_id, problem = _student_id(number)
            if student_id is None:
                known = False
                self._error(line, "student_id", number, f"{problem} (or empty for a new student)")
            elif student_id in self.seen:
                known = False
                self._error(
                    line, "student_id", number, f"is on line {self.seen[student_id]} too: a student has one row"
                )
            else:
                self.seen[student_id] = line
        for column, name in (("first_name", first), ("last_name", last)):
            # A known student's names are only shown; a new student is made with them.
            if name or not number:
                problem = _problem(validation.text, column, name, 100)
                if problem:
                    known = False
                    self._error(line, column, name, problem if name else f"{problem}: a new student needs both names")
        cells = {}
        for position, title, key in self.columns:
            if values[position]:
                cell, problem = _grid_cell(values[position])
                if cell is None:
                    self._error(line, title, values[position], problem)
                else:
                    cells[key] = cell
        if known:
            self.rows.append(GridRow(line, student_id, first, last, cells))
            self.scores += len(cells)

    def parsed(self) -> Parsed:
        return Parsed("grid", self.titles, self.rows, {}, self.errors)

    def _error(self, line: int, column: str, value: str, problem: str) -> None:
        self.errors.append(CellError(line, column, _cut(value), problem))


class _Grades:
    """Reads the per-grade CSV's lines, each into a row of its own (a preview then names each score's own line)."""

    shape: Literal["grades"] = "grades"

    def __init__(self, keys: tuple[str, ...]):
        self.width = len(keys)
        self.errors: list[CellError] = []
        self.positions = {name: keys.index(name) for name in _GRADES}
        self.titles: list[str] = []
        self.types: dict[str, str] = {}
        self.rows: list[GridRow] = []
        #: How many lines hold a score (one each).
        self.scores = 0
        self.seen: dict[tuple[int, str], int] = {}  # (student id, title key) -> its line

    def add(self, record: _Record) -> None:
        values = [_read(value) for value in record.fields]
        if len(values) != self.width:
            self.errors.append(_line_error(record, f"has {len(values)} fields where the header has {self.width}"))
            return
        line, before = record.line, len(self.errors)
        number, title, kind, score = (values[self.positions[name]] for name in _GRADES)
        student_id, problem = _student_id(number)
        if problem:
            self._error(line, "student_id", number, problem)
        if problem := _problem(validation.title, title):
            self._error(line, "title", title, problem)
        kind = next((known for known in GRADE_TYPES if known.casefold() == kind.casefold()), kind)
        if kind not in GRADE_TYPES:
            self._error(line, "type", kind, f"must be one of {', '.join(GRADE_TYPES)}")
        percent, _ = _number(score)
        if percent is None or percent > 100:
            self._error(line, "score", score, "must be a number from 0 to 100")
        if len(self.errors) > before or student_id is None or percent is None:
            return
        key = title.casefold()
        if (student_id, key) in self.seen:
            self._error(line, "title", title, f"is on line {self.seen[student_id, key]} too for this student")
            return
        self.seen[student_id, key] = line
        if key not in self.types:
            self.titles.append(title)
            self.types[key] = kind
        self.rows.append(GridRow(line, student_id, "", "", {key: Cell(percent, None, True)}))
        self.scores += 1

    def parsed(self) -> Parsed:
        return Parsed("grades", self.titles, self.rows, self.types, self.errors)

    def _error(self, line: int, column: str, value: str, problem: str) -> None:
        self.errors.append(CellError(line, column, _cut(value), problem))


def _grid_cell(value: str) -> tuple[Cell | None, str]:
    """The cell ``value`` (stripped, not empty) is, or None and why not."""
    found = _GRID_CELL.fullmatch(value)
    if not found:
        return None, _CELL
    number, mark, mark_alone = found.group("points", "mark", "alone")
    if mark_alone:
        return Cell(None, mark_alone.casefold(), False), ""
    points, problem = _at_least_0(float(number))
    if points is None:
        return None, problem
    return Cell(points, mark and mark.casefold(), False), ""


def _number(text: str) -> tuple[float | None, str]:
    """The number ``text`` is (finite, at least 0), or None and why not."""
    return _at_least_0(float(text)) if SCORE_TEXT.fullmatch(text) else (None, _CELL)


def _at_least_0(value: float) -> tuple[float | None, str]:
    """``value`` if it is finite and at least 0, else None and why not."""
    if not math.isfinite(value):
        return None, "is too large"
    if value < 0:
        return None, "must be at least 0"
    return value, ""


def _student_id(text: str) -> tuple[int | None, str]:
    """The student id ``text`` is, or None and why not."""
    # The length first: int() refuses strings of over 4,300 digits.
    if not _WHOLE.fullmatch(text) or len(text) > 20:
        return None, "must be a whole number from 1"
    number = int(text)
    problem = _problem(validation.whole, "student_id", number, 1)
    return (None, problem) if problem else (number, "")


def _problem(rule: Callable[..., object], *args: object) -> str:
    """What ``rule`` (one of ``validation``'s) finds wrong with ``args``, or ""."""
    try:
        rule(*args)
    except InvalidParams as exc:
        return str(exc.data["problem"])
    return ""


def _read(value: str) -> str:
    """A field as the import sees it: stripped, and without the apostrophe the export added."""
    value = value.strip()
    return value[1:] if _ESCAPED.match(value) else value


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _letter(position: int) -> str:
    """A spreadsheet's name of the column at ``position`` (0: A, 26: AA)."""
    name = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def _cut(value: str) -> str:
    return value[:_SHOWN]


def _line_error(record: _Record, problem: str) -> CellError:
    return CellError(record.line, "", _cut(",".join(record.fields)), problem)


def _refused(shape: Literal["grid", "grades"], error: CellError) -> Parsed:
    return Parsed(shape, errors=[error])
