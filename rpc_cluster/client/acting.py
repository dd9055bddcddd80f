"""The user a call is made for: the ``X-Acting-User`` header, carried like the trace id.

The portal signs a teacher in and makes each page's grading calls inside
``acting_as(username)``; every call made in that context carries the header,
and the server puts a request's header back into the context for the length
of the call, where grading reads it (``current()``) and checks each read and
write against that user. A call without it acts with the service's own
authority (the REPL, the CLI).

The header is only as trustworthy as the caller: a service honours it from
anyone who may call it at all, which with a cluster token set means a holder
of the token.
"""

from __future__ import annotations

import contextvars
from contextlib import AbstractContextManager

from ..core import tracing

HEADER = "X-Acting-User"
# WSGI environ key for the header.
ENVIRON_KEY = "HTTP_X_ACTING_USER"

_acting: contextvars.ContextVar[str | None] = contextvars.ContextVar("rpc_cluster_acting_user", default=None)


def current() -> str | None:
    """The acting user of the call being served (or made) in this context; None: the service's own authority."""
    return _acting.get()


def acting_as(username: str | None) -> AbstractContextManager[str | None]:
    """Make every call inside the block for ``username`` (None: with the service's own authority)."""
    return tracing.setting(_acting, username, username)


def outgoing_headers() -> dict[str, str]:
    """``X-Acting-User`` for a call made now, or nothing outside ``acting_as``."""
    username = _acting.get()
    return {} if username is None else {HEADER: username}
