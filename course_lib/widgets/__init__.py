"""Interactive explorers for the chapters (ipywidgets + Matplotlib).

End a notebook cell with an explorer and it displays itself::

    from course_lib.widgets import GradientDescentExplorer
    GradientDescentExplorer("Rosenbrock", steps=500)

- ``TrajectoryExplorer(optimizers, landscape=None, schedule=None, controls=None)``: any
  course_lib optimizers (ready, or built from control values by factories such as
  ``lambda lr, beta: SGD(lr=lr, momentum=beta)``) from one start on a 1-D or 2-D landscape:
  paths on the contours and loss curves, one style per optimizer (colour, dashes and marker),
  divergence shown as a stopped path and a message. The base of the optimizer explorers of
  chapters 5-8 (momentum, adaptive methods, schedules); see ``course_lib.widgets.trajectory``.
- ``MomentumExplorer()``: the trajectory explorer configured for the momentum chapter:
  gradient descent, momentum and Nesterov in a ravine (or on Rosenbrock's valley or a bumpy
  parabola), with the learning rate as a multiple of ``1/lambda_max``, the momentum and the
  condition number as controls, and the rates that ``course_lib.analysis`` predicts.
- ``RateMap()``: the rate per step of momentum and of Nesterov's method over
  ``(lr * lambda, beta)``, two maps side by side with the stability edges, and sliders that
  move a marker on both (``course_lib.widgets.rate_map``).
- ``OptimizerRace(methods=...)``: the trajectory explorer for the adaptive methods: any of
  SGD, momentum, Nesterov, Adagrad, RMSProp, Adadelta, Adam and AdamW, each with its own
  learning rate (log sliders), on a badly scaled bowl, Rosenbrock, Beale or a saddle.
- ``EffectiveLRExplorer()``: one adaptive method (Adam with or without bias correction too)
  on a badly scaled bowl: its path, and the learning rate it applies to each coordinate at
  every step against gradient descent's stability limit ``2 / lambda``.
- ``SecondOrderExplorer()``: the trajectory explorer for the appendix on second-order
  methods: gradient descent, Newton's method (damping and Armijo line search as controls) and
  BFGS on a badly scaled bowl, Rosenbrock, Beale or a saddle.
- ``GradientDescentExplorer(landscape=None)``: the trajectory explorer with one optimizer,
  ``SGD(lr)``: learning rate, steps and start point on 2-D and 1-D landscapes.
- ``RandomSearchExplorer(optimizer=None)``: global vs local random search on a d-dimensional
  quadratic; samples on the contours, best loss against evaluations next to gradient
  descent's (or the optimizer given).
- ``FiniteDifferenceExplorer()``: error of forward and centred differences against the step
  h on log-log axes (truncation vs round-off, the V), for a choice of function and point.
- ``MinibatchExplorer(optimizer=SGD)``: batch size and learning rate on real data (linear
  regression on two features of the diabetes data); paths on the loss contours, loss
  against epochs and against wall-clock time.
- ``TrainingDashboard()``: an MLP trained on the digits with a chosen optimizer, learning rate,
  batch size, schedule and number of epochs: loss and accuracy per epoch (training and
  validation) and eight test digits with their predicted labels. Each change trains for a
  fraction of a second (runs are cached).

Each explorer has ``controls`` (dict name -> ipywidgets control), ``figure`` (the Matplotlib
Figure, built once; a control change updates its artists) and ``update(**values)`` (set
controls from code, redraw once); each constructor accepts initial control values as keyword
arguments. The figure is shown as a PNG inside the widget, so a page built without a running
kernel still shows it at the initial values; the image's ``tooltip`` (its accessible name)
says in a sentence what it shows.

Modules: ``explorer`` (the ``Explorer`` base class: figure drawn once, cached panels, blitted
updates), ``controls`` (slider, dropdown and toggle factories, the responsive control grid),
``limits`` (axis limits rounded to few values), ``png`` (the PNG encoder), and one module per
explorer.
"""

from course_lib.widgets.adaptive import EffectiveLRExplorer, OptimizerRace
from course_lib.widgets.classifier import TrainingDashboard
from course_lib.widgets.finite_difference import FiniteDifferenceExplorer
from course_lib.widgets.gradient_descent import GradientDescentExplorer
from course_lib.widgets.minibatch import MinibatchExplorer
from course_lib.widgets.momentum import MomentumExplorer
from course_lib.widgets.random_search import RandomSearchExplorer
from course_lib.widgets.rate_map import RateMap
from course_lib.widgets.schedules import PlateauExplorer, ScheduleDesigner
from course_lib.widgets.second_order import SecondOrderExplorer
from course_lib.widgets.trajectory import TrajectoryExplorer

__all__ = [
    "RandomSearchExplorer",
    "FiniteDifferenceExplorer",
    "GradientDescentExplorer",
    "MinibatchExplorer",
    "MomentumExplorer",
    "RateMap",
    "TrajectoryExplorer",
    "OptimizerRace",
    "EffectiveLRExplorer",
    "ScheduleDesigner",
    "PlateauExplorer",
    "SecondOrderExplorer",
    "TrainingDashboard",
]
