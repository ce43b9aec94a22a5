"""Checkers for problem set 7: Adagrad, RMSProp, Adam and AdamW as pure step functions, and
the effect of Adam's bias correction on its first steps.

The students write four step functions with one interface::

    adagrad_step(w, g, state, t, lr, eps)                       state = {"sum": s}
    rmsprop_step(w, g, state, t, lr, alpha, eps)                state = {"v": v}
    adam_step(w, g, state, t, lr, betas, eps)                   state = {"m": m, "v": v}
    adamw_step(w, g, state, t, lr, betas, eps, weight_decay)    state = {"m": m, "v": v}

each returning a new pair ``(w, state)`` without modifying its arguments; ``t`` is the number
of this step, 1 on the first call. The reference is ``course_lib.optim`` (``Adagrad``,
``RMSprop``, ``Adam``, ``AdamW``, equal to ``torch.optim``), driven one step at a time.

Each function has two checkers, so that one slip costs the points of what it breaks:

- the *contract* checker: one call on a float vector, a matrix, an integer vector and a
  single coordinate returns ``(w, state)`` with ``w`` a float array of ``w``'s shape and a
  dict holding the state's arrays, each of ``w``'s shape, and modifies none of its arguments
  (the values are not graded here);
- the *values* checker: the function is run for 10 to 25 steps on seeded random quadratics
  (gradients at the student's own iterates, some with sparse gradients, one run resumed from
  a state at t > 1), its own state fed back each step, and every step's ``w`` and state are
  compared with course_lib's to rounding. A typical mistake (eps inside the square root, no
  bias correction, t counted from 0, beta1 and beta2 swapped, L2 instead of decoupled decay,
  Adagrad's sum decaying, ...) is named only when making that one mistake reproduces the
  student's numbers on every case; otherwise the message says which step and which entry
  differs first. Visible tests use the default hyperparameters, hidden tests random ones.

The experiment compares course_lib's ``Adam`` with ``AdamNoBiasCorrection``: the ratio of
their step lengths, and the constant-gradient prediction ``(1 - beta1**t) / sqrt(1 -
beta2**t)``, both to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from course_lib.grading._core import (
    NO_OUTPUT,
    Case,
    Mistake,
    as_array,
    check_against_reference,
    describe,
    explains_every_case,
    fail,
    run,
)
from course_lib.grading.problems import log_uniform, random_quadratic

__all__ = [
    "check_adagrad_contract",
    "check_adagrad_values",
    "check_rmsprop_contract",
    "check_rmsprop_values",
    "check_adam_contract",
    "check_adam_values",
    "check_adamw_contract",
    "check_adamw_values",
    "check_bias_ratio",
    "check_bias_prediction",
    "bias_experiment",
]


# --------------------------------------------------------------------------------------------
# The references: course_lib.optim driven one step at a time
# --------------------------------------------------------------------------------------------
def _adagrad(w, g, state, t, lr, eps):
    from course_lib.optim import Adagrad

    old = Adagrad.State(t - 1, np.asarray(state["sum"], dtype=float))
    w, new = Adagrad(lr=lr, eps=eps).step(np.asarray(w, dtype=float), g, old)
    return w, {"sum": new.sum}


def _rmsprop(w, g, state, t, lr, alpha, eps):
    from course_lib.optim import RMSprop

    old = RMSprop.State(t - 1, np.asarray(state["v"], dtype=float), None, None)
    w, new = RMSprop(lr=lr, alpha=alpha, eps=eps).step(np.asarray(w, dtype=float), g, old)
    return w, {"v": new.square_avg}


def _adam_like(optimizer, w, g, state, t):
    old = optimizer.State(
        t - 1, np.asarray(state["m"], dtype=float), np.asarray(state["v"], dtype=float), None
    )
    w, new = optimizer.step(np.asarray(w, dtype=float), g, old)
    return w, {"m": new.exp_avg, "v": new.exp_avg_sq}


def _adam(w, g, state, t, lr, betas, eps):
    from course_lib.optim import Adam

    return _adam_like(Adam(lr=lr, betas=tuple(betas), eps=eps), w, g, state, t)


def _adamw(w, g, state, t, lr, betas, eps, weight_decay):
    from course_lib.optim import AdamW

    opt = AdamW(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    return _adam_like(opt, w, g, state, t)


# --------------------------------------------------------------------------------------------
# Typical mistakes, as wrong step functions with the reference's signature
# --------------------------------------------------------------------------------------------
def _adagrad_wrong(kind: str, decay: float = 0.0) -> Callable:
    def step(w, g, state, t, lr, eps):
        w, g = np.asarray(w, dtype=float), np.asarray(g, dtype=float)
        s = state["sum"] + g * g
        if kind == "decaying":
            s = decay * state["sum"] + (1 - decay) * g * g
        denom = {"eps_inside": np.sqrt(s + eps), "no_sqrt": s + eps}.get(kind, np.sqrt(s) + eps)
        return w - lr * g / denom, {"sum": s}

    return step


def _rmsprop_wrong(kind: str) -> Callable:
    def step(w, g, state, t, lr, alpha, eps):
        w, g = np.asarray(w, dtype=float), np.asarray(g, dtype=float)
        a = 1 - alpha if kind == "alpha_swapped" else alpha
        v = state["v"] + g * g if kind == "no_decay" else a * state["v"] + (1 - a) * g * g
        shown = v / (1 - alpha**t) if kind == "bias_corrected" else v
        denom = {"eps_inside": np.sqrt(shown + eps), "no_sqrt": shown + eps}.get(
            kind, np.sqrt(shown) + eps
        )
        return w - lr * g / denom, {"v": v}

    return step


def _adam_wrong(kind: str) -> Callable:
    """Adam with one mistake; the moments are averages as in the reference."""

    def step(w, g, state, t, lr, betas, eps):
        w, g = np.asarray(w, dtype=float), np.asarray(g, dtype=float)
        b1, b2 = (betas[1], betas[0]) if kind == "betas_swapped" else betas
        m = b1 * state["m"] + (1 - b1) * g
        v = b2 * state["v"] + (1 - b2) * (np.sum(g * g) if kind == "dot" else g * g)
        tc = {"t_from_zero": t + 1, "t_minus_one": t - 1}.get(kind, t)
        m_hat = m if kind in ("no_correction", "only_v") else m / (1 - b1**tc)
        v_hat = v if kind in ("no_correction", "only_m") else v / (1 - b2**tc)
        denom = {"eps_inside": np.sqrt(v_hat + eps), "no_sqrt": v_hat + eps}.get(
            kind, np.sqrt(v_hat) + eps
        )
        if kind == "stores_corrected":
            return w - lr * m_hat / denom, {"m": m_hat, "v": v_hat}
        return w - lr * m_hat / denom, {"m": m, "v": v}

    return step


def _adamw_wrong(kind: str, adam: Callable = _adam) -> Callable:
    """AdamW with a mistake in the decay (``kind``) or in the Adam step (``adam``)."""

    def step(w, g, state, t, lr, betas, eps, weight_decay):
        w, g = np.asarray(w, dtype=float), np.asarray(g, dtype=float)
        if kind == "l2":
            return adam(w, g + weight_decay * w, state, t, lr, betas, eps)
        if kind == "after":
            new, state = adam(w, g, state, t, lr, betas, eps)
            return new - lr * weight_decay * new, state
        shrink = 1 - weight_decay if kind == "no_lr" else 1 - lr * weight_decay
        return adam(w * shrink, g, state, t, lr, betas, eps)

    return step


_EPS_INSIDE = (
    "you add eps inside the square root, sqrt({v} + eps): PyTorch (and this assignment) "
    "adds it outside, sqrt({v}) + eps. The two differ noticeably when the gradients are small "
    "or eps is large"
)
_NO_SQRT = (
    "you divide by {v} itself instead of its square root: the denominator must have the "
    "units of a gradient, sqrt({v}) + eps"
)
_ADAM_MISTAKES = [
    (
        "no_correction",
        "your steps are those of Adam without bias correction: divide m by 1 - beta1**t and v "
        "by 1 - beta2**t (with t, the number of this step) before the update; m and v start "
        "at 0, so without the correction they are too small in the first steps",
    ),
    (
        "t_from_zero",
        "your bias correction uses t + 1 (as if the steps were counted from 0): t is the "
        "number of this step, 1 on the first call, so the first correction divides m by "
        "1 - beta1",
    ),
    (
        "t_minus_one",
        "your bias correction uses t - 1: at the first step 1 - beta**0 = 0 and the update "
        "divides by zero. t is the number of this step, 1 on the first call: use beta1**t and "
        "beta2**t",
    ),
    (
        "betas_swapped",
        "beta1 and beta2 are swapped: betas = (beta1, beta2); beta1 averages the gradient into "
        "m and beta2, the one closer to 1, averages its square into v",
    ),
    (
        "stores_corrected",
        "you store the bias-corrected m_hat and v_hat in the state: the state keeps the "
        "running averages m and v themselves, and the correction is applied anew at every "
        "step, only to compute the update",
    ),
    (
        "only_m",
        "you correct m but not v: divide v by 1 - beta2**t as well",
    ),
    (
        "only_v",
        "you correct v but not m: divide m by 1 - beta1**t as well",
    ),
    ("eps_inside", _EPS_INSIDE.format(v="v_hat")),
    ("no_sqrt", _NO_SQRT.format(v="v_hat")),
    (
        "dot",
        "your v is one number for all coordinates (g @ g, or np.sum(g**2)): Adam keeps one "
        "second moment per coordinate, the elementwise square g * g",
    ),
]


def _adam_mistakes() -> list[tuple[str, str, Callable]]:
    return [(name, message, _adam_wrong(name)) for name, message in _ADAM_MISTAKES]


def _adamw_mistakes() -> list[tuple[str, str, Callable]]:
    own = [
        (
            "l2",
            "you add weight_decay * w to the gradient (L2 regularisation, which is Adam's "
            "weight_decay): AdamW decouples the decay, it shrinks the weights directly, "
            "w * (1 - lr * weight_decay), and the Adam step uses the gradient alone",
            _adamw_wrong("l2"),
        ),
        (
            "no_lr",
            "your decay is not multiplied by the learning rate: AdamW shrinks the weights by "
            "w * (1 - lr * weight_decay), not w * (1 - weight_decay)",
            _adamw_wrong("no_lr"),
        ),
        (
            "after",
            "you apply the decay to the weights after the Adam step: AdamW shrinks the weights "
            "it was given, w * (1 - lr * weight_decay), then takes the Adam step",
            _adamw_wrong("after"),
        ),
    ]
    inherited = [
        (name, "in the Adam step: " + message, _adamw_wrong("", _adam_wrong(name)))
        for name, message in _ADAM_MISTAKES
    ]
    return own + inherited


# --------------------------------------------------------------------------------------------
# The four methods
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Method:
    name: str  # the student's function
    optim: str  # the reference's class in course_lib.optim
    keys: tuple  # the state's entries
    reference: Callable
    mistakes: Callable[[], list]  # [(name, message, wrong step)]
    hyper: Callable[[np.random.Generator, bool], dict]  # the hyperparameters of one case


def _betas(rng):
    return (
        float(np.round(rng.uniform(0.5, 0.95), 2)),
        float(np.round(rng.uniform(0.95, 0.999), 3)),
    )


def _eps(rng):
    return float(10.0 ** -int(rng.integers(2, 9)))


def _lr(rng):
    return float(np.round(log_uniform(rng, 1e-3, 2e-2), 4))


def _adam_hyper(rng, default: bool) -> dict:
    return {
        "lr": 1e-2 if default else _lr(rng),
        "betas": (0.9, 0.999) if default else _betas(rng),
        "eps": 1e-8 if default else _eps(rng),
    }


_ADAGRAD = _Method(
    "adagrad_step",
    "Adagrad",
    ("sum",),
    _adagrad,
    lambda: (
        [
            ("eps_inside", _EPS_INSIDE.format(v="sum"), _adagrad_wrong("eps_inside")),
            ("no_sqrt", _NO_SQRT.format(v="sum"), _adagrad_wrong("no_sqrt")),
        ]
        + [
            (
                "decaying",
                "your sum of squared gradients decays (an exponential moving average, as in "
                "RMSProp): Adagrad's sum only grows, sum = sum + g**2",
                _adagrad_wrong("decaying", decay),
            )
            for decay in (0.9, 0.99, 0.999, 0.5)
        ]
    ),
    lambda rng, default: {
        "lr": 0.1 if default else _lr(rng) * 10,
        "eps": 1e-10 if default else _eps(rng),
    },
)
_RMSPROP = _Method(
    "rmsprop_step",
    "RMSprop",
    ("v",),
    _rmsprop,
    lambda: [
        (
            "alpha_swapped",
            "the weights of your moving average are swapped: v = alpha * v + (1 - alpha) * "
            "g**2 keeps most of the old average (alpha is close to 1)",
            _rmsprop_wrong("alpha_swapped"),
        ),
        (
            "no_decay",
            "your v is a growing sum of squared gradients, as in Adagrad: RMSProp averages, "
            "v = alpha * v + (1 - alpha) * g**2",
            _rmsprop_wrong("no_decay"),
        ),
        (
            "bias_corrected",
            "you divide v by 1 - alpha**t (Adam's bias correction): RMSProp as in PyTorch "
            "has no bias correction, the denominator is sqrt(v) + eps",
            _rmsprop_wrong("bias_corrected"),
        ),
        ("eps_inside", _EPS_INSIDE.format(v="v"), _rmsprop_wrong("eps_inside")),
        ("no_sqrt", _NO_SQRT.format(v="v"), _rmsprop_wrong("no_sqrt")),
    ],
    lambda rng, default: {
        "lr": 1e-2 if default else _lr(rng),
        "alpha": 0.99 if default else float(np.round(rng.uniform(0.8, 0.999), 3)),
        "eps": 1e-8 if default else _eps(rng),
    },
)
_ADAM = _Method(
    "adam_step",
    "Adam",
    ("m", "v"),
    _adam,
    _adam_mistakes,
    _adam_hyper,
)
_ADAMW = _Method(
    "adamw_step",
    "AdamW",
    ("m", "v"),
    _adamw,
    _adamw_mistakes,
    lambda rng, default: {
        **_adam_hyper(rng, default),
        "weight_decay": 0.1 if default else float(np.round(rng.uniform(0.05, 0.5), 2)),
    },
)


# --------------------------------------------------------------------------------------------
# Reading what a step function returned
# --------------------------------------------------------------------------------------------
def _pair(out: Any, method: _Method, hidden: bool, case: Case) -> tuple[Any, Any]:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        fail(
            method.name,
            "must return the pair (new_w, new_state), e.g. `return w_new, "
            + _state_literal(method)
            + "`"
            + ("" if hidden else f"; got {describe(out)}"),
            hidden=hidden,
            case=case,
        )
    new_w, new_state = out
    if not isinstance(new_state, Mapping):
        fail(
            method.name,
            f"the state must be a dict {_state_literal(method)}, got {type(new_state).__name__}",
            hidden=hidden,
            case=case,
        )
    missing = [k for k in method.keys if k not in new_state]
    if missing:
        fail(
            method.name,
            f"the state it returned has no entry {', '.join(repr(k) for k in missing)}: return "
            f"{_state_literal(method)}",
            hidden=hidden,
            case=case,
        )
    return new_w, new_state


def _state_literal(method: _Method) -> str:
    return "{" + ", ".join(f"'{k}': {k}" for k in method.keys) + "}"


def _values(out: Any, w: np.ndarray, method: _Method, hidden: bool, case: Case) -> np.ndarray:
    """One row: the new w and the state's arrays, flattened (a state entry of one number is
    spread over all coordinates, so a wrong one is compared rather than rejected)."""
    new_w, new_state = _pair(out, method, hidden, case)
    parts = []
    for what, value in [("w", new_w)] + [(f"state[{k!r}]", new_state[k]) for k in method.keys]:
        arr = as_array(value, name=method.name, what=f"the new {what}", hidden=hidden, case=case)
        if arr.size == 1 and what != "w":
            arr = np.full(w.shape, float(arr.reshape(-1)[0]))
        if arr.size != w.size:
            fail(
                method.name,
                f"the new {what} must have the shape of w"
                + ("" if hidden else f" {w.shape}; got shape {arr.shape}"),
                hidden=hidden,
                case=case,
            )
        parts.append(arr.reshape(-1))
    return np.concatenate(parts)


# --------------------------------------------------------------------------------------------
# Runs of many steps: the cases of the values checkers
# --------------------------------------------------------------------------------------------
def _gradient(problem, w: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    return scale * problem.grad(w.reshape(-1)).reshape(w.shape) * mask


def _trusted_run(step: Callable, method: _Method) -> Callable:
    """The rows of a run of ``step`` (the reference or a mistake): the runner's signature."""

    def runner(w0, state, t0, problem, masks, scale, hyper):
        w, rows = np.array(w0, dtype=float), []
        state = {k: np.array(state[k], dtype=float) for k in method.keys}
        for i, mask in enumerate(masks):
            g = _gradient(problem, w, mask, scale)
            w, state = step(w, g, state, t0 + i, *hyper.values())
            w = np.asarray(w, dtype=float)
            rows.append(
                np.concatenate([w.reshape(-1)] + [np.reshape(state[k], -1) for k in method.keys])
            )
        return np.array(rows)

    return runner


