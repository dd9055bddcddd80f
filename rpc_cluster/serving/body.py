"""Reading a request body on the event loop: bounded in size (``BodyLimits``) and in time (``BodyDeadlines``).

A body is awaited, not read on a thread: a client that sends one byte of a hundred and
stalls holds a few hundred bytes of memory and an entry in ``BodyDeadlines``, never a
request thread. At the deadline its read is cancelled and it is answered 408; a body larger
than its path's limit is answered 413 after a bounded part of it is read and dropped, so
the client, which sends all of it before it reads, sees the answer instead of a broken pipe.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any, Protocol

#: A client sends its whole body before reading the answer: read (and drop) up to
#: this much of an oversized one, so it gets its 413 instead of a broken pipe.
DRAIN_LIMIT = 16 << 20


class BodyStream(Protocol):
    """Granian's RSGI protocol object, as far as reading the body goes."""

    async def __call__(self) -> bytes: ...

    def __aiter__(self) -> Any: ...


class BodyLimits:
    """How large a request body may be, by its path: the given paths' own limits, others ``default``.

    A path may hold ``<name>`` for one segment of any text: ``/classes/<id>/import`` is every class's.
    """

    def __init__(self, limits: Mapping[str, int], default: int):
        self.default = default
        self._exact = {path: limit for path, limit in limits.items() if "<" not in path}
        self._patterns = [
            (re.compile(re.sub(r"<[^>/]+>", "[^/]+", re.escape(path)) + r"\Z"), limit)
            for path, limit in limits.items()
            if "<" in path
        ]

    def of(self, path: str) -> int:
        """The most bytes a body sent to ``path`` may have."""
        if path in self._exact:
            return self._exact[path]
        return next((limit for pattern, limit in self._patterns if pattern.match(path)), self.default)


class BodyDeadlines:
    """Cancels the body reads that pass ``timeout`` seconds: one timer for all of them (None: never).

    A timer per request (``asyncio.timeout``) cost a third of a trivial call's rate here;
    registering in a dict and one sweep every quarter second (or quarter timeout) costs
    well under a microsecond a request, and a deadline is met within that tick.
    """

    def __init__(self, timeout: float | None):
        self.timeout = timeout
        self._waiting: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Sweep on ``loop`` (the server's) from now until ``stop()``."""
        self._loop = loop
        if self.timeout is not None:
            self._timer = loop.call_later(self._tick(), self._sweep)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _tick(self) -> float:
        return min(0.25, (self.timeout or 1.0) / 4)

    def _sweep(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        late = [task for task, deadline in self._waiting.items() if deadline <= now]
        for task in late:
            del self._waiting[task]
            self._expired.add(task)
            task.cancel()
        self._timer = self._loop.call_later(self._tick(), self._sweep)

    async def read(self, stream: BodyStream, length: int | None, limit: int) -> bytes | int:
        """The whole body, 413 when it is larger than ``limit``, 408 when it is late.

        ``length``: the request's Content-Length, None for a chunked body.
        """
        if self.timeout is None:
            return await _whole(stream, length, limit)
        task = asyncio.current_task()
        assert task is not None and self._loop is not None
        self._waiting[task] = self._loop.time() + self.timeout
        try:
            return await _whole(stream, length, limit)
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            task.uncancel()
            return 408
        finally:
            self._waiting.pop(task, None)


async def _whole(stream: BodyStream, length: int | None, limit: int) -> bytes | int:
    if length is not None and length <= limit:
        return await stream()
    return await _bounded(stream, limit, length)


async def _bounded(stream: BodyStream, limit: int, length: int | None) -> bytes | int:
    """A body read piece by piece, up to ``limit`` bytes; 413 past it, after dropping some more."""
    pieces = stream.__aiter__()
    if length is not None:  # larger than the limit: it says so itself
        await _drop(pieces, min(length, DRAIN_LIMIT))
        return 413
    kept = []
    size = 0
    # Granian's body iterator may be asked for its iterator only once: ``anext`` it, no ``async for``.
    while (piece := await anext(pieces, None)) is not None:
        size += len(piece)
        if size > limit:
            await _drop(pieces, DRAIN_LIMIT)
            return 413
        kept.append(piece)
    return b"".join(kept)


async def _drop(pieces: Any, most: int) -> None:
    dropped = 0
    while dropped < most and (piece := await anext(pieces, None)) is not None:
        dropped += len(piece)
