"""Explorers of the adaptive-methods chapter: an optimizer race and the effective learning rate.

``OptimizerRace`` is the trajectory explorer (``course_lib.widgets.trajectory``) with any of
eight optimizers, each with its own learning rate on a log slider, on a badly scaled bowl,
Rosenbrock's valley, Beale's function or a saddle:

- ``SGD``: ``SGD(lr)``; ``momentum`` and ``Nesterov``: ``SGD(lr, momentum=0.9[, nesterov])``;
- ``Adagrad``: ``Adagrad(lr)``; ``RMSProp``: ``RMSprop(lr)`` (alpha 0.99);
  ``Adadelta``: ``Adadelta(lr)`` (lr a scale, 1 by default);
- ``Adam``: ``Adam(lr)``; ``AdamW``: ``AdamW(lr)`` (weight decay 0.01).

Choosing a landscape resets the learning rates of the gradient-descent family to values that
suit its curvature; the adaptive methods keep theirs, because their steps are measured in units
of the parameters, not of the gradient.

``EffectiveLRExplorer`` runs one adaptive method on a badly scaled, axis-aligned bowl
(curvature 1 along x1, kappa along x2) and plots, next to its path, the learning rate it
applies to each coordinate at every step (``Optimizer.effective_lr``), against the largest
learning rate with which plain gradient descent would be stable in that coordinate,
``2 / lambda``. Its method dropdown includes Adam without bias correction.
"""

from __future__ import annotations

import inspect

import numpy as np

from course_lib.landscapes import Quadratic
from course_lib.optim import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    AdamNoBiasCorrection,
    AdamW,
    RMSprop,
)
from course_lib.plots import OKABE_ITO, mark_minima, plot_contours
from course_lib.train import effective_lrs, run
from course_lib.widgets.controls import dropdown, float_slider, int_slider, log_slider
from course_lib.widgets.explorer import Explorer
from course_lib.widgets.limits import log_limits, nice_ceil
from course_lib.widgets.trajectory import (
    PRESETS,
    STYLES,
    Preset,
    TrajectoryExplorer,
    _sliced,
)

__all__ = ["OptimizerRace", "EffectiveLRExplorer", "METHODS", "RACE_LANDSCAPES", "scaled_bowl"]


def scaled_bowl(kappa=50.0):
    """The badly scaled bowl of this module: ``Quadratic.bowl(kappa)`` without rotation,
    curvature 1 along x1 and ``kappa`` along x2 (the axes are the eigen-directions, the case
    that per-coordinate step sizes can fix)."""
    return Quadratic.bowl(condition_number=kappa)


# name -> (builder of the optimizer from its lr, default lr, slider range)
METHODS = {
    "SGD": (lambda lr: SGD(lr=lr), 0.03, (1e-4, 1.0)),
    "momentum": (lambda lr: SGD(lr=lr, momentum=0.9), 0.01, (1e-4, 1.0)),
    "Nesterov": (lambda lr: SGD(lr=lr, momentum=0.9, nesterov=True), 0.01, (1e-4, 1.0)),
    "Adagrad": (lambda lr: Adagrad(lr=lr), 0.5, (1e-3, 10.0)),
    "RMSProp": (lambda lr: RMSprop(lr=lr), 0.02, (1e-4, 1.0)),
    "Adadelta": (lambda lr: Adadelta(lr=lr), 1.0, (1e-2, 10.0)),
    "Adam": (lambda lr: Adam(lr=lr), 0.05, (1e-4, 1.0)),
    "AdamW": (lambda lr: AdamW(lr=lr), 0.05, (1e-4, 1.0)),
}

RACE_LANDSCAPES = {
    "badly scaled bowl": Preset(scaled_bowl, 0.03, (-1.8, 1.2)),
    "Rosenbrock": PRESETS["Rosenbrock"],
    "Beale": PRESETS["Beale"],
    "saddle": PRESETS["saddle"],
}

