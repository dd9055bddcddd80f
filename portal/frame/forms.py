"""What a request sends a page: the posted form and its files, the query string, ids in URLs, and the
form's ``request_id``.

Every form is read through ``posted``, so a body Bottle cannot decode is the 400 page that stores
nothing, never a 500 with a traceback.
"""

from __future__ import annotations

import re

import bottle

from rpc_cluster.core.ids import is_caller_id

# Ids and page numbers: ASCII digits only. str.isdigit() and int() also take '²', Arabic-Indic digits or ' 1'.
_NUMBER = re.compile(r"[0-9]{1,18}")


def number(text: str) -> int | None:
    """``text`` as a whole number from 1 up, if it is 1 to 18 ASCII digits (and not 0); else None."""
    if not _NUMBER.fullmatch(text):
        return None
    return int(text) or None


def posted() -> bottle.FormsDict:
    """The posted form, its fields and files (read once); the 400 page when it cannot be read.

    Every form is read through here, before its CSRF check. Bottle decodes a multipart part's
    headers (its field and file names) and its text as UTF-8 and raises UnicodeDecodeError for
    anything else (a file name in Latin-1 from an old browser or a script), MultipartError or
    ValueError for a broken body: a 400 that stores nothing, never a 500 with a traceback.
    """
    try:
        return bottle.request.POST
    except UnicodeDecodeError:
        bottle.abort(
            400, "The form could not be read: a field, or a field or file name, is not UTF-8 text. Nothing was stored."
        )
    except (bottle.MultipartError, ValueError):
        bottle.abort(400, "The form could not be read. Reload the page and try again. Nothing was stored.")
    raise AssertionError("unreachable")  # abort() raises


def field(name: str) -> str:
    """The posted text field ``name`` ("" when it is missing); the 400 page naming it when it is not UTF-8.

    Bottle's ``getunicode`` answers its default for bytes that are not UTF-8, which would make
    ``first_name=%E9`` an empty name: what was sent is refused instead, by name.
    """
    posted()
    forms = bottle.request.forms
    if name not in forms:
        return ""
    value = forms.getunicode(name)
    if value is None:
        bottle.abort(400, f"The field {name} is not valid text (UTF-8). Nothing was stored.")
    return str(value)


def values(*names: str) -> dict[str, str]:
    """The posted form's text fields ``names`` ("" for a missing one); see ``field``."""
    return {name: field(name) for name in names}


def uploaded(name: str) -> bottle.FileUpload | None:
    """The posted file ``name`` (None when the form has no such file); see ``posted``."""
    posted()
    return bottle.request.files.get(name)


def request_id() -> str | None:
    """The posted form's ``request_id``, if it is one we could have issued.

    Grading stores a write once per request_id, so a double-click, or the
    portal's client sending the call again after a lost connection, stores
    one grade. A form without one (an old page, a script) is still served.
    """
    value = field("request_id")
    return value if is_caller_id(value) else None


def query_text(name: str) -> str | None:
    """The query parameter ``name`` as text ("" when it is missing); None when it is not UTF-8.

    ``getunicode`` would answer "" for ``q=%FF%FE``, and a search for nothing lists everyone.
    """
    query = bottle.request.query
    if name not in query:
        return ""
    value = query.getunicode(name)
    return None if value is None else str(value)
