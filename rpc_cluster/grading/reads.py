"""The ``Grades.*`` methods that change nothing.

A caller names them to its client (``connect(..., read_only=READ_ONLY)``): one
that timed out on an instance cut off by a partition is sent to another
instance instead of failing, which a write may be only with a ``request_id``
(``retry.is_repeatable``). ``Sessions.call_as`` calls only the ``Grades.*`` and
``Users.*`` methods named here.
"""

READ_ONLY = frozenset(
    {
        "Grades.get_students",
        "Grades.count_students",
        "Grades.get_student",
        "Grades.list_students",
        "Grades.statistics",
        "Grades.list_classes",
        "Grades.get_class",
        "Grades.history",
        "Grades.changes",
        "Users.list",
        # It may write the session's last use, which a repeat writes again to the same effect.
        "Sessions.check",
        # A check and one of the reads above (the only methods it may call).
        "Sessions.call_as",
        "Service.heartbeat",
        "rpc.discover",
    }
)
