"""Checkers for problem set 8: learning-rate schedules, reduce-on-plateau, and constant against
decayed learning rates for noisy SGD.

The students write five schedules as functions of the step count ``t``::

    step_decay(t, lr0, step_size, gamma)                             StepLR
    exponential_decay(t, lr0, gamma)                                 ExponentialLR
    inverse_time_decay(t, lr0, decay_steps, decay_rate)              InverseTimeDecay
    cosine_annealing(t, lr0, T_max, eta_min)                         CosineAnnealingLR
    warmup_cosine(t, lr0, warmup_steps, T_max, eta_min, start_factor)
                                                        warmup(CosineAnnealingLR(...), ...)

where ``t`` counts the calls of PyTorch's ``scheduler.step()`` (0 before the first), and a
class ``PlateauScheduler(lr, mode, factor, patience, threshold, threshold_mode, cooldown,
min_lr)`` with ``step(metric) -> lr`` and an attribute ``lr``. The reference is
``course_lib.schedules`` (equal to ``torch.optim.lr_scheduler``).

A schedule checker calls the student's function at every ``t`` of a range, for a few sets of
hyperparameters (fixed in visible tests, seeded random in hidden ones), and compares the
learning rates with the reference to rounding. Typical slips are named: the step count off by
one, decay every step instead of every ``step_size``, a smooth decay where PyTorch has steps,
a cosine over the wrong period or one that never reaches ``eta_min``, a warm-up that starts
at the peak, starts from zero or ends a step late, a cosine whose clock is not restarted after
the warm-up. Otherwise the message says at which ``t`` the first difference is.

The plateau checkers run the student's class on sequences of metrics: one checks the form
(``lr`` before any step, ``step`` returning the lr, independent instances), one the values in
mode ``'min'`` with a relative threshold (patience), one the options (``'abs'`` threshold,
cooldown, mode ``'max'``, ``min_lr``). A slip that amounts to ignoring one hyperparameter
(patience, threshold mode, cooldown, min_lr) or to confusing the modes is named.

The experiment runs SGD on a noisy quadratic with a constant rate and three decayed ones
(course_lib's ``SGD`` and schedules) and compares the student's predicted noise floor and
measured final losses with the same computation, to rounding.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from course_lib.grading._core import (
    Case,
    Mistake,
    as_array,
    check_against_reference,
    describe,
    fail,
    run,
)
from course_lib.grading.problems import log_uniform

__all__ = [
    "check_step_decay",
    "check_exponential_decay",
    "check_inverse_time_decay",
    "check_cosine_annealing",
    "check_warmup_phase",
    "check_warmup_cosine_phase",
    "check_plateau_form",
    "check_plateau_min",
    "check_plateau_options",
    "check_noise_floor",
    "check_final_losses",
    "noise_experiment",
    "SCHEDULES",
]

_RTOL, _ATOL = 1e-9, 1e-15


# --------------------------------------------------------------------------------------------
# Comparing a schedule function over a range of t
# --------------------------------------------------------------------------------------------
def _over_t(function: Any, seen: dict) -> Any:
    """The student's ``function(t, *hyper)`` as ``(t array, *hyper) -> learning rates``."""
    if not callable(function):
        return function  # run() says it is not a function

    def lrs(t, *hyper):
        values = [function(int(k), *hyper) for k in t]
        return _record(seen, np.asarray(t), values)

    return lrs


def _record(seen: dict, t: np.ndarray, values: list) -> Any:
    """The output of one case, remembered with its t: the checker runs other cases before it
    writes the message about the failing one, so the details look the output's t up."""
    out = None if any(v is None for v in values) else values
    seen.setdefault("runs", []).append((out, t))
    return out


def _t_of(seen: dict, output: Any, length: int) -> np.ndarray:
    """The t of the case whose output is ``output`` (else the last case of that length)."""
    runs = seen.get("runs", [])
    for out, t in runs:
        if out is output:
            return t
    return next(t for out, t in reversed(runs) if len(t) == length)


def _first_difference(got: np.ndarray, expected: np.ndarray) -> int:
    same = np.isclose(got, expected, _RTOL, _ATOL) if got.shape == expected.shape else []
    bad = np.flatnonzero(~np.asarray(same, dtype=bool))
    return int(bad[0]) if bad.size else 0


def _details(seen: dict) -> Callable:
    """Visible-test lines: the learning rates around the first difference."""

    def details(expected, got, output) -> str:
        expected = np.asarray(expected, dtype=float)
        if got is None or np.shape(got) != expected.shape:
            return f"expected: {describe(expected)}\ngot:      {describe(got)}"
        i = _first_difference(got, expected)
        window = slice(max(i - 2, 0), i + 3)
        t = _t_of(seen, output, len(expected))[window]
        return (
            f"t:        {', '.join(str(int(k)) for k in t)}\n"
            f"expected: {', '.join(f'{v:.6g}' for v in expected[window])}\n"
            f"got:      {', '.join(f'{v:.6g}' for v in got[window])}"
        )

    return details


