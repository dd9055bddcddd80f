"""grading/gradebook/grid_csv.py: a gradebook CSV read into cells, every error found at once."""

from __future__ import annotations

import csv
import io

import pytest

from portal.grades_csv import escape_cell
from rpc_cluster.grading.gradebook.grid_csv import Cell, CellError, GridRow, Parsed, format_cell, parse

HEADERS = (
    "the first line must be the grid's header (student_id,first_name,last_name, then one column per "
    "assignment) or student_id,title,type,score"
)
NOT_A_CELL = 'must be points (85), a mark (missing, excused or late), or points and a mark ("85 late")'


def points(value: float, mark: str | None = None) -> Cell:
    return Cell(value, mark, False)


def mark(value: str) -> Cell:
    return Cell(None, value, False)


def test_the_grid_reads_points_marks_and_both():
    parsed = parse(
        "student_id,first_name,last_name,Quiz 1,Essay,Final Exam,average,letter\n"
        "7, Ann , Lee ,85,12.5 excused,missing,91.5,A\n"
        "12,Bo,Chen,0 missing,LATE,,40,F\n"
        ",Cy,New,,  85   late ,100,,\n"
    )
    assert parsed == Parsed(
        "grid",
        ["Quiz 1", "Essay", "Final Exam"],
        [
            GridRow(
                2,
                7,
                "Ann",
                "Lee",
                {"quiz 1": points(85), "essay": points(12.5, "excused"), "final exam": mark("missing")},
            ),
            GridRow(3, 12, "Bo", "Chen", {"quiz 1": points(0, "missing"), "essay": mark("late")}),
            GridRow(4, None, "Cy", "New", {"essay": points(85, "late"), "final exam": points(100)}),
        ],
        {},
        [],
    )


def test_the_grid_header_is_read_case_insensitively_with_average_and_letter_anywhere_after_the_names():
    parsed = parse(" Student_ID ,FIRST_NAME,Last_Name,Letter,Quiz 1,AVERAGE,Homework\n7,Ann,Lee,B,85,84,missing\n")
    assert parsed.titles == ["Quiz 1", "Homework"]
    assert parsed.rows == [GridRow(2, 7, "Ann", "Lee", {"quiz 1": points(85), "homework": mark("missing")})]
    assert parsed.errors == []


def test_a_grid_without_average_and_letter_or_without_assignments_is_read():
    assert parse("student_id,first_name,last_name\n7,Ann,Lee\n") == Parsed(
        "grid", [], [GridRow(2, 7, "Ann", "Lee", {})], {}, []
    )


def test_numbers_take_the_forms_a_spreadsheet_writes():
    parsed = parse("student_id,first_name,last_name,a,b,c,d,e\n7,Ann,Lee,.5,7.,1e2,+3,250\n")
    assert parsed.rows[0].cells == {
        "a": points(0.5),
        "b": points(7),
        "c": points(100),
        "d": points(3),
        "e": points(250),
    }
    assert parsed.errors == []


def test_a_byte_order_mark_and_crlf_read_as_plain_lf():
    plain = "student_id,first_name,last_name,Quiz 1\n7,Ann,Lee,85 late\n,New,Kid,x\n"
    assert parse("\ufeff" + plain.replace("\n", "\r\n")) == parse(plain)
    assert parse(plain).errors == [CellError(3, "Quiz 1", "x", NOT_A_CELL)]


def test_a_quoted_line_break_counts_in_the_line_numbers():
    parsed = parse(
        "student_id,first_name,last_name,Quiz 1\n"
        '7,Ann,Lee,"85\n'  # lines 2-3: one record
        'late"\n'
        '8,"Bo\n'  # lines 4-5: a name with a line break
        'Bob",Chen,90\n'
        "9,Cy,Dee,ninety\n"  # line 6
    )
    assert parsed.rows == [
        GridRow(2, 7, "Ann", "Lee", {"quiz 1": points(85, "late")}),
        GridRow(6, 9, "Cy", "Dee", {}),
    ]
    assert parsed.errors == [
        CellError(4, "first_name", "Bo\nBob", "must not contain control characters"),
        CellError(6, "Quiz 1", "ninety", NOT_A_CELL),
    ]


