"""``@traced``: every page runs in its own trace, passes the sign-in gate, is logged and counted, and
shows the 403 page when grading refuses the user, the 503 page when a service it needs cannot answer
and the 500 page when it fails."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import TypeVar, overload

import bottle

from rpc_cluster import Forbidden
from rpc_cluster.core import tracing

from ..context import context
from . import session
from .calls import Unavailable
from .render import render

log = logging.getLogger("portal")

R = TypeVar("R")


@overload
def traced(handler: Callable[..., R], *, log_level: int = ..., public: bool = ...) -> Callable[..., R | str]: ...
@overload
def traced(
    handler: None = None, *, log_level: int = ..., public: bool = ...
) -> Callable[[Callable[..., R]], Callable[..., R | str]]: ...
def traced(
    handler: Callable[..., R] | None = None, *, log_level: int = logging.INFO, public: bool = False
) -> Callable[..., R | str] | Callable[[Callable[..., R]], Callable[..., R | str]]:
    """Run ``handler`` in its own trace for the signed-in user, log the request, show 403, 503 or 500
    pages for its failures.

    A new trace for each page, unless the request carries a valid W3C
    ``traceparent`` (a caller instrumented with OpenTelemetry): then the page
    joins that trace. The session is checked in that trace (``session.gate``),
    and the handler's grading calls are made for its user; ``public=True``
    (the sign-in page) skips the gate. ``@traced(log_level=logging.DEBUG)``
    logs the request line at that level (a page that refreshes itself).
    Returns the page: what ``handler`` returns, or the text of an error page.
    """
    if handler is None:
        return functools.partial(traced, log_level=log_level, public=public)
    return _traced(handler, log_level, public)


def _traced(handler: Callable[..., R], log_level: int, public: bool) -> Callable[..., R | str]:
    @functools.wraps(handler)
    def page(*args: str, **kwargs: str) -> R | str:
        environ = bottle.request.environ
        joined = tracing.accept(None, environ.get("HTTP_TRACEPARENT"), environ.get("HTTP_TRACESTATE"))
        with tracing.within(joined) as trace_id:
            bottle.request.environ["portal.trace_id"] = trace_id
            started = time.perf_counter()
            bottle.response.set_header("X-Trace-Id", trace_id)
            raised: bottle.HTTPResponse | None = None
            try:
                with session.gate(public):
                    return handler(*args, **kwargs)
            except Forbidden as exc:
                # Grading refused the acting user (a class, student or grade not theirs): say so, never what.
                log.info("%s %s: refused by grading: %s", bottle.request.method, bottle.request.path, exc.data)
                return render(
                    "error.tpl",
                    403,
                    title="Forbidden",
                    message=(
                        "You do not have access to this page, or what it names is not yours to see or change."
                        " If you need it, ask an administrator of the portal."
                    ),
                )
            except Unavailable as exc:
                log.warning(
                    "%s %s: %s unavailable%s",
                    bottle.request.method,
                    bottle.request.path,
                    exc.service,
                    f" ({exc.reason})" if exc.reason else "",
                )
                bottle.response.set_header("Retry-After", "2")
                return render("unavailable.tpl", 503, service=exc.service, reason=exc.reason)
            except bottle.HTTPResponse as response:  # a redirect, or an error page by abort()
                raised = response
                raise
            except Exception:
                log.exception("%s %s failed", bottle.request.method, bottle.request.path)
                return render(
                    "error.tpl",
                    500,
                    title="Something went wrong",
                    message="The page could not be shown. The details are in the log.",
                )
            finally:
                seconds = time.perf_counter() - started
                status = (raised or bottle.response).status_code
                log.log(
                    log_level, "%s %s %s in %.1f ms", bottle.request.method, bottle.request.path, status, seconds * 1000
                )
                pages = context().pages
                if pages is not None:
                    pages.observe(bottle.request.route.rule, status, seconds)

    return page
