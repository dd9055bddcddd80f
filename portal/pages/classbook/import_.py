"""Importing a class's grid from a CSV file, previewed first: ``/classes/<id>/import``.

The file is the grid as ``/classes/<id>.csv`` exports it, changed in a spreadsheet, or today's per-grade
CSV (``student_id,title,type,score``); grading reads both (``Grades.import_gradebook``). Posting the file
stores nothing: grading answers a preview, and the page shows every error by line and column (then
nothing can be confirmed), or each score the file adds or changes (old → new), the new assignments, the
rows of students not on the roster (added only when the form's box was ticked) and how many are unchanged.

The preview's form confirms it: it carries the file's text, the preview's ``token`` (grading applies the
file only if what it would change is still what the preview showed; else a 409 with the new preview), the
choice about new students and a ``request_id``, so a double-click imports once. A file with nothing to
change says so and has no such form.
"""

from __future__ import annotations

import json
from typing import Any

import bottle

from rpc_cluster import Conflict, InvalidParams, RpcError

from ...audit_entries import score_text
from ...frame import calls, csrf, flash, forms, text
from ...frame.render import render
from ...frame.traced import traced
from ..class_ import class_or_404
from ..gradebook.import_ import MAX_UPLOAD, SHOWN_NAME, TOO_LARGE
from ..gradebook.student import id_or_404

# Grading's body limit (GradingService.max_body); the file's text travels JSON-encoded in one call, every
# non-ASCII character as a \u escape, and needs room for the call's other parameters.
GRADING_BODY = 8 << 20
ENVELOPE = 4096
CONFLICT = (
    "Scores of this class changed since the preview was made: this is what the file would change now. "
    "Check it, then confirm again."
)
NOTHING = "Nothing was imported."


@traced
def import_form(class_id: str) -> str:
    """``GET /classes/<id>/import``: the form (one ``Grades.get_class``)."""
    number = id_or_404(class_id, "class")
    return _form(class_or_404(number))


@traced
def preview(class_id: str) -> str:
    """``POST /classes/<id>/import`` (multipart: ``file``, ``add_students``): the preview, storing nothing;
    or the form with what is wrong with the upload."""
    number = id_or_404(class_id, "class")
    if bottle.request.content_length > MAX_UPLOAD:
        klass = class_or_404(number)
        return _form(klass, 413, problem=f"The file is larger than {MAX_UPLOAD >> 20} MiB. {NOTHING}")
    upload = forms.uploaded("file")
    csrf.check()
    klass = class_or_404(number)
    add_students = forms.field("add_students") == "yes"
    if upload is None or not upload.raw_filename:
        return _form(klass, problem="Choose a CSV file to import.", add_students=add_students)
    name = text.visible(text.shorten(upload.raw_filename, SHOWN_NAME))
    data = upload.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return _form(klass, 413, problem=f"The file is larger than {MAX_UPLOAD >> 20} MiB. {NOTHING}", filename=name)
    try:
        csv_text = data.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a byte order mark
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problem = f'The file is not UTF-8 text (line {line}): save it as "CSV UTF-8". {NOTHING}'
        return _form(klass, problem=problem, filename=name, add_students=add_students)
    return _ask(klass, lines(csv_text), add_students, name)


@traced
def confirm(class_id: str) -> str:
    """``POST /classes/<id>/import/confirm``: apply the previewed file (one ``Grades.import_gradebook``),
    then the grid with a summary; the new preview (409) when scores changed since."""
    number = id_or_404(class_id, "class")
    forms.posted()
    csrf.check()
    klass = class_or_404(number)
    csv_text = lines(forms.field("csv_text"))
    add_students = forms.field("add_students") == "yes"
    name = text.shorten(text.visible(forms.field("filename")), SHOWN_NAME)
    if not csv_text.strip():
        return _form(klass, problem="Choose a CSV file to import.", add_students=add_students)
    try:
        result = calls.grading(
            "Grades.import_gradebook",
            class_id=number,
            csv_text=csv_text,
            confirm=True,
            add_students=add_students,
            expected=forms.field("expected"),
            request_id=forms.request_id(),
        )
    except Conflict as exc:
        if calls.first_use(exc) is not None:
            problem = f"This preview was already confirmed, with another file. {NOTHING} Upload the file again."
            return _form(klass, 409, problem=problem, filename=name, add_students=add_students)
        found = _preview_in(exc.data)
        if found is None:
            raise
        return _page(klass, found, csv_text, add_students, name, 409, CONFLICT)
    except InvalidParams as exc:
        found = _preview_in(exc.data)
        if found is None:
            return _form(klass, problem=f"{_problem(exc)} {NOTHING}", filename=name, add_students=add_students)
        return _page(klass, found, csv_text, add_students, name, 400)
    except RpcError as exc:
        if exc.code != TOO_LARGE:
            raise
        return _form(klass, 413, problem=_too_large(), filename=name, add_students=add_students)
    # Stored: from here on nothing may fail the answer (the teacher would import again).
    flash.redirect(f"/classes/{number}", summary(result))


