"""course_lib.schedules: PyTorch golden values, properties and bad input."""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import schedules as S
from course_lib.schedules import (
    CosineAnnealingLR,
    ExponentialLR,
    InverseTimeDecay,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
    warmup,
)

GOLDEN = json.loads((Path(__file__).parent / "golden" / "schedules.json").read_text())
CASES = GOLDEN["cases"]
FAST = settings(max_examples=60, deadline=None)


def build(name, kwargs):
    """Our schedule for a golden case (nested schedules are {"schedule", "kwargs"} dicts)."""
    kwargs = dict(kwargs)
    if name == "SequentialLR":
        kwargs["schedules"] = [build(s["schedule"], s["kwargs"]) for s in kwargs["schedules"]]
    if name == "warmup":
        kwargs["schedule"] = build(kwargs["schedule"]["schedule"], kwargs["schedule"]["kwargs"])
    return getattr(S, name)(**kwargs)


def case_id(case):
    return f"{CASES.index(case):02d}-{case['schedule']}"


def by_name(name):
    return [c for c in CASES if c["schedule"] == name]


# --------------------------------------------------------------------------------------------
# Golden values from torch.optim.lr_scheduler (tests/golden/make_schedules_golden.py)
# --------------------------------------------------------------------------------------------
def test_golden_file_covers_every_schedule_and_option():
    for name in [
        "StepLR",
        "MultiStepLR",
        "ExponentialLR",
        "CosineAnnealingLR",
        "LinearLR",
        "OneCycleLR",
        "InverseTimeDecay",
        "SequentialLR",
        "warmup",
        "ReduceLROnPlateau",
    ]:
        cases = by_name(name)
        assert cases, name
        options = set(inspect.signature(getattr(S, name)).parameters)
        assert options <= {k for c in cases for k in c["kwargs"]}, name
        assert all(len(c["lrs"]) >= 11 for c in cases), name
    one_cycle = by_name("OneCycleLR")
    variants = {
        (c["kwargs"].get("anneal_strategy", "cos"), c["kwargs"].get("three_phase", False))
        for c in one_cycle
    }
    assert variants == {(a, p) for a in ["cos", "linear"] for p in [False, True]}
    assert {c["optimizer"] for c in one_cycle if "momentums" in c} == {"SGD", "Adam"}
    plateau = [c["kwargs"] for c in by_name("ReduceLROnPlateau")]
    assert {(k.get("mode", "min"), k.get("threshold_mode", "rel")) for k in plateau} == {
        ("min", "rel"),
        ("min", "abs"),
        ("max", "rel"),
        ("max", "abs"),
    }


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["schedule"] != "ReduceLROnPlateau"], ids=case_id
)
def test_matches_pytorch(case):
    schedule = build(case["schedule"], case["kwargs"])
    t = np.arange(len(case["lrs"]))
    np.testing.assert_allclose(schedule(t), case["lrs"], rtol=1e-12, atol=0)
    if "momentums" in case:
        np.testing.assert_allclose(schedule.momentum(t), case["momentums"], rtol=1e-12, atol=0)
    if case.get("raises_after_total_steps"):
        with pytest.raises(ValueError, match="total_steps"):
            schedule(len(case["lrs"]))


@pytest.mark.parametrize("case", by_name("ReduceLROnPlateau"), ids=case_id)
def test_reduce_on_plateau_matches_pytorch(case):
    plateau = build("ReduceLROnPlateau", case["kwargs"])
    for i, metric in enumerate(case["metrics"]):
        lr = plateau.step(metric)
        assert lr == plateau.lr
        assert math.isclose(lr, case["lrs"][i], rel_tol=1e-12, abs_tol=0), i
        assert plateau.best == case["best"][i], i
        assert plateau.num_bad_epochs == case["num_bad_epochs"][i], i
        assert plateau.cooldown_counter == case["cooldown_counter"][i], i
    assert len(set(case["lrs"])) > 1, "every plateau case should reduce the lr at least once"


