"""How ``Grades.list_students`` matches a query: by words, ignoring case and accents.

A query is split into words at white space; a student matches when every
word is found in the first or the last name (so "Nick Carter" and "carter
nick" find Nick Carter). Both sides are folded first: case folded, then
decomposed (NFKD) with the combining marks dropped, so "zoe" finds "Zoë",
"Zoë" finds "Zoe" and "ＡＢＣ" finds "abc". The SQLite store compares with
``fold``; the PostgreSQL store folds the same way in SQL (postgres_schema).
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


def unprintable(text: str) -> bool:
    """True when ``text`` holds a control character (NUL among them) or a lone surrogate.

    Neither can be in a name, and neither can be stored: PostgreSQL refuses NUL,
    no database encodes a lone surrogate, and SQLite's full-text queries end at NUL.
    """
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)
