"""A class's gradebook pages: the grid, whole-class entry of one assignment, assignments, the class's
categories and letters, a student's report, statistics, and the grid's CSV export and import."""
