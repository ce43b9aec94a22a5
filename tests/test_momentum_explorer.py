"""MomentumExplorer (momentum and Nesterov chapters): its runs are train.run of the
optimizers its controls describe, on the landscape chosen, and the rates it predicts are
course_lib.analysis's."""

import numpy as np
import pytest

from course_lib import analysis
from course_lib.landscapes import Bumpy, Quadratic, Rosenbrock
from course_lib.optim import SGD
from course_lib.train import run
from course_lib.widgets.momentum import ANGLE, MomentumExplorer


@pytest.fixture(scope="module")
def explorer():
    return MomentumExplorer()


def test_defaults_draw_the_three_runs_of_train_run(explorer):
    explorer.update(lr_scaled=1.0, beta=0.9, kappa=25.0, steps=100, x0=-1.6, y0=0.3)
    bowl = Quadratic.bowl(condition_number=25.0, angle=ANGLE)
    lr = 1.0 / bowl.eigenvalues[-1]
    expected = {
        "gradient descent": SGD(lr=lr),
        "momentum": SGD(lr=lr, momentum=0.9),
        "Nesterov": SGD(lr=lr, momentum=0.9, nesterov=True),
    }
    assert explorer.labels == list(expected)
    for label, opt in expected.items():
        traj = run(opt, bowl, x0=[-1.6, 0.3], steps=100)
        np.testing.assert_allclose(explorer.results[label].path, traj.path, atol=1e-12)
    for i in range(3):
        np.testing.assert_allclose(
            explorer.paths2[i].get_xydata(), explorer.results[explorer.labels[i]].path
        )


def test_between_the_two_stability_limits_only_gradient_descent_diverges(explorer):
    # lr * lambda_max = 3: above gradient descent's 2, below momentum's 2 + 2 * 0.9 = 3.8
    explorer.update(lr_scaled=3.0, beta=0.9, kappa=10.0, steps=300)
    assert explorer.results["gradient descent"].diverged
    assert not explorer.results["momentum"].diverged
    assert explorer.predicted["gradient descent"] == pytest.approx(2.0)
    assert explorer.predicted["momentum"] < 1
    assert "diverged" in explorer.status.get_text()


def test_predicted_rates_are_the_analysis_rates_and_appear_in_the_info_line(explorer):
    explorer.update(lr_scaled=0.7, beta=0.5, kappa=100.0)
    h = 0.7 / 100.0 * np.array([1.0, 100.0])
    assert explorer.predicted["gradient descent"] == pytest.approx(max(analysis.gd_rate(h)))
    assert explorer.predicted["momentum"] == pytest.approx(max(analysis.momentum_rate(h, 0.5)))
    assert f"{explorer.predicted['momentum']:.4f}" in explorer.info.value


def test_without_momentum_all_three_are_gradient_descent(explorer):
    explorer.update(lr_scaled=1.5, beta=0.0, kappa=30.0, steps=50)
    paths = [explorer.results[label].path for label in explorer.labels]
    np.testing.assert_allclose(paths[1], paths[0], atol=1e-12)
    np.testing.assert_allclose(paths[2], paths[0], atol=1e-12)
    assert explorer.predicted["momentum"] == pytest.approx(explorer.predicted["gradient descent"])


def test_initial_values_are_applied_and_unknown_controls_refused():
    ex = MomentumExplorer(kappa=100.0, beta=0.67, steps=40)
    assert (ex.value("kappa"), ex.value("beta"), ex.value("steps")) == (100.0, 0.67, 40)
    assert ex.results["momentum"].steps_taken == 40
    with pytest.raises(ValueError, match="unknown control"):
        MomentumExplorer(momentum=0.9)


def test_every_control_through_its_range_gives_a_valid_figure_and_rates():
    from test_widgets import assert_change_redraws, assert_displays_itself, drive

    ex = MomentumExplorer(steps=60)
    assert_displays_itself(ex)
    for name in ex.controls:
        drive(ex, name, n_between=1)
        assert set(ex.predicted) == {"gradient descent", "momentum", "Nesterov"}
        assert all(np.isfinite(rate) and rate >= 0 for rate in ex.predicted.values())
    ex.update(landscape="ravine", x0=-1.6, y0=0.3, lr_scaled=1.0, beta=0.9, kappa=25.0, steps=100)
    for name, value in [("lr_scaled", 2.5), ("beta", 0.5), ("kappa", 300.0)]:
        assert_change_redraws(ex, name, value)
    assert len(ex.image.tooltip) > 40 and "ravine" in ex.image.tooltip


