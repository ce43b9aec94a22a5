"""Checkers for problem set 3: gradient descent, the learning rates of a quadratic, and the
cost of a bad condition number.

Gradient descent is deterministic, so the iterates are compared with course_lib's reference
(``course_lib.train.run`` with ``course_lib.optim.SGD``) to rounding. The two checkers of
``gradient_descent`` grade different things, so that one slip costs the points of what it
breaks and no more:

- the *trajectory* checker grades the contract: shape ``(steps + 1, dim)``, row 0 is ``x0``,
  ``x0`` is not modified and not returned, integer and list inputs give the same result as
  floats;
- the *steps* checker grades the update itself: every returned row follows from the previous
  one by ``x - lr * grad(x)``. It accepts a trajectory that lacks ``x0`` or has one row too
  many or too few (the trajectory checker takes points for those), and a function that
  modifies ``x0`` (it works on copies).

The learning-rate checkers compare with ``np.linalg.eigvalsh`` on random symmetric positive
definite Hessians (of size 1 to 8, rotated 2-D bowls, integer entries, repeated eigenvalues)
and name the usual confusions: lambda_min for lambda_max, 1/lambda_max for 2/lambda_max, the
diagonal for the eigenvalues, the unsorted (and possibly complex) output of
``np.linalg.eigvals``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Optional, Sequence

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
from course_lib.grading.problems import Problem, log_uniform, random_quadratic, rotated_bowl, spd

__all__ = [
    "check_gradient_descent_trajectory",
    "check_gradient_descent_steps",
    "check_max_stable_lr",
    "check_best_lr",
    "check_best_rate",
    "check_steps_to_tolerance",
    "check_condition_experiment",
]


# --------------------------------------------------------------------------------------------
# The reference (test problems: course_lib.grading.problems)
# --------------------------------------------------------------------------------------------
def _reference_path(problem: Problem, x0, lr: float, steps: int) -> np.ndarray:
    """course_lib's gradient descent: ``run(SGD(lr), ...)``, never stopped for divergence."""
    from course_lib.optim import SGD
    from course_lib.train import run as run_optimizer

    traj = run_optimizer(SGD(lr=lr), problem, np.asarray(x0, dtype=float), steps, bound=math.inf)
    if traj.diverged:  # the test cases are built not to overflow
        raise RuntimeError("reference run overflowed")
    return traj.path.reshape(traj.path.shape[0], -1)


# --------------------------------------------------------------------------------------------
# Question 1: gradient descent
# --------------------------------------------------------------------------------------------
_GD = "gradient_descent"
_ALIASED = (
    "all rows of your trajectory are the same point: you store the same array object "
    "at every step and then change it in place (x -= ...), so every row shows the last "
    "iterate. Store a copy (x.copy()) or create a new array each step, "
    "x = x - lr * grad(x)"
)
_ALIASED_AFTER_FIRST = (
    "every row after the first is the same point: you store the same "
    "array object at every step and then change it in place (x -= ...), "
    "so every row shows the last iterate. Store a copy (x.copy()) or create "
    "a new array each step, x = x - lr * grad(x)"
)


def _explain_gd_error(exc: BaseException) -> Optional[str]:
    text = str(exc).lower()
    if "cast" in text:
        return "x0 may be an integer array: work on a float copy, x = np.array(x0, dtype=float)"
    if isinstance(exc, TypeError) and ("sequence" in text or "'list'" in text):
        return "x0 may be a list: convert it first, x = np.array(x0, dtype=float)"
    return None


def _gd_case(problem: Problem, x0, lr: float, steps: int, hidden: bool) -> Case:
    if isinstance(x0, list):
        shown = f"{x0} (a list)"
    elif np.asarray(x0).dtype.kind in "iu":
        shown = f"np.array({np.asarray(x0).tolist()}) (integers)"
    else:
        shown = describe(np.asarray(x0))
    label = f"grad of {problem.description}, x0 = {shown}, lr = {lr:.6g}, steps = {steps}"
    return Case({"grad": problem, "x0": x0, "lr": lr, "steps": steps}, label)


def _stable_lr(rng: np.random.Generator, problem: Problem) -> float:
    """A learning rate in the stable range of a quadratic problem, rounded for display."""
    if problem.dim == 1:  # a Parabola: curvature 2a
        lam_max = float(problem.landscape.hessian(0.0))
    else:
        lam_max = float(problem.landscape.eigenvalues[-1])
    return float(np.round(rng.uniform(0.3, 1.8) / lam_max, 4))


def _trajectory_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    def mk(dim):
        return random_quadratic(rng, dim, _GD, hidden)

    cases = []
    p = mk(2)
    cases.append(
        _gd_case(
            p,
            np.round(rng.uniform(-2, 2, 2), 3),
            _stable_lr(rng, p),
            int(rng.integers(4, 9)),
            hidden,
        )
    )
    p = mk(1)
    cases.append(_gd_case(p, np.round(rng.uniform(-2, 2, 1), 3), _stable_lr(rng, p), 3, hidden))
    p = mk(3)
    cases.append(_gd_case(p, np.round(rng.uniform(-2, 2, 3), 3), _stable_lr(rng, p), 0, hidden))
    p = mk(2)
    cases.append(_gd_case(p, rng.integers(-3, 4, 2), _stable_lr(rng, p), 4, hidden))
    p = mk(3)
    cases.append(
        _gd_case(p, [int(v) for v in rng.integers(-3, 4, 3)], _stable_lr(rng, p), 2, hidden)
    )
    dim = int(rng.integers(2, 7))
    p = mk(dim)
    cases.append(
        _gd_case(
            p,
            np.round(rng.uniform(-2, 2, dim), 3),
            _stable_lr(rng, p),
            int(rng.integers(1, 16)),
            hidden,
        )
    )
    p = mk(1)
    cases.append(
        _gd_case(p, [float(np.round(rng.uniform(-2, 2), 3))], _stable_lr(rng, p), 1, hidden)
    )
    return cases