def test_cosine_closed_form_would_not_be_enough():
    """Why CosineAnnealingLR runs PyTorch's recursion rather than the closed form."""
    (case,) = [c for c in by_name("CosineAnnealingLR") if c["kwargs"]["T_max"] == 333]
    k = case["kwargs"]
    t = np.arange(len(case["lrs"]))
    closed = k["eta_min"] + (k["lr"] - k["eta_min"]) * (1 + np.cos(np.pi * t / k["T_max"])) / 2
    assert np.max(np.abs(closed / case["lrs"] - 1)) > 1e-12
    np.testing.assert_allclose(build("CosineAnnealingLR", k)(t), case["lrs"], rtol=1e-12, atol=0)


# --------------------------------------------------------------------------------------------
# Behaviour
# --------------------------------------------------------------------------------------------
def test_scalar_and_array_calls():
    sched = CosineAnnealingLR(0.1, T_max=10)
    assert isinstance(sched(3), float) and isinstance(sched(np.int64(3)), float)
    grid = np.arange(12).reshape(3, 4)
    assert sched(grid).shape == (3, 4) and sched(grid).dtype == np.float64
    assert sched([0, 5, 10]).tolist() == [sched(0), sched(5), sched(10)]
    assert sched(np.array([], dtype=int)).shape == (0,)
    assert sched(0) == 0.1 and sched(10) == 0.0


def test_cosine_is_periodic_past_t_max():
    sched = CosineAnnealingLR(1.0, T_max=7, eta_min=0.1)
    t = np.arange(50)
    np.testing.assert_allclose(sched(t + 14), sched(t), rtol=1e-12)
    assert math.isclose(sched(14), 1.0) and math.isclose(sched(21), 0.1)


def test_memo_follows_hyperparameter_changes():
    sched = CosineAnnealingLR(0.1, T_max=10)
    sched(20)
    sched.T_max = 20
    assert sched(20) == CosineAnnealingLR(0.1, T_max=20)(20)


def test_one_cycle_momentum_and_limits():
    sched = OneCycleLR(0.1, total_steps=10)
    assert math.isclose(sched(0), 0.1 / 25) and sched.momentum(0) == 0.95
    assert sched(2) == 0.1 and sched.momentum(2) == 0.85  # the peak, at t = 0.3 * 10 - 1
    for bad in [11, np.array([0, 11])]:
        with pytest.raises(ValueError, match="t=11 is beyond total_steps=10"):
            sched(bad)
        with pytest.raises(ValueError, match="total_steps"):
            sched.momentum(bad)
    with pytest.raises(ValueError, match="cycle_momentum"):
        OneCycleLR(0.1, 10, cycle_momentum=False).momentum(0)


def test_one_cycle_extrapolates_one_step_past_the_end_like_pytorch():
    linear = OneCycleLR(0.1, total_steps=100, anneal_strategy="linear")
    assert linear(100) < 0 < linear(99)  # PyTorch's value at t = total_steps is negative
    cos = OneCycleLR(0.1, total_steps=100)
    assert cos(100) > cos(99)


def test_warmup_formula():
    inner = CosineAnnealingLR(0.2, T_max=30)
    sched = warmup(inner, 5, start_factor=0.1)
    t = np.arange(5)
    np.testing.assert_allclose(sched(t), 0.2 * (0.1 + 0.9 * t / 5), rtol=1e-14)
    np.testing.assert_allclose(sched(np.arange(5, 60)), inner(np.arange(55)), rtol=0, atol=0)
    assert isinstance(sched, SequentialLR)


def test_sequential_switches_at_milestones():
    a, b, c = ExponentialLR(0.1, 0.5), StepLR(0.3, 2), LinearLR(0.2, total_iters=3)
    sched = SequentialLR([a, b, c], milestones=[3, 3 + 4])
    assert [sched(t) for t in range(10)] == [
        a(0),
        a(1),
        a(2),
        b(0),
        b(1),
        b(2),
        b(3),
        c(0),
        c(1),
        c(2),
    ]


