"""Tests for course_lib.plots: each function draws on a fresh Axes, returns its artist, and
handles the awkward cases (log axes with zeros, diverged paths, saddles) without warnings."""

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.collections import Collection
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure

from course_lib import landscapes
from course_lib.optim import SGD
from course_lib.plots import (contour_levels, mark_minima, plot_1d, plot_contours,
                              plot_loss_curve, plot_path, plot_surface)
from course_lib.train import run


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def fresh_axes(**kwargs):
    return Figure().add_subplot(**kwargs)


def render(ax):
    ax.figure.canvas.draw()  # Figure() comes with an Agg canvas


@pytest.mark.parametrize("f", [landscapes.Quadratic.bowl(20.0), landscapes.Rosenbrock(),
                               landscapes.Himmelblau(), landscapes.Saddle(), landscapes.Beale()],
                         ids=lambda f: f.name)
@pytest.mark.parametrize("log", [True, False])
def test_plot_contours_draws_levels_inside_the_landscape_window(f, log):
    ax = fresh_axes()
    contours = plot_contours(ax, f, n=60, levels=12, log=log)
    assert isinstance(contours, ContourSet)
    levels = contours.levels
    assert len(levels) == 12 and np.all(np.diff(levels) > 0)
    _, _, Z = f.grid(60)
    assert Z.min() <= levels[0] and levels[-1] <= Z.max()
    assert ax.get_xlim() == tuple(f.bounds[0]) and ax.get_ylim() == tuple(f.bounds[1])
    assert ax.get_xlabel() and ax.get_ylabel()
    stars = [line for line in ax.get_lines() if line.get_marker() == "*"]
    assert len(stars) == 1 and len(stars[0].get_xdata()) == len(f.minima)
    render(ax)


def test_contour_levels_are_geometric_above_the_minimum():
    Z = np.linspace(0.0, 1000.0, 10_001)
    levels = contour_levels(Z, n=4)
    ratios = levels[1:] / levels[:-1]
    np.testing.assert_allclose(ratios, ratios[0])  # minimum 0: geometric levels
    assert levels[-1] == pytest.approx(1000.0)
    even = contour_levels(Z, n=4, log=False)
    np.testing.assert_allclose(even, [200, 400, 600, 800])
    assert contour_levels(np.full((3, 3), 2.0), n=5).tolist() == [2.0]  # a flat landscape
    assert len(contour_levels(np.array([np.nan, 1.0, np.inf, 3.0]), n=3)) == 3
    with pytest.raises(ValueError, match="n must be"):
        contour_levels(Z, n=0)


def test_plot_contours_accepts_explicit_levels_filled_and_bounds():
    f = landscapes.Himmelblau()
    ax = fresh_axes()
    contours = plot_contours(ax, f, bounds=((0, 4), (0, 3)), levels=[1, 10, 100], filled=True,
                             minima=False)
    assert contours.filled and list(contours.levels) == [1, 10, 100]
    assert ax.get_xlim() == (0, 4) and ax.get_ylim() == (0, 3)
    assert not [line for line in ax.get_lines() if line.get_marker() == "*"]
    with pytest.raises(ValueError, match="landscape must be a 2-D landscape"):
        plot_contours(ax, landscapes.Parabola())


def test_plot_path_draws_the_iterates_and_keeps_the_window_when_a_run_diverges():
    f = landscapes.Quadratic.bowl(10.0)
    ax = fresh_axes()
    plot_contours(ax, f, n=40)
    traj = run(SGD(lr=0.5), f, [1.0, 1.0], 30)  # lr > 2 / lambda_max: diverges
    assert traj.diverged
    path_line = plot_path(ax, traj.path, label="lr = 0.5")
    np.testing.assert_array_equal(path_line.get_xydata(), traj.path)
    assert path_line.get_label() == "lr = 0.5"
    assert ax.get_xlim() == (-2.0, 2.0)  # the huge iterates are clipped, not zoomed out to
    squares = [line for line in ax.get_lines() if line.get_marker() == "s"]
    assert len(squares) == 1 and tuple(squares[0].get_xydata()[0]) == (1.0, 1.0)
    render(ax)


def test_plot_loss_curve_drops_nonpositive_values_on_a_log_axis():
    ax = fresh_axes()
    line = plot_loss_curve(ax, [4.0, 1.0, 0.0, -1.0, np.inf], min_value=0.0, label="GD")
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step"
    assert ax.get_ylabel() == "loss − f*"
    y = line.get_ydata()
    assert y[:2].tolist() == [4.0, 1.0] and np.isnan(y[2]) and np.isnan(y[3])
    render(ax)
    ax = fresh_axes()
    line = plot_loss_curve(ax, [3.0, -2.0], steps=[0.5, 1.5], log=False, xlabel="epoch")
    assert ax.get_yscale() == "linear" and ax.get_xlabel() == "epoch"
    assert line.get_xdata().tolist() == [0.5, 1.5] and line.get_ydata().tolist() == [3.0, -2.0]
    with pytest.raises(ValueError, match="steps must be of length"):
        plot_loss_curve(ax, [1.0, 2.0], steps=[1.0])


def test_plot_1d_draws_the_graph_and_the_iterates_on_it():
    f = landscapes.XCos()
    traj = run(SGD(lr=2.0), f, 10.0, 10)
    ax = fresh_axes()
    curve = plot_1d(ax, f, path=traj.path)
    x, y = curve.get_data()
    np.testing.assert_allclose(y, f.value(x))
    assert (x[0], x[-1]) == pytest.approx(f.bounds)
    iterates = ax.get_lines()[1]
    np.testing.assert_allclose(iterates.get_ydata(), f.value(traj.path))
    render(ax)
    with pytest.raises(ValueError, match="landscape must be a 1-D landscape"):
        plot_1d(ax, landscapes.Rosenbrock())


def test_mark_minima_and_plot_surface():
    f = landscapes.Himmelblau()
    ax = fresh_axes()
    line = mark_minima(ax, f, color="red")
    assert len(line.get_xdata()) == 4 and line.get_color() == "red"
    assert len(mark_minima(ax, landscapes.Saddle()).get_xdata()) == 0  # no minimum
    ax3 = fresh_axes(projection="3d")
    surface = plot_surface(ax3, f, n=20)
    assert isinstance(surface, Collection) and ax3.get_zlabel() == "$f(x)$"
    render(ax3)
    with pytest.raises(ValueError, match="ax must be a 3-D Axes"):
        plot_surface(ax, f)


def test_mark_minima_adds_no_legend_entry_without_minima():
    from matplotlib.figure import Figure

    from course_lib import landscapes, plots

    ax = Figure().subplots()
    plots.mark_minima(ax, landscapes.Saddle())
    plots.mark_minima(ax, landscapes.Himmelblau())
    labels = [t.get_text() for t in ax.legend().get_texts()]
    assert labels == ["minimum"]
