"""course_lib.grading's shared machinery that the grading sandbox relies on: the time limit,
the student's frame of an error, and exceptions carried across a process boundary as data."""

import json

import numpy as np
import pytest

from course_lib.grading import (
    Case,
    GradingError,
    Mistake,
    arrays_in,
    check_against_reference,
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


def test_a_consistent_diagnosis_names_only_a_mistake_that_explains_every_case():
    cases = [Case({"x": x}, f"x = {x}") for x in (1.0, 2.0, 3.0)]
    doubled = Mistake("doubled", "you doubled x", variant=lambda x: 2 * x)
    reference = lambda x: x + 1  # noqa: E731
    # 2x equals x + 1 at x = 1 only: a function that doubles every x makes that one mistake
    with pytest.raises(GradingError, match="you doubled x"):
        check_against_reference(
            lambda x: 2 * x, reference, cases, name="f", mistakes=[doubled], consistent=True
        )
    # right on x = 1 and 2, doubled on x = 3: the mistake explains the last case only
    patchy = lambda x: 2 * x if x > 2 else x + 1  # noqa: E731
    with pytest.raises(GradingError, match="you doubled x"):
        check_against_reference(patchy, reference, cases, name="f", mistakes=[doubled])
    with pytest.raises(GradingError, match="differs from the correct one") as info:
        check_against_reference(
            patchy, reference, cases, name="f", mistakes=[doubled], consistent=True
        )
    assert "doubled" not in str(info.value)
    # doubled on x = 2, something else on x = 3: not named either
    odd = lambda x: {1.0: 2.0, 2.0: 4.0}.get(x, 0.0)  # noqa: E731
    with pytest.raises(GradingError, match="differs from the correct one"):
        check_against_reference(
            odd, reference, cases, name="f", mistakes=[doubled], consistent=True
        )