def test_every_bad_cell_is_reported_at_once_with_its_line_column_and_value():
    parsed = parse(
        "student_id,first_name,last_name,Quiz 1,Quiz 2,Essay\n"
        "1,Ann,Lee,85,-3,missing\n"
        "2,Bo,Chen,eighty,90,\n"
        "3,Cy,Dee,85,90,late 85\n"
        "4,Di,Eve,85 86,90,50\n"
        "5,Ed,Fox,,1e999,50\n"
    )
    assert parsed.errors == [
        CellError(2, "Quiz 2", "-3", "must be at least 0"),
        CellError(3, "Quiz 1", "eighty", NOT_A_CELL),
        CellError(4, "Essay", "late 85", NOT_A_CELL),
        CellError(5, "Quiz 1", "85 86", NOT_A_CELL),
        CellError(6, "Quiz 2", "1e999", "is too large"),
    ]
    # The good cells of those rows are still read; the bad ones are left out.
    assert [row.cells for row in parsed.rows] == [
        {"quiz 1": points(85), "essay": mark("missing")},
        {"quiz 2": points(90)},
        {"quiz 1": points(85), "quiz 2": points(90)},
        {"quiz 2": points(90), "essay": points(50)},
        {"essay": points(50)},
    ]


@pytest.mark.parametrize(
    ("student_id", "problem"),
    [
        ("0", "must be at least 1 (or empty for a new student)"),
        ("abc", "must be a whole number from 1 (or empty for a new student)"),
        ("7.0", "must be a whole number from 1 (or empty for a new student)"),
        ("-7", "must be a whole number from 1 (or empty for a new student)"),
        ("9223372036854775808", "is too large (or empty for a new student)"),
        ("1" * 5000, "must be a whole number from 1 (or empty for a new student)"),
    ],
)
def test_a_bad_student_id_is_an_error_and_its_row_is_left_out(student_id, problem):
    parsed = parse(f"student_id,first_name,last_name,Quiz 1\n{student_id},Ann,Lee,85\n8,Bo,Chen,90\n")
    assert parsed.errors == [CellError(2, "student_id", student_id[:100], problem)]
    assert [row.student_id for row in parsed.rows] == [8]


def test_a_new_student_needs_both_names_and_names_are_checked():
    parsed = parse(
        "student_id,first_name,last_name,Quiz 1\n"
        ",Ann,,85\n"
        ",,,90\n"
        f"7,{'x' * 101},Lee,80\n"
        "8,,,70\n"  # a known student: the names are only shown, and may be left out
    )
    needs = "must not be empty: a new student needs both names"
    assert parsed.errors == [
        CellError(2, "last_name", "", needs),
        CellError(3, "first_name", "", needs),
        CellError(3, "last_name", "", needs),
        CellError(4, "first_name", "x" * 100, "must be at most 100 characters"),
    ]
    assert parsed.rows == [GridRow(5, 8, "", "", {"quiz 1": points(70)})]


def test_a_student_on_two_rows_is_an_error_naming_both_lines():
    parsed = parse("student_id,first_name,last_name,Quiz 1\n7,Ann,Lee,85\n8,Bo,Chen,90\n007,Ann,Lee,80\n")
    assert parsed.errors == [CellError(4, "student_id", "007", "is on line 2 too: a student has one row")]
    assert [(row.line, row.student_id) for row in parsed.rows] == [(2, 7), (3, 8)]


def test_repeated_empty_and_reserved_titles_are_errors_on_line_1():
    parsed = parse(
        "student_id,first_name,last_name,Quiz 1,quiz 1 ,,Essay,ESSAY,First_Name," + "t" * 201 + "\n"
        "7,Ann,Lee,85,86,87,88,89,90,91\n"
    )
    assert parsed.errors == [
        CellError(1, "quiz 1", "quiz 1", "is the title of column D too: titles must differ"),
        CellError(1, "", "", "column F has no title: every assignment's column needs one"),
        CellError(1, "ESSAY", "ESSAY", "is the title of column G too: titles must differ"),
        CellError(1, "First_Name", "First_Name", "is column B already: an assignment needs another title"),
        CellError(1, "t" * 100, "t" * 100, "must be at most 200 characters"),
    ]
    # The first of each title is read; the cells under a bad title are not.
    assert parsed.titles == ["Quiz 1", "Essay"]
    assert parsed.rows == [GridRow(2, 7, "Ann", "Lee", {"quiz 1": points(85), "essay": points(88)})]


