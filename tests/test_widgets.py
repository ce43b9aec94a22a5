"""Tests for course_lib.widgets: every control of every explorer, driven headless.

For each explorer: every control through its range (min, max, values between, every option)
without an exception or a warning; moving a control from the defaults changes the artists'
data and the PNG bytes; the PNG is a valid image of the figure's size; the object displays
itself as the widget.
"""

import io
import warnings

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets
import numpy as np
import pytest
from matplotlib.lines import Line2D
from matplotlib.text import Text
from PIL import Image

from course_lib import landscapes
from course_lib.models import linear_regression_loss
from course_lib.search import local_random_search
from course_lib.widgets import (
    FiniteDifferenceExplorer,
    GradientDescentExplorer,
    MinibatchExplorer,
    RandomSearchExplorer,
)
from course_lib.widgets.finite_difference import FUNCTIONS, H_GRID, difference_errors
from course_lib.widgets.limits import linear_limits, log_limits, nice_ceil, symlog_limits
from course_lib.widgets.minibatch import START, regression_problem
from course_lib.widgets.png import png_bytes
from course_lib.widgets.random_search import eigenvalues

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- helpers ---------------------------------------------------------------------------------
def decode(png):
    """The image in PNG bytes, as an (height, width, channels) array (fails if invalid)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return np.asarray(image)


def check_image(explorer):
    """The widget shows a valid PNG of the whole figure; returns its bytes."""
    png = explorer.image.value
    width, height = explorer.figure.canvas.get_width_height()
    assert decode(png).shape[:2] == (height, width)
    return png


def snapshot(explorer):
    """The data of every visible line and text of the figure (what a control changes)."""
    state = []
    for ax in explorer.figure.axes:
        if not ax.get_visible():
            continue
        state.append((ax.get_xlim(), ax.get_ylim()))
        for artist in ax.get_children():
            if isinstance(artist, Line2D) and artist.get_visible():
                state.append(np.asarray(artist.get_xydata(), dtype=float).round(12).tobytes())
            elif isinstance(artist, Text) and artist.get_visible():
                state.append(artist.get_text())
    return state


def slider_values(control, n_between=3):
    """min, max and a few values between, for a slider (log sliders: spaced in the exponent)."""
    low, high = control.min, control.max
    between = np.linspace(low, high, n_between + 2)[1:-1]
    if isinstance(control, widgets.FloatLogSlider):
        return [control.base**e for e in (low, high, *between)]
    if isinstance(control, widgets.IntSlider):
        return [int(round(v)) for v in (low, high, *between)]
    return [float(v) for v in (low, high, *between)]


def control_values(control, n_between=3):
    if hasattr(control, "options"):
        return [option[1] if isinstance(option, tuple) else option for option in control.options]
    return slider_values(control, n_between)


def drive(explorer, name, n_between=3):
    """Set control ``name`` to each of its values; every render must give a valid PNG."""
    for value in control_values(explorer.controls[name], n_between):
        explorer.update(**{name: value})
        check_image(explorer)


def assert_change_redraws(explorer, name, value):
    """Moving ``name`` to ``value`` changes the artists' data and the PNG bytes."""
    before, png = snapshot(explorer), check_image(explorer)
    explorer.controls[name].value = value  # as a reader moving the control would
    assert snapshot(explorer) != before, f"{name}={value!r} changed no artist"
    assert check_image(explorer) != png, f"{name}={value!r} did not change the image"


def assert_displays_itself(explorer):
    bundle = explorer._repr_mimebundle_()
    assert bundle[WIDGET_MIME]["model_id"] == explorer.box.model_id
    assert explorer.image in explorer.box.children
    assert all(
        control in explorer.box.children[0].children for control in explorer.controls.values()
    )


# -- the shared machinery ------------------------------------------------------------------------
def test_png_bytes_round_trips_the_pixels():
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    np.testing.assert_array_equal(decode(png_bytes(rgba)), rgba[:, :, :3])


