"""The portal's pages, one module per URL; ``portal.app`` routes to them.

- ``GET /`` (``home``), ``GET /students`` (``students``), ``POST /students`` (``add_student``):
  ``portal.pages.students``
- ``GET /students.csv`` (``students_csv``): ``portal.pages.students_csv``
- ``GET /students/<id>`` (``student``), ``POST /students/<id>/grades`` (``add_grade``):
  ``portal.pages.student``
- ``POST /students/<id>/grades/<grade_id>`` (``edit_grade``), ``GET`` and ``POST
  /students/<id>/grades/<grade_id>/delete`` (``confirm_delete``, ``delete_grade``): ``portal.pages.grade``
- ``GET`` and ``POST /import`` (``import_form``, ``import_grades``): ``portal.pages.import_``
- ``GET /statistics`` (``statistics``): ``portal.pages.statistics``
- ``GET /cluster`` (``cluster``): ``portal.pages.cluster``
- ``GET /static/<name>`` (``static``): ``portal.pages.static``

What every page runs in (its trace, rendering, forms, CSRF, flash messages and redirects, calls to
grading, error pages) is in ``portal.frame``, a module for each; the app's clients and settings in
``portal.context``; what grading answers in ``rpc_cluster.grading.storage.protocol``; the CSV
format of export and import in ``portal.grades_csv``.
"""
