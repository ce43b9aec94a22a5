"""Finite-difference explorer: the error of a difference quotient against the step h.

Right: ``|D_h f(x) - f'(x)|`` against h on log-log axes for the forward difference
``(f(x + h) - f(x)) / h`` and the centred one ``(f(x + h) - f(x - h)) / (2h)``, both computed
with ``course_lib.models.numerical_gradient``, with the two error models as guides:
truncation (``|f''| h / 2``, slope 1; ``|f'''| h^2 / 6``, slope 2) and round-off
(``eps |f(x)| / h``, slope -1). Their sum makes the V; its bottom is the best h. Left: the
function, its tangent at x and the slopes the two quotients estimate with the chosen h.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from course_lib.models import numerical_gradient
from course_lib.widgets.controls import dropdown, float_slider, log_slider, toggle
from course_lib.widgets.explorer import Explorer

__all__ = ["FiniteDifferenceExplorer", "FUNCTIONS"]

EPS = np.finfo(float).eps  # 2.2e-16, the gap between 1 and the next float64


class Function(NamedTuple):
    """A smooth function with its first three derivatives (for the error models)."""

    f: Callable
    d1: Callable
    d2: Callable
    d3: Callable


def _tanh_derivatives():
    def d1(x):
        return 1 - np.tanh(x) ** 2

    def d2(x):
        return -2 * np.tanh(x) * d1(x)

    def d3(x):
        return -2 * d1(x) * (1 - 3 * np.tanh(x) ** 2)

    return Function(np.tanh, d1, d2, d3)


FUNCTIONS = {
    "exp(x)": Function(np.exp, np.exp, np.exp, np.exp),
    "sin(x)": Function(np.sin, np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x)),
    "tanh(x)": _tanh_derivatives(),
    "log(1 + x²)": Function(
        lambda x: np.log1p(x**2),
        lambda x: 2 * x / (1 + x**2),
        lambda x: 2 * (1 - x**2) / (1 + x**2) ** 2,
        lambda x: 4 * x * (x**2 - 3) / (1 + x**2) ** 3,
    ),
    "x³": Function(lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x, lambda x: 6.0 + 0 * x),
}

H_GRID = np.logspace(-16, 0, 129)  # 8 steps per decade
_ERROR_LIMITS = (1e-18, 1e2)  # errors below are drawn at the bottom edge
_WINDOW = (-3.0, 3.0)  # x range of the function plot


def difference_errors(fn, x, h_values=H_GRID):
    """Absolute errors of the forward and centred differences of ``fn.f`` at ``x`` for each
    step in ``h_values``: two arrays (computed with ``models.numerical_gradient``)."""
    exact = float(fn.d1(x))

    def f(p):
        return float(fn.f(p[0]))

    point = np.array([float(x)])
    errors = {}
    for method in ("forward", "centered"):
        estimates = np.array(
            [numerical_gradient(f, point, h=h, method=method)[0] for h in h_values]
        )
        errors[method] = np.abs(estimates - exact)
    return errors["forward"], errors["centered"]


class FiniteDifferenceExplorer(Explorer):
    """Error of forward and centred differences against the step h (the V of round-off vs
    truncation), for a choice of function and point.

    Controls: ``function`` (dropdown), ``x`` (the point, -2 to 2), ``method`` ("forward",
    "centred" or "both"), ``h`` (log slider, 1e-16 to 1; marked on the curves).

    Args:
      **values: initial control values, e.g. ``FiniteDifferenceExplorer(function="sin(x)")``.
    """

    figsize = (8.4, 3.6)
    has_info = True
    alt = (
        "Error of the {method} finite-difference derivative of {function} at x = {x:.2f} "
        "against the step h on log-log axes, with h = {h:.1e} marked."
    )
    _first_controls = ("function",)

    def __init__(self, **values):
        self._errors = {}  # (function, x) -> (forward errors, centred errors)
        super().__init__(**values)

    def _make_controls(self):
        return {
            "function": dropdown("function f", list(FUNCTIONS), "exp(x)"),
            "x": float_slider("point x", 1.0, -2.0, 2.0, 0.05, continuous_update=True),
            "method": toggle("difference", ["forward", "centred", "both"], "both"),
            "h": log_slider("step h", 1e-5, 1e-16, 1.0, continuous_update=True),
        }

    # -- figure ------------------------------------------------------------------------------
    def _build(self):
        grid = self.figure.add_gridspec(1, 2, width_ratios=(0.8, 1.2))
        self.ax_f = self.figure.add_subplot(grid[0])
        self.ax_err = self.figure.add_subplot(grid[1])
        self._curves = {}  # function name -> Line2D of its graph (static)
        self._ylims = {}  # function name -> y limits of its graph
        ax = self.ax_f
        ax.set_xlabel("$x$")
        ax.set_ylabel("$f(x)$")
        ax.set_xlim(*_WINDOW)
        (self.tangent,) = ax.plot([], [], color="black", linewidth=1.0, label="tangent f′(x)")
        (self.secant_fwd,) = ax.plot([], [], color="C1", linewidth=1.2)
        (self.secant_ctr,) = ax.plot([], [], color="C0", linewidth=1.2)
        (self.points,) = ax.plot([], [], "o", color="C3", markersize=4)

        ax = self.ax_err
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(H_GRID[0], H_GRID[-1])
        ax.set_ylim(*_ERROR_LIMITS)
        ax.set_xlabel("step h")
        ax.set_ylabel("|difference quotient − f′(x)|")
        ax.grid(True, which="major", alpha=0.3)
        (self.err_fwd,) = ax.plot([], [], color="C1", linewidth=1.6, label="forward difference")
        (self.err_ctr,) = ax.plot([], [], color="C0", linewidth=1.6, label="centred difference")
        (self.trunc_fwd,) = ax.plot(
            [],
            [],
            color="C1",
            linestyle="--",
            linewidth=1.0,
            label="truncation |f″| h / 2 (slope 1)",
        )
        (self.trunc_ctr,) = ax.plot(
            [],
            [],
            color="C0",
            linestyle="--",
            linewidth=1.0,
            label="truncation |f‴| h² / 6 (slope 2)",
        )
        (self.roundoff,) = ax.plot(
            [],
            [],
            color="0.4",
            linestyle=":",
            linewidth=1.3,
            label="round-off ε |f(x)| / h (slope −1)",
        )
        (self.marks,) = ax.plot([], [], "o", color="C3", markersize=6, zorder=4)
        (self.h_line,) = ax.plot([], [], color="C3", linewidth=0.8, alpha=0.6)
        ax.set_title("error of the difference quotient", fontsize=10)
        handles = [self.err_fwd, self.err_ctr, self.trunc_fwd, self.trunc_ctr, self.roundoff]
        self.figure.legend(
            handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False
        )
        for artist in (
            self.tangent,
            self.secant_fwd,
            self.secant_ctr,
            self.points,
            self.err_fwd,
            self.err_ctr,
            self.trunc_fwd,
            self.trunc_ctr,
            self.roundoff,
            self.marks,
            self.h_line,
        ):
            self._animate(artist)

    def _show_function(self, name):
        for key, curve in self._curves.items():
            curve.set_visible(key == name)
        if name not in self._curves:
            x = np.linspace(*_WINDOW, 301)
            (self._curves[name],) = self.ax_f.plot(
                x, FUNCTIONS[name].f(x), color="0.3", linewidth=1.4
            )
            y = FUNCTIONS[name].f(x)
            pad = 0.08 * (y.max() - y.min())
            self._ylims[name] = (y.min() - pad, y.max() + pad)
        self.ax_f.set_ylim(*self._ylims[name])
        self.ax_f.set_title(f"f(x) = {name}: tangent and quotients", fontsize=10)

    def _draw(self):
        name, x = self.value("function"), float(self.value("x"))
        method, h = self.value("method"), float(self.value("h"))
        fn = FUNCTIONS[name]
        self._show_function(name)
        key = (name, x)
        if key not in self._errors:
            if len(self._errors) > 64:
                self._errors.pop(next(iter(self._errors)))
            self._errors[key] = difference_errors(fn, x)
        forward, centred = self._errors[key]
        fx, d1, d2, d3 = (float(g(x)) for g in fn)
        show_fwd, show_ctr = method in ("forward", "both"), method in ("centred", "both")

        slope_fwd = _quotient(fn.f, x, h, "forward")
        slope_ctr = _quotient(fn.f, x, h, "centered")
        self._draw_errors(
            forward, centred, (fx, d1, d2, d3), x, h, (slope_fwd, slope_ctr), show_fwd, show_ctr
        )

        # left: the graph, the tangent, and the slopes the quotients give with this h
        span = np.array([x - 1.0, x + 1.0])
        self.tangent.set_data(span, fx + d1 * (span - x))
        self.secant_fwd.set_data(span, fx + slope_fwd * (span - x))
        self.secant_ctr.set_data(span, fx + slope_ctr * (span - x))
        self.secant_fwd.set_visible(show_fwd)
        self.secant_ctr.set_visible(show_ctr)
        px = [x, x + h] + ([x - h] if show_ctr else [])
        self.points.set_data(px, fn.f(np.array(px)))

    def _draw_errors(self, forward, centred, derivatives, x, h, slopes, show_fwd, show_ctr):
        """Right panel: measured errors, the error models, the chosen h; the info line."""
        fx, d1, d2, d3 = derivatives
        slope_fwd, slope_ctr = slopes
        low, high = _ERROR_LIMITS
        for line, errors, show in (
            (self.err_fwd, forward, show_fwd),
            (self.err_ctr, centred, show_ctr),
        ):
            line.set_data(H_GRID, np.clip(errors, low, None))
            line.set_visible(show)
        h_grid = H_GRID
        for line, model, show in (
            (self.trunc_fwd, abs(d2) / 2 * h_grid, show_fwd),
            (self.trunc_ctr, abs(d3) / 6 * h_grid**2, show_ctr),
        ):
            line.set_data(h_grid, np.clip(model, low / 10, high * 10))
            line.set_visible(show and np.any(model > low))
        roundoff = EPS * abs(fx) / h_grid
        self.roundoff.set_data(h_grid, np.clip(roundoff, low / 10, high * 10))
        self.roundoff.set_visible(bool(np.any(roundoff > low)))
        at_h = [abs(slope_fwd - d1), abs(slope_ctr - d1)]
        shown = [(e, s) for e, s in zip(at_h, (show_fwd, show_ctr)) if s]
        self.marks.set_data([h] * len(shown), [max(e, low) for e, _ in shown])
        self.h_line.set_data([h, h], [low, high])
        errors_at_h, best_h = [], []
        for label, error, errors, show in (
            ("forward", at_h[0], forward, show_fwd),
            ("centred", at_h[1], centred, show_ctr),
        ):
            if show:
                errors_at_h.append(f"{label} {error:.1e}")
                best = H_GRID[np.argmin(errors)]
                best_h.append(f"{label} {best:.0e}" if errors.min() > 0 else f"{label} exact")
        self.info.value = (
            f"f′({x:g}) = {d1:.6g}. &nbsp; Error at h = {h:.1e}: "
            f"{', '.join(errors_at_h)}. &nbsp; Best h on the grid: "
            f"{', '.join(best_h)}."
        )

    def _before_layout(self):
        self.ax_f.set_ylim(-1.0, 1.0)  # the widest tick labels (-1.00, -0.75, ...)

    def _after_layout(self):
        self.ax_f.set_ylim(*self._ylims[self.value("function")])

    def _panels(self):
        return [[self.ax_f], [self.ax_err]]

    def _panel_key(self, i):
        return self.value("function") if i == 0 else None


def _quotient(f, x, h, method):
    """The difference quotient itself, with ``numerical_gradient``."""
    return float(numerical_gradient(lambda p: float(f(p[0])), np.array([x]), h=h, method=method)[0])
