"""The grading service: students and their grades, kept durably.

- ``store.py``: the storage interface, the schema's rules and the seed data.
- ``sql_store.py``: what both SQL stores share: per-student totals kept by
  triggers, and the queries of editing, listing, importing and statistics.
- ``sqlite_store.py``: the default store, one SQLite file in WAL mode;
  ``sqlite_schema.py`` its tables, triggers and trigram index of names.
- ``postgres_store.py``: PostgreSQL, shared by several grading instances;
  ``postgres_schema.py`` its tables, triggers and trigram index of names.
- ``validation.py``: the rules of every value (title, type, score, ids).
- ``csv_import.py``: reading and checking ``Grades.import_grades``' CSV.
- ``requests.py``: exactly once for writes that carry a ``request_id``.
- ``cache.py``: serialized students for ``get_student`` on SQLite.
- ``service.py``: ``Grades.*`` over RPC, and ``main()``.
"""
