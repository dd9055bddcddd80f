"""The grading service: students and their grades, kept durably.

- ``store.py``: the storage interface, the schema's rules and the seed data.
- ``sqlite_store.py``: the default store, one SQLite file in WAL mode.
- ``postgres_store.py``: PostgreSQL, shared by several grading instances.
- ``service.py``: ``Grades.*`` over RPC (validation lives there), and ``main()``.
"""
