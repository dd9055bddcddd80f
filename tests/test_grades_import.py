"""Grades.import_grades on both stores: all rows or none, errors that name the line, exactly once."""

import pytest

from rpc_cluster import Client, InvalidParams, RpcError
from rpc_cluster.grading.csv_import import MAX_ROWS
from rpc_cluster.grading.service import GradingService

NOWHERE = "http://127.0.0.1:9/rpc"
HEADER = "student_id,title,type,score\n"


@pytest.fixture
def grading(store_url):
    with GradingService(port=0, registry=NOWHERE, db=store_url) as service:
        yield Client(service.url)


def everything(grading) -> list[dict]:
    return grading.Grades.get_students()


def test_an_import_stores_every_row_and_updates_the_totals(grading):
    text = (
        "\ufeff student_id , title,type, score \r\n"  # a byte order mark, spaces around names
        "1,Lab 1,Homework,90\r\n"
        "\r\n"  # a blank line is skipped
        '3,"Essay, part 2",Test, 70.5 \r\n'  # quoted comma, spaces around a value
        "3,Final,Exam,1e2\r\n"
    )
    assert grading.Grades.import_grades(text) == {"imported": 3}
    nick, emma = grading.Grades.get_student(1), grading.Grades.get_student(3)
    assert [(g["title"], g["type"], g["score"]) for g in nick["grades"][3:]] == [("Lab 1", "Homework", 90.0)]
    assert [(g["title"], g["type"], g["score"]) for g in emma["grades"][3:]] == [
        ("Essay, part 2", "Test", 70.5),
        ("Final", "Exam", 100.0),
    ]
    assert all(isinstance(g["id"], int) for g in emma["grades"])
    assert emma["average"] == pytest.approx((67 + 0 + 75 + 70.5 + 100) / 5)
    row = grading.Grades.list_students(query="stone")["students"][0]
    assert (row["grade_count"], row["average"]) == (5, emma["average"])
    assert grading.Grades.statistics()["grades"] == 18


def test_a_header_alone_imports_nothing(grading):
    assert grading.Grades.import_grades(HEADER) == {"imported": 0}
    assert grading.Grades.import_grades("student_id,title,type,score") == {"imported": 0}


BAD_LINE_5 = HEADER + "1,A,Quiz,10\n2,B,Test,20\n3,C,Exam,30\n4,D,Homework,150\n5,E,Quiz,50\n"


@pytest.mark.parametrize(
    "text, line, field",
    [
        (BAD_LINE_5, 5, "score"),
        (HEADER + "1,A,Quiz,10\n1,B,Quiz,nan\n", 3, "score"),
        (HEADER + "1,A,Quiz,inf\n", 2, "score"),
        (HEADER + "1,A,Quiz,\n", 2, "score"),
        (HEADER + "1,A,Quiz,ninety\n", 2, "score"),
        (HEADER + "1,A,Quiz,-1\n", 2, "score"),
        (HEADER + "1,A,Essay,10\n", 2, "type"),
        (HEADER + "1,A,quiz,10\n", 2, "type"),
        (HEADER + "1,,Quiz,10\n", 2, "title"),
        (HEADER + "1," + "x" * 201 + ",Quiz,10\n", 2, "title"),
        (HEADER + '1,"two\nlines",Quiz,10\n', 2, "title"),
        (HEADER + "one,A,Quiz,10\n", 2, "student_id"),
        (HEADER + "1.0,A,Quiz,10\n", 2, "student_id"),
        (HEADER + "0,A,Quiz,10\n", 2, "student_id"),
        (HEADER + "-3,A,Quiz,10\n", 2, "student_id"),
        (HEADER + "9" * 30 + ",A,Quiz,10\n", 2, "student_id"),
        (HEADER + "1,A,Quiz,10\n\n\n999,B,Quiz,10\n", 5, "student_id"),  # unknown student; blank lines count
        (HEADER + "1,A,Quiz\n", 2, "score"),  # a missing column names it
        (HEADER + "1,A\n", 2, "type"),
        (HEADER + "1,A,Quiz,10,extra\n", 2, "row"),  # an extra column
        ("student_id,title,type\n1,A,Quiz\n", 1, "header"),  # a header missing a column
        ("student_id,title,type,score,comment\n1,A,Quiz,10,x\n", 1, "header"),  # a header with one more
        ("title,student_id,type,score\nA,1,Quiz,10\n", 1, "header"),  # the columns in another order
        ("Student_ID,Title,Type,Score\n1,A,Quiz,10\n", 1, "header"),  # names are exact
        ("1,A,Quiz,10\n", 1, "header"),  # no header at all
        ("\n\nstudent_id,title\n", 3, "header"),  # lines count from the first
        (HEADER + '1,"A"B,Quiz,10\n', 2, "csv_text"),  # broken quoting
    ],
)
def test_a_bad_line_stores_nothing_and_names_its_line_and_field(grading, text, line, field):
    before = everything(grading)
    with pytest.raises(InvalidParams) as info:
        grading.Grades.import_grades(text)
    assert info.value.code == -32602
    assert (info.value.data["line"], info.value.data["field"]) == (line, field), info.value.data
    assert info.value.data["problem"] and f"line {line}" in info.value.message
    assert everything(grading) == before


