"""The pages for HTTP errors: a 404, a refused form (400, 403, 413), a wrong method, Bottle's own 500;
and ``not_found``, the 404 a page raises."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NoReturn

import bottle

from .render import render

log = logging.getLogger("portal")


def error_page(title: str) -> Callable[[bottle.HTTPError], str]:
    """The handler that shows an HTTP error with ``title``."""

    def handler(error: bottle.HTTPError) -> str:
        message = error.body if isinstance(error.body, str) and error.body else title
        if error.status_code == 500:
            # Bottle's own 500 carries the exception: log it, never show it.
            if error.traceback:
                log.error("%s %s: %s", bottle.request.method, bottle.request.path, error.traceback)
            message = "The page could not be shown. The details are in the log."
        return render("error.tpl", error.status_code, title=title, message=message)

    return handler


def not_found(message: str) -> NoReturn:
    """The 404 page, saying ``message`` (``bottle.abort``, typed: bottle ships no types)."""
    raise bottle.HTTPError(404, message)
