"""Figures, counts and text as the pages show them."""

from __future__ import annotations

import math

from rpc_cluster.grading.search import unprintable


def one_decimal(value: float | None) -> str:
    """``figure(value)``: one decimal, "—" for nothing known; only digits, "." and "-" otherwise (no HTML)."""
    # Written out, not figure(value): a list of 50 students calls it 50 times.
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.1f}"


def figure(value: float | None, digits: int = 1, unit: str = "") -> str:
    """``value`` with ``digits`` decimals and `` unit``; "—" for None, NaN or an infinity (nothing known)."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f} {unit}" if unit else f"{value:.{digits}f}"


def count(value: int) -> str:
    """A count as every page shows one: ``29,871`` (thousands separated, also in flash messages); only
    digits, "," and "-" (no HTML)."""
    return f"{value:,}"


def shorten(text: str, longest: int) -> str:
    """``text``, or its first ``longest - 1`` characters and "…" when it is longer."""
    return text if len(text) <= longest else text[: longest - 1] + "…"


def has_control_characters(text: str) -> bool:
    """True if ``text`` holds a control character (NUL, C0/C1) or a lone surrogate: no name has one.

    Grading's own rule for a search (it refuses such a query), so the portal refuses exactly what it would.
    """
    return unprintable(text)


def visible(text: str) -> str:
    """``text`` with each control character or lone surrogate replaced by U+FFFD, fit for a page."""
    return "".join("\ufffd" if unprintable(c) else c for c in text)


def printable(text: str) -> str:
    """``text`` without its control characters and lone surrogates."""
    return "".join(c for c in text if not unprintable(c))
