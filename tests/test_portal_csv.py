"""The portal's grades CSV (portal/grades_csv.py): formula escaping, and export read back by import."""

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.grades_csv import CsvProblem, escape_cell, export_chunks, prepare_import, unescape_cell


@given(st.text())
def test_unescape_undoes_escape(text):
    assert unescape_cell(escape_cell(text)) == text


@given(st.text())
def test_an_escaped_cell_never_starts_a_formula(text):
    assert not escape_cell(text).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_what_is_escaped():
    assert escape_cell("=1+1") == "'=1+1"
    assert escape_cell("-3") == "'-3" and escape_cell("@x") == "'@x" and escape_cell("+x") == "'+x"
    assert escape_cell("'=x") == "''=x"  # kept exactly through the round trip
    assert escape_cell("'quoted") == "'quoted" and escape_cell("a=b") == "a=b" and escape_cell("") == ""
    assert unescape_cell("'quoted") == "'quoted"  # an apostrophe before anything else stays


texts = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)


@given(
    st.lists(
        st.tuples(
            st.integers(1, 10**6),
            texts,
            st.sampled_from(["Quiz", "Test", "Exam", "Homework"]),
            st.floats(0, 100),
            texts,
            texts,
        ),
        min_size=1,
        max_size=20,
    )
)
def test_an_export_prepares_into_the_same_grades(rows):
    students = [
        {
            "id": sid,
            "first_name": first,
            "last_name": last,
            "grades": [{"id": n, "title": title, "type": kind, "score": score}],
        }
        for n, (sid, title, kind, score, first, last) in enumerate(rows)
    ]
    exported = b"".join(export_chunks([students[:5], students[5:]]))
    prepared = prepare_import(exported)
    read = list(csv.reader(io.StringIO(prepared.text, newline="")))
    assert read[0] == ["student_id", "title", "type", "score"]
    assert [(int(r[0]), r[1], r[2], float(r[3])) for r in read[1:]] == [
        (sid, title.strip(), kind, score) for sid, title, kind, score, _, _ in rows
    ]
    assert prepared.grades == len(rows) and prepared.students == len({r[0] for r in rows})
    assert prepared.text.count("\n") == len(rows) + 1  # one line a grade: grading's line numbers are ours


def test_the_lines_of_the_uploaded_file_are_kept():
    content = b'student_id,title,type,score\r\n\r\n1,"a, b",Quiz,5\r\n\r\n\r\n2,c,Test,6\r\n'
    prepared = prepare_import(content)
    assert prepared.lines == [1, 3, 6]
    assert prepared.file_line(3) == 6 and prepared.file_line(1) == 1
    assert prepared.file_line(9) is None and prepared.file_line("3") is None and prepared.file_line(True) is None


def test_a_quoted_field_over_two_lines_is_named_by_its_first_line():
    with pytest.raises(CsvProblem) as problem:
        prepare_import(b'student_id,title,type,score\n1,ok,Quiz,5\n2,"one\ntwo",Quiz,5\n')
    assert (problem.value.line, problem.value.field) == (3, "title")
    assert str(problem.value) == "Line 3, title: must not contain a line break."


def test_unclosed_quote_is_refused_with_its_line():
    with pytest.raises(CsvProblem) as problem:
        prepare_import(b'student_id,title,type,score\n1,"open,Quiz,5\n')
    assert "is not valid CSV" in str(problem.value)
