"""Running optimizers: ``run`` iterates an optimizer on a landscape and records the trajectory;
``train_minibatch`` trains a model on data with minibatches and records its history.

    from course_lib.landscapes import Quadratic
    from course_lib.optim import SGD
    from course_lib.train import run

    traj = run(SGD(lr=0.1), Quadratic.bowl(condition_number=10), x0=[-1.5, 1.0], steps=50)
    print(traj)                         # final loss, steps taken, diverged or not
    plt.plot(*traj.path.T)              # the iterates, x0 first

    from course_lib.data import make_linear_regression
    from course_lib.models import linear_regression_loss
    from course_lib.train import train_minibatch

    X, y, _ = make_linear_regression(n=500, dim=5)
    hist = train_minibatch(linear_regression_loss, np.zeros(5), X, y, SGD(lr=0.05),
                           batch_size=32, epochs=10, rng=0)
    plt.plot(hist.iteration_epochs_fraction, hist.iteration_losses)   # noisy minibatch losses
    plt.plot(np.arange(hist.epochs_completed + 1), hist.train_losses) # full-data loss per epoch

The optimizer is any object with ``init(params) -> state`` and pure
``step(params, grads, state, lr=None) -> (params, state)`` (the API of ``course_lib.optim``).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Integral
from typing import Any, Callable, Optional

import numpy as np

from course_lib._checks import check, flag, integer
from course_lib.data import minibatch_indices
from course_lib.landscapes import NoisyQuadratic
from course_lib.optim import SGD, Adam, _array_step

__all__ = [
    "Trajectory",
    "run",
    "effective_lrs",
    "run_replicas",
    "replica_losses",
    "PlateauRun",
    "run_on_plateau",
    "History",
    "train_minibatch",
]


@dataclass(frozen=True, repr=False, eq=False)
class Trajectory:
    """What ``run`` records.

    Attributes:
      path: ``(k + 1, *x0.shape)`` array: x0 and every iterate after it.
      losses: ``(k + 1,)`` array: the loss at each point of ``path``.
      lrs: ``(k,)`` array: the learning rate of each step (``schedule(t)``, else
        ``optimizer.lr``).
      diverged: True if the run stopped early because it blew up.
      diverged_at: the step t (as in ``schedule(t)``) whose gradient or result was non-finite
        or beyond the bound, else None. That point is not stored: ``path`` ends at the last
        good iterate, so ``diverged_at == steps_taken``.
      steps_taken: k, the number of completed steps.
      final_state: the optimizer state after the last completed step.
      states: with ``run(..., keep_states=True)``, the list of the ``k + 1`` optimizer states,
        the initial one first (``states[t]`` goes with ``path[t]``); else None.
    """

    path: np.ndarray
    losses: np.ndarray
    lrs: np.ndarray
    diverged: bool
    diverged_at: Optional[int]
    steps_taken: int
    final_state: Any
    states: Optional[list] = None

    def __repr__(self):
        status = f"diverged at step {self.diverged_at}" if self.diverged else "did not diverge"
        return (
            f"Trajectory({self.steps_taken} steps, final loss {self.losses[-1]:.6g}, "
            f"final x {np.array2string(self.path[-1], precision=4)}, {status})"
        )


def _ok(x, bound):
    """True if every entry of x is finite and within [-bound, bound]."""
    # the array methods: np.all's dispatch costs more than the test on a small array
    return bool(np.isfinite(x).all() and (np.abs(x) <= bound).all())


def _gradient_function(landscape, rng, stochastic):
    """``x -> gradient``: ``landscape.grad``, or its ``stochastic_grad`` with a seeded rng."""
    has_noise = hasattr(landscape, "stochastic_grad")
    if stochastic is None:
        stochastic = has_noise
    elif stochastic and not has_noise:
        raise ValueError(f"stochastic=True but {landscape!r} has no stochastic_grad")
    if not stochastic:
        return landscape.grad
    rng = np.random.default_rng(rng)
    return lambda p: landscape.stochastic_grad(p, rng)


def _lr_at(optimizer, schedule, t):
    """The learning rate of step t and the ``step`` keyword arguments that apply it."""
    if schedule is None:
        return getattr(optimizer, "lr", np.nan), {}
    lr = float(schedule(t))
    return lr, {"lr": lr}


def run(
    optimizer,
    landscape,
    x0,
    steps: int,
    schedule: Optional[Callable[[int], float]] = None,
    bound: float = 1e6,
    rng=None,
    stochastic: Optional[bool] = None,
    keep_states: bool = False,
) -> Trajectory:
    """Iterate ``optimizer`` from ``x0`` on ``landscape`` for ``steps`` steps.

    Step t evaluates the gradient at ``optimizer.gradient_point(x, state)`` (just x for all
    but look-ahead Nesterov), then calls ``optimizer.step`` with ``lr=schedule(t)`` if a
    schedule is given. The run stops early, without numpy warnings, as soon as a gradient,
    iterate or loss is non-finite or an iterate leaves ``[-bound, bound]``.

    Args:
      optimizer: object with ``init(params)`` and ``step(params, grads, state, lr=None)``;
        if it has ``needs_objective = True`` (``course_lib.second_order``), ``init`` is called
        as ``init(params, landscape)``.
      landscape: object with ``value(x)`` and ``grad(x)`` (e.g. ``course_lib.landscapes``).
      x0: starting point, a single point (shape ``(dim,)``, or a scalar on a 1-D landscape).
        It is copied, never modified.
      steps: number of steps, an int >= 0.
      schedule: optional callable ``t -> lr`` for t = 0, 1, 2, ...
      bound: an iterate with any ``|x_i| > bound`` counts as diverged (> 0; may be inf).
      rng: seed or ``np.random.Generator`` for stochastic gradients (reproducible runs).
      stochastic: use ``landscape.stochastic_grad(x, rng)`` instead of ``grad``; default: if
        the landscape has one.
      keep_states: keep the optimizer's state after every step in ``Trajectory.states``
        (to plot what an adaptive method remembers, e.g. with ``optimizer.effective_lr``).

    Returns:
      A ``Trajectory``.
    """
    if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if not bound > 0:
        raise ValueError(f"bound must be > 0, got {bound!r}")
    keep_states = flag("keep_states", keep_states)
    gradient = _gradient_function(landscape, rng, stochastic)
    x = np.array(x0, dtype=float)  # a copy: x0 is never touched
    path = np.empty((steps + 1,) + x.shape)
    losses = np.empty(steps + 1)
    lrs = np.empty(steps)
    gradient_point = getattr(optimizer, "gradient_point", lambda p, s: p)
    k, diverged_at = 0, None

    with np.errstate(all="ignore"):  # overflow is detected below, not warned about
        loss = landscape.value(x)
        if np.ndim(loss) != 0:
            raise ValueError(f"x0 must be a single point, got shape {x.shape}")
        if not (_ok(x, bound) and np.isfinite(loss)):
            raise ValueError(f"x0 must be finite, |x0| <= bound={bound}, finite loss; got {x0!r}")
        path[0], losses[0] = x, loss
        # second-order methods (course_lib.second_order) need the objective itself
        needs_objective = getattr(optimizer, "needs_objective", False)
        state = optimizer.init(x, landscape) if needs_objective else optimizer.init(x)
        states = [state] if keep_states else None
        # optimizer.step without its per-call checks of the parameter tree (same arithmetic)
        plain = optimizer.wrapped if isinstance(optimizer, _Resume) else optimizer
        step = _array_step(plain, x, state)
        for t in range(steps):
            g = gradient(gradient_point(x, state))
            if not np.isfinite(g).all():
                diverged_at = t
                break
            lr, override = _lr_at(optimizer, schedule, t)
            new_x, new_state = step(x, g, state, **override)
            loss = landscape.value(new_x)
            if not (_ok(new_x, bound) and np.isfinite(loss)):
                diverged_at = t
                break
            x, state, k = new_x, new_state, t + 1
            path[k], losses[k], lrs[t] = x, loss, lr
            if keep_states:
                states.append(state)

    return Trajectory(
        path=path[: k + 1],
        losses=losses[: k + 1],
        lrs=lrs[:k],
        diverged=diverged_at is not None,
        diverged_at=diverged_at,
        steps_taken=k,
        final_state=state,
        states=states,
    )


def effective_lrs(optimizer, trajectory: Trajectory) -> np.ndarray:
    """The per-coordinate learning rate of every step of a run: ``(k, *x0.shape)``.

    Row t is ``optimizer.effective_lr(states[t], states[t + 1], lr=lrs[t])``, the factor that
    step t applied to its direction (see ``course_lib.optim.Optimizer.effective_lr``).

    Args:
      optimizer: the optimizer of the run.
      trajectory: from ``run(optimizer, ..., keep_states=True)``.
    """
    check(
        trajectory.states is not None,
        "trajectory",
        "a Trajectory without states",
        "a run made with keep_states=True",
    )
    states, shape = trajectory.states, trajectory.path.shape[1:]
    rates = [
        np.broadcast_to(optimizer.effective_lr(before, after, lr=lr), shape)
        for before, after, lr in zip(states, states[1:], trajectory.lrs)
    ]
    return np.array(rates, dtype=float).reshape((len(rates),) + shape)


def run_replicas(optimizer, landscape, x0, steps: int, replicas: int, schedule=None, rng=None):
    """``replicas`` independent runs of ``run`` on a noisy quadratic at the cost of one.

    The copies of ``landscape`` side by side form one quadratic with a block-diagonal matrix,
    whose gradient noise is independent in every coordinate; an optimizer that acts on each
    coordinate alone (all of ``course_lib.optim``) then makes one run on it that is
    ``replicas`` independent runs, each on its own block. If one copy diverges, all stop.

    Args:
      optimizer, x0, steps, schedule, rng: as in ``run`` (x0 is one copy's start).
      landscape: a ``course_lib.landscapes.NoisyQuadratic``.
      replicas: number of independent runs, an int >= 1.

    Returns:
      ``(losses, trajectory)``: losses of shape ``(replicas, k + 1)``, one row per run, and
      the ``Trajectory`` of the combined run.
    """
    check(isinstance(landscape, NoisyQuadratic), "landscape", landscape, "a NoisyQuadratic")
    replicas = integer("replicas", replicas, 1)
    big = NoisyQuadratic(
        np.kron(np.eye(replicas), landscape.A),
        np.tile(landscape.b, replicas),
        replicas * landscape.c,
        landscape.noise,
    )
    x0 = np.asarray(x0, dtype=float)
    check(x0.shape == (landscape.dim,), "x0", x0, f"a point of shape ({landscape.dim},)")
    traj = run(optimizer, big, np.tile(x0, replicas), steps, schedule=schedule, rng=rng)
    losses = landscape.value(traj.path.reshape(len(traj.path), replicas, landscape.dim))
    return losses.T, traj


# optimizers whose update (``_update_leaf``) is elementwise arithmetic in which the rate may be
# an array: ``replica_losses`` runs them with one rate per sequence in a single array update
_RATE_ARRAYS = (SGD, Adam)


def replica_losses(optimizer, landscape, x0, rates, replicas: int, rng=None, bound: float = 1e6):
    """The losses of ``run_replicas`` for several learning-rate sequences at once.

    Row i of ``rates`` gives the losses of
    ``run_replicas(optimizer, landscape, x0, len(rates[i]), replicas,
    schedule=rates[i].__getitem__, rng=rng)``: each sequence sees the same noise draws, as
    separate calls with the same seed do. For ``SGD`` and ``Adam`` all sequences run in one
    array of shape ``(sequences, replicas, dim)``, updated by the optimizer's own arithmetic
    with a column of rates, so the cost of a step is paid once for all of them (equal to the
    separate runs to rounding: the gradient is taken per copy instead of with one
    block-diagonal matrix). Other optimizers run one ``run_replicas`` per row. A sequence
    stops, as ``run`` does, at its last iterate within ``[-bound, bound]`` with a finite loss.

    Args:
      optimizer, landscape, x0, replicas, rng: as in ``run_replicas``.
      rates: ``(sequences, steps)`` learning rates, each >= 0.
      bound: as in ``run``.

    Returns:
      A list with one ``(replicas, k + 1)`` array of losses per row of ``rates`` (k = steps,
      or fewer if that sequence diverged).
    """
    check(isinstance(landscape, NoisyQuadratic), "landscape", landscape, "a NoisyQuadratic")
    replicas = integer("replicas", replicas, 1)
    rates = np.asarray(rates, dtype=float)
    check(rates.ndim == 2, "rates", rates.shape, "a 2-D array (sequences, steps)")
    check(bool((rates >= 0).all()), "rates", rates, "learning rates >= 0 (and not NaN)")
    x0 = np.asarray(x0, dtype=float)
    check(x0.shape == (landscape.dim,), "x0", x0, f"a point of shape ({landscape.dim},)")
    if type(optimizer) not in _RATE_ARRAYS:
        return [
            run_replicas(optimizer, landscape, x0, len(row), replicas, row.__getitem__, rng)[0]
            for row in rates
        ]
    check(_ok(x0, bound), "x0", x0, f"a finite point with |x0| <= bound={bound}")
    x = np.array(np.broadcast_to(x0, (len(rates), replicas, landscape.dim)))
    leaf = optimizer._unpack(optimizer.init(x), 1)[0]
    _, losses, _, ends = _steps_with_rates(optimizer, landscape, x, leaf, 0, rates, rng, bound)
    return [losses[: end + 1, i].T.copy() for i, end in enumerate(ends)]


def _steps_with_rates(optimizer, landscape, x, leaf, t0, rates, rng, bound):
    """Steps ``t0 + 1 .. t0 + T`` of an optimizer of ``_RATE_ARRAYS`` on a noisy quadratic,
    from points ``x`` of shape ``(S, R, dim)``, sequence i (``x[i]``) with the rates
    ``rates[i]`` (shape ``(S, T)``), in one array: the optimizer's own ``_update_leaf`` with a
    column of rates. Every step draws the noise ``stochastic_grad`` would add to the gradient
    of one sequence (shape ``(R, dim)``) from ``rng`` once and adds it to all sequences.

    Returns ``(path, losses, leaf, ends)``: the points ``(T + 1, S, R, dim)``, x first, their
    losses ``(T + 1, S, R)``, the optimizer's buffers after the last step, and for each
    sequence the number of steps before it diverged as ``run`` sees it (an iterate beyond
    ``bound`` or not finite, or a loss not finite), T if it did not.
    """
    steps = rates.shape[1]
    rng = np.random.default_rng(rng)
    path = np.empty((steps + 1,) + x.shape)
    path[0] = x
    with np.errstate(all="ignore"):  # a diverging sequence is cut below, not warned about
        for t in range(steps):
            noise = landscape.noise * rng.standard_normal(x.shape[1:])
            x, leaf = optimizer._update_leaf(
                x, landscape.grad(x) + noise, leaf, t0 + t + 1, rates[:, t, None, None]
            )
            path[t + 1] = x
        losses = landscape.value(path)
        # NaN is not <= bound; a diverged sequence runs on in inf and NaN, apart from the rest
        ok = (np.abs(path) <= bound).all(axis=(2, 3)) & np.isfinite(losses).all(axis=2)
    ends = np.where(ok.all(axis=0), steps, np.argmin(ok, axis=0) - 1)
    return path, losses, leaf, ends


# --------------------------------------------------------------------------------------------
# A run driven by a metric: ReduceLROnPlateau
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False, eq=False)
class PlateauRun:
    """What ``run_on_plateau`` records.

    Attributes:
      val_losses: ``(E + 1,)`` the exact loss (the validation metric) before the first epoch
        and after each of the E completed epochs.
      lrs: ``(E,)`` the learning rate used during each epoch.
      reductions: the epochs e (1-based) after which the rate was reduced.
      losses: the loss after every step, x0's first.
      diverged: True if the run stopped early because it blew up.
    """

    val_losses: np.ndarray
    lrs: np.ndarray
    reductions: tuple
    losses: np.ndarray
    diverged: bool

    def __repr__(self):
        return (
            f"PlateauRun({len(self.lrs)} epochs, final validation loss "
            f"{self.val_losses[-1]:.6g}, rate reduced after epochs {list(self.reductions)})"
        )


class _Resume:
    """An optimizer whose ``init`` returns a given state (None: a fresh one), so that ``run``
    continues where the previous call left off."""

    def __init__(self, optimizer, state):
        self.wrapped, self._state = optimizer, state

    def init(self, params):
        return self.wrapped.init(params) if self._state is None else self._state

    def __getattr__(self, name):
        return getattr(self.wrapped, name)


def run_on_plateau(optimizer, landscape, x0, plateau, epochs: int, steps_per_epoch: int, rng=None):
    """Train with ``ReduceLROnPlateau``: each epoch takes ``steps_per_epoch`` steps at the
    current rate, then calls ``plateau.step(landscape.value(x))``: the exact loss stands for a
    validation loss (the loss on unlimited fresh data) and sets the rate of the next epoch.

    Args:
      optimizer: as in ``run``; its state carries over from epoch to epoch.
      landscape: as in ``run`` (stochastic gradients if it has ``stochastic_grad``).
      x0: starting point.
      plateau: a ``course_lib.schedules.ReduceLROnPlateau``; it is ``reset()`` first.
      epochs, steps_per_epoch: ints >= 1.
      rng: seed or ``np.random.Generator`` for stochastic gradients.

    Returns:
      A ``PlateauRun``.
    """
    epochs = integer("epochs", epochs, 1)
    steps_per_epoch = integer("steps_per_epoch", steps_per_epoch, 1)
    check(
        hasattr(plateau, "step") and hasattr(plateau, "reset"),
        "plateau",
        plateau,
        "a ReduceLROnPlateau",
    )
    plateau.reset()
    rng = np.random.default_rng(rng)
    x, state = np.array(x0, dtype=float), None
    # SGD and Adam on a noisy quadratic: each epoch in one array update per step, without
    # run's per-step calls (the same steps, the same noise draws)
    fast = (
        type(optimizer) in _RATE_ARRAYS
        and isinstance(landscape, NoisyQuadratic)
        and x.shape == (landscape.dim,)
    )
    if fast:
        check(_ok(x, 1e6), "x0", x0, "a finite point with |x0| <= 1e6")
        x = x.reshape(1, 1, -1)  # one sequence of one replica (_steps_with_rates)
        state = optimizer._unpack(optimizer.init(x), 1)[0]
    losses, lrs, reductions = [float(landscape.value(x).item())], [], []
    val_losses = [losses[0]]
    for epoch in range(epochs):
        lrs.append(plateau.lr)
        if fast:
            rates = np.full((1, steps_per_epoch), float(plateau.lr))
            path, epoch_losses, state, (k,) = _steps_with_rates(
                optimizer, landscape, x, state, epoch * steps_per_epoch, rates, rng, 1e6
            )
            x, epoch_losses, diverged = (
                path[k],
                epoch_losses[: k + 1, 0, 0],
                bool(k < steps_per_epoch),
            )
        else:
            traj = run(
                _Resume(optimizer, state),
                landscape,
                x,
                steps_per_epoch,
                schedule=lambda t, lr=plateau.lr: lr,
                rng=rng,
            )
            x, state, epoch_losses = traj.path[-1], traj.final_state, traj.losses
            diverged = traj.diverged
        losses.extend(epoch_losses[1:])
        if diverged:
            break
        val_losses.append(float(epoch_losses[-1]))
        if plateau.step(val_losses[-1]) < lrs[-1]:
            reductions.append(epoch + 1)
    return PlateauRun(
        np.array(val_losses), np.array(lrs), tuple(reductions), np.array(losses), diverged
    )


# --------------------------------------------------------------------------------------------
# Minibatch training on data
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False, eq=False)
class History:
    """What ``train_minibatch`` records. Iterations and epochs are counted from 0.

    Attributes:
      iteration_losses: ``(T,)`` the minibatch loss of each iteration, at the parameters where
        its gradient was taken (before the update): noisy, because each batch differs.
      iteration_epochs: ``(T,)`` int: the epoch each iteration belongs to.
      iteration_examples: ``(T,)`` int: examples processed up to and including each
        iteration; ``iteration_examples / n_train`` is a fractional epoch axis
        (``iteration_epochs_fraction``).
      iteration_times: ``(T,)`` cumulative seconds of training at the end of each iteration.
      lrs: ``(T,)`` the learning rate of each update (``schedule``'s value, else
        ``optimizer.lr``).
      train_losses: ``(E + 1,)`` the loss on the full training set before training (index 0)
        and after each completed epoch.
      val_losses: ``(E + 1,)`` the same on the validation set, or None without one.
      epoch_times: ``(E + 1,)`` cumulative seconds of training at those moments (0 first).
      train_metrics, val_metrics: ``(E + 1,)`` ``metric(params, X, y)`` (e.g. accuracy) on the
        training and validation sets at the same moments as the losses, or None without a
        ``metric`` (or without a validation set).
      params: the parameters at the end (the last finite ones if the run diverged).
      final_state: the optimizer state at the end.
      diverged: True if training stopped early because a loss, gradient or parameter became
        non-finite.
      diverged_at: the iteration whose minibatch loss, gradient or update was non-finite (or,
        if it was the full-data loss after an epoch, the number of iterations done), else None.
      epochs_completed: E, the number of full epochs done.
      batch_size: the batch size.
      n_train: the number of training examples.

    Times are wall-clock seconds (``time.perf_counter``) spent on minibatch gradients and
    updates only: the full-data evaluations after each epoch are not counted, so runs can be
    compared per second of training.
    """

    iteration_losses: np.ndarray
    iteration_epochs: np.ndarray
    iteration_examples: np.ndarray
    iteration_times: np.ndarray
    lrs: np.ndarray
    train_losses: np.ndarray
    val_losses: Optional[np.ndarray]
    epoch_times: np.ndarray
    params: Any
    final_state: Any
    diverged: bool
    diverged_at: Optional[int]
    epochs_completed: int
    batch_size: int
    n_train: int
    train_metrics: Optional[np.ndarray] = None
    val_metrics: Optional[np.ndarray] = None

    @property
    def iterations(self) -> int:
        """T, the number of completed iterations (updates)."""
        return len(self.iteration_losses)

    @property
    def iteration_epochs_fraction(self) -> np.ndarray:
        """``(T,)`` epochs elapsed at the end of each iteration, as a float (1.0 = one pass)."""
        return self.iteration_examples / self.n_train

    def __repr__(self):
        status = f"diverged at iteration {self.diverged_at}" if self.diverged else "did not diverge"
        val = "" if self.val_losses is None else f", val loss {self.val_losses[-1]:.6g}"
        return (
            f"History({self.epochs_completed} epochs, {self.iterations} iterations of batch "
            f"{self.batch_size}, train loss {self.train_losses[0]:.6g} -> "
            f"{self.train_losses[-1]:.6g}{val}, {self.epoch_times[-1]:.3g} s, {status})"
        )


def _finite(tree) -> bool:
    """True if every number in a loss, array or dict/list/tuple of arrays is finite."""
    if isinstance(tree, dict):
        return all(_finite(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return all(_finite(v) for v in tree)
    if isinstance(tree, np.ndarray):
        return bool(np.isfinite(tree).all())
    return bool(np.all(np.isfinite(tree)))


def train_minibatch(
    loss_and_grad: Callable,
    params,
    X,
    y,
    optimizer,
    batch_size: int,
    epochs: int,
    rng=None,
    schedule: Optional[Callable[[int], float]] = None,
    X_val=None,
    y_val=None,
    progress: bool = False,
    shuffle: bool = True,
    drop_last: bool = False,
    schedule_per: str = "iteration",
    metric: Optional[Callable] = None,
    epoch_loss: str = "full",
    callback: Optional[Callable[[History], None]] = None,
) -> History:
    """Minibatch training: ``epochs`` passes over (X, y), one optimizer step per batch.

    Algorithm::

        state = optimizer.init(params); t = 0
        for epoch in range(epochs):
            for idx in minibatch_indices(n, batch_size, rng):    # fresh shuffle each epoch
                loss, grads = loss_and_grad(params, X[idx], y[idx])
                params, state = optimizer.step(params, grads, state, lr=schedule(t))
                t += 1
            record loss_and_grad(params, X, y)[0] (and on X_val, y_val)

    Training stops early, without numpy warnings, as soon as a loss, gradient or parameter is
    non-finite (``History.diverged``); the last finite parameters are kept.

    Args:
      loss_and_grad: ``(params, X_batch, y_batch) -> (loss, grads)``, e.g.
        ``course_lib.models.softmax_loss`` (add ``reg`` with a lambda or functools.partial);
        grads has the structure of params.
      params: initial parameters (an array or a dict/list of arrays); never modified.
      X: ``(n, ...)`` training inputs; y: ``(n, ...)`` targets.
      optimizer: object with ``init(params)`` and ``step(params, grads, state, lr=None)``
        (``course_lib.optim``).
      batch_size: examples per update, an int >= 1 (>= n: full-batch gradient descent).
      epochs: number of passes over the data, an int >= 0.
      rng: seed or ``np.random.Generator`` for the shuffling (same seed, same run).
      schedule: optional callable ``t -> lr``; see ``schedule_per``.
      X_val, y_val: optional validation set, evaluated after every epoch.
      progress: show a progress bar over epochs (``course_lib.progress``, on stderr).
      shuffle, drop_last: as in ``course_lib.data.minibatch_indices``.
      schedule_per: ``"iteration"`` (default: ``lr = schedule(t)``, t counting updates) or
        ``"epoch"`` (``lr = schedule(epoch)``, as a PyTorch scheduler stepped once per epoch).
      metric: optional ``(params, X, y) -> float`` (e.g. ``MLP.accuracy``), recorded with the
        losses before training and after every epoch, on the training and validation sets
        (``History.train_metrics``, ``val_metrics``); not counted in the times.
      epoch_loss: what ``History.train_losses`` records after each epoch: ``"full"``
        (default) the loss on the whole training set at the epoch's end parameters, or
        ``"batches"`` the mean of the epoch's minibatch losses weighted by batch size (what
        scikit-learn's ``loss_curve_`` and Keras report): free, since those losses were
        computed anyway, but taken at parameters that moved during the epoch. Index 0 is the
        full loss before training either way.
      callback: optional ``History -> None``, called after every completed epoch with the
        history so far (its ``params`` are that epoch's end parameters), e.g. to draw live
        curves; its time is not counted in ``epoch_times``.

    Returns:
      A ``History``.
    """
    X, y = _check_data(X, y, X_val, y_val)
    n = len(X)
    batch_size = integer("batch_size", batch_size, 1)
    epochs = integer("epochs", epochs, 0)
    progress, shuffle, drop_last = (
        flag("progress", progress),
        flag("shuffle", shuffle),
        flag("drop_last", drop_last),
    )
    check(
        schedule is None or callable(schedule), "schedule", schedule, "None or a callable t -> lr"
    )
    check(metric is None or callable(metric), "metric", metric, "None or a callable (params, X, y)")
    check(
        callback is None or callable(callback),
        "callback",
        callback,
        "None or a callable History -> None",
    )
    check(epoch_loss in ("full", "batches"), "epoch_loss", epoch_loss, "'full' or 'batches'")
    check(
        schedule_per in ("iteration", "epoch"),
        "schedule_per",
        schedule_per,
        "'iteration' or 'epoch'",
    )
    check(
        not (drop_last and batch_size > n),
        "batch_size",
        batch_size,
        f"<= n = {n} when drop_last=True (otherwise an epoch has no batch)",
    )
    rng = np.random.default_rng(rng)
    per_epoch = (n // batch_size) if drop_last else -(-n // batch_size)
    log = _Log(per_epoch * epochs, batch_size, n, metric is not None, X_val is not None)

    with np.errstate(all="ignore"):  # divergence is detected below, not warned about
        log.train_losses.append(_full_loss(loss_and_grad, params, X, y))
        if X_val is not None:
            log.val_losses.append(_full_loss(loss_and_grad, params, X_val, y_val))
        check(
            np.isfinite(log.train_losses[0]),
            "params",
            f"parameters with training loss {log.train_losses[0]}",
            "initial parameters with a finite training loss",
        )
        log.evaluate(metric, params, X, y, X_val, y_val)
        state = optimizer.init(params)
        with _progress_bar(progress, epochs) as bar:
            for epoch in range(epochs):
                batches = minibatch_indices(n, batch_size, rng, shuffle, drop_last)
                params, state = _train_epoch(
                    loss_and_grad,
                    params,
                    state,
                    X,
                    y,
                    optimizer,
                    batches,
                    schedule,
                    schedule_per,
                    epoch,
                    log,
                )
                if log.diverged_at is not None:
                    break
                val_loss = (
                    None if X_val is None else _full_loss(loss_and_grad, params, X_val, y_val)
                )
                train_loss = (
                    _full_loss(loss_and_grad, params, X, y)
                    if epoch_loss == "full"
                    else log.epoch_mean_loss(epoch)
                )
                if not log.end_epoch(train_loss, val_loss):
                    break
                log.evaluate(metric, params, X, y, X_val, y_val)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{log.train_losses[-1]:.4g}")
                if callback is not None:
                    callback(log.history(params, state))
    return log.history(params, state)


def _check_data(X, y, X_val, y_val):
    """``(X, y)`` as arrays, checked: non-empty, one target per example, validation pair."""
    X, y = np.asarray(X), np.asarray(y)
    check(X.ndim >= 1 and len(X) >= 1, "X", X.shape, "a non-empty array of examples")
    check(y.ndim >= 1 and len(y) == len(X), "y", y.shape, f"{len(X)} targets, one per row of X")
    check(
        (X_val is None) == (y_val is None),
        "X_val, y_val",
        (X_val is None, y_val is None),
        "both given or both None",
    )
    return X, y


def _full_loss(loss_and_grad, params, X, y):
    return float(loss_and_grad(params, X, y)[0])


class _Log:
    """The arrays and lists that ``train_minibatch`` fills, with the iteration counter, and
    what its ``History`` needs to know of the run (batch size, n, a metric, a validation set)."""

    def __init__(self, total, batch_size, n, has_metric, has_val):
        self.batch_size, self.n, self.has_metric, self.has_val = batch_size, n, has_metric, has_val
        self.loss, self.time, self.lrs = np.empty(total), np.empty(total), np.empty(total)
        self.epoch = np.empty(total, dtype=np.int64)
        self.examples = np.empty(total, dtype=np.int64)
        self.train_losses, self.val_losses, self.epoch_times = [], [], [0.0]
        self.train_metrics, self.val_metrics = [], []
        self.t, self.seen, self.elapsed, self.diverged_at = 0, 0, 0.0, None

    def iteration(self, loss, lr, epoch, batch):
        t = self.t
        self.seen += batch
        self.loss[t], self.time[t], self.lrs[t] = loss, self.elapsed, lr
        self.epoch[t], self.examples[t] = epoch, self.seen
        self.t += 1

    def evaluate(self, metric, params, X, y, X_val, y_val):
        """Record ``metric`` on the training (and validation) set, if there is a metric."""
        if metric is not None:
            self.train_metrics.append(float(metric(params, X, y)))
            if X_val is not None:
                self.val_metrics.append(float(metric(params, X_val, y_val)))

    def epoch_mean_loss(self, epoch):
        """The mean of the minibatch losses of ``epoch``, weighted by batch size."""
        rows = self.epoch[: self.t] == epoch
        sizes = np.diff(self.examples[: self.t], prepend=0)[rows]
        return float(np.average(self.loss[: self.t][rows], weights=sizes))

    def history(self, params, state):
        """The ``History`` so far (copies of the arrays, which training goes on filling)."""
        t = self.t
        return History(
            iteration_losses=self.loss[:t].copy(),
            iteration_epochs=self.epoch[:t].copy(),
            iteration_examples=self.examples[:t].copy(),
            iteration_times=self.time[:t].copy(),
            lrs=self.lrs[:t].copy(),
            train_losses=np.array(self.train_losses),
            val_losses=np.array(self.val_losses) if self.has_val else None,
            epoch_times=np.array(self.epoch_times),
            params=params,
            final_state=state,
            diverged=self.diverged_at is not None,
            diverged_at=self.diverged_at,
            epochs_completed=len(self.train_losses) - 1,
            batch_size=self.batch_size,
            n_train=self.n,
            train_metrics=np.array(self.train_metrics) if self.has_metric else None,
            val_metrics=(np.array(self.val_metrics) if self.has_metric and self.has_val else None),
        )

    def end_epoch(self, train_loss, val_loss):
        """Record the full-data losses after an epoch; False (diverged) if one is not finite."""
        if not (np.isfinite(train_loss) and (val_loss is None or np.isfinite(val_loss))):
            self.diverged_at = self.t
            return False
        self.train_losses.append(train_loss)
        if val_loss is not None:
            self.val_losses.append(val_loss)
        self.epoch_times.append(self.elapsed)
        return True


def _train_epoch(
    loss_and_grad, params, state, X, y, optimizer, batches, schedule, schedule_per, epoch, log
):
    """One pass over ``batches``; stops at the first non-finite loss, gradient or update
    (``log.diverged_at``) and returns the last finite ``(params, state)``."""
    for idx in batches:
        start = time.perf_counter()
        loss, grads = loss_and_grad(params, X[idx], y[idx])
        if not (np.isfinite(loss) and _finite(grads)):
            log.diverged_at = log.t
            break
        lr, override = _lr_at(optimizer, schedule, log.t if schedule_per == "iteration" else epoch)
        new_params, new_state = optimizer.step(params, grads, state, **override)
        log.elapsed += time.perf_counter() - start
        if not _finite(new_params):
            log.diverged_at = log.t
            break
        params, state = new_params, new_state
        log.iteration(loss, lr, epoch, len(idx))
    return params, state


@contextmanager
def _progress_bar(show, epochs):
    """A progress bar over epochs when ``show``, else None; closed on exit."""
    if not show:
        yield None
        return
    from course_lib.progress import progress  # tqdm: only when asked for

    bar = progress(total=epochs, desc="epochs", unit="epoch")
    try:
        yield bar
    finally:
        bar.close()
