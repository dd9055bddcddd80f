"""Where grades are kept: ``protocol`` (the ``GradeStore`` seam every store satisfies), ``sqlite`` and
``postgres`` (the two stores; their schemas are in ``grading.schema``), ``sql_writes`` (the SQL both share),
``audit`` (the record of every change), ``sqlite_cache``, ``measured`` (a store timed on /metrics) and
``out_of_space`` (a full disk as ``StoreFull``).
"""
