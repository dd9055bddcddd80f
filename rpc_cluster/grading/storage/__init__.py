"""Where grades are kept: ``protocol`` (the ``GradeStore`` seam every store satisfies), ``sqlite`` and
``postgres`` (the two stores, each with its ``*_schema``), ``sql_writes`` (the SQL both share), ``sqlite_cache``,
``measured`` (a store timed on /metrics) and ``out_of_space`` (a full disk as ``StoreFull``).
"""