@pytest.mark.parametrize("text", ["", "   ", "\n\r\n", "\ufeff"])
def test_an_empty_csv_is_invalid_params(grading, text):
    with pytest.raises(InvalidParams) as info:
        grading.Grades.import_grades(text)
    assert info.value.data["field"] == "csv_text" and "header" in info.value.data["problem"]


@pytest.mark.parametrize("value", [None, 5, True, ["student_id,title,type,score"], {"csv": "x"}])
def test_csv_text_must_be_text(grading, value):
    with pytest.raises(InvalidParams) as info:
        grading.Grades.import_grades(value)
    assert info.value.data["field"] == "csv_text"


def test_the_row_limit_fits_and_one_more_row_is_refused(grading):
    rows = "".join(f"{1 + n % 5},R{n},Quiz,{n % 101}\n" for n in range(MAX_ROWS))
    with pytest.raises(InvalidParams) as info:
        grading.Grades.import_grades(HEADER + rows + "1,Over,Quiz,1\n")
    assert info.value.data["field"] == "csv_text" and info.value.data["line"] == MAX_ROWS + 2
    assert f"{MAX_ROWS:,}" in info.value.data["problem"]
    assert grading.Grades.statistics()["grades"] == 15  # nothing stored
    # 50,000 titles are 50,000 new assignments, each with its audit entry: seconds of work, more than the
    # default timeout allows on a loaded machine. The wait is a guard against a hang, not a measure.
    patient = Client(grading.url, timeout=120)
    assert patient.Grades.import_grades(HEADER + rows) == {"imported": MAX_ROWS}
    assert grading.Grades.statistics()["grades"] == 15 + MAX_ROWS


def test_an_import_with_a_request_id_is_stored_once(grading):
    text = HEADER + "2,Once,Quiz,60\n4,Once,Test,80\n"
    first = grading.Grades.import_grades(text, request_id="upload-7f3a")
    assert first == {"imported": 2}
    assert grading.Grades.import_grades(text, "upload-7f3a") == first  # by position too
    assert grading.Grades.statistics()["grades"] == 17
    titles = [g["title"] for g in grading.Grades.get_student(2)["grades"]]
    assert titles.count("Once") == 1
    with pytest.raises(RpcError) as info:  # the same id for another file is a client bug
        grading.Grades.import_grades(HEADER + "2,Other,Quiz,1\n", request_id="upload-7f3a")
    assert info.value.code == 409 and info.value.data["request_id"] == "upload-7f3a"
    assert grading.Grades.statistics()["grades"] == 17


def test_a_refused_import_does_not_use_up_its_request_id(grading):
    with pytest.raises(InvalidParams):
        grading.Grades.import_grades(HEADER + "2,Fixed,Quiz,600\n", request_id="upload-retry")
    with pytest.raises(InvalidParams):
        grading.Grades.import_grades(HEADER + "999,Fixed,Quiz,60\n", request_id="upload-retry")
    assert grading.Grades.import_grades(HEADER + "2,Fixed,Quiz,60\n", request_id="upload-retry") == {"imported": 1}
    assert grading.Grades.import_grades(HEADER + "2,Fixed,Quiz,60\n", request_id="upload-retry") == {"imported": 1}
    assert [g["title"] for g in grading.Grades.get_student(2)["grades"]].count("Fixed") == 1


@pytest.mark.parametrize("bad", ["", "x" * 65, "with space", 7])
def test_a_malformed_request_id_is_refused_before_reading_the_file(grading, bad):
    with pytest.raises(InvalidParams) as info:
        grading.Grades.import_grades(HEADER + "2,A,Quiz,60\n", request_id=bad)
    assert info.value.data["field"] == "request_id"
    assert grading.Grades.statistics()["grades"] == 15


def test_an_import_through_one_instance_is_repeated_through_another_once(postgres_url):
    with (
        GradingService(port=0, registry=NOWHERE, db=postgres_url) as first,
        GradingService(port=0, registry=NOWHERE, db=postgres_url) as second,
    ):
        text = HEADER + "".join(f"{1 + n % 5},Shared {n},Homework,{n}\n" for n in range(100))
        assert Client(first.url).Grades.import_grades(text, request_id="shared-1") == {"imported": 100}
        assert Client(second.url).Grades.import_grades(text, request_id="shared-1") == {"imported": 100}
        assert Client(second.url).Grades.statistics()["grades"] == 115