def test_reduce_on_plateau_reset_and_eps():
    plateau = ReduceLROnPlateau(1.0, patience=0, factor=0.5, min_lr=0.3, eps=0.0)
    lrs = [plateau.step(m) for m in [1.0, 1.0, 1.0, 1.0]]
    assert lrs == [1.0, 0.5, 0.3, 0.3]  # floor at min_lr
    plateau.reset()
    assert (plateau.lr, plateau.best, plateau.num_bad_epochs, plateau.cooldown_counter) == (
        1.0,
        math.inf,
        0,
        0,
    )
    ignored = ReduceLROnPlateau(1e-8, patience=0)  # the cut (9e-9) is below eps = 1e-8
    assert [ignored.step(1.0), ignored.step(2.0)] == [1e-8, 1e-8]


@pytest.mark.parametrize(
    "schedule",
    [
        StepLR(0.1, 3),
        MultiStepLR(0.1, [2, 5], gamma=0.5),
        ExponentialLR(0.1, 0.9),
        CosineAnnealingLR(0.1, 10, eta_min=0.001),
        LinearLR(0.1, 0.5, 0.25, 7),
        OneCycleLR(0.1, 100, anneal_strategy="linear", three_phase=True),
        InverseTimeDecay(0.1, 10, 0.5, staircase=True),
        ReduceLROnPlateau(0.1, mode="max"),
        SequentialLR([LinearLR(0.1), StepLR(0.1, 3)], [5]),
    ],
    ids=lambda s: type(s).__name__,
)
def test_repr_shows_hyperparameters_and_round_trips(schedule):
    text = repr(schedule)
    assert text.startswith(type(schedule).__name__ + "(")
    assert repr(eval(text, vars(S))) == text  # noqa: S307 (our own repr)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------
@FAST
@given(st.floats(1e-4, 1.0), st.integers(1, 20), st.floats(0.01, 1.0))
def test_step_lr_is_non_increasing(lr, step_size, gamma):
    lrs = StepLR(lr, step_size, gamma)(np.arange(100))
    assert np.all(np.diff(lrs) <= 0)


@FAST
@given(st.floats(1e-4, 1.0), st.floats(0.5, 20.0), st.floats(0.0, 5.0))
def test_inverse_time_staircase(lr, decay_steps, decay_rate):
    t = np.arange(200)
    smooth = InverseTimeDecay(lr, decay_steps, decay_rate)(t)
    stairs = InverseTimeDecay(lr, decay_steps, decay_rate, staircase=True)(t)
    assert np.all(stairs >= smooth * (1 - 1e-15))  # floor(p) <= p, so 1/(1+r*floor) is larger
    step_index = np.floor(t / decay_steps)
    for k in np.unique(step_index):  # constant on each stair
        assert np.ptp(stairs[step_index == k]) == 0


@FAST
@given(st.floats(1e-6, 1.0), st.integers(1, 40), st.floats(0.0, 1.0))
def test_cosine_stays_between_eta_min_and_lr(lr, T_max, frac):
    eta_min = lr * frac
    lrs = CosineAnnealingLR(lr, T_max, eta_min)(np.arange(5 * T_max))
    assert np.all(lrs >= eta_min * (1 - 1e-12)) and np.all(lrs <= lr * (1 + 1e-12))


@FAST
@given(
    st.floats(1e-3, 1.0),
    st.integers(2, 300),
    st.floats(0.05, 0.45),
    st.booleans(),
    st.sampled_from(["cos", "linear"]),
)
def test_one_cycle_stays_in_range(max_lr, total_steps, pct_start, three_phase, strategy):
    try:
        sched = OneCycleLR(max_lr, total_steps, pct_start, strategy, three_phase=three_phase)
    except ValueError as e:  # only the zero-length-phase configurations are refused
        assert "zero length" in str(e)
        return
    t = np.arange(total_steps)  # the cycle proper (t = total_steps extrapolates)
    lrs, moms = sched(t), sched.momentum(t)
    low = max_lr / 25 / 1e4
    assert np.all(lrs >= low * (1 - 1e-9)) and np.all(lrs <= max_lr * (1 + 1e-12))
    assert np.all(moms >= 0.85 - 1e-12) and np.all(moms <= 0.95 + 1e-12)


