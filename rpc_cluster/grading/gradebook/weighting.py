"""A student's class average over weighted categories, its letter, and the class's settings for both.

The average is the weighted mean, over the categories that have at least one
counted score, of (points earned / points possible) x 100, the weights
renormalised over those categories. A score counts when it has points or is
marked ``missing`` (0 points until points are entered); an ``excused`` score
and an assignment without a score do not count; ``late`` counts as scored.
Points are summed within a category, so a 50-point homework weighs five times
a 10-point one, as in Canvas's and Moodle's "natural" weighting within a group.

Worked example: Quiz 40 %, Homework 60 %. Quizzes 8/10 and 15/20: 23/30 =
76.67 %. Homework 45/50, one excused, one missing of 10: 45/60 = 75 %. The
average is 0.4 x 76.67 + 0.6 x 75 = 75.67 %, a C on the default scale.

The letter is the first of the scale (highest minimum first) whose minimum
the unrounded average reaches: 89.99 is a B.

Pure functions over plain values: the grid, the report card and the tests
compute with the same code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from ...core.errors import InvalidParams

MARKS = ("missing", "excused", "late")
DEFAULT_CATEGORIES: tuple[dict[str, Any], ...] = tuple(
    {"name": name, "weight": 25.0} for name in ("Quiz", "Test", "Exam", "Homework")
)
DEFAULT_SCALE: tuple[dict[str, Any], ...] = tuple(
    {"letter": letter, "min": float(low)} for letter, low in (("A", 90), ("B", 80), ("C", 70), ("D", 60), ("F", 0))
)
# Weights must add up to 100 within this much: 33.333 x 3 is 99.999. Compared after rounding away
# the floating point sum's last digits (its 99.999 is 0.0010000000000047748 short).
WEIGHT_SLACK = 0.001
# Points and percentages made from one another are kept to this many decimals: the conversion leaves
# an error in the last digit (3 % of 10 points is 0.30000000000000004, and back 3.0000000000000004)
# that today's API would answer where it was given 3.
DECIMALS = 9
# The points of an assignment made from today's grades (scores out of 100): there, points and percentages are one.
FULL = 100.0
# An average that is a letter's minimum exactly may come out of floating point a hair below it
# (weights 10 and 90 of 36 % and 96 %: 89.99999999999999); far below any difference a score makes.
LETTER_SLACK = 1e-9
MAX_CATEGORIES = 12
MAX_CATEGORY_NAME = 40
MAX_LETTERS = 15
MAX_LETTER = 5


class Score(NamedTuple):
    """One student's score on one assignment, as the average reads it."""

    category: str
    max_points: float
    points: float | None
    mark: str | None


def counts(points: float | None, mark: str | None) -> bool:
    """Whether a score counts in the average: it has points or is missing, and is not excused."""
    return mark != "excused" and (points is not None or mark == "missing")


def earned(points: float | None, mark: str | None) -> float:
    """The points a counted score earns: its points, or 0 when it is missing without points."""
    return 0.0 if points is None else points


def percent(points: float | None, mark: str | None, max_points: float) -> float | None:
    """The score as a percentage when it counts, else None (what today's unweighted average reads)."""
    if not counts(points, mark):
        return None
    if max_points == FULL:  # today's grades: the points are the percentage, exactly as they were given
        return earned(points, mark)
    return round(earned(points, mark) * (100 / max_points), DECIMALS)


def points_of(percentage: float, max_points: float) -> float:
    """The points that make ``percentage`` % of ``max_points`` (today's scores are percentages)."""
    if max_points == FULL:
        return percentage
    return round(percentage * max_points / 100, DECIMALS)


def average(scores: Iterable[Score], weights: Mapping[str, float]) -> float | None:
    """The weighted average (0-100 and more with extra credit) of ``scores``; None when none counts.

    ``weights``: each category's weight by name. A category with counted scores but no
    weight (0, or not in ``weights``) weighs nothing; if every counted category weighs
    nothing, there is no average.
    """
    totals: dict[str, list[float]] = {}
    for score in scores:
        if counts(score.points, score.mark):
            pair = totals.setdefault(score.category, [0.0, 0.0])
            pair[0] += earned(score.points, score.mark)
            pair[1] += score.max_points
    weighed = [(weights.get(name, 0.0), got / possible) for name, (got, possible) in totals.items() if possible > 0]
    total_weight = sum(weight for weight, _ in weighed)
    if total_weight <= 0:
        return None
    return 100 * sum(weight * fraction for weight, fraction in weighed) / total_weight


