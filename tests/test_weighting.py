"""The weighted average and the letter, by hand-computed values (``gradebook.weighting``)."""

from __future__ import annotations

import pytest

from rpc_cluster import InvalidParams
from rpc_cluster.grading.gradebook import weighting
from rpc_cluster.grading.gradebook.weighting import Score

SCALE = list(weighting.DEFAULT_SCALE)
EQUAL = {c["name"]: c["weight"] for c in weighting.DEFAULT_CATEGORIES}


def test_the_worked_example_of_the_docs():
    # Quiz 40 %, Homework 60 %. Quizzes 8/10 and 15/20; homework 45/50, one excused, one missing of 10.
    scores = [
        Score("Quiz", 10, 8, None),
        Score("Quiz", 20, 15, None),
        Score("Homework", 50, 45, None),
        Score("Homework", 30, 29, "excused"),
        Score("Homework", 10, None, "missing"),
    ]
    average = weighting.average(scores, {"Quiz": 40, "Homework": 60})
    assert average == pytest.approx(0.4 * (23 / 30 * 100) + 0.6 * (45 / 60 * 100))
    assert average == pytest.approx(75.6667, abs=1e-4)
    assert weighting.letter(average, SCALE) == "C"


def test_points_are_summed_within_a_category_not_averaged_by_assignment():
    # 10/10 and 0/90: 10 of 100 points (10 %), not the mean of 100 % and 0 % (50 %).
    assert weighting.average([Score("Test", 10, 10, None), Score("Test", 90, 0, None)], EQUAL) == pytest.approx(10)


def test_weights_are_renormalised_over_the_categories_that_have_counted_scores():
    # Only Homework (25 of the four equal weights) has a score: the average is its percentage.
    assert weighting.average([Score("Homework", 20, 17, None)], EQUAL) == pytest.approx(85)
    # Quiz 50 % and Exam 90 %, Test and Homework empty: (25 x 50 + 25 x 90) / 50.
    two = [Score("Quiz", 100, 50, None), Score("Exam", 100, 90, None)]
    assert weighting.average(two, EQUAL) == pytest.approx(70)


def test_no_average_without_a_counted_score():
    assert weighting.average([], EQUAL) is None  # a class with no scores yet
    all_excused = [Score("Quiz", 10, 9, "excused"), Score("Test", 10, None, "excused")]
    assert weighting.average(all_excused, EQUAL) is None
    assert weighting.average([Score("Quiz", 10, None, None)], EQUAL) is None  # a comment alone
    assert weighting.letter(None, SCALE) is None


def test_missing_counts_as_zero_until_points_are_entered_and_late_counts_as_scored():
    assert weighting.average([Score("Quiz", 10, None, "missing"), Score("Quiz", 10, 10, None)], EQUAL) == 50
    assert weighting.average([Score("Quiz", 10, 7, "missing")], EQUAL) == pytest.approx(70)
    assert weighting.average([Score("Quiz", 10, 6, "late")], EQUAL) == pytest.approx(60)


def test_a_category_without_weight_counts_for_nothing():
    scores = [Score("Quiz", 10, 10, None), Score("Extra", 10, 0, None)]
    assert weighting.average(scores, {"Quiz": 100, "Extra": 0}) == 100
    assert weighting.average([Score("Extra", 10, 0, None)], {"Quiz": 100, "Extra": 0}) is None


@pytest.mark.parametrize(
    "average, letter", [(100, "A"), (90, "A"), (89.999, "B"), (80, "B"), (70, "C"), (60, "D"), (59.99, "F"), (0, "F")]
)
def test_the_letter_is_the_first_whose_minimum_the_unrounded_average_reaches(average, letter):
    assert weighting.letter(average, SCALE) == letter


def test_the_percentage_of_a_100_point_assignment_is_its_points_exactly():
    assert weighting.percent(87.3, None, 100) == 87.3
    assert weighting.percent(7, None, 20) == pytest.approx(35)
    assert weighting.percent(None, "missing", 20) == 0
    assert weighting.percent(9, "excused", 10) is None
    assert weighting.percent(None, None, 10) is None


def test_categories_must_add_up_to_100_and_say_so():
    with pytest.raises(InvalidParams) as info:
        weighting.categories([{"name": "Quiz", "weight": 40}, {"name": "Test", "weight": 50}])
    assert info.value.data["field"] == "weight" and "add up to 90" in info.value.data["problem"]
    checked = weighting.categories([{"name": " Labs ", "weight": 33.334}, {"name": "Exams", "weight": 66.666}])
    assert checked == [{"name": "Labs", "weight": 33.334}, {"name": "Exams", "weight": 66.666}]


@pytest.mark.parametrize(
    "categories, field",
    [
        ([], "categories"),
        ("Quiz", "categories"),
        ([{"name": "Quiz"}], "categories"),
        ([{"name": "Quiz", "weight": 50}, {"name": "quiz", "weight": 50}], "name"),
        ([{"name": "", "weight": 100}], "name"),
        ([{"name": "Quiz", "weight": 101}], "weight"),
        ([{"name": "Quiz", "weight": True}], "weight"),
        ([{"name": "Quiz", "weight": float("nan")}], "weight"),
        ([{"name": "Quiz", "weight": 100, "colour": "red"}], "categories"),
    ],
)
def test_bad_categories_name_their_field(categories, field):
    with pytest.raises(InvalidParams) as info:
        weighting.categories(categories)
    assert info.value.data["field"] == field


def test_a_scale_is_sorted_highest_first_and_must_give_every_average_a_letter():
    assert weighting.scale([{"letter": "F", "min": 0}, {"letter": "P", "min": 50}]) == [
        {"letter": "P", "min": 50.0},
        {"letter": "F", "min": 0.0},
    ]
    for bad, field in (
        ([{"letter": "A", "min": 50}], "min"),  # nothing from 0
        ([{"letter": "A", "min": 0}, {"letter": "a", "min": 10}], "letter"),
        ([{"letter": "A", "min": 0}, {"letter": "B", "min": 0}], "min"),
        ([{"letter": "TOOLONG", "min": 0}], "letter"),
        ([{"letter": "A", "min": -1}], "min"),
    ):
        with pytest.raises(InvalidParams) as info:
            weighting.scale(bad)
        assert info.value.data["field"] == field
