"""A class's grid as a CSV file: ``GET /classes/<id>.csv``.

One row per student of the active roster, scored or not: ``student_id,first_name,last_name``, a
column for each assignment in the grid's order (its title in the header), then ``average`` (two
decimals) and ``letter``; a cell without a score is empty. UTF-8 with a byte order mark, so a
spreadsheet opening the file reads its names as UTF-8; every text is escaped as ``/students.csv``
escapes it (``grades_csv.escape_cell``), so a name or title that starts with ``=`` is shown, never run.
The same file, changed, imports back (``portal.pages.classbook.import_``).

Grading decides who may read the class (``Grades.gradebook``): a teacher who does not teach it gets
the 403 page.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from typing import Any

import bottle

from rpc_cluster import NotFound
from rpc_cluster.grading.gradebook.grid_csv import format_cell

from ...frame import calls, errors
from ...frame.traced import traced
from ...grades_csv import escape_cell
from ..gradebook.student import id_or_404

FIRST_COLUMNS = ("student_id", "first_name", "last_name")
LAST_COLUMNS = ("average", "letter")
# The longest file name a download gets from the class's name, before "-grades.csv".
SLUG_CHARS = 60


@traced
def export(class_id: str) -> bytes:
    """``GET /classes/<id>.csv``: one ``Grades.gradebook`` call, the file whole."""
    number = id_or_404(class_id, "class")
    book = gradebook_or_404(number)
    body = codecs.BOM_UTF8 + grid_csv(book).encode()
    bottle.response.content_type = "text/csv; charset=utf-8"
    bottle.response.set_header(
        "Content-Disposition", f'attachment; filename="{slug(book["class"]["name"])}-grades.csv"'
    )
    bottle.response.set_header("Cache-Control", "no-store")
    return body


def gradebook_or_404(number: int) -> dict[str, Any]:
    """The class's gradebook (``Grades.gradebook``), or the 404 page; the 403 page (through ``@traced``) for
    a class the user does not teach."""
    try:
        book: dict[str, Any] = calls.grading("Grades.gradebook", class_id=number)
    except NotFound:
        errors.not_found(f"There is no class with id {number}.")
    return book


def grid_csv(book: dict[str, Any]) -> str:
    """The gradebook ``book`` as the grid's CSV text, header first, lines ending in CRLF."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    assignments = book["assignments"]
    writer.writerow([*FIRST_COLUMNS, *(escape_cell(a["title"]) for a in assignments), *LAST_COLUMNS])
    for student in book["students"]:
        scores = student["scores"]
        cells = []
        for assignment in assignments:
            score = scores.get(str(assignment["id"]))
            cells.append("" if score is None else format_cell(score.get("points"), score.get("mark")))
        average = student.get("average")
        writer.writerow(
            [
                student["id"],
                escape_cell(student["first_name"]),
                escape_cell(student["last_name"]),
                *cells,
                "" if average is None else f"{average:.2f}",
                escape_cell(student.get("letter") or ""),
            ]
        )
    return out.getvalue()


def slug(name: str) -> str:
    """The class's name as a file name's start: ``Year 7: Maths (Ünal)`` is ``year-7-maths-unal``; ASCII letters, digits
    and dashes only (a header's quoted file name holds nothing else safely); "class" when none is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return words[:SLUG_CHARS].rstrip("-") or "class"
