"""The grading service: students, their grades and classes, kept durably.

- ``service.py``: the service, ``main()``, and ``Grades``, the namespace its parts make.
- ``grades/``: ``Grades.*``, one module per job, each method acting for the
  acting user: ``base.py`` (the store and the acting user), ``students.py``
  (reading, adding, renaming and listing students, statistics), ``marks.py``
  (adding, editing, deleting and importing grades), ``classes.py`` (classes
  and their rosters), ``history.py`` (the audit, read), ``assignments.py``
  (assignments, categories and letters), ``gradebook.py`` (a column's scores,
  the grid, grid files).
- ``gradebook/``: a class's gradebook: ``weighting.py`` (the weighted average and
  the letter, pure), ``grid_csv.py`` (grid files read, with every error),
  ``assignments.py``, ``scores.py`` (a score written with its audit),
  ``settings.py`` (categories and scale), ``grid.py`` (the grid read),
  ``imports.py`` (a file's preview and its apply), ``refile.py`` (today's
  ``update_grade`` of a score) and ``store.py`` (the store's part, ``SqlGradebook``).
- ``access.py``: who a call acts for (``Actor``, from ``X-Acting-User``).
- ``validation.py``: the rules of every value (title, type, score, ids).
- ``csv_import.py``: reading and checking ``Grades.import_grades``' CSV, and
  ``SCORE_TEXT``, the rule for a score written as text.
- ``exactly_once.py``: exactly once for writes that carry a ``request_id``.
- ``search.py``: how ``Grades.list_students`` matches a query (words, folded).
- ``reads.py``: the ``Grades.*`` methods that change nothing.
- ``open_store.py``: the store that ``--db`` names.
- ``accounts/``: users, sessions and sign-in: ``users.py`` (``Users.*``),
  ``sessions.py`` (``Sessions.*``), ``passwords.py`` (argon2id hashes),
  ``rules.py`` (the rules of their values), ``lockout.py`` (when failures lock
  a username or a client out) and ``store.py`` (their SQL, over a store's connections).
- ``schema/``: each database's tables, triggers and indexes, and their numbered
  migrations (``migrations.py``; ``sqlite.py``, ``postgres.py``; ``totals.py``,
  the SQL of students' totals; ``classes.py``, the first class of an older store;
  ``assignments.py``, grades filed under assignments).
- ``storage/``: where grades are kept:

  - ``protocol.py``: ``GradeStore``, what every store does (a Protocol), the seed data;
  - ``sql_writes.py``: what both SQL stores share: the queries and writes of every method;
  - ``sqlite.py``: the default store, one SQLite file in WAL mode;
  - ``postgres.py``: PostgreSQL, shared by several grading instances;
  - ``audit.py``: the record of every change, written in the change's transaction;
  - ``classes/``: who may see and change what (``rules.py``), the reads of a
    teacher's classes or one class (``views.py``), and classes and enrolments
    (``rosters.py``);
  - ``sqlite_cache.py``: serialized students for ``get_student`` on SQLite;
  - ``measured.py``: a store whose operations are timed on ``/metrics``;
  - ``out_of_space.py``: a database's "disk full" as ``StoreFull``.
"""
