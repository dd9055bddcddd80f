"""Reading ``Grades.import_grades``'s CSV: every row checked before anything is stored.

The format (docs/protocol.md, "Grades.*"):

- the first line is the header ``student_id,title,type,score``: these four
  names in this order, each may have white space around it; a UTF-8 byte
  order mark before it is ignored;
- then one grade per line, by the rules of ``Grades.add_grade``; white space
  around a value is ignored, blank lines are skipped, line ends may be LF,
  CRLF or CR, and a value may be quoted (RFC 4180);
- at most ``MAX_ROWS`` grades.

A bad line is ``InvalidParams`` whose ``data`` names its ``line`` (1-based,
counted in the file as sent: the header is line 1) and its ``field``.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, NamedTuple

from ..core.errors import InvalidParams
from . import validation

COLUMNS = ("student_id", "title", "type", "score")
# 10,000 grades (a large school's term) import in about a second; five times that is the most.
MAX_ROWS = 50_000

_WHOLE = re.compile(r"[0-9]+")
#: A score as text, the one rule for every score typed or imported (kept public and stable: the
#: portal's forms take what an import takes). What a spreadsheet writes for a number: ASCII digits,
#: an optional sign, decimal point and exponent; no "nan", "inf", "0x10", "1_0" or non-ASCII digits
#: (all of which float() takes). Matched whole (``fullmatch``), after white space is stripped.
SCORE_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


class Row(NamedTuple):
    """One checked grade of the file, and the line it came from."""

    line: int
    student_id: int
    title: str
    type: str
    score: float


def parse(csv_text: Any) -> list[Row]:
    """The file's grades, each checked; the first bad line raises ``InvalidParams``."""
    if not isinstance(csv_text, str):
        raise InvalidParams.field("csv_text", "must be text")
    reader = csv.reader(io.StringIO(csv_text.removeprefix("\ufeff"), newline=""), strict=True)
    rows: list[Row] = []
    header_seen = False
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            cells = [cell.strip() for cell in cells]
            if not any(cells):
                continue
            if not header_seen:
                if tuple(cells) != COLUMNS:
                    raise InvalidParams.field("header", f"must be {','.join(COLUMNS)}", line=line)
                header_seen = True
                continue
            if len(rows) == MAX_ROWS:
                raise InvalidParams.field(
                    "csv_text", f"has more than {MAX_ROWS:,} grades: split it into several imports", line=line
                )
            rows.append(_row(line, cells))
    except csv.Error as exc:
        raise InvalidParams.field("csv_text", f"is not valid CSV ({exc})", line=reader.line_num) from None
    if not header_seen:
        raise InvalidParams.field("csv_text", f"is empty: the first line must be the header {','.join(COLUMNS)}")
    return rows


def _row(line: int, cells: list[str]) -> Row:
    if len(cells) < len(COLUMNS):
        raise InvalidParams.field(
            COLUMNS[len(cells)], f"is missing: the line has {len(cells)} of {len(COLUMNS)} values", line=line
        )
    if len(cells) > len(COLUMNS):
        raise InvalidParams.field(
            "row", f"has {len(cells)} values: expected {len(COLUMNS)} ({','.join(COLUMNS)})", line=line
        )
    student_id, title, kind, score = cells
    try:
        # The length first: int() refuses strings of over 4,300 digits with a ValueError.
        if not _WHOLE.fullmatch(student_id) or len(student_id) > 20:
            raise InvalidParams.field("student_id", "must be a whole number from 1 to 2**63-1")
        checked = (
            validation.whole("student_id", int(student_id), 1),
            validation.title(title),
            validation.grade_type(kind),
        )
        if not SCORE_TEXT.fullmatch(score):
            raise InvalidParams.field("score", "must be a number from 0 to 100")
        return Row(line, *checked, validation.score(float(score)))
    except InvalidParams as exc:
        raise InvalidParams.field(exc.data["field"], exc.data["problem"], line=line) from None
