"""The stylesheet and the /cluster page's script: ``GET /static/<name>``, from ``portal/static/``."""

from __future__ import annotations

from pathlib import Path

import bottle

STATIC = Path(__file__).resolve().parent.parent / "static"


def static(name: str) -> bottle.HTTPResponse:
    """``GET /static/<name>``: the file, or Bottle's 404 (403 for a name outside the folder)."""
    response: bottle.HTTPResponse = bottle.static_file(name, root=str(STATIC))
    return response