def _verdict(reference_name: str) -> Callable:
    def verdict(got, expected, case) -> str:
        if not np.all(np.isfinite(got)):
            return "some learning rates are NaN or infinite"
        t = int(case.args["t"][_first_difference(got, expected)])
        return (
            f"your learning rates differ from those of {reference_name}; the first "
            f"difference is at t = {t}"
        )

    return verdict


def _shifted(reference: Callable, by: int) -> Callable:
    """A predicate: the student's value at t is the reference's at t + by (where t + by >= 0;
    a formula evaluated at t = -1 may give anything there)."""

    def predicate(got, case) -> bool:
        t = np.asarray(case.args["t"])
        hyper = list(case.args.values())[1:]
        ok = t + by >= 0
        if ok.sum() < 2 or got is None:  # one value alone proves no shift
            return False
        wanted = np.asarray(reference(t[ok] + by, *hyper), dtype=float)
        return bool(np.allclose(np.asarray(got)[ok], wanted, _RTOL, _ATOL))

    return predicate


def _off_by_one(reference: Callable) -> list[Mistake]:
    return [
        Mistake(
            "one_step_ahead",
            "your learning rates are one step ahead: your value at t is PyTorch's at t + 1. "
            "t counts the scheduler steps taken so far, so t = 0 (before any step) must give "
            "lr0",
            predicate=_shifted(reference, 1),
        ),
        Mistake(
            "one_step_behind",
            "your learning rates are one step late: your value at t is PyTorch's at t - 1. "
            "t = 0 is the first learning rate used, not t = 1",
            predicate=_shifted(reference, -1),
        ),
    ]


def _check_schedule(
    function: Any,
    reference: Callable,
    cases: Sequence[Case],
    mistakes: Sequence[Mistake],
    *,
    name: str,
    reference_name: str,
    hidden: bool,
) -> None:
    seen: dict = {}
    check_against_reference(
        _over_t(function, seen),
        reference,
        cases,
        name=name,
        hidden=hidden,
        what="the learning rate at each t",
        rtol=_RTOL,
        atol=_ATOL,
        mistakes=list(mistakes) + _off_by_one(reference),
        details=_details(seen),
        verdict=_verdict(reference_name),
    )


def _case(label_names: Sequence[str], t: Sequence[int], *hyper) -> Case:
    args = {"t": np.asarray(t, dtype=np.int64)}
    args.update(zip(label_names, hyper))
    shown = ", ".join(f"{k}={describe(v)}" for k, v in zip(label_names, hyper))
    return Case(args, f"{shown}, t = {int(args['t'][0])} .. {int(args['t'][-1])}")


