"""Checkers for problem set 5: momentum in its two forms, under a changing learning rate, its
best hyperparameters on a quadratic, and the steps it saves against the condition number.

Momentum is deterministic, so every number is compared with course_lib's reference to
rounding: ``optim.LectureMomentum`` (``v = beta * v - lr * g; w = w + v``) and
``optim.SGD(lr, momentum, dampening)`` (PyTorch's buffer, ``b = beta * b + (1 - d) * g``,
``b = g`` on the first step, ``w = w - lr * b``), ``train.run`` with a learning rate per
step, and ``analysis.best_momentum``. A test cell grades one thing, so that one slip costs
the points of what it breaks and no more:

- the *contract* checkers of the two step functions grade the pair they return (new arrays
  of ``w``'s shape) and that ``w``, the state and the gradient are left untouched; the
  *values* checkers work on copies and accept any container of the right numbers;
- PyTorch's first step (the buffer starts as the gradient, without dampening) has its own
  checker;
- ``run_momentum`` has a trajectory checker (shape, ``w0`` first and untouched) and one
  checker per form for the iterates, each of which accepts a trajectory without ``w0``;
- the three numbers of ``best_momentum_params`` are graded separately;
- the experiment's slopes are compared with the fit of the student's own counts, so a wrong
  count is not charged twice.

Diagnoses follow ``check_against_reference``'s rule: a typical mistake is named only when it
reproduces the student's output on every case of the test; otherwise the message says where
the output first differs (which step, which coordinate).
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
from course_lib.grading.descent import check_hessian_scalar, hessian_cases, hessian_mistakes
from course_lib.grading.problems import log_uniform, random_quadratic, rotated_bowl

__all__ = [
    "check_lecture_step_contract",
    "check_lecture_step_values",
    "check_pytorch_step_contract",
    "check_pytorch_step_values",
    "check_pytorch_first_step",
    "check_run_momentum_trajectory",
    "check_run_momentum_lecture",
    "check_run_momentum_pytorch",
    "check_best_momentum_lr",
    "check_best_momentum_beta",
    "check_best_momentum_rate",
    "check_momentum_experiment_steps",
    "check_momentum_experiment_slopes",
]

_LECTURE = "momentum_step_lecture"
_PYTORCH = "momentum_step_pytorch"
_RUN = "run_momentum"
_BEST = "best_momentum_params"
_ROUNDING = {"rtol": 1e-10, "atol": 1e-12}


# --------------------------------------------------------------------------------------------
# The references
# --------------------------------------------------------------------------------------------
def _f(x) -> np.ndarray:
    return np.array(x, dtype=float)


def _lecture_step(w, v, g, lr, beta):
    """course_lib's lecture form: ``LectureMomentum(lr, beta).step`` from velocity ``v``."""
    from course_lib.optim import LectureMomentum, VelocityState

    new_w, state = LectureMomentum(lr=lr, momentum=beta).step(_f(w), _f(g), VelocityState(1, _f(v)))
    return new_w, state.velocity


def _pytorch_step(w, buf, g, lr, beta, dampening):
    """course_lib's (PyTorch's) form: ``SGD(lr, beta, dampening).step``; ``buf`` None is the
    first step."""
    from course_lib.optim import SGD, SGDState

    opt = SGD(lr=lr, momentum=beta, dampening=dampening)
    state = opt.init(_f(w)) if buf is None else SGDState(1, _f(buf))
    new_w, state = opt.step(_f(w), _f(g), state)
    return new_w, state.momentum_buffer


def _reference_run(grad, w0, lrs, beta, form) -> np.ndarray:
    """``train.run`` of LectureMomentum or SGD(momentum) with ``lrs[t]`` at step t."""
    from course_lib.optim import SGD, LectureMomentum
    from course_lib.train import run as run_optimizer

    lrs = [float(lr) for lr in lrs]
    first = lrs[0] if lrs else 0.0
    opt = (
        LectureMomentum(lr=first, momentum=beta)
        if form == "lecture"
        else SGD(lr=first, momentum=beta)
    )
    traj = run_optimizer(opt, grad, _f(w0), len(lrs), schedule=lrs.__getitem__, bound=math.inf)
    if traj.diverged:  # the test cases are built not to overflow
        raise RuntimeError("reference run overflowed")
    return traj.path.reshape(traj.path.shape[0], -1)


# --------------------------------------------------------------------------------------------
# Questions 1 and 2: one step of each form
# --------------------------------------------------------------------------------------------
def _vector(rng: np.random.Generator, dim: int, scale: float = 2.0) -> np.ndarray:
    return np.round(rng.uniform(-scale, scale, dim), 3)


def _step_cases(seed: int, form: str, first: bool = False) -> list[Case]:
    """Cases of one step: fixed small ones for seed 0, random ones (1 to 6 coordinates)
    otherwise. ``form`` "pytorch" adds ``dampening`` (mostly > 0); ``first`` sets buf None."""
    rng = np.random.default_rng(seed)
    state = "v" if form == "lecture" else "buf"
    if seed == 0:
        raw = [
            ([1.0, -2.0], [0.5, 0.25], [2.0, -1.0], 0.1, 0.9, 0.5),
            ([3.0], [-1.0], [1.5], 0.5, 0.5, 0.0),
            ([0.2, 0.4, -0.6], [1.0, -1.0, 2.0], [-3.0, 0.5, 1.0], 0.05, 0.8, 0.3),
        ]
    else:
        raw = []
        for dim in (int(rng.integers(2, 7)), 1, int(rng.integers(2, 5))):
            lr = float(np.round(log_uniform(rng, 1e-3, 1.0), 4))
            beta = float(np.round(rng.uniform(0.3, 0.99), 3))
            damp = float(np.round(rng.uniform(0.1, 0.9), 2))
            raw.append((_vector(rng, dim), _vector(rng, dim), _vector(rng, dim, 5), lr, beta, damp))
    cases = []
    for i, (w, s, g, lr, beta, damp) in enumerate(raw):
        w, s, g = _f(w), (None if first else _f(s)), _f(g)
        args = {"w": w, state: s, "g": g, "lr": lr, "beta": beta}
        label = f"w = {w.tolist()}, {state} = {None if s is None else s.tolist()}, g = {g.tolist()}"
        label += f", lr = {lr:g}, beta = {beta:g}"
        if form == "pytorch":
            damp = 0.0 if (first and i == 1) else damp
            args["dampening"] = damp
            label += f", dampening = {damp:g}"
        cases.append(Case(args, label))
    return cases


