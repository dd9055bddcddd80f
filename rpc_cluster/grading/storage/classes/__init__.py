"""Classes in SQL: who sees what (``rules``), the reads through a teacher's classes or one class's roster
(``views``), and the classes and enrolments themselves (``rosters``)."""