def test_axis_limits_round_outwards_to_few_values():
    assert nice_ceil(100) == 100 and nice_ceil(101) == 120 and nice_ceil(7) == 8
    assert nice_ceil(1) == 1 and nice_ceil(0.0) > 0
    assert log_limits(3e-5, 20.0) == (1e-5, 100.0)
    assert log_limits(2.0, 3.0) == (1.0, 10.0)
    low, high = linear_limits(-1.19, 0.5)
    assert low <= -1.19 and high >= 0.5 and linear_limits(-1.18, 0.49) == (low, high)
    assert linear_limits(2.0, 2.0)[0] < 2.0 < linear_limits(2.0, 2.0)[1]
    assert symlog_limits(-3e5, 3.2) == (-1e6, 10.0)
    assert symlog_limits(0.5, 0.7) == (-1.0, 1.0)
    assert symlog_limits(-50.0, -20.0) == (-100.0, -10.0)


# -- gradient descent ------------------------------------------------------------------------
def shared(cls):
    """A module-wide explorer of class ``cls`` (building one takes a moment), reset to its
    default control values before each test that uses it."""
    built = {}

    @pytest.fixture
    def explorer():
        if "it" not in built:
            built["it"] = cls()
            built["defaults"] = {k: c.value for k, c in built["it"].controls.items()}
        built["it"].update(**built["defaults"])
        return built["it"]

    return explorer


gd = shared(GradientDescentExplorer)
rs = shared(RandomSearchExplorer)
fd = shared(FiniteDifferenceExplorer)
mb = shared(MinibatchExplorer)


def test_gd_builds_with_defaults_and_displays_itself(gd):
    assert list(gd.controls) == ["landscape", "lr", "steps", "x0", "y0"]
    assert gd.controls["landscape"].value == "ill-conditioned bowl"
    check_image(gd)
    assert_displays_itself(gd)
    assert "lr=" in repr(gd)


@pytest.mark.parametrize("name", ["lr", "steps", "x0", "y0"])
def test_gd_moving_a_control_redraws(gd, name):
    values = {"lr": 0.01, "steps": 37, "x0": 1.5, "y0": -1.0}
    assert_change_redraws(gd, name, values[name])


def test_gd_every_control_through_its_range_on_every_landscape(gd):
    for name in ("lr", "steps", "x0", "y0"):
        drive(gd, name)  # min, max and values between, on the default landscape
    for landscape in gd.controls["landscape"].options[::-1]:  # the default one last
        before = check_image(gd)
        gd.update(landscape=landscape)
        assert check_image(gd) != before
        for name in ("lr", "steps", "x0", "y0"):  # the extremes on every landscape
            drive(gd, name, n_between=0)
        gd.update(lr=10.0, steps=1000)  # the worst case: blows up at once
        check_image(gd)


def test_gd_contours_are_computed_once_per_landscape(gd):
    gd.update(landscape="Himmelblau")
    contours = gd._views["Himmelblau"][0]
    gd.update(landscape="Beale")
    assert not contours.get_visible()
    gd.update(landscape="Himmelblau")
    assert gd._views["Himmelblau"][0] is contours and contours.get_visible()


def test_explorers_draw_without_pyplot(gd):
    import matplotlib.pyplot as plt

    gd.update(lr=0.05)
    assert plt.get_fignums() == []  # nothing for a notebook's inline backend to show again


def test_gd_choosing_a_landscape_resets_lr_and_start_to_suit_it(gd):
    gd.update(landscape="Himmelblau", lr=0.001, x0=-4.0, y0=4.0)
    assert (gd.controls["lr"].value, gd.controls["x0"].value) == (0.001, -4.0)  # not reset
    assert (gd.controls["x0"].min, gd.controls["x0"].max) == (-5.0, 5.0)
    gd.update(landscape="Rosenbrock")
    assert gd.controls["lr"].value == pytest.approx(1e-3)
    assert (gd.controls["y0"].min, gd.controls["y0"].max) == (-1.0, 3.0)
    gd.update(landscape="parabola x² (1-D)")
    assert gd.controls["y0"].disabled and gd.ax1.get_visible() and not gd.ax2.get_visible()
    gd.update(landscape="ill-conditioned bowl")
    assert not gd.controls["y0"].disabled and gd.ax2.get_visible()