def summary(result: dict[str, Any]) -> str:
    """ "Imported: 3 scores, 1 new assignment, 0 new students": what the grid's flash says after an import."""
    parts = (
        (result.get("saved"), "score", "scores"),
        (result.get("assignments"), "new assignment", "new assignments"),
        (result.get("students"), "new student", "new students"),
    )
    said = [f"{text.count(n)} {one if n == 1 else many}" for n, one, many in parts if isinstance(n, int)]
    return "Imported: " + ", ".join(said) + "."


def lines(csv_text: str) -> str:
    """``csv_text`` with every line break a ``\\n``: the text as the confirming form sends it back.

    A browser turns the line breaks of a form's field into CRLF (and its page's parser had turned
    them into LF): grading sees the same text in the preview and in the confirmation only if the
    portal writes them one way both times.
    """
    return csv_text.replace("\r\n", "\n").replace("\r", "\n")


def _ask(klass: dict[str, Any], csv_text: str, add_students: bool, name: str) -> str:
    """The preview of ``csv_text`` (one ``Grades.import_gradebook`` that stores nothing), or the form with
    why there is none."""
    if len(json.dumps(csv_text)) > GRADING_BODY - ENVELOPE:
        return _form(klass, 413, problem=_too_large(), filename=name, add_students=add_students)
    try:
        found = calls.grading(
            "Grades.import_gradebook",
            class_id=klass["id"],
            csv_text=csv_text,
            confirm=False,
            add_students=add_students,
        )
    except InvalidParams as exc:
        found = _preview_in(exc.data)
        if found is None:
            return _form(klass, problem=f"{_problem(exc)} {NOTHING}", filename=name, add_students=add_students)
    except RpcError as exc:
        if exc.code != TOO_LARGE:
            raise
        return _form(klass, 413, problem=_too_large(), filename=name, add_students=add_students)
    return _page(klass, found, csv_text, add_students, name, 400 if found.get("errors") else 200)


def _preview_in(data: object) -> dict[str, Any] | None:
    """The preview a refusal of grading carries (the data itself, or its ``preview``); None when none."""
    if isinstance(data, dict) and isinstance(data.get("preview"), dict):
        data = data["preview"]
    if isinstance(data, dict) and "token" in data and isinstance(data.get("errors"), list):
        return data
    return None


def _problem(exc: InvalidParams) -> str:
    """Grading's refusal of the whole file, as a sentence."""
    data = exc.data if isinstance(exc.data, dict) else {}
    problem = str(data.get("problem") or exc.message).rstrip(".")
    return f"The file {problem}." if data.get("field") in ("csv_text", None) else f"{data['field']}: {problem}."


def _too_large() -> str:
    return f"The file holds more than the grading service takes in one import. Split it into smaller files. {NOTHING}"


def _page(
    klass: dict[str, Any],
    found: dict[str, Any],
    csv_text: str,
    add_students: bool,
    name: str,
    status: int,
    message: str | None = None,
) -> str:
    """The preview page of ``found`` (grading's preview), with the form that confirms it when it changes
    anything and has no errors.

    Without ``add_students`` the rows of students not on the roster are left out (grading skips them),
    so their scores are not listed as new or changed ones: a new student's by the row's line, a student of
    another class's by their id (the per-grade CSV names them on each of their lines, the preview once).
    """
    new_students = found.get("new_students") or []
    lines = set() if add_students else {s.get("line") for s in new_students if s.get("student_id") is None}
    ids = set() if add_students else {s.get("student_id") for s in new_students} - {None}

    def kept(scores: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [s for s in scores if s.get("line") not in lines and s.get("student_id") not in ids]

    new_scores = kept(found.get("new_scores") or [])
    changed_scores = kept(found.get("changed_scores") or [])
    changes = bool(new_scores or changed_scores or found.get("new_assignments") or (new_students and add_students))
    return render(
        "grid_preview.tpl",
        status,
        klass=klass,
        preview=found,
        errors=found.get("errors") or [],
        new_scores=new_scores,
        changed_scores=changed_scores,
        new_students=new_students,
        changes=changes,
        csv_text=csv_text,
        add_students=add_students,
        filename=name,
        message=message,
        score=_score,
        student=_student,
    )


def _score(value: dict[str, Any] | None) -> str:
    """A score of the preview (``{"points", "mark"}``) as the page shows it: ``18, late``; "—" for none."""
    return "—" if not value else score_text(value)


def _student(item: dict[str, Any]) -> str:
    """ "Carter, Nick": a preview row's student."""
    last, first = item.get("last_name") or "", item.get("first_name") or ""
    return f"{last}, {first}" if last and first else last or first or f"student {item.get('student_id')}"


def _form(klass: dict[str, Any], status: int = 200, **shown: Any) -> str:
    """The import form (``shown``: its ``problem``, the ``filename`` it was about, ``add_students``)."""
    if shown.get("problem") and status == 200:
        status = 400
    return render("grid_import.tpl", status, klass=klass, max_mib=MAX_UPLOAD >> 20, **shown)
