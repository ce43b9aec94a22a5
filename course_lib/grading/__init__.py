"""Checkers behind the autograded assignments (nbgrader test cells).

A test cell calls one checker per question::

    from course_lib.grading.search import check_global_search_result
    check_global_search_result(global_random_search)                           # visible test
    check_global_search_result(global_random_search, seed=1234, hidden=True)   # hidden test

A checker returns None and prints nothing when the student's function is right; otherwise it
raises :class:`GradingError`, whose message explains the likely mistake ("best_so_far is the
list of values: it must hold the lowest value seen so far"). With ``hidden=True`` the message
never shows the test's inputs or expected values.

One module per assignment topic (``search`` for problem set 1). The test objectives and
seeded random problems they share (``Problem``, ``Smooth``, ``CountingBowl``, random
quadratics, bowls and regression data) are in ``course_lib.grading.problems``. The shared
machinery (running a student's function on seeded random cases, mutation checks, comparison
with the reference, diagnosis of typical mistakes) is in ``course_lib.grading._core``; its
public names are exported here. ``time_limit``, ``student_frame``, ``arrays_in``,
``encode_exception`` and ``decode_exception`` are also what the grading sandbox
(``course_lib.autograde``) uses to run the student's code and to carry an exception from the
sandbox to the checker.
"""

from course_lib.grading._core import (
    TIME_LIMIT,
    Case,
    GradingError,
    Mistake,
    arrays_in,
    as_array,
    check_against_reference,
    close,
    decode_exception,
    describe,
    diagnose,
    encode_exception,
    fail,
    run,
    student_frame,
    time_limit,
)

__all__ = [
    "TIME_LIMIT",
    "Case",
    "GradingError",
    "Mistake",
    "as_array",
    "check_against_reference",
    "close",
    "describe",
    "diagnose",
    "fail",
    "run",
    "time_limit",
    "student_frame",
    "arrays_in",
    "encode_exception",
    "decode_exception",
]
