"""Random search explorer: global vs local random search against gradient descent.

The objective is the quadratic ``f(x) = 1/2 sum_i lambda_i x_i^2`` in d dimensions (minimum 0
at the origin), with ``lambda_1 = 1`` and ``lambda_2 = 10`` (the flattest and the steepest
direction, so the plane of the first two coordinates looks the same in every dimension) and
the other eigenvalues spaced geometrically between. Local search and gradient descent start
at ``(1, ..., 1) / sqrt(d)``, at distance 1 from the minimum; global search samples the cube
``[-1, 1]^d``. Left: the samples (their first two coordinates) on the contour lines. Right:
the best loss so far against the number of evaluations, with gradient descent for
comparison (a gradient counted as 2 evaluations, as backpropagation costs about a forward
and a backward pass; or as d + 1 evaluations with finite differences).
"""

from __future__ import annotations

import numpy as np

from course_lib import landscapes
from course_lib.optim import SGD
from course_lib.plots import plot_contours
from course_lib.search import global_random_search, local_random_search
from course_lib.train import run
from course_lib.widgets.controls import int_slider, log_slider, toggle
from course_lib.widgets.explorer import Explorer
from course_lib.widgets.limits import log_limits
from course_lib.widgets.trajectory import is_optimizer, optimizer_label

__all__ = ["RandomSearchExplorer", "eigenvalues"]

CONDITION_NUMBER = 10.0
RADIUS = 1.0  # global search samples [-RADIUS, RADIUS]^d
_FLOOR = 1e-10  # losses below this are drawn at it
_GD_STEPS = 150  # enough for gradient descent to pass the floor


def eigenvalues(dim, condition_number=CONDITION_NUMBER):
    """``(1, kappa, ...)``: the curvatures of the explorer's quadratic, flattest and steepest
    first, the remaining ``dim - 2`` spaced geometrically between them."""
    inner = np.geomspace(1.0, condition_number, dim)[1:-1]
    return np.concatenate([[1.0, condition_number], inner])


class _Objective:
    """``f(x) = 1/2 sum_i lambda_i x_i^2`` on one point ``(d,)`` or a batch ``(n, d)``: the
    same function as ``landscapes.Quadratic(diag(lambda))``, without its per-call checks
    (local search calls it once per evaluation)."""

    def __init__(self, lam):
        self.lam = lam

    def __call__(self, x):
        return 0.5 * (np.asarray(x) ** 2 @ self.lam)


