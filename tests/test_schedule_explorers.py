"""The schedule explorers (ScheduleDesigner, PlateauExplorer): what they plot is the schedule
of course_lib.schedules and the runs of course_lib.train that their controls describe."""

import math

import numpy as np
import pytest

from course_lib import schedules as S
from course_lib.landscapes import NoisyQuadratic
from course_lib.optim import SGD, Adam
from course_lib.schedules import ReduceLROnPlateau
from course_lib.train import run_on_plateau, run_replicas
from course_lib.widgets import PlateauExplorer, ScheduleDesigner
from course_lib.widgets.schedules import SCHEDULES, START, schedule_factors


@pytest.fixture(scope="module")
def designer():
    return ScheduleDesigner(seeds=3)


@pytest.fixture(scope="module")
def plateau():
    return PlateauExplorer(epochs=20)


def test_factors_are_the_library_schedules():
    t = np.arange(300)
    np.testing.assert_allclose(
        schedule_factors("cosine over T", 300, 200), S.CosineAnnealingLR(1.0, 200)(t)
    )
    np.testing.assert_allclose(
        schedule_factors("exponential: to 1% at T", 300, 200)[200], 0.01, rtol=1e-12
    )
    warm = schedule_factors("1/t: 1/(1 + 20 t/T)", 300, 200, warmup=50)
    np.testing.assert_allclose(warm[:50], 0.01 + 0.99 * np.arange(50) / 50, rtol=1e-12)
    np.testing.assert_allclose(warm[50 + 10], 1 / (1 + 20 * 10 / 200), rtol=1e-12)
    cycle = schedule_factors("one-cycle over T", 300, 200, warmup=50)  # its own warmup
    assert cycle[0] == pytest.approx(1 / 25) and np.all(cycle[199:] == cycle[199])
    assert np.all(schedule_factors("none", 10, 5) == 1.0)


def test_designer_plots_the_rates_and_the_runs_they_give(designer):
    designer.update(
        first="1/√t: 1/√(1 + 20 t/T)",
        second="none",
        third="SGDR: restarts every T/4",
        length=200,
        warmup=0,
        sgd_lr=0.1,
        adam_lr=0.05,
        steps=150,
    )
    t = np.arange(150)
    rates = designer.rate_lines[1].get_ydata()
    np.testing.assert_allclose(rates, 1 / np.sqrt(1 + 20 * t / 200))
    assert not designer.rate_lines[2].get_visible() and designer.rate_lines[3].get_visible()
    factors = schedule_factors("SGDR: restarts every T/4", 1000, 200)
    bowl = NoisyQuadratic.bowl(condition_number=5, noise=1.0)
    for name, opt in (("SGD", SGD(lr=0.1)), ("Adam", Adam(lr=0.05))):
        peak = 0.1 if name == "SGD" else 0.05
        losses, _ = run_replicas(
            opt, bowl, START, 150, 3, schedule=(peak * factors).__getitem__, rng=0
        )
        smooth = np.convolve(np.median(losses, axis=0), np.ones(10) / 10, mode="valid")
        np.testing.assert_allclose(
            designer.losses[name, "SGDR: restarts every T/4"], smooth, rtol=1e-12
        )
    assert "SGD" in designer.info.value and "SGDR" in designer.alt_text()


def test_designer_decay_goes_below_the_constant_rate(designer):
    designer.update(
        first="cosine over T",
        second="step: halve every T/8",
        third="none",
        length=400,
        warmup=0,
        sgd_lr=0.1,
        steps=400,
    )
    constant = designer._final("SGD", "constant")
    assert designer._final("SGD", "cosine over T") < constant / 5
    assert designer._final("SGD", "step: halve every T/8") < constant / 5


def test_designer_shorter_runs_are_slices_of_cached_longer_ones(designer):
    designer.update(first="cosine over T", steps=400)
    long = designer.losses["SGD", "cosine over T"].copy()
    designer.update(steps=200)
    np.testing.assert_array_equal(designer.losses["SGD", "cosine over T"], long[: 201 - 9])


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_designer_every_schedule_and_extreme_control_gives_a_finite_picture(designer, name):
    for values in (
        {"length": 20, "warmup": 200, "steps": 50, "sgd_lr": 1.0, "adam_lr": 1.0},
        {"length": 1000, "warmup": 0, "steps": 300, "sgd_lr": 1e-3, "adam_lr": 1e-3},
    ):
        designer.update(first=name, **values)
        png = designer.png()
        assert png.startswith(b"\x89PNG") and len(png) > 1000
        lo, hi = designer.ax_sgd.get_ylim()
        assert 0 < lo < hi and math.isfinite(hi)
    designer.update(sgd_lr=0.1, adam_lr=0.05)


def test_designer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="seeds must be an int >= 1"):
        ScheduleDesigner(seeds=0)
    with pytest.raises(ValueError, match="unknown control"):
        ScheduleDesigner(seeds=1, gamma=0.5)


def test_plateau_explorer_shows_the_run_of_its_controls(plateau):
    plateau.update(
        factor=0.3,
        patience=2,
        threshold=0.05,
        threshold_mode="rel",
        cooldown=1,
        mode="min",
        noise=1.0,
        lr=0.1,
    )
    reference = ReduceLROnPlateau(0.1, factor=0.3, patience=2, threshold=0.05, cooldown=1)
    bowl = NoisyQuadratic.bowl(condition_number=5, noise=1.0)
    expected = run_on_plateau(SGD(lr=0.1), bowl, START, reference, 20, 20, rng=0)
    np.testing.assert_allclose(plateau.result.val_losses, expected.val_losses, rtol=1e-12)
    assert plateau.result.reductions == expected.reductions and expected.reductions
    x, y = plateau.drop_markers.get_data()
    assert list(x) == list(expected.reductions)
    np.testing.assert_allclose(y, expected.val_losses[list(expected.reductions)])
    assert np.all(plateau.constant.lrs == 0.1)
    assert f"{len(expected.reductions)} reductions" in plateau.info.value


def test_plateau_mode_max_on_a_loss_reduces_while_it_improves(plateau):
    plateau.update(mode="max", patience=0, cooldown=0, threshold=1e-4)
    # a falling loss is never an improvement in mode 'max': the rate drops nearly every epoch
    assert len(plateau.result.reductions) >= 12
    plateau.update(mode="min")


@pytest.mark.parametrize(
    "control, values",
    [
        ("factor", [0.05, 0.95]),
        ("patience", [0, 20]),
        ("threshold", [1e-4, 0.9]),
        ("threshold_mode", ["abs", "rel"]),
        ("cooldown", [0, 10]),
        ("mode", ["max", "min"]),
        ("noise", [0.1, 3.0]),
        ("lr", [1e-3, 0.5]),
    ],
)
def test_plateau_every_control_gives_a_finite_picture(plateau, control, values):
    for value in values:
        plateau.update(**{control: value})
        assert plateau.png().startswith(b"\x89PNG")
        lo, hi = plateau.ax_val.get_ylim()
        assert 0 < lo < hi and math.isfinite(hi)
        if not isinstance(value, str):
            assert plateau.value(control) == pytest.approx(value, rel=0.07)
        else:
            assert plateau.value(control) == value
        assert "reductions" in plateau.alt_text()
