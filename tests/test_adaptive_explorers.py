"""The adaptive-methods explorers (OptimizerRace, EffectiveLRExplorer): their runs are
train.run of the optimizers the controls describe, and the rates they plot are effective_lr's."""

import numpy as np
import pytest

from course_lib.optim import SGD, Adagrad, Adam, AdamNoBiasCorrection, RMSprop
from course_lib.train import effective_lrs, run
from course_lib.widgets import EffectiveLRExplorer, OptimizerRace
from course_lib.widgets.adaptive import METHODS, RACE_LANDSCAPES, scaled_bowl


@pytest.fixture(scope="module")
def race():
    return OptimizerRace()


def test_race_runs_each_method_with_its_own_learning_rate(race):
    race.update(landscape="badly scaled bowl", lr_momentum=0.02, lr_adam=0.1, steps=80)
    race.update(x0=-1.8, y0=1.2)
    expected = {"momentum": SGD(lr=0.02, momentum=0.9), "Adam": Adam(lr=0.1)}
    for label, opt in expected.items():
        traj = run(opt, scaled_bowl(), x0=[-1.8, 1.2], steps=80)
        np.testing.assert_allclose(race.results[label].path, traj.path, atol=1e-12)
    assert race.labels == ["momentum", "Adagrad", "RMSProp", "Adam"]


def test_race_moving_one_learning_rate_reruns_only_that_method(race):
    race.update(landscape="badly scaled bowl", steps=50, x0=-1.8, y0=1.2)
    before = {label: race.results[label].path.copy() for label in race.labels}
    race.update(lr_rmsprop=0.2)
    changed = [
        label
        for label in race.labels
        if not np.array_equal(before[label], race.results[label].path)
    ]
    assert changed == ["RMSProp"]


def test_race_divergence_is_shown_not_raised(race):
    race.update(landscape="badly scaled bowl", lr_momentum=1.0, steps=100)
    assert race.results["momentum"].diverged
    assert "diverged" in race.status.get_text() and "momentum" in race.status.get_text()
    race.update(lr_momentum=0.01)


def test_race_choosing_a_landscape_resets_only_the_gradient_descent_family():
    race = OptimizerRace(methods=["SGD", "Nesterov", "Adam"])
    race.update(lr_adam=0.2, lr_sgd=0.5)
    race.update(landscape="Rosenbrock")
    assert race.value("lr_sgd") == pytest.approx(0.002, rel=0.07)  # a log slider's grid
    assert race.value("lr_nesterov") == pytest.approx(0.001, rel=0.07)
    assert race.value("lr_adam") == pytest.approx(0.2, rel=0.07)
    assert (race.value("x0"), race.value("y0")) == pytest.approx(
        RACE_LANDSCAPES["Rosenbrock"].start, abs=0.02
    )


@pytest.mark.parametrize("landscape", ["badly scaled bowl", "Rosenbrock", "Beale"])
def test_race_default_learning_rates_do_not_diverge(landscape):
    preset = RACE_LANDSCAPES[landscape]
    for method, (build, lr, _) in METHODS.items():
        lr = OptimizerRace._default_lr(method, landscape, lr)
        traj = run(build(lr), preset.make(), x0=preset.start, steps=300)
        assert not traj.diverged and traj.losses[-1] < traj.losses[0], (method, lr)


def test_race_refuses_unknown_or_too_many_methods():
    with pytest.raises(ValueError, match="methods must be names of"):
        OptimizerRace(methods=["Adam", "Nadam"])
    with pytest.raises(ValueError, match="1 to 7 distinct names"):
        OptimizerRace(methods=list(METHODS))
    with pytest.raises(ValueError, match="1 to 7 distinct names"):
        OptimizerRace(methods=["Adam", "Adam"])
    with pytest.raises(ValueError, match="landscape must be one of"):
        OptimizerRace(landscape="Himmelblau")


