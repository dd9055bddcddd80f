"""What every part of the ``Grades`` namespace shares: the store, the cache of students, and the acting user."""

from __future__ import annotations

from ...client import acting
from ..access import Actor, resolve
from ..storage.protocol import GradeStore
from ..storage.sqlite_cache import StudentCache

# The most rows one page of get_students answers.
MAX_PAGE = 1000
# list_students' largest page: a screenful many times over, and a reply that stays small.
MAX_LIST = 500


class GradesPart:
    """The state every part of ``Grades`` works with."""

    def __init__(self, store: GradeStore):
        self._store = store
        # The service's and admins' get_student: a teacher's reads go to the store, which filters them.
        self._students = StudentCache(store)

    def _actor(self) -> Actor:
        """Who the call being served acts for (``X-Acting-User``; none: the service's own authority).

        Forbidden for an unknown, disabled or malformed user name, before anything is read or written.
        """
        return resolve(acting.current(), self._store.user_row)
