"""The portal's pages, one module per URL; ``portal.app`` routes to them.

Signing in and the portal's own records:

- ``GET`` and ``POST /login`` (``login_form``, ``login``), ``POST /logout`` (``logout``): ``portal.pages.login``
- ``GET`` and ``POST /classes`` (``classes``, ``add_class``): ``portal.pages.classes``
- ``GET /classes/<id>/roster`` (``class_page``), ``POST /classes/<id>/students`` (``add_student``), ``POST
  /classes/<id>/enrolments`` (``enroll``): ``portal.pages.class_``
- ``POST /classes/<id>/students/<student_id>/name`` (``rename``), ``.../archive`` (``archive``), ``GET`` and
  ``POST .../unenroll`` (``confirm_unenroll``, ``unenroll``): ``portal.pages.roster``
- ``GET /grades/<id>/history`` (``grade_history``): ``portal.pages.history``
- ``GET`` and ``POST /users`` (``users``, ``add_user``), ``GET`` and ``POST /users/<name>/password``
  (``password_form``, ``set_password``), ``POST /users/<name>/disabled`` (``disable``): ``portal.pages.users``
- ``GET /cluster`` (``cluster``): ``portal.pages.cluster``
- ``GET /static/<name>`` (``static``), and any other path (``nowhere``): ``portal.pages.static``

The gradebook, in ``portal.pages.gradebook``:

- ``GET /`` (``home``), ``GET /students`` (``students``), ``POST /students`` (``add_student``):
  ``gradebook.students``
- ``GET /students.csv`` (``students_csv``): ``gradebook.students_csv``
- ``GET /students/<id>`` (``student``), ``POST /students/<id>/grades`` (``add_grade``): ``gradebook.student``
- ``POST /students/<id>/grades/<grade_id>`` (``edit_grade``), ``GET`` and ``POST
  /students/<id>/grades/<grade_id>/delete`` (``confirm_delete``, ``delete_grade``): ``gradebook.grade``
- ``GET`` and ``POST /import`` (``import_form``, ``import_grades``): ``gradebook.import_``
- ``GET /statistics`` (``statistics``): ``gradebook.statistics``

A class's gradebook, in ``portal.pages.classbook``:

- ``GET /classes/<id>`` (``grid``), the grid of scores: ``classbook.grid``
- ``GET`` and ``POST /classes/<id>/assignments/<aid>`` (``column``, ``save_column``), a whole class's scores of
  one assignment in one form: ``classbook.column``
- ``GET`` and ``POST /classes/<id>/assignments/new`` (``new_form``, ``add``), ``.../assignments/<aid>/edit``
  (``edit_form``, ``edit``) and ``.../assignments/<aid>/delete`` (``confirm_delete``, ``delete``):
  ``classbook.assignment``
- ``GET`` and ``POST /classes/<id>/settings`` (``settings``, ``save``), the categories and letters:
  ``classbook.settings``
- ``GET /classes/<id>/students/<sid>`` (``report``), a student's report in the class: ``classbook.report``
- ``GET /classes/<id>.csv``, the grid as CSV: ``classbook.export``
- ``GET`` and ``POST /classes/<id>/import``, ``POST /classes/<id>/import/confirm``, a CSV of the grid's shape
  previewed, then applied: ``classbook.import_``
- ``GET /classes/<id>/statistics`` and ``GET /classes/<id>/assignments/<aid>/statistics``:
  ``classbook.statistics``

Every page but ``/login`` and ``/static/...`` is for a signed-in user: what every page runs in (its
trace, the sign-in gate and the acting user, rendering, forms, CSRF, flash messages and redirects,
calls to grading, error pages) is in ``portal.frame``, a module for each; the app's clients and
settings in ``portal.context``; what grading answers in ``rpc_cluster.grading.storage.protocol``;
the CSV format of export and import in ``portal.grades_csv``; audit entries as pages show them in
``portal.audit_entries``.
"""