def test_race_every_control_through_its_range_gives_a_valid_figure():
    from test_widgets import assert_change_redraws, assert_displays_itself, drive

    race = OptimizerRace(methods=["SGD", "Adadelta"], steps=60)
    assert_displays_itself(race)
    for name in race.controls:
        drive(race, name, n_between=1)
    race.update(landscape="badly scaled bowl", x0=-1.8, y0=1.2, steps=60)
    for name, value in [("lr_adadelta", 3.0), ("lr_sgd", 0.01), ("steps", 30)]:
        assert_change_redraws(race, name, value)


# -- EffectiveLRExplorer -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def elr():
    return EffectiveLRExplorer()


@pytest.mark.parametrize(
    "method, make",
    [
        ("Adagrad", lambda lr, decay: Adagrad(lr=lr)),
        ("RMSProp", lambda lr, decay: RMSprop(lr=lr, alpha=decay)),
        ("Adam", lambda lr, decay: Adam(lr=lr, betas=(0.9, decay))),
        (
            "Adam without bias correction",
            lambda lr, decay: AdamNoBiasCorrection(lr=lr, betas=(0.9, decay)),
        ),
    ],
)
def test_elr_plots_the_effective_rates_of_the_run(elr, method, make):
    elr.update(method=method, lr=0.05, decay=0.95, kappa=20.0, steps=60)
    opt = make(0.05, 0.95)
    traj = run(opt, scaled_bowl(20.0), x0=[-1.8, 1.2], steps=60, keep_states=True)
    np.testing.assert_allclose(elr.trajectory.path, traj.path, atol=1e-12)
    np.testing.assert_allclose(elr.rates, effective_lrs(opt, traj), rtol=1e-12)
    for i in range(2):
        np.testing.assert_allclose(elr.rate_lines[i].get_ydata(), elr.rates[:, i])
    assert elr.limit_lines[1].get_ydata()[0] == pytest.approx(2 / 20.0)
    assert elr.controls["decay"].disabled == (method == "Adagrad")


def test_elr_adagrad_rates_only_fall_rmsprop_gives_the_flat_coordinate_more(elr):
    elr.update(method="Adagrad", kappa=100.0, steps=200)
    assert np.all(np.diff(elr.rates, axis=0) <= 0)
    elr.update(method="RMSProp", lr=0.02, decay=0.99)
    assert np.all(elr.rates[:, 0] > 10 * elr.rates[:, 1])  # the flat x1 gets the larger rate


def test_elr_without_bias_correction_the_first_step_is_316_times_larger(elr):
    elr.update(method="Adam", lr=0.01, decay=0.999, steps=5)
    first = np.abs(elr.trajectory.path[1] - elr.trajectory.path[0])
    elr.update(method="Adam without bias correction", lr=0.01)
    first_raw = np.abs(elr.trajectory.path[1] - elr.trajectory.path[0])
    np.testing.assert_allclose(first_raw / first, 0.1 / np.sqrt(0.001), rtol=1e-6)


def test_elr_choosing_a_method_sets_a_learning_rate_that_suits_it(elr):
    elr.update(method="RMSProp", lr=5.0)
    elr.update(method="Adadelta")
    assert elr.value("lr") == pytest.approx(1.0)


def test_elr_every_control_through_its_range_gives_a_valid_figure():
    from test_widgets import assert_change_redraws, assert_displays_itself, drive

    ex = EffectiveLRExplorer(steps=60)
    assert_displays_itself(ex)
    for name in ex.controls:
        drive(ex, name, n_between=1)
    ex.update(method="RMSProp", lr=0.02, decay=0.99, kappa=50.0, steps=100)
    for name, value in [("lr", 0.1), ("decay", 0.9), ("kappa", 200.0), ("method", "Adam")]:
        assert_change_redraws(ex, name, value)
    assert "bowl" in ex.image.tooltip and "2/λ" in ex.image.tooltip
    with pytest.raises(ValueError, match="unknown control"):
        EffectiveLRExplorer(alpha=0.9)
