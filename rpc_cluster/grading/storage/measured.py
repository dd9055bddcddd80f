"""A grade store whose operations are counted and timed on ``/metrics``.

It wraps either store (``open_store``) and forwards everything; the reads and
writes the service makes are timed per operation, and the ones that raise
are counted. ``change_token`` is left alone: it is called on every cached
read and costs less than timing it would. Every operation passes here, so
this is also where a database's "disk full" becomes ``StoreFull`` (503,
``out_of_space``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...observability.metrics import ServiceMetrics
from . import out_of_space
from .protocol import GradeStore

#: The store methods timed, by their names (the label ``operation``).
OPERATIONS = (
    "get_students",
    "count_students",
    "get_student",
    "add_grade",
    "add_student",
    "update_grade",
    "delete_grade",
    "list_students",
    "import_grades",
    "statistics",
)


class MeasuredStore:
    """``store`` with its operations timed; anything else goes straight to it."""

    def __init__(self, store: GradeStore, metrics: ServiceMetrics):
        #: The store doing the work.
        self.store = store
        latency = metrics.histogram(
            "grading_store_operation_duration_seconds", "Seconds one store operation took, by operation", ("operation",)
        )
        failures = metrics.counter("grading_store_errors", "Store operations that raised, by operation", ("operation",))
        # A SQLite store's folder, where a disk I/O error may mean a full disk.
        path = getattr(store, "path", None)
        folder = Path(path).parent if path is not None else None
        for name in OPERATIONS:
            if hasattr(store, name):
                setattr(
                    self, name, _timed(name, getattr(store, name), latency.labels(name), failures.labels(name), folder)
                )

    def __getattr__(self, name: str) -> Any:
        # Only what __init__ did not set: the attributes and methods that are not timed.
        return getattr(self.store, name)


def _timed(
    name: str, operation: Callable[..., Any], latency: Any, failures: Any, folder: Path | None
) -> Callable[..., Any]:
    """``operation`` timed into ``latency``, its failures counted, a full disk raised as StoreFull."""

    @functools.wraps(operation)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return operation(*args, **kwargs)
        except Exception as exc:
            failures.inc()
            if out_of_space.out_of_space(exc, folder):
                raise out_of_space.refused(name, exc) from None
            raise
        finally:
            latency.observe(time.perf_counter() - started)

    return timed
