"""Interactive explorers for the chapters of Part I (ipywidgets + Matplotlib).

End a notebook cell with an explorer and it displays itself::

    from course_lib.widgets import GradientDescentExplorer
    GradientDescentExplorer("Rosenbrock", steps=500)

- ``RandomSearchExplorer()``: global vs local random search on a d-dimensional quadratic;
  samples on the contours, best loss against evaluations next to gradient descent's.
- ``FiniteDifferenceExplorer()``: error of forward and centred differences against the step
  h on log-log axes (truncation vs round-off, the V), for a choice of function and point.
- ``GradientDescentExplorer(landscape=None)``: learning rate, steps and start point on 2-D
  and 1-D landscapes; trajectory on the contours and loss curve; divergence is a message in
  the figure.
- ``MinibatchExplorer()``: batch size and learning rate of SGD on real data (linear
  regression on two features of the diabetes data); paths on the loss contours, loss
  against epochs and against wall-clock time.

Each explorer has ``controls`` (dict name -> ipywidgets control), ``figure`` (the Matplotlib
Figure, built once; a control change updates its artists) and ``update(**values)`` (set
controls from code, redraw once); each constructor accepts initial control values as keyword
arguments. The figure is shown as a PNG inside the widget, so a page built without a running
kernel still shows it at the initial values.
"""

from course_lib.widgets.finite_difference import FiniteDifferenceExplorer
from course_lib.widgets.gradient_descent import GradientDescentExplorer
from course_lib.widgets.minibatch import MinibatchExplorer
from course_lib.widgets.random_search import RandomSearchExplorer
from course_lib.widgets.trajectory import TrajectoryExplorer

__all__ = ["RandomSearchExplorer", "FiniteDifferenceExplorer", "GradientDescentExplorer",
           "MinibatchExplorer", "TrajectoryExplorer"]
