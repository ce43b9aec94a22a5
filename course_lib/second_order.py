"""Second-order and quasi-Newton methods: ``Newton``, ``BFGS`` and ``LBFGS``.

They follow the optimizer interface of ``course_lib.optim`` (``init`` and a pure ``step``), with
one difference: they need more than the gradient at the current point. Newton's method solves
with the Hessian, and a line search evaluates the objective at trial points. So their ``init``
takes the objective too, and the state carries it::

    from course_lib.landscapes import Rosenbrock
    from course_lib.second_order import Newton
    from course_lib.train import run

    f = Rosenbrock()
    newton = Newton(line_search=True)
    state = newton.init([-1.2, 1.0], f)              # f: value, grad (and hessian for Newton)
    x, state = newton.step([-1.2, 1.0], f.grad([-1.2, 1.0]), state)
    traj = run(newton, f, x0=[-1.2, 1.0], steps=30)  # run passes the landscape to init
    print(traj.final_state.evaluations)              # values, gradients, Hessians used

Every optimizer here has ``needs_objective = True``, which tells ``course_lib.train.run`` to call
``init(params, landscape)``. Parameters are flattened to one vector of n numbers; the Hessian
(n x n) is what makes Newton's method unaffordable for large n.

The line search is backtracking with Armijo's sufficient-decrease condition (Nocedal & Wright
2006, Algorithm 3.1): start at step ``lr`` (1 by default, the full Newton or quasi-Newton
step), halve it (``shrink=0.5``) until ``f(x + a p) <= f(x) + c a g.p`` with ``c = 1e-4``.

References: J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer, 2006
(Newton's method and its modifications: chapter 3; BFGS: section 6.1; L-BFGS: section 7.2,
Algorithm 7.4). D. C. Liu and J. Nocedal, "On the limited memory BFGS method for large scale
optimization", Mathematical Programming 45, 1989.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from course_lib._checks import check, flag, integer, nonnegative, real

__all__ = [
    "Newton",
    "BFGS",
    "LBFGS",
    "Evaluations",
    "NewtonState",
    "BFGSState",
    "LBFGSState",
    "armijo_backtracking",
    "bfgs_inverse_update",
    "lbfgs_direction",
]


class Evaluations(NamedTuple):
    """How many times a run evaluated the objective, its gradient and its Hessian."""

    values: int = 0
    grads: int = 0
    hessians: int = 0

    def plus(self, values=0, grads=0, hessians=0):
        return Evaluations(self.values + values, self.grads + grads, self.hessians + hessians)


class NewtonState(NamedTuple):
    """step: steps taken; objective: the function minimised; value: f at the current point
    (known from the last line search, else None); evaluations: counts so far; last_lr: the
    step length of the last step (1 for a full Newton step); fallback: whether the last step
    went along -g because H + damping I was not positive definite."""

    step: int
    objective: Any
    value: Any
    evaluations: Evaluations
    last_lr: float
    fallback: bool


class BFGSState(NamedTuple):
    """step; objective; value (as in ``NewtonState``); inverse_hessian: the current estimate
    H of the inverse Hessian (n x n); previous: (x, g) of the last point, to form
    ``s = x_new - x`` and ``y = g_new - g`` at the next step; evaluations; last_lr; skipped:
    updates skipped because ``y.s`` was not positive."""

    step: int
    objective: Any
    value: Any
    inverse_hessian: np.ndarray
    previous: Any
    evaluations: Evaluations
    last_lr: float
    skipped: int


class LBFGSState(NamedTuple):
    """step; objective; value; pairs: the last m pairs (s, y), oldest first; previous: (x, g)
    of the last point; evaluations; last_lr; skipped."""

    step: int
    objective: Any
    value: Any
    pairs: tuple
    previous: Any
    evaluations: Evaluations
    last_lr: float
    skipped: int


# --------------------------------------------------------------------------------------------
# The pieces, as functions: a line search, the BFGS update, the two-loop recursion
# --------------------------------------------------------------------------------------------
def armijo_backtracking(f, x, fx, g, p, lr=1.0, c=1e-4, shrink=0.5, max_backtracks=50):
    """Backtracking line search with Armijo's condition (Nocedal & Wright 2006, Algorithm 3.1).

    Tries ``a = lr, lr*shrink, lr*shrink^2, ...`` and returns the first with
    ``f(x + a p) <= fx + c a g.p``; after ``max_backtracks`` halvings it returns the last
    tried (a tiny step), so a run never stalls on a direction that is not a descent direction.

    Args:
      f: the objective, ``f(x) -> float``.
      x, fx, g: the point, its value and its gradient (1-D arrays, float).
      p: the search direction (a descent direction when ``g.p < 0``).
      lr, c, shrink, max_backtracks: first step, Armijo constant, shrink factor, most
        halvings.

    Returns:
      ``(a, f(x + a p), evaluations)``, evaluations being the number of calls of f.
    """
    slope = float(g @ p)
    a, calls = lr, 0
    for _ in range(max_backtracks + 1):
        value = float(f(x + a * p))
        calls += 1
        if value <= fx + c * a * slope:
            break
        a *= shrink
    else:
        a /= shrink  # undo the last shrink: the step returned is the last tried
    return a, value, calls


def bfgs_inverse_update(H, s, y):
    """The BFGS update of an inverse-Hessian estimate (Nocedal & Wright 2006, eq. 6.17):
    ``H+ = (I - rho s y^T) H (I - rho y s^T) + rho s s^T`` with ``rho = 1 / (y.s)``.

    H+ satisfies the secant equation ``H+ y = s``; it stays symmetric positive definite when H
    is and ``y.s > 0``. Returns a new array."""
    rho = 1.0 / float(y @ s)
    V = np.eye(len(s)) - rho * np.outer(s, y)
    return V @ H @ V.T + rho * np.outer(s, s)


def lbfgs_direction(g, pairs):
    """``-H g`` by the L-BFGS two-loop recursion (Nocedal & Wright 2006, Algorithm 7.4), with
    H the BFGS updates of the ``pairs`` (s, y), oldest first, applied to ``gamma I`` where
    ``gamma = s.y / y.y`` of the newest pair (eq. 7.20); ``-g`` when there are no pairs.
    Costs O(m n) for m pairs, without forming an n x n matrix."""
    q = np.array(g, dtype=float)
    alphas = []
    for s, y in reversed(pairs):
        a = float(s @ q) / float(y @ s)
        q -= a * y
        alphas.append(a)
    if pairs:
        s, y = pairs[-1]
        q *= float(s @ y) / float(y @ y)
    for (s, y), a in zip(pairs, reversed(alphas)):
        b = float(y @ q) / float(y @ s)
        q += (a - b) * s
    return -q


# --------------------------------------------------------------------------------------------
# The optimizers
# --------------------------------------------------------------------------------------------
def _vector(x, name):
    v = np.array(x, dtype=float).reshape(-1)
    check(v.size > 0 and bool(np.all(np.isfinite(v))), name, x, "a finite array")
    return v


class _SecondOrder:
    """What the three share: validated line-search settings, ``init`` and the line search."""

    needs_objective = True
    State: type = NamedTuple

    def __init__(self, lr, line_search, c, shrink, max_backtracks):
        self.lr = real("lr", lr, 0.0, low_open=True)
        self.line_search = flag("line_search", line_search)
        self.c = real("c", c, 0.0, 1.0, low_open=True, high_open=True)
        self.shrink = real("shrink", shrink, 0.0, 1.0, low_open=True, high_open=True)
        self.max_backtracks = integer("max_backtracks", max_backtracks, 0)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"

    def _objective(self, objective, needs_hessian=False):
        check(
            callable(getattr(objective, "value", None))
            and callable(getattr(objective, "grad", None))
            and (not needs_hessian or callable(getattr(objective, "hessian", None))),
            "objective",
            objective,
            "an object with value and grad"
            + (" and hessian" if needs_hessian else "")
            + " (a course_lib landscape)",
        )
        return objective

    def _arguments(self, params, grads, state, lr):
        """The checked arguments of ``step``: (state, lr, params' shape, x and g as vectors)."""
        check(
            isinstance(state, self.State),
            "state",
            type(state).__name__,
            f"the {self.State.__name__} returned by {type(self).__name__}.init or .step",
        )
        lr = self.lr if lr is None else real("lr", lr, 0.0, low_open=True)
        shape = np.shape(params)
        x, g = _vector(params, "params"), _vector(grads, "grads")
        check(g.shape == x.shape, "grads", np.shape(grads), f"of the shape of params {shape}")
        return state, lr, shape, x, g

    def _move(self, state, x, g, p, lr, shape, evaluations):
        """The step along p: the line search (from ``lr``) or a fixed step ``lr``.
        Returns (new x in the params' shape, its value or None, step length, evaluations)."""
        if not self.line_search:
            return (x + lr * p).reshape(shape), None, lr, evaluations
        f = state.objective
        fx, calls = state.value, 0
        if fx is None:
            fx, calls = float(f.value(x.reshape(shape))), 1
        a, value, more = armijo_backtracking(
            lambda z: f.value(z.reshape(shape)),
            x,
            fx,
            g,
            p,
            lr=lr,
            c=self.c,
            shrink=self.shrink,
            max_backtracks=self.max_backtracks,
        )
        return (x + a * p).reshape(shape), value, a, evaluations.plus(values=calls + more)


class Newton(_SecondOrder):
    r"""Newton's method, damped (Levenberg-Marquardt) and with an optional line search.

    Each step solves ``(H + damping I) p = -g`` by a Cholesky factorisation, with H the
    Hessian at the current point, and moves to ``x + a p``: ``a = lr`` (1 is the pure Newton
    step) or, with ``line_search=True``, the Armijo backtracking step from ``lr``. On a
    quadratic with positive definite Hessian, the undamped step with ``lr=1`` lands on the
    minimiser in one step.

    When ``H + damping I`` is not positive definite (negative curvature, near a saddle or a
    maximum) the Newton direction need not point downhill: it heads for the stationary point
    of the quadratic model, which may be the saddle. Without line search the step is taken as
    it is (to show this); with ``line_search=True`` the step goes along ``-g`` instead
    (``state.fallback`` says so), and the line search makes it decrease f.

    Args:
      lr: the step length (the first one tried by the line search), > 0. Default 1.
      damping: lambda >= 0 added to the Hessian's diagonal. Large lambda gives short steps
        along ``-g / lambda``; 0 is Newton's method.
      line_search: backtracking with Armijo's condition.
      c: Armijo's constant in (0, 1), default 1e-4.
      shrink: factor in (0, 1) applied to the step after each failed trial, default 0.5.
      max_backtracks: most shrinks per step (int >= 0), default 50.

    ``init(params, objective)``: objective has ``value``, ``grad`` and ``hessian``.
    """

    State = NewtonState

    def __init__(
        self, lr=1.0, damping=0.0, line_search=False, c=1e-4, shrink=0.5, max_backtracks=50
    ):
        super().__init__(lr, line_search, c, shrink, max_backtracks)
        self.damping = nonnegative("damping", damping)

    def init(self, params, objective):
        _vector(params, "params")
        return NewtonState(0, self._objective(objective, True), None, Evaluations(), 0.0, False)

    def direction(self, H, g):
        """``(p, fallback)``: p solves ``(H + damping I) p = -g``; if that matrix is not
        positive definite, ``p = -H_damped^{-1} g`` anyway without line search, ``-g`` with it."""
        A = H + self.damping * np.eye(len(g))
        try:
            L = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            if self.line_search:
                return -g, True
            return -np.linalg.solve(A, g), True
        return -np.linalg.solve(L.T, np.linalg.solve(L, g)), False

    def step(self, params, grads, state, *, lr=None):
        state, lr, shape, x, g = self._arguments(params, grads, state, lr)
        H = np.array(state.objective.hessian(x.reshape(shape)), dtype=float).reshape(x.size, x.size)
        evaluations = state.evaluations.plus(grads=1, hessians=1)
        p, fallback = self.direction(H, g)
        new_x, value, a, evaluations = self._move(state, x, g, p, lr, shape, evaluations)
        return new_x, NewtonState(state.step + 1, state.objective, value, evaluations, a, fallback)


class _QuasiNewton(_SecondOrder):
    """BFGS and L-BFGS: the curvature pair (s, y) of the last step is formed when the next
    gradient arrives, so each step costs one gradient (plus the line search's values)."""

    def step(self, params, grads, state, *, lr=None):
        state, lr, shape, x, g = self._arguments(params, grads, state, lr)
        memory, skipped = self._memory(state), state.skipped
        if state.previous is not None:
            s, y = x - state.previous[0], g - state.previous[1]
            # keep H positive definite: update only with positive curvature along s
            if float(y @ s) > 1e-10 * float(np.linalg.norm(s) * np.linalg.norm(y)):
                memory = self._updated(memory, s, y)
            else:  # no positive curvature along s: forget the old pairs (L-BFGS restarts)
                skipped += 1
                memory = self._restart(memory)
        p = self._direction(memory, g)
        evaluations = state.evaluations.plus(grads=1)
        new_x, value, a, evaluations = self._move(state, x, g, p, lr, shape, evaluations)
        return new_x, self.State(
            state.step + 1,
            state.objective,
            value,
            memory,
            (x, g),
            evaluations,
            a,
            skipped,
        )


class BFGS(_QuasiNewton):
    """BFGS (Broyden, Fletcher, Goldfarb, Shanno; Nocedal & Wright 2006, Algorithm 6.1, with
    a backtracking instead of a Wolfe line search).

    Keeps an estimate H of the inverse Hessian (n x n, starting at the identity), steps along
    ``p = -H g`` and updates H from the change of gradient along each step
    (``bfgs_inverse_update``). An update whose ``y.s`` is not positive (possible without the
    Wolfe conditions, on non-convex functions) is skipped, so H stays positive definite and p
    a descent direction; ``state.skipped`` counts them.

    Args: ``lr``, ``line_search`` (default True here), ``c``, ``shrink``, ``max_backtracks``
    as for ``Newton``. ``init(params, objective)``: objective has ``value`` and ``grad``.
    """

    State = BFGSState

    def __init__(self, lr=1.0, line_search=True, c=1e-4, shrink=0.5, max_backtracks=50):
        super().__init__(lr, line_search, c, shrink, max_backtracks)

    def init(self, params, objective):
        n = _vector(params, "params").size
        return BFGSState(
            0, self._objective(objective), None, np.eye(n), None, Evaluations(), 0.0, 0
        )

    @staticmethod
    def _memory(state):
        return state.inverse_hessian

    @staticmethod
    def _updated(H, s, y):
        return bfgs_inverse_update(H, s, y)

    @staticmethod
    def _restart(H):
        return H

    @staticmethod
    def _direction(H, g):
        return -H @ g


class LBFGS(_QuasiNewton):
    """L-BFGS (Liu & Nocedal 1989; Nocedal & Wright 2006, Algorithm 7.5 with backtracking).

    BFGS without the n x n matrix: it keeps the last ``m`` pairs (s, y) and computes
    ``-H g`` by the two-loop recursion (``lbfgs_direction``), in O(m n) memory and time. A
    pair without positive curvature (``y.s <= 0``, possible on non-convex functions because the
    backtracking search does not enforce Wolfe's curvature condition) empties the memory: the
    next step is a line search along ``-g``, and the pairs build up again.

    Args: ``m``, the number of pairs kept (int >= 1; default 10, SciPy's default ``maxcor``;
    PyTorch's ``history_size`` defaults to 100); the others as for ``BFGS``.
    """

    State = LBFGSState

    def __init__(self, lr=1.0, m=10, line_search=True, c=1e-4, shrink=0.5, max_backtracks=50):
        super().__init__(lr, line_search, c, shrink, max_backtracks)
        self.m = integer("m", m, 1)

    def init(self, params, objective):
        _vector(params, "params")
        return LBFGSState(0, self._objective(objective), None, (), None, Evaluations(), 0.0, 0)

    @staticmethod
    def _memory(state):
        return state.pairs

    def _updated(self, pairs, s, y):
        return (pairs + ((s, y),))[-self.m :]

    @staticmethod
    def _restart(pairs):
        return ()

    @staticmethod
    def _direction(pairs, g):
        return lbfgs_direction(g, pairs)
