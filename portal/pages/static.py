"""What is not a page: the stylesheet and the /cluster page's script (``GET /static/<name>``, from
``portal/static/``, for anyone), and any path no page has (``nowhere``)."""

from __future__ import annotations

from pathlib import Path

import bottle

from ..frame import errors
from ..frame.traced import traced

STATIC = Path(__file__).resolve().parent.parent / "static"


def static(name: str) -> bottle.HTTPResponse:
    """``GET /static/<name>``: the file, or Bottle's 404 (403 for a name outside the folder)."""
    response: bottle.HTTPResponse = bottle.static_file(name, root=str(STATIC))
    return response


@traced
def nowhere(path: str) -> str:
    """Any other path: a 404, once signed in. A visitor who is not is sent to sign in first (a GET) or
    refused (403), as on every page: which paths exist is nobody's business before that."""
    errors.not_found("There is no such page.")