def _explain_step_error(method: _Method) -> Callable[[BaseException], Optional[str]]:
    def explain(exc: BaseException) -> Optional[str]:
        text = str(exc).lower()
        if isinstance(exc, ZeroDivisionError):
            return (
                "t is the number of this step, 1 on the first call: a bias correction "
                "1 - beta**t is then never zero (1 - beta**(t - 1) is, at the first step)"
            )
        if "cast" in text:
            return "w may be an integer array: compute a new float array, w - ..., not w -= ..."
        if isinstance(exc, KeyError):
            return f"the state is a dict with the entries {_state_literal(method)}"
        return None

    return explain


def _student_run(student: Callable, method: _Method, hidden: bool, label: str) -> Callable:
    """A runner that calls the student's step function once per step (each call through
    :func:`run`), feeding back the w and the state it returned."""

    def runner(w0, state, t0, problem, masks, scale, hyper):
        w, rows = np.array(w0, dtype=float), []
        for k, mask in enumerate(masks):
            g = _gradient(problem, w, mask, scale)
            args = {"w": w, "g": g, "state": state, "t": t0 + k, **hyper}
            case = Case(args, f"{label}, at step t = {t0 + k}")
            out = run(
                student,
                case,
                name=method.name,
                hidden=hidden,
                check_inputs=False,
                explain=_explain_step_error(method),
            )
            rows.append(_values(out, w, method, hidden, case))
            w, state = rows[-1][: w.size].reshape(w.shape), out[1]
        return np.array(rows)

    return runner