def _rng(seed: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([seed, salt])


# --------------------------------------------------------------------------------------------
# Step, exponential and inverse-time decay
# --------------------------------------------------------------------------------------------
_STEP = ("lr0", "step_size", "gamma")


def _step_ref(t, lr0, step_size, gamma):
    from course_lib.schedules import StepLR

    return StepLR(lr0, step_size, gamma)(t)


def check_step_decay(step_decay: Any, seed: int = 0, hidden: bool = False) -> None:
    """``step_decay(t, lr0, step_size, gamma)`` equals ``StepLR`` for t = 0 .. a few periods."""
    if hidden:
        rng = _rng(seed, 1)
        cases = []
        for _ in range(3):
            size = int(rng.integers(2, 8))
            cases.append(
                _case(
                    _STEP,
                    range(3 * size + 2),
                    float(log_uniform(rng, 1e-3, 1.0)),
                    size,
                    float(rng.uniform(0.1, 0.9)),
                )
            )
    else:
        cases = [_case(_STEP, range(12), 0.1, 3, 0.5), _case(_STEP, range(13), 2.0, 4, 0.1)]
    mistakes = [
        Mistake(
            "every_step",
            "you multiply by gamma at every step: StepLR multiplies by gamma once every "
            "step_size steps, lr0 * gamma ** (t // step_size)",
            variant=lambda t, lr0, size, gamma: _step_ref(t, lr0, 1, gamma),
        ),
        Mistake(
            "smooth",
            "your decay is smooth, gamma ** (t / step_size): StepLR decays in steps, with the "
            "integer division t // step_size",
            variant=lambda t, lr0, size, gamma: lr0 * gamma ** (t / size),
        ),
    ]
    _check_schedule(
        step_decay,
        _step_ref,
        cases,
        mistakes,
        name="step_decay",
        reference_name="StepLR",
        hidden=hidden,
    )


_EXP = ("lr0", "gamma")


def _exp_ref(t, lr0, gamma):
    from course_lib.schedules import ExponentialLR

    return ExponentialLR(lr0, gamma)(t)


def check_exponential_decay(exponential_decay: Any, seed: int = 0, hidden: bool = False) -> None:
    """``exponential_decay(t, lr0, gamma)`` equals ``ExponentialLR``."""
    if hidden:
        rng = _rng(seed, 2)
        cases = [
            _case(
                _EXP, range(15), float(log_uniform(rng, 1e-3, 1.0)), float(rng.uniform(0.5, 0.99))
            )
            for _ in range(3)
        ]
    else:
        cases = [_case(_EXP, range(10), 0.1, 0.9), _case(_EXP, range(8), 1.0, 0.5)]
    mistakes = [
        Mistake(
            "exp_of_gamma",
            "you computed lr0 * exp(-gamma * t): gamma is the factor applied at each step, "
            "lr0 * gamma ** t",
            variant=lambda t, lr0, gamma: lr0 * np.exp(-gamma * t),
        ),
    ]
    _check_schedule(
        exponential_decay,
        _exp_ref,
        cases,
        mistakes,
        name="exponential_decay",
        reference_name="ExponentialLR",
        hidden=hidden,
    )


_INV = ("lr0", "decay_steps", "decay_rate")


def _inv_ref(t, lr0, decay_steps, decay_rate):
    from course_lib.schedules import InverseTimeDecay

    return InverseTimeDecay(lr0, decay_steps, decay_rate)(t)


def check_inverse_time_decay(inverse_time_decay: Any, seed: int = 0, hidden: bool = False) -> None:
    """``inverse_time_decay(t, lr0, decay_steps, decay_rate)`` equals ``InverseTimeDecay``
    (without staircase)."""
    if hidden:
        rng = _rng(seed, 3)
        cases = []
        for _ in range(3):
            steps = int(rng.integers(3, 30))
            cases.append(
                _case(
                    _INV,
                    range(2 * steps + 3),
                    float(log_uniform(rng, 1e-3, 1.0)),
                    steps,
                    float(rng.uniform(0.3, 2.0)),
                )
            )
    else:
        cases = [_case(_INV, range(25), 0.1, 10, 1.0), _case(_INV, range(12), 0.5, 4, 0.5)]
    mistakes = [
        Mistake(
            "staircase",
            "your decay goes in stairs, floor(t / decay_steps): here the decay is continuous, "
            "lr0 / (1 + decay_rate * t / decay_steps)",
            variant=lambda t, lr0, steps, rate: lr0 / (1 + rate * np.floor(t / steps)),
        ),
        Mistake(
            "no_decay_steps",
            "you computed lr0 / (1 + decay_rate * t): t must be divided by decay_steps",
            variant=lambda t, lr0, steps, rate: lr0 / (1 + rate * t),
        ),
        Mistake(
            "times_decay_steps",
            "you multiplied t by decay_steps: divide it, lr0 / (1 + decay_rate * t / decay_steps)",
            variant=lambda t, lr0, steps, rate: lr0 / (1 + rate * t * steps),
        ),
    ]
    _check_schedule(
        inverse_time_decay,
        _inv_ref,
        cases,
        mistakes,
        name="inverse_time_decay",
        reference_name="InverseTimeDecay",
        hidden=hidden,
    )


# --------------------------------------------------------------------------------------------
# Cosine annealing and linear warm-up + cosine
# --------------------------------------------------------------------------------------------
_COS = ("lr0", "T_max", "eta_min")


def _cos_ref(t, lr0, T_max, eta_min):
    from course_lib.schedules import CosineAnnealingLR

    return CosineAnnealingLR(lr0, T_max, eta_min)(t)


def _closed_cosine(t, lr0, T_max, eta_min):
    """The half cosine in closed form, for the slips' periods (which need not be ints)."""
    return eta_min + (lr0 - eta_min) * (1 + np.cos(np.pi * np.asarray(t) / T_max)) / 2


# Slips of a cosine: (name, message, the cosine made with that slip, (t, lr0, T_max, eta_min))
_COSINE_SLIPS = [
    (
        "no_eta_min",
        "your cosine never reaches eta_min: it goes from lr0 down to 0; anneal from lr0 to "
        "eta_min, eta_min + (lr0 - eta_min) * (1 + cos(pi * t / T_max)) / 2",
        lambda t, lr0, T, eta_min: _closed_cosine(t, lr0, T, 0.0),
    ),
    (
        "eta_min_on_top",
        "your cosine ends at 2 * eta_min: you added eta_min to lr0 * (1 + cos) / 2, but the "
        "amplitude is lr0 - eta_min",
        lambda t, lr0, T, eta_min: eta_min + _closed_cosine(t, lr0, T, 0.0),
    ),
    (
        "period_plus_one",
        "your cosine reaches eta_min one step late, at T_max + 1: divide by T_max, "
        "cos(pi * t / T_max)",
        lambda t, lr0, T, eta_min: _closed_cosine(t, lr0, T + 1, eta_min),
    ),
    (
        "period_minus_one",
        "your cosine reaches eta_min one step early, at T_max - 1: divide by T_max, "
        "cos(pi * t / T_max)",
        lambda t, lr0, T, eta_min: _closed_cosine(t, lr0, T - 1, eta_min),
    ),
    (
        "full_period",
        "your cosine makes a full period, cos(2 * pi * t / T_max): the annealing is half a "
        "period, cos(pi * t / T_max), from lr0 at t = 0 to eta_min at t = T_max",
        lambda t, lr0, T, eta_min: _closed_cosine(t, lr0, T / 2, eta_min),
    ),
]


def check_cosine_annealing(cosine_annealing: Any, seed: int = 0, hidden: bool = False) -> None:
    """``cosine_annealing(t, lr0, T_max, eta_min)`` equals ``CosineAnnealingLR`` for
    t = 0 .. T_max."""
    if hidden:
        rng = _rng(seed, 4)
        cases = []
        for _ in range(3):
            lr0, T = float(log_uniform(rng, 1e-3, 1.0)), int(rng.integers(4, 40))
            cases.append(_case(_COS, range(T + 1), lr0, T, float(rng.uniform(0.01, 0.5)) * lr0))
    else:
        cases = [
            _case(_COS, range(11), 0.1, 10, 0.0),
            _case(_COS, range(9), 1.0, 8, 0.1),
            _case(_COS, range(6), 0.05, 5, 0.01),
        ]
    _check_schedule(
        cosine_annealing,
        _cos_ref,
        cases,
        [Mistake(n, m, variant=slip) for n, m, slip in _COSINE_SLIPS],
        name="cosine_annealing",
        reference_name="CosineAnnealingLR",
        hidden=hidden,
    )


_WARM = ("lr0", "warmup_steps", "T_max", "eta_min", "start_factor")


def _warm_ref(t, lr0, warmup_steps, T_max, eta_min, start_factor):
    from course_lib.schedules import CosineAnnealingLR, warmup

    return warmup(CosineAnnealingLR(lr0, T_max, eta_min), warmup_steps, start_factor)(t)


def _ramp_then(cosine: Callable, restart: bool = True) -> Callable:
    """Linear warm-up, then ``cosine(t', lr0, T_max, eta_min)`` with t' = t - warmup_steps
    (or t itself if the clock is not restarted)."""

    def schedule(t, lr0, W, T, eta_min, start_factor):
        t = np.asarray(t)
        ramp = lr0 * (start_factor + (1 - start_factor) * t / W)
        return np.where(t < W, ramp, cosine(t - W if restart else t, lr0, T, eta_min))

    return schedule


_WARMUP_SLIPS = [
    (
        "starts_at_peak",
        "your warm-up starts at the peak: at t = 0 the learning rate must be start_factor * "
        "lr0, rising linearly to lr0 at t = warmup_steps",
        lambda t, lr0, W, T, eta_min, sf: _warm_ref(t, lr0, W, T, eta_min, 1.0),
    ),
    (
        "from_zero",
        "your warm-up starts from 0 and ignores start_factor: at t = 0 the learning rate "
        "must be start_factor * lr0",
        lambda t, lr0, W, T, eta_min, sf: _ramp_then(_closed_cosine)(t, lr0, W, T, eta_min, 0.0),
    ),
    (
        "ends_late",
        "your warm-up ends one step late: the ramp lr0 * (start_factor + (1 - start_factor) "
        "* t / warmup_steps) reaches lr0 at t = warmup_steps, where the cosine starts",
        lambda t, lr0, W, T, eta_min, sf: _warm_ref(t, lr0, W + 1, T, eta_min, sf),
    ),
    (
        "ends_early",
        "your warm-up ends one step early: the ramp lr0 * (start_factor + (1 - start_factor) "
        "* t / warmup_steps) reaches lr0 at t = warmup_steps, where the cosine starts",
        lambda t, lr0, W, T, eta_min, sf: _warm_ref(t, lr0, W - 1, T, eta_min, sf),
    ),
]

_AFTER_WARMUP_SLIPS = [
    (
        "clock_not_restarted",
        "after the warm-up your cosine continues from t instead of starting again at 0: "
        "use t - warmup_steps in the cosine, so that it starts at lr0",
        _ramp_then(_closed_cosine, restart=False),
    ),
    (
        "cosine_over_the_rest",
        "your cosine lasts T_max - warmup_steps steps: here T_max is the length of the "
        "cosine itself, which reaches eta_min at t = warmup_steps + T_max",
        lambda t, lr0, W, T, eta_min, sf: _ramp_then(_closed_cosine)(t, lr0, W, T - W, eta_min, sf),
    ),
] + [
    (name, "after the warm-up, " + message, _ramp_then(slip))
    for name, message, slip in _COSINE_SLIPS
]


def _warmup_cases(seed: int, hidden: bool, phase: str) -> list[Case]:
    if hidden:
        rng, hypers = _rng(seed, 5), []
        for _ in range(3):
            lr0, W = float(log_uniform(rng, 1e-3, 1.0)), int(rng.integers(3, 10))
            T = 2 * W
            while T == 2 * W:  # then a cosine over T_max - W would be a full period
                T = int(rng.integers(W + 2, 40))
            eta = float(rng.uniform(0.01, 0.3)) * lr0
            hypers.append((lr0, W, T, eta, float(rng.uniform(0.05, 0.5))))
    else:
        hypers = [(0.1, 4, 10, 0.0, 0.25), (1.0, 4, 12, 0.05, 0.1), (0.5, 3, 8, 0.1, 0.5)]
    return [
        _case(_WARM, range(h[1]) if phase == "warmup" else range(h[1], h[1] + h[2] + 1), *h)
        for h in hypers
    ]


def check_warmup_phase(warmup_cosine: Any, seed: int = 0, hidden: bool = False) -> None:
    """``warmup_cosine`` during the warm-up, t = 0 .. warmup_steps - 1, equals PyTorch's
    ``SequentialLR([LinearLR(start_factor, 1, warmup_steps), CosineAnnealingLR], ...)``."""
    _check_schedule(
        warmup_cosine,
        _warm_ref,
        _warmup_cases(seed, hidden, "warmup"),
        [Mistake(n, m, variant=slip) for n, m, slip in _WARMUP_SLIPS],
        name="warmup_cosine",
        reference_name="the warm-up of PyTorch's LinearLR",
        hidden=hidden,
    )


def check_warmup_cosine_phase(warmup_cosine: Any, seed: int = 0, hidden: bool = False) -> None:
    """``warmup_cosine`` after the warm-up, t = warmup_steps .. warmup_steps + T_max."""
    _check_schedule(
        warmup_cosine,
        _warm_ref,
        _warmup_cases(seed, hidden, "cosine"),
        [Mistake(n, m, variant=slip) for n, m, slip in _AFTER_WARMUP_SLIPS + _WARMUP_SLIPS],
        name="warmup_cosine",
        reference_name="the cosine after the warm-up",
        hidden=hidden,
    )


# --------------------------------------------------------------------------------------------
# Reduce on plateau
# --------------------------------------------------------------------------------------------
_PLATEAU = (
    "lr",
    "mode",
    "factor",
    "patience",
    "threshold",
    "threshold_mode",
    "cooldown",
    "min_lr",
)


def _plateau_ref(metrics, *hyper, **changed) -> list[float]:
    """The learning rate after each metric, from course_lib's ReduceLROnPlateau (eps = 0:
    every reduction is applied, as ``max(lr * factor, min_lr)``). ``changed`` replaces
    hyperparameters after the checks of the constructor (a slip may give patience -1)."""
    from course_lib.schedules import ReduceLROnPlateau

    scheduler = ReduceLROnPlateau(*hyper, eps=0.0)
    for key, value in changed.items():
        setattr(scheduler, key, value)
    scheduler.reset()
    return [scheduler.step(float(m)) for m in metrics]


def _plateau_with(**changes) -> Callable:
    """The reference with some hyperparameters replaced (a slip that ignores one of them);
    each change is a function of the case's hyperparameters."""

    def variant(metrics, *hyper):
        values = dict(zip(_PLATEAU, hyper))
        changed = {key: change(values) for key, change in changes.items()}
        if "lr" in changed:
            changed["initial_lr"] = changed.pop("lr")
        return _plateau_ref(metrics, *hyper, **changed)

    return variant


_PLATEAU_SLIPS = [
    Mistake(
        "no_patience",
        "you reduce the learning rate at the first epoch without improvement: wait until "
        "more than `patience` epochs in a row have not improved",
        variant=_plateau_with(patience=lambda h: 0),
    ),
    Mistake(
        "patience_off_by_one",
        "you reduce after `patience` bad epochs: PyTorch reduces when the number of bad "
        "epochs in a row exceeds patience (num_bad_epochs > patience)",
        variant=_plateau_with(patience=lambda h: h["patience"] - 1),
    ),
    Mistake(
        "modes_swapped",
        "your modes 'min' and 'max' are swapped: in mode 'min' a lower metric is an "
        "improvement (a loss), in mode 'max' a higher one (an accuracy)",
        variant=_plateau_with(mode=lambda h: "max" if h["mode"] == "min" else "min"),
    ),
    Mistake(
        "always_rel",
        "you always use a relative threshold: with threshold_mode 'abs' an improvement is "
        "metric < best - threshold (mode 'min') or metric > best + threshold (mode 'max')",
        variant=_plateau_with(threshold_mode=lambda h: "rel"),
    ),
    Mistake(
        "always_abs",
        "you always use an absolute threshold: with threshold_mode 'rel' an improvement is "
        "metric < best * (1 - threshold) (mode 'min') or metric > best * (1 + threshold) "
        "(mode 'max')",
        variant=_plateau_with(threshold_mode=lambda h: "abs"),
    ),
    Mistake(
        "no_threshold",
        "you count any improvement, however small: an improvement must beat the best metric "
        "by the threshold",
        variant=_plateau_with(threshold=lambda h: 0.0),
    ),
    Mistake(
        "no_cooldown",
        "you ignore the cooldown: after a reduction, the next `cooldown` epochs must not "
        "count as bad epochs",
        variant=_plateau_with(cooldown=lambda h: 0),
    ),
    Mistake(
        "no_min_lr",
        "your learning rate goes below min_lr: a reduction gives max(lr * factor, min_lr)",
        variant=_plateau_with(min_lr=lambda h: 0.0),
    ),
]


def _plateau_case(metrics, *hyper) -> Case:
    args = {"metrics": np.asarray(metrics, dtype=float)}
    args.update(zip(_PLATEAU, hyper))
    shown = ", ".join(f"{k}={describe(v)}" for k, v in zip(_PLATEAU, hyper))
    return Case(args, f"PlateauScheduler({shown}), metrics {describe(args['metrics'], 12)}")


def _plateau_values(cls: Any, seen: dict) -> Any:
    """The student's class as ``(metrics, *hyper) -> lr returned by each step``."""
    if not callable(cls):
        return cls

    def lrs(metrics, *hyper):
        scheduler = cls(*hyper)
        values = [scheduler.step(float(m)) for m in metrics]
        return _record(seen, np.arange(1, len(metrics) + 1), values)

    return lrs


def _check_plateau(cls: Any, cases: Sequence[Case], hidden: bool) -> None:
    seen: dict = {}
    details = _details(seen)
    check_against_reference(
        _plateau_values(cls, seen),
        _plateau_ref,
        cases,
        name="PlateauScheduler",
        hidden=hidden,
        what="the learning rates returned by step",
        rtol=_RTOL,
        atol=_ATOL,
        mistakes=_PLATEAU_SLIPS,
        details=lambda e, g, o: details(e, g, o).replace("t:  ", "epoch:", 1),
        verdict=lambda got, expected, case: (
            "your learning rates differ from those of ReduceLROnPlateau; the first "
            f"difference is after epoch {_first_difference(got, expected) + 1}"
        ),
    )


# A loss that falls, then stalls with improvements smaller than 1e-4 relative, then falls again
_STALLING = [1.0, 0.8, 0.7, 0.7, 0.69995, 0.7, 0.71, 0.6, 0.6, 0.6, 0.6, 0.59999, 0.6, 0.6, 0.6]
_RISING = [0.5, 0.6, 0.65, 0.65, 0.65005, 0.64, 0.66, 0.66, 0.66, 0.66, 0.7, 0.7, 0.7, 0.7]


def _random_metrics(rng: np.random.Generator, n: int, mode: str) -> np.ndarray:
    """A noisy curve with plateaus: improvements of random sizes, some below any threshold."""
    moves = rng.choice([-0.1, -0.01, -1e-5, 0.0, 0.0, 0.02], size=n) * rng.uniform(0.5, 1.5, n)
    curve = 1.0 + np.cumsum(moves)
    return curve if mode == "min" else 2.0 - curve


def check_plateau_min(cls: Any, seed: int = 0, hidden: bool = False) -> None:
    """``PlateauScheduler`` in mode 'min' with a relative threshold: patience, factor."""
    if hidden:
        rng = _rng(seed, 6)
        cases = [
            _plateau_case(
                _random_metrics(rng, 30, "min"),
                float(log_uniform(rng, 1e-3, 1.0)),
                "min",
                float(rng.uniform(0.1, 0.9)),
                int(rng.choice([0, 2, 3, 4])),  # with patience 1, `>=` would be no patience
                float(rng.choice([1e-4, 1e-3, 1e-2])),
                "rel",
                0,
                0.0,
            )
            for _ in range(3)
        ]
    else:
        cases = [
            _plateau_case(_STALLING, 0.1, "min", 0.5, 2, 1e-4, "rel", 0, 0.0),
            _plateau_case(_STALLING, 1.0, "min", 0.1, 0, 1e-4, "rel", 0, 0.0),
            _plateau_case(_STALLING, 0.1, "min", 0.5, 1, 1e-2, "rel", 0, 0.0),
        ]
    _check_plateau(cls, cases, hidden)


def check_plateau_options(cls: Any, seed: int = 0, hidden: bool = False) -> None:
    """``PlateauScheduler`` with threshold_mode 'abs', cooldown, mode 'max' and min_lr."""
    if hidden:
        rng, cases = _rng(seed, 7), []
        for mode, threshold_mode in (("min", "abs"), ("max", "rel"), ("max", "abs")):
            lr = float(log_uniform(rng, 1e-3, 1.0))
            cases.append(
                _plateau_case(
                    _random_metrics(rng, 30, mode),
                    lr,
                    mode,
                    float(rng.uniform(0.1, 0.9)),
                    int(rng.choice([0, 2, 3])),
                    float(rng.choice([1e-3, 1e-2, 0.05])),
                    threshold_mode,
                    int(rng.integers(0, 4)),
                    lr * float(rng.uniform(0.05, 0.5)),
                )
            )
    else:
        cases = [
            _plateau_case(_STALLING, 0.1, "min", 0.5, 2, 0.005, "abs", 0, 0.0),
            _plateau_case(_STALLING, 0.1, "min", 0.5, 0, 1e-4, "rel", 2, 0.0),
            _plateau_case(_RISING, 0.1, "max", 0.5, 2, 1e-4, "rel", 0, 0.0),
            _plateau_case(_RISING, 0.1, "max", 0.1, 0, 0.005, "abs", 1, 0.01),
        ]
    _check_plateau(cls, cases, hidden)


def _number(value: Any, what: str, hidden: bool, case: Case) -> float:
    return float(
        as_array(value, name="PlateauScheduler", what=what, shape=(), hidden=hidden, case=case)
    )


def _plateau_probe(cls: Any) -> Any:
    """Two schedulers made alike: the first stepped through the metrics (its ``lr`` read before
    and after every step), then the second, fresh one (its ``lr`` and first step)."""
    if not callable(cls):
        return cls

    def probe(metrics, *hyper):
        first, second = cls(*hyper), cls(*hyper)
        start, returned, attribute = first.lr, [], []
        for m in metrics:
            returned.append(first.step(float(m)))
            attribute.append(first.lr)
        fresh = second.lr
        return start, returned, attribute, fresh, second.step(float(metrics[0]))

    return probe


def check_plateau_form(cls: Any, seed: int = 0, hidden: bool = False) -> None:
    """``PlateauScheduler``'s form: ``lr`` is the initial rate before any step, ``step(metric)``
    returns the new rate as a number and ``lr`` follows it, and two schedulers do not share
    their state. The values are graded by the other plateau checkers."""
    lr = 0.1 if not hidden else float(log_uniform(_rng(seed, 8), 1e-3, 1.0))
    case = _plateau_case(_STALLING, lr, "min", 0.5, 1, 1e-4, "rel", 0, 0.0)
    name = "PlateauScheduler"
    start, returned, attribute, fresh, first_step = run(
        _plateau_probe(cls), case, name=name, hidden=hidden
    )
    if not math.isclose(_number(start, ".lr before any step", hidden, case), lr, rel_tol=1e-12):
        fail(
            name,
            "before any step, .lr must be the initial learning rate `lr`",
            hidden=hidden,
            case=case,
        )
    for epoch, (value, attr) in enumerate(zip(returned, attribute), 1):
        if value is None:
            fail(
                name,
                f"step returned None after epoch {epoch}: it must return the learning rate",
                hidden=hidden,
                case=case,
            )
        got = _number(value, "the value returned by step", hidden, case)
        if not math.isclose(_number(attr, ".lr", hidden, case), got, rel_tol=1e-12, abs_tol=1e-15):
            fail(
                name,
                f"after epoch {epoch}, .lr is not the learning rate that step returned: "
                "update self.lr and return it",
                hidden=hidden,
                case=case,
            )
    fresh = _number(fresh, ".lr of a new scheduler", hidden, case)
    again = _number(first_step, "the value returned by step", hidden, case)
    if not (math.isclose(fresh, lr, rel_tol=1e-12) and math.isclose(again, lr, rel_tol=1e-12)):
        fail(
            name,
            "a second PlateauScheduler does not start afresh: it shares the state of the first "
            "one. Keep the state (lr, best, counters) in attributes of self, set in __init__, "
            "not in class attributes or global variables",
            hidden=hidden,
            case=case,
        )


# --------------------------------------------------------------------------------------------
# The experiment: constant against decayed learning rates for noisy SGD
# --------------------------------------------------------------------------------------------
SCHEDULES = ("constant", "step", "cosine", "inverse_time")
"""The runs of the experiment, in the order of the student's ``final`` array."""


def experiment_schedules(lr: float, steps: int) -> dict:
    """The schedules of the experiment (None: the constant rate), as in the notebook."""
    from course_lib.schedules import CosineAnnealingLR, InverseTimeDecay, StepLR

    return {
        "constant": None,
        "step": StepLR(lr, step_size=steps // 4, gamma=0.3),
        "cosine": CosineAnnealingLR(lr, T_max=steps),
        "inverse_time": InverseTimeDecay(lr, decay_steps=20, decay_rate=1.0),
    }


def _settings(settings: Mapping) -> tuple:
    s = dict(settings)
    return (
        float(s["KAPPA"]),
        float(s["NOISE"]),
        tuple(map(float, s["X0"])),
        float(s["LR"]),
        int(s["STEPS"]),
        int(s["SEEDS"]),
        int(s["WINDOW"]),
    )


_LOSSES: dict = {}


def _losses(kappa, noise, x0, lr, steps, seeds) -> dict:
    """name -> (seeds, steps + 1) losses of SGD on the noisy bowl, seeds 0 .. seeds (one more
    than asked, for the slip of counting seeds from 1); memoised."""
    key = (kappa, noise, x0, lr, steps, seeds)
    if key not in _LOSSES:
        from course_lib.landscapes import NoisyQuadratic
        from course_lib.optim import SGD
        from course_lib.train import run as run_sgd

        bowl = NoisyQuadratic.bowl(condition_number=kappa, noise=noise)
        _LOSSES.clear()
        _LOSSES[key] = {
            name: np.array(
                [
                    run_sgd(SGD(lr=lr), bowl, x0, steps, schedule=schedule, rng=seed).losses
                    for seed in range(seeds + 1)
                ]
            )
            for name, schedule in experiment_schedules(lr, steps).items()
        }
    return _LOSSES[key]


def noise_experiment(settings: Mapping) -> tuple[float, np.ndarray]:
    """The predicted noise floor of the constant rate, and the final losses of the runs
    (mean over seeds 0 .. SEEDS - 1 of the mean loss over the last WINDOW iterates)."""
    kappa, noise, x0, lr, steps, seeds, window = _settings(settings)
    from course_lib.landscapes import NoisyQuadratic

    eigenvalues = NoisyQuadratic.bowl(condition_number=kappa, noise=noise).eigenvalues
    floor = float(np.sum(lr * noise**2 / (2 * (2 - lr * eigenvalues))))
    losses = _losses(kappa, noise, x0, lr, steps, seeds)
    final = np.array([losses[n][:seeds, -window:].mean() for n in SCHEDULES])
    return floor, final


def _experiment_check(value, expected, name, what, mistakes, hidden) -> None:
    """The student's number(s) against the experiment's, through the one comparison loop."""
    check_against_reference(
        lambda: value,
        lambda: expected,
        [Case({}, "")],
        name=name,
        hidden=hidden,
        what=what,
        rtol=1e-9,
        atol=1e-15,
        mistakes=[
            Mistake(
                n,
                m,
                predicate=lambda got, case, v=v: (
                    got is not None and np.allclose(got, v, 1e-9, 1e-15)
                ),
            )
            for n, m, v in mistakes
        ],
        check_inputs=False,
    )


def check_noise_floor(floor: Any, settings: Mapping, hidden: bool = False) -> None:
    """The noise floor that eq. (sgd-noise-floor) predicts for the constant rate, to rounding;
    the small-step approximation, one eigenvalue only and the noise not squared are named."""
    kappa, noise, x0, lr, steps, seeds, window = _settings(settings)
    from course_lib.landscapes import NoisyQuadratic

    lam = NoisyQuadratic.bowl(condition_number=kappa, noise=noise).eigenvalues
    expected, _ = noise_experiment(settings)
    mistakes = [
        (
            "approximation",
            "you used the small-step approximation lr * noise**2 / 4: the floor is "
            "lr * noise**2 / (2 * (2 - lr * lambda)), summed over the eigenvalues",
            len(lam) * lr * noise**2 / 4,
        ),
        (
            "one_eigenvalue",
            "your floor has the term of one eigenvalue only: add one term per eigenvalue of "
            "the Hessian",
            [lr * noise**2 / (2 * (2 - lr * value)) for value in lam],
        ),
        (
            "noise_not_squared",
            "the floor grows with the variance of the noise, noise**2, not its standard deviation",
            float(np.sum(lr * noise / (2 * (2 - lr * lam)))),
        ),
    ]
    expanded = []
    for n, m, v in mistakes:  # one entry per candidate value
        expanded += [(n, m, w) for w in np.atleast_1d(v)]
    _experiment_check(floor, expected, "floor", "the predicted noise floor", expanded, hidden)


def check_final_losses(final: Any, settings: Mapping, hidden: bool = False) -> None:
    """The final losses of the four runs, to rounding; the loss of the last iterate alone,
    the median over the seeds, a window one longer, seeds counted from 1 are named."""
    kappa, noise, x0, lr, steps, seeds, window = _settings(settings)
    _, expected = noise_experiment(settings)
    losses = _losses(kappa, noise, x0, lr, steps, seeds)
    per = {n: losses[n] for n in SCHEDULES}
    mistakes = [
        (
            "last_loss",
            "you took the loss of the last iterate only: average the last WINDOW losses of "
            "each run (one iterate is as noisy as the noise floor itself)",
            [per[n][:seeds, -1].mean() for n in SCHEDULES],
        ),
        (
            "median",
            "you took the median over the seeds: the experiment asks for the mean",
            [np.median(per[n][:seeds, -window:].mean(axis=1)) for n in SCHEDULES],
        ),
        (
            "window_plus_one",
            "your window has WINDOW + 1 losses: the last WINDOW are losses[-WINDOW:]",
            [per[n][:seeds, -window - 1 :].mean() for n in SCHEDULES],
        ),
        (
            "seeds_from_one",
            "your seeds are 1 .. SEEDS: use range(SEEDS), seeds 0 .. SEEDS - 1",
            [per[n][1:, -window:].mean() for n in SCHEDULES],
        ),
        (
            "whole_run",
            "you averaged the losses of the whole run: take the last WINDOW only",
            [per[n][:seeds].mean() for n in SCHEDULES],
        ),
    ]
    _experiment_check(
        final,
        expected,
        "final",
        f"final (one number per run, in the order {', '.join(SCHEDULES)})",
        mistakes,
        hidden,
    )
