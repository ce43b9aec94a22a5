"""Checkers for problem set 2: numerical gradients, the relative error, the analytic gradients
of the softmax and SVM losses, and a gradient checker.

The formulas of this problem set are deterministic, so most checkers compare the student's
output with course_lib's reference (``course_lib.models``) on seeded random inputs, and explain
a mismatch by trying the typical slips as :class:`Mistake` variants (a forward difference,
``reg * W`` instead of ``2 * reg * W``, a sum instead of a mean, ...). Three questions are
checked by what the code must *do* rather than by its numbers:

- the shapes test of ``numerical_gradient`` compares the student's gradient on matrices and
  integer arrays with the student's *own* gradient of the same problem flattened to a float
  vector (so a wrong formula costs only the values test), and checks that x is left as it was;
- the large-scores test of ``softmax_loss`` checks that adding a constant to every score of a
  row, which changes nothing mathematically, changes nothing in the code either (no overflow);
- a gradient checker samples coordinates at random, and different correct implementations
  sample different ones. The test function records every point the checker evaluates, reads
  off which coordinates were checked, and recomputes the expected error for exactly those.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

import numpy as np

from course_lib.grading._core import (
    Case,
    Mistake,
    as_array,
    check_against_reference,
    close,
    describe,
    fail,
    run,
)
from course_lib.grading.problems import SMOOTH, Smooth

__all__ = [
    "check_numerical_gradient_values",
    "check_numerical_gradient_shapes",
    "check_relative_error",
    "check_softmax_loss_value",
    "check_softmax_gradient",
    "check_softmax_large_scores",
    "check_svm_loss_value",
    "check_svm_gradient",
    "check_gradient_check_error",
    "check_gradient_check_sampling",
]


# --------------------------------------------------------------------------------------------
# Hints shared by the questions (test functions: course_lib.grading.problems)
# --------------------------------------------------------------------------------------------
def _explain_index_error(exc: BaseException) -> Optional[str]:
    text = str(exc).lower()
    if "cast" in text:
        return "x may be an integer array: work on a float copy, x = np.array(x, dtype=float)"
    if isinstance(exc, IndexError) or "too many indices" in text:
        return (
            "x may have any shape, e.g. (D, C): visit every entry, for example with "
            "`for i in np.ndindex(x.shape)` and x[i]"
        )
    return None


def _explain_perturbed(h: float) -> Callable[[str, Any, Any], Optional[str]]:
    """Diagnosis of a modified ``x``: left off by h, or changed in its last digits."""

    def explain(arg, before, after):
        if arg != "x":
            return None
        b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
        if a.shape != b.shape:
            return None
        moved = a != b
        diff = np.abs(a - b)[moved]
        if np.allclose(diff, h, rtol=1e-6, atol=0.0):
            return (
                "leaves the caller's x perturbed: after the call some entries are off by "
                "h. After evaluating f at x + h e_i and x - h e_i, put the entry back "
                "(x[i] = old) before moving on, or perturb a float copy of x"
            )
        if np.all(diff <= 1e-12 * np.maximum(1.0, np.abs(b[moved]))):
            return (
                "changes the caller's x in its last digits: adding and subtracting h "
                "(x[i] + h - 2h + h) does not give back exactly x[i] in floating point. "
                "Save the entry first and put it back (old = x[i] ... x[i] = old), or "
                "perturb a float copy of x"
            )
        return None

    return explain


# --------------------------------------------------------------------------------------------
# Question 1: numerical_gradient
# --------------------------------------------------------------------------------------------
def _loop(f, x, h, step):
    """A hand-written difference loop over a float copy: ``step(f, x, i, old, h)`` -> partial."""
    x = np.array(x, dtype=float)
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        grad[i] = step(f, x, i, x[i], h)
    return grad


def _not_restored_minus(f, x, i, old, h):
    x[i] = old + h
    f_plus = f(x)
    x[i] = old - h
    return (f_plus - f(x)) / (2 * h)  # x[i] stays at old - h


def _not_restored_plus(f, x, i, old, h):
    x[i] = old - h
    f_minus = f(x)
    x[i] = old + h
    return (f(x) - f_minus) / (2 * h)  # x[i] stays at old + h


def _numerical_mistakes() -> list[Mistake]:
    from course_lib.models import numerical_gradient as ng

    def all_at_once(f, x, h):
        x = np.array(x, dtype=float)
        return np.full(x.shape, (f(x + h) - f(x - h)) / (2 * h))

    not_restored = (
        "you do not put x[i] back after perturbing it, so every later partial "
        "derivative is taken at a shifted point: after the two evaluations, "
        "restore the entry (x[i] = old)"
    )
    return [
        Mistake(
            "forward",
            "you used a forward difference (f(x + h e_i) - f(x)) / h, whose "
            "error is O(h); use the centred difference (f(x + h e_i) - f(x - h e_i)) / (2h), "
            "whose error is O(h^2)",
            variant=lambda f, x, h: ng(f, x, h, method="forward"),
        ),
        Mistake(
            "half_step",
            "your second evaluation is at x, not at x - h e_i (did you go "
            "back by h instead of 2h?): the centred difference is "
            "(f(x + h e_i) - f(x - h e_i)) / (2h)",
            variant=lambda f, x, h: ng(f, x, h, method="forward") / 2,
        ),
        Mistake(
            "over_h",
            "your gradient is twice the correct one: the two points x + h e_i "
            "and x - h e_i are 2h apart, so divide by 2h, not by h",
            variant=lambda f, x, h: 2 * ng(f, x, h),
        ),
        Mistake(
            "sign",
            "your gradient has the wrong sign: it is f(x + h e_i) - f(x - h e_i) "
            "(the point ahead minus the point behind), divided by 2h",
            variant=lambda f, x, h: -ng(f, x, h),
        ),
        Mistake(
            "not_restored",
            not_restored,
            variant=lambda f, x, h: _loop(f, x, h, _not_restored_minus),
        ),
        Mistake(
            "not_restored_plus",
            not_restored,
            variant=lambda f, x, h: _loop(f, x, h, _not_restored_plus),
        ),
        Mistake(
            "all_at_once",
            "every entry of your gradient is the same number: you moved all "
            "coordinates at once (x + h adds h to every entry). Perturb one coordinate at "
            "a time: x + h e_i changes only entry i",
            variant=all_at_once,
        ),
    ]


def check_numerical_gradient_values(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``numerical_gradient(f, x, h)`` equals the centred difference on float vectors.

    Compared with ``course_lib.models.numerical_gradient`` on seeded cases (1 to 8 variables,
    h from 1e-5 to 1e-2). Whether x is left untouched is the other test's business.
    """
    from course_lib.models import numerical_gradient as reference

    name = "numerical_gradient"
    rng = np.random.default_rng(seed)
    cases = []
    for n, h in [(4, 1e-4), (1, 1e-3), (int(rng.integers(5, 9)), 1e-5), (3, 1e-2)]:
        f = Smooth(rng, (n,), name, hidden)
        x = np.round(rng.uniform(-2, 2, n), 3)
        cases.append(
            Case({"f": f, "x": x, "h": h}, f"f(x) = {SMOOTH}, x = {describe(x)}, h = {h:g}")
        )
    check_against_reference(
        student,
        reference,
        cases,
        name=name,
        hidden=hidden,
        what="the gradient",
        rtol=1e-6,
        atol=1e-8,
        mistakes=_numerical_mistakes(),
        explain=_explain_index_error,
        check_inputs=False,
    )


