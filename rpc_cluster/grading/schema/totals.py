"""The SQL both schemas' triggers keep students' totals with (``student_totals``).

An insert adds to a student's totals; an update or delete recomputes them
from the student's grades (``RECOMPUTE``), so rounding never piles up. Only
grades with a score count: since version 3 a row of ``grades`` may be a mark
or a comment without one (an excused assignment), whose ``score`` is NULL.
"""

from __future__ import annotations

# Students' totals from their grades; a trigger adds "WHERE student_id ...".
RECOMPUTE = """UPDATE student_totals SET
    grade_count = (SELECT COUNT(score) FROM grades WHERE student_id = student_totals.student_id),
    score_sum = (SELECT COALESCE(SUM(score), 0) FROM grades WHERE student_id = student_totals.student_id),
    average = (SELECT AVG(score) FROM grades WHERE student_id = student_totals.student_id)"""
# Totals for the students that have none: all of them in a store made before student_totals
# existed, then none.
FILL_TOTALS = """INSERT INTO student_totals (student_id, grade_count, score_sum, average)
SELECT s.id, COUNT(g.score), COALESCE(SUM(g.score), 0), AVG(g.score)
FROM students s LEFT JOIN grades g ON g.student_id = s.id
WHERE NOT EXISTS (SELECT 1 FROM student_totals t WHERE t.student_id = s.id)
GROUP BY s.id"""
