"""The grading service: ``Grades.*`` over a store (``rpc-cluster grading``)."""

from __future__ import annotations

import argparse
import logging
from typing import Unpack

from ..core.dispatch import Dispatcher
from ..core.errors import StartError
from ..core.methods import MethodTable
from ..runtime import flags, runner
from ..runtime.service import Service, ServiceOptions
from .accounts.passwords import Passwords
from .accounts.sessions import Sessions
from .accounts.users import Users
from .grades.assignments import AssignmentMethods
from .grades.classes import ClassMethods
from .grades.gradebook import GradebookMethods
from .grades.history import HistoryMethods
from .grades.marks import GradeMethods
from .grades.students import StudentMethods
from .open_store import check_db, open_store, store_folder
from .reads import READ_ONLY
from .storage.measured import MeasuredStore
from .storage.protocol import GradeStore

log = logging.getLogger("rpc_cluster.grading")

# Request bodies up to 8 MiB (other services: 1 MiB): an import_grades of 50,000
# grades with titles of 100 characters fits.
MAX_BODY = 8 << 20


# On SQLite these reads take microseconds (one student from a cache, a count) and a reader never
# waits for a writer (WAL): they run on the event loop, without the hop to the request thread.
QUICK_READS = ("get_student", "count_students")


class Grades(StudentMethods, GradeMethods, ClassMethods, HistoryMethods, AssignmentMethods, GradebookMethods):
    """The ``Grades`` namespace: its parts' methods (``grading/grades/``) as one.

    Every method acts for the user ``X-Acting-User`` names (none: the service's own
    authority) and answers and changes only what that user may.
    """


class GradingService(Service):
    """The grading process: serves ``Grades.*`` over a SQLite or PostgreSQL store."""

    name = "GradingService"
    max_body = MAX_BODY

    def __init__(self, *, db: str = "data/grades.db", **options: Unpack[ServiceOptions]):
        super().__init__(**options)
        #: ``--db``: a SQLite file, or a postgresql:// URL.
        self.db = db
        self._store: GradeStore | None = None

    @property
    def store(self) -> GradeStore:
        """The open store, from ``open()`` to ``stop()``; RuntimeError outside them."""
        if self._store is None:
            raise RuntimeError("rpc: GradingService has an open store only from open() (start()) to stop()")
        return self._store

    def open(self) -> None:
        try:
            self._store = MeasuredStore(open_store(self.db), self.metrics, store_folder(self.db))
        except Exception as exc:  # sqlite3 and psycopg errors: say which store, in one line
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StartError(f"cannot open the store {self.db!r}: {first_line}") from exc

    def request_threads(self) -> int:
        # SQLite answers from memory, so its calls compete for the GIL: one thread
        # measured 9.4k get_student/s here, two 5.0k. PostgreSQL calls wait on the
        # network with the GIL released: there more threads overlap the waits.
        return self.threads or (8 if self._store is not None and self._store.waits_on_network else 1)

    def expose(self, methods: MethodTable) -> None:
        grades = Grades(self.store)
        passwords = Passwords()
        users = Users(self.store, passwords)
        methods.add_object("Grades", grades, inline=() if self.store.waits_on_network else QUICK_READS)
        methods.add_object("Users", users)
        # What Sessions.call_as may call for a session's user: the reads that act for a user, never a
        # write (so a call_as may be sent again, like the reads), Sessions.* or Service.*. Counted on
        # /metrics under their own names, like a call made directly.
        for_users = MethodTable()
        for name in sorted(READ_ONLY):
            func = methods.get(name)
            if func is not None and name.startswith(("Grades.", "Users.")):
                for_users.add(name, func)
        observe = self.metrics.observe_call if self.measure_calls else None
        calls = Dispatcher(for_users, observe=observe)
        methods.add_object("Sessions", Sessions(self.store, passwords, calls=calls))

    def on_stop(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    flags.add_service_flags(parser, "RPC_CLUSTER_GRADING", 6000)
    flags.add_flag(
        parser,
        "--db",
        "RPC_CLUSTER_GRADING_DB",
        "./data/grades.db",
        "SQLite file, or a postgresql:// URL shared by several instances",
        type=_db_flag,
    )


def _db_flag(text: str) -> str:
    """--db as given, once open_store.check_db takes it (a bad one is a usage error, exit 2)."""
    try:
        return check_db(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    """Run the grading service in the foreground (``rpc-cluster grading``)."""

    return runner.service_main(
        argv,
        prog="rpc-cluster grading",
        description="Run the grading service.",
        add_arguments=add_arguments,
        make=lambda args: GradingService(db=args.db, **flags.service_kwargs(args)),
    )
