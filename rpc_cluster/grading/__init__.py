"""The grading service: students and their grades, kept durably.

- ``service.py``: ``Grades.*`` over RPC, and ``main()``.
- ``validation.py``: the rules of every value (title, type, score, ids).
- ``csv_import.py``: reading and checking ``Grades.import_grades``' CSV, and
  ``SCORE_TEXT``, the rule for a score written as text.
- ``exactly_once.py``: exactly once for writes that carry a ``request_id``.
- ``search.py``: how ``Grades.list_students`` matches a query (words, folded).
- ``reads.py``: the ``Grades.*`` methods that change nothing.
- ``open_store.py``: the store that ``--db`` names.
- ``storage/``: where grades are kept:

  - ``protocol.py``: ``GradeStore``, what every store does (a Protocol), the seed data;
  - ``sql_writes.py``: what both SQL stores share: per-student totals kept by
    triggers, and the queries and writes of every method;
  - ``sqlite.py``: the default store, one SQLite file in WAL mode;
    ``sqlite_schema.py`` its tables, triggers and trigram index of names;
  - ``postgres.py``: PostgreSQL, shared by several grading instances;
    ``postgres_schema.py`` its tables, triggers and trigram index of names;
  - ``sqlite_cache.py``: serialized students for ``get_student`` on SQLite;
  - ``measured.py``: a store whose operations are timed on ``/metrics``;
  - ``out_of_space.py``: a database's "disk full" as ``StoreFull``.
"""