def test_gd_divergence_is_a_message_in_the_figure_not_an_error(gd):
    gd.update(landscape="ill-conditioned bowl", lr=0.2, steps=100)  # 2 / lambda_max = 0.1
    assert gd.status.get_text().startswith("diverged at step")
    assert "lr too large" in gd.status.get_text()
    assert np.all(np.isfinite(gd.loss_line.get_ydata()))
    gd.update(lr=0.05)
    assert gd.status.get_text().startswith("after 100 steps")
    gd.update(landscape="saddle", lr=1.0)
    assert "no minimum" in gd.status.get_text()


def test_gd_steps_only_slices_the_cached_run(gd):
    gd.update(landscape="Beale", lr=0.01, steps=50)
    path50 = gd.path2.get_xydata()
    gd.update(steps=100)
    assert len(gd.path2.get_xydata()) == 101
    np.testing.assert_array_equal(gd.path2.get_xydata()[:51], path50)


def test_gd_accepts_a_landscape_object_or_name_and_initial_values():
    gd = GradientDescentExplorer(landscapes.Quadratic.bowl(5.0, angle=0.5), steps=20)
    assert gd.controls["landscape"].value == "quadratic (yours)"
    assert gd.controls["steps"].value == 20
    assert gd.ax2.get_title().startswith("quadratic (yours): stable iff lr < 0.4")
    gd = GradientDescentExplorer("Rosenbrock", lr=5e-4, x0=-1.0)
    assert gd.controls["lr"].value == pytest.approx(5e-4) and gd.controls["x0"].value == -1.0
    gd = GradientDescentExplorer(landscapes.Cosh())  # 1-D
    assert gd.controls["y0"].disabled
    with pytest.raises(ValueError, match="landscape must be one of"):
        GradientDescentExplorer("Ackley")
    with pytest.raises(ValueError, match="unknown control"):
        gd.update(momentum=0.9)


# -- random search ---------------------------------------------------------------------------
def test_rs_builds_with_defaults_and_displays_itself(rs):
    assert list(rs.controls) == ["method", "dim", "n_evals", "step_size", "seed"]
    check_image(rs)
    assert_displays_itself(rs)
    assert rs.controls["step_size"].disabled  # global search has no step
    assert "best loss after 500 evaluations" in rs.info.value


@pytest.mark.parametrize(
    "name, value", [("method", "local"), ("dim", 10), ("n_evals", 100), ("seed", 3)]
)
def test_rs_moving_a_control_redraws(rs, name, value):
    assert_change_redraws(rs, name, value)


def test_rs_step_size_redraws_local_search():
    rs = RandomSearchExplorer(method="local")  # an initial value, as a chapter may pass
    assert not rs.controls["step_size"].disabled
    assert_change_redraws(rs, "step_size", 0.5)


def test_rs_every_control_through_its_range(rs):
    for method in ("global", "local"):
        rs.update(method=method)
        for name in ("dim", "n_evals", "step_size", "seed"):
            drive(rs, name, n_between=2 if method == "local" else 1)


def test_rs_curves_are_the_search_results_and_gradient_descent(rs):
    rs.update(method="local", dim=5, n_evals=300, step_size=0.2, seed=1)
    lam = eigenvalues(5)
    assert lam[0] == 1.0 and lam[1] == lam.max() == 10.0
    expected = local_random_search(
        lambda x: 0.5 * (x**2 @ lam),
        np.full(5, 5**-0.5),
        0.2,
        300,
        rng=np.random.default_rng(1),
        distribution="sphere",
    )
    x, y = rs.curve.get_data()
    np.testing.assert_array_equal(x, np.arange(1, 301))
    np.testing.assert_allclose(y, np.maximum(expected.best_so_far, 1e-10))
    np.testing.assert_allclose(rs.samples.get_xydata(), expected.xs[:, :2])
    gd_x, gd_y = rs.gd_curve.get_data()
    assert gd_x[:3].tolist() == [1, 3, 5]  # f(x0), then 2 evaluations per gradient step
    assert gd_y[0] == pytest.approx(0.5 * lam.sum() / 5)  # f(x0) at distance 1 from 0
    assert rs.fd_curve.get_data()[0][:2].tolist() == [1, 7]  # d + 1 = 6 per step
    assert "coordinates 1-2 of 5" in rs.note.get_text()
    rs.update(method="global", dim=2, n_evals=500, step_size=0.1, seed=0)
    assert "d = 2" in rs.note.get_text()


