"""Checkers for problem set 6: Nesterov's accelerated gradient in its two forms, the 2x2
iteration matrices of gradient descent, heavy ball and Nesterov, their spectral radius and
their largest stable ``h = lr * lambda``.

Everything here is deterministic, so every output is compared with course_lib to rounding:
``optim.LookaheadNesterov`` (the look-ahead form, one step), ``optim.SGD(nesterov=True)`` run
by ``train.run`` (PyTorch's form), ``analysis.momentum_matrix`` / ``nesterov_matrix`` and
``analysis.stability_limit``.

**Diagnoses are right or silent.** A typical mistake is named only when it reproduces the
student's output on *every* case of the checker (the student's function is run on the other
cases to see); otherwise the message says precisely what differs (which output, which row,
which coordinate) and lists the mistakes that explain this case but not the others. This
is :func:`_verdict`, the ``verdict`` of ``check_against_reference`` in every checker below.

Points follow the notebook's mark scheme: the *format* checkers grade the contract (a pair
of arrays of the right shape, a trajectory starting at ``x0``, no input modified); the
*values* checkers grade the numbers and accept a function that modifies its inputs.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from course_lib.grading._core import (
    NO_OUTPUT,
    Case,
    GradingError,
    Mistake,
    as_array,
    check_against_reference,
    close,
    describe,
    explains_every_case,
    fail,
    run,
)
from course_lib.grading.descent import rows_right_but_shifted, trajectory_shape
from course_lib.grading.problems import Problem, log_uniform, random_quadratic, rotated_bowl

__all__ = [
    "check_nesterov_step_format",
    "check_nesterov_step_values",
    "check_nesterov_pytorch_trajectory",
    "check_nesterov_pytorch_steps",
    "check_lookahead_points",
    "check_iteration_matrix_gd_momentum",
    "check_iteration_matrix_nesterov",
    "check_spectral_radius",
    "check_largest_stable_h_gd_momentum",
    "check_largest_stable_h_nesterov",
    "check_short_runs",
]

_STEP, _PT, _POINTS = "nesterov_step", "nesterov_pytorch", "lookahead_points"
_MATRIX, _RADIUS, _LIMIT = "iteration_matrix", "spectral_radius", "largest_stable_h"
METHODS = ("gd", "momentum", "nesterov")


# --------------------------------------------------------------------------------------------
# Right or silent: a mistake is named only if it explains every case
# --------------------------------------------------------------------------------------------
def _verdict(
    student: Callable,
    cases: Sequence[Case],
    mistakes: Sequence[Mistake],
    read: Callable[[Any, Case], np.ndarray],
    differs: Callable[[np.ndarray, np.ndarray, bool], str],
    *,
    name: str,
    hidden: bool,
) -> Callable:
    """The ``verdict`` of ``check_against_reference`` for a wrong output on one case.

    The first of ``mistakes`` that reproduces the student's output on every case (the
    student's function is run on the other cases, silently) gives the message. Otherwise
    the message is ``differs(got, expected, hidden)``, precise about what differs, followed
    by the mistakes that explain this case only ("candidates").
    """
    outputs: dict = {}

    def output(index: int, case: Case):
        if index not in outputs:
            try:
                out = run(student, case, name=name, hidden=True, check_inputs=False)
                outputs[index] = read(out, case)
            except GradingError:  # an error on another case: no mistake explains every case
                outputs[index] = None
        return outputs[index]

    def verdict(got: np.ndarray, expected: np.ndarray, case: Case) -> str:
        here = [m for m in mistakes if m.matches(got, case)]
        if here:
            outputs[next(i for i, c in enumerate(cases) if c is case)] = got
            everywhere = [
                (c, NO_OUTPUT if (out := output(i, c)) is None else out, False)
                for i, c in enumerate(cases)
            ]
            for mistake in here:
                if explains_every_case(mistake, everywhere):
                    return mistake.message
        text = differs(got, expected, hidden)
        if here:
            names = "; ".join(m.name for m in here)
            text += (
                f". On this case your result equals what this mistake gives: {names}; "
                f"but not on every case, so check your code against it yourself"
            )
        return text

    return verdict


def _first_difference(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float):
    """(row, coordinate) of the first entry of a 2-D output that differs, in row order."""
    bad = ~np.isclose(got, expected, rtol, atol)
    row, col = np.argwhere(bad)[0]
    return int(row), int(col)


def _lam_max(problem: Problem) -> float:
    """The largest curvature of a quadratic test problem."""
    if problem.dim == 1:  # a Parabola: curvature 2a
        return float(problem.landscape.hessian(0.0))
    return float(problem.landscape.eigenvalues[-1])


def _rounded(rng: np.random.Generator, low: float, high: float, size=None, digits: int = 3):
    return np.round(rng.uniform(low, high, size), digits)


def _problems(rng: np.random.Generator, name: str, hidden: bool, kappas) -> list[Problem]:
    """A rotated bowl with a condition number in ``kappas`` and random quadratics of 1, 3 and
    4 to 6 dimensions."""
    kappa, angle = float(np.round(log_uniform(rng, *kappas), 1)), float(_rounded(rng, 0.2, 1.4))
    problems = [rotated_bowl(kappa, angle, _rounded(rng, -1, 1, 2, 2), name, hidden)]
    return problems + [
        random_quadratic(rng, d, name, hidden) for d in (1, 3, int(rng.integers(4, 7)))
    ]


def _lr_beta(rng: np.random.Generator, problem: Problem) -> tuple[float, float]:
    """A learning rate with lr * lambda_max in [0.2, 1.2] (stable for Nesterov at any beta)
    and a momentum in [0.3, 0.95]."""
    lr = float(np.round(rng.uniform(0.2, 1.2) / _lam_max(problem), 4))
    return lr, float(_rounded(rng, 0.3, 0.95, digits=2))


# --------------------------------------------------------------------------------------------
# Question 1: one step of the look-ahead form
# --------------------------------------------------------------------------------------------
def _reference_step(grad: Problem, w, v, lr: float, beta: float) -> np.ndarray:
    """``LookaheadNesterov(lr, beta)``: one step from (w, v); rows (w_new, v_new)."""
    from course_lib.optim import LookaheadNesterov, VelocityState

    opt = LookaheadNesterov(lr=lr, momentum=beta)
    w, state = np.array(w, dtype=float), VelocityState(0, np.array(v, dtype=float))
    new_w, new_state = opt.step(w, grad.grad(opt.gradient_point(w, state)), state)
    return np.array([new_w, new_state.velocity])


def _step_case(problem: Problem, w, v, lr: float, beta: float) -> Case:
    label = (
        f"grad of {problem.description}, w = {describe(w)}, v = {describe(v)}, "
        f"lr = {lr:g}, beta = {beta:g}"
    )
    return Case({"grad": problem, "w": w, "v": v, "lr": lr, "beta": beta}, label)


@functools.lru_cache(maxsize=16)
def _step_cases(seed: int, hidden: bool) -> list[Case]:
    from course_lib.landscapes import Rosenbrock

    rng = np.random.default_rng(seed)
    cases = []
    for p in _problems(rng, _STEP, hidden, (3, 30)):
        lr, beta = _lr_beta(rng, p)
        cases.append(
            _step_case(p, _rounded(rng, -2, 2, p.dim), _rounded(rng, -1, 1, p.dim), lr, beta)
        )
    rosen = Problem(Rosenbrock(), 2, "Rosenbrock's function", _STEP, hidden)
    w = np.round(np.array([-1.0, 1.0]) + rng.uniform(-0.3, 0.3, 2), 3)
    lr, beta = float(_rounded(rng, 1e-4, 5e-4, digits=5)), float(_rounded(rng, 0.5, 0.95, digits=2))
    cases.append(_step_case(rosen, w, _rounded(rng, -0.2, 0.2, 2), lr, beta))
    return cases


def _la_variant(point=None, velocity=None, position=None, returned=None) -> Callable:
    """A wrong look-ahead step; each part defaults to the right one."""
    point = point or (lambda w, v, beta: w + beta * v)
    velocity = velocity or (lambda v, g, lr, beta: beta * v - lr * g)
    position = position or (lambda w, v, v_new, g, lr, beta: w + v_new)
    returned = returned or (lambda w_new, v_new, v, beta: (w_new, v_new))

    def variant(grad, w, v, lr, beta):
        w, v = np.array(w, dtype=float), np.array(v, dtype=float)
        g = grad.grad(point(w, v, beta))
        v_new = velocity(v, g, lr, beta)
        w_new = position(w, v, v_new, g, lr, beta)
        return np.array(returned(w_new, v_new, v, beta))

    return variant


_STEP_MISTAKES = [
    Mistake(
        "the gradient at w (heavy ball)",
        "you took the gradient at w itself: that is heavy-ball momentum. Nesterov's method "
        "takes it at the look-ahead point w + beta * v, where the velocity is about to carry w",
        variant=_la_variant(point=lambda w, v, beta: w),
    ),
    Mistake(
        "look-ahead w + v (beta dropped)",
        "your look-ahead point is w + v: the velocity carries w only by beta * v before the "
        "new gradient acts, so the look-ahead point is w + beta * v",
        variant=_la_variant(point=lambda w, v, beta: w + v),
    ),
    Mistake(
        "look-ahead with the new velocity",
        "your look-ahead point is w + beta * (beta * v): you scaled v by beta before taking "
        "the look-ahead. The gradient is taken at w + beta * v with the old velocity v, and "
        "the new velocity is beta * v - lr * grad(w + beta * v)",
        variant=_la_variant(point=lambda w, v, beta: w + beta * beta * v),
    ),
    Mistake(
        "the look-ahead point returned",
        "you returned the look-ahead point w_new + beta * v_new instead of the parameters: "
        "return w_new = w + v_new itself (the gradient of the next step is taken at the "
        "look-ahead point, but the parameters are w)",
        variant=_la_variant(returned=lambda w_new, v_new, v, beta: (w_new + beta * v_new, v_new)),
    ),
    Mistake(
        "velocity sign",
        "your velocity points uphill: the new velocity is beta * v - lr * grad(w + beta * v), "
        "with a minus sign before the gradient term",
        variant=_la_variant(velocity=lambda v, g, lr, beta: beta * v + lr * g),
    ),
    Mistake(
        "position sign",
        "you subtracted the velocity from w: the velocity already points downhill (it holds "
        "-lr * grad), so the parameters move by it, w_new = w + v_new",
        variant=_la_variant(position=lambda w, v, v_new, g, lr, beta: w - v_new),
    ),
    Mistake(
        "velocity computed but never used",
        "your parameters move by -lr * grad only: the velocity is computed but never used. "
        "Move w by the new velocity, w_new = w + v_new",
        variant=_la_variant(position=lambda w, v, v_new, g, lr, beta: w - lr * g),
    ),
    Mistake(
        "position moved by the old velocity",
        "w moves by the old velocity v: compute the new velocity first, then move w by it, "
        "w_new = w + v_new",
        variant=_la_variant(position=lambda w, v, v_new, g, lr, beta: w + v),
    ),
    Mistake(
        "PyTorch's buffer rule in the look-ahead form (mixing the two forms)",
        "you used PyTorch's rule (b = beta * b + g, then a step of -lr * (g + beta * b)) in "
        "the look-ahead form: here v is a velocity, v_new = beta * v - lr * grad(w + beta * v), "
        "and w_new = w + v_new",
        variant=_la_variant(
            velocity=lambda v, g, lr, beta: beta * v + g,
            position=lambda w, v, v_new, g, lr, beta: w - lr * (g + beta * v_new),
        ),
    ),
    Mistake(
        "(v, w) returned",
        "you returned the pair the other way round: return (w_new, v_new)",
        variant=_la_variant(returned=lambda w_new, v_new, v, beta: (v_new, w_new)),
    ),
    Mistake(
        "the old velocity returned",
        "you returned the old velocity v: return the new one, v_new = beta * v - lr * "
        "grad(w + beta * v), which the next step needs",
        variant=_la_variant(returned=lambda w_new, v_new, v, beta: (w_new, v)),
    ),
]


def _explain_step_mutation(arg: str, before, after) -> Optional[str]:
    if arg in ("w", "v"):
        return (
            f"modified its argument `{arg}` in place (`{arg} +=`, `{arg} -=` or `{arg}[:] =` "
            f"on the array it was given): a step must leave the caller's parameters and "
            f"velocity untouched and return new arrays, e.g. `v_new = beta * v - lr * ...`"
        )
    return None


def _read_pair(out: Any, case: Case, hidden: bool) -> np.ndarray:
    """The output (w_new, v_new) as a ``(2, dim)`` array, or a failure that says what it is."""
    dim = case.args["grad"].dim
    if isinstance(out, np.ndarray) and out.ndim == 1 or not hasattr(out, "__len__"):
        fail(
            _STEP,
            "must return a pair (w_new, v_new), e.g. `return w_new, v_new`; it returned "
            "one array or number",
            hidden=hidden,
            case=case,
        )
    if len(out) != 2:
        fail(
            _STEP,
            f"must return a pair (w_new, v_new), e.g. `return w_new, v_new`; it returned "
            f"{len(out)} items",
            hidden=hidden,
            case=case,
        )
    parts = [
        as_array(part, name=_STEP, what=what, shape=(dim,), hidden=hidden, case=case)
        for part, what in zip(out, ("w_new (the first item)", "v_new (the second item)"))
    ]
    return np.array(parts)


def check_nesterov_step_format(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``nesterov_step(grad, w, v, lr, beta)`` returns a pair of new arrays of w's shape and
    leaves ``w`` and ``v`` untouched (the values are graded by
    :func:`check_nesterov_step_values`)."""
    for case in _step_cases(seed, hidden):
        out = run(
            student,
            case,
            name=_STEP,
            hidden=hidden,
            no_aliasing=True,
            explain_mutation=_explain_step_mutation,
        )
        _read_pair(out, case, hidden)


