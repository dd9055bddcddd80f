"""The gradebook's pages: the students, a student's grades, editing and deleting a grade, CSV export
and import, statistics. Which students and grades a page shows is grading's answer for the
signed-in user (a teacher: those of the classes they teach)."""