# -- finite differences ----------------------------------------------------------------------
def test_fd_builds_with_defaults_and_displays_itself(fd):
    assert list(fd.controls) == ["function", "x", "method", "h"]
    check_image(fd)
    assert_displays_itself(fd)
    assert "Error at h = 1.0e-05" in fd.info.value


@pytest.mark.parametrize(
    "name, value", [("function", "sin(x)"), ("x", -0.5), ("method", "forward"), ("h", 1e-9)]
)
def test_fd_moving_a_control_redraws(fd, name, value):
    assert_change_redraws(fd, name, value)


def test_fd_every_function_and_control_through_its_range(fd):
    for function in fd.controls["function"].options:
        fd.update(function=function)
        for name in ("x", "method", "h"):
            drive(fd, name, n_between=1)


def test_fd_errors_show_truncation_and_round_off_slopes():
    forward, centred = difference_errors(FUNCTIONS["exp(x)"], 1.0)
    h = H_GRID

    def slope(errors, h1, h2):
        i, j = (np.argmin(abs(np.log10(h) - np.log10(v))) for v in (h1, h2))
        return np.log10(errors[j] / errors[i]) / np.log10(h[j] / h[i])

    assert slope(forward, 1e-4, 1e-2) == pytest.approx(1.0, abs=0.05)  # truncation O(h)
    assert slope(centred, 1e-3, 1e-1) == pytest.approx(2.0, abs=0.05)  # truncation O(h^2)
    assert slope(forward, 1e-15, 1e-11) == pytest.approx(-1.0, abs=0.35)  # round-off
    best_forward, best_centred = h[np.argmin(forward)], h[np.argmin(centred)]
    assert 1e-10 < best_forward < 1e-6 and 1e-7 < best_centred < 1e-3  # sqrt(eps), eps^(1/3)
    assert forward.min() > 1e-10 and centred.min() < 1e-9


def test_fd_method_and_h_choose_what_is_drawn(fd):
    fd.update(method="forward", h=1e-3)
    assert fd.err_fwd.get_visible() and not fd.err_ctr.get_visible()
    assert fd.marks.get_xydata().tolist() == [[1e-3, pytest.approx(np.e / 2 * 1e-3, rel=1e-3)]]
    fd.update(method="centred")
    assert fd.err_ctr.get_visible() and not fd.err_fwd.get_visible()
    fd.update(method="both", h=1e-5)
    assert len(fd.marks.get_xdata()) == 2


# -- minibatch -------------------------------------------------------------------------------
def test_mb_builds_with_defaults_and_displays_itself(mb):
    assert list(mb.controls) == ["batch_size", "lr", "epochs", "seed"]
    check_image(mb)
    assert_displays_itself(mb)
    assert "B = 16" in mb.info.value and "full batch" in mb.info.value


def test_mb_contours_are_the_models_mean_squared_error():
    X, y, loss = regression_problem()
    assert X.shape[1] == 2 and len(X) == len(y) > 300
    rng = np.random.default_rng(0)
    for w in rng.normal(size=(5, 2)):
        value, grad = linear_regression_loss(w, X, y)
        assert loss.value(w) == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(loss.grad(w), grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss.minimizer, np.linalg.lstsq(X, y, rcond=None)[0])


@pytest.mark.parametrize(
    "name, value", [("batch_size", 4), ("lr", 0.02), ("epochs", 3), ("seed", 2)]
)
def test_mb_moving_a_control_redraws(mb, name, value):
    assert_change_redraws(mb, name, value)