@FAST
@given(st.integers(0, 60), st.data())
def test_array_call_equals_scalar_loop(n, data):
    schedule = data.draw(
        st.sampled_from(
            [
                StepLR(0.1, 4, 0.7),
                MultiStepLR(0.1, [3, 3, 9]),
                ExponentialLR(0.1, 1.02),
                CosineAnnealingLR(0.1, 9, 0.01),
                LinearLR(0.1, 1.0, 0.0, 12),
                OneCycleLR(0.1, 60),
                InverseTimeDecay(0.1, 3, 0.5, True),
                warmup(CosineAnnealingLR(0.1, 20), 6),
            ]
        )
    )
    t = np.array(data.draw(st.lists(st.integers(0, 60), max_size=n)), dtype=np.int64)
    values = schedule(t)
    assert values.tolist() == [schedule(int(k)) for k in t]
    assert schedule(t[::-1]).tolist() == values[::-1].tolist()  # the memo is order-independent


@FAST
@given(
    st.lists(st.floats(-10, 10), min_size=1, max_size=60),
    st.integers(0, 4),
    st.integers(0, 3),
    st.sampled_from(["min", "max"]),
    st.sampled_from(["rel", "abs"]),
)
def test_reduce_on_plateau_never_increases_and_respects_min_lr(
    metrics, patience, cooldown, mode, threshold_mode
):
    plateau = ReduceLROnPlateau(
        0.1, mode, 0.5, patience, 1e-3, threshold_mode, cooldown, min_lr=0.01
    )
    lrs = [plateau.step(m) for m in metrics]
    assert all(b <= a for a, b in zip([0.1] + lrs, lrs)) and min(lrs) >= 0.01
    first = list(lrs)
    plateau.reset()
    assert [plateau.step(m) for m in metrics] == first


