"""Explorers for learning-rate schedules: ``ScheduleDesigner`` (schedules side by side, with
the training they give) and ``PlateauExplorer`` (reduce-on-plateau on a validation curve).

Both train on the noisy bowl of the schedules chapter (``NoisyQuadratic.bowl``, condition
number 5). Runs are cached per setting, so a control that only changes one curve reruns only
that curve.
"""

from __future__ import annotations

import math

import numpy as np

from course_lib import schedules as S
from course_lib._checks import integer
from course_lib.landscapes import NoisyQuadratic
from course_lib.optim import SGD, Adam
from course_lib.plots import line_styles
from course_lib.schedules import ReduceLROnPlateau
from course_lib.train import replica_losses, run_on_plateau
from course_lib.widgets.controls import dropdown, float_slider, int_slider, log_slider, toggle
from course_lib.widgets.explorer import Explorer
from course_lib.widgets.limits import log_limits

__all__ = ["SCHEDULES", "schedule_factors", "ScheduleDesigner", "PlateauExplorer"]

START = (-1.5, 1.0)
MAX_STEPS = 1000  # the longest run of ScheduleDesigner
STYLES = line_styles(4)


def _one_cycle(length):
    return S.OneCycleLR(1.0, total_steps=max(length, 4))


# name -> length T -> schedule with lr = 1 (a factor); T is the steps over which it decays
SCHEDULES = {
    "none": None,
    "step: ×0.1 at T/2 and 3T/4": lambda T: S.MultiStepLR(1.0, [T // 2, 3 * T // 4], 0.1),
    "step: halve every T/8": lambda T: S.StepLR(1.0, max(1, T // 8), 0.5),
    "exponential: to 1% at T": lambda T: S.ExponentialLR(1.0, 0.01 ** (1 / T)),
    "1/t: 1/(1 + 20 t/T)": lambda T: S.InverseTimeDecay(1.0, T / 20, 1.0),
    "1/√t: 1/√(1 + 20 t/T)": lambda T: S.LambdaLR(1.0, lambda t: 1 / math.sqrt(1 + 20 * t / T)),
    "cosine over T": lambda T: S.CosineAnnealingLR(1.0, T_max=T),
    "SGDR: restarts every T/4": lambda T: S.CosineAnnealingWarmRestarts(1.0, max(1, T // 4)),
    "one-cycle over T": _one_cycle,
}


def schedule_factors(name, steps, length, warmup=0):
    """The factors ``eta_t / eta_0`` of schedule ``name`` (a key of ``SCHEDULES``) for
    ``t = 0 .. steps - 1``, decaying over ``length`` steps, after a linear warmup of
    ``warmup`` steps from 1% (none for one-cycle, which has its own). Past the end of
    one-cycle the last factor is kept (PyTorch would raise)."""
    t = np.arange(steps)
    if SCHEDULES[name] is None:
        return np.ones(steps)
    schedule = SCHEDULES[name](int(length))
    if warmup and hasattr(schedule, "lr"):
        schedule = S.warmup(schedule, int(warmup), start_factor=0.01)
    if isinstance(schedule, S.OneCycleLR):
        t = np.minimum(t, schedule.total_steps - 1)
    return np.asarray(schedule(t), dtype=float)


class ScheduleDesigner(Explorer):
    """Up to three learning-rate schedules side by side, against a constant rate: their rate
    over the steps (left), and the loss of noisy SGD (top right) and Adam (bottom right) on
    the noisy bowl with each, the median of ``seeds`` runs.

    Every schedule is a factor of a peak rate; SGD and Adam each have their own peak rate
    (``sgd_lr``, ``adam_lr``) and share the schedules' shape. Controls: ``first``, ``second``,
    ``third`` (a name of ``SCHEDULES``, or "none"), ``length`` (the steps T over which they
    decay), ``warmup`` (linear warmup steps, 0 for none), ``sgd_lr``, ``adam_lr``, ``steps``.

    Args:
      seeds: independent runs per curve, an int >= 1.
      **values: initial control values, e.g. ``first="cosine over T"``.

    Attributes (besides ``Explorer``'s): ``factors`` (name -> the shown schedule's factors),
    ``losses`` (``(optimizer, name) -> median loss per step``), ``rate_lines``,
    ``loss_lines`` (``optimizer -> lines``, the constant rate's first).
    """

    figsize = (8.4, 5.0)
    has_info = True
    slots = ("first", "second", "third")

    def __init__(self, seeds=8, **values):
        self.seeds = integer("seeds", seeds, 1)
        self.bowl = NoisyQuadratic.bowl(condition_number=5, noise=1.0)
        self._runs = {}
        super().__init__(**values)

    def _make_controls(self):
        names = list(SCHEDULES)
        return {
            "first": dropdown("schedule 1", names, "step: ×0.1 at T/2 and 3T/4"),
            "second": dropdown("schedule 2", names, "cosine over T"),
            "third": dropdown("schedule 3", names, "none"),
            "length": int_slider("decay length T (steps)", 300, 20, 1000, 20),
            "warmup": int_slider("warmup steps", 0, 0, 200, 10),
            "sgd_lr": log_slider("SGD peak rate", 0.1, 1e-3, 1.0),
            "adam_lr": log_slider("Adam peak rate", 0.05, 1e-3, 1.0),
            "steps": int_slider("steps", 300, 50, MAX_STEPS, 50),
        }

    def _build(self):
        grid = self.figure.add_gridspec(2, 2, width_ratios=(1.0, 1.0))
        self.ax_rate = self.figure.add_subplot(grid[:, 0])
        self.ax_sgd = self.figure.add_subplot(grid[0, 1])
        self.ax_adam = self.figure.add_subplot(grid[1, 1], sharex=self.ax_sgd)
        styles = [dict(color="0.45", linestyle=":", marker=None)] + STYLES[:3]
        labels = ["constant"] + [f"schedule {i}" for i in (1, 2, 3)]
        self.rate_lines = [
            self._animate(self.ax_rate.plot([], [], label=lab, **st)[0])
            for lab, st in zip(labels, styles)
        ]
        self.loss_lines = {
            key: [self._animate(ax.plot([], [], lw=1.2, **st)[0]) for st in styles]
            for key, ax in (("SGD", self.ax_sgd), ("Adam", self.ax_adam))
        }
        self.ax_rate.set(xlabel="step t", ylabel="learning-rate factor ηₜ/η₀", yscale="log")
        self.ax_rate.legend(loc="lower left", fontsize=8)
        for key, ax in (("SGD", self.ax_sgd), ("Adam", self.ax_adam)):
            ax.set(yscale="log", ylabel=f"{key}: loss")
            ax.grid(True, alpha=0.3)
        self.ax_adam.set_xlabel("step t")
        self.ax_rate.grid(True, alpha=0.3)
        self._limits = None

    def _losses(self, optimizer, shown, steps):
        """Median loss per step of ``seeds`` runs with the rates of each schedule in ``shown``
        (a list of factor arrays), over ``steps`` steps, smoothed by a mean over 10 steps.
        Runs are cached per (optimizer, rates) and made longer than asked: the same rates and
        seeds give the same first steps, so a shorter run is a slice of a longer one. The
        schedules not in the cache run together (``train.replica_losses``)."""
        peak = self.value("sgd_lr" if optimizer == "SGD" else "adam_lr")
        keys = [(optimizer, peak, factors.tobytes()) for factors in shown]
        medians = [self._runs.get(key, np.empty(0)) for key in keys]
        missing = [i for i, median in enumerate(medians) if len(median) <= steps]
        if missing:
            n = max(min(MAX_STEPS, max(steps, 2 * (len(medians[i]) - 1))) for i in missing)
            opt = SGD(lr=peak) if optimizer == "SGD" else Adam(lr=peak)
            rates = peak * np.array([shown[i][:n] for i in missing])
            runs = replica_losses(opt, self.bowl, START, rates, self.seeds, rng=0)
            for i, losses in zip(missing, runs):
                medians[i] = np.median(losses, axis=0)
        for key, median in zip(keys, medians):
            self._runs.pop(key, None)
            self._runs[key] = median  # the most recently used last
        while len(self._runs) > 48:
            self._runs.pop(next(iter(self._runs)))
        window = np.ones(10) / 10
        return [np.convolve(median[: steps + 1], window, mode="valid") for median in medians]

    def _draw(self):
        steps = self.value("steps")
        shown = [("constant", np.ones(MAX_STEPS))] + [
            (self.value(s), self._factors(self.value(s))) for s in self.slots
        ]
        self.factors, self.losses = {}, {}
        for i, (_, factors) in enumerate(shown):
            visible = factors is not None
            self.rate_lines[i].set_visible(visible)
            for lines in self.loss_lines.values():
                lines[i].set_visible(visible)
        drawn = [(i, name, f) for i, (name, f) in enumerate(shown) if f is not None]
        losses = {
            optimizer: self._losses(optimizer, [f for _, _, f in drawn], steps)
            for optimizer in self.loss_lines
        }
        for j, (i, name, factors) in enumerate(drawn):
            self._draw_one(i, name, factors, steps, {k: v[j] for k, v in losses.items()})
        self._set_limits(steps)
        self._set_info()

    def _factors(self, name):
        if name == "none":
            return None
        return schedule_factors(name, MAX_STEPS, self.value("length"), self.value("warmup"))

    def _draw_one(self, i, name, factors, steps, losses):
        t = np.arange(steps)
        self.factors[name] = factors[:steps]
        self.rate_lines[i].set_data(t, np.maximum(factors[:steps], 1e-6))
        self.rate_lines[i].set_markevery(max(1, steps // 8))
        for optimizer, lines in self.loss_lines.items():
            median = losses[optimizer]
            self.losses[optimizer, name] = median
            lines[i].set_data(np.arange(len(median)) + (steps + 1 - len(median)), median)
            lines[i].set_markevery(max(1, len(median) // 6))

    def _set_limits(self, steps):
        shown = [f[f > 0] for f in self.factors.values()]
        low = max(1e-6, min(float(f.min()) for f in shown if f.size))
        losses = np.concatenate([m for m in self.losses.values()])
        losses = losses[np.isfinite(losses) & (losses > 0)]
        loss_limits = log_limits(max(float(losses.min()), 1e-6), float(losses.max()))
        self._limits = (steps, log_limits(low, 1.0), loss_limits)
        self.ax_rate.set_xlim(0, steps * 1.04)  # room for the last tick label in the strip
        self.ax_rate.set_ylim(*self._limits[1])
        for ax in (self.ax_sgd, self.ax_adam):
            ax.set_xlim(0, steps)
            ax.set_ylim(*loss_limits)

    def _final(self, optimizer, name):
        median = self.losses[optimizer, name]
        return float(np.mean(median[-max(1, len(median) // 10) :]))

    def _set_info(self):
        parts = []
        for optimizer in ("SGD", "Adam"):
            ends = ", ".join(
                f"{name.split(':')[0]} {self._final(optimizer, name):.2g}" for name in self.factors
            )
            parts.append(f"<b>{optimizer}</b> final loss: {ends}")
        self.info.value = " &nbsp;·&nbsp; ".join(parts)

    def _panels(self):
        return [[self.ax_rate], [self.ax_sgd, self.ax_adam]]

    def _panel_key(self, i):
        return self._limits[:2] if i == 0 else (self._limits[0], self._limits[2])

    def alt_text(self):
        names = [n for n in self.factors if n != "constant"]
        sgd = ", ".join(f"{n} {self._final('SGD', n):.2g}" for n in self.factors)
        return (
            f"Left: learning-rate factor against step, log scale, for a constant rate and "
            f"{', '.join(names) or 'no schedule'}. Right: median loss of SGD (top) and Adam "
            f"(bottom) with each; SGD's final losses: {sgd}."
        )


class PlateauExplorer(Explorer):
    """Reduce-on-plateau live: SGD on the noisy bowl, ``ReduceLROnPlateau`` stepped with the
    validation loss (the exact loss) after each epoch of 20 steps. Left: the validation curve
    with a triangle at each epoch after which the rate dropped, next to the constant rate;
    right: the learning rate of each epoch.

    Controls: ``factor``, ``patience``, ``threshold``, ``threshold_mode``, ``cooldown``,
    ``mode`` (the monitored metric is a loss: ``"max"`` shows what watching a loss with the
    wrong mode does), ``noise`` (the gradient noise), ``lr`` (the initial rate).

    Args:
      epochs: epochs per run, an int >= 1.
      **values: initial control values, e.g. ``patience=5``.

    Attributes (besides ``Explorer``'s): ``result`` (the ``train.PlateauRun``), ``constant``
    (the same run at a constant rate), ``val_line``, ``constant_line``, ``drop_markers``,
    ``lr_line``.
    """

    figsize = (8.4, 3.6)
    has_info = True
    steps_per_epoch = 20

    def __init__(self, epochs=60, **values):
        self.epochs = integer("epochs", epochs, 1)
        self._runs = {}
        super().__init__(**values)

    def _make_controls(self):
        return {
            "factor": float_slider("factor", 0.5, 0.05, 0.95, 0.05),
            "patience": int_slider("patience (epochs)", 3, 0, 20),
            "threshold": log_slider("threshold", 0.1, 1e-4, 0.9),
            "threshold_mode": toggle("threshold mode", ["rel", "abs"], "rel"),
            "cooldown": int_slider("cooldown (epochs)", 2, 0, 10),
            "mode": toggle("mode", ["min", "max"], "min"),
            "noise": log_slider("gradient noise", 1.0, 0.1, 3.0),
            "lr": log_slider("initial rate", 0.1, 1e-3, 0.5),
        }

    def _build(self):
        self.ax_val = self.figure.add_subplot(1, 2, 1)
        self.ax_lr = self.figure.add_subplot(1, 2, 2)
        (self.constant_line,) = self.ax_val.plot(
            [], [], color="0.55", ls=":", label="constant rate"
        )
        (self.val_line,) = self.ax_val.plot([], [], label="reduce on plateau", **STYLES[0])
        (self.drop_markers,) = self.ax_val.plot(
            [], [], "v", color=STYLES[3]["color"], ms=8, label="rate reduced"
        )
        (self.lr_line,) = self.ax_lr.plot([], [], drawstyle="steps-post", **STYLES[1])
        for artist in (self.constant_line, self.val_line, self.drop_markers, self.lr_line):
            self._animate(artist)
        for ax, label, title in (
            (self.ax_val, "validation loss", "Validation curve"),
            (self.ax_lr, "learning rate", "The rate it sets"),
        ):
            ax.set(xlabel="epoch", ylabel=label, yscale="log", xlim=(0, self.epochs), title=title)
        self.ax_val.legend(loc="upper right", fontsize=8)
        for ax in (self.ax_val, self.ax_lr):
            ax.grid(True, alpha=0.3)
        self._limits = None

    def _plateau(self):
        return ReduceLROnPlateau(
            self.value("lr"),
            mode=self.value("mode"),
            factor=self.value("factor"),
            patience=self.value("patience"),
            threshold=self.value("threshold"),
            threshold_mode=self.value("threshold_mode"),
            cooldown=self.value("cooldown"),
        )

    def _run(self, plateau):
        key = (repr(plateau), self.value("noise"))
        if key not in self._runs:
            bowl = NoisyQuadratic.bowl(condition_number=5, noise=self.value("noise"))
            result = run_on_plateau(
                SGD(lr=plateau.lr), bowl, START, plateau, self.epochs, self.steps_per_epoch, rng=0
            )
            if len(self._runs) > 48:
                self._runs.pop(next(iter(self._runs)))
            self._runs[key] = result
        return self._runs[key]

    def _draw(self):
        self.result = self._run(self._plateau())
        never = ReduceLROnPlateau(self.value("lr"), patience=10**9)  # a constant rate
        self.constant = self._run(never)
        r = self.result
        self.val_line.set_data(np.arange(len(r.val_losses)), r.val_losses)
        self.val_line.set_markevery(max(1, len(r.val_losses) // 6))
        self.constant_line.set_data(
            np.arange(len(self.constant.val_losses)), self.constant.val_losses
        )
        drops = list(r.reductions)
        self.drop_markers.set_data(drops, r.val_losses[drops] if drops else [])
        self.lr_line.set_data(np.arange(len(r.lrs) + 1), np.append(r.lrs, r.lrs[-1]))
        self.lr_line.set_markevery(max(1, len(r.lrs) // 6))
        values = np.concatenate([r.val_losses, self.constant.val_losses])
        values = values[np.isfinite(values) & (values > 0)]
        self._limits = (
            log_limits(float(values.min()), float(values.max())),
            log_limits(float(r.lrs.min()), float(r.lrs.max())),
        )
        self.ax_val.set_ylim(*self._limits[0])
        self.ax_lr.set_ylim(*self._limits[1])
        self._set_info()

    def _set_info(self):
        r, end = self.result, self.result.val_losses[-5:].mean()
        base = self.constant.val_losses[-5:].mean()
        drops = ", ".join(map(str, r.reductions[:12])) + (" …" if len(r.reductions) > 12 else "")
        self.info.value = (
            f"{len(r.reductions)} reductions (after epochs {drops or 'none'}) &nbsp;·&nbsp; "
            f"final rate {r.lrs[-1]:.2g} &nbsp;·&nbsp; final validation loss {end:.2g} "
            f"(constant rate: {base:.2g})"
        )

    def _panels(self):
        return [[self.ax_val], [self.ax_lr]]

    def _panel_key(self, i):
        return self._limits[i]

    def alt_text(self):
        r = self.result
        return (
            f"Left: validation loss per epoch on a log scale with reduce on plateau "
            f"(factor {self.value('factor'):.2g}, patience {self.value('patience')}, mode "
            f"{self.value('mode')}), ending at {r.val_losses[-1]:.2g}, {len(r.reductions)} "
            f"reductions marked by triangles, and a constant-rate run ending at "
            f"{self.constant.val_losses[-1]:.2g}. Right: the learning rate per epoch, from "
            f"{r.lrs[0]:.2g} to {r.lrs[-1]:.2g}."
        )