def test_mb_paths_follow_training(mb):
    mb.update(batch_size=32, lr=0.05, epochs=4, seed=1)
    history, path = mb._run(32, 0.05, 4, 1)
    n = len(mb.X)
    assert history.iterations == 4 * -(-n // 32) and len(path) == history.iterations + 1
    np.testing.assert_array_equal(path[0], START)
    np.testing.assert_array_equal(path[-1], history.params)
    np.testing.assert_array_equal(mb.path_mb.get_xydata(), path)
    assert len(mb.path_gd.get_xydata()) == 5  # full batch: one update per epoch
    epochs_axis = mb.epochs_mb.get_xdata()
    assert epochs_axis[0] == 0 and epochs_axis[-1] == pytest.approx(4.0)


def test_mb_every_control_through_its_range_and_divergence(mb):
    for name in ("batch_size", "lr", "epochs", "seed"):
        drive(mb, name, n_between=2)
    mb.update(batch_size=1, lr=1.0, epochs=3)
    assert "diverging, lr too large" in mb.warning.get_text()
    for line in (mb.path_mb, mb.path_gd, mb.epochs_mb, mb.time_gd):
        assert np.all(np.isfinite(line.get_xydata()))
    mb.update(batch_size=16, lr=0.1, epochs=10, seed=0)
    assert mb.warning.get_text() == ""


# -- trajectory explorer ---------------------------------------------------------------------
from course_lib.optim import SGD, Adam  # noqa: E402
from course_lib.schedules import CosineAnnealingLR, ReduceLROnPlateau  # noqa: E402
from course_lib.train import run  # noqa: E402
from course_lib.widgets import TrajectoryExplorer  # noqa: E402
from course_lib.widgets.controls import float_slider, log_slider  # noqa: E402
from course_lib.widgets.trajectory import BOUND_FACTOR, STYLES  # noqa: E402

FACTORIES = {
    "gradient descent": lambda lr: SGD(lr=lr),
    "momentum": lambda lr, beta: SGD(lr=lr, momentum=beta),
    "Nesterov": lambda lr, beta: SGD(lr=lr, momentum=beta, nesterov=True),
}


def chapter5_explorer(**values):
    """GD vs momentum vs Nesterov with learning-rate, beta and condition-number controls."""
    return TrajectoryExplorer(
        FACTORIES,
        landscape=lambda kappa: landscapes.Quadratic.bowl(condition_number=kappa, angle=0.3),
        controls={
            "lr": log_slider("learning rate", 0.05, 1e-3, 1.0),
            "beta": float_slider("momentum β", 0.9, 0.0, 0.99, 0.01),
            "kappa": log_slider("condition number κ", 20.0, 1.0, 1000.0),
        },
        **values,
    )


ch5 = shared(chapter5_explorer)


def expected_run(explorer, optimizer, schedule=None):
    """What train.run gives for the explorer's current landscape, start and steps."""
    f = explorer._view().f
    start = [explorer.value("x0"), explorer.value("y0")][: f.dim]
    bound = BOUND_FACTOR * float(np.max(np.abs(f.bounds)))
    return f, run(
        optimizer,
        f,
        start if f.dim == 2 else start[0],
        explorer.value("steps"),
        schedule=schedule,
        bound=bound,
        rng=0,
    )


def assert_drawn_paths_are_runs(explorer, optimizers, schedules=None):
    """Each optimizer's drawn path and loss curve equal train.run's, to rounding."""
    for i, optimizer in enumerate(optimizers):
        schedule = None if schedules is None else schedules[i]
        f, traj = expected_run(explorer, optimizer, schedule)
        if f.dim == 2:
            drawn = explorer.paths2[i].get_xydata()
            np.testing.assert_allclose(drawn, traj.path, rtol=1e-12, atol=1e-14)
        else:
            x, y = explorer.paths1[i].get_data()
            np.testing.assert_allclose(x, traj.path, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(y, traj.losses, rtol=1e-12, atol=1e-14)
        steps, losses = explorer.loss_lines[i].get_data()
        np.testing.assert_array_equal(steps, np.arange(traj.steps_taken + 1))
        if f.min_value is not None and explorer._view().preset.loss_scale == "log":
            np.testing.assert_allclose(
                losses, np.maximum(traj.losses - f.min_value, 1e-30), rtol=1e-12
            )
        else:
            np.testing.assert_allclose(losses, traj.losses, rtol=1e-12)
        label = explorer.labels[i]
        assert explorer.results[label].diverged == traj.diverged
        assert explorer.results[label].diverged_at == traj.diverged_at


def test_trajectory_builds_with_controls_legend_and_description(ch5):
    assert list(ch5.controls) == ["lr", "beta", "kappa", "steps", "x0", "y0"]  # one landscape
    assert ch5.labels == list(FACTORIES)
    check_image(ch5)
    assert_displays_itself(ch5)
    legend = ch5.figure.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == list(FACTORIES)
    assert ch5.ax2.get_title() == "quadratic: condition number κ = 20"
    assert "gradient descent, momentum, Nesterov" in ch5.image.tooltip
    assert ch5.info in ch5.box.children  # one line of numbers per optimizer
    assert "<b>Nesterov</b>: after 100 steps" in ch5.info.value


def test_trajectory_styles_tell_optimizers_apart_without_colour(ch5):
    looks = [(line.get_linestyle(), line.get_marker()) for line in ch5.paths2]
    assert len(set(looks)) == 3  # dashes and markers differ, not only the colour
    assert [line.get_color() for line in ch5.loss_lines] == [s.color for s in STYLES[:3]]
    legend_box = ch5.figure.legends[0].get_window_extent()
    for ax in (ch5.ax2, ch5.ax_loss):  # the legend covers no data
        assert not legend_box.overlaps(ax.get_window_extent())


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"lr": 0.01, "beta": 0.5, "steps": 37},
        {"kappa": 300.0, "x0": 1.0, "y0": -0.5, "steps": 250},
    ],
)
def test_trajectory_drawn_paths_are_train_run(ch5, values):
    ch5.update(**values)
    v = {name: c.value for name, c in ch5.controls.items()}
    assert_drawn_paths_are_runs(
        ch5,
        [
            SGD(lr=v["lr"]),
            SGD(lr=v["lr"], momentum=v["beta"]),
            SGD(lr=v["lr"], momentum=v["beta"], nesterov=True),
        ],
    )


