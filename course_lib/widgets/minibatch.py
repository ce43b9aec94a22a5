"""Minibatch explorer: batch size and learning rate on a real regression task.

Linear regression without intercept on two standardised features of the diabetes data (body
mass index and blood pressure, target standardised too), so the weights live in 2-D and the
mean squared error has contour lines. Minibatch SGD (``course_lib.train.train_minibatch``
with ``SGD``) runs from the same start as full-batch gradient descent, with the same learning
rate and number of epochs. Left: both paths on the contours of the training loss. Middle and
right: the training loss minus its minimum against epochs and against wall-clock seconds of
training (log axes): per epoch, small batches make more progress; per second, each update
costs a Python round trip, so the picture can turn around; with a constant learning rate,
minibatch SGD stalls at a noise floor. ``MinibatchExplorer(optimizer=...)`` runs another
optimizer (momentum, Adam, ...) in both places instead of SGD.
"""

from __future__ import annotations

import functools

import numpy as np

from course_lib import models
from course_lib.optim import SGD
from course_lib.plots import plot_contours
from course_lib.widgets.controls import int_slider, log_slider, selection_slider
from course_lib.widgets.explorer import Explorer
from course_lib.widgets.trajectory import is_optimizer

__all__ = ["MinibatchExplorer", "regression_problem"]

FEATURES = ("bmi", "bp")
START = np.array([-1.0, 1.5])  # initial weights, away from the minimum along the valley
_GAP_LIMITS = (1e-6, 1e2)  # y range of the loss plots (loss - min loss)
_TIME_LIMITS = (1e-5, 1.0)  # x range of the wall-time plot, seconds


@functools.lru_cache(maxsize=1)
def regression_problem():
    """``(X, y, loss)``: the training split of the diabetes data (features ``FEATURES``,
    standardised, target standardised) and its mean squared error as a ``Quadratic``.

    The landscape (``course_lib.models.linear_regression_landscape``) evaluates the loss on a
    whole grid at once for the contours, and knows its minimiser, the least-squares solution.
    """
    from course_lib.data import load_diabetes

    data = load_diabetes(features=FEATURES, standardize=True, standardize_target=True)
    X, y = data.X_train, data.y_train
    return X, y, models.linear_regression_landscape(X, y)


def _train(loss_and_grad, X, y, optimizer, batch_size, epochs, seed):
    """``train_minibatch`` plus the path of the weights: the weights at every update."""
    from course_lib.train import train_minibatch

    path = []

    def recording(w, Xb, yb):
        if Xb is not X:  # a minibatch (the full-data evaluations after an epoch pass X)
            path.append(w)
        return loss_and_grad(w, Xb, yb)

    history = train_minibatch(recording, START, X, y, optimizer, batch_size, epochs, rng=seed)
    path = np.array(path[: history.iterations] + [history.params]).reshape(-1, 2)
    return history, path


