"""Optimization as search: random search, the baseline every other method must beat.

    from course_lib.landscapes import Himmelblau
    from course_lib.search import global_random_search, local_random_search

    f = Himmelblau()
    res = global_random_search(f, f.bounds, n_evals=200, rng=0)
    print(res.best_x, res.best_value)
    plt.plot(res.best_so_far)                        # never increases

    res = local_random_search(f, x0=[0.0, 0.0], step_size=0.3, n_evals=200, rng=0)
    plt.plot(*res.path.T)                            # the accepted points, one per evaluation

Two strategies (Solis & Wets 1981, "Minimization by random search techniques"):

- *global* random search samples points uniformly in a box and keeps the best one;
- *local* random search perturbs the current point by a random step and moves there only if
  the loss goes down ("perturb, accept if better").

Both only ever *evaluate* the loss. ``improving_direction_probability`` and
``evaluations_to_target`` measure why that stops working as the dimension grows, and what
following the slope (the gradient) buys instead.

An objective ``f`` maps one point (shape ``(dim,)``) to a number. A ``course_lib.landscapes``
object (or any ``f`` passed with ``vectorized=True``) is called once on a whole ``(n, dim)``
batch where the algorithm allows it.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Optional

import numpy as np

from course_lib._checks import check, integer, real

__all__ = [
    "SearchResult",
    "global_random_search",
    "local_random_search",
    "improving_direction_probability",
    "improving_direction_probability_exact",
    "evaluations_to_target",
]

_DISTRIBUTIONS = ("gaussian", "uniform", "sphere")
_METHODS = ("global", "local", "gradient")


class SearchResult(NamedTuple):
    """What a random search records, one row per function evaluation.

    Attributes:
      best_x: ``(dim,)`` the best point evaluated.
      best_value: its loss.
      best_so_far: ``(n_evals,)`` the lowest loss among the first k + 1 evaluations
        (non-increasing: the curve to plot against the number of evaluations).
      xs: ``(n_evals, dim)`` every evaluated point, in order (for local search, ``xs[0]`` is
        x0 and the rest are the proposals, accepted or not).
      values: ``(n_evals,)`` the loss at each of ``xs`` (a non-finite value never counts as
        an improvement).
    """

    best_x: np.ndarray
    best_value: float
    best_so_far: np.ndarray
    xs: np.ndarray
    values: np.ndarray

    @property
    def best_index(self) -> np.ndarray:
        """``(n_evals,)`` index into ``xs`` of the best point after each evaluation."""
        vals = _finite_or_inf(self.values)
        improved = np.r_[True, vals[1:] < np.minimum.accumulate(vals)[:-1]]
        return np.maximum.accumulate(np.where(improved, np.arange(len(vals)), 0))

    @property
    def path(self) -> np.ndarray:
        """``(n_evals, dim)`` the best point after each evaluation: for local search, the
        current point of the walk."""
        return self.xs[self.best_index]

    @property
    def accepted(self) -> np.ndarray:
        """``(n_evals,)`` bool: True where the evaluation improved on every earlier one (for
        local search: the proposal was accepted; ``accepted[0]`` is True)."""
        idx = self.best_index
        return idx == np.arange(len(idx))

    def __repr__(self) -> str:
        return (
            f"SearchResult({len(self.values)} evaluations, best value {self.best_value:.6g} "
            f"at {np.array2string(self.best_x, precision=4)})"
        )


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _finite_or_inf(values: np.ndarray) -> np.ndarray:
    """NaN and +-inf losses become +inf, so they never count as the best."""
    return np.where(np.isfinite(values), values, np.inf)


def _is_vectorized(f, vectorized: Optional[bool]) -> bool:
    if vectorized is not None:
        return bool(vectorized)
    from course_lib.landscapes import Landscape

    return isinstance(f, Landscape)


def _value(f, x: np.ndarray) -> float:
    """f at one point, as a float (a 1-D landscape returns a length-1 array for x of shape (1,))."""
    v = np.asarray(f(x), dtype=float)
    check(v.size == 1, "f(x)", v.shape, "a single number")
    return float(v.reshape(()))


def _evaluate(f, points: np.ndarray, vectorized: bool) -> np.ndarray:
    """f at each row of ``points`` (n, dim) -> (n,) float array."""
    with np.errstate(all="ignore"):
        if not vectorized:
            return np.array([_value(f, p) for p in points])
        values = np.asarray(f(points), dtype=float)
        if values.shape == points.shape == (len(points), 1):  # elementwise 1-D landscape
            values = values[:, 0]
        check(
            values.shape == points.shape[:1],
            "f(batch)",
            values.shape,
            f"of shape ({points.shape[0]},) for a batch of {points.shape[0]} points",
        )
        return values


def _as_bounds(bounds) -> np.ndarray:
    b = np.asarray(bounds, dtype=float)
    if b.shape == (2,):  # a single (low, high) pair: a 1-D search (as 1-D landscapes give)
        b = b[None]
    ok = b.ndim == 2 and b.shape[1] == 2 and b.shape[0] >= 1 and bool(np.all(np.isfinite(b)))
    check(
        ok and bool(np.all(b[:, 0] < b[:, 1])),
        "bounds",
        bounds,
        "finite (low, high) pairs with low < high, one per dimension (or one pair in 1-D)",
    )
    return b


def _as_point(name: str, x) -> np.ndarray:
    arr = np.array(x, dtype=float).reshape(-1) if np.ndim(x) == 0 else np.array(x, dtype=float)
    check(
        arr.ndim == 1 and arr.size >= 1 and bool(np.all(np.isfinite(arr))),
        name,
        x,
        "a finite point of shape (dim,) (or a number in 1-D)",
    )
    return arr


def _random_steps(
    rng: np.random.Generator, n: int, dim: int, step_size: float, distribution: str
) -> np.ndarray:
    """``(n, dim)`` random perturbations of scale ``step_size``."""
    if distribution == "gaussian":  # each coordinate ~ N(0, step_size^2)
        return step_size * rng.standard_normal((n, dim))
    if distribution == "uniform":  # each coordinate ~ U(-step_size, step_size)
        return rng.uniform(-step_size, step_size, (n, dim))
    z = rng.standard_normal((n, dim))  # "sphere": length exactly step_size, direction uniform
    return step_size * z / np.linalg.norm(z, axis=1, keepdims=True)


def _global_search(f, bounds, n_evals, rng, vectorized, target=None, chunk=4096):
    """Uniform samples in the box, in chunks; stops after the first value <= target."""
    xs, values = [], []
    done = 0
    while done < n_evals:
        pts = rng.uniform(bounds[:, 0], bounds[:, 1], (min(chunk, n_evals - done), len(bounds)))
        vals = _evaluate(f, pts, vectorized)
        hit = np.flatnonzero(vals <= target) if target is not None else []
        if len(hit):
            pts, vals = pts[: hit[0] + 1], vals[: hit[0] + 1]
        xs.append(pts)
        values.append(vals)
        done += len(vals)
        if len(hit):
            break
    return np.concatenate(xs), np.concatenate(values)


def _local_search(f, x0, step_size, n_evals, rng, distribution, bounds, target=None, chunk=1024):
    """Perturb the current point, accept if strictly better; stops once a value <= target."""
    xs, values = np.empty((n_evals, x0.size)), np.empty(n_evals)
    with np.errstate(all="ignore"):  # an overflowing loss is just a bad (rejected) proposal
        x, fx = x0.copy(), _value(f, x0)
        xs[0], values[0] = x, fx
        best = fx if np.isfinite(fx) else np.inf
        k = 1
        if target is not None and best <= target:
            return xs[:1], values[:1]
        while k < n_evals:
            steps = _random_steps(rng, min(chunk, n_evals - k), x.size, step_size, distribution)
            for s in steps:
                y = x + s
                if bounds is not None:
                    y = np.clip(y, bounds[:, 0], bounds[:, 1])
                fy = _value(f, y)
                xs[k], values[k] = y, fy
                k += 1
                if np.isfinite(fy) and fy < best:  # accept strict improvements only
                    x, best = y, fy
                    if target is not None and fy <= target:
                        return xs[:k], values[:k]
    return xs, values


def _result(xs: np.ndarray, values: np.ndarray) -> SearchResult:
    vals = _finite_or_inf(values)
    best = int(np.argmin(vals))
    return SearchResult(
        best_x=xs[best].copy(),
        best_value=float(values[best]),
        best_so_far=np.minimum.accumulate(vals),
        xs=xs,
        values=values,
    )


# --------------------------------------------------------------------------------------------
# The two searches
# --------------------------------------------------------------------------------------------
def global_random_search(
    f: Callable, bounds, n_evals: int, rng=None, vectorized: Optional[bool] = None
) -> SearchResult:
    """Sample ``n_evals`` points uniformly in a box and keep the best.

    Every sample is independent of the others, so the search never exploits what it has seen;
    to land within distance r of the minimiser in d dimensions it needs about
    ``volume(box) / volume(ball of radius r)`` samples, which grows exponentially with d.

    Args:
      f: objective, one point ``(dim,)`` -> loss.
      bounds: ``[(low_1, high_1), ..., (low_d, high_d)]``, one pair per dimension, or a
        single pair ``(low, high)`` in 1-D (e.g. ``landscape.bounds``).
      n_evals: number of evaluations, an int >= 1.
      rng: seed or ``np.random.Generator`` (same seed, same samples).
      vectorized: call ``f`` once on an ``(n, dim)`` batch (returning ``(n,)``); default:
        True for ``course_lib.landscapes`` objects, else False.

    Returns:
      A ``SearchResult``.
    """
    b = _as_bounds(bounds)
    n_evals = integer("n_evals", n_evals, 1)
    rng = np.random.default_rng(rng)
    xs, values = _global_search(f, b, n_evals, rng, _is_vectorized(f, vectorized))
    return _result(xs, values)


def local_random_search(
    f: Callable,
    x0,
    step_size: float,
    n_evals: int,
    rng=None,
    distribution: str = "gaussian",
    bounds=None,
) -> SearchResult:
    """Local random search: perturb the current point, move only if the loss decreases.

    Algorithm (the basic "random local search" of Solis & Wets 1981, without step adaptation)::

        x = x0
        repeat n_evals - 1 times:
            y = x + step            # step drawn at random, of scale step_size
            if f(y) < f(x): x = y   # accept only strict improvements

    Args:
      f: objective, one point ``(dim,)`` -> loss.
      x0: starting point ``(dim,)`` (or a number in 1-D); copied, never modified. Its
        evaluation is the first of the ``n_evals``.
      step_size: scale of the perturbation, > 0.
      n_evals: total number of evaluations (x0 included), an int >= 1.
      rng: seed or ``np.random.Generator``.
      distribution: ``"gaussian"`` (each coordinate ~ N(0, step_size^2): typical length
        ``step_size * sqrt(dim)``), ``"uniform"`` (each coordinate ~ U(-step_size, step_size))
        or ``"sphere"`` (length exactly ``step_size``, uniformly random direction).
      bounds: optional box ``[(low, high), ...]`` (or one pair in 1-D); proposals are
        clipped into it.

    Returns:
      A ``SearchResult``; ``.path`` is the walk (the current point after each evaluation) and
      ``.accepted`` marks the accepted proposals.

    Reference: F. J. Solis and R. J.-B. Wets (1981), Minimization by random search techniques,
    Mathematics of Operations Research 6(1):19-30.
    """
    x0 = _as_point("x0", x0)
    step_size = real("step_size", step_size, 0.0, low_open=True)
    n_evals = integer("n_evals", n_evals, 1)
    check(distribution in _DISTRIBUTIONS, "distribution", distribution, f"one of {_DISTRIBUTIONS}")
    b = None
    if bounds is not None:
        b = _as_bounds(bounds)
        check(
            len(b) == x0.size, "bounds", bounds, f"{x0.size} (low, high) pairs, one per dimension"
        )
        x0 = np.clip(x0, b[:, 0], b[:, 1])
    rng = np.random.default_rng(rng)
    xs, values = _local_search(f, x0, step_size, n_evals, rng, distribution, b)
    return _result(xs, values)


# --------------------------------------------------------------------------------------------
# Why random search collapses in high dimension
# --------------------------------------------------------------------------------------------
def improving_direction_probability(
    dim: int, n_samples: int = 10_000, rng=None, step: float = 0.5
) -> float:
    """Monte Carlo estimate of the chance that a random step lowers the loss.

    Precisely: on the sphere ``f(x) = ||x||^2`` (minimum at 0) start from a point at distance
    1 from the minimum, ``x = e_1``, and step a fixed length ``step`` in a direction ``u``
    drawn uniformly from the unit sphere in ``dim`` dimensions. Return the fraction of
    ``n_samples`` directions with ``f(x + step * u) < f(x)``.

    Because ``||e_1 + s u||^2 = 1 + 2 s u_1 + s^2``, the step improves iff ``u_1 < -step / 2``:
    the improving directions form a cone around the downhill direction whose share of all
    directions shrinks quickly with ``dim`` (about ``Phi(-step * sqrt(dim) / 2)`` for large
    dim, Phi the standard normal CDF). For a vanishing step the share tends to 1/2 in every
    dimension (half of all directions point downhill to first order); what collapses is the
    chance of a step of useful, fixed length. By rotational symmetry the answer is the same
    for every start at distance 1, and ``step`` is measured in units of that distance.

    Only ``u_1`` matters, and it is sampled exactly without building u: ``u_1 = z_1 /
    sqrt(z_1^2 + c)`` with ``z_1 ~ N(0, 1)`` and ``c ~ chi^2(dim - 1)`` the squared length of
    the other coordinates of a standard normal vector.

    Args:
      dim: dimension, an int >= 1.
      n_samples: number of random directions, an int >= 1.
      rng: seed or ``np.random.Generator``.
      step: step length relative to the distance to the minimum, > 0.

    Returns:
      The estimated probability, a float in [0, 1]
      (``improving_direction_probability_exact`` gives the exact value).
    """
    dim = integer("dim", dim, 1)
    n_samples = integer("n_samples", n_samples, 1)
    step = real("step", step, 0.0, low_open=True)
    rng = np.random.default_rng(rng)
    z1 = rng.standard_normal(n_samples)
    rest = rng.chisquare(dim - 1, n_samples) if dim > 1 else np.zeros(n_samples)
    u1 = z1 / np.sqrt(z1**2 + rest)
    return float(np.mean(u1 < -step / 2))


def improving_direction_probability_exact(dim: int, step: float = 0.5) -> float:
    """The exact value of what ``improving_direction_probability`` estimates.

    For u uniform on the unit sphere in ``dim >= 2`` dimensions, ``(1 + u_1) / 2`` follows a
    Beta((dim - 1)/2, (dim - 1)/2) distribution, so ``P(u_1 < -step/2)`` is that Beta CDF at
    ``(1 - step/2) / 2``. In 1-D, u = +-1 and the probability is 1/2 for step < 2.

    Args:
      dim: dimension, an int >= 1.
      step: step length relative to the distance to the minimum, > 0.

    Returns:
      The probability, a float in [0, 1].
    """
    dim = integer("dim", dim, 1)
    step = real("step", step, 0.0, low_open=True)
    if step >= 2.0:
        return 0.0
    if dim == 1:
        return 0.5
    from scipy.special import betainc  # lazy: keeps `import course_lib` fast

    a = (dim - 1) / 2
    return float(betainc(a, a, (1 - step / 2) / 2))


# --------------------------------------------------------------------------------------------
# Evaluations needed to reach a target loss
# --------------------------------------------------------------------------------------------
def _quadratic_eigenvalues(dim: int, condition_number: float) -> np.ndarray:
    return np.geomspace(1.0, condition_number, dim) if dim > 1 else np.ones(1)


def evaluations_to_target(
    method: str,
    dim: int,
    target: float = 1e-2,
    *,
    condition_number: float = 1.0,
    max_evals: int = 100_000,
    rng=None,
    step_size: float = 0.1,
    distribution: str = "sphere",
    radius: float = 1.0,
    lr: Optional[float] = None,
    gradient_cost="backprop",
):
    """How many evaluations a method needs to bring a quadratic below ``target``.

    The test problem is ``f(x) = 1/2 sum_i lambda_i x_i^2`` in ``dim`` dimensions, minimum 0
    at the origin, eigenvalues ``lambda_i`` geometrically spaced from 1 to
    ``condition_number`` (all 1 by default: the sphere ``1/2 ||x||^2``). Local search and
    gradient descent start at ``x0 = (1, ..., 1) / sqrt(dim)``, at distance 1 from the
    minimum in every dimension.

    What is counted:

    - ``"global"``: samples uniform in the cube ``[-radius, radius]^dim``, counted until the
      first one with ``f <= target``.
    - ``"local"``: evaluations of ``local_random_search`` from x0 (x0 itself counts as one)
      with steps of ``step_size`` drawn from ``distribution`` (default ``"sphere"``: a fixed
      step length, whatever the dimension). A fixed step cannot get much closer to the
      minimum than about ``step_size / 2``, so pick ``target`` accordingly.
    - ``"gradient"``: gradient descent ``x <- x - lr * grad f(x)`` with
      ``lr = 1 / lambda_max`` by default; each step costs ``gradient_cost`` evaluations.
      ``"backprop"`` counts a gradient as 2 evaluations: a forward pass (one evaluation) and
      a backward pass of comparable cost. Backpropagation (reverse-mode differentiation)
      returns the whole gradient for a small constant multiple of one evaluation, *whatever
      the dimension*; the exact constant depends on the model, 2 is the round figure used
      here. ``"finite_difference"`` counts ``dim + 1``: f(x) plus one forward-difference
      evaluation per coordinate, the price of a gradient when only f can be evaluated. A
      number sets the cost directly. Evaluating f to check the target is bookkeeping and not
      counted, so x0 itself costs nothing (0 steps).

    Args:
      method: ``"global"``, ``"local"`` or ``"gradient"``.
      dim: dimension, an int >= 1.
      target: the loss to reach (f <= target); f(x0) is 1/2 on the sphere.
      condition_number: lambda_max / lambda_min of the quadratic, >= 1.
      max_evals: give up after this many evaluations, an int >= 1.
      rng: seed or ``np.random.Generator`` (random searches only).
      step_size: step scale of local search, > 0.
      distribution: step distribution of local search (see ``local_random_search``).
      radius: half-width of the sampling cube of global search, > 0.
      lr: gradient-descent learning rate, > 0 (default ``1 / lambda_max``; on the sphere
        this reaches the minimum in one step).
      gradient_cost: evaluations charged per gradient step: ``"backprop"`` (2),
        ``"finite_difference"`` (dim + 1) or a number > 0.

    Returns:
      The number of evaluations (an int), or ``math.inf`` if the target was not reached
      within ``max_evals``.
    """
    check(method in _METHODS, "method", method, f"one of {_METHODS}")
    dim = integer("dim", dim, 1)
    target = real("target", target)
    kappa = real("condition_number", condition_number, 1.0)
    max_evals = integer("max_evals", max_evals, 1)
    lam = _quadratic_eigenvalues(dim, kappa)
    x0 = np.full(dim, 1.0 / math.sqrt(dim))

    def f(x):
        return 0.5 * (np.asarray(x) ** 2 @ lam)

    rng = np.random.default_rng(rng)
    if method == "global":
        radius = real("radius", radius, 0.0, low_open=True)
        box = np.tile([-radius, radius], (dim, 1))
        _, values = _global_search(f, box, max_evals, rng, True, target=target)
        return len(values) if values[-1] <= target else math.inf
    if method == "local":
        step_size = real("step_size", step_size, 0.0, low_open=True)
        check(
            distribution in _DISTRIBUTIONS, "distribution", distribution, f"one of {_DISTRIBUTIONS}"
        )
        _, values = _local_search(
            f, x0, step_size, max_evals, rng, distribution, None, target=target
        )
        return len(values) if values[-1] <= target else math.inf
    lr = 1.0 / lam[-1] if lr is None else real("lr", lr, 0.0, low_open=True)
    return _gradient_evaluations(lam, x0, lr, _gradient_cost(gradient_cost, dim), target, max_evals)


def _gradient_cost(gradient_cost, dim):
    """Evaluations charged per gradient step (see ``evaluations_to_target``)."""
    if gradient_cost == "backprop":
        return 2.0
    if gradient_cost == "finite_difference":
        return float(dim + 1)
    check(
        not isinstance(gradient_cost, str),
        "gradient_cost",
        gradient_cost,
        "'backprop', 'finite_difference' or a number > 0",
    )
    return real("gradient_cost", gradient_cost, 0.0, low_open=True)


def _gradient_evaluations(lam, x0, lr, cost, target, max_evals):
    """Evaluations gradient descent needs on ``1/2 sum lam_i x_i^2`` from x0 to reach
    ``target``, in closed form (``x_k = (1 - lr*lam)^k * x0``), or ``math.inf``."""
    max_steps = int(max_evals // cost)
    factor = (1.0 - lr * lam) ** 2  # per-coordinate contraction of x_i^2 per step
    with np.errstate(all="ignore"):
        for start in range(0, max_steps + 1, 4096):
            k = np.arange(start, min(start + 4096, max_steps + 1))
            values = 0.5 * (factor[None, :] ** k[:, None]) @ (lam * x0**2)
            hit = np.flatnonzero(values <= target)
            if hit.size:
                evals = int(k[hit[0]]) * cost
                return int(evals) if float(evals).is_integer() else evals
            if not np.all(np.isfinite(values)):
                break
    return math.inf
