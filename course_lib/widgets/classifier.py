"""Training dashboard: an MLP on the digits with a choice of optimizer, learning rate, batch
size and schedule.

A change of any control trains a small network (64 inputs, 32 ReLU units, 10 classes) on the
training part of ``course_lib.data.load_digits_split`` for a few epochs with
``course_lib.train.train_minibatch``, then shows the loss and the accuracy per epoch on the
training and validation sets, and eight test digits with the labels the network gives them.
Training takes a fraction of a second (more for small batches and many epochs), longer than a
slider drag should, so the sliders act on release, each setting is trained once (runs are
cached), and the curves grow live: the figure is redrawn after the first epoch and then at most
every ``FRAME_INTERVAL`` seconds while the network trains.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from course_lib.widgets.adaptive import METHODS
from course_lib.widgets.controls import dropdown, int_slider, log_slider, selection_slider
from course_lib.widgets.explorer import Explorer

__all__ = ["TrainingDashboard", "SCHEDULES"]

HIDDEN = 32
SHOWN = 8  # test digits shown
_LOSS_LIMITS = (0.01, 5.0)
_CELL_H = 14  # height of a digit's cell in the mosaic: 8 pixels, a margin, its label
FRAME_INTERVAL = 0.15  # seconds between live frames while a setting trains

# name -> function (lr, total updates) -> schedule, or None for a constant learning rate
SCHEDULES = {
    "constant": None,
    "cosine": lambda lr, total: _cosine(lr, total),
    "step (÷10 at half)": lambda lr, total: _step(lr, total),
}


def _cosine(lr, total):
    from course_lib.schedules import CosineAnnealingLR

    return CosineAnnealingLR(lr, T_max=total)


def _step(lr, total):
    from course_lib.schedules import StepLR

    return StepLR(lr, step_size=max(1, total // 2), gamma=0.1)


@functools.lru_cache(maxsize=1)
def _digits():
    from course_lib.data import load_digits_split

    return load_digits_split()


class TrainingDashboard(Explorer):
    """Train an MLP on the digits and watch its loss, accuracy and predictions.

    Controls: ``optimizer`` (SGD, momentum, Nesterov, Adagrad, RMSProp, Adadelta, Adam,
    AdamW: ``course_lib.widgets.adaptive.METHODS``), ``lr`` (log slider, 1e-4 to 1),
    ``batch_size`` (16 to 256), ``schedule`` (constant, cosine annealing, or a step down by 10
    at half time, per update), ``epochs`` (1 to 12), ``seed`` (initial weights and shuffling).

    Args:
      **values: initial control values, e.g. ``TrainingDashboard(optimizer="SGD", lr=0.1)``.
    """

    figsize = (9.6, 3.3)
    has_info = True
    alt = (
        "Training a 64-32-10 network on the digits with {optimizer}, learning rate {lr:.2g}, "
        "batch size {batch_size}, {schedule} schedule, {epochs} epochs: loss and accuracy per "
        "epoch on the training and validation sets, and eight test digits with the predicted "
        "labels."
    )

    def __init__(self, **values):
        from course_lib.models import MLP

        self.data = _digits()
        self._runs = {}
        self._mlp = {}
        self._MLP = MLP
        super().__init__(**values)
        self._warm_epoch_panels()

    def _warm_epoch_panels(self):
        """Draw the axes of the two curve panels for every value of the epochs slider once
        (their x range follows it; about 40 ms a panel, most of it tick labels), so that a
        later move of the slider finds them in the cache."""
        current, control = int(self.value("epochs")), self.controls["epochs"]
        axes = (self.ax_loss, self.ax_acc)
        for epochs in range(control.min, control.max + 1):
            if epochs != current:
                for ax in axes:
                    ax.set_xlim(0, epochs)
                for i in range(len(axes)):
                    self._caches[i][epochs] = self._draw_panel(i, self._panels()[i])
        for ax in axes:
            ax.set_xlim(0, current)
        self._render()  # the canvas now holds the last warmed panels: show the current ones

    def _make_controls(self):
        return {
            "optimizer": dropdown("optimizer", list(METHODS), "Adam"),
            "lr": log_slider("learning rate", 3e-3, 1e-4, 1.0),
            "batch_size": selection_slider(
                "batch size", [(str(b), b) for b in (16, 32, 64, 128, 256)], 64
            ),
            "schedule": dropdown("schedule", list(SCHEDULES), "constant"),
            "epochs": int_slider("epochs", 6, 1, 12),
            "seed": int_slider("seed", 0, 0, 9),
        }

    # -- computation -------------------------------------------------------------------------
    def train(self, optimizer, lr, batch_size, schedule, epochs, seed, callback=None):
        """``(mlp, History)`` of one setting (cached). ``callback(mlp, history)`` is called
        after every epoch while a new setting trains (not for a cached one)."""
        from course_lib.train import train_minibatch

        key = (optimizer, lr, batch_size, schedule, epochs, seed)
        if key not in self._runs:
            if len(self._runs) > 32:
                self._runs.pop(next(iter(self._runs)))
            d = self.data
            mlp = self._MLP((64, HIDDEN, 10), seed=seed)
            per_epoch = -(-len(d.X_train) // batch_size)
            make_schedule = SCHEDULES[schedule]
            history = train_minibatch(
                mlp.loss_and_grad,
                mlp.init(),
                d.X_train,
                d.y_train,
                METHODS[optimizer][0](lr),
                batch_size,
                epochs,
                rng=seed,
                schedule=None if make_schedule is None else make_schedule(lr, epochs * per_epoch),
                X_val=d.X_val,
                y_val=d.y_val,
                metric=mlp.accuracy,
                callback=None if callback is None else functools.partial(callback, mlp),
            )
            self._runs[key] = (mlp, history)
        return self._runs[key]

    # -- figure ------------------------------------------------------------------------------
    def _build(self):
        grid = self.figure.add_gridspec(1, 3, width_ratios=(1.0, 1.0, 1.0))
        self.ax_loss = self.figure.add_subplot(grid[0])
        self.ax_acc = self.figure.add_subplot(grid[1])
        self.ax_digits = self.figure.add_subplot(grid[2])
        self.ax_loss.set(yscale="log", ylim=_LOSS_LIMITS, xlabel="epoch", ylabel="loss")
        self.ax_loss.set_title("cross-entropy loss", fontsize=9.5)
        self.ax_acc.set(ylim=(0.0, 1.02), xlabel="epoch", ylabel="accuracy")
        self.ax_acc.set_title("accuracy", fontsize=9.5)
        self.lines = {}
        for ax, kind in ((self.ax_loss, "loss"), (self.ax_acc, "acc")):
            ax.grid(True, alpha=0.3)
            self.lines[kind, "train"] = self._animate(
                ax.plot([], [], "o-", color="C0", markersize=3, label="training")[0]
            )
            self.lines[kind, "val"] = self._animate(
                ax.plot([], [], "s--", color="C1", markersize=3, label="validation")[0]
            )
        self.ax_acc.legend(loc="lower right", fontsize=8.5)
        # eight test digits in two rows of four, drawn once; only the labels change
        images = self.data.images_test[:SHOWN]
        mosaic = np.zeros((2 * _CELL_H, 4 * 9 + 1))  # 0: no ink, shown white
        for i, image in enumerate(images):
            r, c = divmod(i, 4)
            mosaic[_CELL_H * r + 1 : _CELL_H * r + 9, 9 * c + 1 : 9 * c + 9] = image
        height = 2 * _CELL_H
        self.ax_digits.imshow(16 - mosaic, cmap="gray", vmin=0, vmax=16, extent=(0, 37, height, 0))
        self.ax_digits.set_axis_off()
        self.ax_digits.set_title("test digits: predicted label", fontsize=9.5)
        self.labels = []
        for i in range(SHOWN):
            r, c = divmod(i, 4)
            text = self.ax_digits.text(
                9 * c + 5, _CELL_H * r + 11.8, "", ha="center", va="center", fontsize=9.5
            )
            self.labels.append(self._animate(text))

    def _draw(self):
        optimizer, lr = self.value("optimizer"), float(self.value("lr"))
        batch_size, schedule = int(self.value("batch_size")), self.value("schedule")
        epochs, seed = int(self.value("epochs")), int(self.value("seed"))
        for ax in (self.ax_loss, self.ax_acc):
            ax.set_xlim(0, epochs)
        last_frame = None

        def live(mlp, h):  # a frame after the first epoch, then one every FRAME_INTERVAL
            nonlocal last_frame
            now = time.perf_counter()
            if (
                not self._holding
                and h.epochs_completed < epochs
                and (last_frame is None or now - last_frame >= FRAME_INTERVAL)
            ):
                self._show(mlp, h, f"training: epoch {h.epochs_completed} of {epochs}; ")
                self._render()
                last_frame = time.perf_counter()

        mlp, h = self.train(optimizer, lr, batch_size, schedule, epochs, seed, callback=live)
        status = f"diverged after {h.epochs_completed} epochs; " if h.diverged else ""
        self._show(mlp, h, status)

    def _show(self, mlp, h, status):
        """Set the curves, the digits' labels and the info line from history ``h``."""
        x = np.arange(h.epochs_completed + 1)
        low, high = _LOSS_LIMITS
        self.lines["loss", "train"].set_data(x, np.clip(h.train_losses, low, 10 * high))
        self.lines["loss", "val"].set_data(x, np.clip(h.val_losses, low, 10 * high))
        self.lines["acc", "train"].set_data(x, h.train_metrics)
        self.lines["acc", "val"].set_data(x, h.val_metrics)
        d = self.data
        predicted = mlp.predict(h.params, d.X_test[:SHOWN])
        for text, p, y in zip(self.labels, predicted, d.y_test[:SHOWN]):
            right = p == y
            text.set_text(f"{p} {'✓' if right else '✗'}")
            text.set_color("C0" if right else "C3")
        test_acc = mlp.accuracy(h.params, d.X_test, d.y_test)
        self.info.value = (
            f"{status}{h.iterations} updates in {1e3 * h.epoch_times[-1]:.0f} ms of training; "
            f"validation accuracy {h.val_metrics[-1]:.3f}, test accuracy {test_acc:.3f}."
        )

    def _panels(self):
        return [[self.ax_loss], [self.ax_acc], [self.ax_digits]]

    def _panel_key(self, i):
        return int(self.value("epochs")) if i < 2 else None