class MinibatchExplorer(Explorer):
    """Minibatch SGD against full-batch gradient descent on real data (diabetes, 2 weights).

    Controls: ``batch_size`` (1, 2, 4, ..., 256 and the full training set), ``lr`` (log
    slider, 0.001 to 1), ``epochs`` (1 to 20), ``seed`` (the shuffling).

    Args:
      optimizer: a function of the learning rate returning a course_lib optimizer (default
        ``SGD``; e.g. ``lambda lr: SGD(lr=lr, momentum=0.9)`` or ``Adam``), used for both runs.
      **values: initial control values, e.g. ``MinibatchExplorer(batch_size=1, lr=0.01)``.
    """

    figsize = (9.6, 3.4)
    has_info = True
    alt = (
        "Minibatch SGD with batch size {batch_size} and full-batch gradient descent, "
        "learning rate {lr:.2g}, {epochs} epochs: paths of the two weights on the "
        "training-loss contours, then the loss against epochs and against wall-clock time."
    )
    columns = 2

    def __init__(self, optimizer=SGD, **values):
        made = optimizer(0.1) if callable(optimizer) else None
        if not is_optimizer(made):
            raise ValueError(
                f"optimizer must be a function lr -> course_lib optimizer (e.g. "
                f"SGD, or lambda lr: Adam(lr=lr)), got {optimizer!r}"
            )
        self._optimizer = optimizer
        self._names = (
            ("minibatch SGD", "full-batch GD")
            if optimizer is SGD
            else tuple(f"{kind} {type(made).__name__}" for kind in ("minibatch", "full-batch"))
        )
        self._loss_and_grad = models.linear_regression_loss
        self.X, self.y, self.loss = regression_problem()
        self._runs = {}  # (batch size, lr, epochs, seed) -> (History, path)
        super().__init__(**values)

    def _make_controls(self):
        n = len(self.X)
        sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256]
        options = [(str(b), b) for b in sizes] + [(f"full ({n})", n)]
        return {
            "batch_size": selection_slider("batch size B", options, 16),
            "lr": log_slider("learning rate", 0.1, 1e-3, 1.0),
            "epochs": int_slider("epochs", 10, 1, 20),
            "seed": int_slider("seed (shuffling)", 0, 0, 9),
        }

    # -- computation -------------------------------------------------------------------------
    def _run(self, batch_size, lr, epochs, seed):
        key = (batch_size, lr, epochs, seed)
        if key not in self._runs:
            if len(self._runs) > 64:
                self._runs.pop(next(iter(self._runs)))
            self._runs[key] = _train(
                self._loss_and_grad, self.X, self.y, self._optimizer(lr), batch_size, epochs, seed
            )
        return self._runs[key]

    def _gap(self, path):
        """Training loss minus its minimum at each point of ``path`` (clipped for the plot)."""
        with np.errstate(all="ignore"):
            gap = self.loss.value(path) - self.loss.min_value
        return np.clip(
            np.nan_to_num(gap, nan=_GAP_LIMITS[1], posinf=_GAP_LIMITS[1]),
            _GAP_LIMITS[0],
            10 * _GAP_LIMITS[1],
        )

    # -- figure ------------------------------------------------------------------------------
    def _build(self):
        grid = self.figure.add_gridspec(1, 3, width_ratios=(1.0, 1.0, 1.0))
        self.ax_w = self.figure.add_subplot(grid[0])
        self.ax_epochs = self.figure.add_subplot(grid[1])
        self.ax_time = self.figure.add_subplot(grid[2])
        w_star = self.loss.minimizer
        low = np.minimum(START, w_star) - 0.7
        high = np.maximum(START, w_star) + 0.7
        self.bounds = tuple(zip(low, high))
        plot_contours(self.ax_w, self.loss, bounds=self.bounds, n=100, levels=14)
        self.ax_w.set_xlabel(f"weight of {FEATURES[0]}  $w_1$")
        self.ax_w.set_ylabel(f"weight of {FEATURES[1]}  $w_2$")
        self.ax_w.set_title("weights on the training-loss contours", fontsize=9.5)
        self.ax_w.plot(*START, "s", color="black", markersize=5)
        style = dict(scalex=False, scaley=False)
        (self.path_mb,) = self.ax_w.plot(
            [], [], color="C3", linewidth=0.8, alpha=0.8, label=self._names[0], **style
        )
        (self.path_gd,) = self.ax_w.plot(
            [], [], "o-", color="C0", markersize=3, linewidth=1.2, label=self._names[1], **style
        )
        self.warning = self.ax_w.text(
            0.5,
            0.04,
            "",
            transform=self.ax_w.transAxes,
            ha="center",
            va="bottom",
            color="C3",
            fontsize=9,
            bbox=dict(facecolor="white", alpha=0.8, edgecolor="none"),
        )

        for ax, xlabel in ((self.ax_epochs, "epochs"), (self.ax_time, "wall-clock time (s)")):
            ax.set_yscale("log")
            ax.set_ylim(*_GAP_LIMITS)
            ax.set_xlabel(xlabel)
            ax.grid(True, which="major", alpha=0.3)
        self.ax_epochs.set_ylabel("training loss − minimum")
        self.ax_epochs.set_title("loss against epochs", fontsize=9.5)
        self.ax_time.set_title("loss against time", fontsize=9.5)
        self.ax_time.set_xscale("log")
        self.ax_time.set_xlim(*_TIME_LIMITS)
        (self.epochs_mb,) = self.ax_epochs.plot([], [], color="C3", linewidth=0.8, alpha=0.8)
        (self.epochs_gd,) = self.ax_epochs.plot(
            [], [], "o-", color="C0", markersize=3, linewidth=1.2
        )
        (self.time_mb,) = self.ax_time.plot([], [], color="C3", linewidth=0.8, alpha=0.8)
        (self.time_gd,) = self.ax_time.plot([], [], "o-", color="C0", markersize=3, linewidth=1.2)
        self.figure.legend(
            handles=[self.path_mb, self.path_gd],
            loc="outside lower center",
            ncols=2,
            fontsize=8.5,
            frameon=False,
        )
        for artist in (
            self.path_mb,
            self.path_gd,
            self.warning,
            self.epochs_mb,
            self.epochs_gd,
            self.time_mb,
            self.time_gd,
        ):
            self._animate(artist)

    def _draw(self):
        batch_size, lr = int(self.value("batch_size")), float(self.value("lr"))
        epochs, seed = int(self.value("epochs")), int(self.value("seed"))
        n = len(self.X)
        runs = {"mb": self._run(batch_size, lr, epochs, seed), "gd": self._run(n, lr, epochs, seed)}
        self.ax_epochs.set_xlim(0, epochs)
        (low_x, high_x), (low_y, high_y) = self.bounds
        far = 1e3 * max(high_x - low_x, high_y - low_y)  # keep huge iterates drawable
        summary, blowing_up = [], []
        for name, (history, path) in runs.items():
            shown = np.clip(path, -far, far)
            gap = self._gap(path)
            epochs_axis = np.concatenate([[0.0], history.iteration_epochs_fraction])
            times = np.concatenate([[0.0], history.iteration_times])
            getattr(self, f"path_{name}").set_data(shown[:, 0], shown[:, 1])
            getattr(self, f"epochs_{name}").set_data(epochs_axis, gap)
            getattr(self, f"time_{name}").set_data(np.maximum(times, _TIME_LIMITS[0]), gap)
            label = f"B = {batch_size}" if name == "mb" else f"full batch (B = {n})"
            final = self.loss.value(history.params) - self.loss.min_value
            if history.diverged or final > gap[0]:
                blowing_up.append(label if name == "mb" else "full batch")
            summary.append(
                f"{label}: {history.iterations} updates in "
                f"{1e3 * history.epoch_times[-1]:.1f} ms, loss − min "
                f"{final:.2e}"
            )
        self.warning.set_text(
            "" if not blowing_up else f"{' and '.join(blowing_up)}: diverging, lr too large"
        )
        self.info.value = "; &nbsp; ".join(summary) + "."

    def _panels(self):
        return [[self.ax_w], [self.ax_epochs], [self.ax_time]]

    def _panel_key(self, i):
        return int(self.value("epochs")) if i == 1 else None
