"""Classes and rosters in ``Grades.*`` on both stores: classes, enrolment, archiving, where a new grade goes,
what a teacher's reads and one class's reads hold, renaming students, and request ids per user."""

from __future__ import annotations

import pytest
from helpers.grading_store import add_user

from rpc_cluster import Client, Forbidden, InvalidParams, NotFound, RpcError
from rpc_cluster.client.acting import acting_as
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"
CSV = "student_id,title,type,score\n"
# The fresh store's class of the five sample students (ids 1-5).
SAMPLE = 1


@pytest.fixture
def grading(store_url):
    with GradingService(port=0, registry=NOWHERE, db=store_url) as service:
        for name, role in (("ann", "admin"), ("tia", "teacher"), ("tom", "teacher")):
            add_user(store_url, name, role)
        yield Client(service.url).Grades


def refusal(call, *args, **kwargs) -> tuple[int, object]:
    """(code, data) of the error the call raises."""
    with pytest.raises(RpcError) as info:
        call(*args, **kwargs)
    return info.value.code, info.value.data


def test_classes_are_added_renamed_handed_over_and_listed_by_name(grading):
    made = grading.add_class("maths 5B", "tia")
    assert made == {"id": made["id"], "name": "maths 5B", "teacher": "tia"}
    art = grading.add_class("  Art  ", None)
    assert art["name"] == "Art" and art["teacher"] is None
    assert refusal(grading.add_class, "Ghosts", "nobody") == (
        -32602,
        {"field": "teacher", "problem": "names no user ('nobody')"},
    )
    assert refusal(grading.add_class, "", "tia")[1]["field"] == "name"
    assert refusal(grading.add_class, "Bad", "Not A Name")[1]["field"] == "teacher"
    listed = grading.list_classes()
    assert [(c["name"], c["teacher"], c["students"]) for c in listed] == [
        ("Art", None, 0),
        ("maths 5B", "tia", 0),  # by name, ignoring case
        ("Sample class", None, 5),
    ]
    assert grading.update_class(made["id"], name="Maths 5B") == dict(made, name="Maths 5B")
    assert grading.update_class(made["id"], teacher="tom")["teacher"] == "tom"
    assert grading.update_class(made["id"], teacher="")["teacher"] is None  # no teacher now
    assert refusal(grading.update_class, 999, name="X") == (404, {"class_id": 999})
    with acting_as("tia"):
        assert grading.list_classes() == []  # the class went to tom, then to nobody


def test_a_teacher_adds_students_to_their_class(grading):
    with acting_as("tia"):
        assert refusal(grading.add_student, "No", "Class") == (403, {"class_id": None})  # teaches none
    first = grading.add_class("First", "tia")["id"]
    with acting_as("tia"):
        ada = grading.add_student("Ada", "Lovelace")  # the one class tia teaches
        assert [s["id"] for s in grading.list_students(class_id=first)["students"]] == [ada["id"]]
    second = grading.add_class("Second", "tia")["id"]
    with acting_as("tia"):
        assert refusal(grading.add_student, "Which", "One")[1]["field"] == "class_id"
        bob = grading.add_student("Bob", "Byron", class_id=second)
        assert [s["id"] for s in grading.list_students(class_id=second)["students"]] == [bob["id"]]
        assert grading.count_students() == 2
    # The service adds a student to no class, or to the one it names.
    loner = grading.add_student("Lone", "Wolf")
    assert loner["id"] not in [s["id"] for s in grading.list_students(class_id=first)["students"]]
    assert refusal(grading.add_student, "X", "Y", class_id=999) == (404, {"class_id": 999})


def test_a_grade_goes_to_the_students_one_class_or_the_class_named(grading):
    other = grading.add_class("Other", "tom")["id"]
    assert grading.add_grade(1, "Lab", "Quiz", 80)["class_id"] == SAMPLE  # Nick is in one class
    assert grading.enroll(other, 1) is True
    assert refusal(grading.add_grade, 1, "Lab", "Quiz", 80)[1]["field"] == "class_id"  # in two: name one
    assert grading.add_grade(1, "Lab", "Quiz", 80, class_id=other)["class_id"] == other
    assert refusal(grading.add_grade, 2, "Lab", "Quiz", 80, class_id=other)[1]["field"] == "student_id"
    loner = grading.add_student("Lone", "Wolf")["id"]
    assert grading.add_grade(loner, "Lab", "Quiz", 80)["class_id"] is None  # in no class: the service's only
    with acting_as("tom"):
        assert grading.add_grade(1, "Lab", "Quiz", 80)["class_id"] == other  # tom's one class of Nick's two
        assert refusal(grading.add_grade, 2, "Lab", "Quiz", 80) == (403, {"student_id": 2})
    grading.archive(other, 1)
    with acting_as("tom"):
        # Archived: tom still sees Nick and his grades, and may give a late grade naming the class.
        assert refusal(grading.add_grade, 1, "Late", "Quiz", 80) == (403, {"student_id": 1})
        assert grading.add_grade(1, "Late", "Quiz", 80, class_id=other)["class_id"] == other
    assert grading.add_grade(1, "Again one", "Quiz", 80)["class_id"] == SAMPLE  # the active class only