def test_nesterov_rate_is_predicted_and_its_divergence_shown_where_momentum_converges(explorer):
    # lr * lambda_max = 1.5 with beta = 0.9: momentum's limit is 3.8, Nesterov's 3.8 / 2.8
    explorer.update(landscape="ravine", lr_scaled=1.5, beta=0.9, kappa=10.0, steps=200)
    h = 1.5 / 10.0 * np.array([1.0, 10.0])
    assert explorer.predicted["Nesterov"] == pytest.approx(max(analysis.nesterov_rate(h, 0.9)))
    assert explorer.predicted["Nesterov"] > 1 > explorer.predicted["momentum"]
    assert explorer.results["Nesterov"].diverged
    assert not explorer.results["momentum"].diverged
    assert "Nesterov" in explorer.status.get_text() and "diverged" in explorer.status.get_text()
    assert f"Nesterov {explorer.predicted['Nesterov']:.4f}" in explorer.info.value


@pytest.mark.parametrize(
    "label, f, start",
    [("Rosenbrock", Rosenbrock(), [-1.2, 1.0]), ("bumpy parabola (1-D)", Bumpy(), 3.5)],
)
def test_other_landscapes_scale_lr_by_the_curvature_at_the_minimum(label, f, start):
    ex = MomentumExplorer(landscape=label, lr_scaled=0.5, beta=0.8, steps=150)
    lambdas = np.linalg.eigvalsh(np.atleast_2d(f.hessian(f.minima[0])))
    lr = 0.5 / lambdas[-1]
    expected = SGD(lr=lr, momentum=0.8, nesterov=True)
    traj = run(expected, f, x0=start, steps=150)
    np.testing.assert_allclose(ex.results["Nesterov"].path, traj.path, atol=1e-12)
    h = lr * lambdas
    assert ex.predicted["momentum"] == pytest.approx(max(analysis.momentum_rate(h, 0.8)))
    assert "near the minimum" in ex.info.value and label.split()[0] in ex.image.tooltip
    assert ex.controls["kappa"].disabled  # the ravine's alone
    ex.update(landscape="ravine")
    assert not ex.controls["kappa"].disabled


@pytest.mark.parametrize("direction, k", [("steepest", -1), ("shallowest", 0)])
def test_eigen_panel_shows_each_runs_error_along_the_chosen_hessian_direction(direction, k):
    ex = MomentumExplorer(lr_scaled=0.8, beta=0.7, kappa=40.0, steps=80, direction=direction)
    bowl = Quadratic.bowl(condition_number=40.0, angle=ANGLE)
    vectors = np.linalg.eigh(bowl.A)[1]
    for line, label in zip(ex.eigen_lines, ex.labels):
        expected = np.abs((ex.results[label].path - bowl.minimizer) @ vectors[:, k])
        np.testing.assert_allclose(line.get_ydata(), np.maximum(expected, 1e-30), rtol=1e-9)
    assert direction in ex.ax_eigen.get_ylabel()
    assert direction in ex.image.tooltip


def test_eigen_panel_of_the_shallow_direction_decays_at_the_predicted_rate():
    # lr * lambda_max = 1 on kappa = 25: the shallow direction has h = 0.04, and for beta = 0.5
    # its (real, dominant) root is the momentum rate there; the panel's slope follows it
    ex = MomentumExplorer(lr_scaled=1.0, beta=0.5, kappa=25.0, steps=200, direction="shallowest")
    y = ex.eigen_lines[1].get_ydata()  # momentum
    measured = (y[200] / y[150]) ** (1 / 50)
    assert measured == pytest.approx(analysis.momentum_rate(0.04, 0.5), rel=1e-3)


def _pixels(explorer):
    canvas = explorer.figure.canvas
    width, height = canvas.get_width_height()
    return np.asarray(canvas.buffer_rgba()).reshape(height, width, 4).copy()


def test_a_new_ravine_drawn_over_the_cached_axes_is_the_figure_drawn_whole():
    # a kappa change draws the contour lines and title over the landscape panel's cached
    # frame (axes, ticks, labels); the figure must be exactly the one drawn from scratch
    layered = MomentumExplorer()
    for values in (
        {"kappa": 3.0},
        {"kappa": 400.0},
        {"landscape": "bumpy parabola (1-D)"},
        {"landscape": "ravine", "kappa": 57.0, "x0": -1.2},
    ):
        layered.update(**values)
        whole = MomentumExplorer()  # the same layout (made for the initial values)
        whole._panel_layers = lambda i: None  # every panel drawn in one piece
        whole.update(**{k: c.value for k, c in layered.controls.items()})
        np.testing.assert_array_equal(_pixels(layered), _pixels(whole))
    assert len(layered._frames[0]) == 2  # the 2-D frame reused for the ravines, and the 1-D
