"""Momentum explorer: gradient descent, momentum and Nesterov's method side by side.

The trajectory explorer (``course_lib.widgets.trajectory``) configured for the momentum and
Nesterov chapters: three optimizers built from the same controls,

- gradient descent: ``SGD(lr)``;
- momentum: ``SGD(lr, momentum=beta)`` (PyTorch's form of Polyak's heavy ball);
- Nesterov: ``SGD(lr, momentum=beta, nesterov=True)`` (plain ``SGD(lr)`` when beta is 0);

on a landscape chosen from ``LANDSCAPES``: the ravine (a 2-D quadratic bowl whose condition
number is a control), Rosenbrock's valley, and the parabola with bumps (1-D).

The learning rate is set relative to the largest curvature at the minimum, as
``lr * lambda_max``, so that its slider means the same on every landscape: on a quadratic,
gradient descent is stable below 2, momentum below ``2 + 2 beta`` and Nesterov below
``(2 + 2 beta) / (1 + 2 beta)``. The line above the figure adds the rates per step that the
linear analysis (``course_lib.analysis``) predicts from the Hessian at the minimum: exact on
the ravine, the rates of the final approach elsewhere.
"""

from __future__ import annotations

import numpy as np

from course_lib import analysis
from course_lib.landscapes import Bumpy, Quadratic, Rosenbrock
from course_lib.optim import SGD
from course_lib.widgets.controls import float_slider, log_slider, toggle
from course_lib.widgets.limits import nice_ceil
from course_lib.widgets.trajectory import PRESETS, STYLES, Preset, TrajectoryExplorer

__all__ = ["MomentumExplorer", "ravine", "LANDSCAPES", "curvatures"]

ANGLE = np.pi / 6  # the ravine's shallow direction, 30 degrees above the x1 axis
# fixed limits of the eigen-component panel (starts are within a few units of the minimum):
# its background is then redrawn only when the number of steps or the direction changes
EIGEN_LIMITS = (1e-10, 1e2)


def ravine(kappa):
    """The explorer's first landscape: ``Quadratic.bowl(kappa, angle=pi/6)``, with
    lambda_min = 1 and lambda_max = kappa."""
    return Quadratic.bowl(condition_number=kappa, angle=ANGLE)


# dropdown label -> the landscape (a factory of the controls, or a preset with a start)
LANDSCAPES = {
    "ravine": ravine,
    "Rosenbrock": PRESETS["Rosenbrock"],
    "bumpy parabola (1-D)": Preset(Bumpy, 0.05, (3.5,)),
}
_FIXED = {"Rosenbrock": Rosenbrock(), "bumpy parabola (1-D)": Bumpy()}


def eigen_directions(f):
    """The Hessian of landscape ``f`` at its (first) minimum: eigenvalues, ascending, and the
    eigenvectors as columns."""
    return np.linalg.eigh(np.atleast_2d(f.hessian(f.minima[0])))


def curvatures(landscape, kappa):
    """The Hessian eigenvalues at the minimum of the landscape labelled ``landscape``
    (ascending): ``[1, kappa]`` for the ravine."""
    if landscape == "ravine":
        return np.array([1.0, float(kappa)])
    return eigen_directions(_FIXED[landscape])[0]


def _lr(lr_scaled, kappa, landscape):
    return lr_scaled / curvatures(landscape, kappa)[-1]


def _gradient_descent(lr_scaled, kappa, landscape="ravine"):
    return SGD(lr=_lr(lr_scaled, kappa, landscape))


def _momentum(lr_scaled, beta, kappa, landscape="ravine"):
    return SGD(lr=_lr(lr_scaled, kappa, landscape), momentum=beta)


def _nesterov(lr_scaled, beta, kappa, landscape="ravine"):
    return SGD(lr=_lr(lr_scaled, kappa, landscape), momentum=beta, nesterov=beta > 0)


