"""Checkers of problem set 10: Newton's method with a backtracking (Armijo) line search.

The student writes ``backtracking(f, x, g, d, c=1e-4, shrink=0.5) -> (step, evaluations)``
and ``newton(f, grad, hess, x0, tol, max_iter) -> (path, counts)``, then compares Newton's
method with gradient descent and SciPy's L-BFGS-B on Rosenbrock's function.

The references are built from ``course_lib.second_order``: the line search is its
``armijo_backtracking`` (first step 1, halve until ``f(x + a d) <= f(x) + c a g.d``), and
the Newton direction is ``Newton(line_search=True).direction`` (solve ``H d = -g`` by Cholesky;
``d = -g`` when H is not positive definite). The only adapter is in the counting: the
student's ``backtracking`` evaluates ``f(x)`` itself, so its count is that of
``armijo_backtracking`` plus one. Every result is deterministic and checked to rounding.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from course_lib.grading._core import Case, Mistake, check_against_reference, describe, fail

__all__ = [
    "reference_backtracking",
    "reference_newton",
    "rosenbrock_table",
    "check_backtracking_step",
    "check_backtracking_count",
    "check_newton_form",
    "check_newton_path",
    "check_newton_counts",
    "check_newton_saddle",
    "check_rosenbrock_table",
    "ROSENBROCK_START",
    "TOL",
]

_BT, _NEWTON = "backtracking", "newton"
ROSENBROCK_START = (-1.2, 1.0)
TOL = 1e-6
"""The experiment's start on Rosenbrock's function and its gradient tolerance."""
GD_MAX_ITER = 2000


# --------------------------------------------------------------------------------------------
# The references
# --------------------------------------------------------------------------------------------
def reference_backtracking(f, x, g, d, c=1e-4, shrink=0.5, *, lr=1.0, sign=1.0, with_c=True):
    """``(step, calls of f including f(x))`` from the first step ``lr``; ``sign`` and
    ``with_c`` make two typical slips."""
    from course_lib.second_order import armijo_backtracking

    x, g, d = (np.array(v, dtype=float) for v in (x, g, d))
    fx = float(f(x))
    a, _, calls = armijo_backtracking(
        f, x, fx, sign * g, d, lr=lr, c=c if with_c else 1.0, shrink=shrink
    )
    return a, calls + 1


def _direction(H, g):
    from course_lib.second_order import Newton

    return Newton(line_search=True).direction(H, g)[0]


def reference_newton(
    f, grad, hess, x0, tol, max_iter, *, direction=None, search=None, stop=True, reset=True
):
    """``(path, (gradients, values, Hessians))`` of Newton's method with the line search.

    The keyword arguments make the typical slips: ``direction(H, g)`` another direction,
    ``search`` another line search, ``stop=False`` never stopping at ``tol``, ``reset=False``
    the first trial step of each line search being the last step found (not 1)."""
    direction = direction or _direction
    search = search or reference_backtracking
    x = np.array(x0, dtype=float)
    path, counts, first = [x], [0, 0, 0], 1.0
    for _ in range(max_iter):
        g = np.array(grad(x), dtype=float)
        counts[0] += 1
        if stop and np.linalg.norm(g) <= tol:
            break
        H = np.array(hess(x), dtype=float).reshape(x.size, x.size)
        counts[2] += 1
        d = direction(H, g)
        a, calls = search(f, x, g, d, lr=first)
        counts[1] += calls
        x = x + a * d
        path.append(x)
        if not reset:
            first = a
    return np.array(path), tuple(counts)


# --------------------------------------------------------------------------------------------
# Test problems: f, grad and hess as plain functions of one point
# --------------------------------------------------------------------------------------------
def _functions(landscape):
    def f(x):
        return float(np.reshape(landscape.value(np.asarray(x, dtype=float)), -1)[0])

    def grad(x):
        return np.array(landscape.grad(np.asarray(x, dtype=float)), dtype=float).reshape(-1)

    def hess(x):
        x = np.asarray(x, dtype=float)
        return np.array(landscape.hessian(x), dtype=float).reshape(x.size, x.size)

    return f, grad, hess


def _rosenbrock(rng, hidden):
    from course_lib.landscapes import Rosenbrock

    if not hidden:
        return Rosenbrock(), ROSENBROCK_START, "Rosenbrock (a=1, b=100) from (-1.2, 1)"
    a, b = float(rng.uniform(0.5, 1.5)), float(rng.uniform(20, 100))
    x0 = (float(rng.uniform(-2, 0)), float(rng.uniform(-1, 2)))
    return Rosenbrock(a, b), x0, "a random Rosenbrock"


def _quadratic(rng):
    from course_lib.grading.problems import spd
    from course_lib.landscapes import Quadratic

    H = spd(rng, rng.uniform(0.5, 5.0, 3))
    center = rng.uniform(-1, 1, 3)
    return Quadratic(H, -H @ center), rng.uniform(-2, 2, 3), "a random 3-D convex quadratic"


def _newton_cases(seed, hidden):
    rng = np.random.default_rng(seed)
    cases = []
    for landscape, x0, label in (_rosenbrock(rng, hidden), _quadratic(rng)):
        f, grad, hess = _functions(landscape)
        args = dict(f=f, grad=grad, hess=hess, x0=np.array(x0, dtype=float), tol=TOL, max_iter=100)
        cases.append(Case(args, f"{label}, tol={TOL:g}, max_iter=100"))
    return cases


def _saddle_cases(seed, hidden):
    from course_lib.landscapes import Saddle

    rng = np.random.default_rng(seed)
    f, grad, hess = _functions(Saddle())
    x0 = (1.0, 0.5) if not hidden else (float(rng.uniform(0.5, 1.5)), float(rng.uniform(0.2, 1)))
    args = dict(f=f, grad=grad, hess=hess, x0=np.array(x0), tol=TOL, max_iter=3)
    return [Case(args, f"the saddle x^2 - y^2 from ({x0[0]:.3g}, {x0[1]:.3g}), max_iter=3")]


def _backtracking_cases(seed, hidden):
    """Points of a Rosenbrock function with the directions -g (several halvings) and the
    Newton direction (often the full step)."""
    from course_lib.landscapes import Rosenbrock

    rng = np.random.default_rng(seed)
    landscape = Rosenbrock() if not hidden else Rosenbrock(1.0, float(rng.uniform(20, 100)))
    f, grad, hess = _functions(landscape)
    cases = []
    points = ((-1.2, 1.0), (0.5, 0.5)) if not hidden else rng.uniform(-1.5, 1.5, (3, 2))
    for k, x in enumerate(points):
        x = np.array(x, dtype=float)
        g = grad(x)
        for d, name in ((-g, "-g"), (_direction(hess(x), g), "the Newton direction")):
            # the defaults, then a large c (where a slip in the test shows) and another shrink
            c, shrink = (1e-4, 0.5) if k == 0 else (0.3, 0.6)
            if hidden:
                c, shrink = float(rng.uniform(0.1, 0.5)), float(rng.uniform(0.3, 0.7))
            args = dict(f=f, x=x, g=g, d=d, c=c, shrink=shrink)
            where = f"Rosenbrock at x = ({x[0]:.3g}, {x[1]:.3g}), d = {name}"
            cases.append(Case(args, f"{where}, c={c:g}, shrink={shrink:g}"))
    return cases


# --------------------------------------------------------------------------------------------
# Question 1: the line search
# --------------------------------------------------------------------------------------------
def _pair(out):
    step, count = out
    return float(step), float(count)


_BT_MISTAKES = [
    Mistake(
        "sign",
        "your Armijo test has the wrong sign: with g.d < 0 the sufficient decrease is "
        "f(x + a d) <= f(x) + c a g.d (the right side is below f(x)), not f(x) - c a g.d",
        variant=lambda f, x, g, d, c, shrink: reference_backtracking(
            f, x, g, d, c, shrink, sign=-1.0
        )[0],
    ),
    Mistake(
        "no_c",
        "your Armijo test leaves out c: it asks for the full decrease a g.d of the linear "
        "model, f(x + a d) <= f(x) + c a g.d with c = 1e-4 asks only for a small part of it",
        variant=lambda f, x, g, d, c, shrink: reference_backtracking(
            f, x, g, d, c, shrink, with_c=False
        )[0],
    ),
]

_BT_MISTAKES.append(
    Mistake(
        "defaults",
        "you ignore the arguments c and shrink (your function uses 1e-4 and 0.5 whatever it "
        "is given): use the parameters",
        variant=lambda f, x, g, d, c, shrink: reference_backtracking(f, x, g, d)[0],
    )
)

_COUNT_MISTAKES = [
    Mistake(
        "no_fx",
        "your count leaves out the evaluation of f(x) itself: count every call of f",
        variant=lambda *args: reference_backtracking(*args)[1] - 1,
    ),
    Mistake(
        "plus_one",
        "your count is one more than the calls of f: count f(x) and each trial point once",
        variant=lambda *args: reference_backtracking(*args)[1] + 1,
    ),
]


def check_backtracking_step(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """The step of ``backtracking(f, x, g, d)`` equals Armijo backtracking from 1 (halving)."""
    check_against_reference(
        student,
        reference_backtracking,
        _backtracking_cases(seed, hidden),
        name=_BT,
        hidden=hidden,
        what="the step",
        extract=lambda out: _pair(out)[0],
        unreadable="must return a pair (step, evaluations)",
        mistakes=_BT_MISTAKES,
        rtol=1e-12,
    )


def check_backtracking_count(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """The number of evaluations ``backtracking`` reports equals the calls of f it needs."""
    check_against_reference(
        student,
        reference_backtracking,
        _backtracking_cases(seed, hidden),
        name=_BT,
        hidden=hidden,
        what="the number of evaluations of f",
        extract=lambda out: _pair(out)[1],
        unreadable="must return a pair (step, evaluations)",
        mistakes=_COUNT_MISTAKES,
        hint="count f(x) and each trial point once (if the step test fails, fix the step first)",
        rtol=0,
        atol=0,
    )


# --------------------------------------------------------------------------------------------
# Question 2: Newton's method
# --------------------------------------------------------------------------------------------
def _path(out):
    return np.array(out[0], dtype=float)


def _counts(out):
    counts = np.array(tuple(out[1]), dtype=float)
    if counts.shape != (3,):
        raise ValueError("three counts")
    return counts


def _form(out):
    """What the form test compares: path is (k + 1, n), starts at x0; three counts."""
    path = np.array(out[0], dtype=float)
    return np.r_[path.ndim, path.shape[-1], path[0], len(np.array(tuple(out[1]), dtype=float))]


def _gradient_direction(H, g):
    return -np.asarray(g, dtype=float)


def _solve_plain(H, g):
    return np.linalg.solve(H, -g)


def _newton_variant(part, **slip):
    def variant(f, grad, hess, x0, tol, max_iter):
        return part(reference_newton(f, grad, hess, x0, tol, max_iter, **slip))

    return variant


def _bad_search(**slip):
    return lambda f, x, g, d, lr=1.0: reference_backtracking(f, x, g, d, lr=lr, **slip)


def _newton_mistakes(part):
    slips = [
        (
            "gradient",
            "you step along the gradient -g, not the Newton direction: solve "
            "H d = -g (np.linalg.solve(H, -g))",
            dict(direction=_gradient_direction),
        ),
        (
            "no_reset",
            "each line search starts from the last step found instead of 1: start "
            "every line search with the full Newton step a = 1",
            dict(reset=False),
        ),
        (
            "no_stop",
            "you never stop at tol: stop (before computing the Hessian) as soon as "
            "||grad(x)|| <= tol",
            dict(stop=False),
        ),
        (
            "no_fallback",
            "where H is not positive definite you still step along the solution "
            "of H d = -g, which heads for the saddle: step along -g there",
            dict(direction=_solve_plain),
        ),
        (
            "sign",
            "your Armijo test has the wrong sign (f(x) - c a g.d instead of f(x) + c a g.d)",
            dict(search=_bad_search(sign=-1.0)),
        ),
        ("no_c", "your Armijo test leaves out c", dict(search=_bad_search(with_c=False))),
    ]
    return [Mistake(n, m, variant=_newton_variant(part, **s)) for n, m, s in slips]


def _search_without_fx(f, x, g, d, lr=1.0):
    a, calls = reference_backtracking(f, x, g, d, lr=lr)
    return a, calls - 1


def _counts_mistakes():
    def off(index, delta):
        def variant(f, grad, hess, x0, tol, max_iter):
            counts = _counts(reference_newton(f, grad, hess, x0, tol, max_iter))
            counts[index] += delta
            return counts

        return variant

    which = ("gradient", "function", "Hessian")
    return (
        [
            Mistake(
                f"off_{i}_{d}",
                f"your count of {which[i]} evaluations is {'one more' if d > 0 else 'one less'} "
                f"than the calls made"
                + (
                    ": the last gradient, at which the test ||g|| <= tol stops the loop, counts too"
                    if i == 0 and d < 0
                    else ""
                ),
                variant=off(i, d),
            )
            for i in range(3)
            for d in (-1, 1)
        ]
        + [
            Mistake(
                "no_fx",
                "your count of function evaluations leaves out f(x) of each line search: "
                "backtracking must count f(x) too",
                variant=_newton_variant(_counts, search=_search_without_fx),
            )
        ]
        + _newton_mistakes(_counts)
    )


def _newton_check(student, cases, hidden, what, extract, mistakes, **kw):
    check_against_reference(
        student,
        reference_newton,
        cases,
        name=_NEWTON,
        hidden=hidden,
        what=what,
        extract=extract,
        unreadable="must return a pair (path, counts): path an array of shape (k + 1, n), "
        "counts a tuple of three integers (gradients, values, Hessians)",
        mistakes=mistakes,
        **kw,
    )


def check_newton_form(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``newton`` returns (path, counts): path 2-D with n columns starting at x0, three counts."""
    _newton_check(
        student,
        _newton_cases(seed, hidden),
        hidden,
        "the form (path.ndim, n, path[0], len(counts))",
        _form,
        [],
        rtol=0,
        atol=0,
    )