def test_an_import_places_each_row_by_the_same_rule(grading):
    other = grading.add_class("Other", "tom")["id"]
    grading.enroll(other, 1)
    error = refusal(grading.import_grades, CSV + "2,A,Quiz,50\n1,B,Quiz,50\n")
    assert error[0] == -32602 and (error[1]["line"], error[1]["field"]) == (3, "class_id")
    assert grading.import_grades(CSV + "1,Into other,Quiz,50\n", class_id=other) == {"imported": 1}
    error = refusal(grading.import_grades, CSV + "1,A,Quiz,50\n2,B,Quiz,50\n", class_id=other)
    assert (error[1]["line"], error[1]["field"]) == (3, "student_id")
    with acting_as("tom"):
        assert grading.import_grades(CSV + "1,By tom,Quiz,60\n") == {"imported": 1}
        nick = grading.get_student(1)
    assert [(g["title"], g["class_id"]) for g in nick["grades"]] == [("Into other", other), ("By tom", other)]
    assert nick["average"] == pytest.approx(55)


def test_a_teacher_sees_only_their_classes_grades_of_a_student_in_two(grading):
    tias, toms = grading.add_class("Tia's", "tia")["id"], grading.add_class("Tom's", "tom")["id"]
    ada = grading.add_student("Ada", "Both", class_id=tias)["id"]
    grading.enroll(toms, ada)
    grading.add_grade(ada, "Tia quiz", "Quiz", 90, class_id=tias)
    grading.add_grade(ada, "Tom quiz", "Quiz", 50, class_id=toms)
    with acting_as("tia"):
        seen = grading.get_student(ada)
        assert [g["title"] for g in seen["grades"]] == ["Tia quiz"] and seen["average"] == 90.0
        assert grading.get_students()[0]["average"] == 90.0
        assert grading.list_students()["students"][0]["average"] == 90.0
        assert grading.statistics()["grades"] == 1
    with acting_as("ann"):
        assert grading.get_student(ada)["average"] == 70.0  # an admin sees both