def check_numerical_gradient_shapes(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``numerical_gradient`` works for x of any shape and dtype and leaves x as it was.

    On matrices, a 3-D array and integer arrays, the gradient must have x's shape, equal the
    student's own gradient of the same problem flattened to a float vector, and the caller's
    x must be unchanged afterwards (not even in its last digits).
    """
    name = "numerical_gradient"
    rng = np.random.default_rng(seed)
    specs = [
        ((3, 4), False),
        ((2, 3), True),
        ((2, 3, 2), False),
        ((5, 1), False),
        ((4,), True),
        ((int(rng.integers(2, 5)), int(rng.integers(2, 5))), False),
    ]
    for shape, integer in specs:
        f = Smooth(rng, shape, name, hidden)
        x = rng.integers(-3, 4, shape) if integer else np.round(rng.uniform(-2, 2, shape), 3)
        h = float(rng.choice([1e-5, 1e-4, 1e-3]))
        kind = "integer array" if integer else "array"
        case = Case(
            {"f": f, "x": x, "h": h},
            f"f(x) = {SMOOTH}, x = an {kind} of shape {shape}: {describe(x)}, h = {h:g}",
        )
        flat_case = Case(
            {"f": f.flattened(), "x": x.astype(float).reshape(-1), "h": h},
            f"the same problem flattened to a float vector: {case.label}",
        )
        own = as_array(
            run(
                student,
                flat_case,
                name=name,
                hidden=hidden,
                check_inputs=False,
                explain=_explain_index_error,
            ),
            name=name,
            what="the gradient",
            shape=(x.size,),
            hidden=hidden,
            case=flat_case,
        )
        out = run(
            student,
            case,
            name=name,
            hidden=hidden,
            explain=_explain_index_error,
            explain_mutation=_explain_perturbed(h),
        )
        flat = Mistake(
            "flat",
            "the gradient must have x's shape (it holds one partial "
            "derivative per entry of x): yours is a flat vector; create it with "
            "np.zeros(x.shape) or reshape it",
            predicate=lambda got, c: got.ndim == 1 and np.ndim(c.args["x"]) > 1,
        )
        got = as_array(
            out,
            name=name,
            what="the gradient",
            shape=shape,
            hidden=hidden,
            case=case,
            mistakes=[flat],
        )
        expected = own.reshape(shape)
        if close(got, expected, rtol=1e-9, atol=1e-12):
            continue
        details = (
            f"your gradient of the flattened problem: {describe(expected)}\n"
            f"your gradient here:                   {describe(got)}"
        )
        if integer and np.array_equal(got, np.trunc(expected)):
            why = (
                "on an integer x your gradient is rounded to whole numbers: it was created "
                "with x's integer dtype (np.zeros_like(x)); use np.zeros(x.shape)"
            )
        elif integer:
            why = (
                "on an integer x your result differs from the same x in float: x + h "
                "cannot be stored in an integer array. Work on a float copy, "
                "x = np.array(x, dtype=float)"
            )
        else:
            why = (
                "on an array of this shape your gradient differs from what your function "
                "gives for the same problem flattened to a vector: visit every entry of "
                "x, whatever its shape (for i in np.ndindex(x.shape))"
            )
        fail(name, why, hidden=hidden, case=case, details=details)


# --------------------------------------------------------------------------------------------
# Question 2: relative_error
# --------------------------------------------------------------------------------------------
def _explain_array_logic(exc: BaseException) -> Optional[str]:
    text = str(exc).lower()
    if "truth value of an array" in text or "scalar index" in text:
        return (
            "Python's max() and `if` (and np.max(u, v), which reads v as an axis) do not "
            "compare arrays entry by entry: use np.maximum(u, v) and np.where(...)"
        )
    return None


def _rel_parts(a, n):
    a, n = np.asarray(a, dtype=float), np.asarray(n, dtype=float)
    return a, n, np.abs(a - n)


def _relative_error_mistakes() -> list[Mistake]:
    from course_lib.models import relative_error as ref

    def by_a_only(got, case):
        a, n, diff = _rel_parts(*case.args.values())
        got = np.broadcast_to(got, a.shape)
        ok = a != 0
        with np.errstate(all="ignore"):
            # where a is 0 (and n is not) the output may be anything: inf, nan or a silent 0
            return close(got[ok], diff[ok] / np.abs(a[ok]))

    def nan_at_zero(got, case):
        a, n, _ = _rel_parts(*case.args.values())
        both = (a == 0) & (n == 0)
        got = np.broadcast_to(got, a.shape)
        expected = np.broadcast_to(ref(a, n), a.shape)
        return (
            bool(np.any(both))
            and not np.any(np.isfinite(got[both]) & (got[both] == 0))
            and close(got[~both], expected[~both])
        )

    def variant(fn):
        def wrong(a, n):
            a, n, diff = _rel_parts(a, n)
            with np.errstate(all="ignore"):
                return fn(a, n, diff)

        return wrong

    return [
        Mistake(
            "by_a_only",
            "you divide by |a| only: where the analytic gradient a is 0 but "
            "the numerical one is not, that gives inf (or a silent 0) instead of 1; divide "
            "by max(|a|, |n|), which is 0 only where both are 0",
            predicate=by_a_only,
        ),
        Mistake(
            "nan_at_zero",
            "where a and n are both 0 the relative error must be 0 "
            "(they agree perfectly), but 0 / 0 gives nan: use "
            "np.where(scale > 0, |a - n| / scale, 0), with a safe denominator",
            predicate=nan_at_zero,
        ),
        Mistake(
            "by_n_only",
            "you divide by |n| only; divide by max(|a|, |n|)",
            variant=variant(lambda a, n, d: np.where((a == 0) & (n == 0), 0.0, d / np.abs(n))),
        ),
        Mistake(
            "by_sum",
            "you divide by |a| + |n|; the relative error divides by max(|a|, |n|)",
            variant=variant(
                lambda a, n, d: np.where((a == 0) & (n == 0), 0.0, d / (np.abs(a) + np.abs(n)))
            ),
        ),
        Mistake(
            "no_abs_den",
            "you divide by max(a, n) without absolute values, which is wrong "
            "when the gradients are negative: use max(|a|, |n|)",
            variant=variant(
                lambda a, n, d: np.where((a == 0) & (n == 0), 0.0, d / np.maximum(a, n))
            ),
        ),
        Mistake(
            "no_abs_num",
            "some of your errors are negative: take the absolute value of the difference, |a - n|",
            predicate=lambda got, case: bool(np.any(np.asarray(got) < 0)),
        ),
        Mistake(
            "max_over_entries",
            "return one relative error per entry (an array of a's "
            "shape), not a single number; the gradient checker takes the largest one",
            variant=lambda a, n: float(np.max(ref(a, n))),
        ),
    ]


def check_relative_error(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``relative_error(a, n)`` = |a - n| / max(|a|, |n|) entrywise, 0 where both are 0.

    On seeded arrays with zeros in a, in n and in both, sign changes, matrices, integer
    arrays and plain floats, compared with ``course_lib.models.relative_error``.
    """
    from course_lib.models import relative_error as reference

    rng = np.random.default_rng(seed)
    a1 = np.array([1.0, -2.0, 0.0, 0.0, 3.0, 1e-8])
    n1 = np.array([1.1, -2.0, 0.5, 0.0, -3.0, 2e-8])
    A = np.round(rng.standard_normal((3, 4)), 3)
    N = np.round(A * (1 + rng.uniform(-0.5, 0.5, A.shape)), 4)
    A.flat[rng.choice(12, 3, replace=False)] = 0.0
    N.flat[rng.choice(12, 3, replace=False)] = 0.0
    u = np.round(rng.uniform(0.1, 5), 3)
    cases = [
        Case({"a": a1, "n": n1}, f"a = {describe(a1)}, n = {describe(n1)}"),
        Case(
            {"a": A, "n": N},
            f"a and n of shape (3, 4) with some zeros: a = {describe(A)}, n = {describe(N)}",
        ),
        Case({"a": 2.0, "n": 1.0}, "a = 2.0, n = 1.0 (plain floats)"),
        Case({"a": 0.0, "n": 0.0}, "a = 0.0, n = 0.0 (plain floats)"),
        Case({"a": -u, "n": 0.0}, f"a = {-u:g}, n = 0.0 (plain floats)"),
        Case(
            {"a": np.array([3, 0, -2]), "n": np.array([4, 0, -2])},
            "a = [3, 0, -2], n = [4, 0, -2] (integer arrays)",
        ),
        Case({"a": np.zeros(3), "n": np.zeros(3)}, "a = n = [0, 0, 0]"),
    ]
    check_against_reference(
        student,
        reference,
        cases,
        name="relative_error",
        hidden=hidden,
        what="the relative error",
        rtol=1e-9,
        atol=1e-14,
        mistakes=_relative_error_mistakes(),
        explain=_explain_array_logic,
    )


# --------------------------------------------------------------------------------------------
# Questions 3 and 4: softmax and SVM losses
# --------------------------------------------------------------------------------------------
def _labels(y) -> str:
    """Integer labels for a visible message: all of them, or the first few."""
    y = [int(v) for v in y]
    return str(y) if len(y) <= 8 else f"[{', '.join(map(str, y[:6]))}, ...] ({len(y)} labels)"


def _classifier_cases(rng: np.random.Generator) -> list[Case]:
    """Seeded (W, X, y, reg) cases: non-square and square W, one example, y as a list."""
    specs = [
        (5, 3, 4, 0.1, False),
        (1, 2, 3, 0.0, False),
        (8, 4, 4, 0.05, False),
        (
            int(rng.integers(10, 30)),
            int(rng.integers(2, 7)),
            int(rng.integers(2, 7)),
            float(np.round(rng.uniform(0.01, 0.5), 3)),
            False,
        ),
        (6, 3, 2, 0.3, True),
    ]
    cases = []
    for N, D, C, reg, as_list in specs:
        W = np.round(0.5 * rng.standard_normal((D, C)), 4)
        X = np.round(rng.standard_normal((N, D)), 4)
        y = rng.integers(0, C, N)
        y_arg = [int(v) for v in y] if as_list else y
        label = (
            f"W of shape {W.shape}: {describe(W)}, X of shape {X.shape}: {describe(X)}, "
            f"y = {_labels(y)}{' (a list)' if as_list else ''}, reg = {reg:g}"
        )
        cases.append(Case({"W": W, "X": X, "y": y_arg, "reg": reg}, label))
    return cases


def _explain_classifier_error(exc: BaseException) -> Optional[str]:
    text = str(exc).lower()
    if "broadcast" in text or "matmul" in text or "aligned" in text:
        return (
            "check the shapes: X is (N, D), W is (D, C), the scores X @ W are (N, C) and "
            "the gradient X.T @ (...) is (D, C), like W. The number of classes is "
            "C = W.shape[1], not max(y) + 1: a class may have no example in y"
        )
    if isinstance(exc, (IndexError, TypeError)) and "ind" in text:
        return (
            "y holds one integer label per example (an array or a list); pick the "
            "correct-class entries with scores[np.arange(N), y]"
        )
    return None


def _absent_classes(got, case: Case) -> bool:
    y, W = case.args["y"], case.args["W"]
    return int(np.max(y)) + 1 < np.shape(W)[1]


_CLASSES_FROM_LABELS = Mistake(
    "classes_from_labels",
    "your result is wrong on a case where the last classes have no "
    "example in y: the number of classes is C = W.shape[1], not max(y) + 1",
    predicate=_absent_classes,
)


def _loss(out):
    return out[0]


def _grad(out):
    return out[1]


def _scores(W, X, y):
    W, X, y = np.asarray(W, float), np.asarray(X, float), np.asarray(y)
    rows = np.arange(len(X))
    S = X @ W
    return W, X, y, rows, S


def _penalty(W, reg):
    return reg * np.sum(np.asarray(W, float) ** 2)


def _with_data_grad(data_grad, W, reg):
    return data_grad + 2 * reg * np.asarray(W, float)


def _common_grad_mistakes(reference) -> list[Mistake]:
    """Slips that any (loss, dW) function can make in its gradient."""

    def data(W, X, y, reg):
        return reference(W, X, y, 0.0)[1]

    def n(X):
        return len(np.asarray(X))

    return [
        Mistake(
            "transposed",
            "your gradient is transposed: it must have W's shape (D, C), one "
            "entry per weight; compute X.T @ dscores, not dscores.T @ X",
            variant=lambda W, X, y, reg: reference(W, X, y, reg)[1].T,
        ),
        Mistake(
            "no_reg_grad",
            "the gradient misses the penalty's part: the derivative of "
            "reg * sum(W**2) is 2 * reg * W; add it to dW",
            variant=lambda W, X, y, reg: data(W, X, y, reg),
        ),
        Mistake(
            "reg_w",
            "the penalty's gradient is 2 * reg * W, not reg * W (the derivative of w**2 is 2w)",
            variant=lambda W, X, y, reg: data(W, X, y, reg) + reg * np.asarray(W, float),
        ),
        Mistake(
            "sum_grad",
            "your gradient is N times too large: the loss is a *mean* over "
            "the N examples, so divide the data part of dW by N (and do the same in the "
            "loss)",
            variant=lambda W, X, y, reg: _with_data_grad(n(X) * data(W, X, y, reg), W, reg),
        ),
        Mistake(
            "sum_all",
            "your gradient is N times too large: the loss is a *mean* over "
            "the N examples, so divide the data part of dW by N (and do the same in the "
            "loss)",
            variant=lambda W, X, y, reg: n(X) * reference(W, X, y, reg)[1],
        ),
        Mistake(
            "sign",
            "your gradient has the wrong sign: it points downhill. Check the sign "
            "of each term (the gradient of the loss, not of minus the loss)",
            variant=lambda W, X, y, reg: -reference(W, X, y, reg)[1],
        ),
        Mistake(
            "data_sign",
            "the data part of your gradient has the wrong sign (the penalty "
            "part is right): check the sign of dscores",
            variant=lambda W, X, y, reg: _with_data_grad(-data(W, X, y, reg), W, reg),
        ),
    ]


def _common_loss_mistakes(reference) -> list[Mistake]:
    def data(W, X, y):
        return reference(W, X, y, 0.0)[0]

    return [
        Mistake(
            "sum_loss",
            "your loss is a sum over the examples: it must be the *mean*, "
            "divide the data term by N (and the data part of dW too)",
            variant=lambda W, X, y, reg: len(np.asarray(X)) * data(W, X, y) + _penalty(W, reg),
        ),
        Mistake(
            "sum_all_loss",
            "your loss is N times too large: it must be the *mean* over "
            "the examples plus reg * sum(W**2)",
            variant=lambda W, X, y, reg: len(np.asarray(X)) * reference(W, X, y, reg)[0],
        ),
        Mistake(
            "no_reg_loss",
            "the loss misses the penalty: add reg * sum(W**2)",
            variant=lambda W, X, y, reg: data(W, X, y),
        ),
        Mistake(
            "half_reg",
            "the penalty is reg * sum(W**2), without a factor 1/2",
            variant=lambda W, X, y, reg: data(W, X, y) + 0.5 * _penalty(W, reg),
        ),
    ]


def _softmax_data(W, X, y, axis=1):
    """X, row indices and the probabilities of a softmax (for variants); ``axis=0`` makes the
    slip of subtracting each column's maximum instead of each row's."""
    W, X, y, rows, S = _scores(W, X, y)
    P = np.exp(S - S.max(axis=axis, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return X, rows, P


_COLUMN_MAX = (
    "you subtract each column's maximum (axis=0), which changes the probabilities: "
    "subtract each row's largest score, scores.max(axis=1, keepdims=True)"
)


def check_softmax_loss_value(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``softmax_loss(W, X, y, reg)[0]``: mean cross-entropy plus ``reg * sum(W**2)``."""
    from course_lib.models import softmax_loss as reference

    def no_minus(W, X, y, reg):
        return -reference(W, X, y, 0.0)[0] + _penalty(W, reg)

    def column_max(W, X, y, reg):
        X, rows, P = _softmax_data(W, X, y, axis=0)
        return -np.mean(np.log(P[rows, np.asarray(y)])) + _penalty(W, reg)

    def log_of_wrong_class(W, X, y, reg):
        X, rows, P = _softmax_data(W, X, y)
        return -np.mean(np.log(P[rows, np.argmax(P, axis=1)])) + _penalty(W, reg)

    mistakes = _common_loss_mistakes(reference) + [
        Mistake(
            "no_minus",
            "your loss is negative: the cross-entropy is -log p[y_i], minus "
            "the log-probability of the correct class",
            variant=no_minus,
        ),
        Mistake(
            "predicted_class",
            "you take the probability of the predicted (largest) class; "
            "the loss uses the probability of the correct class y_i, P[np.arange(N), y]",
            variant=log_of_wrong_class,
        ),
        Mistake("column_max", _COLUMN_MAX, variant=column_max),
        _CLASSES_FROM_LABELS,
    ]
    check_against_reference(
        student,
        reference,
        _classifier_cases(np.random.default_rng(seed)),
        name="softmax_loss",
        hidden=hidden,
        what="the loss",
        rtol=1e-7,
        atol=1e-10,
        mistakes=mistakes,
        extract=_loss,
        explain=_explain_classifier_error,
    )


def check_softmax_gradient(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``softmax_loss(W, X, y, reg)[1]`` = ``X.T @ (P - Y) / N + 2 * reg * W``."""
    from course_lib.models import softmax_loss as reference

    def no_one_hot(W, X, y, reg):
        X, rows, P = _softmax_data(W, X, y)
        return _with_data_grad(X.T @ P / len(X), W, reg)

    def column_max(W, X, y, reg):
        X, rows, P = _softmax_data(W, X, y, axis=0)
        P[rows, np.asarray(y)] -= 1
        return _with_data_grad(X.T @ P / len(X), W, reg)

    mistakes = _common_grad_mistakes(reference) + [
        Mistake(
            "no_one_hot",
            "you forgot to subtract 1 at the correct class: the gradient "
            "with respect to the scores is P - Y (probabilities minus one-hot labels), "
            "so dscores[np.arange(N), y] -= 1",
            variant=no_one_hot,
        ),
        Mistake("column_max", _COLUMN_MAX, variant=column_max),
        _CLASSES_FROM_LABELS,
    ]
    check_against_reference(
        student,
        reference,
        _classifier_cases(np.random.default_rng(seed)),
        name="softmax_loss",
        hidden=hidden,
        what="the gradient dW",
        rtol=1e-7,
        atol=1e-10,
        mistakes=mistakes,
        extract=_grad,
        explain=_explain_classifier_error,
    )


def _pair(out: Any, name: str, hidden: bool, case: Case) -> tuple:
    """``(loss, dW)`` of a student's output as float arrays (dW of any shape: the shape is
    the gradient test's business)."""
    try:
        loss, grad = out
    except Exception:
        fail(
            name,
            f"must return a pair (loss, dW); it returned {type(out).__name__}",
            hidden=hidden,
            case=case,
        )
    return (
        as_array(loss, name=name, what="the loss", shape=(), hidden=hidden, case=case),
        as_array(grad, name=name, what="the gradient dW", hidden=hidden, case=case),
    )


def check_softmax_large_scores(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``softmax_loss`` does not overflow: shifting every score of a row changes nothing.

    X gets an extra column t (all ones, then +-1 per example) and W an extra row; adding a
    constant c (+-1000) to that row adds c * t_i to every score of example i, which leaves the
    probabilities, the loss and dW unchanged (reg = 0). The student's results with and
    without the shift must be finite and equal.
    """
    name = "softmax_loss"
    rng = np.random.default_rng(seed)
    stages = [(1000.0, False), (-1000.0, False), (float(rng.choice([800.0, 1200.0])), True)]
    for offset, mixed in stages:
        N, D, C = int(rng.integers(4, 9)), int(rng.integers(2, 5)), int(rng.integers(3, 6))
        t = np.where(np.arange(N) % 2 == 0, 1.0, -1.0) if mixed else np.ones(N)
        X = np.column_stack([np.round(rng.standard_normal((N, D)), 4), t])
        W = np.round(0.5 * rng.standard_normal((D + 1, C)), 4)
        y = rng.integers(0, C, N)
        shifted = W.copy()
        shifted[-1] += offset
        what = (
            "every score of example i moved by +-%g (the sign alternating between "
            "examples)" % abs(offset)
            if mixed
            else f"every score moved by {offset:+g}"
        )
        label = (
            f"X of shape {X.shape} (last column {describe(t)}), W of shape {W.shape}, "
            f"y = {_labels(y)}, reg = 0"
        )
        base = Case({"W": W, "X": X, "y": y, "reg": 0.0}, f"{label}, moderate scores")
        big = Case(
            {"W": shifted, "X": X, "y": y, "reg": 0.0},
            f"{label}, W's last row + {offset:g}: {what}",
        )
        loss0, grad0 = _pair(
            run(student, base, name=name, hidden=hidden, explain=_explain_classifier_error),
            name,
            hidden,
            base,
        )
        loss1, grad1 = _pair(
            run(student, big, name=name, hidden=hidden, explain=_explain_classifier_error),
            name,
            hidden,
            big,
        )
        details = (
            f"loss with moderate scores: {describe(float(loss0))}, with shifted scores: "
            f"{describe(float(loss1))}"
        )
        if not (np.isfinite(loss1) and np.all(np.isfinite(grad1))):
            if mixed:
                why = (
                    "with scores far apart between examples your softmax gives inf or NaN: "
                    "the rows whose scores lie far below the maximum you subtract underflow "
                    "to 0 / 0 (do you subtract one maximum for the whole matrix?). Subtract "
                    "each row's own largest score, scores.max(axis=1, keepdims=True)"
                )
            else:
                why = (
                    "with large scores your softmax gives inf or NaN: exp(1000) overflows "
                    "to inf and exp(-1000) underflows to 0. Subtract each row's largest "
                    "score before exponentiating (scores - scores.max(axis=1, "
                    "keepdims=True)): the probabilities do not change, and the largest "
                    "exponent becomes exp(0) = 1"
                )
            fail(name, why, hidden=hidden, case=big, details=details)
        if not (
            close(loss1, loss0, rtol=1e-9, atol=1e-9) and close(grad1, grad0, rtol=1e-9, atol=1e-9)
        ):
            fail(
                name,
                "adding the same constant to every score of an example does not change "
                "the softmax probabilities, so it must not change the loss or dW; "
                "yours changed. Subtract each row's largest score before exponentiating",
                hidden=hidden,
                case=big,
                details=details,
            )


def _svm_variant(kind: str):
    """A wrong multiclass SVM, ``(W, X, y, reg) -> (loss, dW)``, for diagnoses."""

    def svm(W, X, y, reg):
        W, X, y, rows, S = _scores(W, X, y)
        sy = S[rows, y][:, None]
        if kind == "reversed":  # s_y - s_j + 1
            raw = sy - S + 1.0
        elif kind == "outside":  # max(0, s_j - s_y) + 1
            raw = S - sy
        else:  # "minus_delta": s_j - s_y - 1, or "no_max"
            raw = S - sy + (-1.0 if kind == "minus_delta" else 1.0)
        terms = np.maximum(raw, 0.0) + (1.0 if kind == "outside" else 0.0)
        if kind == "no_max":
            terms = raw
        terms[rows, y] = 0.0
        active = (raw > 0).astype(float) if kind != "no_max" else np.ones_like(raw)
        active[rows, y] = 0.0
        slope = -active if kind == "reversed" else active
        slope[rows, y] = -slope.sum(axis=1)
        loss = terms.sum() / len(X) + _penalty(W, reg)
        return loss, _with_data_grad(X.T @ slope / len(X), W, reg)

    return svm


_COUNTS_CORRECT = (
    "the sum runs over the wrong classes only (j != y_i): the correct class's own "
    "term, max(0, s_y - s_y + 1) = 1, must not count; set its margin to 0"
)


def check_svm_loss_value(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``svm_loss(W, X, y, reg)[0]``: mean over examples of sum_{j != y_i} max(0, s_j - s_y + 1)
    plus ``reg * sum(W**2)``."""
    from course_lib.models import svm_loss as reference

    mistakes = _common_loss_mistakes(reference) + [
        Mistake(
            "counts_correct",
            "your loss is exactly 1 too large: " + _COUNTS_CORRECT,
            variant=lambda W, X, y, reg: reference(W, X, y, reg)[0] + 1.0,
        ),
        Mistake(
            "minus_delta",
            "the margin is s_j - s_{y_i} + 1 (the wrong class must stay 1 "
            "below the correct one), not s_j - s_{y_i} - 1",
            variant=lambda *args: _svm_variant("minus_delta")(*args)[0],
        ),
        Mistake(
            "reversed",
            "the margin is s_j - s_{y_i} + 1 (wrong class minus correct "
            "class), not s_{y_i} - s_j + 1",
            variant=lambda *args: _svm_variant("reversed")(*args)[0],
        ),
        Mistake(
            "outside",
            "the + 1 belongs inside the hinge: max(0, s_j - s_{y_i} + 1), not "
            "max(0, s_j - s_{y_i}) + 1",
            variant=lambda *args: _svm_variant("outside")(*args)[0],
        ),
        Mistake(
            "no_max",
            "you sum the margins without the hinge: each term is "
            "max(0, margin), so classes already far enough behind cost nothing",
            variant=lambda *args: _svm_variant("no_max")(*args)[0],
        ),
        _CLASSES_FROM_LABELS,
    ]
    check_against_reference(
        student,
        reference,
        _classifier_cases(np.random.default_rng(seed)),
        name="svm_loss",
        hidden=hidden,
        what="the loss",
        rtol=1e-7,
        atol=1e-10,
        mistakes=mistakes,
        extract=_loss,
        explain=_explain_classifier_error,
    )


def check_svm_gradient(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``svm_loss(W, X, y, reg)[1]`` = ``X.T @ G / N + 2 * reg * W`` (G from the violated
    margins: +1 in a violating class's column, minus their count in the correct one)."""
    from course_lib.models import svm_loss as reference

    def no_correct_column(W, X, y, reg):
        W, X, y, rows, S = _scores(W, X, y)
        active = (S - S[rows, y][:, None] + 1 > 0).astype(float)
        active[rows, y] = 0.0
        return _with_data_grad(X.T @ active / len(X), W, reg)

    def counts_correct(W, X, y, reg):
        W, X, y, rows, S = _scores(W, X, y)
        active = (S - S[rows, y][:, None] + 1 > 0).astype(float)  # the correct class too
        active[rows, y] = -active.sum(axis=1)
        return _with_data_grad(X.T @ active / len(X), W, reg)

    mistakes = _common_grad_mistakes(reference) + [
        Mistake(
            "no_correct_column",
            "the correct class's column is missing: each violated "
            "margin adds x_i to column j *and* subtracts x_i from column y_i "
            "(dscores[i, y_i] = -number of violating classes)",
            variant=no_correct_column,
        ),
        Mistake(
            "counts_correct",
            "the correct class's column has one x_i too many per "
            "example: " + _COUNTS_CORRECT + " before counting the violations",
            variant=counts_correct,
        ),
        Mistake(
            "minus_delta",
            "the margin is s_j - s_{y_i} + 1, not s_j - s_{y_i} - 1: your "
            "gradient counts the wrong set of violated margins",
            variant=lambda *args: _svm_variant("minus_delta")(*args)[1],
        ),
        Mistake(
            "reversed",
            "the margin is s_j - s_{y_i} + 1 (wrong class minus correct "
            "class), not s_{y_i} - s_j + 1",
            variant=lambda *args: _svm_variant("reversed")(*args)[1],
        ),
        Mistake(
            "outside",
            "the + 1 belongs inside the hinge: a class violates the margin when "
            "s_j - s_{y_i} + 1 > 0",
            variant=lambda *args: _svm_variant("outside")(*args)[1],
        ),
        Mistake(
            "all_active",
            "your gradient counts every wrong class as violating its margin: "
            "only the classes with s_j - s_{y_i} + 1 > 0 count (is the + 1 outside the "
            "max(0, ...), or the max missing?)",
            variant=lambda *args: _svm_variant("no_max")(*args)[1],
        ),
        _CLASSES_FROM_LABELS,
    ]
    check_against_reference(
        student,
        reference,
        _classifier_cases(np.random.default_rng(seed)),
        name="svm_loss",
        hidden=hidden,
        what="the gradient dW",
        rtol=1e-7,
        atol=1e-10,
        mistakes=mistakes,
        extract=_grad,
        explain=_explain_classifier_error,
    )


# --------------------------------------------------------------------------------------------
# Question 5: gradient_check
# --------------------------------------------------------------------------------------------
def _explain_sampling_error(exc: BaseException) -> Optional[str]:
    if "larger sample than population" in str(exc):
        return "num_checks may be larger than x.size: check min(num_checks, x.size) coordinates"
    return _explain_index_error(exc)


def _gc_case(
    rng: np.random.Generator,
    shape,
    grad_kind: str,
    num_checks: int,
    tol: float,
    name: str,
    hidden: bool,
    seed: Optional[int] = None,
) -> Case:
    """A gradient_check case: a recording smooth f, a point with no tiny gradient entries, and
    an analytic gradient that is right or wrong in a chosen way."""
    f = Smooth(rng, shape, name, hidden, record=True)
    while True:  # relative errors of tiny entries are round-off noise: avoid them
        x = np.round(rng.uniform(-2, 2, shape), 3)
        if np.min(np.abs(f.grad(x))) > 0.05:
            break
    g = f.grad(x)
    text = {
        "right": "the exact gradient",
        "scaled": "2 * the exact gradient",
        "zeros": "zeros (the exact gradient is not 0)",
        "slightly_off": "the exact gradient * (1 + 1e-3)",
    }
    if grad_kind == "scaled":
        g = 2 * g
    elif grad_kind == "zeros":
        g = np.zeros(shape)
    elif grad_kind == "slightly_off":
        g = g * (1 + 1e-3)
    elif grad_kind == "one_wrong":
        k = int(rng.integers(g.size))
        g.reshape(-1)[k] += 0.5
        text["one_wrong"] = (
            f"the exact gradient except at coordinate "
            f"{tuple(int(i) for i in np.unravel_index(k, shape))}"
        )
    seed = int(rng.integers(1000)) if seed is None else seed
    label = (
        f"f(x) = {SMOOTH}, x of shape {shape}: {describe(x)}, grad = {text[grad_kind]}, "
        f"num_checks = {num_checks}, h = 1e-5, seed = {seed}, tol = {tol:g}"
    )
    return Case(
        {"f": f, "grad": g, "x": x, "num_checks": num_checks, "h": 1e-5, "seed": seed, "tol": tol},
        label,
    )


def _checked(case: Case, name: str, hidden: bool, centred: bool = True) -> dict:
    """{flat index: (f(x + h e_k), f(x - h e_k), number of + evaluations)} from f's calls.

    With ``centred=False`` (when only the choice of coordinates matters), a coordinate
    evaluated on one side only counts too, with None for the missing value.
    """
    f, x, h = case.args["f"], np.asarray(case.args["x"], float).reshape(-1), case.args["h"]
    plus, minus, count = {}, {}, {}
    for p in f.calls:
        d = p.reshape(-1) - x
        moved = np.flatnonzero(np.abs(d) > 1e-3 * h)  # ignore last-digit drift of x
        if moved.size == 0:
            continue  # f(x) itself
        if moved.size > 1:
            fail(
                name,
                "f was called at a point that differs from x in several coordinates: "
                "perturb one coordinate at a time (x + h e_i and x - h e_i), and put "
                "each entry back before perturbing the next",
                hidden=hidden,
                case=case,
            )
        k = int(moved[0])
        if not math.isclose(abs(d[k]), h, rel_tol=1e-4):
            fail(
                name,
                "f was called at x + s e_i with a step s other than h (or -h): use the "
                "step h you are given",
                hidden=hidden,
                case=case,
            )
        if d[k] > 0:
            plus[k] = f.value(p)
            count[k] = count.get(k, 0) + 1
        else:
            minus[k] = f.value(p)
    if centred and set(plus) != set(minus):
        fail(
            name,
            "some coordinates were evaluated on one side only: a gradient check uses "
            "the centred difference (f(x + h e_i) - f(x - h e_i)) / (2h), not a forward "
            "difference",
            hidden=hidden,
            case=case,
        )
    return {k: (plus.get(k), minus.get(k), max(count.get(k, 0), 1)) for k in set(plus) | set(minus)}


def _result(out: Any, name: str, hidden: bool, case: Case) -> tuple[float, Any]:
    try:
        max_error, passed = out
    except Exception:
        fail(
            name,
            f"must return a pair (max_error, passed); it returned {type(out).__name__}",
            hidden=hidden,
            case=case,
        )
    value = as_array(
        max_error, name=name, what="max_error (one number)", shape=(), hidden=hidden, case=case
    )
    return float(value), passed


def _same_error(got: float, value: float) -> bool:
    return value == got or math.isclose(got, value, rel_tol=1e-6, abs_tol=1e-12)


def _gradient_check_mistakes(seen: dict) -> list[Mistake]:
    """The usual slips of a gradient checker's max_error, each recomputed from the
    coordinates the student's call checked (``seen``, filled by the reference)."""

    def returns(value: Callable[[dict], float]) -> Callable:
        return lambda got, case: _same_error(float(got), float(value(seen)))

    def by_a(guard: float) -> Callable[[dict], float]:
        def value(s):
            a, diff = s["analytic"], np.abs(s["analytic"] - s["numerical"])
            return np.max(np.where(a != 0, diff / np.abs(a), guard))

        return value

    by_a_only = (
        "your relative error divides by |a| only: where the analytic gradient is 0 "
        "this is inf (or 0 when guarded) instead of 1; divide by max(|a|, |n|)"
    )
    return [
        Mistake(
            "forward",
            "you compare with a forward difference (f(x + h e_i) - f(x)) / h; "
            "use the centred difference (f(x + h e_i) - f(x - h e_i)) / (2h), whose error "
            "is O(h^2)",
            predicate=returns(lambda s: np.max(_relative_error(s["analytic"], s["forward"]))),
        ),
        Mistake(
            "mean",
            "you return the mean of the relative errors; a gradient check reports "
            "the largest one (np.max), since a single wrong coordinate means a wrong "
            "gradient",
            predicate=returns(lambda s: s["errors"].mean()),
        ),
        Mistake(
            "sum",
            "you return the sum of the relative errors; report the largest one (np.max)",
            predicate=returns(lambda s: s["errors"].sum()),
        ),
        Mistake(
            "absolute",
            "you return the absolute error |a - n|; use the relative error "
            "|a - n| / max(|a|, |n|), which does not depend on the size of the gradient",
            predicate=returns(lambda s: np.abs(s["analytic"] - s["numerical"]).max()),
        ),
        Mistake("by_a", by_a_only, predicate=returns(by_a(np.inf))),
        Mistake("by_a_guarded", by_a_only, predicate=returns(by_a(0.0))),
        Mistake(
            "min",
            "you return the smallest relative error; report the largest one (np.max)",
            predicate=returns(lambda s: s["errors"].min()),
        ),
    ]


def _relative_error(a, n):
    from course_lib.models import relative_error

    return relative_error(a, n)


def check_gradient_check_error(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``gradient_check`` reports the largest relative error over the coordinates it checked,
    and ``passed = max_error <= tol``.

    The test function records the points the student's checker evaluates, so the expected
    error is recomputed for exactly the coordinates it chose (centred differences, relative
    error |a - n| / max(|a|, |n|)), whatever random sample it drew. Gradients: exact, wrong in
    one coordinate, scaled, zero, slightly off with a loose tol.
    """
    from course_lib.models import relative_error

    name = "gradient_check"
    rng = np.random.default_rng(seed)
    specs = [
        ((3, 4), "right", 12, 1e-7),
        ((3, 4), "one_wrong", 12, 1e-7),
        ((int(rng.integers(5, 9)),), "scaled", 4, 1e-7),
        ((2, 3), "zeros", 6, 1e-7),
        ((2, 2, 3), "slightly_off", 5, 1e-2),
        ((4, 3), "one_wrong", 12, 1e-7),
        ((6,), "right", 3, 1e-7),
    ]
    for shape, kind, k, tol in specs:
        case = _gc_case(rng, shape, kind, k, tol, name, hidden)
        seen: dict = {}  # what the student's call did, read once it returned

        def read(out, case):
            got, seen["passed"] = _result(out, name, hidden, case)
            return np.array(got)

        def reference(*args):  # after the student's call: the coordinates it checked
            checked = _checked(case, name, hidden)
            if not checked:
                fail(
                    name,
                    "f was never evaluated at x + h e_i and x - h e_i: no coordinate was checked",
                    hidden=hidden,
                    case=case,
                )
            idx = np.array(sorted(checked))
            h = case.args["h"]
            numerical = np.array([(checked[i][0] - checked[i][1]) / (2 * h) for i in idx])
            analytic = np.asarray(case.args["grad"], float).reshape(-1)[idx]
            f0 = case.args["f"].value(case.args["x"])
            seen.update(
                idx=idx,
                analytic=analytic,
                numerical=numerical,
                errors=np.atleast_1d(relative_error(analytic, numerical)),
                forward=np.array([(checked[i][0] - f0) / h for i in idx]),
            )
            seen["expected"] = float(seen["errors"].max())
            return seen["expected"]

        def details(expected, got, out, shape=shape):
            coords = [tuple(int(c) for c in np.unravel_index(i, shape)) for i in seen["idx"]]
            return (
                f"coordinates you checked: {coords}\nexpected max_error: {expected:.6g}\n"
                f"your max_error:     {float(got):.6g}"
            )

        check_against_reference(
            student,
            reference,
            [case],
            name=name,
            hidden=hidden,
            rtol=0.0,
            atol=0.0,
            mistakes=_gradient_check_mistakes(seen),
            explain=_explain_sampling_error,
            check_inputs=False,
            read=read,
            details=details,
            accept=lambda got, case: _same_error(float(got), seen["expected"]),
            verdict="max_error must be the largest relative error |a - n| / max(|a|, |n|) "
            "over the checked coordinates, with n the centred difference "
            "(f(x + h e_i) - f(x - h e_i)) / (2h) and a the matching entry of grad",
        )
        passed, expected = seen["passed"], seen["expected"]
        if not isinstance(passed, (bool, np.bool_)):
            fail(
                name,
                f"passed must be True or False, got {type(passed).__name__}",
                hidden=hidden,
                case=case,
            )
        if bool(passed) != (expected <= tol):
            if bool(passed) == (expected <= 1e-7):
                why = "passed ignores the tol argument: it is max_error <= tol, whatever tol is"
            else:
                why = "passed must be True exactly when max_error <= tol"
            fail(
                name,
                why,
                hidden=hidden,
                case=case,
                details=f"max_error: {expected:.6g}, tol: {tol:g}, your passed: {passed}",
            )


def check_gradient_check_sampling(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``gradient_check`` checks ``min(num_checks, x.size)`` distinct random coordinates.

    The coordinates (read off the points f is called at) must be as many as asked for,
    distinct, spread over the whole array, drawn with ``np.random.default_rng(seed)`` (the
    same seed gives the same coordinates, different seeds different ones), and x must be
    left unchanged.
    """
    name = "gradient_check"
    rng = np.random.default_rng(seed)

    def coordinates(shape, k, case_seed=None) -> tuple[Case, dict]:
        case = _gc_case(rng, shape, "right", k, 1e-7, name, hidden, seed=case_seed)
        run(
            student,
            case,
            name=name,
            hidden=hidden,
            explain=_explain_sampling_error,
            explain_mutation=_explain_perturbed(case.args["h"]),
        )
        return case, _checked(case, name, hidden, centred=False)

    for shape, k in [((6, 8), 5), ((2, 2), 10), ((10,), 10), ((3, 4), 12), ((5, 3), 2)]:
        case, checked = coordinates(shape, k)
        size, wanted = int(np.prod(shape)), min(k, int(np.prod(shape)))
        count = len(checked)
        evaluated = sum(c for _, _, c in checked.values())
        said = "" if hidden else f" (checked {count} coordinates, expected {wanted})"
        if count == wanted:
            continue
        if count == size and wanted < size:
            why = (
                "you checked every coordinate, i.e. computed the full numerical gradient "
                "(2n evaluations of f): check only num_checks randomly chosen coordinates"
            )
        elif count < wanted and evaluated >= wanted:
            why = (
                "some coordinates were drawn more than once, so fewer distinct coordinates "
                "were checked than asked for: draw without replacement, "
                "rng.choice(x.size, size=min(num_checks, x.size), replace=False)"
            )
        else:
            why = "check min(num_checks, x.size) distinct coordinates" + said
        fail(name, why, hidden=hidden, case=case)

    seen = [frozenset(coordinates((6, 8), 5, s)[1]) for s in (11, 11, 12, 13)]
    if seen[0] != seen[1]:
        fail(
            name,
            "two calls with the same seed checked different coordinates: draw them "
            "from rng = np.random.default_rng(seed), not from np.random or an unseeded "
            "generator",
            hidden=hidden,
        )
    if seen[0] == seen[2] == seen[3]:
        fail(
            name,
            "calls with different seeds checked the same coordinates: your sample "
            "ignores the seed argument; use rng = np.random.default_rng(seed)",
            hidden=hidden,
        )
    union = set().union(*(coordinates((6, 8), 5, s)[1] for s in range(20)))
    if not (min(union) < 24 <= max(union)):
        fail(
            name,
            "over many seeds your checker only ever checks one part of x: draw flat "
            "indices from range(x.size) and convert them with "
            "np.unravel_index(k, x.shape)",
            hidden=hidden,
        )
