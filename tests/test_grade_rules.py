"""The grading service's validation in one table: each bad field of each call, on both stores.

Every row is refused with InvalidParams (-32602) whose ``data`` names the field, and nothing is
stored. The other layers keep only what is their own: the portal's forms
(``helpers/grade_forms.py``), a CSV import's rows, ``update_grade`` (tests/test_grades_edit.py),
and the pinned answers on the wire (tests/test_wire_unchanged.py).
"""

import pytest

from rpc_cluster import Client, InvalidParams
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"


def _grade(**bad: object) -> dict[str, object]:
    """A valid add_grade call but for the ``bad`` arguments."""
    return {"student_id": 1, "title": "Q", "type": "Quiz", "score": 90, **bad}


@pytest.fixture
def grading(store_url):
    with GradingService(port=0, registry=NOWHERE, db=store_url) as service:
        yield Client(service.url)


@pytest.mark.parametrize(
    "method, kwargs, field",
    [
        ("add_grade", _grade(score=150), "score"),
        ("add_grade", _grade(score=-1), "score"),
        ("add_grade", _grade(score="90"), "score"),
        ("add_grade", _grade(score=True), "score"),
        ("add_grade", _grade(score=10**400), "score"),  # not an overflow
        ("add_grade", _grade(title=""), "title"),
        ("add_grade", _grade(title="   "), "title"),
        ("add_grade", _grade(title="x" * 201), "title"),
        ("add_grade", _grade(title="a\nb"), "title"),
        ("add_grade", _grade(type="quiz"), "type"),
        ("add_grade", _grade(type="Essay"), "type"),
        ("add_grade", _grade(student_id="1"), "student_id"),
        ("add_grade", _grade(student_id=0), "student_id"),
        ("add_grade", _grade(request_id=""), "request_id"),
        ("add_grade", _grade(request_id="x" * 65), "request_id"),
        ("add_grade", _grade(request_id="has space"), "request_id"),
        ("add_grade", _grade(request_id="ü"), "request_id"),
        ("add_grade", _grade(request_id=12), "request_id"),
        ("add_grade", _grade(request_id=["a"]), "request_id"),
        ("get_student", {"student_id": 1.5}, "student_id"),
        ("get_student", {"student_id": 2**70}, "student_id"),
        ("get_students", {"offset": -1}, "offset"),
        ("get_students", {"limit": 0}, "limit"),
        ("get_students", {"limit": 1001}, "limit"),
        ("add_student", {"first_name": "", "last_name": "X"}, "first_name"),
        ("add_student", {"first_name": "A", "last_name": 5}, "last_name"),
    ],
)
def test_validation_errors_name_the_field_and_store_nothing(grading, method, kwargs, field):
    before = grading.Grades.get_students()
    with pytest.raises(InvalidParams) as info:
        grading.call(f"Grades.{method}", **kwargs)
    assert info.value.code == -32602
    assert info.value.data["field"] == field and info.value.data["problem"]
    assert grading.Grades.get_students() == before