def test_trajectory_steps_slice_the_cached_runs_exactly(ch5):
    ch5.update(steps=300)
    ch5.update(steps=23)  # a slice of the 300-step runs
    v = {name: c.value for name, c in ch5.controls.items()}
    assert_drawn_paths_are_runs(
        ch5,
        [
            SGD(lr=v["lr"]),
            SGD(lr=v["lr"], momentum=v["beta"]),
            SGD(lr=v["lr"], momentum=v["beta"], nesterov=True),
        ],
    )


def test_trajectory_one_diverges_while_another_converges(ch5):
    ch5.update(kappa=20.0, lr=0.12, beta=0.9, steps=100)  # GD is stable iff lr < 2/20
    status = ch5.status.get_text()
    assert status.startswith("diverged: gradient descent (step")
    assert "momentum" not in status
    assert "<b>momentum</b>: after 100 steps: f − f* =" in ch5.info.value
    assert "<b>gradient descent</b>: diverged at step" in ch5.info.value
    gd_run = ch5.results["gradient descent"]
    assert gd_run.diverged and not ch5.results["momentum"].diverged
    # the diverged path stops at its last finite iterate, marked by a cross
    np.testing.assert_array_equal(ch5.ends[0][0].get_xydata(), gd_run.path[-1:])
    assert len(ch5.ends[1][0].get_xdata()) == 0
    assert ch5.results["momentum"].losses[-1] < 1e-2
    for line in ch5.loss_lines:
        assert np.all(np.isfinite(line.get_xydata()))
    assert "diverged" in ch5.image.tooltip
    {name: c.value for name, c in ch5.controls.items()}
    assert_drawn_paths_are_runs(
        ch5, [SGD(lr=0.12), SGD(lr=0.12, momentum=0.9), SGD(lr=0.12, momentum=0.9, nesterov=True)]
    )
    ch5.update(lr=1.0, kappa=1000.0)  # everything blows up at once: still a figure
    assert ch5.status.get_text().count("step") == 3
    check_image(ch5)


def test_trajectory_every_control_through_its_range(ch5):
    for name in ch5.controls:
        drive(ch5, name, n_between=1)
    ch5.update(beta=0.0)  # SGD refuses Nesterov without momentum: a message, not an error
    assert isinstance(ch5.results["Nesterov"], str)
    assert "Nesterov (no run)" in ch5.status.get_text()
    assert "nesterov=True requires momentum &gt; 0" in ch5.info.value
    assert len(ch5.paths2[2].get_xdata()) == 0
    assert len(ch5.paths2[0].get_xdata()) > 1
    check_image(ch5)


