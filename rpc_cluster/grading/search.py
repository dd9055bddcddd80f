"""How ``Grades.list_students`` matches a query: by words, ignoring case and accents.

A query is split into words at white space; a student matches when every
word is found in the first or the last name (so "Nick Carter" and "carter
nick" find Nick Carter). Both sides are folded first: case folded, then
decomposed (NFKD) with the combining marks dropped, so "zoe" finds "Zoë",
"Zoë" finds "Zoe" and fullwidth "ABC" (U+FF21 to U+FF23) finds "abc"
("strasse" finds "Straße", and Hebrew points are marks too).

Both stores fold here, in Python, and nowhere else: each stores ``fold`` of every
name as it writes it and compares ``folded_words`` of the query. A fold in SQL
would differ by database (PostgreSQL's lower() follows the database's LC_CTYPE).
"""

from __future__ import annotations

import unicodedata
from typing import Any


def fold(text: Any) -> Any:
    """``text`` without case or accents (anything but text comes back as it was)."""
    if not isinstance(text, str):
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def words(query: str) -> list[str]:
    """The query's words as typed, each once, in order."""
    return list(dict.fromkeys(query.split()))


def folded_words(query: str) -> list[str]:
    """The query's words folded, each once, in order; none that folds to nothing (a lone mark)."""
    return [word for word in dict.fromkeys(fold(word) for word in words(query)) if word]


def unprintable(text: str) -> bool:
    """True when ``text`` holds a control character (NUL among them) or a lone surrogate.

    The one rule for a search query, shared by every caller that checks one (kept public
    and stable: the portal imports it).

    Neither can be in a name, and neither can be stored: PostgreSQL refuses NUL,
    no database encodes a lone surrogate, and SQLite's full-text queries end at NUL.
    """
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)
