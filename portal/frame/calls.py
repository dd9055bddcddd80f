"""Calling grading from a page: ``Unavailable`` (the 503 page) when it cannot answer, and reading what
its refusals say.
"""

from __future__ import annotations

from typing import Any

import bottle

from rpc_cluster import Conflict, InvalidParams, ServiceUnavailable, StoreFull, TransportError

from ..context import Caller, context

# How an Unavailable names grading on the 503 page.
GRADING = "the grading service"
_UNAVAILABLE = (TransportError, ServiceUnavailable)
# The request's caller of grading, when the page has one of its own (``for_page``).
_PAGE_CALLER = "portal.grading"


class Unavailable(Exception):
    """A service the page needs has no healthy instance, or (``reason``) cannot store anything now."""

    def __init__(self, service: str, reason: str | None = None):
        super().__init__(service)
        self.service = service
        #: Why, when the service answered: "the store is out of space" (StoreFull).
        self.reason = reason


def call(client: Caller, service: str, method: str, /, *args: Any, **kwargs: Any) -> Any:
    """``client.call(method, ...)`` (whatever JSON it answers), raising ``Unavailable(service)`` when it
    cannot be reached."""
    try:
        return client.call(method, *args, **kwargs)
    except StoreFull as exc:
        raise Unavailable(service, exc.message) from None
    except _UNAVAILABLE:
        raise Unavailable(service) from None


def grading(method: str, /, *args: Any, **kwargs: Any) -> Any:
    """One call to the grading service (``grading("Grades.get_student", 3)``), for the page's signed-in user
    (``for_page``); 503 page when it is down."""
    caller: Caller = bottle.request.environ.get(_PAGE_CALLER) or context().grading
    return call(caller, GRADING, method, *args, **kwargs)


def for_page(caller: Caller) -> None:
    """Make this request's ``grading()`` calls through ``caller`` (the sign-in gate's: for the signed-in user)."""
    bottle.request.environ[_PAGE_CALLER] = caller


def first_use(exc: Conflict) -> dict[str, Any] | None:
    """If ``exc`` is grading refusing a ``request_id`` already used with other values (a form sent
    again after Back, with other values typed): what the first use stored (``{}`` when grading did
    not say). None for any other conflict."""
    data = exc.data if isinstance(exc.data, dict) else {}
    if "request_id" not in data:
        return None
    result = data.get("result")
    return result if isinstance(result, dict) else {}


def field_error(exc: InvalidParams) -> dict[str, str]:
    """The form errors (field name -> problem) for a service's InvalidParams."""
    data = exc.data if isinstance(exc.data, dict) else {}
    field = data.get("field") or "form"
    return {field: data.get("problem") or exc.message}
