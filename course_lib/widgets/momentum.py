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
from course_lib.widgets.controls import float_slider, log_slider
from course_lib.widgets.trajectory import PRESETS, Preset, TrajectoryExplorer

__all__ = ["MomentumExplorer", "ravine", "LANDSCAPES", "curvatures"]

ANGLE = np.pi / 6  # the ravine's shallow direction, 30 degrees above the x1 axis


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


def curvatures(landscape, kappa):
    """The Hessian eigenvalues at the minimum of the landscape labelled ``landscape``
    (ascending): ``[1, kappa]`` for the ravine."""
    if landscape == "ravine":
        return np.array([1.0, float(kappa)])
    f = _FIXED[landscape]
    return np.linalg.eigvalsh(np.atleast_2d(f.hessian(f.minima[0])))


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

    Controls: ``landscape`` (the ravine, Rosenbrock, the bumpy parabola; a new landscape
    resets the start), ``lr_scaled`` (the learning rate times lambda_max at the minimum, 0.05
    to 4), ``beta`` (the momentum, 0 to 0.99), ``kappa`` (the ravine's condition number, 1 to
    1000, log scale), ``steps``, ``x0``, ``y0`` (the start).

    Args:
      **values: initial control values, e.g. ``MomentumExplorer(kappa=100, beta=0.67)``.
        Defaults: ``landscape="ravine", lr_scaled=1.0, beta=0.9, kappa=25, steps=100,
        x0=-1.6, y0=0.3``.

    Attributes (besides ``TrajectoryExplorer``'s): ``predicted`` (dict: "gradient descent",
    "momentum" and "Nesterov" -> the rate per step that ``course_lib.analysis`` predicts for
    the current controls near the minimum; 1 or more means the run does not converge there).
    """

    def __init__(self, **values):
        controls = {
            "lr_scaled": float_slider("learning rate × λmax", 1.0, 0.05, 4.0, 0.05),
            "beta": float_slider("momentum β", 0.9, 0.0, 0.99, 0.01),
            "kappa": log_slider("ravine's condition number κ", 25.0, 1.0, 1000.0),
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