def test_trajectory_more_steps_after_an_optimizer_refused_its_values(ch5):
    ch5.update(beta=0.0, steps=50)  # Nesterov cannot be made: its run is a message
    ch5.update(steps=ch5.controls["steps"].max)  # more steps: the others run longer
    assert "nesterov=True requires momentum &gt; 0" in ch5.info.value
    assert ch5.results["gradient descent"].steps_taken == ch5.controls["steps"].max
    check_image(ch5)


def test_trajectory_condition_number_moves_the_start_window_with_the_bounds():
    ex = TrajectoryExplorer(
        [SGD(lr=0.1)],
        landscape=lambda c: landscapes.Quadratic.bowl(center=(c, 0.0)),
        controls={"c": float_slider("centre", 0.0, -3.0, 3.0, 0.5)},
    )
    assert (ex.controls["x0"].min, ex.controls["x0"].max) == (-2.0, 2.0)
    ex.update(x0=-1.5, c=3.0)
    assert (ex.controls["x0"].min, ex.controls["x0"].max) == (1.0, 5.0)
    assert ex.controls["x0"].value == 1.0  # clipped into the new window
    assert_drawn_paths_are_runs(ex, [SGD(lr=0.1)])


def test_trajectory_schedules_and_1d_landscapes():
    ex = TrajectoryExplorer(
        {
            "constant": lambda lr: SGD(lr=lr),
            "cosine": (lambda lr: SGD(lr=lr), lambda lr, steps: CosineAnnealingLR(lr, T_max=steps)),
        },
        landscape=["x cos(cx) (1-D)", "parabola x² (1-D)", landscapes.Cosh()],
        controls={"lr": log_slider("learning rate", 0.3, 1e-3, 3.0)},
    )
    assert list(ex.controls) == ["landscape", "lr", "steps", "x0", "y0"]
    assert ex.controls["y0"].disabled and ex.ax1.get_visible() and not ex.ax2.get_visible()
    for landscape in ex.controls["landscape"].options:
        ex.update(landscape=landscape)
        for name in ("lr", "steps", "x0"):
            drive(ex, name, n_between=1)
        ex.update(lr=0.3, steps=60)
        assert_drawn_paths_are_runs(
            ex, [SGD(lr=0.3), SGD(lr=0.3)], [None, CosineAnnealingLR(0.3, T_max=60)]
        )
    ex.update(landscape="parabola x² (1-D)", lr=1.2, steps=60)  # lr > 1/a diverges ...
    assert ex.status.get_text() == "diverged: constant (step 20)"
    assert "<b>cosine</b>: left the plotted window" in ex.info.value  # ... until lr decays
    np.testing.assert_array_equal(
        ex.ends[0][1].get_xydata(), ex.paths1[0].get_xydata()[-1:]
    )  # the cross, in 1-D
    # a schedule shared by every optimizer
    shared_schedule = CosineAnnealingLR(0.5, T_max=40)
    ex = TrajectoryExplorer(
        [SGD(lr=0.5), Adam(lr=0.5)], landscape="Himmelblau", schedule=shared_schedule, steps=40
    )
    assert ex.labels == ["SGD(lr=0.5)", "Adam(lr=0.5)"]
    assert_drawn_paths_are_runs(ex, [SGD(lr=0.5), Adam(lr=0.5)], [shared_schedule] * 2)
    np.testing.assert_allclose(ex.results["Adam(lr=0.5)"].lrs, shared_schedule(np.arange(40)))


class _NoStep:
    def init(self, params):
        return None


