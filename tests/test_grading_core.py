"""course_lib.grading's shared machinery that the grading sandbox relies on: the time limit,
the student's frame of an error, and exceptions carried across a process boundary as data."""

import json

import numpy as np
import pytest

from course_lib.grading import (
    arrays_in,
    decode_exception,
    encode_exception,
    student_frame,
    time_limit,
)


def _raised(fn):
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - the test wants the exception itself
        return exc
    raise AssertionError("no exception")


def students_function(x):
    return x[5]  # an IndexError on a short list


def test_a_builtin_exception_crosses_as_itself_with_the_students_line():
    exc = _raised(lambda: students_function([1, 2]))
    info = json.loads(json.dumps(encode_exception(exc)))  # plain data only
    assert info["type"] == "IndexError" and info["builtin"] is True
    assert "line" in info["frame"] and "x[5]" in info["frame"]
    back = decode_exception(info)
    assert type(back) is IndexError and str(back) == str(exc)
    assert student_frame(back) == info["frame"]  # the remote frame, not the local traceback


def test_another_exception_becomes_a_runtime_error_named_after_it():
    class ShapeMismatch(ValueError):
        pass

    info = encode_exception(ShapeMismatch("3 != 4"))
    assert info["builtin"] is False
    back = decode_exception(info)
    assert type(back) is RuntimeError and str(back) == "ShapeMismatch: 3 != 4"
    plain = decode_exception(encode_exception(ShapeMismatch("3 != 4"), frame=False), qualify=False)
    assert type(plain) is RuntimeError and str(plain) == "3 != 4"
    assert not hasattr(plain, "student_frame")  # no frame sent: the local one is used


def test_encoding_cuts_long_messages_and_survives_a_broken_str():
    class Broken(Exception):
        def __str__(self):
            raise RuntimeError("no")

    assert len(encode_exception(ValueError("x" * 5000), limit=500)["message"]) == 500
    assert encode_exception(Broken())["message"] == ""
    # a BaseException such as KeyboardInterrupt is never rebuilt as itself
    assert type(decode_exception(encode_exception(KeyboardInterrupt()))) is RuntimeError


def test_time_limit_stops_a_loop_that_swallows_exceptions():
    class Stop(BaseException):
        pass

    with pytest.raises(Stop):
        with time_limit(0.2, Stop):
            while True:
                try:
                    sum(range(1000))
                except Exception:  # noqa: BLE001 - what a careless student writes
                    pass


def test_arrays_in_finds_nested_arrays():
    a, b = np.zeros(2), np.ones(3)
    assert [x is a or x is b for x in arrays_in({"k": [a, (1, b)]})] == [True, True]
    assert list(arrays_in("no arrays")) == []


def test_a_mistake_is_named_only_when_it_reproduces_every_case():
    """A slip that explains the failing case but not another case is not named: the
    student reads what differs instead of a cause that would send them to fix right code."""
    from course_lib.grading import Case, GradingError, Mistake, check_against_reference

    cases = [Case({"x": np.array([1.0, -2.0])}, "a"), Case({"x": np.array([3.0, 4.0])}, "b")]
    doubled = Mistake("doubled", "you return twice the square", variant=lambda x: 2 * x**2)
    positive = Mistake("positive", "negative inputs", predicate=lambda got, case: True)

    def check(student, mistakes):
        check_against_reference(student, lambda x: x**2, cases, name="sq", mistakes=mistakes)

    with pytest.raises(GradingError, match="you return twice the square"):
        check(lambda x: 2 * x**2, [doubled])
    # twice the square on the first case only: on the second it is something else again
    odd = lambda x: 2 * x**2 if x[0] == 1 else x**3  # noqa: E731
    with pytest.raises(GradingError) as info:
        check(odd, [doubled])
    assert "twice" not in str(info.value) and "differs from the correct one" in str(info.value)
    # right on the first case, where the slip would have changed the output: not that slip
    late = lambda x: x**2 if x[0] == 1 else 2 * x**2  # noqa: E731
    with pytest.raises(GradingError) as info:
        check(late, [doubled])
    assert "twice" not in str(info.value)
    # a predicate speaks of wrong outputs only: a right first case does not rule it out
    with pytest.raises(GradingError, match="negative inputs"):
        check(late, [positive])

    # a function that raises on another case is not explained by the slip either
    def raises_later(x):
        if x[0] == 3:
            raise ValueError("no")
        return 2 * x**2

    with pytest.raises(GradingError) as info:
        check(raises_later, [doubled])
    assert "twice" not in str(info.value)