# learning rates of the gradient-descent family per landscape: (SGD, with momentum 0.9)
_GD_LRS = {
    "badly scaled bowl": (0.03, 0.01),
    "Rosenbrock": (0.002, 0.001),
    "Beale": (0.01, 0.003),
    "saddle": (0.05, 0.01),
}
_GD_FAMILY = {"SGD": 0, "momentum": 1, "Nesterov": 1}
DEFAULT_METHODS = ("momentum", "Adagrad", "RMSProp", "Adam")


def _control(method):
    """The name of a method's learning-rate control: ``lr_adam``, ``lr_rmsprop``, ..."""
    return "lr_" + method.lower()


def _factory(build, control):
    """``build(lr)`` as a factory whose one parameter names its control, so that the explorer
    re-runs this optimizer only when its own slider moves."""

    def make(**values):
        return build(values[control])

    make.__signature__ = inspect.Signature(
        [inspect.Parameter(control, inspect.Parameter.KEYWORD_ONLY)]
    )
    return make


class OptimizerRace(TrajectoryExplorer):
    """Any of SGD, momentum, Nesterov, Adagrad, RMSProp, Adadelta, Adam and AdamW from one
    start on one landscape, each with its own learning rate.

    Controls: ``landscape`` (badly scaled bowl, Rosenbrock, Beale, saddle), one log slider
    ``lr_<method>`` per method shown (``lr_adam``, ``lr_sgd``, ...), ``steps``, ``x0``, ``y0``.

    Args:
      methods: the methods to race, names of ``METHODS`` (1 to 7 of them; default momentum,
        Adagrad, RMSProp and Adam).
      landscape: the landscape shown first, a name of ``RACE_LANDSCAPES``.
      max_steps: the largest number of steps.
      **values: initial control values, e.g. ``lr_adam=0.1, steps=300``.

    Raises:
      ValueError: for an unknown method or landscape, a method named twice, or more methods
        than styles.
    """

    def __init__(
        self, methods=DEFAULT_METHODS, landscape="badly scaled bowl", max_steps=1000, **values
    ):
        if isinstance(methods, str) or not isinstance(methods, (list, tuple)):
            raise ValueError(f"methods must be a list of names of {list(METHODS)}, got {methods!r}")
        for name in methods:
            if name not in METHODS:
                raise ValueError(f"methods must be names of {list(METHODS)}, got {name!r}")
        if len(set(methods)) != len(methods) or not 1 <= len(methods) <= len(STYLES):
            raise ValueError(
                f"methods must be 1 to {len(STYLES)} distinct names, got {list(methods)!r}"
            )
        if landscape not in RACE_LANDSCAPES:
            raise ValueError(f"landscape must be one of {list(RACE_LANDSCAPES)}, got {landscape!r}")
        self.methods = list(methods)
        controls, optimizers = {}, {}
        for name in self.methods:
            build, lr, (low, high) = METHODS[name]
            lr = self._default_lr(name, landscape, lr)
            controls[_control(name)] = log_slider(f"{name}: learning rate", lr, low, high)
            optimizers[name] = _factory(build, _control(name))
        values = {"steps": 200, **values}
        super().__init__(
            optimizers,
            landscape=RACE_LANDSCAPES,
            controls=controls,
            selected=landscape,
            max_steps=max_steps,
            **values,
        )

    @staticmethod
    def _default_lr(method, landscape, lr):
        if method in _GD_FAMILY:
            return _GD_LRS[landscape][_GD_FAMILY[method]]
        return lr

    def _on_control(self, name):
        if name == "landscape":  # the gradient-descent family needs a learning rate to match
            for method in self.methods:
                if method in _GD_FAMILY:
                    lr = self._default_lr(method, self.value("landscape"), None)
                    self.controls[_control(method)].value = lr
        super()._on_control(name)