# --------------------------------------------------------------------------------------------
# Bad input: a ValueError that names the parameter (and its allowed range)
# --------------------------------------------------------------------------------------------
BAD = [
    (lambda: StepLR(-0.1, 3), r"lr must be in \[0, inf\)"),
    (lambda: StepLR(float("inf"), 3), r"lr must be in \[0, inf\)"),
    (lambda: StepLR(0.1, 0), r"step_size must be an int >= 1"),
    (lambda: StepLR(0.1, 2.5), r"step_size must be an int >= 1"),
    (lambda: StepLR(0.1, True), r"step_size must be an int >= 1"),
    (lambda: StepLR(0.1, 3, gamma=0.0), r"gamma must be in \(0, inf\)"),
    (lambda: StepLR(0.1, 3, gamma=float("nan")), r"gamma must be in \(0, inf\)"),
    (lambda: MultiStepLR(0.1, [5, 3]), r"milestones must be non-decreasing"),
    (lambda: MultiStepLR(0.1, [-1, 3]), r"milestones\[0\] must be an int >= 0"),
    (lambda: MultiStepLR(0.1, [2, 1.5]), r"milestones\[1\] must be an int >= 0"),
    (lambda: MultiStepLR(0.1, [2], gamma=-1), r"gamma must be in \(0, inf\)"),
    (lambda: ExponentialLR(0.1, -0.5), r"gamma must be in \(0, inf\)"),
    (lambda: CosineAnnealingLR(0.1, 0), r"T_max must be an int >= 1"),
    (lambda: CosineAnnealingLR(0.1, 10, eta_min=0.2), r"eta_min must be in \[0, 0.1\]"),
    (lambda: CosineAnnealingLR(0.1, 10, eta_min=-1e-3), r"eta_min must be in \[0, 0.1\]"),
    (lambda: LinearLR(0.1, start_factor=0.0), r"start_factor must be in \(0, 1\]"),
    (lambda: LinearLR(0.1, start_factor=1.5), r"start_factor must be in \(0, 1\]"),
    (lambda: LinearLR(0.1, end_factor=-0.1), r"end_factor must be in \[0, 1\]"),
    (lambda: LinearLR(0.1, total_iters=0), r"total_iters must be an int >= 1"),
    (lambda: OneCycleLR(-1.0, 100), r"max_lr must be in \[0, inf\)"),
    (lambda: OneCycleLR(0.1, 0), r"total_steps must be an int >= 1"),
    (lambda: OneCycleLR(0.1, 100, pct_start=1.2), r"pct_start must be in \[0, 1\]"),
    (
        lambda: OneCycleLR(0.1, 100, pct_start=0.6, three_phase=True),
        r"pct_start \(with three_phase=True\) must be in \[0, 0.5\]",
    ),
    (lambda: OneCycleLR(0.1, 10, pct_start=0.1), r"pct_start=0.1 with total_steps=10 .*zero"),
    (lambda: OneCycleLR(0.1, 100, pct_start=1.0), r"pct_start=1.0 with total_steps=100 .*zero"),
    (lambda: OneCycleLR(0.1, 100, anneal_strategy="cosine"), r"anneal_strategy must be 'cos'"),
    (lambda: OneCycleLR(0.1, 100, max_momentum=1.0), r"max_momentum must be in \[0, 1\)"),
    (lambda: OneCycleLR(0.1, 100, base_momentum=0.99), r"base_momentum must be in \[0, 0.95\]"),
    (lambda: OneCycleLR(0.1, 100, div_factor=0), r"div_factor must be in \(0, inf\)"),
    (lambda: OneCycleLR(0.1, 100, final_div_factor=-1), r"final_div_factor must be in \(0, inf"),
    (lambda: OneCycleLR(0.1, 100, three_phase="yes"), r"three_phase must be True or False"),
    (lambda: OneCycleLR(0.1, 100, cycle_momentum=1), r"cycle_momentum must be True or False"),
    (lambda: InverseTimeDecay(0.1, 0, 0.5), r"decay_steps must be in \(0, inf\)"),
    (lambda: InverseTimeDecay(0.1, 10, -0.5), r"decay_rate must be in \[0, inf\)"),
    (lambda: InverseTimeDecay(0.1, 10, 0.5, staircase=None), r"staircase must be True or"),
    (lambda: SequentialLR([], []), r"schedules must be a non-empty list"),
    (lambda: SequentialLR([StepLR(0.1, 2)], [3]), r"milestones must be of length"),
    (
        lambda: SequentialLR([StepLR(0.1, 2), ReduceLROnPlateau(0.1)], [3]),
        r"schedules\[1\] must be a Schedule",
    ),
    (
        lambda: SequentialLR([StepLR(0.1, 2), StepLR(0.1, 2)], [-1]),
        r"milestones\[0\] must be an int >= 0",
    ),
    (lambda: warmup(StepLR(0.1, 2), 0), r"warmup_steps must be an int >= 1"),
    (lambda: warmup(StepLR(0.1, 2), 5, start_factor=0), r"start_factor must be in \(0, 1\]"),
    (lambda: warmup(OneCycleLR(0.1, 20), 5), r"schedule must be a Schedule with a base"),
    (lambda: ReduceLROnPlateau(-0.1), r"lr must be in \[0, inf\)"),
    (lambda: ReduceLROnPlateau(0.1, mode="mean"), r"mode must be 'min' or 'max'"),
    (lambda: ReduceLROnPlateau(0.1, factor=1.0), r"factor must be in \(0, 1\)"),
    (lambda: ReduceLROnPlateau(0.1, factor=0.0), r"factor must be in \(0, 1\)"),
    (lambda: ReduceLROnPlateau(0.1, patience=-1), r"patience must be an int >= 0"),
    (lambda: ReduceLROnPlateau(0.1, patience=1.5), r"patience must be an int >= 0"),
    (lambda: ReduceLROnPlateau(0.1, threshold=-1e-4), r"threshold must be in \[0, 1\)"),
    (lambda: ReduceLROnPlateau(0.1, threshold=1.0), r"threshold must be in \[0, 1\)"),
    (
        lambda: ReduceLROnPlateau(0.1, threshold=-1, threshold_mode="abs"),
        r"threshold must be in \[0, inf\)",
    ),
    (lambda: ReduceLROnPlateau(0.1, threshold_mode="relative"), r"threshold_mode must be 'rel'"),
    (lambda: ReduceLROnPlateau(0.1, cooldown=-1), r"cooldown must be an int >= 0"),
    (lambda: ReduceLROnPlateau(0.1, min_lr=-1e-3), r"min_lr must be in \[0, inf\)"),
    (lambda: ReduceLROnPlateau(0.1, eps=-1.0), r"eps must be in \[0, inf\)"),
    (lambda: StepLR(0.1, 3)(-1), r"t must be >= 0, got -1"),
    (lambda: CosineAnnealingLR(0.1, 3)(np.array([0, 4, -2])), r"t must be >= 0, got -2"),
    (lambda: ExponentialLR(0.1, 0.9)(1.5), r"t must be an int >= 0"),
    (lambda: LinearLR(0.1)(np.array([0.0, 1.0])), r"t must be an int >= 0"),
    (lambda: OneCycleLR(0.1, 10)(True), r"t must be an int >= 0"),
    (lambda: OneCycleLR(0.1, 10).momentum(-3), r"t must be >= 0"),
]