def test_trajectory_bad_arguments_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match="optimizers must be 1 to 7 optimizers"):
        TrajectoryExplorer([])
    with pytest.raises(
        ValueError,
        match=r"optimizers\[1\] must be a course_lib optimizer "
        r"\(an object with init and step",
    ):
        TrajectoryExplorer([SGD(lr=0.1), _NoStep()])
    with pytest.raises(ValueError, match=r"optimizers\['mine'\] must be"):
        TrajectoryExplorer({"mine": "SGD"})
    with pytest.raises(ValueError, match="landscape must be one of"):
        TrajectoryExplorer([SGD(lr=0.1)], landscape="Ackley")
    with pytest.raises(ValueError, match="landscape must be a 1-D or 2-D landscape"):
        TrajectoryExplorer([SGD(lr=0.1)], landscape=landscapes.Quadratic(np.eye(3)))
    with pytest.raises(
        ValueError,
        match=r"optimizers\['momentum'\] asks for 'beta', which "
        r"is not a control",
    ):
        TrajectoryExplorer(
            {"momentum": lambda lr, beta: SGD(lr=lr, momentum=beta)},
            controls={"lr": log_slider("learning rate", 0.1, 1e-3, 1.0)},
        )
    with pytest.raises(ValueError, match="controls must be named otherwise"):
        TrajectoryExplorer([SGD(lr=0.1)], controls={"steps": log_slider("s", 1, 1, 10)})
    with pytest.raises(ValueError, match="optimizers must be 1 to 7"):
        TrajectoryExplorer([SGD(lr=0.1)] * 8)
    with pytest.raises(ValueError, match="schedule must be a function of the step"):
        TrajectoryExplorer([SGD(lr=0.1)], schedule=ReduceLROnPlateau(0.1))
    with pytest.raises(ValueError, match="max_steps must be an int >= 1"):
        TrajectoryExplorer([SGD(lr=0.1)], max_steps=0)
    with pytest.raises(ValueError, match="unknown control"):
        TrajectoryExplorer([SGD(lr=0.1)], lr=0.1)


# -- layout and accessibility of every explorer ------------------------------------------------
def test_controls_wrap_are_described_and_the_figure_is_named(gd, rs, fd, mb, ch5):
    for explorer in (gd, rs, fd, mb, ch5):
        grid = explorer.box.children[0]
        assert "auto-fit" in grid.layout.grid_template_columns  # one column on a phone
        for control in explorer.controls.values():
            assert control.description.strip()
            assert control.layout.width in (None, "100%")  # no fixed width wider than a phone
        css = [
            c for c in explorer.box.children if isinstance(c, widgets.HTML) and "<style>" in c.value
        ]
        assert css and ".widget-readout" in css[0].value
        assert "course-lib-explorer" in explorer.box._dom_classes
        assert len(explorer.image.tooltip) > 40  # a sentence, not a placeholder
        # ipywidgets 8.1's front end reads `description` before showing a tooltip: without
        # one in the image's state it fails to create the image's view
        state = explorer.image.get_state()
        assert state["description"] == "" and state["tooltip"] == explorer.image.tooltip
    with pytest.raises(ValueError, match="description must be a non-empty string"):
        float_slider("", 0.0, 0.0, 1.0, 0.1)


def test_random_search_and_minibatch_accept_another_optimizer():
    momentum = SGD(lr=0.1, momentum=0.9)
    rs = RandomSearchExplorer(optimizer=momentum, method="local", dim=5)
    quadratic = landscapes.Quadratic(np.diag(eigenvalues(5)))
    expected = run(momentum, quadratic, np.full(5, 5**-0.5), 150)
    gd_x, gd_y = rs.gd_curve.get_data()
    np.testing.assert_allclose(gd_y, np.maximum(expected.losses[: len(gd_y)], 1e-10))
    assert "SGD(lr=0.1, momentum=0.9) (a gradient" in rs.gd_curve.get_label()
    mb = MinibatchExplorer(optimizer=Adam, batch_size=32, lr=0.05, epochs=2)
    history, path = mb._run(32, 0.05, 2, 0)
    X, y, _ = regression_problem()
    from course_lib.train import train_minibatch

    direct = train_minibatch(linear_regression_loss, START, X, y, Adam(lr=0.05), 32, 2, rng=0)
    np.testing.assert_allclose(history.params, direct.params, rtol=1e-12)
    np.testing.assert_array_equal(mb.path_mb.get_xydata()[-1], direct.params)
    assert mb.path_mb.get_label() == "minibatch Adam"
    with pytest.raises(ValueError, match="optimizer must be a course_lib optimizer"):
        RandomSearchExplorer(optimizer="SGD")
    with pytest.raises(ValueError, match="optimizer must be a function lr -> course_lib"):
        MinibatchExplorer(optimizer=SGD(lr=0.1))