def histogram(percents: Iterable[float]) -> list[int]:
    """Ten buckets of percentages, 0-10 up to 90-100 (the last one takes 100 and above), as ``Grades.statistics``."""
    buckets = [0] * 10
    for value in percents:
        buckets[max(0, min(int(value // 10), 9))] += 1
    return buckets


def letter(value: float | None, scale: Sequence[Mapping[str, Any]]) -> str | None:
    """The letter of ``value`` on ``scale`` (highest minimum first); None without a value."""
    if value is None:
        return None
    for step in scale:
        if value >= step["min"] - LETTER_SLACK:
            return str(step["letter"])
    return str(scale[-1]["letter"]) if scale else None


def _number(field: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParams.field(field, f"must be a number from {low:g} to {high:g}")
    # Compared before any conversion: JSON's integers have any size, and 10**400 is no float. NaN is in no range.
    if not low <= value <= high:
        shown = f"{value:g}" if abs(value) < 1e15 else "so large a number"
        raise InvalidParams.field(field, f"must be from {low:g} to {high:g}, not {shown}")
    return float(value)


def _name(field: str, value: Any, longest: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > longest:
        raise InvalidParams.field(field, f"must be text of 1-{longest} characters")
    # As every other name (validation.text): a name is shown in one-line fields, a page's text and a CSV cell,
    # and a category's is copied into its scores, where PostgreSQL refuses a NUL.
    if not value.strip().isprintable():
        raise InvalidParams.field(field, "must not contain control characters")
    return value.strip()


def categories(value: Any) -> list[dict[str, Any]]:
    """``set_categories``' list, checked: 1-12 ``{"name", "weight"[, "was"]}`` with names unique
    (ignoring case) and weights from 0 to 100 that add up to 100."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_CATEGORIES:
        raise InvalidParams.field("categories", f"must be a list of 1-{MAX_CATEGORIES} categories")
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in value:
        if not isinstance(entry, dict) or not {"name", "weight"} <= entry.keys() <= {"name", "weight", "was"}:
            raise InvalidParams.field("categories", 'must hold objects of "name" and "weight" (and "was")')
        name = _name("name", entry["name"], MAX_CATEGORY_NAME)
        if name.casefold() in seen:
            raise InvalidParams.field("name", f"{name!r} is given twice")
        seen.add(name.casefold())
        category: dict[str, Any] = {"name": name, "weight": _number("weight", entry["weight"], 0, 100)}
        if entry.get("was") is not None:
            category["was"] = _name("was", entry["was"], MAX_CATEGORY_NAME)
        checked.append(category)
    total = sum(category["weight"] for category in checked)
    if round(abs(total - 100), DECIMALS) > WEIGHT_SLACK:
        raise InvalidParams.field("weight", f"the weights must add up to 100; these add up to {total:g}")
    return checked


def scale(value: Any) -> list[dict[str, Any]]:
    """``set_scale``'s list, checked and sorted highest minimum first: 1-15 ``{"letter", "min"}``
    with letters and minimums unique, and one minimum 0 so that every average has a letter."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_LETTERS:
        raise InvalidParams.field("scale", f"must be a list of 1-{MAX_LETTERS} letters")
    checked: list[dict[str, Any]] = []
    for entry in value:
        if not isinstance(entry, dict) or entry.keys() != {"letter", "min"}:
            raise InvalidParams.field("scale", 'must hold objects of "letter" and "min"')
        name, low = _name("letter", entry["letter"], MAX_LETTER), _number("min", entry["min"], 0, 100)
        if any(other["letter"].casefold() == name.casefold() for other in checked):
            raise InvalidParams.field("letter", f"{name!r} is given twice")
        if any(other["min"] == low for other in checked):
            raise InvalidParams.field("min", f"{low:g} is given twice")
        checked.append({"letter": name, "min": low})
    if not any(step["min"] == 0 for step in checked):
        raise InvalidParams.field("min", "the lowest letter must start at 0, so that every average has a letter")
    return sorted(checked, key=lambda step: -step["min"])
