"""The rules every ``Grades.*`` value follows, shared by the RPC methods and the CSV import.

Each check returns the value as stored, or raises ``InvalidParams`` whose
``data`` names the field.
"""

from __future__ import annotations

import datetime
from types import MappingProxyType
from typing import Any

from ..core.errors import InvalidParams
from .access import USERNAME
from .gradebook.weighting import MARKS
from .storage.protocol import GRADE_TYPES

# The largest id a store can hold (a signed 64-bit integer in both databases).
MAX_ID = 2**63 - 1
# The most points an assignment may give: far beyond any test, and exact in a float.
MAX_POINTS = 1_000_000.0
MAX_COMMENT = 1000


def whole(field: str, value: Any, minimum: int) -> int:
    """An int (never a bool) from ``minimum`` up to MAX_ID."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParams.field(field, "must be a whole number")
    if value < minimum:
        raise InvalidParams.field(field, f"must be at least {minimum}")
    if value > MAX_ID:
        raise InvalidParams.field(field, "is too large")
    return value


def text(field: str, value: object, longest: int) -> str:
    """Printable text of 1 to ``longest`` characters once surrounding white space is removed."""
    if not isinstance(value, str):
        raise InvalidParams.field(field, "must be text")
    value = value.strip()
    if not value:
        raise InvalidParams.field(field, "must not be empty")
    if len(value) > longest:
        raise InvalidParams.field(field, f"must be at most {longest} characters")
    if not value.isprintable():
        raise InvalidParams.field(field, "must not contain control characters")
    return value


def title(value: Any) -> str:
    """A grade's title: 1-200 characters."""
    return text("title", value, 200)


def grade_type(value: object) -> str:
    """One of GRADE_TYPES, spelled exactly."""
    if not isinstance(value, str) or value not in GRADE_TYPES:
        raise InvalidParams.field("type", f"must be one of {', '.join(GRADE_TYPES)}")
    return value


def score(value: Any) -> float:
    """A number from 0 to 100 (NaN and infinities are outside it), as a float."""
    # Compared before any float conversion: a 400-digit integer cannot become a float.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise InvalidParams.field("score", "must be a number from 0 to 100")
    return float(value)


# What an edit form may say it was opened with, and the check of each.
_EXPECTED = MappingProxyType({"title": title, "type": grade_type, "score": score})


def expected(value: Any) -> dict[str, Any] | None:
    """``expected`` of update_grade and delete_grade: None, or a dict of title, type and score.

    Each value follows its field's rule (and is returned as stored, so a title
    is compared stripped and a score as a float); any problem names ``expected``.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidParams.field("expected", "must be an object of title, type and score, or null")
    if any(key not in _EXPECTED for key in value):
        raise InvalidParams.field("expected", "may hold only title, type and score")
    checked = {}
    for key, item in value.items():
        try:
            checked[key] = _EXPECTED[key](item)
        except InvalidParams as exc:
            raise InvalidParams.field("expected", f"{key}: {exc.data['problem']}") from None
    return checked


def optional_id(field: str, value: Any) -> int | None:
    """None, or an id (``whole`` from 1)."""
    return None if value is None else whole(field, value, 1)


def username(field: str, value: Any) -> str:
    """A user's name as written: 1-64 characters of a-z 0-9 . _ - (``access.USERNAME``)."""
    if not isinstance(value, str) or not USERNAME.fullmatch(value):
        raise InvalidParams.field(field, "must be a user name: 1-64 characters of a-z 0-9 . _ -")
    return value


def points(field: str, value: Any) -> float | None:
    """None, or a number of points from 0 (the most an assignment gives is checked with the assignment)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_POINTS:
        raise InvalidParams.field(field, f"must be a number of points from 0 to {MAX_POINTS:g}, or null")
    return float(value)


def max_points(value: Any) -> float:
    """An assignment's points: a number above 0, up to MAX_POINTS."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_POINTS:
        raise InvalidParams.field("max_points", f"must be a number above 0, up to {MAX_POINTS:g}")
    return float(value)


def mark(value: Any) -> str | None:
    """None, or one of MARKS."""
    if value is None or value in MARKS:
        return value  # type: ignore[no-any-return]
    raise InvalidParams.field("mark", f"must be null or one of {', '.join(MARKS)}")


def comment(value: Any) -> str | None:
    """None, or a comment of up to MAX_COMMENT characters (surrounding space removed; empty: none)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParams.field("comment", "must be text or null")
    value = value.strip()
    if len(value) > MAX_COMMENT:
        raise InvalidParams.field("comment", f"must be at most {MAX_COMMENT} characters")
    if any(not (ch.isprintable() or ch in "\n\t") for ch in value):
        raise InvalidParams.field("comment", "must not contain control characters")
    return value or None


def due(value: Any) -> str | None:
    """None, or a date as ``YYYY-MM-DD``; "" too (an update's way to clear the date)."""
    if value is None or value == "":
        return value  # type: ignore[no-any-return]
    try:
        if isinstance(value, str) and len(value) == 10:
            return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise InvalidParams.field("due", "must be a date as YYYY-MM-DD, or null")