def check_gradient_descent_trajectory(
    student: Callable, seed: int = 0, hidden: bool = False
) -> None:
    """``gradient_descent(grad, x0, lr, steps)`` returns a well-formed trajectory, purely.

    On seeded quadratics (1-D to 6-D, 0 to 15 steps): the result has shape
    ``(steps + 1, dim)``, row 0 equals ``x0``, ``x0`` is neither modified nor returned (or a
    view of it), and an integer array or a list as ``x0`` gives the same trajectory as the
    same numbers as a float array.
    """
    for case in _trajectory_cases(np.random.default_rng(seed), hidden):
        out = run(
            student, case, name=_GD, hidden=hidden, no_aliasing=True, explain=_explain_gd_error
        )
        got = trajectory_shape(out, case, hidden)
        x0 = np.asarray(case.args["x0"], dtype=float)
        if not np.array_equal(got[0], x0):
            steps = case.args["steps"]
            aliased = steps >= 1 and np.all(got == got[-1])
            fail(
                _GD,
                _ALIASED
                if aliased
                else "row 0 of the trajectory must be x0 itself (row t is the iterate after t "
                "steps)",
                hidden=hidden,
                case=case,
                details=f"x0:     {describe(x0)}\nrow 0:  {describe(got[0])}",
            )
        given = case.args["x0"]
        if isinstance(given, list) or np.asarray(given).dtype.kind != "f":
            twin = Case({**case.args, "x0": x0}, case.label)
            expected = as_array(
                run(student, twin, name=_GD, hidden=hidden, explain=_explain_gd_error),
                name=_GD,
                what="the trajectory",
                hidden=hidden,
                case=twin,
            )
            if not close(got, expected, rtol=1e-12, atol=1e-12):
                kind = "a list" if isinstance(given, list) else "an integer array"
                whole = np.all(got == np.round(got)) and not np.all(expected == np.round(expected))
                why = (
                    f"with x0 given as {kind}, your trajectory holds whole numbers: it is "
                    f"stored with x0's integer dtype (np.tile(x0, ...), np.zeros_like(x0) "
                    f"or np.array(x0) keep it), which rounds every iterate; create it as "
                    f"floats, e.g. np.array(x0, dtype=float)"
                    if whole
                    else f"with x0 given as {kind}, your trajectory differs from the one for the "
                    f"same numbers as a float array: convert x0 first, "
                    f"x = np.array(x0, dtype=float)"
                )
                fail(
                    _GD,
                    why,
                    hidden=hidden,
                    case=case,
                    details=f"expected: {describe(expected)}\ngot:      {describe(got)}",
                )


def trajectory_shape(
    out: Any,
    case: Case,
    hidden: bool,
    name: str = _GD,
    reference: Optional[Callable[[Case], np.ndarray]] = None,
) -> np.ndarray:
    """The output as a ``(steps + 1, dim)`` array, with a diagnosis of a wrong shape.

    ``name`` is the student's function; ``reference(case)`` the right trajectory (default:
    gradient descent), used to tell a trajectory without ``x0`` from one a row short.
    """
    problem, steps = case.args["grad"], case.args["steps"]
    dim = problem.dim
    got = as_array(out, name=name, what="the trajectory", hidden=hidden, case=case)
    want = (steps + 1, dim)
    shape = "" if hidden else f"; got shape {got.shape}, expected {want}"
    if got.ndim == 1 and dim == 1 and got.size == steps + 1:
        fail(
            name,
            "the trajectory must be 2-D, one row per iterate and one column per "
            "coordinate, even in 1-D: shape (steps + 1, 1)",
            hidden=hidden,
            case=case,
        )
    if got.ndim != 2 or got.shape[1] != dim:
        transposed = got.ndim == 2 and got.shape == want[::-1]
        fail(
            name,
            ("your trajectory is transposed: " if transposed else "")
            + "the trajectory must have one row per iterate and one column per coordinate"
            + shape,
            hidden=hidden,
            case=case,
        )
    rows = got.shape[0]
    if rows == steps and steps >= 1:
        right = (
            _reference_path(problem, case.args["x0"], case.args["lr"], steps)
            if reference is None
            else reference(case)
        )
        if close(got, right[1:], rtol=1e-9, atol=1e-12):
            why = (
                "the trajectory does not include x0: row 0 must be x0 and row t the iterate "
                "after t steps, steps + 1 rows in all"
            )
        else:
            why = (
                "the trajectory has one row too few: x0 first, then one row per step, "
                "steps + 1 rows in all"
            )
        fail(name, why, hidden=hidden, case=case)
    if rows == steps + 2:
        fail(
            name,
            "the trajectory has one row too many: make exactly `steps` updates "
            "(for t in range(steps)) and keep x0 as row 0, steps + 1 rows in all",
            hidden=hidden,
            case=case,
        )
    if rows != steps + 1:
        fail(
            name,
            "the trajectory must have steps + 1 rows, x0 and one per step" + shape,
            hidden=hidden,
            case=case,
        )
    return got


def _gd_variant(update: Callable) -> Callable:
    """A wrong gradient descent: ``x_next = update(x, g, lr, x0, grad)``."""

    def variant(grad, x0, lr, steps):
        x = np.array(x0, dtype=float)
        x_start, rows = x.copy(), [x.copy()]
        for _ in range(steps):
            x = update(x, grad(x), lr, x_start, grad)
            rows.append(np.array(x, dtype=float))
        return np.array(rows)

    return variant


def _moves_uphill(got, case: Case) -> bool:
    problem = case.args["grad"]
    values = [problem.value(row) for row in got]
    return len(values) > 1 and values[-1] > values[0]