# ---------------------------------------------------------------------------------------------
# The effective learning rate of one adaptive method, per coordinate
# ---------------------------------------------------------------------------------------------
# name -> (builder from lr and the decay of the squared-gradient average, default lr)
ADAPTIVE = {
    "Adagrad": (lambda lr, decay: Adagrad(lr=lr), 0.5),
    "RMSProp": (lambda lr, decay: RMSprop(lr=lr, alpha=decay), 0.02),
    "Adadelta": (lambda lr, decay: Adadelta(lr=lr, rho=decay), 1.0),
    "Adam": (lambda lr, decay: Adam(lr=lr, betas=(0.9, decay)), 0.05),
    "Adam without bias correction": (
        lambda lr, decay: AdamNoBiasCorrection(lr=lr, betas=(0.9, decay)),
        0.05,
    ),
}
_COORDS = (  # (label, colour, line style, marker) of the two coordinates
    ("x₁ (flat, λ = 1)", OKABE_ITO["blue"], "-", "o"),
    ("x₂ (steep, λ = κ)", OKABE_ITO["vermillion"], "--", "s"),
)


class EffectiveLRExplorer(Explorer):
    """One adaptive method on a badly scaled bowl: its path, and the learning rate it gives
    each coordinate at every step next to gradient descent's stability limit ``2 / lambda``.

    Controls: ``method`` (Adagrad, RMSProp, Adadelta, Adam, Adam without bias correction),
    ``lr`` (log slider), ``decay`` (the decay of the average of squared gradients: RMSProp's
    alpha, Adadelta's rho, Adam's beta2; Adagrad has none), ``kappa`` (the bowl's condition
    number), ``steps``.

    Args:
      **values: initial control values, e.g. ``method="RMSProp", decay=0.9``.

    Attributes (besides ``Explorer``'s): ``trajectory`` (the last run, ``train.run`` with
    ``keep_states=True``), ``rates`` (its ``(steps, 2)`` effective learning rates),
    ``path_line``, ``rate_lines`` (one per coordinate), ``limit_lines``.
    """

    figsize = (8.4, 3.6)
    has_info = True
    start = (-1.8, 1.2)

    def _make_controls(self):
        return {
            "method": dropdown("method", list(ADAPTIVE), "RMSProp"),
            "lr": log_slider("learning rate", 0.02, 1e-4, 10.0),
            "decay": float_slider(
                "decay of the squared average", 0.99, 0.5, 0.999, 0.001, fmt=".3f"
            ),
            "kappa": log_slider("condition number κ", 50.0, 1.0, 1000.0),
            "steps": int_slider("steps", 200, 1, 1000),
        }

    def _on_control(self, name):
        if name == "method":  # each method with a learning rate that suits it
            self.controls["lr"].value = ADAPTIVE[self.value("method")][1]
        self.controls["decay"].disabled = self.value("method") == "Adagrad"

    def _build(self):
        grid = self.figure.add_gridspec(1, 2, width_ratios=(1.0, 1.25))
        self.ax_path = self.figure.add_subplot(grid[0])
        self.ax_rate = self.figure.add_subplot(grid[1])
        self.ax_path.set_xlim(-2, 2)
        self.ax_path.set_ylim(-2, 2)
        self.ax_path.set_xlabel("x₁")
        self.ax_path.set_ylabel("x₂")
        self._bowls = {}
        self._cache = {}  # (method, lr, decay, kappa) -> (Trajectory, effective rates)
        (self.path_line,) = self.ax_path.plot(
            [], [], "-", color=STYLES[0].color, marker="o", ms=2.5, lw=1.2, zorder=3
        )
        self._animate(self.path_line)
        self.rate_lines, self.limit_lines = [], []
        for label, colour, ls, marker in _COORDS:
            line = self.ax_rate.plot([], [], ls, color=colour, marker=marker, ms=4, label=label)[0]
            self.rate_lines.append(self._animate(line))
            limit = self.ax_rate.plot([], [], ":", color=colour, lw=1.5)[0]
            self.limit_lines.append(self._animate(limit))
        self.ax_rate.plot([], [], ":", color="black", lw=1.5, label="2/λ: gradient descent's limit")
        self.ax_rate.set_yscale("log")
        self.ax_rate.set_xlabel("step t")
        self.ax_rate.set_ylabel("effective learning rate")
        self.ax_rate.grid(True, which="major", alpha=0.3)
        self.ax_rate.legend(loc="upper left", fontsize=8, bbox_to_anchor=(0.0, -0.18), ncols=2)
        self._limits = None

    def _bowl_artists(self, kappa):
        """The contours of the bowl with condition number kappa, drawn once and cached."""
        key = round(float(kappa), 6)
        for k, artists in self._bowls.items():
            for artist in artists:
                artist.set_visible(k == key)
        if key not in self._bowls:
            f = scaled_bowl(kappa)
            contours = plot_contours(self.ax_path, f, n=90, levels=15, minima=False)
            self._bowls[key] = [contours, mark_minima(self.ax_path, f)]
            if len(self._bowls) > 24:
                old = next(iter(self._bowls))
                for artist in self._bowls.pop(old):
                    artist.remove()
        self._shown = key
        return scaled_bowl(kappa)

    def _draw(self):
        method, kappa, steps = self.value("method"), self.value("kappa"), self.value("steps")
        f = self._bowl_artists(kappa)
        self.trajectory, self.rates = self._run(f, steps)
        path, k = self.trajectory.path, self.trajectory.steps_taken
        self.path_line.set_data(path[:, 0], path[:, 1])
        self.path_line.set_markevery(max(1, len(path) // 40))
        t = np.arange(1, k + 1)
        limits = 2.0 / f.eigenvalues  # x1 has curvature 1, x2 has kappa
        for i, (line, limit) in enumerate(zip(self.rate_lines, self.limit_lines)):
            line.set_data(t, self.rates[:, i])
            line.set_markevery(max(1, k // 8))
            limit.set_data([0, nice_ceil(steps)], [limits[i]] * 2)
        shown = np.concatenate([self.rates.ravel(), limits])
        shown = shown[np.isfinite(shown) & (shown > 0)]
        ylim = log_limits(float(shown.min()), float(shown.max()))
        self._limits = ((0, nice_ceil(steps)), ylim)
        self.ax_rate.set_xlim(*self._limits[0])
        self.ax_rate.set_ylim(*ylim)
        self.ax_path.set_title(f"{method} on a bowl with κ = {kappa:.3g}", fontsize=10)
        self._set_info(f, k)

    def _run(self, f, steps):
        """The run and its effective learning rates for the controls, sliced to ``steps``:
        runs are cached, and made longer than asked, so that the steps slider only slices."""
        key = (self.value("method"), self.value("lr"), self.value("decay"), self.value("kappa"))
        traj, rates = self._cache.get(key, (None, None))
        if traj is None or (traj.steps_taken < steps and not traj.diverged):
            longer = min(max(steps, 100, 2 * (traj.steps_taken if traj else 0)), 1000)
            optimizer = ADAPTIVE[key[0]][0](key[1], key[2])
            traj = run(optimizer, f, self.start, longer, bound=1e6, keep_states=True)
            rates = effective_lrs(optimizer, traj)
            if len(self._cache) > 64:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = traj, rates
        k = min(steps, traj.steps_taken)
        return _sliced(traj, steps), rates[:k]

    def _set_info(self, f, k):
        traj = self.trajectory
        gap = traj.losses[-1] - f.min_value
        end = (
            f"diverged at step {traj.diverged_at}"
            if traj.diverged
            else f"after {k} steps: f − f* = {gap:.2e}"
        )
        last = self.rates[-1] if k else np.full(2, np.nan)
        self.info.value = (
            f"<b>{self.value('method')}</b>: {end} &nbsp;·&nbsp; last effective learning rates: "
            f"x₁ {last[0]:.3g} (limit 2), x₂ {last[1]:.3g} (limit {2 / f.eigenvalues[-1]:.3g})"
        )

    def _panels(self):
        return [[self.ax_path], [self.ax_rate]]

    def _panel_key(self, i):
        return (self._shown, self.ax_path.get_title()) if i == 0 else self._limits

    def alt_text(self):
        traj = self.trajectory
        end = "diverged" if traj.diverged else f"ends at loss {traj.losses[-1]:.2e}"
        return (
            f"Left: the path of {self.value('method')} on the contours of a bowl with condition "
            f"number {self.value('kappa'):.3g}; the run {end}. Right: on a log scale, the "
            f"learning rate it applies to the flat and to the steep coordinate at each step, "
            f"with dotted lines at gradient descent's stability limits 2/λ."
        )