def _explain_mutation(arg: str, before: Any, after: Any) -> Optional[str]:
    what = {
        "w": "the weights `w`",
        "v": "the velocity `v`",
        "buf": "the buffer `buf`",
        "g": "the gradient `g`",
    }.get(arg)
    if what is None:
        return None
    torch = (
        " (PyTorch updates its buffer in place, buf.mul_(beta).add_(g), because the optimizer "
        "owns it; here the state is passed in and returned)"
        if arg == "buf"
        else ""
    )
    return (
        f"changed {what} in place (with +=, -=, *= or slice assignment){torch}: the caller "
        f"keeps its own arrays, so compute new ones, e.g. `new = beta * {arg} - ...`, and "
        f"return them"
    )


def _explain_step_error(exc: BaseException) -> Optional[str]:
    text = str(exc)
    if "NoneType" in text:
        return (
            "buf is None on the first step (PyTorch has no buffer yet): start it as a copy "
            "of the gradient, buf_new = g.copy()"
        )
    return None


def _check_pair(out: Any, case: Case, name: str, second: str, hidden: bool) -> np.ndarray:
    """The output as a (2, dim) array, with a diagnosis of a wrong structure."""
    dim = np.size(case.args["w"])
    pair = f"the pair (w_new, {second}_new), e.g. `return w_new, {second}_new`"
    if isinstance(out, np.ndarray) and out.ndim >= 2 and len(out) == 2:
        out = list(out)  # np.array([w_new, v_new]) unpacks like the pair
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        one = not isinstance(out, (tuple, list)) and np.size(out) == dim
        problem = (
            f"returned one array: return {pair}; the next step needs the new {second}"
            if one
            else f"must return {pair}"
        )
        fail(
            name,
            problem + ("" if hidden or one else f"; got {describe(out)}"),
            hidden=hidden,
            case=case,
        )
    parts = [
        as_array(x, name=name, what="each of the two results", hidden=hidden, case=case)
        for x in out
    ]
    for label, part in zip(("w_new", f"{second}_new"), parts):
        if part.shape != np.shape(case.args["w"]):
            fail(
                name,
                f"{label} must have the shape of w"
                + ("" if hidden else f", {np.shape(case.args['w'])}; got {part.shape}"),
                hidden=hidden,
                case=case,
            )
    return np.stack([p.reshape(-1) for p in parts])


def _check_step_contract(student, cases: Sequence[Case], name: str, second: str, hidden: bool):
    for case in cases:
        out = run(
            student,
            case,
            name=name,
            hidden=hidden,
            no_aliasing=True,
            explain=_explain_step_error,
            explain_mutation=_explain_mutation,
        )
        _check_pair(out, case, name, second, hidden)


