"""Importing grades from a CSV file, all or nothing: ``/import``.

The portal checks the file's shape (UTF-8, the header, the number of fields),
keeps the four columns ``Grades.import_grades`` takes and sends them in one
call: grading stores every row or none, and names the first bad one, which
the page gives as the line of the uploaded file. The form carries a
``request_id``, so a double submit (or the client sending the call again
after a lost connection) imports once. Afterwards, a summary.
"""

from __future__ import annotations

from typing import Any

import bottle

from rpc_cluster import Conflict, InvalidParams, RpcError
from rpc_cluster.grading.storage.protocol import GRADE_TYPES

from ... import grades_csv
from ...frame import calls, csrf, flash, forms, text
from ...frame.render import render
from ...frame.traced import traced

# The largest upload (the server lets /import's bodies grow this far: PortalService.body_limits), as
# large as grading's own limit for import_grades. An exported row is 50 to 60 bytes with ordinary
# names (10,000 rows: about 0.6 MB); 10,000 rows of 200-character titles and 100-character names
# are 4.3 MB.
MAX_UPLOAD = 8 << 20
# What grading answers for a body over its own limit (the client's RpcError code): an instance with a
# smaller limit than its default 8 MiB.
TOO_LARGE = 413
# How much of the uploaded file's name the summary and the form show: the browser sends any name it
# has, and one of 4,211 characters once overflowed the flash cookie after the grades were stored.
SHOWN_NAME = 80


@traced
def import_form() -> str:
    """``GET /import``: the form, with the user's classes to choose from (one ``Grades.list_classes``)."""
    return _form()


@traced
def import_grades() -> str:
    """``POST /import`` (multipart, field ``file``): import, then a summary; or the form with what is wrong."""
    length = bottle.request.content_length
    if length > MAX_UPLOAD:
        return _refuse(f"The file is larger than {MAX_UPLOAD >> 20} MiB.", 413)
    upload = forms.uploaded("file")
    csrf.check()
    if upload is None or not upload.raw_filename:
        return _refuse("Choose a CSV file to import.")
    chosen = forms.number(forms.field("class_id"))
    into = {} if chosen is None else {"class_id": chosen}
    data = upload.file.read(MAX_UPLOAD + 1)
    name = text.visible(text.shorten(upload.raw_filename, SHOWN_NAME))
    try:
        prepared = grades_csv.prepare_import(data)
    except grades_csv.CsvProblem as problem:
        return _refuse(f"{problem} Nothing was imported.", filename=name, chosen=chosen)
    try:
        result = calls.grading("Grades.import_grades", csv_text=prepared.text, request_id=forms.request_id(), **into)
    except InvalidParams as exc:
        return _refuse(_grading_problem(exc, prepared), filename=name, chosen=chosen)
    except Conflict as exc:
        used = calls.first_use(exc)
        if used is None:
            raise
        return _refuse(_already_imported(used), 409, filename=name, chosen=chosen)
    except RpcError as exc:
        if exc.code != TOO_LARGE:
            raise
        return _refuse(
            f"The grading service takes fewer grades in one import than the {text.count(prepared.grades)} "
            "in this file. Split it into smaller files.",
            413,
            filename=name,
            chosen=chosen,
        )
    # Stored: from here on nothing may fail the answer (the teacher would import again, twice).
    imported = result["imported"]
    flash.redirect(
        "/import",
        f"Imported {text.count(imported)} grade{'' if imported == 1 else 's'} for "
        f"{text.count(prepared.students)} student{'' if prepared.students == 1 else 's'} "
        f"from {name}.",
    )


def _already_imported(result: dict[str, Any]) -> str:
    """What the 409 page says when the import form is sent again with another file."""
    imported = result.get("imported")
    what = f"{text.count(imported)} grade{'' if imported == 1 else 's'}" if isinstance(imported, int) else "a file"
    return (
        f"This form was already used: it imported {what}. Nothing was imported now. To import this "
        "file as well, choose it again below and press Import."
    )


def _grading_problem(exc: InvalidParams, prepared: grades_csv.Prepared) -> str:
    """Grading's complaint about one row, with the line of the uploaded file."""
    data = exc.data if isinstance(exc.data, dict) else {}
    problem = grades_csv.CsvProblem(
        data.get("problem") or exc.message, prepared.file_line(data.get("line")), data.get("field")
    )
    return f"{problem} Nothing was imported."


def _refuse(message: str, status: int = 400, filename: str | None = None, chosen: int | None = None) -> str:
    return _form(status, chosen, problem=message, filename=filename)


def _form(status: int = 200, chosen: int | None = None, **shown: str | None) -> str:
    """The import form (``shown``: its ``problem`` and the ``filename`` it was about), with the classes the
    grades may go to, ``chosen`` selected."""
    classes: list[dict[str, Any]] = calls.grading("Grades.list_classes")
    return render(
        "import.tpl", status, max_mib=MAX_UPLOAD >> 20, types=GRADE_TYPES, classes=classes, chosen=chosen, **shown
    )
