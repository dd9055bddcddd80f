"""A cache of serialized students, for ``Grades.get_student``.

Reading a student with its grades costs several times a trivial call (a SQL
join, then building and encoding every grade), and students are read far
more often than graded. Entries are stored as JSON text with the store's
``change_token()`` taken *before* the read; an entry is used only while the
token is unchanged, so any commit (from this process or another one on the
same SQLite file) makes every older entry invisible. A store that returns
no token (PostgreSQL, shared by several instances) is never cached.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ...core.dispatch import RawJSON
from .protocol import GradeStore

MAX_ENTRIES = 100_000


class StudentCache:
    def __init__(self, store: GradeStore, max_entries: int = MAX_ENTRIES):
        self._store = store
        self._max = max_entries
        self._entries: dict[int, tuple[Any, RawJSON]] = {}
        self._lock = threading.Lock()

    def get_student(self, student_id: int) -> RawJSON | None:
        """The student as JSON text, or None if unknown."""
        token = self._store.change_token()
        if token is not None:
            entry = self._entries.get(student_id)
            if entry is not None and entry[0] == token:
                return entry[1]
        student = self._store.get_student(student_id)
        if student is None:
            return None
        text = RawJSON(json.dumps(student))
        if token is not None:
            with self._lock:
                if len(self._entries) >= self._max:
                    self._entries.clear()
                self._entries[student_id] = (token, text)
        return text
