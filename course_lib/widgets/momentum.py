"""Momentum explorer: gradient descent, momentum and Nesterov's method side by side in a ravine.

The trajectory explorer (``course_lib.widgets.trajectory``) configured for the momentum
chapter: three optimizers built from the same controls, on a 2-D quadratic bowl whose
condition number is a control,

- gradient descent: ``SGD(lr)``;
- momentum: ``SGD(lr, momentum=beta)`` (PyTorch's form of Polyak's heavy ball);
- Nesterov: ``SGD(lr, momentum=beta, nesterov=True)`` (plain ``SGD(lr)`` when beta is 0).

The learning rate is set relative to the largest curvature, as ``lr * lambda_max``, so that
its slider means the same on every bowl: gradient descent is stable below 2, momentum below
``2 + 2 beta``. The line above the figure adds the rates per step that the linear analysis
predicts for gradient descent and momentum (``course_lib.analysis``).
"""

from __future__ import annotations

import numpy as np

from course_lib import analysis
from course_lib.landscapes import Quadratic
from course_lib.optim import SGD
from course_lib.widgets.controls import float_slider, log_slider
from course_lib.widgets.trajectory import TrajectoryExplorer

__all__ = ["MomentumExplorer", "ravine"]

ANGLE = np.pi / 6  # the ravine's shallow direction, 30 degrees above the x1 axis


def ravine(kappa):
    """The explorer's landscape: ``Quadratic.bowl(kappa, angle=pi/6)``, with lambda_min = 1 and
    lambda_max = kappa."""
    return Quadratic.bowl(condition_number=kappa, angle=ANGLE)


def _gradient_descent(lr_scaled, kappa):
    return SGD(lr=lr_scaled / kappa)


def _momentum(lr_scaled, beta, kappa):
    return SGD(lr=lr_scaled / kappa, momentum=beta)


def _nesterov(lr_scaled, beta, kappa):
    return SGD(lr=lr_scaled / kappa, momentum=beta, nesterov=beta > 0)


class MomentumExplorer(TrajectoryExplorer):
    """Gradient descent, momentum and Nesterov's method from one start in a ravine.

    Controls: ``lr_scaled`` (the learning rate times lambda_max, 0.05 to 4), ``beta`` (the
    momentum, 0 to 0.99), ``kappa`` (the condition number, 1 to 1000, log scale), ``steps``,
    ``x0``, ``y0`` (the start).

    Args:
      **values: initial control values, e.g. ``MomentumExplorer(kappa=100, beta=0.67)``.
        Defaults: ``lr_scaled=1.0, beta=0.9, kappa=25, steps=100, x0=-1.6, y0=0.3``.

    Attributes (besides ``TrajectoryExplorer``'s): ``predicted`` (dict: "gradient descent"
    and "momentum" -> the rate per step that ``course_lib.analysis`` predicts for the current
    controls; 1 or more means the run diverges).
    """

    def __init__(self, **values):
        controls = {
            "lr_scaled": float_slider("learning rate × λmax", 1.0, 0.05, 4.0, 0.05),
            "beta": float_slider("momentum β", 0.9, 0.0, 0.99, 0.01),
            "kappa": log_slider("condition number κ", 25.0, 1.0, 1000.0),
        }
        optimizers = {
            "gradient descent": _gradient_descent,
            "momentum": _momentum,
            "Nesterov": _nesterov,
        }
        self.predicted = {}
        values = {"x0": -1.6, "y0": 0.3, **values}
        super().__init__(optimizers, landscape={"ravine": ravine}, controls=controls, **values)

    def _set_status(self, f, steps):
        super()._set_status(f, steps)
        h = self.value("lr_scaled") / self.value("kappa") * f.eigenvalues
        self.predicted = {
            "gradient descent": float(np.max(analysis.gd_rate(h))),
            "momentum": float(np.max(analysis.momentum_rate(h, self.value("beta")))),
        }
        rates = ", ".join(f"{label} {rate:.4f}" for label, rate in self.predicted.items())
        self.info.value += f" &nbsp;·&nbsp; predicted rate per step: {rates}"
