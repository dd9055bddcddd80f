"""A class's gradebook: its assignments, each student's scores on them, the weighted average and the letter.

- ``weighting``: the average over categories and the letter of a scale (pure functions);
- ``grid_csv``: the grid's CSV and today's per-grade CSV, read into cells with every error at once;
- the SQL of assignments, scores, the grid and imports, over a store's transaction.
"""