class MomentumExplorer(TrajectoryExplorer):
    """Gradient descent, momentum and Nesterov's method from one start on one landscape.

    Left: the paths on the landscape. Right, above: the loss against the step; below: each
    run's distance to the minimum along one eigen-direction of the Hessian there (the error's
    eigen-component, log scale), the steepest or the shallowest, as the ``direction`` control
    chooses: steep directions show the overshoot, shallow ones the acceleration.

    Controls: ``landscape`` (the ravine, Rosenbrock, the bumpy parabola; a new landscape
    resets the start), ``lr_scaled`` (the learning rate times lambda_max at the minimum, 0.05
    to 4), ``beta`` (the momentum, 0 to 0.99), ``kappa`` (the ravine's condition number, 1 to
    1000, log scale), ``direction`` ("steepest" or "shallowest"), ``steps``, ``x0``, ``y0``
    (the start).

    Args:
      **values: initial control values, e.g. ``MomentumExplorer(kappa=100, beta=0.67)``.
        Defaults: ``landscape="ravine", lr_scaled=1.0, beta=0.9, kappa=25, steps=100,
        x0=-1.6, y0=0.3``.

    Attributes (besides ``TrajectoryExplorer``'s): ``predicted`` (dict: "gradient descent",
    "momentum" and "Nesterov" -> the rate per step that ``course_lib.analysis`` predicts for
    the current controls near the minimum; 1 or more means the run does not converge there),
    ``ax_eigen`` and ``eigen_lines`` (the eigen-component panel and its curves, one per
    optimizer, in the optimizer's style).
    """

    figsize = (8.4, 5.2)

    def __init__(self, **values):
        controls = {
            "lr_scaled": float_slider("learning rate × λmax", 1.0, 0.05, 4.0, 0.05),
            "beta": float_slider("momentum β", 0.9, 0.0, 0.99, 0.01),
            "kappa": log_slider("ravine's condition number κ", 25.0, 1.0, 1000.0),
            "direction": toggle("error along the", ["steepest", "shallowest"], "steepest"),
        }
        optimizers = {
            "gradient descent": _gradient_descent,
            "momentum": _momentum,
            "Nesterov": _nesterov,
        }
        self.predicted = {}
        selected = values.pop("landscape", "ravine")
        if selected == "ravine":
            values = {"x0": -1.6, "y0": 0.3, **values}
        super().__init__(
            optimizers, landscape=LANDSCAPES, controls=controls, selected=selected, **values
        )
        self.controls["kappa"].disabled = selected != "ravine"

    def _build(self):
        super()._build()
        top, bottom = self.ax_loss.get_subplotspec().subgridspec(2, 1)
        self.ax_loss.set_subplotspec(top)
        self.ax_eigen = self.figure.add_subplot(bottom)
        self.ax_eigen.set_yscale("log")
        self.ax_eigen.set_ylim(*EIGEN_LIMITS)
        self.ax_eigen.set_xlabel("step t")
        self.ax_eigen.grid(True, which="major", alpha=0.3)
        self.ax_loss.set_xlabel("")
        self.eigen_lines = []
        for style in STYLES[: len(self.labels)]:
            (line,) = self.ax_eigen.plot(
                [], [], color=style.color, linestyle=style.linestyle, marker=style.marker,
                markersize=4, linewidth=1.3, scalex=False, scaley=False,
            )  # fmt: skip
            self.eigen_lines.append(self._animate(line))
        self._eigen_key = None

    def _draw(self):
        super()._draw()
        f = self._view().f
        vectors = eigen_directions(f)[1]
        k = -1 if self.value("direction") == "steepest" else 0
        steps = int(self.value("steps"))
        for i, (line, label) in enumerate(zip(self.eigen_lines, self.labels)):
            traj = self.results[label]
            if isinstance(traj, str):
                line.set_data([], [])
                continue
            errors = traj.path.reshape(len(traj.path), -1) - np.ravel(f.minima[0])
            y = np.maximum(np.abs(errors @ vectors[:, k]), 1e-30)
            line.set_data(np.arange(len(y)), y)
            every = max(1, steps // 8)
            line.set_markevery((i * every // len(self.labels), every))
        self.ax_eigen.set_xlim(0, nice_ceil(steps))
        self.ax_eigen.set_ylabel(f"|error|, {self.value('direction')}")
        self._eigen_key = (nice_ceil(steps), k)  # the static part of the panel

    def _panels(self):
        return [[self.ax2, self.ax1], [self.ax_loss, self.ax_eigen]]

    def _panel_key(self, i):
        key = super()._panel_key(i)
        return key if i == 0 else (key, self._eigen_key)

    def alt_text(self):
        return (
            f"{super().alt_text()} Below the loss: each run's distance to the minimum along "
            f"the {self.value('direction')} eigen-direction of the Hessian there, log scale."
        )

    def _on_control(self, name):
        super()._on_control(name)
        if name == "landscape":  # kappa shapes the ravine only
            self.controls["kappa"].disabled = self.value("landscape") != "ravine"

    def _set_status(self, f, steps):
        super()._set_status(f, steps)
        beta = self.value("beta")
        lambdas = curvatures(self.value("landscape"), self.value("kappa"))
        h = self.value("lr_scaled") * lambdas / lambdas[-1]  # lr * lambda for each direction
        self.predicted = {
            "gradient descent": float(np.max(analysis.gd_rate(h))),
            "momentum": float(np.max(analysis.momentum_rate(h, beta))),
            "Nesterov": float(np.max(analysis.nesterov_rate(h, beta))),
        }
        rates = ", ".join(f"{label} {rate:.4f}" for label, rate in self.predicted.items())
        where = "" if self.value("landscape") == "ravine" else " near the minimum"
        self.info.value += f" &nbsp;·&nbsp; predicted rate per step{where}: {rates}"
