"""Running optimizers: ``run`` iterates an optimizer on a landscape and records the trajectory.

    from course_lib.landscapes import Quadratic
    from course_lib.optim import SGD
    from course_lib.train import run

    traj = run(SGD(lr=0.1), Quadratic.bowl(condition_number=10), x0=[-1.5, 1.0], steps=50)
    print(traj)                         # final loss, steps taken, diverged or not
    plt.plot(*traj.path.T)              # the iterates, x0 first

The optimizer is any object with ``init(params) -> state`` and pure
``step(params, grads, state, lr=None) -> (params, state)`` (the API of ``course_lib.optim``).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Any, Callable, Optional

import numpy as np

__all__ = ["Trajectory", "run"]


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
    """

    path: np.ndarray
    losses: np.ndarray
    lrs: np.ndarray
    diverged: bool
    diverged_at: Optional[int]
    steps_taken: int
    final_state: Any

    def __repr__(self):
        status = f"diverged at step {self.diverged_at}" if self.diverged else "did not diverge"
        return (
            f"Trajectory({self.steps_taken} steps, final loss {self.losses[-1]:.6g}, "
            f"final x {np.array2string(self.path[-1], precision=4)}, {status})"
        )


def _ok(x, bound):
    """True if every entry of x is finite and within [-bound, bound]."""
    return bool(np.all(np.isfinite(x)) and np.all(np.abs(x) <= bound))


def run(
    optimizer,
    landscape,
    x0,
    steps: int,
    schedule: Optional[Callable[[int], float]] = None,
    bound: float = 1e6,
    rng=None,
    stochastic: Optional[bool] = None,
) -> Trajectory:
    """Iterate ``optimizer`` from ``x0`` on ``landscape`` for ``steps`` steps.

    Step t evaluates the gradient at ``optimizer.gradient_point(x, state)`` (just x for all
    but look-ahead Nesterov), then calls ``optimizer.step`` with ``lr=schedule(t)`` if a
    schedule is given. The run stops early, without numpy warnings, as soon as a gradient,
    iterate or loss is non-finite or an iterate leaves ``[-bound, bound]``.

    Args:
      optimizer: object with ``init(params)`` and ``step(params, grads, state, lr=None)``.
      landscape: object with ``value(x)`` and ``grad(x)`` (e.g. ``course_lib.landscapes``).
      x0: starting point, a single point (shape ``(dim,)``, or a scalar on a 1-D landscape).
        It is copied, never modified.
      steps: number of steps, an int >= 0.
      schedule: optional callable ``t -> lr`` for t = 0, 1, 2, ...
      bound: an iterate with any ``|x_i| > bound`` counts as diverged (> 0; may be inf).
      rng: seed or ``np.random.Generator`` for stochastic gradients (reproducible runs).
      stochastic: use ``landscape.stochastic_grad(x, rng)`` instead of ``grad``; default: if
        the landscape has one.

    Returns:
      A ``Trajectory``.
    """
    if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if not bound > 0:
        raise ValueError(f"bound must be > 0, got {bound!r}")
    has_noise = hasattr(landscape, "stochastic_grad")
    if stochastic is None:
        stochastic = has_noise
    elif stochastic and not has_noise:
        raise ValueError(f"stochastic=True but {landscape!r} has no stochastic_grad")
    if stochastic:
        rng = np.random.default_rng(rng)

        def gradient(p):
            return landscape.stochastic_grad(p, rng)

    else:
        gradient = landscape.grad

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
        state = optimizer.init(x)
        for t in range(steps):
            g = gradient(gradient_point(x, state))
            if not np.all(np.isfinite(g)):
                diverged_at = t
                break
            lr = getattr(optimizer, "lr", np.nan) if schedule is None else float(schedule(t))
            override = {} if schedule is None else {"lr": lr}
            new_x, new_state = optimizer.step(x, g, state, **override)
            loss = landscape.value(new_x)
            if not (_ok(new_x, bound) and np.isfinite(loss)):
                diverged_at = t
                break
            x, state, k = new_x, new_state, t + 1
            path[k], losses[k], lrs[t] = x, loss, lr

    return Trajectory(
        path=path[: k + 1],
        losses=losses[: k + 1],
        lrs=lrs[:k],
        diverged=diverged_at is not None,
        diverged_at=diverged_at,
        steps_taken=k,
        final_state=state,
    )