def _masks(rng: np.random.Generator, steps: int, shape, sparse: bool) -> np.ndarray:
    if not sparse:
        return np.ones((steps, *shape))
    masks = (rng.random((steps, *shape)) < 0.3).astype(float)
    masks[0].flat[0] = 1.0  # a first gradient that is not all zero
    return masks


def _run_case(method, rng, shape, steps, hidden, *, sparse=False, scale=1.0, resume=0) -> Case:
    dim = int(np.prod(shape))
    problem = random_quadratic(rng, dim, method.name, hidden)
    hyper = method.hyper(rng, not hidden)  # visible tests: the default hyperparameters
    w0 = np.round(rng.uniform(-3, 3, shape), 3)
    state = {k: np.zeros(shape) for k in method.keys}
    if resume:  # the state of an earlier run: the function must use t and the state given
        before = _trusted_run(method.reference, method)(
            np.round(rng.uniform(-3, 3, shape), 3),
            state,
            1,
            problem,
            np.ones((resume, *shape)),
            scale,
            hyper,
        )
        state = {
            k: before[-1][(i + 1) * dim : (i + 2) * dim].reshape(shape)
            for i, k in enumerate(method.keys)
        }
    masks = _masks(rng, steps, shape, sparse)
    text = ", ".join(f"{k} = {v}" for k, v in hyper.items())
    label = (
        f"{steps} steps on {problem.description} (gradients times {scale:g}"
        f"{', most of them zero in each step' if sparse else ''}), w of shape {shape}, "
        f"w0 = {describe(w0)}, {text}"
        + (f", starting from the state after {resume} steps (t = {resume + 1})" if resume else "")
    )
    args = {
        "w0": w0,
        "state": state,
        "t0": resume + 1,
        "problem": problem,
        "masks": masks,
        "scale": scale,
        "hyper": hyper,
    }
    return Case(args, label)


