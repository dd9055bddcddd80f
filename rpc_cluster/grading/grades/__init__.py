"""The ``Grades`` namespace, one module per job; ``service.Grades`` joins them into the one namespace on the wire.

Every method starts by resolving the acting user (``base.GradesPart._actor``) and
passes it to the store, which answers and changes only what that user may
(``storage/classes/rules.py``).
"""
