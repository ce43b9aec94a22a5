"""course_lib: the library behind the book *Optimization for Deep Learning*.

Small modules, each with one job:

- ``course_lib.landscapes``: objectives with value, gradient and Hessian (vectorised over grids).
- ``course_lib.optim``: reference optimizers with PyTorch's exact semantics, plus teaching variants.
- ``course_lib.schedules``: learning-rate schedules with PyTorch's (and Keras's) semantics.
- ``course_lib.search``: random search, the baseline every other method must beat.
- ``course_lib.data``: real data sets shipped with scikit-learn (nothing downloaded), minibatches.
- ``course_lib.models``: linear models with hand-written gradients; numerical gradients and
  gradient checking.
- ``course_lib.train``: ``run`` an optimizer on a landscape and record the trajectory;
  ``train_minibatch`` trains a model on data, epoch by epoch.
- ``course_lib.analysis``: rates, stability and best hyperparameters of gradient descent and
  momentum on quadratics (the 2x2 iteration matrix of momentum per eigen-direction).
- ``course_lib.plots``: matplotlib drawing on a given Axes (contours, paths, loss curves) and
  the book's colour-blind-safe figure style.
- ``course_lib.progress``: progress bars for long loops (shown live, left out of the built book).
- ``course_lib.widgets``: the book's interactive explorers (ipywidgets).
- ``course_lib.grading``: the checkers behind the assignments' tests, with diagnostic messages.

Import the module you need (``from course_lib import optim``); this package imports nothing
heavy on its own, so student notebooks start fast.
"""

__version__ = "0.1.0"
