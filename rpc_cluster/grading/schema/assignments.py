"""Grades filed under assignments: the step of version 3 that turns free titles into a class's columns, and the seed.

Before version 3 a grade carried its own title and type, so "Quiz 3" typed
for each student was a title, not a thing. Each grade of a class is filed
under the assignment of its title in that class (compared ignoring case),
made with the grade's type as its category and 100 points, so every score
keeps its value as points. What the old model allowed and the new one does
not keeps every grade's type and score, under another title: grades of one
title with several types make one assignment per type, the type most of them
have keeping the title and the others named "Quiz 3 (Test)"; a student with
two grades of one title keeps both, the second under "Quiz 3 (2)", since a
student has one score per assignment.
"""

from __future__ import annotations

from collections import Counter

from .migrations import Execute

#: An assignment made from grades is out of this many points: the old scores were percentages.
POINTS = 100.0

_UNFILED = (
    "SELECT id, class_id, student_id, title, type, score FROM grades "
    "WHERE class_id IS NOT NULL AND assignment_id IS NULL ORDER BY id"
)
_ADD = "INSERT INTO assignments (class_id, title, title_key, category, max_points) VALUES (?, ?, ?, ?, ?) RETURNING id"
_FILE = "UPDATE grades SET assignment_id = ?, title = ?, type = ?, points = ? WHERE id = ?"


def file_grades(execute: Execute) -> int:
    """File every grade of a class that has no assignment under one (made when missing); how many."""
    unfiled = execute(_UNFILED, ())
    if not unfiled:
        return 0
    class_ids = sorted({int(row[1]) for row in unfiled})
    marks = ", ".join("?" * len(class_ids))
    # (class, title key) -> (id, title, category, max_points); and the (assignment, student) pairs scored.
    known = {
        (int(cid), str(key)): (int(aid), str(title), str(category), float(top))
        for aid, cid, key, title, category, top in execute(
            f"SELECT id, class_id, title_key, title, category, max_points FROM assignments WHERE class_id IN ({marks})",
            tuple(class_ids),
        )
    }
    taken = {
        (int(aid), int(sid))
        for aid, sid in execute(
            f"SELECT assignment_id, student_id FROM grades WHERE assignment_id IS NOT NULL AND class_id IN ({marks})",
            tuple(class_ids),
        )
    }
    # The type most of a title's grades have (the earliest on a tie) keeps the title.
    types: dict[tuple[int, str], Counter[str]] = {}
    for _, cid, _, title, kind, _ in unfiled:
        types.setdefault((cid, title.casefold()), Counter())[kind] += 1
    for gid, cid, sid, title, kind, score in unfiled:
        base = title if types[(cid, title.casefold())].most_common(1)[0][0] == kind else f"{title} ({kind})"
        copy = 1
        while True:
            name = base if copy == 1 else f"{base} ({copy})"
            found = known.get((cid, name.casefold()))
            if found is None:
                aid = int(execute(_ADD, (cid, name, name.casefold(), kind, POINTS))[0][0])
                found = known[(cid, name.casefold())] = (aid, name, kind, POINTS)
            if found[2] == kind and (found[0], sid) not in taken:
                break
            copy += 1
        aid, name, category, top = found
        taken.add((aid, sid))
        execute(_FILE, (aid, name, category, float(score) * (top / 100), gid))
    return len(unfiled)
