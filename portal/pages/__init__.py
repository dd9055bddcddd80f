"""The portal's pages, one module per URL; ``portal.app`` routes to them.

- ``GET /`` (``home``), ``GET /students`` (``students``), ``POST /students`` (``add_student``):
  ``portal.pages.students``
- ``GET /students/<id>`` (``student``), ``POST /students/<id>/grades`` (``add_grade``):
  ``portal.pages.student``
- ``GET /cluster`` (``cluster``): ``portal.pages.cluster``

What they share (rendering, traces, CSRF, flash messages, error pages) is in ``portal.web``.
"""
