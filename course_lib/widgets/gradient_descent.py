"""Gradient descent explorer: landscape, learning rate, steps and start point.

Left: the trajectory of ``x <- x - lr * grad f(x)`` on the contour lines (or on the graph of a
1-D landscape). Right: the loss against the step, on a log axis. A run that blows up stops
and says so in the figure ("diverged at step 12: lr too large for this curvature").

It is the trajectory explorer (``course_lib.widgets.trajectory``) with one optimizer,
``SGD(lr=lr)``, a learning-rate slider, and every preset landscape in the dropdown.
"""

from __future__ import annotations

from course_lib import landscapes
from course_lib.optim import SGD
from course_lib.widgets.controls import log_slider
from course_lib.widgets.trajectory import PRESETS, Preset, TrajectoryExplorer, custom_preset

__all__ = ["GradientDescentExplorer", "PRESETS", "Preset"]


def _stable_lr(f):
    """``2 / lambda_max`` for a landscape with a constant Hessian (quadratics), else None."""
    if isinstance(f, landscapes.Quadratic) and f.eigenvalues[-1] > 0:
        return 2.0 / float(f.eigenvalues[-1])
    if isinstance(f, landscapes.Parabola):
        return 1.0 / f.a  # f'' = 2a
    return None


class GradientDescentExplorer(TrajectoryExplorer):
    """Gradient descent on a landscape: trajectory on the contours and loss curve.

    Controls: ``landscape`` (dropdown; choosing one resets lr and start to values that suit
    it), ``lr`` (log slider, 1e-5 to 10), ``steps`` (1 to 1000), ``x0``, ``y0`` (start point;
    ``y0`` is disabled for 1-D landscapes).

    Args:
      landscape: the landscape shown first: a name from ``PRESETS`` (default "ill-conditioned
        bowl") or any 1-D/2-D landscape object with ``bounds`` (added to the dropdown).
      **values: initial control values, e.g. ``lr=0.001, steps=500, x0=-1.0, y0=1.0``.

    Attributes (besides ``TrajectoryExplorer``'s): ``path2``, ``path1`` (the path on the
    2-D and on the 1-D view), ``loss_line``.

    Example: a cell whose last line is ``GradientDescentExplorer("Rosenbrock", steps=500)``.
    """

    def __init__(self, landscape=None, **values):
        presets = dict(PRESETS)
        if landscape is None:
            landscape = "ill-conditioned bowl"
        elif not isinstance(landscape, str):
            name = f"{getattr(landscape, 'name', type(landscape).__name__)} (yours)"
            presets[name] = custom_preset(landscape)
            landscape = name
        if landscape not in presets:
            raise ValueError(
                f"landscape must be one of {list(presets)} or a landscape object, got {landscape!r}"
            )
        super().__init__(
            {"gradient descent": lambda lr: SGD(lr=lr)},
            landscape=presets,
            controls={"lr": log_slider("learning rate", 0.01, 1e-5, 10.0)},
            selected=landscape,
            **values,
        )

    def _reset_to_preset(self):
        super()._reset_to_preset()
        self.controls["lr"].value = self._view().preset.lr

    def _title(self, view):
        stable = _stable_lr(view.f)
        return view.label if stable is None else f"{view.label}: stable iff lr < {stable:.3g}"

    @property
    def path2(self):
        return self.paths2[0]

    @property
    def path1(self):
        return self.paths1[0]

    @property
    def loss_line(self):
        return self.loss_lines[0]
