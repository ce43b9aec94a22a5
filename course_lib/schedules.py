"""Learning-rate schedules with exactly PyTorch's (and Keras's) semantics, in plain NumPy.

A schedule is a small object holding its hyperparameters; calling it maps a step count to a
learning rate::

    sched = CosineAnnealingLR(lr=0.1, T_max=100)
    sched(0), sched(50), sched(100)        # 0.1, 0.05000000000000004, 0.0
    sched(np.arange(200))                  # an array, for plotting

``t`` counts how many times PyTorch's ``scheduler.step()`` has been called (an epoch or a
batch, whichever you step on), so ``sched(t)`` equals ``optimizer.param_groups[0]['lr']``
after ``t`` calls. This is what ``course_lib.train.run`` feeds to an optimizer.

Schedules (arguments and defaults as in ``torch.optim.lr_scheduler``; values equal PyTorch's
to rounding, checked against values generated with PyTorch):

- ``StepLR``, ``MultiStepLR``, ``ExponentialLR``: multiply by ``gamma`` now and then.
- ``CosineAnnealingLR``: half a cosine from ``lr`` to ``eta_min`` (SGDR).
- ``CosineAnnealingWarmRestarts``: cosine cycles that restart at ``lr`` (SGDR with restarts).
- ``LambdaLR``: ``lr`` times any factor ``lr_lambda(t)``, e.g. ``1 / sqrt(1 + t)``.
- ``LinearLR``: a linear ramp of a factor, e.g. a warm-up.
- ``OneCycleLR``: up then down (super-convergence); also cycles the momentum.
- ``InverseTimeDecay``: ``lr / (1 + decay_rate * t / decay_steps)`` (Keras).
- ``SequentialLR`` and ``warmup``: run schedules one after another.
- ``ReduceLROnPlateau``: not a function of ``t`` but of the validation metric; stateful,
  ``.step(metric) -> lr``.

Every hyperparameter is checked up front: a bad one raises ``ValueError`` naming it and its
allowed range. A negative or non-integer ``t`` raises ``ValueError`` too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_lib._checks import check as _check
from course_lib._checks import flag as _flag
from course_lib._checks import integer as _int
from course_lib._checks import real as _real

__all__ = [
    "Schedule",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "LambdaLR",
    "LinearLR",
    "OneCycleLR",
    "InverseTimeDecay",
    "SequentialLR",
    "warmup",
    "ReduceLROnPlateau",
]


# --------------------------------------------------------------------------------------------
# Validation: every hyperparameter is checked up front, with a message naming it.
# --------------------------------------------------------------------------------------------
def _milestones(name: str, values: Any) -> tuple[int, ...]:
    """A non-decreasing sequence of ints >= 0."""
    values = tuple(values)
    for i, v in enumerate(values):
        _int(f"{name}[{i}]", v)
    _check(list(values) == sorted(values), name, values, "non-decreasing")
    return tuple(int(v) for v in values)


def _steps(t: Any) -> np.ndarray:
    """Validate ``t`` (an int or an array of ints, all >= 0); return it as an int64 array."""
    steps = np.asarray(t)
    _check(steps.dtype.kind in "iu", "t", t, "an int >= 0 or an array of them")
    if steps.size and steps.min() < 0:
        raise ValueError(f"t must be >= 0, got {steps.min()}")
    return steps.astype(np.int64)


def _repr(obj: Any, **shown: Any) -> str:
    """``Name(arg=value, ...)`` over the names in ``obj._hyperparameters`` (``shown`` overrides)."""
    values = {k: shown[k] if k in shown else getattr(obj, k) for k in obj._hyperparameters}
    return f"{type(obj).__name__}({', '.join(f'{k}={v!r}' for k, v in values.items())})"


# --------------------------------------------------------------------------------------------
# The base class: t -> lr, for one t or an array of them.
# --------------------------------------------------------------------------------------------
class Schedule:
    """Base class. A subclass lists its ``_hyperparameters`` (for ``repr``) and writes
    ``_lr(t)``, which receives a 1-D int64 array of valid step counts and returns the
    learning rates as an array of the same length (loop inside if there is no closed form).
    """

    _hyperparameters: tuple[str, ...] = ()

    def __call__(self, t: Any) -> Any:
        """Learning rate after ``t`` scheduler steps.

        Args:
          t: step count (int >= 0), or an integer array of them.

        Returns:
          a float for an int ``t``; a float64 array of ``t``'s shape for an array.
        """
        return _evaluate(self._lr, t)

    def _lr(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    __repr__ = _repr


def _evaluate(rule, t: Any) -> Any:
    """Apply ``rule`` (1-D int64 array -> values) to ``t``; a float back for a scalar ``t``."""
    steps = _steps(t)
    if steps.size == 0:
        return np.zeros(steps.shape)
    values = np.asarray(rule(steps.ravel()), dtype=np.float64).reshape(steps.shape)
    return float(values) if values.ndim == 0 else values


class _Recursive(Schedule):
    """A schedule that PyTorch computes *recursively* (its "chainable form"): each step
    updates the optimizer's current lr, ``lr_t = _next(t, lr_{t-1})`` from ``lr_0 = _first()``.
    The closed form is equal in exact arithmetic but not in floating point, so to reproduce
    PyTorch to the last digits we run the same recursion and memoise it (O(t) the first time).
    """

    def _first(self) -> float:
        raise NotImplementedError

    def _next(self, t: int, lr: float) -> float:
        raise NotImplementedError

    def _lr(self, t: np.ndarray) -> np.ndarray:
        key = tuple(getattr(self, k) for k in self._hyperparameters)
        if getattr(self, "_memo_key", None) != key:  # first call, or hyperparameters changed
            self._memo_key, self._memo = key, [self._first()]
        memo = self._memo
        while len(memo) <= t.max():
            memo.append(self._next(len(memo), memo[-1]))
        return [memo[k] for k in t.tolist()]  # O(len(t)): cheap when called once per step


# --------------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------------
class StepLR(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps::

        lr_t = lr * gamma ** floor(t / step_size)

    PyTorch: ``torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma)``.

    Args:
      lr: initial learning rate, >= 0 (the optimizer's lr in PyTorch).
      step_size: period of the decay, an int >= 1.
      gamma: multiplicative factor, > 0 (< 1 decays; PyTorch's default 0.1).
    """

    _hyperparameters = ("lr", "step_size", "gamma")

    def __init__(self, lr, step_size, gamma=0.1):
        self.lr = _real("lr", lr, 0.0)
        self.step_size = _int("step_size", step_size, low=1)
        self.gamma = _real("gamma", gamma, 0.0, low_open=True)

    def _lr(self, t):
        return self.lr * self.gamma ** (t // self.step_size)


class MultiStepLR(Schedule):
    """Multiply the learning rate by ``gamma`` at each milestone::

        lr_t = lr * gamma ** (number of milestones <= t)

    A milestone listed twice counts twice (as in PyTorch); a milestone 0 applies at once.
    PyTorch: ``torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma)``.

    Args:
      lr: initial learning rate, >= 0.
      milestones: non-decreasing step counts (ints >= 0).
      gamma: multiplicative factor, > 0.
    """

    _hyperparameters = ("lr", "milestones", "gamma")

    def __init__(self, lr, milestones, gamma=0.1):
        self.lr = _real("lr", lr, 0.0)
        self.milestones = _milestones("milestones", milestones)
        self.gamma = _real("gamma", gamma, 0.0, low_open=True)

    def _lr(self, t):
        return self.lr * self.gamma ** np.searchsorted(self.milestones, t, side="right")


class ExponentialLR(Schedule):
    """Multiply the learning rate by ``gamma`` every step::

        lr_t = lr * gamma ** t

    PyTorch: ``torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)``. With gamma > 1
    this is the growing schedule of a learning-rate range test.

    Args:
      lr: initial learning rate, >= 0.
      gamma: multiplicative factor, > 0.
    """

    _hyperparameters = ("lr", "gamma")

    def __init__(self, lr, gamma):
        self.lr = _real("lr", lr, 0.0)
        self.gamma = _real("gamma", gamma, 0.0, low_open=True)

    def _lr(self, t):
        return self.lr * self.gamma**t


class CosineAnnealingLR(_Recursive):
    """Half a cosine from ``lr`` down to ``eta_min`` over ``T_max`` steps::

        lr_t = eta_min + (lr - eta_min) * (1 + cos(pi * t / T_max)) / 2

    PyTorch: ``torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max, eta_min)``.
    Loshchilov & Hutter (2017), "SGDR: Stochastic Gradient Descent with Warm Restarts" (ICLR),
    without the restarts.

    PyTorch does not stop at ``T_max``: the formula keeps going, so the lr climbs back to
    ``lr`` at ``2 * T_max`` and repeats with period ``2 * T_max``. So does this class.

    Implementation: PyTorch steps a *recursion* (the ratio of consecutive cosines applied to
    ``lr_{t-1} - eta_min``, and at ``t = T_max + 1 (mod 2 T_max)``, where that ratio would
    divide by zero, an additive step). It drifts from the closed form above by up to ~1e-11
    relative (for T_max = 1000 with eta_min close to lr, within 5 * T_max steps), so we run the
    same recursion, memoised.

    Args:
      lr: initial (maximum) learning rate, >= 0.
      T_max: number of steps of the half cosine, an int >= 1.
      eta_min: final (minimum) learning rate, in [0, lr].
    """

    _hyperparameters = ("lr", "T_max", "eta_min")

    def __init__(self, lr, T_max, eta_min=0.0):
        self.lr = _real("lr", lr, 0.0)
        self.T_max = _int("T_max", T_max, low=1)
        self.eta_min = _real("eta_min", eta_min, 0.0, high=self.lr)

    def _first(self):
        return self.lr

    def _next(self, t, lr):  # torch's CosineAnnealingLR.get_lr, operation for operation
        T, eta_min = self.T_max, self.eta_min
        if (t - 1 - T) % (2 * T) == 0:
            return lr + (self.lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return ratio * (lr - eta_min) + eta_min


class CosineAnnealingWarmRestarts(Schedule):
    """Cosine cycles with warm restarts (SGDR): within a cycle of length ``T_i``::

        lr_t = eta_min + (lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    where ``T_cur`` counts the steps since the last restart. The first cycle has ``T_0``
    steps, each next one ``T_mult`` times more; at a restart the lr jumps back to ``lr``.

    PyTorch: ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0, T_mult,
    eta_min)``, stepped without an epoch argument (PyTorch computes this closed form too).
    Loshchilov & Hutter (2017), "SGDR: Stochastic Gradient Descent with Warm Restarts" (ICLR).

    Args:
      lr: learning rate at the start of every cycle, >= 0.
      T_0: length of the first cycle, an int >= 1.
      T_mult: growth factor of the cycle length, an int >= 1.
      eta_min: learning rate at the end of a cycle, in [0, lr].
    """

    _hyperparameters = ("lr", "T_0", "T_mult", "eta_min")

    def __init__(self, lr, T_0, T_mult=1, eta_min=0.0):
        self.lr = _real("lr", lr, 0.0)
        self.T_0 = _int("T_0", T_0, low=1)
        self.T_mult = _int("T_mult", T_mult, low=1)
        self.eta_min = _real("eta_min", eta_min, 0.0, high=self.lr)

    def cycle(self, t: Any) -> tuple[Any, Any]:
        """Where step ``t`` falls: ``(T_cur, T_i)``, steps since the restart and cycle length."""
        steps = _steps(t)
        t_cur, t_i = steps.copy(), np.full(steps.shape, self.T_0, dtype=np.int64)
        while np.any(t_cur >= t_i):  # one pass per cycle (integers: no round-off)
            over = t_cur >= t_i
            t_cur[over] -= t_i[over]
            t_i[over] *= self.T_mult
        return t_cur, t_i

    def _lr(self, t):
        t_cur, t_i = self.cycle(t)
        angle = np.array([math.cos(math.pi * c / i) for c, i in zip(t_cur.tolist(), t_i.tolist())])
        return self.eta_min + (self.lr - self.eta_min) * (1 + angle) / 2


class LambdaLR(Schedule):
    """The learning rate times a factor given by a function of the step::

        lr_t = lr * lr_lambda(t)

    PyTorch: ``torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)``. Examples:
    ``lambda t: 1 / math.sqrt(1 + t)`` (1/sqrt(t) decay), ``lambda t: 1 / (1 + k * t)``
    (1/t decay, as ``InverseTimeDecay``).

    Args:
      lr: learning rate that the factors multiply, >= 0.
      lr_lambda: a function of an int t >= 0 returning a finite factor >= 0.
    """

    _hyperparameters = ("lr", "lr_lambda")

    def __init__(self, lr, lr_lambda):
        self.lr = _real("lr", lr, 0.0)
        _check(callable(lr_lambda), "lr_lambda", lr_lambda, "a function t -> factor")
        self.lr_lambda = lr_lambda

    def _lr(self, t):
        factors = [self.lr_lambda(step) for step in t.tolist()]
        for step, factor in zip(t.tolist(), factors):
            _real(f"lr_lambda({step})", factor, 0.0)
        return self.lr * np.asarray(factors, dtype=np.float64)


class LinearLR(_Recursive):
    """Multiply the learning rate by a factor that moves linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` steps, then stays::

        lr_t = lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)

    PyTorch: ``torch.optim.lr_scheduler.LinearLR(optimizer, start_factor, end_factor,
    total_iters)``. With ``start_factor < 1 = end_factor`` it is a linear warm-up (see
    ``warmup``); with ``end_factor = 0`` a linear decay to zero.

    Implementation: PyTorch steps a recursion, multiplying by the ratio of consecutive factors,
    ``1 + (end - start) / (total_iters * start + (t - 1) * (end - start))``. We run the same
    recursion, so the values agree to the last digit; in particular a decay to
    ``end_factor = 0`` ends at a round-off residue of about 1e-18 * lr (of either sign), as in
    PyTorch, rather than at exactly 0.

    Args:
      lr: learning rate that the factors multiply, >= 0.
      start_factor: factor at t = 0, in (0, 1].
      end_factor: factor from t = total_iters on, in [0, 1].
      total_iters: length of the ramp, an int >= 1.
    """

    _hyperparameters = ("lr", "start_factor", "end_factor", "total_iters")

    def __init__(self, lr, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        self.lr = _real("lr", lr, 0.0)
        self.start_factor = _real("start_factor", start_factor, 0.0, 1.0, low_open=True)
        self.end_factor = _real("end_factor", end_factor, 0.0, 1.0)
        self.total_iters = _int("total_iters", total_iters, low=1)

    def _lr(self, t):
        return super()._lr(np.minimum(t, self.total_iters))

    def _first(self):
        return self.lr * self.start_factor

    def _next(self, t, lr):  # torch's LinearLR.get_lr
        start, change = self.start_factor, self.end_factor - self.start_factor
        return lr * (1.0 + change / (self.total_iters * start + (t - 1) * change))


class OneCycleLR(Schedule):
    """The 1cycle policy: warm up from ``max_lr / div_factor`` to ``max_lr`` during the first
    ``pct_start`` of ``total_steps``, then anneal down to ``max_lr / (div_factor *
    final_div_factor)``. The momentum moves the opposite way, ``max_momentum`` -> ``base_momentum``
    -> ``max_momentum`` (read it with ``momentum(t)``).

    Each phase interpolates from its start value to its end value with ``pct`` in [0, 1]::

        cos:     end + (start - end) * (1 + cos(pi * pct)) / 2
        linear:  start + (end - start) * pct

    Phases (``N = total_steps``, ``p = pct_start``; a phase ends at the step given)::

        two-phase:    initial -> max_lr      ending at p*N - 1
                      max_lr  -> min_lr      ending at N - 1
        three_phase:  initial -> max_lr      ending at p*N - 1
                      max_lr  -> initial     ending at 2*p*N - 2
                      initial -> min_lr      ending at N - 1   (momentum stays at max_momentum)

    PyTorch: ``torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr, total_steps, ...)``
    (two-phase is fastai's default; ``three_phase=True`` is the paper's). Smith & Topin (2019),
    "Super-Convergence: Very Fast Training of Neural Networks Using Large Learning Rates".

    The cycle is t = 0 .. total_steps - 1. PyTorch allows one more step, t = total_steps, where
    it extrapolates the last phase: ``'cos'`` climbs back up a little and ``'linear'``
    overshoots below the final lr, to a *negative* lr. We reproduce that; beyond total_steps
    PyTorch raises, and so do we (``ValueError``).

    Values are computed one t at a time with the same ``math`` calls as PyTorch: near the end
    of the anneal ``1 + cos`` cancels, and a one-ulp difference in ``cos`` would show.

    Args:
      max_lr: peak learning rate, >= 0.
      total_steps: length of the cycle, an int >= 1.
      pct_start: fraction of the steps spent warming up, in [0, 1] ([0, 0.5] for three_phase).
      anneal_strategy: ``'cos'`` or ``'linear'``.
      cycle_momentum: whether to cycle the momentum (then ``momentum(t)`` is available).
      base_momentum: momentum at the lr peak, in [0, max_momentum].
      max_momentum: momentum at the start and end, in [base_momentum, 1).
      div_factor: initial lr = max_lr / div_factor, > 0.
      final_div_factor: final lr = initial lr / final_div_factor, > 0.
      three_phase: use the paper's three phases instead of fastai's two.
    """

    _hyperparameters = (
        "max_lr",
        "total_steps",
        "pct_start",
        "anneal_strategy",
        "cycle_momentum",
        "base_momentum",
        "max_momentum",
        "div_factor",
        "final_div_factor",
        "three_phase",
    )

    def __init__(
        self,
        max_lr,
        total_steps,
        pct_start=0.3,
        anneal_strategy="cos",
        cycle_momentum=True,
        base_momentum=0.85,
        max_momentum=0.95,
        div_factor=25.0,
        final_div_factor=1e4,
        three_phase=False,
    ):
        self.max_lr = _real("max_lr", max_lr, 0.0)
        self.total_steps = _int("total_steps", total_steps, low=1)
        self.three_phase = _flag("three_phase", three_phase)
        if self.three_phase:  # else the third phase would have negative length
            self.pct_start = _real("pct_start (with three_phase=True)", pct_start, 0.0, 0.5)
        else:
            self.pct_start = _real("pct_start", pct_start, 0.0, 1.0)
        _check(
            anneal_strategy in ("cos", "linear"),
            "anneal_strategy",
            anneal_strategy,
            "'cos' or 'linear'",
        )
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = _flag("cycle_momentum", cycle_momentum)
        self.max_momentum = _real("max_momentum", max_momentum, 0.0, 1.0, high_open=True)
        self.base_momentum = _real("base_momentum", base_momentum, 0.0, self.max_momentum)
        self.div_factor = _real("div_factor", div_factor, 0.0, low_open=True)
        self.final_div_factor = _real("final_div_factor", final_div_factor, 0.0, low_open=True)

        initial = self.max_lr / self.div_factor
        low, high = self.base_momentum, self.max_momentum
        warm_end = float(self.pct_start * self.total_steps) - 1  # as in PyTorch
        # (end step, start lr, end lr, start momentum, end momentum) of each phase
        self._phases = [(warm_end, initial, self.max_lr, high, low)]
        if self.three_phase:
            self._phases.append(
                (float(2 * self.pct_start * self.total_steps) - 2, self.max_lr, initial, low, high)
            )
            self._phases.append(
                (self.total_steps - 1, initial, initial / self.final_div_factor, high, high)
            )
        else:
            self._phases.append(
                (self.total_steps - 1, self.max_lr, initial / self.final_div_factor, low, high)
            )
        starts = [0.0] + [phase[0] for phase in self._phases[:-1]]
        if any(phase[0] == start for phase, start in zip(self._phases, starts)):
            raise ValueError(  # PyTorch would divide by zero when it reaches that phase
                f"pct_start={pct_start!r} with total_steps={total_steps!r} gives a phase of "
                "zero length; change pct_start (e.g. pct_start * total_steps must not be 1)"
            )

    def _phase(self, t: int) -> tuple[tuple, float]:
        """The phase that step ``t`` falls in, and how far through it we are (pct)."""
        if t > self.total_steps:
            raise ValueError(
                f"t={t} is beyond total_steps={self.total_steps}: PyTorch's "
                "OneCycleLR raises when stepped more than total_steps times"
            )
        start = 0.0
        for phase in self._phases:
            if t <= phase[0] or phase is self._phases[-1]:
                return phase, (t - start) / (phase[0] - start)
            start = phase[0]

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _lr(self, t):
        values = []
        for step in t.tolist():
            (_, start, end, _, _), pct = self._phase(step)
            values.append(self._anneal(start, end, pct))
        return values

    def momentum(self, t: Any) -> Any:
        """Momentum (SGD's ``momentum``, or Adam's ``beta1``) that PyTorch sets at step ``t``.

        Args:
          t: step count (0 <= t <= total_steps), or an integer array of them.

        Returns:
          a float for an int ``t``; a float64 array of ``t``'s shape for an array.
        """
        if not self.cycle_momentum:
            raise ValueError(
                "momentum(t) needs cycle_momentum=True: with cycle_momentum=False "
                "OneCycleLR leaves the optimizer's momentum alone"
            )

        def rule(steps):
            values = []
            for step in steps.tolist():
                (_, _, _, start, end), pct = self._phase(step)
                values.append(self._anneal(start, end, pct))
            return values

        return _evaluate(rule, t)


class InverseTimeDecay(Schedule):
    """Inverse-time decay, as in Keras::

        lr_t = lr / (1 + decay_rate * t / decay_steps)
        lr_t = lr / (1 + decay_rate * floor(t / decay_steps))      if staircase

    Keras: ``tf.keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps, decay_rate,
    staircase)``. PyTorch has no such class; ``LambdaLR(optimizer, lambda t: 1 / (1 +
    decay_rate * t / decay_steps))`` gives the same values. The ``1/t`` decay of stochastic
    approximation, Robbins & Monro (1951). Computed in float64 (Keras computes in float32).

    Args:
      lr: initial learning rate, >= 0.
      decay_steps: steps per unit of decay, > 0.
      decay_rate: decay rate, >= 0.
      staircase: decay in steps (every ``decay_steps``) instead of continuously.
    """

    _hyperparameters = ("lr", "decay_steps", "decay_rate", "staircase")

    def __init__(self, lr, decay_steps, decay_rate, staircase=False):
        self.lr = _real("lr", lr, 0.0)
        self.decay_steps = _real("decay_steps", decay_steps, 0.0, low_open=True)
        self.decay_rate = _real("decay_rate", decay_rate, 0.0)
        self.staircase = _flag("staircase", staircase)

    def _lr(self, t):
        p = t / self.decay_steps
        if self.staircase:
            p = np.floor(p)
        return self.lr / (1 + self.decay_rate * p)


class SequentialLR(Schedule):
    """Run ``schedules`` one after another, switching at ``milestones``::

        lr_t = schedules[i](t - milestones[i-1])   for milestones[i-1] <= t < milestones[i]

    (with milestones[-1] = 0 and milestones[len] = infinity): each schedule starts its own
    clock at 0 when its turn comes.

    PyTorch: ``torch.optim.lr_scheduler.SequentialLR(optimizer, schedulers, milestones)``;
    the values agree with PyTorch's (checked for warm-up into each schedule). Two differences,
    both because here every schedule carries its own ``lr``:

    - In PyTorch all schedulers share the optimizer's initial lr. Give every schedule the
      same ``lr`` to reproduce PyTorch.
    - A ``OneCycleLR`` inside PyTorch's SequentialLR overwrites that shared initial lr with
      ``max_lr / div_factor``, and the other schedulers (before or after it) start from that;
      here each schedule keeps its own ``lr``. Give them ``lr = max_lr / div_factor`` to
      reproduce PyTorch.

    ``ReduceLROnPlateau`` cannot be sequenced (as in PyTorch): it is not a function of t.

    Args:
      schedules: a non-empty list of ``Schedule`` objects.
      milestones: ``len(schedules) - 1`` non-decreasing step counts (ints >= 0); a repeated
        milestone skips the schedule between them.
    """

    _hyperparameters = ("schedules", "milestones")

    def __init__(self, schedules, milestones):
        self.schedules = list(schedules)
        _check(len(self.schedules) >= 1, "schedules", schedules, "a non-empty list")
        for i, schedule in enumerate(self.schedules):
            _check(
                isinstance(schedule, Schedule),
                f"schedules[{i}]",
                schedule,
                "a Schedule (ReduceLROnPlateau is not one: it depends on a metric, not on t)",
            )
        self.milestones = _milestones("milestones", milestones)
        _check(
            len(self.milestones) == len(self.schedules) - 1,
            "milestones",
            milestones,
            f"of length len(schedules) - 1 = {len(self.schedules) - 1}",
        )

    def _lr(self, t):
        segment = np.searchsorted(self.milestones, t, side="right")
        start = np.array((0,) + self.milestones)[segment]
        lrs = np.empty(t.shape)
        for i, schedule in enumerate(self.schedules):
            here = segment == i
            if here.any():
                lrs[here] = schedule(t[here] - start[here])
        return lrs


def warmup(schedule: Schedule, warmup_steps: int, start_factor: float = 1.0 / 3) -> SequentialLR:
    """Linear warm-up into ``schedule``: a ``LinearLR`` ramp for ``warmup_steps`` steps, then
    ``schedule`` from its own t = 0::

        lr_t = lr * (start_factor + (1 - start_factor) * t / warmup_steps)   for t < warmup_steps
        lr_t = schedule(t - warmup_steps)                                    afterwards

    where ``lr = schedule.lr``. Equals PyTorch's ``SequentialLR(optimizer, [LinearLR(optimizer,
    start_factor, 1.0, warmup_steps), scheduler], milestones=[warmup_steps])``. Gradual
    warm-up: Goyal et al. (2017), "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour".

    Args:
      schedule: the ``Schedule`` to warm up into; it needs a base learning rate ``.lr``.
      warmup_steps: length of the ramp, an int >= 1.
      start_factor: fraction of ``lr`` at t = 0, in (0, 1] (PyTorch LinearLR's default 1/3).

    Returns:
      a ``SequentialLR``.
    """
    _check(
        isinstance(schedule, Schedule) and hasattr(schedule, "lr"),
        "schedule",
        schedule,
        "a Schedule with a base learning rate .lr (OneCycleLR has its own warm-up)",
    )
    ramp = LinearLR(schedule.lr, start_factor, 1.0, _int("warmup_steps", warmup_steps, low=1))
    return SequentialLR([ramp, schedule], [warmup_steps])


# --------------------------------------------------------------------------------------------
# A schedule driven by a metric
# --------------------------------------------------------------------------------------------
class ReduceLROnPlateau:
    """Divide the learning rate when a metric stops improving. Stateful: call
    ``step(metric)`` once per epoch with the validation metric; it returns the new lr.

    On each step::

        improved = metric < best * (1 - threshold)   (mode 'min', threshold_mode 'rel')
                   metric < best - threshold         (mode 'min', threshold_mode 'abs')
                   metric > best * (1 + threshold)   (mode 'max', threshold_mode 'rel')
                   metric > best + threshold         (mode 'max', threshold_mode 'abs')
        if improved: best = metric, num_bad_epochs = 0   else: num_bad_epochs += 1
        if cooldown_counter > 0: cooldown_counter -= 1, num_bad_epochs = 0
        if num_bad_epochs > patience:
            new = max(lr * factor, min_lr);  if lr - new > eps: lr = new
            cooldown_counter = cooldown, num_bad_epochs = 0

    PyTorch: ``torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode, factor, patience,
    threshold, threshold_mode, cooldown, min_lr, eps)``, same semantics (a NaN metric is
    never an improvement). ``reset()`` starts over from the initial state.

    Args:
      lr: initial learning rate, >= 0.
      mode: ``'min'`` (a loss) or ``'max'`` (an accuracy).
      factor: multiplies the lr on a plateau, in (0, 1) (PyTorch only requires < 1).
      patience: bad epochs tolerated before reducing, an int >= 0.
      threshold: how much better counts as better, >= 0 (< 1 with threshold_mode 'rel').
      threshold_mode: ``'rel'`` or ``'abs'``.
      cooldown: epochs to wait after a reduction before counting bad epochs, an int >= 0.
      min_lr: lower bound on the lr, >= 0.
      eps: reductions smaller than eps are skipped, >= 0.
    """

    _hyperparameters = (
        "lr",
        "mode",
        "factor",
        "patience",
        "threshold",
        "threshold_mode",
        "cooldown",
        "min_lr",
        "eps",
    )

    def __init__(
        self,
        lr,
        mode="min",
        factor=0.1,
        patience=10,
        threshold=1e-4,
        threshold_mode="rel",
        cooldown=0,
        min_lr=0.0,
        eps=1e-8,
    ):
        self.initial_lr = _real("lr", lr, 0.0)
        _check(mode in ("min", "max"), "mode", mode, "'min' or 'max'")
        _check(threshold_mode in ("rel", "abs"), "threshold_mode", threshold_mode, "'rel' or 'abs'")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = _real("factor", factor, 0.0, 1.0, low_open=True, high_open=True)
        self.patience = _int("patience", patience)
        self.threshold = _real(
            "threshold",
            threshold,
            0.0,
            1.0 if threshold_mode == "rel" else math.inf,
            high_open=True,
        )
        self.cooldown = _int("cooldown", cooldown)
        self.min_lr = _real("min_lr", min_lr, 0.0)
        self.eps = _real("eps", eps, 0.0)
        self.reset()

    def reset(self) -> None:
        """Start over: lr back to its initial value, no best metric, counters at zero."""
        self.lr = self.initial_lr
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def is_better(self, metric: float) -> bool:
        """Whether ``metric`` is a significant improvement on ``self.best``."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return metric < self.best * (1.0 - self.threshold)
        if self.mode == "min":
            return metric < self.best - self.threshold
        if self.threshold_mode == "rel":
            return metric > self.best * (self.threshold + 1.0)
        return metric > self.best + self.threshold

    def step(self, metric: float) -> float:
        """Take one epoch's metric into account.

        Args:
          metric: the monitored quantity (e.g. the validation loss), a number.

        Returns:
          the learning rate to use from now on.
        """
        metric = float(metric)
        self.last_epoch += 1
        if self.is_better(metric):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during a cooldown do not count
        if self.num_bad_epochs > self.patience:
            new_lr = max(self.lr * self.factor, self.min_lr)
            if self.lr - new_lr > self.eps:
                self.lr = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        return self.lr

    def __repr__(self) -> str:
        return _repr(self, lr=self.initial_lr)