def check_newton_path(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """The path of ``newton`` equals the reference's to rounding."""
    _newton_check(
        student,
        _newton_cases(seed, hidden),
        hidden,
        "the path",
        _path,
        _newton_mistakes(_path),
        verdict=_path_verdict(hidden),
        rtol=1e-8,
        atol=1e-10,
    )


def _path_verdict(hidden):
    def verdict(got, expected, case):
        if got.shape != expected.shape:
            return (
                f"the path has {len(got)} points, the correct one {len(expected)}"
                if not hidden
                else "the path has the wrong number of points"
            )
        bad = np.argwhere(~np.isclose(got, expected, 1e-8, 1e-10))
        row, col = (int(v) for v in bad[0])
        return f"the path first differs at step {row}, coordinate {col}"

    return verdict


def check_newton_counts(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """The (gradient, function, Hessian) evaluation counts of ``newton`` equal the calls."""
    _newton_check(
        student,
        _newton_cases(seed, hidden),
        hidden,
        "the counts (gradients, values, Hessians)",
        _counts,
        _counts_mistakes(),
        rtol=0,
        atol=0,
        verdict=_counts_verdict,
    )


def _counts_verdict(got, expected, case):
    names = ("gradient", "function", "Hessian")
    wrong = [names[i] for i in range(3) if got[i] != expected[i]]
    if len(wrong) == 3:
        return (
            "all three counts differ: your method takes another number of iterations "
            "than the correct one (make the path test pass first)"
        )
    return (
        f"the count of {' and '.join(wrong)} evaluations differs from the calls the "
        f"method makes (count every call of grad, f and hess, and only those)"
    )


def check_newton_saddle(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """On the saddle x^2 - y^2 (H indefinite) ``newton`` steps along -g, away from the saddle."""
    _newton_check(
        student,
        _saddle_cases(seed, hidden),
        hidden,
        "the path on the saddle",
        _path,
        _newton_mistakes(_path),
        rtol=1e-8,
        atol=1e-10,
    )


# --------------------------------------------------------------------------------------------
# Question 3: Rosenbrock's function, three methods
# --------------------------------------------------------------------------------------------
def rosenbrock_table(newton: Callable = reference_newton) -> np.ndarray:
    """Rows Newton, gradient descent (Newton with H = I: -g and the same line search),
    L-BFGS-B; columns steps and gradient evaluations, from ``ROSENBROCK_START`` to
    ``||g|| <= TOL``."""
    from scipy.optimize import minimize

    from course_lib.landscapes import Rosenbrock

    f, grad, hess = _functions(Rosenbrock())
    path, counts = newton(f, grad, hess, ROSENBROCK_START, TOL, 100)
    gd_path, gd_counts = newton(f, grad, lambda x: np.eye(2), ROSENBROCK_START, TOL, GD_MAX_ITER)
    res = minimize(f, ROSENBROCK_START, jac=grad, method="L-BFGS-B", options={"gtol": TOL})
    return np.array(
        [[len(path) - 1, counts[0]], [len(gd_path) - 1, gd_counts[0]], [res.nit, res.njev]],
        dtype=float,
    )


@functools.lru_cache(maxsize=1)
def _reference_table() -> np.ndarray:
    return rosenbrock_table()


def check_rosenbrock_table(table, hidden: bool = False) -> None:
    """``table`` (3 x 2) equals :func:`rosenbrock_table` exactly (integers)."""
    name = "table"
    got = np.array(table, dtype=float) if np.ndim(table) else np.array([table], dtype=float)
    expected = _reference_table()
    if got.shape != (3, 2):
        fail(name, f"must be an array of shape (3, 2), got shape {got.shape}", hidden=hidden)
    if np.array_equal(got[:, ::-1], expected):
        fail(
            name,
            "your columns are swapped: column 0 is the steps, column 1 the gradient evaluations",
            hidden=hidden,
        )
    if got[2, 1] == expected[2, 0] != expected[2, 1]:
        fail(
            name,
            "for L-BFGS-B the gradient evaluations are res.njev (or res.nfev), not res.nit",
            hidden=hidden,
        )
    if np.array_equal(got[:2, 0], expected[:2, 0] + 1):
        fail(
            name,
            "your steps count the points of the path: the steps are len(path) - 1 "
            "(row 0 is the start)",
            hidden=hidden,
        )
    wrong = [(i, j) for i in range(3) for j in range(2) if got[i, j] != expected[i, j]]
    if wrong:
        rows, cols = ("Newton", "gradient descent", "L-BFGS-B"), ("steps", "gradients")
        i, j = wrong[0]
        fail(
            name,
            f"the {cols[j]} of {rows[i]} (row {i}, column {j}) differ from the "
            f"reference run (the rows of Newton and gradient descent come from your newton: "
            f"get its tests right first)",
            hidden=hidden,
            details=f"expected: {describe(expected)}\ngot:      {describe(got)}",
        )