class RandomSearchExplorer(Explorer):
    """Random search (global or local) on a d-dimensional quadratic, against gradient descent.

    Controls: ``method`` ("global" samples the cube, "local" perturbs and accepts if better),
    ``dim`` (2 to 100), ``n_evals`` (number of function evaluations, 10 to 2000),
    ``step_size`` (length of a local step, 0.01 to 1; local search only), ``seed``.

    Args:
      optimizer: the gradient method to compare with, a course_lib optimizer (default
        ``SGD(lr=0.1)``: plain gradient descent with lr = 1 / lambda_max).
      **values: initial control values, e.g. ``RandomSearchExplorer(method="local", dim=20)``.
    """

    figsize = (8.4, 3.5)
    has_info = True
    alt = (
        "Left: the points evaluated by {method} random search in {dim} dimensions, on "
        "the contour lines of a quadratic (first two coordinates). Right: the best loss so "
        "far against {n_evals} function evaluations, next to gradient descent's."
    )

    def __init__(self, optimizer=None, **values):
        if optimizer is None:
            optimizer, self._gd_name = SGD(lr=1.0 / CONDITION_NUMBER), "gradient descent"
        elif is_optimizer(optimizer):
            self._gd_name = optimizer_label(optimizer)
        else:
            raise ValueError(
                f"optimizer must be a course_lib optimizer (with init and step), got {optimizer!r}"
            )
        self._optimizer = optimizer
        self._results = {}  # (method, dim, n, step, seed) -> SearchResult
        self._gd = {}  # dim -> gradient-descent Trajectory
        self._limits = None
        super().__init__(**values)

    def _make_controls(self):
        return {
            "method": toggle("method", ["global", "local"], "global"),
            "dim": int_slider("dimension d", 2, 2, 100),
            "n_evals": int_slider("evaluations", 500, 10, 2000, step=10),
            "step_size": log_slider("local step size", 0.1, 0.01, 1.0),
            "seed": int_slider("seed", 0, 0, 9),
        }

    def _on_control(self, name):
        if name == "method":
            self.controls["step_size"].disabled = self.value("method") == "global"

    # -- computation -------------------------------------------------------------------------
    def _search(self, method, dim, n_evals, step_size, seed):
        key = (method, dim, n_evals, step_size if method == "local" else None, seed)
        if key not in self._results:
            f = _Objective(eigenvalues(dim))
            rng = np.random.default_rng(seed)
            if method == "global":
                box = np.tile([-RADIUS, RADIUS], (dim, 1))
                result = global_random_search(f, box, n_evals, rng=rng, vectorized=True)
            else:
                x0 = np.full(dim, 1.0 / np.sqrt(dim))
                result = local_random_search(
                    f, x0, step_size, n_evals, rng=rng, distribution="sphere"
                )
            if len(self._results) > 64:
                self._results.pop(next(iter(self._results)))
            self._results[key] = result
        return self._results[key]

    def _gradient_descent(self, dim):
        if dim not in self._gd:
            lam = eigenvalues(dim)
            quadratic = landscapes.Quadratic(np.diag(lam))
            x0 = np.full(dim, 1.0 / np.sqrt(dim))
            self._gd[dim] = run(self._optimizer, quadratic, x0, _GD_STEPS)
        return self._gd[dim]

    # -- figure ------------------------------------------------------------------------------
    def _build(self):
        grid = self.figure.add_gridspec(1, 2, width_ratios=(1.0, 1.2))
        self.ax_samples = self.figure.add_subplot(grid[0])
        self.ax_curve = self.figure.add_subplot(grid[1])
        plane = landscapes.Quadratic(np.diag([1.0, CONDITION_NUMBER]))
        bounds = ((-1.25 * RADIUS, 1.25 * RADIUS),) * 2
        plot_contours(self.ax_samples, plane, bounds=bounds, n=120, levels=12, alpha=0.7)
        box = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]) * RADIUS
        self.ax_samples.plot(
            *box.T, color="0.6", linewidth=0.8, linestyle="--", label="sampling box"
        )
        ax = self.ax_samples
        (self.samples,) = ax.plot(
            [], [], ".", color="0.35", markersize=3, alpha=0.6, label="evaluated points"
        )
        (self.walk,) = ax.plot(
            [],
            [],
            "-o",
            color="C3",
            markersize=2.5,
            linewidth=1.1,
            label="random search: best so far",
        )
        (self.best,) = ax.plot([], [], "*", color="C3", markersize=13, markeredgecolor="white")
        self.note = ax.text(
            0.5, 1.02, "", transform=ax.transAxes, ha="center", va="bottom", fontsize=9.5
        )
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")

        ax = self.ax_curve
        (self.curve,) = ax.plot([], [], color="C3", linewidth=1.6)
        (self.gd_curve,) = ax.plot(
            [], [], color="C0", linewidth=1.4, label=f"{self._gd_name} (a gradient = 2 evaluations)"
        )
        (self.fd_curve,) = ax.plot(
            [],
            [],
            color="C0",
            linestyle="--",
            linewidth=1.2,
            label=f"{self._gd_name} (finite differences: d + 1)",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(1, self.controls["n_evals"].max)
        ax.set_xlabel("function evaluations")
        ax.set_ylabel("best loss so far  (f* = 0)")
        ax.grid(True, which="major", alpha=0.3)
        # the legend lives outside the axes, in the figure's never-redrawn background
        handles = [self.samples, self.walk, self.gd_curve, self.fd_curve]
        self.figure.legend(
            handles=handles, loc="outside lower center", ncols=2, fontsize=8.5, frameon=False
        )
        ax.set_title("best loss against cost", fontsize=10)
        for artist in (
            self.samples,
            self.walk,
            self.best,
            self.note,
            self.curve,
            self.gd_curve,
            self.fd_curve,
        ):
            self._animate(artist)
        self.controls["step_size"].disabled = self.value("method") == "global"

    def _draw(self):
        method, dim, n = self.value("method"), int(self.value("dim")), int(self.value("n_evals"))
        step, seed = float(self.value("step_size")), int(self.value("seed"))
        result = self._search(method, dim, n, step, seed)

        # left: the samples' first two coordinates
        xs = result.xs[:, :2]
        self.samples.set_data(xs[:, 0], xs[:, 1])
        path = result.xs[result.accepted][:, :2]
        self.walk.set_data(path[:, 0], path[:, 1])
        self.best.set_data(result.best_x[:1], result.best_x[1:2])
        if dim == 2:
            self.note.set_text(f"{method} random search, d = {dim}")
        else:
            self.note.set_text(f"coordinates 1-2 of {dim}; contours: the other coordinates at 0")
        self.note.set_fontsize(9.5 if dim == 2 else 8.5)

        # right: best loss so far against evaluations, and gradient descent's curve. The
        # first evaluation is f(x0); a gradient step then costs `cost` more. Fixed axes (per
        # dimension): curves for different settings can be compared by eye.
        evals = np.arange(1, n + 1)
        best = np.maximum(result.best_so_far, _FLOOR)
        self.curve.set_data(evals, best)
        gd = self._gradient_descent(dim).losses
        for line, cost in ((self.gd_curve, 2), (self.fd_curve, dim + 1)):
            k = min(len(gd), (n - 1) // cost + 1)  # steps affordable within n evaluations
            line.set_data(1 + np.arange(k) * cost, np.maximum(gd[:k], _FLOOR))
        top = 0.5 * eigenvalues(dim).sum() * RADIUS**2  # the largest f in the sampling box
        self._limits = log_limits(_FLOOR, top)
        self.ax_curve.set_ylim(*self._limits)
        shown = "below 1e-10" if result.best_value < _FLOOR else f"{result.best_value:.3g}"
        text = (
            f"{method.capitalize()} random search, d = {dim}: best loss after {n} "
            f"evaluations {shown}"
        )
        if gd.min() <= result.best_value:  # first step k at or below it costs 1 + 2k
            k = int(np.argmax(gd <= result.best_value))
            text += f"; {self._gd_name} gets as low within {1 + 2 * k} evaluations"
        self.info.value = text + "."

    def _panels(self):
        return [[self.ax_samples], [self.ax_curve]]

    def _panel_key(self, i):
        return None if i == 0 else self._limits
