"""Audit entries as a class's changes and a grade's history say them (portal/audit_entries.py): scores,
assignments, weights and letters in plain words; a grade recorded before the gradebook as it always read."""

from portal.audit_entries import Change, in_class, shown

NAMES = {7: "Nick Carter"}
AT = "2025-03-04T13:05:09.123456+00:00"


def entry(entity, action, before=None, after=None, id=9):
    return {"at": AT, "user": "ada", "entity": entity, "action": action, "id": id, "before": before, "after": after}


def score(points=None, mark=None, comment=None, **extra):
    values = {"student_id": 7, "class_id": 2, "title": "Quiz 3", "type": "Quiz", "score": None, "assignment_id": 4}
    return {**values, "points": points, "mark": mark, "comment": comment, **extra}


def said(e) -> str:
    changes = "; ".join(f"{c.field}: {c.before} → {c.after}" for c in e.changes)
    return f"{e.action} {e.what} | {changes}"


def test_a_score_set_changed_and_cleared():
    changed = in_class(entry("grade", "update", score(15), score(18, "late", "well done")), NAMES)
    assert said(changed) == "Changed score: Nick Carter | Quiz 3: 15 → 18, late; comment: — → well done"
    assert changed.href == "/grades/9/history"
    made = in_class(entry("grade", "create", None, score(mark="missing")), NAMES)
    assert said(made) == "New score: Nick Carter | Quiz 3: None → missing"
    cleared = in_class(entry("grade", "delete", score(12.5, "excused", "ill"), None), NAMES)
    assert said(cleared) == "Removed score: Nick Carter | Quiz 3: 12.5, excused → None; comment: ill → None"
    # A score's history page: the same words, without the percentage and ids the record also keeps.
    history = shown(entry("grade", "update", score(15, score=75), score(18, "late", score=90)))
    assert history.changes == (Change("score", "15", "18, late"),)


def test_a_student_no_longer_readable_keeps_their_number():
    gone = in_class(entry("grade", "update", score(1), score(2)), {})
    assert gone.what == "student 7, no longer in the class"


def test_a_grade_recorded_before_the_gradebook_reads_as_before():
    old = {"student_id": 7, "class_id": 2, "title": "Quiz 1", "type": "Quiz", "score": 85}
    changed = in_class(entry("grade", "update", old, dict(old, score=88)), NAMES)
    assert said(changed) == "Changed grade “Quiz 1” of Nick Carter | score: 85 → 88"
    made = in_class(entry("grade", "create", None, old), NAMES)
    assert (
        said(made) == "Added grade “Quiz 1” of Nick Carter | title: None → Quiz 1; type: None → Quiz; score: None → 85"
    )


def test_an_assignment_added_changed_and_deleted():
    quiz = {"id": 4, "class_id": 2, "title": "Quiz 3", "category": "Quiz", "max_points": 20, "due": None}
    added = in_class(entry("assignment", "create", None, quiz, id=4), NAMES)
    assert said(added) == "Added assignment Quiz 3 (20 points) | category: None → Quiz"
    assert added.href == "/classes/2/assignments/4"
    renamed = dict(quiz, title="Quiz 4", max_points=25.5, due="2025-03-01")
    changed = in_class(entry("assignment", "update", quiz, renamed, id=4), NAMES)
    assert said(changed) == (
        "Changed assignment Quiz 4 | title: Quiz 3 → Quiz 4; points possible: 20 → 25.5; due: — → 2025-03-01"
    )
    deleted = in_class(entry("assignment", "delete", dict(quiz, max_points=1), None, id=4), NAMES)
    assert said(deleted) == "Deleted assignment Quiz 3 (1 point) | " and deleted.href == ""


def test_weights_and_letters():
    weights = [{"name": "Quiz", "weight": 40}, {"name": "Homework", "weight": 60.0}]
    changed = in_class(entry("class", "update", {"categories": None}, {"categories": weights}, id=2), NAMES)
    assert said(changed) == "Changed the weights | weights: the defaults → Quiz 40 %, Homework 60 %"
    scale = [{"letter": "A", "min": 90}, {"letter": "F", "min": 0}]
    letters = in_class(
        entry("class", "update", {"scale": scale}, {"scale": [dict(scale[0], min=85), scale[1]]}, id=2), NAMES
    )
    assert said(letters) == "Changed the letters | letters: A from 90 %, F from 0 % → A from 85 %, F from 0 %"
    renamed = in_class(entry("class", "update", {"name": "7B"}, {"name": "7C"}, id=2), NAMES)
    assert said(renamed) == "Changed the class | name: 7B → 7C"
