"""Gradient descent explorer: landscape, learning rate, steps and start point.

Left: the trajectory of ``x <- x - lr * grad f(x)`` on the contour lines (or on the graph of a
1-D landscape). Right: the loss against the step, on a log axis. A run that blows up stops
and says so in the figure ("diverged at step 12: lr too large for this curvature").
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from course_lib import landscapes
from course_lib.optim import SGD
from course_lib.plots import mark_minima, plot_1d, plot_contours
from course_lib.train import run
from course_lib.widgets.controls import (dropdown, float_slider, int_slider, log_slider,
                                         set_range)
from course_lib.widgets.explorer import Explorer
from course_lib.widgets.limits import linear_limits, log_limits, nice_ceil, symlog_limits

__all__ = ["GradientDescentExplorer", "PRESETS"]


class Preset(NamedTuple):
    """A landscape of the dropdown with a learning rate and start that show it well."""

    make: Callable
    lr: float
    start: tuple
    log_levels: bool = True  # geometric contour levels (see plots.contour_levels)
    loss_scale: str = "log"  # y axis of the loss plot: "log" (of f - f*), "linear", "symlog"


PRESETS = {
    "ill-conditioned bowl": Preset(lambda: landscapes.Quadratic.bowl(condition_number=20.0),
                                   0.09, (-1.8, 1.2)),
    "Rosenbrock": Preset(landscapes.Rosenbrock, 1e-3, (-1.2, 1.0)),
    "Himmelblau": Preset(landscapes.Himmelblau, 0.01, (0.0, 0.0)),
    "saddle": Preset(landscapes.Saddle, 0.05, (-1.8, 0.02), log_levels=False,
                     loss_scale="symlog"),
    "Beale": Preset(landscapes.Beale, 0.01, (1.0, 1.5)),
    "parabola x² (1-D)": Preset(landscapes.Parabola, 0.3, (1.8,)),
    "x cos(cx) (1-D)": Preset(landscapes.XCos, 0.3, (10.0,), loss_scale="linear"),
}

_MAX_STEPS = 1000
_LOSS_FLOOR = 1e-30  # smallest value drawn on the log loss axis


def _stable_lr(f):
    """``2 / lambda_max`` for a landscape with a constant Hessian (quadratics), else None."""
    if isinstance(f, landscapes.Quadratic) and f.eigenvalues[-1] > 0:
        return 2.0 / float(f.eigenvalues[-1])
    if isinstance(f, landscapes.Parabola):
        return 1.0 / f.a  # f'' = 2a
    return None


def _custom_preset(f):
    """A preset for a landscape passed by the caller: start inside its window, lr from the
    curvature there (half the stable step of the local quadratic model)."""
    if getattr(f, "dim", None) not in (1, 2) or f.bounds is None:
        raise ValueError(f"landscape must be a 1-D or 2-D landscape with bounds, got {f!r}")
    lows, highs = np.array(f.bounds, dtype=float).reshape(-1, 2).T
    start = lows + 0.15 * (highs - lows)
    with np.errstate(all="ignore"):
        h = np.atleast_2d(f.hessian(start if f.dim == 2 else start[0]))
        curvature = float(np.max(np.abs(np.linalg.eigvalsh(h))))
    lr = 0.01
    if np.isfinite(curvature) and curvature > 0:
        lr = float(np.clip(1.0 / curvature, 1e-4, 1.0))
    return Preset(lambda: f, lr, tuple(start),
                  loss_scale="log" if f.min_value is not None else "symlog")


class GradientDescentExplorer(Explorer):
    """Gradient descent on a landscape: trajectory on the contours and loss curve.

    Controls: ``landscape`` (dropdown; choosing one resets lr and start to values that suit
    it), ``lr`` (log slider, 1e-5 to 10), ``steps`` (1 to 1000), ``x0``, ``y0`` (start point;
    ``y0`` is disabled for 1-D landscapes).

    Args:
      landscape: the landscape shown first: a name from ``PRESETS`` (default "ill-conditioned
        bowl") or any 1-D/2-D landscape object with ``bounds`` (added to the dropdown).
      **values: initial control values, e.g. ``lr=0.001, steps=500, x0=-1.0, y0=1.0``.

    Example: a cell whose last line is ``GradientDescentExplorer("Rosenbrock", steps=500)``.
    """

    figsize = (8.4, 3.4)
    _first_controls = ("landscape",)

    def __init__(self, landscape=None, **values):
        self._presets = dict(PRESETS)
        if landscape is None:
            landscape = "ill-conditioned bowl"
        elif not isinstance(landscape, str):
            name = f"{getattr(landscape, 'name', type(landscape).__name__)} (yours)"
            self._presets[name] = _custom_preset(landscape)
            landscape = name
        if landscape not in self._presets:
            raise ValueError(f"landscape must be one of {list(self._presets)} or a landscape "
                             f"object, got {landscape!r}")
        self._initial = landscape
        self._landscapes = {}  # name -> landscape object (made on first use)
        self._views = {}  # name -> static artists of that landscape (made on first use)
        self._ylims = {}  # name -> y limits of a 1-D landscape's graph
        self._runs = {}  # (name, lr, start) -> longest Trajectory computed so far
        self._shown = None  # name of the landscape whose static artists are visible
        super().__init__(**values)

    # -- controls ------------------------------------------------------------------------------
    def _make_controls(self):
        self.controls = {
            "landscape": dropdown("landscape", list(self._presets), self._initial),
            "lr": log_slider("learning rate", 0.01, 1e-5, 10.0),
            "steps": int_slider("steps", 100, 1, _MAX_STEPS, continuous_update=True),
            "x0": float_slider("start x₁", 0.0, -1.0, 1.0, 0.01),
            "y0": float_slider("start x₂", 0.0, -1.0, 1.0, 0.01),
        }
        self._reset_to_preset()  # lr, start and slider ranges of the first landscape
        return self.controls

    def _on_control(self, name):
        if name == "landscape":
            self._reset_to_preset()

    def _reset_to_preset(self):
        name = self.value("landscape")
        preset, f = self._presets[name], self._landscape(name)
        self.controls["lr"].value = preset.lr
        lows, highs = np.array(f.bounds, dtype=float).reshape(-1, 2).T
        for key, low, high, start in zip(("x0", "y0"), lows, highs, preset.start):
            set_range(self.controls[key], low, high, start, step=(high - low) / 400)
        self.controls["y0"].disabled = f.dim == 1

    def _landscape(self, name):
        if name not in self._landscapes:
            self._landscapes[name] = self._presets[name].make()
        return self._landscapes[name]

    # -- figure --------------------------------------------------------------------------------
    def _build(self):
        grid = self.figure.add_gridspec(1, 2, width_ratios=(1.0, 1.15))
        self.ax2 = self.figure.add_subplot(grid[0])
        self.ax1 = self.figure.add_subplot(grid[0])  # the 1-D view, in the same place
        self.ax_loss = self.figure.add_subplot(grid[1])
        style = dict(color="C3", marker="o", markersize=2.5, linewidth=1.1, zorder=3)
        (self.path2,) = self.ax2.plot([], [], **style, scalex=False, scaley=False)
        (self.path1,) = self.ax1.plot([], [], **style, scalex=False, scaley=False)
        start = dict(color="C3", marker="s", markersize=6, linestyle="none", zorder=3)
        (self.start2,) = self.ax2.plot([], [], **start, scalex=False, scaley=False)
        (self.start1,) = self.ax1.plot([], [], **start, scalex=False, scaley=False)
        for artist in (self.path2, self.path1, self.start2, self.start1):
            self._animate(artist)
        (self.loss_line,) = self.ax_loss.plot([], [], color="C0", linewidth=1.4)
        self.status = self.ax_loss.text(0.5, 1.03, "", transform=self.ax_loss.transAxes,
                                        ha="center", va="bottom", fontsize=9.5)
        self._animate(self.loss_line)
        self._animate(self.status)
        self.ax_loss.set_xlabel("step t")
        self.ax_loss.grid(True, which="major", alpha=0.3)
        self._loss_limits = None

    def _after_layout(self):
        self.ax1.set_position(self.ax2.get_position())

    def _show_landscape(self, name):
        """Make the static artists of landscape ``name`` the visible ones."""
        if self._shown == name:
            return
        for artists in self._views.values():
            for artist in artists:
                artist.set_visible(False)
        f = self._landscape(name)
        if name not in self._views:
            self._views[name] = self._make_view(name, f)
        for artist in self._views[name]:
            artist.set_visible(True)
        ax = self.ax1 if f.dim == 1 else self.ax2
        self.ax1.set_visible(f.dim == 1)
        self.ax2.set_visible(f.dim == 2)
        if f.dim == 2:
            ax.set_xlim(*f.bounds[0])
            ax.set_ylim(*f.bounds[1])
        else:
            ax.set_xlim(*f.bounds)
            ax.set_ylim(*self._ylims[name])
        stable = _stable_lr(f)
        title = name if stable is None else f"{name}: stable iff lr < {stable:.3g}"
        ax.set_title(title, fontsize=10)
        scale = self._presets[name].loss_scale
        if scale == "symlog":
            self.ax_loss.set_yscale("symlog", linthresh=1.0)
        else:
            self.ax_loss.set_yscale(scale)
        self.ax_loss.set_ylabel("f(xₜ) − f*" if scale == "log" else "f(xₜ)")
        self._shown = name

    def _make_view(self, name, f):
        if f.dim == 2:
            contours = plot_contours(self.ax2, f, n=160, levels=18,
                                     log=self._presets[name].log_levels, minima=False)
            return [contours, mark_minima(self.ax2, f)]
        curve = plot_1d(self.ax1, f, n=400)
        values = curve.get_ydata()
        pad = 0.05 * (values.max() - values.min())
        self._ylims[name] = (values.min() - pad, values.max() + pad)
        return [curve]

    def _trajectory(self, name, lr, start, steps):
        key = (name, lr, start)
        traj = self._runs.get(key)
        if traj is None or (traj.steps_taken < steps and not traj.diverged):
            f = self._landscape(name)
            bound = 1e3 * float(np.max(np.abs(f.bounds)))
            x0 = start if f.dim == 2 else start[0]
            # longer than asked (twice the last run, at least 100 steps): dragging the steps
            # slider then only slices the cached run
            longer = min(max(steps, 100, 2 * (traj.steps_taken if traj else 0)), _MAX_STEPS)
            traj = run(SGD(lr=lr), f, x0, longer, bound=bound)
            if len(self._runs) > 64:
                self._runs.pop(next(iter(self._runs)))
            self._runs[key] = traj
        return traj

    def _draw(self):
        name = self.value("landscape")
        self._show_landscape(name)
        f = self._landscape(name)
        lr, steps = float(self.value("lr")), int(self.value("steps"))
        start = (float(self.value("x0")), float(self.value("y0")))[: f.dim]
        traj = self._trajectory(name, lr, start, steps)
        k = min(steps, traj.steps_taken)
        path, losses = traj.path[: k + 1], traj.losses[: k + 1]
        if f.dim == 2:
            self.path2.set_data(path[:, 0], path[:, 1])
            self.start2.set_data(path[:1, 0], path[:1, 1])
        else:
            self.path1.set_data(path, losses)
            self.start1.set_data(path[:1], losses[:1])
        self._draw_losses(f, losses, steps)
        self._set_status(f, traj, path, k, steps, lr)

    def _draw_losses(self, f, losses, steps):
        scale = self._presets[self.value("landscape")].loss_scale
        if scale == "log":
            y = np.maximum(losses - f.min_value, _LOSS_FLOOR)
            ylim = log_limits(y.min(), y.max())
        elif scale == "symlog":
            y = losses
            ylim = symlog_limits(y.min(), y.max())
        else:
            y = losses
            ylim = linear_limits(y.min(), y.max())
        self.loss_line.set_data(np.arange(len(y)), y)
        self._loss_limits = ((0, nice_ceil(steps)), ylim)
        self.ax_loss.set_xlim(*self._loss_limits[0])
        self.ax_loss.set_ylim(*ylim)

    def _panels(self):
        return [[self.ax2, self.ax1], [self.ax_loss]]

    def _panel_key(self, i):
        if i == 0:
            return self._shown
        return self._presets[self._shown].loss_scale, self._loss_limits

    def _set_status(self, f, traj, path, k, steps, lr):
        lows, highs = np.array(f.bounds, dtype=float).reshape(-1, 2).T
        points = path.reshape(len(path), -1)
        outside = np.flatnonzero(np.any((points < lows) | (points > highs), axis=1))
        color = "black"
        if traj.diverged and traj.diverged_at <= steps and f.min_value is not None:
            message = f"diverged at step {traj.diverged_at}: lr too large for this curvature"
            color = "C3"
        elif traj.diverged and traj.diverged_at <= steps:
            message = f"ran off to infinity at step {traj.diverged_at}: f has no minimum"
            color = "C3"
        elif outside.size:
            message = f"left the plotted window at step {outside[0]}"
            color = "C1"
        elif f.min_value is not None:
            message = f"after {k} steps: f − f* = {traj.losses[k] - f.min_value:.2e}"
        else:
            message = f"after {k} steps: f = {traj.losses[k]:.3g}"
        self.status.set_text(message)
        self.status.set_color(color)
