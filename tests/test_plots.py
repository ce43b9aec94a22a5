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
from course_lib.plots import (
    contour_levels,
    mark_minima,
    plot_1d,
    plot_contours,
    plot_loss_curve,
    plot_path,
    plot_rate_map,
    plot_surface,
)
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


@pytest.mark.parametrize(
    "f",
    [
        landscapes.Quadratic.bowl(20.0),
        landscapes.Rosenbrock(),
        landscapes.Himmelblau(),
        landscapes.Saddle(),
        landscapes.Beale(),
    ],
    ids=lambda f: f.name,
)
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
    contours = plot_contours(
        ax, f, bounds=((0, 4), (0, 3)), levels=[1, 10, 100], filled=True, minima=False
    )
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


# The book's figure style: a colour-blind-safe palette, and curves that differ in more than colour.

OKABE_ITO = {
    "#000000",
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
}  # Okabe & Ito (2008), https://jfly.uni-koeln.de/color/


def test_use_style_sets_the_okabe_ito_colour_cycle_and_readable_text():
    from matplotlib import colors, rc_context, rcParams

    from course_lib.plots import PALETTE, use_style

    assert {c.upper() for c in PALETTE} <= OKABE_ITO and len(set(PALETTE)) == len(PALETTE) >= 6
    with rc_context():
        use_style()
        cycle = [colors.to_hex(c["color"]).upper() for c in rcParams["axes.prop_cycle"]]
        assert cycle == [c.upper() for c in PALETTE]
        ax = fresh_axes()
        lines = [ax.plot([0, 1], [k, k + 1])[0] for k in range(3)]
        assert [colors.to_hex(line.get_color()).upper() for line in lines] == cycle[:3]
        for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize", "axes.labelsize"):
            size = rcParams[key]
            assert isinstance(size, (int, float)) and size >= 9, key


def styles_of(lines):
    return [(line.get_color(), str(line.get_linestyle()), line.get_marker()) for line in lines]


def test_line_styles_differ_in_colour_line_style_and_marker():
    from course_lib.plots import line_styles

    styles = line_styles(6)
    for key in ("color", "linestyle", "marker"):
        values = [str(s[key]) for s in styles]
        assert len(set(values)) == 6, key
    assert {s["color"].upper() for s in styles} <= OKABE_ITO
    assert next(iter(line_styles())) == styles[0]
    assert line_styles(8)[6] == styles[0]  # the seventh repeats the first
    with pytest.raises(ValueError, match="n must be"):
        line_styles(-1)


def test_loss_curves_on_one_axes_differ_in_style_and_marker_as_well_as_colour():
    ax = fresh_axes()
    losses = np.geomspace(1.0, 1e-3, 200)
    lines = [plot_loss_curve(ax, losses * (k + 1), label=f"run {k}") for k in range(3)]
    ax.plot([0, 1], [1, 1])  # a plain line in between does not shift the curves' styles
    lines.append(plot_loss_curve(ax, losses * 5, label="run 3"))
    colours, dashes, markers = zip(*styles_of(lines))
    assert len(set(colours)) == len(set(dashes)) == len(set(markers)) == 4
    assert all(line.get_markevery() is not None for line in lines)  # 200 points: sparse markers
    short = plot_loss_curve(fresh_axes(), [3.0, 2.0, 1.0])
    assert short.get_markevery() is None  # a short curve marks every point
    render(ax)


def test_a_callers_colour_or_style_wins_and_paths_differ_in_colour_and_marker():
    ax = fresh_axes()
    red = plot_loss_curve(ax, [3.0, 2.0], color="red", ls=":")
    assert red.get_color() == "red" and red.get_linestyle() == ":"
    ax = fresh_axes()
    paths = [plot_path(ax, np.array([[0.0, k], [1.0, k]])) for k in range(3)]
    colours, dashes, markers = zip(*styles_of(paths))
    assert len(set(colours)) == len(set(markers)) == 3 and set(dashes) == {"-"}
    assert plot_path(ax, [[0, 0], [1, 1]], color="k", marker="").get_marker() in ("", "None")


def test_plot_path_accepts_matplotlib_short_aliases():
    """``ls``/``c`` are the usual Matplotlib shorthands: they override the book style."""
    ax = Figure().add_subplot()
    line = plot_path(ax, np.array([[0.0, 0.0], [1.0, 1.0]]), ls="--", c="black")
    assert line.get_linestyle() == "--" and line.get_color() == "black"


@pytest.mark.parametrize("method", ["momentum", "nesterov"])
def test_rate_map_draws_the_stability_edge_and_hatches_the_unstable_region(method):
    from course_lib import analysis

    ax = Figure().subplots()
    filled = plot_rate_map(ax, method, h_max=4.0, beta_max=0.9, n=(80, 40))
    assert filled.levels[0] == 0 and filled.levels[-1] == 1
    edge = next(line for line in ax.get_lines() if line.get_label() == "stability edge")
    betas = edge.get_ydata()
    expected = [analysis.stability_limit(method, b) for b in betas]
    np.testing.assert_allclose(edge.get_xdata(), expected)
    hatched = [c for c in ax.collections if "//" in (getattr(c, "hatches", None) or [])]
    assert hatched, "the unstable region is hatched"
    assert ax.get_xlim() == (0, 4.0) and ax.get_ylim() == (0, 0.9)


def test_rate_map_rejects_an_unknown_method_and_bad_ranges():
    ax = Figure().subplots()
    with pytest.raises(ValueError, match="method must be one of"):
        plot_rate_map(ax, "gd")
    with pytest.raises(ValueError, match="beta_max must be in"):
        plot_rate_map(ax, "nesterov", beta_max=1.0)