def test_one_classs_reads_hold_its_active_roster_and_its_grades(grading):
    extra = grading.add_class("Extra", "tia")["id"]
    grading.enroll(extra, 1)
    grading.enroll(extra, 2)
    grading.add_grade(1, "Extra", "Quiz", 40, class_id=extra)
    listing = grading.list_students(class_id=extra, sort="average")
    assert [(s["id"], s["average"], s["grade_count"]) for s in listing["students"]] == [(1, 40.0, 1), (2, None, 0)]
    assert grading.statistics(class_id=extra) == {
        "students": 2,
        "grades": 1,
        "mean": 40.0,
        "median": 40.0,
        "histogram": [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
    }
    assert grading.list_students(class_id=extra, query="baggio")["total"] == 1
    grading.archive(extra, 2)
    assert [s["id"] for s in grading.list_students(class_id=extra)["students"]] == [1]
    assert grading.list_classes()[0] == {"id": extra, "name": "Extra", "teacher": "tia", "students": 1}
    with acting_as("tia"):
        assert grading.get_student(2)["id"] == 2  # archived, still theirs to see
        assert grading.count_students() == 2


def test_enrolling_is_idempotent_restores_an_archive_and_unenrolling_keeps_the_grades(grading):
    tias = grading.add_class("Tia's", "tia")["id"]
    grading.enroll(tias, 3)
    grading.enroll(tias, 3)  # again: nothing changes
    stored = grading.add_grade(3, "In Tia's", "Test", 88, class_id=tias)
    grading.archive(tias, 3)
    grading.enroll(tias, 3)  # restores
    assert 3 in [s["id"] for s in grading.list_students(class_id=tias)["students"]]
    assert refusal(grading.archive, tias, 4) == (404, {"student_id": 4})  # not in the class
    assert refusal(grading.archive, tias, 3, "yes")[1]["field"] == "archived"
    with acting_as("tia"):
        assert grading.unenroll(tias, 3) is True
        assert grading.unenroll(tias, 3) is True  # not in it: still true
        assert refusal(grading.get_student, 3) == (403, {"student_id": 3})
        assert refusal(grading.update_grade, stored["id"], score=1) == (403, {"grade_id": stored["id"]})
    assert stored in grading.get_student(3)["grades"]  # the service (and admins) still see it
    grading.enroll(tias, 3)
    with acting_as("tia"):
        assert grading.get_student(3)["grades"] == [stored]  # shown again


def test_a_class_lists_its_archived_students_apart_from_its_roster(grading):
    tias = grading.add_class("Tia's", "tia")["id"]
    for sid in (1, 2, 3):
        grading.enroll(tias, sid)
    grading.archive(tias, 2)

    def listed(**kwargs):
        return [s["id"] for s in grading.list_students(class_id=tias, **kwargs)["students"]]

    with acting_as("tia"):
        assert listed() == [1, 3]
        assert listed(archived=True) == [2]
        grading.archive(tias, 2, False)
        assert listed(archived=True) == [] and sorted(listed()) == [1, 2, 3]
    with acting_as("tom"):
        assert refusal(grading.list_students, class_id=tias, archived=True) == (403, {"class_id": tias})
    assert refusal(grading.list_students, archived=True)[1]["field"] == "archived"  # archived in which class?
    assert refusal(grading.list_students, class_id=tias, archived="yes")[1]["field"] == "archived"


def test_a_teacher_enrols_only_their_own_students_in_their_classes(grading):
    tias, other = grading.add_class("Tia's", "tia")["id"], grading.add_class("Tia's too", "tia")["id"]
    ada = grading.add_student("Ada", "A", class_id=tias)["id"]
    with acting_as("tia"):
        assert grading.enroll(other, ada) is True  # a student of theirs into another class of theirs
        assert refusal(grading.enroll, other, 1) == (403, {"student_id": 1})  # a sample student: not theirs
    assert [s["id"] for s in grading.list_students(class_id=other)["students"]] == [ada]


def test_renaming_a_student_is_searched_by_the_new_name(grading):
    renamed = grading.update_student(1, first_name="  Nicola ")
    assert (renamed["first_name"], renamed["last_name"], len(renamed["grades"])) == ("Nicola", "Carter", 3)
    assert grading.list_students(query="nicola")["total"] == 1
    assert grading.update_student(1, last_name="CARTER")["last_name"] == "CARTER"  # case only: still found
    assert grading.list_students(query="carter")["total"] == 1
    assert grading.update_student(1) == grading.get_student(1)  # nothing given: nothing changes
    assert refusal(grading.update_student, 1, first_name="")[1]["field"] == "first_name"
    assert refusal(grading.update_student, 999, first_name="X") == (404, {"student_id": 999})


def test_request_ids_are_each_users_own(grading):
    tias = grading.add_class("Tia's", "tia")["id"]
    toms = grading.add_class("Tom's", "tom")["id"]
    with acting_as("tia"):
        first = grading.add_student("Ada", "Once", request_id="form-1")
        assert grading.add_student("Ada", "Once", request_id="form-1") == first  # a repeat stores nothing
    with acting_as("tom"):
        # tom's form-1 is another request: his own student, never tia's answer.
        other = grading.add_student("Ada", "Once", request_id="form-1")
        assert other["id"] != first["id"]
        assert refusal(grading.add_student, "Bob", "Else", request_id="form-1")[0] == 409
        assert grading.add_grade(other["id"], "Q", "Quiz", 1, request_id="g-1", class_id=toms)["class_id"] == toms
    with acting_as("tia"):
        assert [s["id"] for s in grading.list_students(class_id=tias)["students"]] == [first["id"]]


def test_class_methods_refuse_bad_values_clearly(grading):
    for call, args, field in (
        (grading.enroll, ("1", 1), "class_id"),
        (grading.enroll, (1, 0), "student_id"),
        (grading.list_students, (0, 50, None, "name", True), "class_id"),
        (grading.statistics, (-1,), "class_id"),
        (grading.history, ("teacher", 1), "entity"),
        (grading.history, ("grade", "1"), "id"),
        (grading.changes, (1, 501), "limit"),
        (grading.changes, (1, 0), "limit"),
        (grading.add_class, ("x" * 101, None), "name"),
    ):
        with pytest.raises(InvalidParams) as info:
            call(*args)
        assert info.value.data["field"] == field, (call, args)
    with acting_as("tia"), pytest.raises(Forbidden):
        grading.add_class("Mine", "tia")
    with pytest.raises(NotFound):
        grading.changes(999)