def check_lecture_step_contract(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``momentum_step_lecture(w, v, g, lr, beta)`` returns the pair ``(w_new, v_new)``, two
    new arrays of ``w``'s shape, and leaves ``w``, ``v`` and ``g`` untouched."""
    _check_step_contract(student, _step_cases(seed, "lecture"), _LECTURE, "v", hidden)


def check_pytorch_step_contract(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``momentum_step_pytorch(w, buf, g, lr, beta, dampening)`` returns the pair
    ``(w_new, buf_new)``, two new arrays of ``w``'s shape (on the first step too, where
    ``buf`` is None: the new buffer is a copy of ``g``, not ``g`` itself), and leaves ``w``,
    ``buf`` and ``g`` untouched."""
    cases = _step_cases(seed, "pytorch") + _step_cases(seed, "pytorch", first=True)
    _check_step_contract(student, cases, _PYTORCH, "buf", hidden)


def _where(got: np.ndarray, expected: np.ndarray, second: str) -> str:
    """Which of the two results differ, and in which coordinates (for visible messages)."""
    parts = []
    for row, label in enumerate(("w_new", f"{second}_new")):
        bad = np.flatnonzero(~np.isclose(got[row], expected[row], **_ROUNDING))
        if bad.size:
            parts.append(f"{label} (coordinate{'s' if bad.size > 1 else ''} {bad.tolist()})")
    return " and ".join(parts)


def _step_verdict(second: str, formula: str, hidden: bool):
    def verdict(got, expected, case):
        if not np.all(np.isfinite(got)):
            return "the result contains NaN or infinite values"
        wrong = _where(got, expected, second)
        if hidden:
            which = " and ".join(w.split(" (")[0] for w in wrong.split(" and "))
            verb = "differ" if " and " in which else "differs"
            return f"{which} {verb} from the correct update, {formula}"
        verb = "differ" if " and " in wrong else "differs"
        return f"{wrong} {verb} from the correct update, {formula}"

    return verdict


def _check_step_values(student, reference, cases, name, second, formula, mistakes, hidden):
    check_against_reference(
        student,
        reference,
        cases,
        name=name,
        hidden=hidden,
        what="the pair (w_new, " + second + "_new)",
        mistakes=mistakes,
        check_inputs=False,
        explain=_explain_step_error,
        read=lambda out, case: _check_pair(out, case, name, second, hidden),
        verdict=_step_verdict(second, formula, hidden),
        **_ROUNDING,
    )


def _lecture_variant(velocity: Callable, weights: Callable) -> Callable:
    """A wrong lecture step: ``v_new = velocity(w, v, g, lr, beta)``, ``w_new = weights(w,
    v, v_new, g, lr)``."""

    def variant(w, v, g, lr, beta):
        w, v, g = _f(w), _f(v), _f(g)
        v_new = velocity(w, v, g, lr, beta)
        return weights(w, v, v_new, g, lr), v_new

    return variant


_UNUSED = (
    "w_new is a plain gradient step, w - lr * g: the velocity is never used. The weights "
    "move by the new velocity, w_new = w + v_new with v_new = beta * v - lr * g"
)
_RIGHT_V = lambda w, v, g, lr, beta: beta * v - lr * g  # noqa: E731
_ADD_V = lambda w, v, v_new, g, lr: w + v_new  # noqa: E731

_LECTURE_MISTAKES = [
    Mistake(
        "velocity_unused",
        _UNUSED,
        variant=_lecture_variant(_RIGHT_V, lambda w, v, v_new, g, lr: w - lr * g),
    ),
    Mistake(
        "velocity_unused_kept",
        _UNUSED,
        variant=lambda w, v, g, lr, beta: (_f(w) - lr * _f(g), _f(v)),
    ),
    Mistake(
        "sign",
        "the velocity has the wrong sign: it collects steps *against* the gradient, "
        "v_new = beta * v - lr * g, and the weights move by it, w_new = w + v_new",
        variant=_lecture_variant(lambda w, v, g, lr, beta: beta * v + lr * g, _ADD_V),
    ),
    Mistake(
        "subtracts_velocity",
        "v_new is right, but you subtract it from the weights: in the lecture form the "
        "velocity already points downhill, so w_new = w + v_new",
        variant=_lecture_variant(_RIGHT_V, lambda w, v, v_new, g, lr: w - v_new),
    ),
    Mistake(
        "pytorch_form",
        "you wrote PyTorch's form (buffer = beta * v + g, w - lr * buffer) in the lecture "
        "function: here the state is the velocity, with the learning rate inside it, "
        "v_new = beta * v - lr * g and w_new = w + v_new",
        variant=_lecture_variant(
            lambda w, v, g, lr, beta: beta * v + g, lambda w, v, v_new, g, lr: w - lr * v_new
        ),
    ),
    Mistake(
        "old_velocity",
        "the weights move by the old velocity, w + v: update the velocity first and move by "
        "the new one, w_new = w + v_new",
        variant=_lecture_variant(_RIGHT_V, lambda w, v, v_new, g, lr: w + v),
    ),
    Mistake(
        "no_beta",
        "the old velocity is kept whole, v - lr * g: multiply it by the momentum, "
        "v_new = beta * v - lr * g",
        variant=_lecture_variant(lambda w, v, g, lr, beta: v - lr * g, _ADD_V),
    ),
    Mistake(
        "ema",
        "you averaged, beta * v - (1 - beta) * lr * g: the lecture form adds the whole step, "
        "v_new = beta * v - lr * g (the factor 1 - beta is PyTorch's dampening, not part of "
        "this form)",
        variant=_lecture_variant(lambda w, v, g, lr, beta: beta * v - (1 - beta) * lr * g, _ADD_V),
    ),
    Mistake(
        "lr_twice",
        "the learning rate is applied twice, w + lr * v_new: it is already inside the "
        "velocity, so w_new = w + v_new",
        variant=_lecture_variant(_RIGHT_V, lambda w, v, v_new, g, lr: w + lr * v_new),
    ),
    Mistake(
        "swapped",
        "the two results are swapped: return (w_new, v_new) in this order",
        variant=lambda w, v, g, lr, beta: _lecture_step(w, v, g, lr, beta)[::-1],
    ),
]


def check_lecture_step_values(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``momentum_step_lecture`` computes ``v_new = beta * v - lr * g`` and ``w_new = w +
    v_new``, to rounding (``LectureMomentum``). Works on copies: the contract checker grades
    in-place changes."""
    _check_step_values(
        student,
        _lecture_step,
        _step_cases(seed, "lecture"),
        _LECTURE,
        "v",
        "v_new = beta * v - lr * g, w_new = w + v_new",
        _LECTURE_MISTAKES,
        hidden,
    )


def _pytorch_variant(buffer: Callable, weights: Callable = None) -> Callable:
    """A wrong PyTorch step: ``buf_new = buffer(buf, g, beta, d)``, ``w_new = weights(w,
    buf, buf_new, g, lr)`` (default ``w - lr * buf_new``). ``buf`` None counts as zeros."""

    def variant(w, buf, g, lr, beta, dampening):
        w, g = _f(w), _f(g)
        buf = np.zeros_like(w) if buf is None else _f(buf)
        new = buffer(buf, g, beta, dampening)
        return (w - lr * new if weights is None else weights(w, buf, new, g, lr)), new

    return variant


_RIGHT_B = lambda b, g, beta, d: beta * b + (1 - d) * g  # noqa: E731
_PYTORCH_UNUSED = (
    "w_new is a plain gradient step, w - lr * g: the buffer is never used. The weights move "
    "by the new buffer, w_new = w - lr * buf_new"
)

_PYTORCH_SWAPPED = Mistake(
    "swapped",
    "the two results are swapped: return (w_new, buf_new) in this order",
    variant=lambda w, buf, g, lr, beta, dampening: _pytorch_step(w, buf, g, lr, beta, dampening)[
        ::-1
    ],
)

_PYTORCH_MISTAKES = [
    Mistake(
        "buffer_unused",
        _PYTORCH_UNUSED,
        variant=_pytorch_variant(_RIGHT_B, lambda w, b, new, g, lr: w - lr * g),
    ),
    Mistake(
        "lecture_form",
        "you wrote the lecture form (a velocity with the learning rate inside, "
        "beta * buf - lr * g, added to w) in PyTorch's function: PyTorch's buffer holds "
        "gradients only, buf_new = beta * buf + (1 - dampening) * g, and the learning rate "
        "multiplies it when the weights move, w_new = w - lr * buf_new",
        variant=lambda w, buf, g, lr, beta, dampening: (
            _f(w) + (beta * _f(buf) - lr * _f(g)),
            beta * _f(buf) - lr * _f(g),
        ),
    ),
    Mistake(
        "no_dampening",
        "the gradient enters the buffer whole: dampening scales it, "
        "buf_new = beta * buf + (1 - dampening) * g",
        variant=_pytorch_variant(lambda b, g, beta, d: beta * b + g),
    ),
    Mistake(
        "dampening_not_one_minus",
        "the gradient enters the buffer with the factor (1 - dampening), not dampening: "
        "buf_new = beta * buf + (1 - dampening) * g",
        variant=_pytorch_variant(lambda b, g, beta, d: beta * b + d * g),
    ),
    Mistake(
        "dampening_on_buffer",
        "dampening scales the new gradient, not the old buffer: "
        "buf_new = beta * buf + (1 - dampening) * g",
        variant=_pytorch_variant(lambda b, g, beta, d: (1 - d) * beta * b + g),
    ),
    Mistake(
        "sign",
        "the weights move uphill: the buffer collects gradients, "
        "buf_new = beta * buf + (1 - dampening) * g, and the weights step against it, "
        "w_new = w - lr * buf_new",
        variant=_pytorch_variant(_RIGHT_B, lambda w, b, new, g, lr: w + lr * new),
    ),
    Mistake(
        "old_buffer",
        "the weights move by the old buffer, w - lr * buf: update the buffer first and move "
        "by the new one, w_new = w - lr * buf_new",
        variant=_pytorch_variant(_RIGHT_B, lambda w, b, new, g, lr: w - lr * b),
    ),
    Mistake(
        "no_beta",
        "the old buffer is kept whole: multiply it by the momentum, "
        "buf_new = beta * buf + (1 - dampening) * g",
        variant=_pytorch_variant(lambda b, g, beta, d: b + (1 - d) * g),
    ),
    _PYTORCH_SWAPPED,
]

_FIRST_MISTAKES = [
    _PYTORCH_SWAPPED,
    Mistake(
        "dampening_on_first_step",
        "on the first step you applied dampening, buf_new = (1 - dampening) * g (or started "
        "from a buffer of zeros): PyTorch starts the buffer as the gradient itself, "
        "buf_new = g.copy(), and dampens only later gradients",
        variant=_pytorch_variant(_RIGHT_B),
    ),
    Mistake(
        "first_step_scaled_by_beta",
        "on the first step the buffer is the gradient itself, buf_new = g.copy(), not "
        "beta * g: there is no previous buffer to keep a share of",
        variant=_pytorch_variant(lambda b, g, beta, d: beta * g),
    ),
]


def check_pytorch_step_values(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``momentum_step_pytorch`` with a buffer (not the first step) computes ``buf_new =
    beta * buf + (1 - dampening) * g`` and ``w_new = w - lr * buf_new``, to rounding
    (``SGD(lr, momentum=beta, dampening=dampening)``)."""
    _check_step_values(
        student,
        _pytorch_step,
        _step_cases(seed, "pytorch"),
        _PYTORCH,
        "buf",
        "buf_new = beta * buf + (1 - dampening) * g, w_new = w - lr * buf_new",
        _PYTORCH_MISTAKES,
        hidden,
    )


def check_pytorch_first_step(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``momentum_step_pytorch`` with ``buf`` None (the first step) starts the buffer as the
    gradient, ``buf_new = g`` (a copy, without dampening), and returns ``w - lr * g``."""
    _check_step_values(
        student,
        _pytorch_step,
        _step_cases(seed, "pytorch", first=True),
        _PYTORCH,
        "buf",
        "on the first step buf_new = g (a copy) and w_new = w - lr * buf_new",
        _FIRST_MISTAKES,
        hidden,
    )


# --------------------------------------------------------------------------------------------
# Question 3: runs driven by a learning rate per step
# --------------------------------------------------------------------------------------------
def _schedule(rng: np.random.Generator, steps: int, lam_max: float, beta: float) -> np.ndarray:
    """Learning rates for ``steps`` steps from a course_lib schedule (constant, StepLR,
    MultiStepLR or ExponentialLR), stable for curvature up to ``lam_max``."""
    from course_lib.schedules import ExponentialLR, MultiStepLR, StepLR

    lr = float(np.round(rng.uniform(0.3, 1.2) * (1 + beta) / lam_max, 4))
    kind = int(rng.integers(0, 3))
    schedule = [
        StepLR(lr, step_size=max(1, steps // 3), gamma=0.3),
        MultiStepLR(lr, milestones=[max(1, steps // 2)], gamma=0.1),
        ExponentialLR(lr, gamma=0.9),
    ][kind]
    return np.array([float(schedule(t)) for t in range(steps)])


def _run_cases(seed: int, form: str, trajectory: bool = False) -> list[Case]:
    """Runs on rotated bowls and random quadratics (1 to 5 coordinates) with a constant
    learning rate and with schedules; ``trajectory`` adds a run of 0 steps."""
    from course_lib.schedules import MultiStepLR

    rng = np.random.default_rng(seed)
    forms = ["lecture", "pytorch"] if form == "both" else [form]
    cases = []
    if seed == 0:
        bowl = rotated_bowl(10.0, 0.5, (1.0, -1.0), _RUN, False)
        drop = MultiStepLR(0.1, milestones=[3], gamma=0.1)
        lrs = [float(drop(t)) for t in range(6)]
        for f in forms:
            cases.append(
                Case(
                    {"grad": bowl, "w0": _f([-1.0, 0.5]), "lrs": [0.1] * 4, "beta": 0.9, "form": f},
                    f"grad of {bowl.description}, w0 = [-1.0, 0.5], lrs = [0.1] * 4 (constant), "
                    f"beta = 0.9, form = {f!r}",
                )
            )
            cases.append(
                Case(
                    {"grad": bowl, "w0": _f([-1.0, 0.5]), "lrs": lrs, "beta": 0.9, "form": f},
                    f"grad of {bowl.description}, w0 = [-1.0, 0.5], lrs = {lrs} "
                    f"(MultiStepLR(0.1, milestones=[3], gamma=0.1)), beta = 0.9, form = {f!r}",
                )
            )
    for f in forms:
        for dim in (2,) if seed == 0 else (int(rng.integers(3, 6)), 1):
            p = random_quadratic(rng, dim, _RUN, seed != 0)
            lam_max = (
                float(p.landscape.hessian(0.0)) if dim == 1 else float(p.landscape.eigenvalues[-1])
            )
            beta = float(np.round(rng.uniform(0.5, 0.95), 3))
            lrs = _schedule(rng, int(rng.integers(8, 30)), lam_max, beta)
            w0 = _vector(rng, dim)
            cases.append(
                Case(
                    {"grad": p, "w0": w0, "lrs": lrs, "beta": beta, "form": f},
                    f"grad of {p.description}, w0 = {w0.tolist()}, lrs = {describe(lrs)}, beta "
                    f"= {beta:g}, form = {f!r}",
                )
            )
        if trajectory:
            dim = 2 if seed == 0 else 3
            w0 = _vector(rng, dim)
            p = random_quadratic(rng, dim, _RUN, seed != 0)
            cases.append(
                Case(
                    {"grad": p, "w0": w0, "lrs": [], "beta": 0.9, "form": f},
                    f"grad of {p.description}, w0 = {w0.tolist()}, lrs = [] (no step), beta = "
                    f"0.9, form = {f!r}",
                )
            )
    return cases


def check_run_momentum_trajectory(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``run_momentum(grad, w0, lrs, beta, form)`` returns a float array of shape
    ``(len(lrs) + 1, dim)`` whose row 0 is ``w0``, and leaves ``w0`` and ``lrs`` untouched
    (both forms)."""
    for case in _run_cases(seed, "both", trajectory=True):
        out = run(student, case, name=_RUN, hidden=hidden, no_aliasing=True)
        got = as_array(out, name=_RUN, what="the trajectory", hidden=hidden, case=case)
        steps, dim = len(case.args["lrs"]), case.args["grad"].dim
        want = (steps + 1, dim)
        shape = "" if hidden else f"; got shape {got.shape}, expected {want}"
        if got.shape == want[::-1] and steps + 1 != dim:
            fail(
                _RUN,
                "your trajectory is transposed: one row per iterate, one column per coordinate"
                + shape,
                hidden=hidden,
                case=case,
            )
        if got.shape == (steps, dim) and steps:
            fail(
                _RUN,
                "the trajectory has one row too few: w0 first, then one row per step, len(lrs) "
                "+ 1 rows in all",
                hidden=hidden,
                case=case,
            )
        if got.shape != want:
            fail(
                _RUN,
                "the trajectory must have shape (len(lrs) + 1, dim): w0 and one row per "
                "learning rate" + shape,
                hidden=hidden,
                case=case,
            )
        if not np.array_equal(got[0], _f(case.args["w0"])):
            fail(
                _RUN,
                "row 0 of the trajectory must be w0 itself (row t is the iterate after t steps)",
                hidden=hidden,
                case=case,
                details=f"w0:    {describe(case.args['w0'])}\nrow 0: {describe(got[0])}",
            )


def _loop_variant(update: Callable) -> Callable:
    """A wrong run: ``w, state = update(w, state, g, lr, t, lrs, beta, form)`` per step."""

    def variant(grad, w0, lrs, beta, form):
        w = _f(w0)
        state, rows = np.zeros_like(w), [w.copy()]
        for t, lr in enumerate(lrs):
            w, state = update(w, state, grad(w), float(lr), t, lrs, beta, form)
            rows.append(w.copy())
        return np.array(rows)

    return variant


def _lecture_update(w, v, g, lr, beta):
    v = beta * v - lr * g
    return w + v, v


def _pytorch_update(w, b, g, lr, beta):
    b = beta * b + g
    return w - lr * b, b


def _run_mistakes(form: str) -> list[Mistake]:
    other, other_name = (
        (_pytorch_update, "PyTorch's form")
        if form == "lecture"
        else (_lecture_update, "the lecture form")
    )
    right = _lecture_update if form == "lecture" else _pytorch_update
    return [
        Mistake(
            "other_form",
            f"for form={form!r} your trajectory is {other_name}'s: the two agree while the "
            f"learning rate is constant and part when it changes. "
            + (
                "The lecture form keeps a velocity with the learning rate inside, "
                "v = beta * v - lr * g, w = w + v"
                if form == "lecture"
                else "PyTorch's form keeps a buffer of gradients, b = beta * b + g, and "
                "multiplies it by the current learning rate, w = w - lr * b"
            ),
            variant=_loop_variant(lambda w, s, g, lr, t, lrs, beta, f: other(w, s, g, lr, beta)),
        ),
        Mistake(
            "first_lr_only",
            "every step uses the first learning rate, lrs[0]: step t must use lrs[t]",
            variant=_loop_variant(
                lambda w, s, g, lr, t, lrs, beta, f: right(w, s, g, float(lrs[0]), beta)
            ),
        ),
        Mistake(
            "previous_lr",
            "step t uses the learning rate of step t - 1: step t must use lrs[t] (lrs[0] on the "
            "first step)",
            variant=_loop_variant(
                lambda w, s, g, lr, t, lrs, beta, f: right(w, s, g, float(lrs[max(t - 1, 0)]), beta)
            ),
        ),
        Mistake(
            "gradient_descent",
            "your trajectory is gradient descent's: the "
            + ("velocity" if form == "lecture" else "buffer")
            + " is never used, or not carried from one step to the next (is it reset inside "
            "the loop?)",
            variant=_loop_variant(lambda w, s, g, lr, t, lrs, beta, f: (w - lr * g, s)),
        ),
    ]


def _run_verdict(hidden: bool):
    def verdict(got, expected, case):
        if not np.all(np.isfinite(got)):
            return "the trajectory contains NaN or infinite values"
        if got.shape != expected.shape:
            fail(
                _RUN,
                "the trajectory must have shape (len(lrs) + 1, dim): w0 and one row per step, "
                "one column per coordinate of w0"
                + ("" if hidden else f"; got shape {got.shape}, expected {expected.shape}"),
                hidden=hidden,
                case=case,
            )
        bad = ~np.isclose(got, expected, **_ROUNDING)
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        lrs = [float(x) for x in case.args["lrs"]]
        changed = row >= 2 and lrs[row - 1] != lrs[row - 2]
        where = f"the iterates first differ after step {row}" + (
            "" if hidden else f" (row {row}, coordinates {np.flatnonzero(bad[row]).tolist()})"
        )
        return where + (
            ", the first step with a new learning rate: check how a change of the learning "
            "rate enters your update"
            if changed
            else ": compare your update with the recap's"
        )

    return verdict


def _check_run_values(student: Callable, seed: int, hidden: bool, form: str) -> None:
    def read(out, case):  # the trajectory checker grades the shape: accept it loosely here
        got = as_array(out, name=_RUN, what="the trajectory", hidden=hidden, case=case)
        return got.reshape(-1, 1) if got.ndim == 1 and case.args["grad"].dim == 1 else got

    def accept(got, case):  # without w0: the steps are right
        return close(got, _reference_run(**case.args)[1:], **_ROUNDING)

    check_against_reference(
        student,
        _reference_run,
        [c for c in _run_cases(seed, form) if len(c.args["lrs"])],
        name=_RUN,
        hidden=hidden,
        what="the trajectory",
        mistakes=_run_mistakes(form),
        check_inputs=False,
        read=read,
        accept=accept,
        verdict=_run_verdict(hidden),
        **_ROUNDING,
    )


def check_run_momentum_lecture(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``run_momentum(..., form="lecture")`` makes the lecture form's steps with ``lrs[t]``
    at step t (``train.run(LectureMomentum, schedule)``), to rounding."""
    _check_run_values(student, seed, hidden, "lecture")


def check_run_momentum_pytorch(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``run_momentum(..., form="pytorch")`` makes PyTorch's steps with ``lrs[t]`` at step t
    (``train.run(SGD(momentum=beta), schedule)``), to rounding."""
    _check_run_values(student, seed, hidden, "pytorch")


# --------------------------------------------------------------------------------------------
# Question 4: the best learning rate and momentum from the Hessian
# --------------------------------------------------------------------------------------------
def _best_momentum(H) -> tuple[float, float, float]:
    from course_lib.analysis import best_momentum

    lam = np.linalg.eigvalsh(np.asarray(H, dtype=float))
    return tuple(best_momentum(lam[0], lam[-1]))


def _sk(lo, hi):
    return math.sqrt(hi / lo)


_BEST_FORMULAS = {
    0: lambda lo, hi: (2 / (math.sqrt(hi) + math.sqrt(lo))) ** 2,
    1: lambda lo, hi: ((_sk(lo, hi) - 1) / (_sk(lo, hi) + 1)) ** 2,
    2: lambda lo, hi: (_sk(lo, hi) - 1) / (_sk(lo, hi) + 1),
}
_GD_RATE = lambda lo, hi: (hi / lo - 1) / (hi / lo + 1)  # noqa: E731
_BEST_MISTAKES = {
    0: [
        (
            "gd_lr",
            "2 / (lambda_min + lambda_max) is gradient descent's best learning rate; with "
            "momentum it is (2 / (sqrt(lambda_max) + sqrt(lambda_min)))^2",
            lambda lo, hi: 2 / (lo + hi),
        ),
        (
            "not_squared",
            "you forgot the square: lr = (2 / (sqrt(lambda_max) + sqrt(lambda_min)))^2",
            lambda lo, hi: 2 / (math.sqrt(hi) + math.sqrt(lo)),
        ),
        (
            "no_roots",
            "take the square roots of the eigenvalues before adding them: "
            "lr = (2 / (sqrt(lambda_max) + sqrt(lambda_min)))^2",
            lambda lo, hi: (2 / (hi + lo)) ** 2,
        ),
    ],
    1: [
        (
            "kappa_not_sqrt",
            "you used kappa where the formula has sqrt(kappa): "
            "beta = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2",
            lambda lo, hi: _GD_RATE(lo, hi) ** 2,
        ),
        (
            "not_squared",
            "(sqrt(kappa) - 1) / (sqrt(kappa) + 1) is the rate, sqrt(beta); the momentum is "
            "its square, beta = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2",
            _BEST_FORMULAS[2],
        ),
        (
            "gd_rate",
            "(kappa - 1) / (kappa + 1) is gradient descent's rate; the best momentum is "
            "beta = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2",
            _GD_RATE,
        ),
    ],
    2: [
        (
            "kappa_not_sqrt",
            "(kappa - 1) / (kappa + 1) is gradient descent's rate; momentum has the rate of "
            "gradient descent on a condition number sqrt(kappa), "
            "(sqrt(kappa) - 1) / (sqrt(kappa) + 1)",
            _GD_RATE,
        ),
        (
            "squared",
            "you returned beta itself; the rate is its square root, "
            "(sqrt(kappa) - 1) / (sqrt(kappa) + 1)",
            _BEST_FORMULAS[1],
        ),
    ],
}
_BEST_WHAT = {
    0: "the learning rate (the first number)",
    1: "the momentum beta (the second number)",
    2: "the rate (the third number)",
}


def _check_best(student: Callable, seed: int, hidden: bool, pick: int) -> None:
    formula = _BEST_FORMULAS[pick]
    check_hessian_scalar(
        student,
        _BEST,
        _BEST_WHAT[pick],
        _best_momentum,
        hessian_cases(seed),
        hessian_mistakes(_BEST_MISTAKES[pick], [formula], [formula]),
        hidden,
        pick=pick,
        unreadable="must return three numbers (lr, beta, rate), e.g. `return lr, beta, rate`",
        size=3,
    )


def check_best_momentum_lr(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``best_momentum_params(H)[0]`` is ``(2 / (sqrt(lambda_max) + sqrt(lambda_min)))^2``
    (ps03's Hessians: diagonal, rotated, integer, 1 x 1, random, a repeated eigenvalue)."""
    _check_best(student, seed, hidden, 0)


def check_best_momentum_beta(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``best_momentum_params(H)[1]`` is ``((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2``."""
    _check_best(student, seed, hidden, 1)


def check_best_momentum_rate(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``best_momentum_params(H)[2]`` is ``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)``."""
    _check_best(student, seed, hidden, 2)


# --------------------------------------------------------------------------------------------
# Question 5: steps against the condition number
# --------------------------------------------------------------------------------------------
_EXPERIMENT_SLIPS = {
    "right": "",
    "gd_safe_lr": "your gradient-descent counts are those of lr = 1 / lambda_max; use the best "
    "learning rate, analysis.best_gd(lambda_min, lambda_max).lr = 2 / (lambda_min + lambda_max)",
    "momentum_gd_lr": "your momentum runs use gradient descent's learning rate; momentum's best "
    "pair is analysis.best_momentum(lambda_min, lambda_max): use both its lr and its momentum",
    "momentum_09": "your momentum runs use beta = 0.9; use the best momentum of each bowl, "
    "analysis.best_momentum(lambda_min, lambda_max).momentum",
    "no_angle": "your counts are those of bowls without the rotation ANGLE: build each bowl "
    "with Quadratic.bowl(condition_number=kappa, angle=ANGLE, center=CENTER)",
    "no_center": "your counts are those of bowls centred at the origin: build each bowl with "
    "center=CENTER and count the steps to bowl.minimizer",
}


@functools.lru_cache(maxsize=32)
def _experiment(kappas: tuple, angle: float, center: tuple, x0: tuple, tol: float, slip: str):
    """The counts (gradient descent, momentum) per kappa, with one typical slip or none."""
    from course_lib.analysis import best_gd, best_momentum, steps_to_tolerance
    from course_lib.landscapes import Quadratic
    from course_lib.optim import SGD
    from course_lib.train import run as run_optimizer

    counts = []
    for kappa in kappas:
        bowl = Quadratic.bowl(
            condition_number=kappa,
            angle=0.0 if slip == "no_angle" else angle,
            center=(0.0, 0.0) if slip == "no_center" else center,
        )
        lo, hi = bowl.eigenvalues[0], bowl.eigenvalues[-1]
        gd, hb = best_gd(lo, hi), best_momentum(lo, hi)
        gd_lr = 1 / hi if slip == "gd_safe_lr" else gd.lr
        hb_lr = gd.lr if slip == "momentum_gd_lr" else hb.lr
        beta = 0.9 if slip == "momentum_09" else hb.momentum
        # enough steps for each method: about kappa/2 ln(1/tol) and sqrt(kappa)/2 ln(1/tol)
        budgets = [int(c * math.log(1 / tol)) + 100 for c in (0.6 * kappa, 1.5 * kappa**0.5)]
        row = []
        for opt, budget in zip((SGD(lr=gd_lr), SGD(lr=hb_lr, momentum=beta)), budgets):
            path = run_optimizer(opt, bowl, np.array(x0, dtype=float), budget).path
            hit = steps_to_tolerance(path, bowl.minimizer, tol)
            row.append(math.inf if hit is None else hit)
        counts.append(row)
    return np.array(counts, dtype=float).T


def _counts(value: Any, label: str, n: int, hidden: bool) -> np.ndarray:
    if isinstance(value, (list, tuple, np.ndarray)) and any(
        v is None for v in np.ravel(np.array(value, dtype=object))
    ):
        fail(
            label,
            "some counts are None: those runs never reached the tolerance within "
            "max_steps(kappa); check the learning rate and momentum of each run",
            hidden=hidden,
        )
    return as_array(
        value,
        name=label,
        what=f"{label} (one count per kappa in KAPPAS)",
        shape=(n,),
        hidden=hidden,
    )


def check_momentum_experiment_steps(
    steps_gd, steps_momentum, kappas, angle, center, x0, tol, hidden: bool = False
) -> None:
    """The experiment's counts equal, exactly, those of the same runs with course_lib
    (``train.run`` of ``SGD`` at ``analysis.best_gd`` and ``analysis.best_momentum``, counted
    with ``analysis.steps_to_tolerance``)."""
    key = (
        tuple(float(k) for k in kappas),
        float(angle),
        tuple(map(float, center)),
        tuple(map(float, x0)),
        float(tol),
    )
    n = len(key[0])
    given = {"steps_gd": steps_gd, "steps_momentum": steps_momentum}

    def read(out, case):
        return np.stack([_counts(v, label, n, hidden) for label, v in given.items()])

    def slip(name):
        return lambda: _experiment(*key, name)

    mistakes = [Mistake(s, msg, variant=slip(s)) for s, msg in _EXPERIMENT_SLIPS.items() if msg]
    mistakes += [
        Mistake(
            "plus_one",
            "every count is one too many: path[t] is reached after t steps, so count the index "
            "t itself (analysis.steps_to_tolerance does)",
            variant=lambda: _experiment(*key, "right") + 1,
        ),
        Mistake(
            "swapped",
            "steps_gd and steps_momentum are swapped",
            variant=lambda: _experiment(*key, "right")[::-1],
        ),
    ]

    def verdict(got, expected, case):
        parts = []
        for row, label in enumerate(given):
            bad = [f"{k:g}" for k, a, b in zip(key[0], got[row], expected[row]) if a != b]
            if bad:
                parts.append(f"{label} at kappa = {', '.join(bad)}")
        return (
            "your counts differ from the same runs made with course_lib: "
            + "; ".join(parts)
            + ". Check the bowl, the start X0, the tolerance TOL and each run's hyperparameters"
        )

    check_against_reference(
        lambda: tuple(given.values()),
        slip("right"),
        [Case({}, f"KAPPAS = {list(key[0])}")],
        name="steps_gd, steps_momentum",
        hidden=hidden,
        what="the counts",
        rtol=0.0,
        atol=0.0,
        mistakes=mistakes,
        read=read,
        verdict=verdict,
        details=lambda expected, got, out: "",
    )


def _fit(kappas, counts) -> float:
    return float(np.polyfit(np.log(kappas), np.log(counts), 1)[0])


def check_momentum_experiment_slopes(
    slope_gd, slope_momentum, steps_gd, steps_momentum, kappas, hidden: bool = False
) -> None:
    """The slopes are the least-squares fits of log(steps) against log(kappa) of the
    student's own counts (so a wrong count is not charged twice), to rounding."""
    k = np.array(kappas, dtype=float)
    counts = [np.array(steps_gd, dtype=float), np.array(steps_momentum, dtype=float)]
    if any(c.shape != k.shape or not np.all(np.isfinite(c)) or np.any(c <= 0) for c in counts):
        fail(
            "slope_gd, slope_momentum",
            "the slopes need positive, finite counts, one per kappa: fix steps_gd and "
            "steps_momentum first",
            hidden=hidden,
        )

    def fits(fit):
        return lambda: [fit(k, c) for c in counts]

    def either(fit):  # the slip in one slope or in both, the other one right
        def predicate(got, case):
            wrong, right = fits(fit)(), fits(_fit)()
            pairs = list(zip(np.ravel(got), wrong, right))
            slipped = [np.isclose(g, w, **_ROUNDING) for g, w, _ in pairs]
            fine = [np.isclose(g, r, **_ROUNDING) for g, _, r in pairs]
            return len(pairs) == 2 and any(slipped) and all(a or b for a, b in zip(slipped, fine))

        return predicate

    mistakes = [
        Mistake(
            "intercept",
            "you took the intercept: np.polyfit(x, y, 1) returns [slope, intercept], so the "
            "slope is its element [0]",
            predicate=either(lambda x, y: np.polyfit(np.log(x), np.log(y), 1)[1]),
        ),
        Mistake(
            "axes_swapped",
            "you fitted log(kappa) against log(steps): the slope of the line y = log(steps) "
            "against x = log(kappa) is np.polyfit(np.log(KAPPAS), np.log(steps), 1)[0]",
            predicate=either(lambda x, y: np.polyfit(np.log(y), np.log(x), 1)[0]),
        ),
        Mistake(
            "not_log",
            "fit the logarithms of both: np.polyfit(np.log(KAPPAS), np.log(steps), 1)[0] (a "
            "straight line on log-log axes)",
            predicate=either(lambda x, y: np.polyfit(np.log(x), y, 1)[0]),
        ),
        Mistake(
            "endpoints",
            "you used the two end points only: fit a least-squares line through all the "
            "points, np.polyfit(np.log(KAPPAS), np.log(steps), 1)[0]",
            predicate=either(
                lambda x, y: (np.log(y[-1]) - np.log(y[0])) / (np.log(x[-1]) - np.log(x[0]))
            ),
        ),
        Mistake(
            "swapped",
            "slope_gd and slope_momentum are swapped",
            variant=lambda: [_fit(k, counts[1]), _fit(k, counts[0])],
        ),
    ]
    check_against_reference(
        lambda: (slope_gd, slope_momentum),
        fits(_fit),
        [Case({}, "your counts steps_gd and steps_momentum")],
        name="slope_gd, slope_momentum",
        hidden=hidden,
        what="the two slopes",
        mistakes=mistakes,
        verdict="the slopes are not the least-squares fits of log(steps) against log(kappa) "
        "of your counts",
        **_ROUNDING,
    )
