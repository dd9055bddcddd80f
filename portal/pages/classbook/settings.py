"""A class's categories and letters: ``GET`` and ``POST /classes/<id>/settings``.

Two forms on one page (``part`` says which was posted). The categories: a row per category
(name and weight, a percentage), and blank rows to add more; each row carries its name as
opened (``was-N``), so a renamed category keeps its assignments, and emptying a row removes
it. The weights must add up to 100: grading says so (-32602 naming ``weight``) and the page
shows it above the rows with the total typed. The letter scale: a row per letter and the
lowest average that earns it.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

from rpc_cluster import Conflict, InvalidParams, NotFound

from ...frame import calls, csrf, errors, flash, forms
from ...frame.render import render
from ...frame.traced import traced
from ...grades_csv import parse_score
from ..gradebook.student import id_or_404
from .grid import gradebook_or_404, points_text

# Grading's limits, and the blank rows the forms offer for more.
MOST_CATEGORIES = 12
MOST_LETTERS = 15
BLANK_ROWS = 3
NOT_A_NUMBER = "must be a number from 0 to 100"
CHANGED = (
    "Someone changed the class's %s since you opened this page, so nothing was saved."
    " The form shows them as they are now: make your change again."
)
# How a refusal names the field it is about.
_FIELD_NAMES = MappingProxyType(
    {
        "name": "a category's name",
        "weight": "a weight",
        "letter": "letter",
        "min": "a lowest average",
        "was": "a renamed category",
        "categories": "the categories",
        "scale": "the letters",
    }
)


@traced
def settings(class_id: str) -> str:
    """``GET /classes/<id>/settings``: both forms, as stored."""
    number = id_or_404(class_id, "class")
    return page(gradebook_or_404(number))


@traced
def save(class_id: str) -> str:
    """``POST /classes/<id>/settings``: the categories (``part=categories``) or the letter scale (``part=scale``)."""
    csrf.check()
    number = id_or_404(class_id, "class")
    if forms.field("part") == "scale":
        return _save_scale(number)
    return _save_categories(number)


def _save_categories(number: int) -> str:
    rows = [
        {"name": forms.field(f"name-{i}"), "weight": forms.field(f"weight-{i}"), "was": forms.field(f"was-{i}")}
        for i in range(MOST_CATEGORIES + BLANK_ROWS)
    ]
    categories: list[dict[str, Any]] = []
    problems: dict[str, str] = {}
    for i, row in enumerate(rows):
        name, typed = row["name"].strip(), row["weight"].strip()
        if not name and not typed:
            continue  # a blank row, or a category emptied to remove it
        weight = parse_score(typed)
        if not name:
            problems[f"name-{i}"] = "must not be empty (empty the weight too to remove the row)"
        if weight is None:
            problems[f"weight-{i}"] = NOT_A_NUMBER
        entry: dict[str, Any] = {"name": name, "weight": weight}
        if row["was"] and row["was"] != name:
            entry["was"] = row["was"]
        categories.append(entry)
    if not categories and not problems:
        problems["form"] = "A class needs at least one category."
    if not problems:
        try:
            calls.grading("Grades.set_categories", class_id=number, categories=categories, expected=_opened())
        except InvalidParams as exc:
            problems = {"form": said(exc)}
        except Conflict:
            return page(gradebook_or_404(number), 409, category_problems={"form": CHANGED % "categories"})
        except NotFound:
            errors.not_found(f"There is no class with id {number}.")
        else:
            flash.redirect(f"/classes/{number}/settings", "Saved the categories and their weights.")
    book = gradebook_or_404(number)
    opened = forms.field("opened")
    return page(book, 400, category_rows=rows, category_problems=problems, opened_categories=opened)


def _save_scale(number: int) -> str:
    rows = [{"letter": forms.field(f"letter-{i}"), "min": forms.field(f"min-{i}")} for i in range(MOST_LETTERS)]
    scale: list[dict[str, Any]] = []
    problems: dict[str, str] = {}
    for i, row in enumerate(rows):
        letter, typed = row["letter"].strip(), row["min"].strip()
        if not letter and not typed:
            continue
        lowest = parse_score(typed)
        if not letter:
            problems[f"letter-{i}"] = "must not be empty (empty the minimum too to remove the row)"
        if lowest is None:
            problems[f"min-{i}"] = NOT_A_NUMBER
        scale.append({"letter": letter, "min": lowest})
    if not scale and not problems:
        problems["form"] = "The scale needs at least one letter, with 0 as its minimum."
    if not problems:
        try:
            calls.grading("Grades.set_scale", class_id=number, scale=scale, expected=_opened())
        except InvalidParams as exc:
            problems = {"form": said(exc)}
        except Conflict:
            return page(gradebook_or_404(number), 409, scale_problems={"form": CHANGED % "letters"})
        except NotFound:
            errors.not_found(f"There is no class with id {number}.")
        else:
            flash.redirect(f"/classes/{number}/settings#scale", "Saved the letter scale.")
    book = gradebook_or_404(number)
    return page(book, 400, scale_rows=rows, scale_problems=problems, opened_scale=forms.field("opened"))


def said(exc: InvalidParams) -> str:
    """Grading's refusal of a whole list as a sentence: "The weights must add up to 100; these add up to 90."
    or "Letter 'A' is given twice." (the field's name first when the problem does not start with it)."""
    ((field, problem),) = calls.field_error(exc).items()
    sentence = problem if problem.startswith("the ") else f"{_FIELD_NAMES.get(field, field)} {problem}"
    return sentence[:1].upper() + sentence[1:].rstrip(".") + "."


def page(
    book: dict[str, Any],
    status: int = 200,
    *,
    category_rows: list[dict[str, str]] | None = None,
    category_problems: dict[str, str] | None = None,
    scale_rows: list[dict[str, str]] | None = None,
    scale_problems: dict[str, str] | None = None,
    opened_categories: str | None = None,
    opened_scale: str | None = None,
) -> str:
    """Both forms over the class's ``book``: each as stored, or (``*_rows``) as just posted, with its problems.

    Each form carries what it was opened on (``opened``, JSON), which grading compares with the class's
    settings when it is saved: a change someone made meanwhile is shown, not overwritten. A form shown
    again with its problems keeps what it was first opened on.
    """
    used: dict[str, int] = {}
    for assignment in book["assignments"]:
        key = assignment["category"].casefold()
        used[key] = used.get(key, 0) + 1
    if category_rows is None:
        stored = [{"name": c["name"], "weight": points_text(c["weight"]), "was": c["name"]} for c in book["categories"]]
        category_rows = _padded(stored, MOST_CATEGORIES + BLANK_ROWS, {"name": "", "weight": "", "was": ""})
    if scale_rows is None:
        stored = [{"letter": s["letter"], "min": points_text(s["min"])} for s in book["scale"]]
        scale_rows = _padded(stored, MOST_LETTERS, {"letter": "", "min": ""})
    return render(
        "settings.tpl",
        status,
        klass=book["class"],
        category_rows=_trimmed(category_rows),
        category_problems=category_problems or {},
        scale_rows=_trimmed(scale_rows),
        scale_problems=scale_problems or {},
        used=used,
        opened_categories=opened_categories or json.dumps(book["categories"]),
        opened_scale=opened_scale or json.dumps(book["scale"]),
    )


def _padded(rows: list[dict[str, str]], most: int, blank: dict[str, str]) -> list[dict[str, str]]:
    """``rows`` and blank rows after them: BLANK_ROWS of them, at most ``most`` rows in all."""
    return rows + [dict(blank) for _ in range(max(0, min(BLANK_ROWS, most - len(rows))))]


def _trimmed(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """A posted form's rows without the blank ones past the last filled row and BLANK_ROWS more."""
    last = max((i for i, row in enumerate(rows) if any(v.strip() for v in row.values())), default=-1)
    return rows[: last + 1 + BLANK_ROWS]


def _opened() -> list[Any] | None:
    """What the posted form was opened on (its ``opened`` field), for grading to compare; None if it is
    unreadable (then the last save wins, as before the form carried it)."""
    try:
        shown = json.loads(forms.field("opened"))
    except ValueError:
        return None
    return shown if isinstance(shown, list) else None