@pytest.mark.parametrize("make, message", BAD, ids=[m.split(" must")[0] for _, m in BAD])
def test_bad_input_raises_value_error_naming_it(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --------------------------------------------------------------------------------------------
# CosineAnnealingWarmRestarts and LambdaLR: against their formulas (PyTorch's documentation)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("T_0, T_mult", [(1, 1), (5, 1), (4, 2), (3, 3)])
def test_warm_restarts_follow_the_cosine_within_each_cycle(T_0, T_mult):
    lr, eta_min = 0.2, 0.01
    sched = S.CosineAnnealingWarmRestarts(lr, T_0=T_0, T_mult=T_mult, eta_min=eta_min)
    start, length, expected = 0, T_0, []
    while len(expected) < 120:  # cycles of T_0, T_0 T_mult, T_0 T_mult^2, ... steps
        for cur in range(length):
            expected.append(eta_min + (lr - eta_min) * (1 + math.cos(math.pi * cur / length)) / 2)
        start, length = start + length, length * T_mult
    values = sched(np.arange(120))
    np.testing.assert_allclose(values, expected[:120], rtol=1e-15, atol=1e-17)
    assert sched(0) == lr  # a restart: back to lr
    assert values.max() <= lr and values.min() >= eta_min


def test_warm_restarts_cycle_positions():
    sched = S.CosineAnnealingWarmRestarts(1.0, T_0=2, T_mult=2)
    t_cur, t_i = sched.cycle(np.arange(8))  # cycles: [0, 2), [2, 6), [6, 14)
    assert t_cur.tolist() == [0, 1, 0, 1, 2, 3, 0, 1]
    assert t_i.tolist() == [2, 2, 4, 4, 4, 4, 8, 8]
    assert sched(6) == 1.0 and sched(4) == pytest.approx(0.5)


def test_lambda_lr_multiplies_lr_by_the_factor():
    sched = S.LambdaLR(0.3, lambda t: 1 / math.sqrt(1 + t))
    t = np.arange(50)
    np.testing.assert_allclose(sched(t), 0.3 / np.sqrt(1 + t), rtol=1e-15)
    inverse_time = S.LambdaLR(0.1, lambda t: 1 / (1 + 0.5 * t / 10))
    np.testing.assert_allclose(inverse_time(t), InverseTimeDecay(0.1, 10, 0.5)(t), rtol=1e-15)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: S.CosineAnnealingWarmRestarts(0.1, 0), r"T_0 must be an int >= 1"),
        (lambda: S.CosineAnnealingWarmRestarts(0.1, 5, T_mult=0), r"T_mult must be an int >= 1"),
        (lambda: S.CosineAnnealingWarmRestarts(0.1, 5, T_mult=1.5), r"T_mult must be an int"),
        (lambda: S.CosineAnnealingWarmRestarts(0.1, 5, eta_min=0.2), r"eta_min must be in"),
        (lambda: S.LambdaLR(0.1, 0.5), r"lr_lambda must be a function"),
        (lambda: S.LambdaLR(0.1, lambda t: -1.0)(3), r"lr_lambda\(3\) must be in \[0, inf\)"),
        (lambda: S.LambdaLR(0.1, lambda t: float("nan"))(0), r"lr_lambda\(0\) must be in"),
    ],
)
def test_new_schedules_reject_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()
