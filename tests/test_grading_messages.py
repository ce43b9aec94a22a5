"""The grading messages of every wrong submission equal the recorded ones.

``tests/golden/grading_messages.json`` holds, for each assignment and each wrong submission
of its tables, the message of every visible and hidden test statement (and of a few more
seeds of each checker), as the checkers gave them when the file was written
(``python tests/golden/make_grading_messages.py``). A change to the grading code that alters
what a student reads fails here, with the statement and both messages.
"""

import matplotlib
import pytest
from grading_messages import ASSIGNMENTS, load, messages_of, submissions

matplotlib.use("Agg")

GOLDEN = load()


def test_the_golden_file_covers_every_submission_of_the_tables():
    assert set(GOLDEN) == set(ASSIGNMENTS)
    for assignment in ASSIGNMENTS:
        assert set(GOLDEN[assignment]) == set(submissions(assignment)), assignment


@pytest.mark.parametrize(
    "assignment,name", [(a, n) for a in ASSIGNMENTS for n in sorted(GOLDEN[a])]
)
def test_messages_are_unchanged(assignment, name):
    recorded = GOLDEN[assignment][name]
    now = messages_of(assignment, submissions(assignment)[name])
    assert set(now) == set(recorded)
    changed = {key: (recorded[key], now[key]) for key in recorded if now[key] != recorded[key]}
    assert changed == {}
    assert any(message is not None for message in recorded.values())  # a wrong submission