def _differs_pair(got: np.ndarray, expected: np.ndarray, hidden: bool) -> str:
    wrong = [
        label
        for label, g, e in zip(("w_new", "v_new"), got, expected)
        if not close(g, e, 1e-9, 1e-12)
    ]
    row, col = _first_difference(got, expected, 1e-9, 1e-12)
    return (
        f"{' and '.join(wrong)} {'differ' if len(wrong) > 1 else 'differs'} from one step of "
        f"Nesterov's look-ahead form (first in coordinate {col} of "
        f"{('w_new', 'v_new')[row]}): v_new = beta * v - lr * grad(w + beta * v), "
        f"w_new = w + v_new"
    )


def check_nesterov_step_values(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``nesterov_step`` equals one step of ``LookaheadNesterov`` to rounding, on a rotated
    bowl, random quadratics of 1 to 6 dimensions and Rosenbrock's function. Inputs modified
    in place are left to :func:`check_nesterov_step_format`."""
    cases = _step_cases(seed, hidden)
    read = lambda out, case: _read_pair(out, case, hidden)
    check_against_reference(
        student,
        _reference_step,
        cases,
        name=_STEP,
        hidden=hidden,
        what="(w_new, v_new)",
        rtol=1e-9,
        atol=1e-12,
        check_inputs=False,
        read=read,
        details=lambda expected, got, out: (
            f"expected: w_new = {describe(expected[0])}, v_new = {describe(expected[1])}\n"
            f"got:      w_new = {describe(got[0])}, v_new = {describe(got[1])}"
        ),
        verdict=_verdict(
            student, cases, _STEP_MISTAKES, read, _differs_pair, name=_STEP, hidden=hidden
        ),
    )


# --------------------------------------------------------------------------------------------
# Question 2: PyTorch's form, a run
# --------------------------------------------------------------------------------------------
def _reference_pytorch(grad: Problem, x0, lr: float, beta: float, steps: int) -> np.ndarray:
    """``run(SGD(lr, momentum=beta, nesterov=True), ...)``: the stored parameters x_t."""
    from course_lib.optim import SGD
    from course_lib.train import run as run_optimizer

    opt = SGD(lr=lr, momentum=beta, nesterov=True)
    traj = run_optimizer(opt, grad, np.asarray(x0, dtype=float), steps, bound=math.inf)
    if traj.diverged:  # the test cases are built not to overflow
        raise RuntimeError("reference run overflowed")
    return traj.path.reshape(traj.path.shape[0], -1)


def _pt_case(problem: Problem, x0, lr: float, beta: float, steps: int) -> Case:
    label = (
        f"grad of {problem.description}, x0 = {describe(x0)}, lr = {lr:g}, beta = {beta:g}, "
        f"steps = {steps}"
    )
    return Case({"grad": problem, "x0": x0, "lr": lr, "beta": beta, "steps": steps}, label)


@functools.lru_cache(maxsize=16)
def _pt_cases(seed: int, hidden: bool) -> list[Case]:
    from course_lib.landscapes import Rosenbrock

    rng = np.random.default_rng(seed)
    cases = []
    for i, p in enumerate(_problems(rng, _PT, hidden, (5, 40))):
        lr, beta = _lr_beta(rng, p)
        steps = (int(rng.integers(8, 16)), 3, 1, int(rng.integers(5, 20)))[i]
        cases.append(_pt_case(p, _rounded(rng, -2, 2, p.dim), lr, beta, steps))
    rosen = Problem(Rosenbrock(), 2, "Rosenbrock's function", _PT, hidden)
    x0 = np.round(np.array([-1.2, 1.0]) + rng.uniform(-0.2, 0.2, 2), 3)
    lr, beta = float(_rounded(rng, 1e-4, 4e-4, digits=5)), float(_rounded(rng, 0.5, 0.9, digits=2))
    cases.append(_pt_case(rosen, x0, lr, beta, int(rng.integers(10, 25))))
    p = random_quadratic(rng, 2, _PT, hidden)
    cases.append(_pt_case(p, _rounded(rng, -2, 2, 2), 0.1, 0.9, 0))  # no step at all
    return cases


def _pt_variant(
    direction=None, update=None, first=None, point=None, sign: float = -1.0, form=None
) -> Callable:
    """A wrong PyTorch-form run; each part defaults to the right one:
    ``b = first(g)`` on step 1, ``update(b, g)`` after; ``x += sign * lr * direction``."""
    direction = direction or (lambda g, b, b_old, beta: g + beta * b)
    update = update or (lambda b, g, beta: beta * b + g)
    first = first or (lambda g, beta: g)
    point = point or (lambda x, b_old, lr, beta: x)

    def variant(grad, x0, lr, beta, steps):
        x = np.array(x0, dtype=float)
        rows, b = [x.copy()], None
        for _ in range(steps):
            b_old = np.zeros_like(x) if b is None else b
            g = grad.grad(point(x, b_old, lr, beta))
            b = first(g, beta) if b is None else update(b, g, beta)
            x = x + sign * lr * direction(g, b, b_old, beta)
            rows.append(x.copy())
        return np.array(rows)

    return variant


def _lookahead_form_path(grad, x0, lr, beta, steps):
    """The look-ahead form's parameters w_t (what a student who mixes the forms returns)."""
    from course_lib.optim import LookaheadNesterov
    from course_lib.train import run as run_optimizer

    opt = LookaheadNesterov(lr=lr, momentum=beta)
    return run_optimizer(opt, grad, np.asarray(x0, dtype=float), steps, bound=math.inf).path


def _aliased(got, case: Case) -> bool:
    """Every row is the last one (the same array stored at every step, changed in place)."""
    return got.ndim == 2 and bool(np.all(got == got[-1]))


_PT_MISTAKES = [
    Mistake(
        "the buffer alone (heavy ball)",
        "your steps are heavy-ball momentum's: x -= lr * b moves by the buffer alone (a "
        "step of -lr * (g + beta * b) taken before the buffer is updated is the same). "
        "Nesterov's step in PyTorch's form is x -= lr * (g + beta * b), with the new buffer b",
        variant=_pt_variant(direction=lambda g, b, b_old, beta: b),
    ),
    Mistake(
        "first buffer (1 + beta) g",
        "on the first step the buffer must be the gradient itself, b = g: you started from "
        "b = g and then also applied b = beta * b + g, which makes the first buffer "
        "(1 + beta) * g",
        variant=_pt_variant(first=lambda g, beta: (1 + beta) * g),
    ),
    Mistake(
        "dampening after the first step",
        "your buffer is an average, b = beta * b + (1 - beta) * g: that is dampening = beta, "
        "and PyTorch's Nesterov requires dampening 0: b = beta * b + g",
        variant=_pt_variant(update=lambda b, g, beta: beta * b + (1 - beta) * g),
    ),
    Mistake(
        "dampening from the first step",
        "your buffer is an average, b = beta * b + (1 - beta) * g, from the first step on: "
        "PyTorch's Nesterov has no dampening (b = beta * b + g), and even with dampening "
        "PyTorch's first buffer is the gradient itself, b = g",
        variant=_pt_variant(
            update=lambda b, g, beta: beta * b + (1 - beta) * g,
            first=lambda g, beta: (1 - beta) * g,
        ),
    ),
    Mistake(
        "sign",
        "your iterates move uphill: the step is x -= lr * (g + beta * b), against the gradient",
        variant=_pt_variant(sign=1.0),
    ),
    Mistake(
        "beta dropped in the step",
        "your step is -lr * (g + b): the buffer enters Nesterov's step multiplied by beta, "
        "x -= lr * (g + beta * b)",
        variant=_pt_variant(direction=lambda g, b, b_old, beta: g + b),
    ),
    Mistake(
        "a gradient at a look-ahead point (mixing the two forms)",
        "you took the gradient at a look-ahead point x - lr * beta * b: in PyTorch's form the "
        "stored parameters already are the look-ahead points, so the gradient is taken at x",
        variant=_pt_variant(point=lambda x, b_old, lr, beta: x - lr * beta * b_old),
    ),
    Mistake(
        "the look-ahead form's parameters",
        "your rows are the look-ahead form's parameters w_t: PyTorch's form stores "
        "x_t = w_t + beta * v_t instead, with b = beta * b + g and x -= lr * (g + beta * b)",
        variant=_lookahead_form_path,
    ),
    Mistake(
        "the same array in every row",
        "all rows of your trajectory are the same point: you store the same array object at "
        "every step and then change it in place (x -= ...), so every row shows the last "
        "iterate. Store a copy (x.copy()) or create a new array each step",
        predicate=_aliased,
    ),
]


def check_nesterov_pytorch_trajectory(
    student: Callable, seed: int = 0, hidden: bool = False
) -> None:
    """``nesterov_pytorch(grad, x0, lr, beta, steps)`` returns a well-formed trajectory: shape
    ``(steps + 1, dim)``, row 0 is ``x0``, ``x0`` neither modified nor returned."""
    reference = lambda case: _reference_pytorch(*case.args.values())
    for case in _pt_cases(seed, hidden):
        out = run(student, case, name=_PT, hidden=hidden, no_aliasing=True)
        got = trajectory_shape(out, case, hidden, name=_PT, reference=reference)
        x0 = np.asarray(case.args["x0"], dtype=float)
        if not np.array_equal(got[0], x0):
            aliased = case.args["steps"] >= 1 and np.all(got == got[-1])
            fail(
                _PT,
                "all rows of your trajectory are the same point: store a copy of x at each "
                "step (x.copy()) or create a new array, x = x - lr * (...)"
                if aliased
                else "row 0 of the trajectory must be x0 itself (row t is the point after t steps)",
                hidden=hidden,
                case=case,
                details=f"x0:     {describe(x0)}\nrow 0:  {describe(got[0])}",
            )


def _differs_rows(got: np.ndarray, expected: np.ndarray, hidden: bool) -> str:
    if not np.all(np.isfinite(got)):
        return "the trajectory contains NaN or infinite values"
    row, col = _first_difference(got, expected, 1e-9, 1e-12)
    return (
        f"the first row that differs from PyTorch's Nesterov is row {row} (the point after "
        f"{row} steps), in coordinate {col}: b = g on the first step, then b = beta * b + g, "
        f"and x -= lr * (g + beta * b) with g = grad(x)"
    )


def check_nesterov_pytorch_steps(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``nesterov_pytorch`` makes the steps of ``SGD(lr, momentum=beta, nesterov=True)`` to
    rounding (rotated bowl, random quadratics of 1 to 6 dimensions, Rosenbrock's function).
    A trajectory without x0, with a row more or less, or made by modifying x0 passes if its
    rows are right (the trajectory checker grades those)."""
    cases = _pt_cases(seed, hidden)

    def read(out, case):
        got = as_array(out, name=_PT, what="the trajectory", hidden=hidden, case=case)
        dim = case.args["grad"].dim
        if (got.ndim == 1 and dim == 1) or got.size == 0:  # 1-D, or no rows at all
            got = got.reshape(-1, dim)
        if got.ndim != 2 or got.shape[1] != dim:
            fail(
                _PT,
                "the trajectory must have one row per iterate and one column per coordinate"
                + ("" if hidden else f"; got shape {got.shape}"),
                hidden=hidden,
                case=case,
            )
        return got

    def accept(got, case):
        args = dict(case.args)
        long = _reference_pytorch(*{**args, "steps": args["steps"] + 1}.values())
        return rows_right_but_shifted(got, long, args["steps"])

    def differs(got, expected, hidden):
        if got.shape != expected.shape:
            return "the trajectory must have steps + 1 rows, x0 and one per step" + (
                "" if hidden else f"; got {got.shape[0]}, expected {expected.shape[0]}"
            )
        return _differs_rows(got, expected, hidden)

    check_against_reference(
        student,
        _reference_pytorch,
        cases,
        name=_PT,
        hidden=hidden,
        what="the trajectory",
        rtol=1e-9,
        atol=1e-12,
        check_inputs=False,
        read=read,
        accept=accept,
        verdict=_verdict(student, cases, _PT_MISTAKES, read, differs, name=_PT, hidden=hidden),
    )


# --------------------------------------------------------------------------------------------
# Question 3: PyTorch's parameters are the look-ahead points
# --------------------------------------------------------------------------------------------
def _lookahead_points(path, beta: float) -> np.ndarray:
    """x_t = w_t + beta * v_t with v_t = w_t - w_{t-1} (v_0 = 0)."""
    w = np.array(path, dtype=float)
    x = w.copy()
    x[1:] += beta * (w[1:] - w[:-1])
    return x


@functools.lru_cache(maxsize=16)
def _points_cases(seed: int) -> list[Case]:
    """Paths of the look-ahead form (LookaheadNesterov from x0 with v_0 = 0)."""
    rng = np.random.default_rng(seed)
    cases = []
    for dim, steps in ((2, int(rng.integers(5, 9))), (1, 3), (int(rng.integers(3, 6)), 12)):
        p = random_quadratic(rng, dim, _POINTS, True)
        lr, beta = _lr_beta(rng, p)
        path = _lookahead_form_path(p, _rounded(rng, -2, 2, dim), lr, beta, steps)
        label = (
            f"path = the look-ahead form on {p.description} with lr = {lr:g}, beta = {beta:g}, "
            f"{describe(path)}; beta = {beta:g}"
        )
        cases.append(Case({"path": path, "beta": beta}, label))
    return cases


_POINTS_MISTAKES = [
    Mistake(
        "the next velocity",
        "you added beta times the next velocity, w_{t+1} - w_t: the look-ahead point of "
        "step t uses the velocity that brought w to w_t, v_t = w_t - w_{t-1} (v_0 = 0)",
        variant=lambda path, beta: np.vstack(
            [
                np.asarray(path, float)[:-1] + beta * np.diff(np.asarray(path, float), axis=0),
                np.asarray(path, float)[-1:],
            ]
        ),
    ),
    Mistake(
        "beta dropped",
        "you added the whole velocity v_t: the look-ahead point is w_t + beta * v_t",
        variant=lambda path, beta: _lookahead_points(path, 1.0),
    ),
    Mistake(
        "minus",
        "you subtracted beta * v_t: the look-ahead point is ahead of w_t, in the direction "
        "the velocity carries it, w_t + beta * v_t",
        variant=lambda path, beta: _lookahead_points(path, -beta),
    ),
    Mistake(
        "path returned",
        "you returned the path unchanged: add beta * v_t to each row, with "
        "v_t = w_t - w_{t-1} (v_0 = 0)",
        variant=lambda path, beta: np.array(path, dtype=float),
    ),
]


def check_lookahead_points(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``lookahead_points(path, beta)`` returns ``w_t + beta * v_t`` for a path of the
    look-ahead form (``v_t = w_t - w_{t-1}``, ``v_0 = 0``), which equals the path of
    ``SGD(nesterov=True)`` from the same start (a test of test_ps06 checks this)."""
    cases = _points_cases(seed)

    def read(out, case):
        want = np.shape(case.args["path"])
        got = as_array(out, name=_POINTS, what="the look-ahead points", hidden=hidden, case=case)
        if got.shape != want:
            short = got.ndim == 2 and got.shape[0] == want[0] - 1
            fail(
                _POINTS,
                "return one point per row of path, path[0] first (v_0 = 0, so the first "
                "look-ahead point is w_0 itself)"
                if short
                else "return an array of the shape of path"
                + ("" if hidden else f"; got shape {got.shape}, expected {want}"),
                hidden=hidden,
                case=case,
            )
        return got

    def differs(got, expected, hidden):
        row, col = _first_difference(got, expected, 1e-9, 1e-12)
        return (
            f"row {row} is the first that differs (coordinate {col}): row t must be "
            f"path[t] + beta * (path[t] - path[t - 1]), and row 0 path[0]"
        )

    check_against_reference(
        student,
        _lookahead_points,
        cases,
        name=_POINTS,
        hidden=hidden,
        what="the look-ahead points",
        rtol=1e-9,
        atol=1e-12,
        read=read,
        no_aliasing=True,
        verdict=_verdict(
            student, cases, _POINTS_MISTAKES, read, differs, name=_POINTS, hidden=hidden
        ),
    )


# --------------------------------------------------------------------------------------------
# Question 4: the iteration matrices
# --------------------------------------------------------------------------------------------
def _reference_matrix(method: str, h: float, beta: float) -> np.ndarray:
    """course_lib.analysis: gradient descent is heavy ball with beta = 0 (beta is ignored)."""
    from course_lib.analysis import momentum_matrix, nesterov_matrix

    if method == "nesterov":
        return nesterov_matrix(h, beta)
    return momentum_matrix(h, beta if method == "momentum" else 0.0)


def _matrix_cases(seed: int, methods: tuple) -> list[Case]:
    rng = np.random.default_rng(seed)
    fixed = {
        "gd": [(0.5, 0.9), (1.5, 0.0)],
        "momentum": [(0.5, 0.9), (3.0, 0.5), (-0.2, 0.3)],
        "nesterov": [(0.5, 0.9), (1.5, 0.9), (0.1, 0.0), (2.5, 0.4)],
    }
    cases = []
    for method in methods:
        pairs = fixed[method] if seed == 0 else []
        pairs = pairs + [
            (float(_rounded(rng, -0.5, 4.0)), float(_rounded(rng, 0.05, 0.95, digits=2)))
            for _ in range(3)
        ]
        for h, beta in pairs:
            cases.append(
                Case(
                    {"method": method, "h": h, "beta": beta},
                    f'method = "{method}", h = {h:g}, beta = {beta:g}',
                )
            )
    return cases


def _matrix_variant(entries: Callable, methods: Sequence[str] = METHODS) -> Callable:
    """A wrong matrix for ``methods`` (the right one for the others): entries(h, beta, M)."""

    def variant(method, h, beta):
        right = _reference_matrix(method, h, beta)
        if method not in methods:
            return right
        b = beta if method != "gd" else 0.0
        return np.array(entries(h, b, right), dtype=float)

    return variant


_SWAP = np.array([[0.0, 1.0], [1.0, 0.0]])
_MATRIX_MISTAKES = [
    Mistake(
        "transposed",
        "your matrix is transposed: row i gives the new value of state i, so the first row "
        "gives e_{t+1} = (1 - h) e_t + ... from (e_t, v_t), and the second v_{t+1}",
        variant=_matrix_variant(lambda h, b, m: m.T),
    ),
    Mistake(
        "rows and columns in the order (v, e)",
        "your matrix is for the state (v, e): the state is (e, v), error first, so that "
        "the first row gives e_{t+1} and the second v_{t+1}",
        variant=_matrix_variant(lambda h, b, m: _SWAP @ m @ _SWAP),
    ),
    Mistake(
        "gradient descent with beta",
        "gradient descent has no momentum: its matrix is heavy ball's with beta = 0, "
        "[[1 - h, 0], [-h, 0]], whatever beta is given",
        variant=lambda method, h, beta: _reference_matrix(
            "momentum" if method == "gd" else method, h, beta
        ),
    ),
    Mistake(
        "sign of -h",
        "the velocity gains -h e_t (the step goes against the gradient, -lr * lambda * e_t): "
        "the bottom-left entry is -h",
        variant=_matrix_variant(lambda h, b, m: m * np.array([[1, 1], [-1, 1]])),
    ),
    Mistake(
        "heavy ball's matrix for Nesterov",
        "that is heavy ball's matrix: Nesterov's gradient at the look-ahead point e + beta v "
        "multiplies the velocity's column by (1 - h), [[1 - h, beta (1 - h)], "
        "[-h, beta (1 - h)]]",
        variant=lambda method, h, beta: _reference_matrix(
            "momentum" if method == "nesterov" else method, h, beta
        ),
    ),
    Mistake(
        "Nesterov's matrix for heavy ball",
        "that is Nesterov's matrix: heavy ball takes the gradient at e itself, so the "
        "velocity column is (beta, beta), [[1 - h, beta], [-h, beta]]",
        variant=lambda method, h, beta: _reference_matrix(
            "nesterov" if method == "momentum" else method, h, beta
        ),
    ),
    Mistake(
        "beta (1 - h) in the top-right entry only",
        "only your top-right entry has the factor (1 - h): the look-ahead gradient changes "
        "both rows, so the velocity column is (beta (1 - h), beta (1 - h))",
        variant=_matrix_variant(lambda h, b, m: [[1 - h, b * (1 - h)], [-h, b]], ["nesterov"]),
    ),
    Mistake(
        "beta (1 - h) in the bottom-right entry only",
        "only your bottom-right entry has the factor (1 - h): e_{t+1} = e_t + v_{t+1} takes "
        "it too, so the velocity column is (beta (1 - h), beta (1 - h))",
        variant=_matrix_variant(lambda h, b, m: [[1 - h, b], [-h, b * (1 - h)]], ["nesterov"]),
    ),
    Mistake(
        "beta (1 - h) in the first column",
        "the factor (1 - h) belongs to the velocity's column (the second): Nesterov's matrix "
        "is [[1 - h, beta (1 - h)], [-h, beta (1 - h)]]",
        variant=_matrix_variant(
            lambda h, b, m: [[b * (1 - h), 1 - h], [b * (1 - h), -h]], ["nesterov"]
        ),
    ),
]


def _read_matrix(name: str, hidden: bool) -> Callable:
    def read(out, case):
        got = as_array(out, name=name, what="the matrix", hidden=hidden, case=case)
        if got.shape != (2, 2):
            gd = case.args["method"] == "gd" and got.size == 1
            fail(
                name,
                "return a 2 x 2 matrix for gradient descent too: heavy ball's with beta = 0, "
                "[[1 - h, 0], [-h, 0]]"
                if gd
                else "the iteration matrix is 2 x 2, acting on (e, v)"
                + ("" if hidden else f"; got shape {got.shape}"),
                hidden=hidden,
                case=case,
            )
        return got

    return read


def _differs_matrix(got: np.ndarray, expected: np.ndarray, hidden: bool) -> str:
    entries = [
        f"[{i}, {j}]" for i, j in np.argwhere(~np.isclose(got, expected, 1e-9, 1e-12)).tolist()
    ]
    return (
        f"the entries {', '.join(entries)} are wrong"
        if len(entries) > 1
        else (f"the entry {entries[0]} is wrong")
    )


def _check_matrix(student: Callable, cases: list[Case], hidden: bool) -> None:
    read = _read_matrix(_MATRIX, hidden)
    check_against_reference(
        student,
        _reference_matrix,
        cases,
        name=_MATRIX,
        hidden=hidden,
        what="the matrix",
        rtol=1e-9,
        atol=1e-12,
        read=read,
        verdict=_verdict(
            student, cases, _MATRIX_MISTAKES, read, _differs_matrix, name=_MATRIX, hidden=hidden
        ),
    )


def check_iteration_matrix_gd_momentum(
    student: Callable, seed: int = 0, hidden: bool = False
) -> None:
    """``iteration_matrix("gd" | "momentum", h, beta)`` equals ``analysis.momentum_matrix(h,
    beta)`` (beta = 0 for "gd") to rounding."""
    _check_matrix(student, _matrix_cases(seed, ("gd", "momentum")), hidden)


def check_iteration_matrix_nesterov(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``iteration_matrix("nesterov", h, beta)`` equals ``analysis.nesterov_matrix``."""
    _check_matrix(student, _matrix_cases(seed, ("nesterov",)), hidden)


# --------------------------------------------------------------------------------------------
# Question 5: the spectral radius
# --------------------------------------------------------------------------------------------
def _reference_radius(M) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(M, dtype=float)))))


def _radius_cases(seed: int) -> list[Case]:
    from course_lib.analysis import momentum_matrix, nesterov_matrix

    rng = np.random.default_rng(seed)
    h, beta = float(_rounded(rng, 0.2, 1.0)), float(_rounded(rng, 0.5, 0.95, digits=2))
    matrices = [
        ("Nesterov's matrix, complex eigenvalues", nesterov_matrix(h, beta)),
        ("heavy ball's matrix, complex eigenvalues", momentum_matrix(h, beta)),
        ("Nesterov's matrix, a negative real eigenvalue", nesterov_matrix(1.5 + h, beta)),
        ("heavy ball's matrix, two real eigenvalues", momentum_matrix(0.01 * h, beta)),
        ("a random 3 x 3 matrix", np.round(rng.uniform(-1, 1, (3, 3)), 3)),
        ("a 1 x 1 matrix", np.array([[-float(_rounded(rng, 1.1, 2.0))]])),
    ]
    return [Case({"M": m}, f"M = {np.round(m, 4).tolist()} ({text})") for text, m in matrices]


_RADIUS_MISTAKES = [
    Mistake(
        "largest real part",
        "the spectral radius is the largest modulus |z| of the eigenvalues, "
        "np.max(np.abs(np.linalg.eigvals(M))): you took the largest real part, which "
        "misses complex and negative eigenvalues",
        variant=lambda M: float(np.max(np.linalg.eigvals(np.asarray(M, float)).real)),
    ),
    Mistake(
        "largest absolute real part",
        "you took the largest |real part|: for complex eigenvalues z = a + ib the modulus "
        "is sqrt(a^2 + b^2), np.abs(z)",
        variant=lambda M: float(np.max(np.abs(np.linalg.eigvals(np.asarray(M, float)).real))),
    ),
    Mistake(
        "eigvalsh",
        "np.linalg.eigvalsh assumes a symmetric matrix (it reads one triangle only); "
        "iteration matrices are not symmetric: use np.linalg.eigvals",
        variant=lambda M: float(np.max(np.abs(np.linalg.eigvalsh(np.asarray(M, float))))),
    ),
    Mistake(
        "2-norm",
        "np.linalg.norm(M, 2) is the largest singular value, which is larger than the "
        "spectral radius for a matrix that is not symmetric: use the eigenvalues, "
        "np.max(np.abs(np.linalg.eigvals(M)))",
        variant=lambda M: float(np.linalg.norm(np.asarray(M, float), 2)),
    ),
]


def _check_number(
    student: Callable,
    reference: Callable,
    cases: Sequence[Case],
    mistakes: Sequence[Mistake],
    *,
    name: str,
    what: str,
    hidden: bool,
    rtol: float,
    complex_message: Optional[str] = None,
) -> None:
    """Compare a number with the reference to ``rtol``; a wrong one is "<what> is wrong"
    unless a mistake explains every case."""

    def read(out, case):
        return as_array(out, name=name, what=what, shape=(), hidden=hidden, case=case)

    check_against_reference(
        student,
        reference,
        cases,
        name=name,
        hidden=hidden,
        what=what,
        rtol=rtol,
        atol=1e-12,
        read=read,
        complex_message=complex_message,
        verdict=_verdict(
            student,
            cases,
            mistakes,
            read,
            lambda got, expected, hidden: f"{what} is wrong",
            name=name,
            hidden=hidden,
        ),
        details=lambda expected, got, out: (
            f"expected: {expected:.10g}\ngot:      {float(got):.10g}"
        ),
    )


def check_spectral_radius(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``spectral_radius(M)``: the largest ``|eigenvalue|`` of a square matrix (heavy ball's
    and Nesterov's matrices with complex, negative and positive eigenvalues, a random 3 x 3
    matrix, a 1 x 1 matrix)."""
    _check_number(
        student,
        _reference_radius,
        _radius_cases(seed),
        _RADIUS_MISTAKES,
        name=_RADIUS,
        what="the spectral radius",
        hidden=hidden,
        rtol=1e-9,
        complex_message="returned a complex number: the spectral radius is the largest "
        "modulus, np.max(np.abs(np.linalg.eigvals(M))), a real number",
    )


# --------------------------------------------------------------------------------------------
# Question 6: the largest stable h
# --------------------------------------------------------------------------------------------
def _reference_limit(method: str, beta: float) -> float:
    from course_lib.analysis import stability_limit

    return stability_limit(method, 0.0 if method == "gd" else beta)


def _limit_cases(seed: int, methods: tuple) -> list[Case]:
    rng = np.random.default_rng(seed)
    fixed = {"gd": [0.0, 0.9], "momentum": [0.0, 0.9], "nesterov": [0.0, 0.9, 0.5]}
    cases = []
    for method in methods:
        betas = (fixed[method] if seed == 0 else []) + [
            float(_rounded(rng, 0.05, 0.98, digits=2)) for _ in range(2)
        ]
        cases += [
            Case({"method": method, "beta": b}, f'method = "{method}", beta = {b:g}') for b in betas
        ]
    return cases


def _limit_variant(formula: Callable, methods: Sequence[str]) -> Callable:
    return lambda method, beta: (
        formula(beta) if method in methods else _reference_limit(method, beta)
    )


_LIMIT_MISTAKES = [
    Mistake(
        "heavy ball's limit for Nesterov",
        "2 + 2 beta is heavy ball's limit: Nesterov's gradient at the look-ahead point "
        "changes it to (2 + 2 beta) / (1 + 2 beta), which shrinks as beta grows",
        variant=_limit_variant(lambda b: 2 + 2 * b, ["nesterov"]),
    ),
    Mistake(
        "Nesterov's limit for heavy ball",
        "(2 + 2 beta) / (1 + 2 beta) is Nesterov's limit: heavy ball is stable up to "
        "h = 2 + 2 beta",
        variant=_limit_variant(lambda b: (2 + 2 * b) / (1 + 2 * b), ["momentum"]),
    ),
    Mistake(
        "gradient descent with beta",
        "gradient descent has no momentum: its limit is 2 whatever beta is given",
        variant=_limit_variant(lambda b: 2 + 2 * b, ["gd"]),
    ),
    Mistake(
        "2 / (1 + 2 beta)",
        "2 / (1 + 2 beta) is not Nesterov's limit: at the edge the root -1 gives "
        "1 + (1 + 2 beta)(1 - h) = 0, so h = (2 + 2 beta) / (1 + 2 beta)",
        variant=_limit_variant(lambda b: 2 / (1 + 2 * b), ["nesterov"]),
    ),
    Mistake(
        "a coarse bisection",
        "your value is close to the limit but not equal to it to rounding: bisect until "
        "the bracket is narrower than 1e-10 (about 40 halvings from [0, 4]), or derive it",
        predicate=lambda got, case: bool(
            abs(float(got) - _reference_limit(**case.args)) <= 1e-2 * _reference_limit(**case.args)
        ),
    ),
]


def _check_limit(student: Callable, cases: list[Case], hidden: bool) -> None:
    _check_number(
        student,
        _reference_limit,
        cases,
        _LIMIT_MISTAKES,
        name=_LIMIT,
        what="the largest stable h",
        hidden=hidden,
        rtol=1e-7,
    )


def check_largest_stable_h_gd_momentum(
    student: Callable, seed: int = 0, hidden: bool = False
) -> None:
    """``largest_stable_h("gd" | "momentum", beta)``: 2 and ``2 + 2 beta``, to 1e-7."""
    _check_limit(student, _limit_cases(seed, ("gd", "momentum")), hidden)


def check_largest_stable_h_nesterov(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``largest_stable_h("nesterov", beta)``: ``(2 + 2 beta) / (1 + 2 beta)``, to 1e-7."""
    _check_limit(student, _limit_cases(seed, ("nesterov",)), hidden)


# --------------------------------------------------------------------------------------------
# Question 7: h = 1.5, beta = 0.9 in a short run
# --------------------------------------------------------------------------------------------
def _short_run_reference(h: float, beta: float, steps: int) -> dict:
    """|w_steps - w*| of each method on f(w) = w^2 / 2 from w_0 = 1 with lr = h (course_lib),
    both Nesterov forms."""
    from course_lib.landscapes import Parabola
    from course_lib.optim import SGD, LookaheadNesterov
    from course_lib.train import run as run_optimizer

    opts = {
        "gd": [SGD(lr=h)],
        "momentum": [SGD(lr=h, momentum=beta)],
        "nesterov": [SGD(lr=h, momentum=beta, nesterov=True), LookaheadNesterov(h, beta)],
    }
    return {
        m: [
            abs(float(run_optimizer(o, Parabola(a=0.5), 1.0, steps, bound=math.inf).path[-1]))
            for o in os
        ]
        for m, os in opts.items()
    }


def _read_dict(value: Any, label: str, hidden: bool) -> dict:
    if not isinstance(value, Mapping) or set(value) != set(METHODS):
        fail(
            label,
            'must be a dict with the keys "gd", "momentum" and "nesterov"'
            + ("" if hidden else f"; got {describe(value)}"),
            hidden=hidden,
        )
    return dict(value)


def check_short_runs(
    final_error, diverges, h: float, beta: float, steps: int, hidden: bool = False
) -> None:
    """The short runs at ``h``, ``beta``: ``final_error[m]`` = ``|w_steps - w*|`` of method m
    from ``|w_0 - w*| = 1`` and ``diverges[m]`` whether it grew.

    Visible: two dicts with the three methods, finite non-negative errors, and each verdict
    agreeing with its error (an error above 1 diverges). Hidden: the errors equal course_lib's
    runs to rounding (either form of Nesterov), and the verdicts are the analysis's.
    """
    errors = _read_dict(final_error, "final_error", hidden)
    verdicts = _read_dict(diverges, "diverges", hidden)
    for m in METHODS:
        err = as_array(
            errors[m], name="final_error", what=f'final_error["{m}"]', shape=(), hidden=hidden
        )
        if not (np.isfinite(err) and err >= 0):
            fail(
                "final_error",
                f'final_error["{m}"] must be a finite distance >= 0, '
                f"|w - w*| after the run (not stopped early)",
                hidden=hidden,
            )
        if not isinstance(verdicts[m], (bool, np.bool_)):
            fail("diverges", f'diverges["{m}"] must be True or False', hidden=hidden)
        if bool(verdicts[m]) != bool(err > 1.0):
            fail(
                "diverges",
                f'diverges["{m}"] disagrees with final_error["{m}"]: a run '
                f"diverges when its distance to the minimum grew beyond the start's, 1",
                hidden=hidden,
            )
        if not hidden:
            continue
        from course_lib.analysis import gd_rate, momentum_rate, nesterov_rate

        rate = {
            "gd": gd_rate(h),
            "momentum": momentum_rate(h, beta),
            "nesterov": nesterov_rate(h, beta),
        }[m]
        if bool(verdicts[m]) != bool(rate > 1):
            fail("diverges", f'diverges["{m}"] is wrong: check which runs grow', hidden=True)
        wanted = _short_run_reference(float(h), float(beta), int(steps))[m]
        if not any(close(err, w, 1e-7, 1e-12) for w in wanted):
            fail(
                "final_error",
                f'final_error["{m}"] differs from this run: check lr = H_CASE '
                f"(lambda = 1), momentum = BETA, the number of steps and |w - w*|",
                hidden=True,
            )
