"""Exactly once: a write that carries a ``request_id`` is done once, whatever repeats it.

A client sends a call again when it cannot know whether the first one
arrived (a connection lost mid-request, a failover to another instance, a
double-click). Each store keeps the ids it has seen in a ``requests`` table
whose primary key is the id, inside the same transaction as the write, so
on every instance sharing the store a repeat stores nothing and returns the
first call's result. The id is claimed first (an insert that does nothing on
conflict), so two instances racing with one id wait on each other in the
database instead of both writing.

Each acting user has ids of their own (``owner``): the same id sent by
another user is another request, so no user is ever answered with what
someone else's call stored. Calls with the service's own authority use the
id as it is, as they did before there were users.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from ..core.errors import Conflict, InvalidParams
from ..core.ids import is_caller_id

#: What a write done once returns: its result is recorded as JSON, so it is a JSON object or None.
Written = TypeVar("Written", bound="dict[str, Any] | None")

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result TEXT
)
"""

# Written with "?" placeholders; the PostgreSQL store passes them as "%s".
_CLAIM = (
    "INSERT INTO requests (request_id, method, fingerprint) VALUES (?, ?, ?) "
    "ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
)
_FIRST = "SELECT method, fingerprint, result FROM requests WHERE request_id = ?"
_RECORD = "UPDATE requests SET result = ? WHERE request_id = ?"
_RELEASE = "DELETE FROM requests WHERE request_id = ?"


def check_request_id(value: object) -> str | None:
    """The ``request_id`` param, validated: None, or 1-64 characters of [A-Za-z0-9._:-].

    The rule of every caller id (``core.ids``; docs/protocol.md, "Exactly once"): short,
    printable, safe in logs and SQL.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not is_caller_id(value):
        raise InvalidParams.field("request_id", "must be 1-64 characters of A-Z a-z 0-9 . _ : -")
    return value


def once(
    execute: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]],
    request_id: str | None,
    method: str,
    params: tuple[Any, ...],
    write: Callable[[], Written],
    owner: str | None = None,
) -> Written:
    """``write()``'s result, done at most once per ``request_id`` of ``owner``; call inside a transaction.

    ``execute(sql, args)`` runs one statement in that transaction and returns
    its rows. A repeat returns the first result (None too: an unknown student
    stays unknown, and a None result does not keep its id). The same id with
    another method or other params is 409 Conflict whose data carries the first
    call's ``result``: a form submitted again after Back shows what was stored.
    ``owner``: the acting user's name, or None for the service's own authority.
    """
    if request_id is None:
        return write()
    # "/" is in neither a request id nor a user name: an owner's key never equals another's.
    key = request_id if owner is None else f"{owner}/{request_id}"
    fingerprint = hashlib.sha256(json.dumps([method, *params], default=str).encode()).hexdigest()
    if execute(_CLAIM, (key, method, fingerprint)):
        result = write()
        if result is None:
            execute(_RELEASE, (key,))
        else:
            execute(_RECORD, (json.dumps(result), key))
        return result
    first_method, first_fingerprint, first_result = execute(_FIRST, (key,))[0]
    # The first call's result as it was recorded: the JSON of the same kind of value.
    recorded: Any = None if first_result is None else json.loads(first_result)
    first: Written = recorded
    if (first_method, first_fingerprint) != (method, fingerprint):
        raise Conflict(
            f"request_id {request_id!r} was used by another call",
            {"request_id": request_id, "first_method": first_method, "result": first},
        )
    return first