def test_a_row_with_more_or_fewer_fields_than_the_header_is_an_error_for_its_line():
    parsed = parse("student_id,first_name,last_name,Quiz 1\n7,Ann,Lee\n8,Bo,Chen,90,91\n9,Cy,Dee,92\n")
    assert parsed.errors == [
        CellError(2, "", "7,Ann,Lee", "has 3 fields where the header has 4"),
        CellError(3, "", "8,Bo,Chen,90,91", "has 5 fields where the header has 4"),
    ]
    assert parsed.rows == [GridRow(4, 9, "Cy", "Dee", {"quiz 1": points(92)})]


def test_blank_lines_are_skipped_and_keep_their_line_numbers():
    parsed = parse("student_id,first_name,last_name,Quiz 1\n\n,,,\n7,Ann,Lee,x\n")
    assert parsed.errors == [CellError(4, "Quiz 1", "x", NOT_A_CELL)]


def test_a_value_in_an_error_is_cut_to_100_characters():
    value = "9" * 60 + " " + "z" * 60
    parsed = parse(f"student_id,first_name,last_name,Quiz 1\n7,Ann,Lee,{value}\n")
    assert parsed.errors == [CellError(2, "Quiz 1", value[:100], NOT_A_CELL)]
    assert len(parsed.errors[0].value) == 100


def test_the_per_grade_csv_becomes_a_row_per_line_so_each_score_keeps_its_line():
    parsed = parse(
        "Student_ID,Title,Type,Score\n"
        "7,Quiz 1,quiz,85\n"
        "8,QUIZ 1,Test,90.5\n"  # the same assignment: its first spelling and type are kept
        "7,Final,EXAM,100\n"
    )
    assert parsed == Parsed(
        "grades",
        ["Quiz 1", "Final"],
        [
            GridRow(2, 7, "", "", {"quiz 1": Cell(85, None, True)}),
            GridRow(3, 8, "", "", {"quiz 1": Cell(90.5, None, True)}),
            GridRow(4, 7, "", "", {"final": Cell(100, None, True)}),
        ],
        {"quiz 1": "Quiz", "final": "Exam"},
        [],
    )


def test_the_per_grade_csv_the_portal_exports_is_read_with_its_name_columns_ignored():
    parsed = parse("\ufeffstudent_id,title,type,score,first_name,last_name\r\n7,'=Quiz,Quiz,85,Ann,Lee\r\n")
    assert parsed.shape == "grades"
    assert parsed.titles == ["=Quiz"]
    assert parsed.rows == [GridRow(2, 7, "", "", {"=quiz": Cell(85, None, True)})]


def test_the_per_grade_csv_reports_every_error_by_line_and_column():
    parsed = parse(
        "student_id,title,type,score\n"
        "7,Quiz 1,Quiz,85\n"
        "x,Quiz 1,Lab,101\n"
        "7,quiz 1,Test,90\n"
        "8,,Quiz,-1\n"
        "9,Quiz 2,Quiz,missing\n"
        "9,Quiz 2,Quiz\n"
    )
    assert parsed.errors == [
        CellError(3, "student_id", "x", "must be a whole number from 1"),
        CellError(3, "type", "Lab", "must be one of Quiz, Test, Exam, Homework"),
        CellError(3, "score", "101", "must be a number from 0 to 100"),
        CellError(4, "title", "quiz 1", "is on line 2 too for this student"),
        CellError(5, "title", "", "must not be empty"),
        CellError(5, "score", "-1", "must be a number from 0 to 100"),
        CellError(6, "score", "missing", "must be a number from 0 to 100"),
        CellError(7, "", "9,Quiz 2,Quiz", "has 3 fields where the header has 4"),
    ]
    assert parsed.rows == [GridRow(2, 7, "", "", {"quiz 1": Cell(85, None, True)})]
    assert parsed.titles == ["Quiz 1"]


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\n", " , ,\r\n"])
def test_an_empty_file_is_one_error_saying_which_headers_are_read(text):
    assert parse(text) == Parsed("grid", errors=[CellError(1, "", "", f"is empty: {HEADERS}")])


@pytest.mark.parametrize(
    "header",
    ["name,score", "student_id,last_name,first_name,Quiz", "student_id,title,type", "student_id,title,type,score,x"],
)
def test_a_header_of_neither_shape_is_one_error_on_line_1(header):
    parsed = parse(f"{header}\n7,a,b,c\n")
    assert parsed == Parsed("grid", errors=[CellError(1, "", header, f"has no header this import reads: {HEADERS}")])