def _run_cases(method: _Method, seed: int, hidden: bool) -> list[Case]:
    rng = np.random.default_rng(seed)
    return [
        _run_case(method, rng, (2,), 12, hidden),
        _run_case(method, rng, (5,), 20, hidden, sparse=True),
        _run_case(method, rng, (2, 3), 15, hidden, scale=1e-3),
        _run_case(method, rng, (3,), 10, hidden, resume=int(rng.integers(5, 20))),
        _run_case(method, rng, (1,), 25, hidden, scale=100.0),
    ]


def _difference(got, expected, method: _Method, case: Case) -> tuple[str, str]:
    """Where the student's run first leaves the reference's: (the problem, the details)."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    shape = np.shape(case.args["w0"])
    size = int(np.prod(shape))
    bad = ~np.isclose(got, expected, rtol=1e-7, atol=1e-12)
    row = int(np.argmax(bad.any(axis=1)))
    col = int(np.argmax(bad[row]))
    block, index = divmod(col, size)
    where = "w" if block == 0 else f"state[{method.keys[block - 1]!r}]"
    coord = ", ".join(map(str, np.unravel_index(index, shape)))
    if not np.isfinite(got[row, col]):
        why = "it is NaN or infinite there (a division by zero?)"
    elif block == 0 and not bad[row, size:].any():
        why = (
            "the state is right there, so the update of w is wrong: check the step formula "
            "(learning rate, square root, eps, bias correction)"
        )
    else:
        why = f"check how you compute {where}"
    problem = (
        f"differs from course_lib.optim.{method.optim}: the first difference is in "
        f"{where}[{coord}] after step {row + 1} of this run (t = {case.args['t0'] + row}); {why}"
    )
    part = slice(block * size, (block + 1) * size)
    want, have = (describe(a[row][part].reshape(shape)) for a in (expected, got))
    pad = " " * (len(str(row + 1)) + 13)
    details = f"after step {row + 1}: expected {where} = {want}\n{pad}got      {where} = {have}"
    return problem, details


def _everywhere(runner: Callable, cases: Sequence[Case], rows_of: Callable) -> Callable:
    """A predicate: the mistake's run (``runner``, a variant) reproduces the student's on every
    case (:func:`explains_every_case`; each case is checked alone, so the rows of the others
    come from ``rows_of``)."""
    mistake = Mistake("", "", variant=runner, rtol=1e-6, atol=1e-12)

    def predicate(got, case):
        outputs = []
        for c in cases:
            mine = got if c is case else rows_of(c)
            outputs.append((c, NO_OUTPUT if mine is None else mine, False))
        return explains_every_case(mistake, outputs)

    return predicate


def _check_values(method: _Method, student: Callable, seed: int, hidden: bool) -> None:
    cases = _run_cases(method, seed, hidden)
    cache: dict = {}

    def rows_of(case):  # the student's run of another case (for a diagnosis)
        if id(case) not in cache:
            try:
                runner = _student_run(student, method, True, "")
                cache[id(case)] = np.asarray(runner(*dict(case.args).values()), dtype=float)
            except Exception:  # a run that fails is not the mistake's
                cache[id(case)] = None
        return cache[id(case)]

    mistakes = [
        Mistake(name, message, predicate=_everywhere(_trusted_run(step, method), cases, rows_of))
        for name, message, step in method.mistakes()
    ]
    for case in cases:
        check_against_reference(
            _student_run(student, method, hidden, case.label),
            _trusted_run(method.reference, method),
            [case],
            name=method.name,
            hidden=hidden,
            what="the run",
            rtol=1e-7,
            atol=1e-12,
            mistakes=mistakes,
            check_inputs=False,
            details=lambda expected, got, out, case=case: _difference(got, expected, method, case)[
                1
            ],
            verdict=lambda got, expected, case: _difference(got, expected, method, case)[0],
        )


# --------------------------------------------------------------------------------------------
# The contract: one call, its output's form, its arguments untouched
# --------------------------------------------------------------------------------------------
def _contract_cases(method: _Method, seed: int, hidden: bool) -> list[Case]:
    rng = np.random.default_rng(seed + 1)
    cases = []
    for w, t, label in [
        (np.round(rng.uniform(-2, 2, 3), 3), 1, "a float vector w"),
        (np.round(rng.uniform(-2, 2, (2, 3)), 3), 4, "a 2 x 3 matrix w (a layer's weights)"),
        (rng.integers(-3, 4, 3), 1, "an integer vector w"),
        (np.round(rng.uniform(-2, 2, 1), 3), 2, "w with a single coordinate"),
    ]:
        shape = np.shape(w)
        g = np.round(rng.normal(size=shape), 3)
        state = {
            k: (0.0 if t == 1 else 1.0) * np.round(rng.uniform(0.1, 1, shape), 3)
            for k in method.keys
        }
        hyper = method.hyper(rng, True)
        shown = f"{label}, w = {describe(w)}, g = {describe(g)}, t = {t}, " + ", ".join(
            f"{k} = {v}" for k, v in hyper.items()
        )
        cases.append(Case({"w": w, "g": g, "state": state, "t": t, **hyper}, shown))
    return cases


def _explain_mutation(method: _Method) -> Callable:
    def explain(arg, before, after):
        if arg == "state":
            return (
                f"changed the state dict it was given (state[...] = ... or +=): the caller's "
                f"state must stay as it was. Compute new arrays and return a new dict, "
                f"`return w_new, {_state_literal(method)}`"
            )
        if arg in ("w", "g"):
            return (
                f"modified its argument `{arg}` in place ({arg} -= ..., {arg} += ... or "
                f"{arg} *= ...): compute a new array instead, e.g. w_new = w - ..."
            )
        return None

    return explain


def _check_contract(method: _Method, student: Callable, seed: int, hidden: bool) -> None:
    for case in _contract_cases(method, seed, hidden):
        out = run(
            student,
            case,
            name=method.name,
            hidden=hidden,
            no_aliasing=True,
            explain=_explain_step_error(method),
            explain_mutation=_explain_mutation(method),
        )
        new_w, new_state = _pair(out, method, hidden, case)
        w = case.args["w"]
        for what, value in [("w", new_w)] + [(f"state[{k!r}]", new_state[k]) for k in method.keys]:
            arr = np.asarray(value)
            if arr.shape != w.shape:
                hint = (
                    "one value per coordinate: the square of a gradient is g * g (or g**2), "
                    "elementwise, not g @ g or np.sum(g**2)"
                    if arr.size == 1 and w.size > 1
                    else "do not flatten, transpose or stack it"
                )
                fail(
                    method.name,
                    f"the new {what} must have the shape of w ({hint})"
                    + ("" if hidden else f"; got shape {arr.shape}, expected {w.shape}"),
                    hidden=hidden,
                    case=case,
                )
            if arr.dtype.kind != "f":
                fail(
                    method.name,
                    f"the new {what} holds {arr.dtype.kind == 'O' and 'objects' or 'integers'}"
                    f" (dtype {arr.dtype}): it must be a float array, even when w holds "
                    f"integers; np.zeros_like(w) or w.copy() keep w's integer dtype",
                    hidden=hidden,
                    case=case,
                )


# --------------------------------------------------------------------------------------------
# The public checkers
# --------------------------------------------------------------------------------------------
def check_adagrad_contract(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``adagrad_step(w, g, state, t, lr, eps)`` returns ``(w, {"sum": s})``: float arrays of
    w's shape (also for an integer or a matrix w), its arguments untouched."""
    _check_contract(_ADAGRAD, student, seed, hidden)


