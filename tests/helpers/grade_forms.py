"""Grade forms the portal must refuse, and the message its 400 page shows: the add form and the edit form
check the same way (tests/test_portal_routes.py, tests/test_portal_gradebook.py).

A form takes only the scores an import takes: no underscores, no hexadecimal, no digits of
other scripts (Arabic-Indic, full-width), no NaN or infinity."""

INVALID_GRADE_FORMS = [
    ({"title": "Q", "type": "Quiz", "score": "150"}, "Score must be a number from 0 to 100"),
    ({"title": "Q", "type": "Quiz", "score": "abc"}, "Score must be a number from 0 to 100"),
    ({"title": "Q", "type": "Quiz", "score": "nan"}, "Score must be a number from 0 to 100"),
    ({"title": "Q", "type": "Quiz", "score": "inf"}, "Score must be a number from 0 to 100"),
    ({"title": "Q", "type": "Quiz", "score": ""}, "Score must be a number from 0 to 100"),
    ({"title": "Q", "type": "Quiz", "score": "infinity"}, "Score must be a number from 0 to 100"),
    ({"title": "Q", "type": "Quiz", "score": "5_0"}, "Score must be a number from 0 to 100"),
    ({"title": "Q", "type": "Quiz", "score": " 1_0 "}, "Score must be a number from 0 to 100"),
    ({"title": "Q", "type": "Quiz", "score": "0x10"}, "Score must be a number from 0 to 100"),
    ({"title": "Q", "type": "Quiz", "score": "\u0661\u0660"}, "Score must be a number from 0 to 100"),
    ({"title": "Q", "type": "Quiz", "score": "\uff15\uff10"}, "Score must be a number from 0 to 100"),
    ({"title": "", "type": "Quiz", "score": "50"}, "Title must not be empty"),
    ({"title": " ", "type": "Quiz", "score": "50"}, "Title must not be empty"),
    ({"title": "x" * 201, "type": "Quiz", "score": "50"}, "Title must be at most 200 characters"),
    ({"title": "Q", "type": "Essay", "score": "50"}, "Type must be one of Quiz, Test, Exam, Homework"),
]