def test_broken_quoting_stops_the_reading_at_the_line_it_opens_on():
    parsed = parse('student_id,first_name,last_name,Quiz 1\n7,Ann,Lee,x\n8,"Bo,Chen,90\n9,Cy,Dee,91\n')
    assert parsed.errors == [
        CellError(2, "Quiz 1", "x", NOT_A_CELL),
        CellError(3, "", "", "is not valid CSV (unexpected end of data): nothing after it was read"),
    ]


def test_at_most_50000_lines_of_scores():
    header = "student_id,first_name,last_name,Quiz 1\n"
    lines = "".join(f"{n},A,B,{n % 100}\n" for n in range(1, 50_001))
    parsed = parse(header + lines)
    assert (len(parsed.rows), parsed.errors) == (50_000, [])
    assert parsed.rows[-1] == GridRow(50_001, 50_000, "A", "B", {"quiz 1": points(0)})
    too_many = "has more than 50,000 lines of scores: split the file into several imports"
    assert parse(header + lines + "50001,A,B,1\n") == Parsed("grid", errors=[CellError(50_002, "", "", too_many)])
    grades = "student_id,title,type,score\n" + "".join(f"{n},Quiz,Quiz,1\n" for n in range(1, 50_002))
    assert parse(grades) == Parsed("grades", errors=[CellError(50_002, "", "", too_many)])


def test_at_most_2000_columns():
    titles = [f"Q{n}" for n in range(1, 1998)]  # with the three names: 2,000
    parsed = parse(",".join(["student_id", "first_name", "last_name", *titles]) + "\n" + "7,A,B" + ",1" * 1997 + "\n")
    assert (len(parsed.titles), len(parsed.rows[0].cells), parsed.errors) == (1997, 1997, [])
    header = ",".join(["student_id", "first_name", "last_name", *titles, "Q1998"])
    parsed = parse(header + "\n7,A,B" + ",1" * 1998 + "\n")
    assert parsed == Parsed("grid", errors=[CellError(1, "", header[:100], "has 2,001 columns: at most 2,000")])


@pytest.mark.parametrize(
    ("points", "mark", "text"),
    [
        (None, None, ""),
        (85, None, "85"),
        (85.0, None, "85"),
        (12.5, None, "12.5"),
        (0.1, None, "0.1"),
        (0, None, "0"),
        (None, "missing", "missing"),
        (None, "excused", "excused"),
        (85.0, "late", "85 late"),
        (0.0, "missing", "0 missing"),
        (12.5, "excused", "12.5 excused"),
        (1e20, None, "100000000000000000000"),
        (1e-07, None, "1e-07"),
    ],
)
def test_format_cell_writes_what_parse_reads_back(points, mark, text):
    assert format_cell(points, mark) == text
    parsed = parse(f"student_id,first_name,last_name,Quiz 1\n7,Ann,Lee,{text}\n")
    expected = {} if points is None and mark is None else {"quiz 1": Cell(points, mark, False)}
    assert (parsed.rows[0].cells, parsed.errors) == (expected, [])


def export(rows: list[list[str]]) -> str:
    """A grid as the portal exports it: escaped cells, CRLF, a byte order mark."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([escape_cell(value) for value in row])
    return "\ufeff" + out.getvalue()


def test_an_exported_grid_with_formula_like_names_and_titles_imports_back_unchanged():
    names = [("=cmd|' /C calc'!A0", "+1"), ("-Lee", "@SUM(A1)"), ("'=x", "''+y"), ("O'Brien", "Ann-Marie")]
    text = export(
        [
            ["student_id", "first_name", "last_name", "=Quiz", "-Essay", "average", "letter"],
            *(
                [str(n), first, last, format_cell(80 + n, None), format_cell(n / 2, "late"), "80", "B"]
                for n, (first, last) in enumerate(names, 1)
            ),
        ]
    )
    assert "'=cmd" in text and ",''=x,'''+y," in text  # the exporter did escape them
    parsed = parse(text)
    assert parsed.errors == []
    assert parsed.titles == ["=Quiz", "-Essay"]
    assert [(row.first_name, row.last_name) for row in parsed.rows] == names
    assert [row.cells for row in parsed.rows] == [
        {"=quiz": points(80 + n), "-essay": points(n / 2, "late")} for n in range(1, 5)
    ]