def check_adagrad_values(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """Every step of ``adagrad_step`` equals ``course_lib.optim.Adagrad``'s, on five runs of 10
    to 25 steps (sparse and tiny gradients, a matrix w, a resumed run)."""
    _check_values(_ADAGRAD, student, seed, hidden)


def check_rmsprop_contract(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``rmsprop_step(w, g, state, t, lr, alpha, eps)`` returns ``(w, {"v": v})`` in form."""
    _check_contract(_RMSPROP, student, seed, hidden)


def check_rmsprop_values(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """Every step of ``rmsprop_step`` equals ``course_lib.optim.RMSprop``'s."""
    _check_values(_RMSPROP, student, seed, hidden)


def check_adam_contract(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``adam_step(w, g, state, t, lr, betas, eps)`` returns ``(w, {"m": m, "v": v})`` in form."""
    _check_contract(_ADAM, student, seed, hidden)


def check_adam_values(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """Every step of ``adam_step`` equals ``course_lib.optim.Adam``'s (bias-corrected)."""
    _check_values(_ADAM, student, seed, hidden)


def check_adamw_contract(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``adamw_step(w, g, state, t, lr, betas, eps, weight_decay)`` returns ``(w, {"m": m, "v":
    v})`` in form."""
    _check_contract(_ADAMW, student, seed, hidden)


def check_adamw_values(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """Every step of ``adamw_step`` equals ``course_lib.optim.AdamW``'s (decoupled decay)."""
    _check_values(_ADAMW, student, seed, hidden)


# --------------------------------------------------------------------------------------------
# The experiment: Adam's first steps with and without bias correction
# --------------------------------------------------------------------------------------------
def _bias_paths(kappa, angle, center, x0, lr, betas, steps) -> list[np.ndarray]:
    """The paths of ``AdamNoBiasCorrection`` and ``Adam`` on the experiment's bowl."""
    from course_lib.landscapes import Quadratic
    from course_lib.optim import Adam, AdamNoBiasCorrection
    from course_lib.train import run as run_optimizer

    bowl = Quadratic.bowl(condition_number=kappa, angle=angle, center=center)
    return [
        run_optimizer(opt(lr=lr, betas=betas), bowl, np.asarray(x0, dtype=float), steps).path
        for opt in (AdamNoBiasCorrection, Adam)
    ]


def bias_experiment(kappa, angle, center, x0, lr, betas, steps) -> tuple[np.ndarray, np.ndarray]:
    """The experiment's answer: the ratio of the step lengths of ``AdamNoBiasCorrection`` and
    ``Adam`` on ``Quadratic.bowl(kappa, angle, center=center)`` from ``x0`` (one per step), and
    the constant-gradient prediction ``(1 - beta1**t) / sqrt(1 - beta2**t)``, t = 1..steps."""
    uncorrected, corrected = _bias_paths(kappa, angle, center, x0, lr, betas, steps)
    lengths = [np.linalg.norm(np.diff(p, axis=0), axis=1) for p in (uncorrected, corrected)]
    t = np.arange(1, steps + 1)
    return lengths[0] / lengths[1], (1 - betas[0] ** t) / np.sqrt(1 - betas[1] ** t)


def _same_numbers(got, wrong) -> bool:
    """Equal to a mistake's numbers, NaN where it has NaN (a 0 / 0 is part of a mistake)."""
    wrong = np.asarray(wrong, dtype=float)
    return got.shape == wrong.shape and bool(
        np.allclose(got, wrong, rtol=1e-6, atol=1e-12, equal_nan=True)
    )


def _experiment_check(value, expected, name, what, mistakes, hidden) -> None:
    """The student's array against the experiment's, through the one comparison loop."""
    wrong = [
        Mistake(n, m, predicate=lambda got, case, v=v: _same_numbers(got, v))
        for n, m, v in mistakes
    ]
    check_against_reference(
        lambda: value,
        lambda: expected,
        [Case({}, "")],
        name=name,
        hidden=hidden,
        what=what,
        rtol=1e-9,
        atol=1e-12,
        mistakes=wrong,
        check_inputs=False,
    )


def _settings(settings: Mapping) -> tuple:
    s = dict(settings)
    return (
        float(s["KAPPA"]),
        float(s["ANGLE"]),
        tuple(map(float, s["CENTER"])),
        tuple(map(float, s["X0"])),
        float(s["LR"]),
        tuple(map(float, s["BETAS"])),
        int(s["STEPS"]),
    )


def check_bias_ratio(ratio, settings: Mapping, hidden: bool = False) -> None:
    """``ratio[t - 1]``: the length of step t without bias correction over its length with it.

    ``settings`` holds the notebook's KAPPA, ANGLE, CENTER, X0, LR, BETAS and STEPS. Checked to
    rounding against the same runs made here; an inverted ratio, the ratio of positions
    instead of steps, per-coordinate or L1 lengths and the prediction in place of the
    measurement are named.
    """
    kappa, angle, center, x0, lr, betas, steps = _settings(settings)
    expected, predicted = bias_experiment(kappa, angle, center, x0, lr, betas, steps)
    paths = _bias_paths(kappa, angle, center, x0, lr, betas, steps)
    l1 = [np.abs(np.diff(p, axis=0)).sum(axis=1) for p in paths]
    positions = [np.linalg.norm(p[1:], axis=1) for p in paths]
    mistakes = [
        (
            "inverted",
            "your ratio is inverted: divide the length of the step without bias "
            "correction by the length of the step with it (the uncorrected steps are the larger "
            "ones)",
            1 / expected,
        ),
        (
            "positions",
            "you divided the lengths of the points, |w_t|, not of the steps, "
            "|w_t - w_{t-1}|: take np.diff of each path first",
            positions[0] / positions[1],
        ),
        (
            "l1",
            "you measured the steps with the sum of absolute coordinates: use their "
            "Euclidean length, np.linalg.norm(..., axis=1)",
            l1[0] / l1[1],
        ),
        (
            "prediction",
            "your ratio is the constant-gradient prediction, not the measured "
            "ratio of the two runs' step lengths",
            predicted,
        ),
    ]
    _experiment_check(
        ratio, expected, "ratio", "ratio (one number per step, STEPS in all)", mistakes, hidden
    )


def check_bias_prediction(predicted, settings: Mapping, hidden: bool = False) -> None:
    """``predicted[t - 1] = (1 - beta1**t) / sqrt(1 - beta2**t)`` for t = 1..STEPS, to rounding."""
    _, _, _, _, _, (b1, b2), steps = _settings(settings)
    t = np.arange(1, steps + 1)
    expected = (1 - b1**t) / np.sqrt(1 - b2**t)
    with np.errstate(all="ignore"):
        mistakes = [
            (
                "t_from_zero",
                "your t starts at 0 (the first entry is 0 / 0): the first step is "
                "t = 1, np.arange(1, STEPS + 1)",
                (1 - b1 ** (t - 1)) / np.sqrt(1 - b2 ** (t - 1)),
            ),
            (
                "no_sqrt",
                "you divide by 1 - beta2**t itself: the step divides by the square root "
                "of v, so the prediction has sqrt(1 - beta2**t)",
                (1 - b1**t) / (1 - b2**t),
            ),
            (
                "inverted",
                "your prediction is inverted: (1 - beta1**t) / sqrt(1 - beta2**t) is "
                "the uncorrected step over the corrected one",
                1 / expected,
            ),
            (
                "betas_swapped",
                "beta1 and beta2 are swapped: beta1 goes with m (numerator), "
                "beta2 with v (under the square root)",
                (1 - b2**t) / np.sqrt(1 - b1**t),
            ),
        ]
    _experiment_check(
        predicted,
        expected,
        "predicted",
        "predicted (one number per step, STEPS in all)",
        mistakes,
        hidden,
    )
