"""The explorer of the appendix on second-order methods: Newton, BFGS and gradient descent.

``SecondOrderExplorer`` is the trajectory explorer (``course_lib.widgets.trajectory``) with
three optimizers from one start: gradient descent (``SGD(lr)``), Newton's method
(``course_lib.second_order.Newton`` with a damping lambda and an optional Armijo line search)
and ``BFGS`` (with its backtracking line search), on a badly scaled bowl, Rosenbrock's valley,
Beale's function or the saddle ``x^2 - y^2``. Choosing a landscape resets gradient descent's
learning rate to one that suits its curvature (the values of ``OptimizerRace``); Newton and
BFGS need none: their step is 1, shortened by the line search.
"""

from __future__ import annotations

from course_lib.optim import SGD
from course_lib.second_order import BFGS, Newton
from course_lib.widgets.adaptive import _GD_LRS, RACE_LANDSCAPES
from course_lib.widgets.controls import float_slider, log_slider, toggle
from course_lib.widgets.trajectory import TrajectoryExplorer

__all__ = ["SecondOrderExplorer"]

_ON_OFF = ("on", "off")


def _newton(damping, line_search):
    return Newton(damping=damping, line_search=line_search == "on")


def _gradient_descent(lr):
    return SGD(lr=lr)


def _bfgs():
    return BFGS()


class SecondOrderExplorer(TrajectoryExplorer):
    """Gradient descent, Newton's method and BFGS from one start on one landscape.

    Controls: ``landscape`` (badly scaled bowl, Rosenbrock, Beale, saddle), ``lr`` (gradient
    descent's learning rate, a log slider), ``damping`` (Newton's lambda, 0 to 10),
    ``line_search`` ("on"/"off", Newton's Armijo backtracking), ``steps``, ``x0``, ``y0``.

    Args:
      landscape: the landscape shown first, a name of ``RACE_LANDSCAPES``.
      max_steps: the largest number of steps.
      **values: initial control values, e.g. ``damping=3.0, line_search="off"``.
    """

    def __init__(self, landscape="Rosenbrock", max_steps=500, **values):
        if landscape not in RACE_LANDSCAPES:
            raise ValueError(f"landscape must be one of {list(RACE_LANDSCAPES)}, got {landscape!r}")
        controls = {
            "lr": log_slider("gradient descent: learning rate", _GD_LRS[landscape][0], 1e-4, 1.0),
            "damping": float_slider("Newton: damping λ", 0.0, 0.0, 10.0, 0.1),
            "line_search": toggle("Newton: line search", _ON_OFF, "on"),
        }
        optimizers = {
            "gradient descent": _gradient_descent,
            "Newton": _newton,
            "BFGS": _bfgs,
        }
        values = {"steps": 100, **values}
        super().__init__(
            optimizers,
            landscape=RACE_LANDSCAPES,
            controls=controls,
            selected=landscape,
            max_steps=max_steps,
            **values,
        )

    def _on_control(self, name):
        if name == "landscape":
            self.controls["lr"].value = _GD_LRS[self.value("landscape")][0]
        super()._on_control(name)