def _aliased_after_first(got, case: Case) -> bool:
    return got.ndim == 2 and got.shape[0] > 2 and bool(np.all(got[1:] == got[-1]))


def _aliased(got, case: Case) -> bool:
    return got.ndim == 2 and got.shape[0] > 1 and bool(np.all(got == got[-1]))


_STEP_MISTAKES = [
    Mistake(
        "ascent",
        "your iterates move uphill: you add the gradient, x + lr * grad(x). The "
        "gradient points uphill, so gradient descent steps against it: "
        "x - lr * grad(x)",
        variant=_gd_variant(lambda x, g, lr, x0, grad: x + lr * g),
    ),
    Mistake(
        "no_lr",
        "you step by the whole gradient, x - grad(x): multiply it by the learning "
        "rate, x - lr * grad(x)",
        variant=_gd_variant(lambda x, g, lr, x0, grad: x - g),
    ),
    Mistake(
        "lr_divides",
        "you divide the gradient by the learning rate: the step is lr * grad(x), x - lr * grad(x)",
        variant=_gd_variant(lambda x, g, lr, x0, grad: x - g / lr),
    ),
    Mistake(
        "gradient_at_x0",
        "every step uses the gradient at the start point x0: evaluate "
        "the gradient at the current iterate, x - lr * grad(x)",
        variant=_gd_variant(lambda x, g, lr, x0, grad: x - lr * grad(x0)),
    ),
    Mistake("aliased", _ALIASED, predicate=_aliased),
    Mistake("aliased_after_first", _ALIASED_AFTER_FIRST, predicate=_aliased_after_first),
    Mistake(
        "uphill",
        "your iterates move uphill: the loss is higher at the last iterate than "
        "at x0. Gradient descent steps against the gradient, x - lr * grad(x)",
        predicate=_moves_uphill,
    ),
]


def _steps_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    from course_lib.landscapes import Cosh, Rosenbrock

    cases = []
    kappa = float(np.round(log_uniform(rng, 4, 30), 1))
    angle = float(np.round(rng.uniform(0.2, 1.4), 3))
    center = np.round(rng.uniform(-1, 1, 2), 2)
    p = rotated_bowl(kappa, angle, center, _GD, hidden)
    lr = float(np.round(rng.uniform(1.0, 1.9) / kappa, 4))  # oscillates across the ravine
    cases.append(
        _gd_case(
            p, np.round(center + rng.uniform(-2, 2, 2), 3), lr, int(rng.integers(10, 20)), hidden
        )
    )
    for dim in (int(rng.integers(3, 6)), 1, int(rng.integers(6, 9))):
        p = random_quadratic(rng, dim, _GD, hidden)
        cases.append(
            _gd_case(
                p,
                np.round(rng.uniform(-2, 2, dim), 3),
                _stable_lr(rng, p),
                int(rng.integers(5, 30)),
                hidden,
            )
        )
    rosen = Problem(Rosenbrock(), 2, "Rosenbrock's function", _GD, hidden)
    x0 = np.round(np.array([-1.2, 1.0]) + rng.uniform(-0.2, 0.2, 2), 3)
    cases.append(
        _gd_case(
            rosen,
            x0,
            float(np.round(rng.uniform(2e-4, 6e-4), 5)),
            int(rng.integers(20, 40)),
            hidden,
        )
    )
    cosh = Problem(Cosh(), 1, "cosh, a 1-D convex function that is not quadratic", _GD, hidden)
    cases.append(
        _gd_case(
            cosh,
            np.round(rng.uniform(0.5, 1.5, 1), 3),
            float(np.round(rng.uniform(0.2, 0.8), 3)),
            int(rng.integers(3, 12)),
            hidden,
        )
    )
    return cases


def rows_right_but_shifted(got: np.ndarray, long: np.ndarray, steps: int) -> bool:
    """True if ``got`` is a trajectory of ``steps`` steps without ``x0``, or with one row more
    or less, whose rows are right: ``long`` is the right trajectory of ``steps + 1`` steps.
    A step checker accepts it, leaving the shape to the trajectory checker."""
    rows = got.shape[0]
    return any(
        close(got, long[start : start + rows], rtol=1e-9, atol=1e-12)
        for start in (0, 1)
        if rows >= steps and start + rows <= steps + 2
    )


