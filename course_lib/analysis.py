r"""Linear analysis of gradient descent and momentum on quadratics.

On a quadratic with Hessian eigenvalues ``lambda_i``, gradient descent and heavy-ball momentum
act on each eigen-direction separately, and only the products ``h = lr * lambda`` and the
momentum factor ``beta`` (PyTorch's ``momentum``) matter. This module gives, for one direction:

- ``gd_rate(h)``: gradient descent's factor per step, ``|1 - h|``;
- ``momentum_matrix(h, beta)``: the 2x2 matrix that maps ``(error, velocity)`` one step on;
- ``momentum_roots(h, beta)``: its eigenvalues, the roots of ``z^2 - (1 + beta - h) z + beta``;
- ``momentum_rate(h, beta)``: their largest modulus (the spectral radius), the factor by which
  the error eventually shrinks per step; vectorised, for maps over ``(h, beta)``;
- ``momentum_regime(h, beta)``: "overdamped" (two real roots), "critically damped" (a double
  root), "underdamped" (complex roots: the error oscillates) or "unstable";
- ``nesterov_matrix``, ``nesterov_roots``, ``nesterov_rate``: the same for Nesterov's
  accelerated gradient;
- ``stability_limit(method, beta)``: the largest stable ``h`` of "gd" (2), "momentum"
  (``2 + 2 beta``) and "nesterov" (``(2 + 2 beta) / (1 + 2 beta)``);
- ``critical_damping(method, beta)``: the two ``h`` between which the roots are complex
  (the error oscillates): ``(1 -+ sqrt(beta))^2`` for momentum, ``((1 - beta) / (1 + beta))^2``
  and 1 for Nesterov;

and, for a whole quadratic with eigenvalues in ``[lambda_min, lambda_max]``:

- ``best_gd(lambda_min, lambda_max)``: ``lr = 2 / (lambda_min + lambda_max)`` and its rate
  ``(kappa - 1) / (kappa + 1)``;
- ``best_momentum(lambda_min, lambda_max)``: ``lr = (2 / (sqrt(lambda_max) +
  sqrt(lambda_min)))^2``, ``beta = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2`` and the rate
  ``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)``;

and ``steps_to_tolerance(path, minimizer, tol)`` to measure how many steps a run needed.

The heavy-ball iteration in lecture form, ``v_{t+1} = beta v_t - lr g_t``, ``w_{t+1} = w_t +
v_{t+1}``, with ``g = lambda (w - w*)`` and the error ``e = w - w*``, is::

    e_{t+1} = (1 - h) e_t + beta v_t        [e_{t+1}]   [1 - h   beta] [e_t]
    v_{t+1} =     - h e_t + beta v_t        [v_{t+1}] = [  -h    beta] [v_t]

The matrix has trace ``1 + beta - h`` and determinant ``beta``, so its characteristic polynomial
is ``z^2 - (1 + beta - h) z + beta``: the same as that of the equivalent second-order recursion
``e_{t+1} = (1 + beta - h) e_t - beta e_{t-1}``. It is stable (every root inside the unit
circle) iff ``0 <= beta < 1`` and ``0 < h < 2 + 2 beta``.

Nesterov's method in look-ahead form, ``v_{t+1} = beta v_t - lr grad f(w_t + beta v_t)``,
``w_{t+1} = w_t + v_{t+1}``, takes the gradient at ``e_t + beta v_t``::

    v_{t+1} = -h e_t + beta (1 - h) v_t          [e_{t+1}]   [1 - h   beta (1 - h)] [e_t]
    e_{t+1} = (1 - h) e_t + beta (1 - h) v_t     [v_{t+1}] = [  -h    beta (1 - h)] [v_t]

with trace ``(1 + beta)(1 - h)`` and determinant ``beta (1 - h)``. The Jury conditions for
``z^2 - (1 + beta)(1 - h) z + beta (1 - h)`` give: stable iff ``0 < h < (2 + 2 beta) / (1 + 2
beta)`` (for ``0 <= beta < 1``). PyTorch's ``SGD(nesterov=True)`` runs the same method on the
look-ahead points ``x = w + beta v``, a change of variables that keeps the eigenvalues.

References: Polyak (1964), "Some methods of speeding up the convergence of iteration
methods", USSR Comput. Math. Math. Phys. 4(5); Nesterov (1983), "A method for solving the convex
programming problem with convergence rate O(1/k^2)", Soviet Math. Dokl. 27; Sutskever, Martens,
Dahl & Hinton (2013), "On the importance of initialization and momentum in deep learning", ICML;
Goh (2017), "Why Momentum Really Works", Distill.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from course_lib._checks import check, real

__all__ = [
    "gd_rate",
    "momentum_matrix",
    "momentum_roots",
    "momentum_rate",
    "momentum_regime",
    "nesterov_matrix",
    "nesterov_roots",
    "nesterov_rate",
    "stability_limit",
    "critical_damping",
    "best_gd",
    "best_momentum",
    "BestParameters",
    "steps_to_tolerance",
]


def _real_array(name: str, value: Any) -> np.ndarray:
    """A float array (or scalar) of finite real numbers."""
    arr = np.asarray(value)
    ok = arr.dtype.kind in "iuf" and bool(np.all(np.isfinite(arr)))
    check(ok, name, value, "finite real numbers")
    return arr.astype(float)


def _beta_array(value: Any) -> np.ndarray:
    beta = _real_array("beta", value)
    check(bool(np.all((beta >= 0) & (beta < 1))), "beta", value, "in [0, 1)")
    return beta


def _scalar_or_array(x: np.ndarray) -> Any:
    return float(x) if x.ndim == 0 else x


def gd_rate(h: Any) -> Any:
    """Gradient descent's factor per step on a direction with ``h = lr * lambda``: ``|1 - h|``.

    Args:
      h: ``lr * lambda``, a finite number or array (negative on a direction of negative
        curvature, where the factor exceeds 1 and the iterate moves away).

    Returns:
      ``|1 - h|``, a float or an array of the shape of ``h``.
    """
    return _scalar_or_array(np.abs(1.0 - _real_array("h", h)))


def momentum_matrix(h: float, beta: float) -> np.ndarray:
    """The 2x2 matrix of one heavy-ball step on a direction with ``h = lr * lambda``.

    It maps the error and the lecture-form velocity ``(e_t, v_t)`` to ``(e_{t+1}, v_{t+1})``::

        [[1 - h, beta],
         [   -h, beta]]

    Args:
      h: ``lr * lambda``, a finite real number.
      beta: the momentum factor, in [0, 1).
    """
    h = real("h", h)
    beta = real("beta", beta, 0.0, 1.0, high_open=True)
    return np.array([[1.0 - h, beta], [-h, beta]])


def momentum_roots(h: Any, beta: Any) -> np.ndarray:
    """The eigenvalues of ``momentum_matrix(h, beta)``: roots of ``z^2 - (1+beta-h) z + beta``.

    Args:
      h: ``lr * lambda``, finite numbers (any shape).
      beta: momentum factor(s) in [0, 1), broadcastable with ``h``.

    Returns:
      Complex array of shape ``broadcast(h, beta).shape + (2,)``: the two roots, the one of
      larger modulus first (for real roots: the larger absolute value).
    """
    h, beta = np.broadcast_arrays(_real_array("h", h), _beta_array(beta))
    return _roots(1.0 + beta - h, beta)


def _roots(trace: np.ndarray, det: np.ndarray) -> np.ndarray:
    """Roots of ``z^2 - trace z + det``, the one of larger modulus first, on a last axis."""
    sqrt_disc = np.sqrt((trace**2 - 4.0 * det).astype(complex))
    z1, z2 = (trace + sqrt_disc) / 2.0, (trace - sqrt_disc) / 2.0
    first_larger = np.abs(z1) >= np.abs(z2)
    return np.stack([np.where(first_larger, z1, z2), np.where(first_larger, z2, z1)], axis=-1)


def momentum_rate(h: Any, beta: Any) -> Any:
    """The spectral radius of ``momentum_matrix(h, beta)``: the largest root modulus.

    The error along the direction shrinks by about this factor per step once the run has
    settled (at a double root, ``t * rate^t``: a little slower). Below 1 iff
    ``0 < h < 2 + 2 beta``; for complex roots it is ``sqrt(beta)``, whatever ``h``.

    Args:
      h: ``lr * lambda``, finite numbers (any shape).
      beta: momentum factor(s) in [0, 1), broadcastable with ``h``.

    Returns:
      A float, or an array of the broadcast shape.
    """
    return _scalar_or_array(np.abs(momentum_roots(h, beta)[..., 0]))


def momentum_regime(h: float, beta: float, tol: float = 1e-12) -> str:
    """How the error along one direction behaves under heavy-ball momentum.

    Returns one of:
      "unstable": a root of modulus >= 1 (the error does not go to zero);
      "overdamped": two distinct real roots (for h < (1 - sqrt(beta))^2 both are positive and
        the error decays without changing sign, like a ball in thick syrup; for
        h > (1 + sqrt(beta))^2 both are negative and the error changes sign every step);
      "critically damped": a double root, at ``h = (1 +- sqrt(beta))^2``;
      "underdamped": complex roots of modulus ``sqrt(beta)`` (the error oscillates around 0
        with a decaying amplitude, like a ball rolling back and forth in a bowl).

    Args:
      h: ``lr * lambda``, a finite real number.
      beta: in [0, 1).
      tol: relative tolerance on the discriminant for "critically damped".
    """
    h = real("h", h)
    beta = real("beta", beta, 0.0, 1.0, high_open=True)
    if not 0.0 < h < 2.0 + 2.0 * beta:
        return "unstable"
    trace = 1.0 + beta - h
    disc = trace**2 - 4.0 * beta
    if abs(disc) <= tol * max(trace**2, 4.0 * beta):
        return "critically damped"
    return "overdamped" if disc > 0 else "underdamped"


def nesterov_matrix(h: float, beta: float) -> np.ndarray:
    """The 2x2 matrix of one step of Nesterov's method on a direction with ``h = lr * lambda``.

    It maps the error and the look-ahead-form velocity ``(e_t, v_t)`` to
    ``(e_{t+1}, v_{t+1})``::

        [[1 - h, beta * (1 - h)],
         [   -h, beta * (1 - h)]]

    Args:
      h: ``lr * lambda``, a finite real number.
      beta: the momentum factor, in [0, 1).
    """
    h = real("h", h)
    beta = real("beta", beta, 0.0, 1.0, high_open=True)
    return np.array([[1.0 - h, beta * (1.0 - h)], [-h, beta * (1.0 - h)]])


def nesterov_roots(h: Any, beta: Any) -> np.ndarray:
    """The eigenvalues of ``nesterov_matrix(h, beta)``: the roots of
    ``z^2 - (1 + beta)(1 - h) z + beta (1 - h)``, the one of larger modulus first.

    Args and shape as for ``momentum_roots``.
    """
    h, beta = np.broadcast_arrays(_real_array("h", h), _beta_array(beta))
    return _roots((1.0 + beta) * (1.0 - h), beta * (1.0 - h))


def nesterov_rate(h: Any, beta: Any) -> Any:
    """The spectral radius of ``nesterov_matrix(h, beta)``: below 1 iff
    ``0 < h < (2 + 2 beta) / (1 + 2 beta)``. Vectorised as ``momentum_rate``.
    """
    return _scalar_or_array(np.abs(nesterov_roots(h, beta)[..., 0]))


def stability_limit(method: str, beta: float = 0.0) -> float:
    """The largest ``h = lr * lambda`` for which ``method`` converges along a direction.

    The method is stable for ``0 < h <`` this limit (and not at the limit itself):

    - "gd": 2;
    - "momentum" (heavy ball): ``2 + 2 beta``;
    - "nesterov": ``(2 + 2 beta) / (1 + 2 beta)``, which falls from 2 at ``beta = 0`` towards
      4/3 as ``beta -> 1``: Nesterov's correction shrinks the stable range where heavy-ball
      momentum widens it.

    Args:
      method: "gd", "momentum" or "nesterov".
      beta: the momentum factor in [0, 1) (must be 0 for "gd").
    """
    methods = ("gd", "momentum", "nesterov")
    check(method in methods, "method", method, f"one of {methods}")
    beta = real("beta", beta, 0.0, 1.0, high_open=True)
    if method == "gd":
        check(beta == 0.0, "beta", beta, "0 for gradient descent")
        return 2.0
    if method == "momentum":
        return 2.0 + 2.0 * beta
    return (2.0 + 2.0 * beta) / (1.0 + 2.0 * beta)


def critical_damping(method: str, beta: float) -> tuple[float, float]:
    """The two values of ``h = lr * lambda`` where the two roots of ``method`` coincide
    (critical damping); between them the roots are complex and the error oscillates.

    - "momentum": ``(1 - sqrt(beta))^2`` and ``(1 + sqrt(beta))^2``; in between, the roots
      have modulus ``sqrt(beta)``.
    - "nesterov": ``((1 - beta) / (1 + beta))^2`` and 1, where the discriminant
      ``(1 - h) ((1 + beta)^2 (1 - h) - 4 beta)`` of its characteristic polynomial vanishes;
      in between, the roots have modulus ``sqrt(beta (1 - h))``, and at ``h = 1`` both are 0.

    Args:
      method: "momentum" or "nesterov".
      beta: the momentum factor in [0, 1).
    """
    methods = ("momentum", "nesterov")
    check(method in methods, "method", method, f"one of {methods}")
    beta = real("beta", beta, 0.0, 1.0, high_open=True)
    if method == "momentum":
        root = np.sqrt(beta)
        return float((1.0 - root) ** 2), float((1.0 + root) ** 2)
    return float(((1.0 - beta) / (1.0 + beta)) ** 2), 1.0


class BestParameters(NamedTuple):
    """Hyperparameters that minimise the worst rate over ``[lambda_min, lambda_max]``."""

    lr: float
    momentum: float  # 0 for gradient descent
    rate: float  # the factor per step they guarantee (the spectral radius)


def _eigenvalue_range(lambda_min: Any, lambda_max: Any) -> tuple[float, float]:
    lo = real("lambda_min", lambda_min, 0.0, low_open=True)
    hi = real("lambda_max", lambda_max, lo)
    return lo, hi


def best_gd(lambda_min: float, lambda_max: float) -> BestParameters:
    """The fixed learning rate that makes gradient descent fastest on a quadratic with Hessian
    eigenvalues in ``[lambda_min, lambda_max]``: ``lr = 2 / (lambda_min + lambda_max)``, rate
    ``(kappa - 1) / (kappa + 1)`` with ``kappa = lambda_max / lambda_min``.

    Args:
      lambda_min: smallest eigenvalue, > 0.
      lambda_max: largest eigenvalue, >= lambda_min.
    """
    lo, hi = _eigenvalue_range(lambda_min, lambda_max)
    return BestParameters(lr=2.0 / (lo + hi), momentum=0.0, rate=(hi - lo) / (hi + lo))


def best_momentum(lambda_min: float, lambda_max: float) -> BestParameters:
    """The learning rate and momentum that make heavy-ball momentum fastest on a quadratic
    with Hessian eigenvalues in ``[lambda_min, lambda_max]`` (Polyak 1964)::

        lr       = (2 / (sqrt(lambda_max) + sqrt(lambda_min)))^2
        momentum = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2
        rate     = (sqrt(kappa) - 1) / (sqrt(kappa) + 1) = sqrt(momentum)

    With these values ``lr * lambda_min = (1 - sqrt(momentum))^2`` and ``lr * lambda_max =
    (1 + sqrt(momentum))^2``: both extreme directions are critically damped and every
    direction in between is underdamped with rate ``sqrt(momentum)``.

    Args:
      lambda_min: smallest eigenvalue, > 0.
      lambda_max: largest eigenvalue, >= lambda_min.
    """
    lo, hi = _eigenvalue_range(lambda_min, lambda_max)
    root_lo, root_hi = np.sqrt(lo), np.sqrt(hi)
    rate = float((root_hi - root_lo) / (root_hi + root_lo))
    return BestParameters(lr=float(4.0 / (root_hi + root_lo) ** 2), momentum=rate**2, rate=rate)


def steps_to_tolerance(path: Any, minimizer: Any, tol: float = 1e-6) -> int | None:
    """The first step t at which ``|w_t - w*| <= tol * |w_0 - w*|``, or None if never.

    Args:
      path: the iterates ``w_0, w_1, ...``: shape ``(k + 1,)`` (1-D) or ``(k + 1, dim)``, e.g.
        ``course_lib.train.run(...).path``.
      minimizer: ``w*``, a scalar or a vector of length dim.
      tol: the relative tolerance, >= 0 (0: the minimizer itself; any tol >= 1 is met by the
        start point, 0 steps).
    """
    tol = real("tol", tol, 0.0)
    path = _real_array("path", path)
    if path.ndim == 1:
        path = path[:, None]
    minimizer = np.atleast_1d(_real_array("minimizer", minimizer))
    check(
        path.ndim == 2 and path.shape[0] >= 1,
        "path",
        path.shape,
        "an array of shape (k + 1,) or (k + 1, dim)",
    )
    check(
        minimizer.shape == path.shape[1:],
        "minimizer",
        minimizer.shape,
        f"of shape {path.shape[1:]} (one point of the path)",
    )
    err = np.linalg.norm(path - minimizer, axis=1)
    hits = np.flatnonzero(err <= tol * err[0])
    return int(hits[0]) if hits.size else None