def check_gradient_descent_steps(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``gradient_descent`` makes the right steps: row t + 1 is row t - lr * grad(row t).

    Compares the iterates with course_lib's gradient descent (``run(SGD(lr), ...)``) on a
    rotated ill-conditioned bowl, random quadratics of 1 to 8 dimensions, Rosenbrock's function
    and cosh. The shape and purity of the trajectory are graded by
    :func:`check_gradient_descent_trajectory`: here a trajectory without ``x0``, with one row
    too many or too few, transposed, or computed by modifying ``x0`` passes if its iterates
    are right (the mark scheme: 1 point for the shape, 2 for the updates).
    """

    def read(out, case):  # the trajectory checker grades the shape: accept it loosely here
        got = as_array(out, name=_GD, what="the trajectory", hidden=hidden, case=case)
        dim = case.args["grad"].dim
        if got.ndim == 1 and dim == 1:
            got = got.reshape(-1, 1)
        if got.ndim == 2 and got.shape[0] == dim and got.shape[1] != dim:
            got = got.T  # transposed: one column per iterate (the shape's point is lost there)
        if got.ndim != 2 or got.shape[1] != dim:
            fail(
                _GD,
                "the trajectory must have one row per iterate and one column per "
                "coordinate" + ("" if hidden else f"; got shape {got.shape}"),
                hidden=hidden,
                case=case,
            )
        return got

    def accept(got, case):  # without x0, with one row more or less, transposed: rows right
        steps = case.args["steps"]
        long = _reference_path(case.args["grad"], case.args["x0"], case.args["lr"], steps + 1)
        paths = [got, got.T] if got.shape[0] == got.shape[1] else [got]
        return any(rows_right_but_shifted(path, long, steps) for path in paths)

    def verdict(got, expected, case):
        if not np.all(np.isfinite(got)):
            return "the trajectory contains NaN or infinite values"
        rows, steps = got.shape[0], case.args["steps"]
        if abs(rows - (steps + 1)) > 1:
            fail(
                _GD,
                "the trajectory must have steps + 1 rows, x0 and one per step"
                + ("" if hidden else f"; got {rows}, expected {steps + 1}"),
                hidden=hidden,
                case=case,
            )
        return (
            "the iterates differ from gradient descent's: row t + 1 must be "
            "row t - lr * grad(row t)"
        )

    check_against_reference(
        student,
        _reference_path,
        _steps_cases(np.random.default_rng(seed), hidden),
        name=_GD,
        hidden=hidden,
        what="the trajectory",
        rtol=1e-9,
        atol=1e-12,
        mistakes=_STEP_MISTAKES,
        check_inputs=False,
        explain=_explain_gd_error,
        read=read,
        accept=accept,
        verdict=verdict,
    )


# --------------------------------------------------------------------------------------------
# Questions 2 and 3: learning rates of a quadratic from its Hessian
# --------------------------------------------------------------------------------------------
def _eigs(H) -> np.ndarray:
    return np.linalg.eigvalsh(np.asarray(H, dtype=float))


def _max_stable_lr(H) -> float:
    return 2.0 / _eigs(H)[-1]


def _best(H) -> tuple[float, float]:
    """(learning rate, rate) of course_lib.analysis.best_gd for H's extreme eigenvalues."""
    from course_lib.analysis import best_gd

    lam = _eigs(H)
    best = best_gd(float(lam[0]), float(lam[-1]))
    return best.lr, best.rate


def _eigvals_unsorted(H) -> np.ndarray:
    return np.real(np.linalg.eigvals(np.asarray(H, dtype=float)))


def _diag(H) -> np.ndarray:
    return np.sort(np.diag(np.asarray(H, dtype=float)))


def _awkward(rng: np.random.Generator, eigenvalues) -> np.ndarray:
    """A matrix with these eigenvalues on which np.linalg.eigvals returns complex numbers
    (it may, for a symmetric matrix with a repeated eigenvalue) or, failing that, unsorted
    ones: the first of up to 1000 random rotations that does (about 1 in 40 does)."""
    fallback = None
    for _ in range(1000):
        h = spd(rng, eigenvalues)
        ev = np.linalg.eigvals(h)
        if np.iscomplexobj(ev):
            return h
        if fallback is None and np.any(np.diff(ev) < 0):
            fallback = h
    return fallback if fallback is not None else h


def hessian_cases(seed: int) -> list[Case]:
    from course_lib.landscapes import Quadratic

    rng = np.random.default_rng(seed)
    if seed == 0:  # the visible cases: simple ones first
        bowl = Quadratic.bowl(condition_number=10.0, angle=math.pi / 6)
        cases = [
            Case({"H": np.array([[1.0, 0.0], [0.0, 10.0]])}, "H = [[1, 0], [0, 10]]"),
            Case(
                {"H": np.array(bowl.A)},
                "H = Quadratic.bowl(condition_number=10, angle=np.pi / 6).A, a rotated bowl, "
                f"H = {np.round(bowl.A, 4).tolist()}",
            ),
            Case({"H": np.array([[2, 1], [1, 2]])}, "H = np.array([[2, 1], [1, 2]]) (integers)"),
            Case({"H": [[4.0]]}, "H = [[4.0]] (a 1 x 1 list: a 1-D quadratic)"),
        ]
    else:
        kappa, angle = float(log_uniform(rng, 2, 200)), float(rng.uniform(0.1, 1.5))
        lam_min = float(log_uniform(rng, 0.05, 5))
        b = rng.integers(-3, 4, (3, 3))
        cases = [
            Case({"H": np.array(Quadratic.bowl(kappa, angle, lam_min).A)}, "a rotated bowl"),
            Case({"H": b.T @ b + np.diag(rng.integers(1, 4, 3))}, "an integer matrix"),
            Case({"H": [[float(log_uniform(rng, 0.1, 10))]]}, "a 1 x 1 list"),
        ]
    for n in (3, int(rng.integers(4, 9))):
        lam = log_uniform(rng, 0.01, 100, n)
        cases.append(
            Case(
                {"H": spd(rng, lam)},
                f"a random {n} x {n} symmetric positive definite H with eigenvalues "
                f"{describe(np.sort(lam))}",
            )
        )
    repeated = float(np.round(rng.uniform(0.5, 3), 1))
    lam = [repeated] * 4 + [float(np.round(repeated * rng.uniform(2, 6), 1))]
    cases.append(
        Case({"H": _awkward(rng, lam)}, f"a 5 x 5 H with eigenvalues {lam} (a repeated eigenvalue)")
    )
    return cases


_COMPLEX = (
    "returned a complex number: np.linalg.eig and np.linalg.eigvals treat H as a general "
    "matrix and can return complex eigenvalues (with a tiny imaginary part) even for a "
    "symmetric one. A Hessian is symmetric: use np.linalg.eigvalsh, whose eigenvalues "
    "are real and sorted in ascending order"
)
_UNSORTED = (
    "np.linalg.eigvals returns the eigenvalues in no particular order, so its first "
    "and last entries are not the smallest and the largest: use np.linalg.eigvalsh "
    "(for symmetric matrices, ascending order) or take min() and max()"
)
_DIAGONAL = (
    "you used the diagonal of H: its entries are the curvatures along the coordinate "
    "axes, which equal the eigenvalues only when the bowl is not rotated (H diagonal). "
    "Use the eigenvalues of H, np.linalg.eigvalsh(H)"
)


def _explain_eig_error(exc: BaseException) -> Optional[str]:
    if "complex" in str(exc).lower():
        return _COMPLEX
    return None


def _by_eigenvalues(formula: Callable[[float, float], Any]) -> Callable:
    """A variant computing ``formula(lambda_min, lambda_max)`` from the right eigenvalues."""
    return lambda H: formula(*_eigs(H)[[0, -1]])


def _by_diagonal(formula: Callable[[float, float], Any]) -> Callable:
    return lambda H: formula(*_diag(H)[[0, -1]])


def _by_unsorted(formula: Callable[[float, float], Any]) -> Callable:
    """The same formula with the first and last entries of np.linalg.eigvals as (min, max),
    or the other way round."""

    def variants():
        yield lambda H: formula(*_eigvals_unsorted(H)[[0, -1]])
        yield lambda H: formula(*_eigvals_unsorted(H)[[-1, 0]])

    return list(variants())


def _pair_item(pick: Optional[int], size: int = 2) -> Optional[Callable]:
    """Item ``pick`` of a pair (lr, rate) (or of a tuple of ``size`` numbers), or None to
    compare the whole output."""
    if pick is None:
        return None

    def item(out):
        if len(out) != size:
            raise TypeError("not a pair")
        return out[pick]

    return item


def check_hessian_scalar(
    student: Callable,
    name: str,
    what: str,
    reference: Callable,
    cases: Sequence[Case],
    mistakes: Sequence[Mistake],
    hidden: bool,
    pick: Optional[int] = None,
    unreadable: str = "must return a pair (lr, rate), e.g. `return lr, rate`",
    size: int = 2,
) -> None:
    """Compare a number computed from H with the reference, item ``pick`` of a pair (of a
    tuple of ``size`` numbers, which ``unreadable`` describes) if given (``reference`` then
    returns the pair too)."""
    check_against_reference(
        student,
        reference,
        cases,
        name=name,
        hidden=hidden,
        what=what,
        rtol=1e-6,
        atol=1e-9,
        mistakes=mistakes,
        explain=_explain_eig_error,
        extract=_pair_item(pick, size),
        unreadable=unreadable,
        complex_message=_COMPLEX,
        verdict=f"{what} is wrong",
        details=lambda expected, got, out: (
            f"expected: {float(expected):.6g}\ngot:      {describe(float(got))}"
        ),
    )


def hessian_mistakes(pairs, formula_diag, formula_unsorted, rtol=1e-6) -> list[Mistake]:
    """Mistakes from (name, message, formula(lambda_min, lambda_max)) triples, followed by
    the same correct formula applied to the diagonal or to unsorted eigvals."""
    out = [Mistake(n, msg, variant=_by_eigenvalues(f), rtol=rtol) for n, msg, f in pairs]
    out += [
        Mistake("diagonal", _DIAGONAL, variant=_by_diagonal(f), rtol=rtol) for f in formula_diag
    ]
    out += [
        Mistake("unsorted", _UNSORTED, variant=v, rtol=rtol)
        for f in formula_unsorted
        for v in _by_unsorted(f)
    ]
    return out


def check_max_stable_lr(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``max_stable_lr(H)`` is ``2 / lambda_max``, the end of the stable range of a quadratic.

    Compared with ``np.linalg.eigvalsh`` on diagonal and rotated 2-D Hessians, an integer
    matrix, a 1 x 1 list, random symmetric positive definite matrices of size 3 to 8 and one
    with a repeated eigenvalue.
    """
    name = "max_stable_lr"
    mistakes = hessian_mistakes(
        [
            (
                "lambda_min",
                "you used the smallest eigenvalue: stability is decided by the steepest "
                "direction, the largest eigenvalue, 2 / lambda_max (np.linalg.eigvalsh sorts the "
                "eigenvalues in ascending order, so lambda_max is the last one; np.linalg.eigvals "
                "does not sort them at all)",
                lambda lo, hi: 2 / lo,
            ),
            (
                "one_over_max",
                "1 / lambda_max is a safe learning rate (the best one for the steepest "
                "direction alone), but gradient descent still converges up to 2 / lambda_max: "
                "|1 - lr * lambda| < 1 for every eigenvalue lambda",
                lambda lo, hi: 1 / hi,
            ),
            (
                "one_over_min",
                "you used 1 / lambda_min: stability is decided by the largest "
                "eigenvalue, and the range ends at 2 / lambda_max",
                lambda lo, hi: 1 / lo,
            ),
            (
                "no_two",
                "the stable range is 0 < lr < 2 / lambda_max; you returned lambda_max / 2",
                lambda lo, hi: hi / 2,
            ),
        ],
        [lambda lo, hi: 2 / hi, lambda lo, hi: 1 / hi],
        [lambda lo, hi: 2 / hi],
    )
    mistakes += [
        Mistake(
            "frobenius",
            "np.linalg.norm(H) is the Frobenius norm, the square root of the "
            "sum of all squared entries, not the largest eigenvalue: use "
            "np.linalg.eigvalsh(H)[-1] (or the 2-norm, np.linalg.norm(H, 2))",
            variant=lambda H: 2 / np.linalg.norm(np.asarray(H, dtype=float)),
        ),
        Mistake(
            "trace",
            "the trace of H is the sum of all eigenvalues, not the largest: use "
            "np.linalg.eigvalsh(H)[-1]",
            variant=lambda H: 2 / np.trace(np.asarray(H, dtype=float)),
        ),
    ]
    check_hessian_scalar(
        student,
        name,
        "the largest stable learning rate",
        _max_stable_lr,
        hessian_cases(seed),
        mistakes,
        hidden,
    )


_BEST_LR_MISTAKES = [
    (
        "safe",
        "1 / lambda_max is the safe choice, not the best one: the best fixed learning "
        "rate balances the slowest and the steepest directions, 1 - lr * lambda_min = "
        "lr * lambda_max - 1, which gives 2 / (lambda_min + lambda_max)",
        lambda lo, hi: 1 / hi,
    ),
    (
        "edge",
        "2 / lambda_max is the edge of the stable range, where the steepest direction no "
        "longer converges; the best fixed learning rate is 2 / (lambda_min + lambda_max)",
        lambda lo, hi: 2 / hi,
    ),
    (
        "no_two",
        "you dropped the factor 2: the best fixed learning rate is 2 / (lambda_min + lambda_max)",
        lambda lo, hi: 1 / (lo + hi),
    ),
    (
        "upside_down",
        "your learning rate is upside down: it is 2 / (lambda_min + lambda_max), "
        "not (lambda_min + lambda_max) / 2",
        lambda lo, hi: (lo + hi) / 2,
    ),
    (
        "lambda_min",
        "a learning rate set by lambda_min alone diverges along the steepest "
        "direction; the best fixed learning rate is 2 / (lambda_min + lambda_max)",
        lambda lo, hi: 1 / lo,
    ),
    (
        "lambda_min_two",
        "a learning rate set by lambda_min alone diverges along the steepest "
        "direction; the best fixed learning rate is 2 / (lambda_min + lambda_max)",
        lambda lo, hi: 2 / lo,
    ),
    (
        "product",
        "the best fixed learning rate is 2 / (lambda_min + lambda_max), with the sum "
        "of the extreme eigenvalues, not their product",
        lambda lo, hi: 2 / (lo * hi),
    ),
]

_RATE_MISTAKES = [
    (
        "inverted",
        "your rate is upside down: it must be below 1, "
        "(kappa - 1) / (kappa + 1) with kappa = lambda_max / lambda_min",
        lambda lo, hi: (hi / lo + 1) / (hi / lo - 1),
    ),
    (
        "safe_rate",
        "1 - 1 / kappa is the rate of the safe learning rate 1 / lambda_max; at the "
        "best learning rate the error shrinks by (kappa - 1) / (kappa + 1) per step",
        lambda lo, hi: 1 - lo / hi,
    ),
    (
        "squared",
        "you squared the rate: (kappa - 1) / (kappa + 1) is the factor by which the "
        "distance to the minimum shrinks per step (the loss shrinks by its square)",
        lambda lo, hi: ((hi - lo) / (hi + lo)) ** 2,
    ),
    (
        "sqrt_kappa",
        "(sqrt(kappa) - 1) / (sqrt(kappa) + 1) is the rate of methods with momentum "
        "(chapter 5); plain gradient descent at its best learning rate gets "
        "(kappa - 1) / (kappa + 1)",
        lambda lo, hi: (math.sqrt(hi / lo) - 1) / (math.sqrt(hi / lo) + 1),
    ),
    (
        "kappa_upside_down",
        "your rate is negative: the condition number is "
        "kappa = lambda_max / lambda_min >= 1, not lambda_min / lambda_max (np.linalg.eigvalsh "
        "sorts the eigenvalues in ascending order; np.linalg.eigvals does not sort them)",
        lambda lo, hi: (lo / hi - 1) / (lo / hi + 1),
    ),
    (
        "kappa",
        "you returned the condition number itself; the rate is "
        "(kappa - 1) / (kappa + 1), the factor by which the error shrinks per step",
        lambda lo, hi: hi / lo,
    ),
    (
        "inverse_kappa",
        "the rate is (kappa - 1) / (kappa + 1), the factor by which the error "
        "shrinks per step, not 1 / kappa",
        lambda lo, hi: lo / hi,
    ),
]


def check_best_lr(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``best_fixed_lr(H)[0]`` is ``2 / (lambda_min + lambda_max)`` (same cases as
    :func:`check_max_stable_lr`)."""
    formula = lambda lo, hi: 2 / (lo + hi)
    mistakes = hessian_mistakes(_BEST_LR_MISTAKES, [formula, lambda lo, hi: 1 / hi], [formula])
    check_hessian_scalar(
        student,
        "best_fixed_lr",
        "the best learning rate (the first number)",
        _best,
        hessian_cases(seed),
        mistakes,
        hidden,
        pick=0,
    )


def check_best_rate(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``best_fixed_lr(H)[1]`` is ``(kappa - 1) / (kappa + 1)`` (same cases as
    :func:`check_max_stable_lr`); 0 for a round bowl or a 1 x 1 H."""
    formula = lambda lo, hi: (hi / lo - 1) / (hi / lo + 1)
    mistakes = hessian_mistakes(_RATE_MISTAKES, [formula], [formula])
    check_hessian_scalar(
        student,
        "best_fixed_lr",
        "the rate (the second number)",
        _best,
        hessian_cases(seed),
        mistakes,
        hidden,
        pick=1,
    )


# --------------------------------------------------------------------------------------------
# Question 4: steps to reach a tolerance, and the experiment
# --------------------------------------------------------------------------------------------
def _steps_to_tolerance(path, x_star, tol):
    """The reference: the first t with |path[t] - x_star| <= tol * |path[0] - x_star|
    (course_lib.analysis.steps_to_tolerance), ``math.inf`` if there is none."""
    from course_lib.analysis import steps_to_tolerance

    steps = steps_to_tolerance(path, x_star, tol)
    return math.inf if steps is None else steps


def _tolerance_variant(measure: Callable, plus: int = 0, skip_start: bool = False) -> Callable:
    """A wrong steps_to_tolerance: first t with measure(dist, dist0, tol, path, x_star), plus
    ``plus``; with ``skip_start``, the position among path[1:] (a loop over them)."""

    def variant(path, x_star, tol):
        path = np.asarray(path, dtype=float)
        x_star = np.reshape(np.asarray(x_star, dtype=float), -1)
        flat = path.reshape(path.shape[0], -1)
        dist = np.linalg.norm(flat - x_star, axis=1)
        hit = np.flatnonzero(measure(dist, dist[0], tol, flat, x_star)[int(skip_start) :])
        return int(hit[0]) + plus if hit.size else math.inf

    return variant


def _tolerance_cases(rng: np.random.Generator) -> list[Case]:
    from course_lib.landscapes import Quadratic
    from course_lib.optim import SGD
    from course_lib.train import run as run_optimizer

    # Fixed cases first; between them they tell every mistake below from the others.
    stall = [[1.0, 0.0], [0.5, 0.0], [0.25, 0.0], [0.0, 0.25], [0.1, 0.0], [0.0, 0.05]]
    walk = [[3.0, 2.0], [2.0, 2.0], [1.5, 2.0], [1.4, 2.0], [1.2, 2.0], [1.1, 2.0]]
    cases = [
        Case(
            {"path": np.array(stall), "x_star": np.zeros(2), "tol": 0.25},
            f"path = {stall}, x_star = [0, 0], tol = 0.25 (distances 1, 0.5, 0.25, 0.25, "
            f"0.1, 0.05)",
        ),
        Case(
            {"path": np.array(walk[:3]), "x_star": np.array([1.0, 2.0]), "tol": 0.1},
            f"path = {walk[:3]}, x_star = [1, 2], tol = 0.1 (never reached)",
        ),
        Case(
            {"path": [[4.0], [2.0], [1.0], [0.5]], "x_star": [0.0], "tol": 1.0},
            "path = [[4.0], [2.0], [1.0], [0.5]] (a list), x_star = [0.0], tol = 1.0",
        ),
        Case(
            {"path": np.array(walk), "x_star": np.array([1.0, 2.0]), "tol": 0.3},
            f"path = {walk}, x_star = [1, 2], tol = 0.3",
        ),
    ]
    for _ in range(3):
        kappa = float(np.round(log_uniform(rng, 2, 50), 1))
        center = np.round(rng.uniform(-2, 2, 2), 2)
        bowl = Quadratic.bowl(kappa, float(rng.uniform(0, 1.5)), center=center)
        lr = float(np.round(rng.uniform(0.5, 1.9) / kappa, 4))
        x0 = np.round(center + rng.uniform(-3, 3, 2), 3)
        path = run_optimizer(SGD(lr=lr), bowl, x0, int(rng.integers(30, 120))).path
        dist = np.linalg.norm(path - center, axis=1)
        tol = float(dist[int(rng.integers(1, len(dist)))] / dist[0] * rng.uniform(1, 1.5))
        cases.append(
            Case(
                {"path": path, "x_star": center, "tol": tol},
                f"path = gradient descent on a bowl centred at x_star = "
                f"{center.tolist()}, {describe(path)}, tol = {tol:.4g}",
            )
        )
    return cases


def check_steps_to_tolerance(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``steps_to_tolerance(path, x_star, tol)``: the first t with
    ``|path[t] - x_star| <= tol * |path[0] - x_star|``, ``math.inf`` if there is none."""
    name = "steps_to_tolerance"
    not_inf = Mistake(
        "not_inf",
        "when the tolerance is never reached, return math.inf (not a count, -1 or None)",
        predicate=lambda got, case: _steps_to_tolerance(**case.args) == math.inf,
    )
    plus_one = (
        "path[0] is the start point, reached after 0 steps, and path[t] the point after t "
        "steps: return the index t itself, not t + 1"
    )
    minus_one = (
        "you return one less than the index of the first point within the tolerance (a "
        "loop over path[1:] numbers the points from 0): path[t] is the point after t steps, "
        "return its index in path"
    )
    strict = (
        "a distance exactly equal to tol * |path[0] - x_star| reaches the tolerance: "
        "compare with <=, not <"
    )
    below = lambda d, d0, tol, p, x: d < tol * d0  # noqa: E731
    within = lambda d, d0, tol, p, x: d <= tol * d0  # noqa: E731
    mistakes = [
        Mistake("plus_one", plus_one, variant=_tolerance_variant(within, plus=1)),
        Mistake("minus_one", minus_one, variant=_tolerance_variant(within, skip_start=True)),
        Mistake("strict", strict, variant=_tolerance_variant(below)),
        # two slips at once: both are named, as each reproduces only with the other
        Mistake(
            "strict_plus_one",
            f"two slips: {strict}; and {plus_one}",
            variant=_tolerance_variant(below, plus=1),
        ),
        Mistake(
            "strict_minus_one",
            f"two slips: {strict}; and {minus_one}",
            variant=_tolerance_variant(below, skip_start=True),
        ),
        Mistake(
            "absolute",
            "tol is relative: compare |path[t] - x_star| with "
            "tol * |path[0] - x_star|, not with tol itself",
            variant=_tolerance_variant(lambda d, d0, tol, p, x: d <= tol),
        ),
        Mistake(
            "origin",
            "measure the distance to the minimum x_star, |path[t] - x_star|, not to the origin",
            variant=_tolerance_variant(
                lambda d, d0, tol, p, x: np.linalg.norm(p, axis=1) <= tol * np.linalg.norm(p[0])
            ),
        ),
        Mistake(
            "squared",
            "you compared squared distances (a sum of squares without the "
            "square root): use the distance itself, np.linalg.norm(path[t] - x_star)",
            variant=_tolerance_variant(lambda d, d0, tol, p, x: d**2 <= tol * d0**2),
        ),
        not_inf,
        Mistake(
            "closest",
            "you return the step where the path is closest to x_star, not the "
            "first step that reaches the tolerance",
            variant=lambda path, x_star, tol: int(
                np.argmin(np.linalg.norm(np.asarray(path, float) - np.reshape(x_star, -1), axis=1))
            ),
        ),
    ]
    never = lambda case: _steps_to_tolerance(**case.args) == math.inf  # noqa: E731
    # None is a wrong answer there (no `return` when the tolerance is never reached): the
    # mistake not_inf explains it
    check_against_reference(
        student,
        _steps_to_tolerance,
        _tolerance_cases(np.random.default_rng(seed)),
        name=name,
        hidden=hidden,
        what="the number of steps",
        rtol=0.0,
        atol=0.0,
        mistakes=mistakes,
        allow_none=never,
        verdict="wrong number of steps",
        read=lambda out, case: (
            None
            if out is None
            else as_array(
                out, name=name, what="the number of steps", shape=(), hidden=hidden, case=case
            )
        ),
        details=lambda expected, got, out: f"expected: {expected}\ngot:      {describe(out)}",
    )


@functools.lru_cache(maxsize=8)
def _experiment_reference(
    kappas: tuple, angle: float, center: tuple, x0: tuple, tol: float
) -> tuple[tuple, tuple]:
    """The experiment run with course_lib: steps at lr = 2/(lmin + lmax) and at 1/lmax
    (deterministic, so computed once per setting)."""
    from course_lib.landscapes import Quadratic
    from course_lib.optim import SGD
    from course_lib.train import run as run_optimizer

    best, safe = [], []
    for kappa in kappas:
        bowl = Quadratic.bowl(condition_number=kappa, angle=angle, center=center)
        lam = bowl.eigenvalues
        # predicted steps: about kappa/2 ln(1/tol) at the best lr, kappa ln(1/tol) at 1/lmax
        for lr, counts, factor in [(2 / (lam[0] + lam[-1]), best, 0.7), (1 / lam[-1], safe, 1.3)]:
            budget = int(factor * kappa * math.log(1 / tol)) + 30
            path = run_optimizer(SGD(lr=lr), bowl, x0, budget).path
            counts.append(_steps_to_tolerance(path, bowl.minimizer, tol))
    return tuple(best), tuple(safe)


def check_condition_experiment(
    steps_best,
    steps_safe,
    kappas: Sequence[float],
    angle: float,
    center,
    x0,
    tol: float,
    hidden: bool = False,
) -> None:
    """The counts of the condition-number experiment (one per kappa, for each learning rate).

    Visible: whole finite numbers, growing with kappa, never more steps with the best learning
    rate than with 1/lambda_max, and growing about in proportion to kappa at the large end.
    Hidden: the counts of the same experiment run with course_lib, exactly (or all one more,
    the slip t + 1 of Question 4, which is graded there).
    """
    kappas = [float(k) for k in kappas]
    n = len(kappas)
    counts = {}
    for label, value in [("steps_best", steps_best), ("steps_safe", steps_safe)]:
        got = as_array(
            value,
            name=label,
            what=f"{label} (one count per kappa in KAPPAS)",
            shape=(n,),
            hidden=hidden,
        )
        lr = "2 / (lambda_min + lambda_max)" if label == "steps_best" else "1 / lambda_max"
        if not np.all(np.isfinite(got)):
            fail(
                label,
                f"some counts are infinite: those runs never reached the tolerance. "
                f"Check the learning rate ({lr}, with the eigenvalues of the bowl, "
                f"bowl.eigenvalues), the budget max_steps(kappa) and that you measure "
                f"the distance to bowl.minimizer",
                hidden=hidden,
                details=f"{label}: {describe(got)}",
            )
        if np.any(got < 0) or np.any(got != np.round(got)):
            fail(
                label,
                "a number of steps is a whole number >= 0 (take one run per kappa, no averages)",
                hidden=hidden,
                details=f"{label}: {describe(got)}",
            )
        if np.any(np.diff(got) < 0) or (n > 1 and got[-1] <= got[0]):
            fail(
                label,
                "the number of steps should grow with the condition number; check that "
                "each run uses the bowl and the learning rate of its own kappa",
                hidden=hidden,
                details=f"{label}: {describe(got)}",
            )
        counts[label] = got
    if np.any(counts["steps_best"] > counts["steps_safe"]):
        fail(
            "steps_best",
            "with the best learning rate, 2 / (lambda_min + lambda_max), no run "
            "should need more steps than with 1 / lambda_max: check the two "
            "learning rates (and that steps_best and steps_safe are not "
            "swapped)",
            hidden=hidden,
            details=f"steps_best: {describe(counts['steps_best'])}\n"
            f"steps_safe: {describe(counts['steps_safe'])}",
        )
    large = [i for i, k in enumerate(kappas) if k >= 20]
    if len(large) >= 2:
        i, j = large[0], large[-1]
        for label, got in counts.items():
            slope = math.log(got[j] / got[i]) / math.log(kappas[j] / kappas[i])
            if not 0.75 <= slope <= 1.25:
                fail(
                    label,
                    "for large kappa the number of steps should grow about in "
                    "proportion to kappa (ten times the condition number, about ten "
                    "times the steps); check the learning rate of each run",
                    hidden=hidden,
                    details=f"{label}: {describe(got)}",
                )
    if not hidden:
        return
    expected = _experiment_reference(
        tuple(kappas),
        float(angle),
        tuple(float(c) for c in center),
        tuple(float(c) for c in x0),
        float(tol),
    )
    for (label, got), want in zip(counts.items(), map(np.array, expected)):
        # deterministic: the same counts, or all one more (Question 4's t + 1, graded there)
        if not any(np.array_equal(got, want + shift) for shift in (0, 1)):
            fail(
                label,
                "your counts differ from what this experiment gives (it is deterministic); "
                "check the "
                "learning rate, the bowl (KAPPAS, ANGLE, CENTER), the start X0, the "
                "tolerance TOL and that you count steps to bowl.minimizer",
                hidden=True,
            )
