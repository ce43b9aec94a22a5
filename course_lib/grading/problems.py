"""Test objectives and seeded random problems shared by the assignments' checkers.

What a checker hands to the student's function as ``f`` or ``grad`` is one of the objects
below, never a plain function: each checks how it is called (one point of the right shape)
and fails with a message that names the student's function and says what went wrong, and
each survives ``copy.deepcopy`` as itself, so that the student, the reference and the
mistake variants all use the very same object (calls can be counted or recorded).

- :class:`Problem` -- a landscape of ``course_lib.landscapes`` seen through its gradient
  (gradient descent, momentum, Adam, Newton: ``grad(x)`` of one point);
- :class:`Smooth` -- a smooth non-quadratic function of an array of any fixed shape, with
  its exact gradient (numerical gradients, gradient checkers);
- :class:`CountingBowl` -- a weighted sphere that counts its calls (derivative-free search).

The generators take a ``np.random.Generator`` and draw in a fixed order, so a checker's seed
always gives the same cases: :func:`spd` (a symmetric matrix with given eigenvalues),
:func:`log_uniform`, :func:`random_quadratic`, :func:`rotated_bowl`,
:func:`random_regression` (least-squares data), :func:`new_seed`.

Landscapes are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from course_lib.grading._core import GradingError

__all__ = [
    "Problem",
    "Smooth",
    "SMOOTH",
    "CountingBowl",
    "spd",
    "log_uniform",
    "random_quadratic",
    "rotated_bowl",
    "random_regression",
    "new_seed",
]


# --------------------------------------------------------------------------------------------
# Test objectives
# --------------------------------------------------------------------------------------------
class Problem:
    """A landscape seen through its gradient: what the student's ``grad`` argument is.

    Calling it takes one point of shape ``(dim,)`` and returns a new gradient array of the same
    shape; ``value`` and ``grad`` are the trusted versions used by the reference.

    Args:
      landscape: an object with ``value(x)`` and ``grad(x)`` (``course_lib.landscapes``).
      dim: the number of coordinates of a point.
      description: how visible messages name the problem ("a random 3-D quadratic").
      name: the student's function, named in the message of a wrong call.
      hidden: leave the wrong shape out of that message (hidden tests).
    """

    def __init__(self, landscape, dim: int, description: str, name: str, hidden: bool):
        self.landscape, self.dim, self.description = landscape, dim, description
        self._name, self._hidden = name, hidden

    def value(self, x) -> float:
        return float(np.reshape(self.landscape.value(np.asarray(x, dtype=float)), -1)[0])

    def grad(self, x) -> np.ndarray:
        return np.array(self.landscape.grad(np.asarray(x, dtype=float)), dtype=float)

    def __call__(self, x) -> np.ndarray:
        arr = np.asarray(x, dtype=float)
        if arr.shape != (self.dim,):
            shape = "the wrong shape" if self._hidden else f"shape {arr.shape}"
            where = " (hidden test)" if self._hidden else ""
            raise GradingError(
                f"{self._name}{where}: grad was called with an array of {shape}, but grad takes "
                f"one point, an array of the shape of x0, (dim,)"
            )
        return self.grad(arr).reshape(self.dim)

    def __deepcopy__(self, memo):  # shared by the student, the reference and the variants
        return self


SMOOTH = "sum(a * sin(x)) + (b . x)**2 / 2 with fixed random arrays a, b of x's shape"
"""How visible messages describe a :class:`Smooth` function."""


class Smooth:
    """``f(x) = sum(a * sin(x)) + (b . x)^2 / 2`` for x of one given shape.

    It refuses (with a clear message) to be called with an array of another shape, and with
    ``record=True`` keeps a copy of every point it is called at (gradient checkers).

    Args:
      rng: draws ``a`` (entries of size 0.5 to 2, random sign) and ``b`` (in [-1, 1]).
      shape: the shape of x.
      name, hidden: as for :class:`Problem`.
      record: keep every point in ``calls``.
    """

    def __init__(
        self, rng: np.random.Generator, shape, name: str, hidden: bool, record: bool = False
    ):
        self.shape = tuple(shape)
        size = int(np.prod(self.shape))
        self.a = rng.uniform(0.5, 2.0, size) * rng.choice([-1.0, 1.0], size)
        self.b = rng.uniform(-1.0, 1.0, size)
        self.calls: list[np.ndarray] = []
        self._name, self._hidden, self._record = name, hidden, record

    def flattened(self) -> "Smooth":
        """The same function of ``x.reshape(-1)``."""
        flat = copy.copy(self)
        flat.shape, flat.calls = (self.a.size,), []
        return flat

    def value(self, x) -> float:
        """f at x (trusted; computed on the flattened point, so every shape sums alike)."""
        v = np.asarray(x, dtype=float).reshape(-1)
        return float(self.a @ np.sin(v) + 0.5 * (self.b @ v) ** 2)

    def grad(self, x) -> np.ndarray:
        v = np.asarray(x, dtype=float).reshape(-1)
        return (self.a * np.cos(v) + (self.b @ v) * self.b).reshape(np.shape(x))

    def __call__(self, x) -> float:
        arr = np.array(x, dtype=float)
        if arr.shape != self.shape:
            where = " (hidden test)" if self._hidden else ""
            got = "another shape" if self._hidden else f"shape {arr.shape}"
            raise GradingError(
                f"{self._name}{where}: f was called with an array of {got}, but f takes an "
                f"array of x's shape: perturb one entry of (a copy of) x and pass the whole "
                f"array, without flattening or transposing it"
            )
        if self._record:
            self.calls.append(arr)
        return self.value(arr)

    def __deepcopy__(self, memo):  # the student gets this very object (calls are recorded)
        return self


class CountingBowl:
    """``f(x) = sum_i w_i (x_i - c_i)^2 + offset``, called once per point; counts the calls.

    Args:
      rng: draws the centre (in [-1, 1], unless ``center`` is given), the weights (0.5 to 2)
        and the offset (in [-1, 1]), in that order.
      dim: the number of coordinates of a point.
      center: a fixed centre instead of a random one.
      name, hidden: as for :class:`Problem`.
    """

    def __init__(
        self, rng: np.random.Generator, dim: int, center=None, name: str = "", hidden: bool = False
    ):
        self.dim = dim
        self.center = rng.uniform(-1, 1, dim) if center is None else np.asarray(center, float)
        self.weights = rng.uniform(0.5, 2.0, dim)
        self.offset = float(rng.uniform(-1, 1))
        self.calls = 0
        self._name, self._hidden = name, hidden

    def values(self, xs: np.ndarray) -> np.ndarray:
        """f on each row of ``xs`` (trusted, never passed to the student)."""
        return ((np.asarray(xs, float) - self.center) ** 2) @ self.weights + self.offset

    def __call__(self, x) -> float:
        self.calls += 1
        arr = np.asarray(x, dtype=float)
        if arr.size != self.dim or arr.ndim > 1:
            shape = "the wrong shape" if self._hidden else f"shape {arr.shape}"
            where = " (hidden test)" if self._hidden else ""
            raise GradingError(
                f"{self._name}{where}: f was called with an array of {shape}, but f takes one "
                f"point, an array of shape (dim,), and returns one number: evaluate the "
                f"points one at a time"
            )
        return float(self.values(arr.reshape(1, -1))[0])

    def __deepcopy__(self, memo):  # the student gets this very object, so calls are counted
        return self


# --------------------------------------------------------------------------------------------
# Random problems
# --------------------------------------------------------------------------------------------
def spd(rng: np.random.Generator, eigenvalues) -> np.ndarray:
    """A random symmetric matrix with these eigenvalues (random orthonormal eigenvectors)."""
    lam = np.asarray(eigenvalues, dtype=float)
    q, r = np.linalg.qr(rng.standard_normal((lam.size, lam.size)))
    q = q * np.sign(np.diag(r))  # a uniformly random rotation
    h = (q * lam) @ q.T
    return (h + h.T) / 2


def log_uniform(rng: np.random.Generator, low: float, high: float, size=None):
    """Numbers whose logarithm is uniform between log(low) and log(high) (scales spread
    evenly over orders of magnitude: learning rates, eigenvalues, condition numbers)."""
    return np.exp(rng.uniform(math.log(low), math.log(high), size))


def random_quadratic(rng: np.random.Generator, dim: int, name: str, hidden: bool) -> Problem:
    """A random quadratic ``1/2 (x - c)^T H (x - c)`` (a Parabola in 1-D).

    The eigenvalues of H are log-uniform in [0.2, 20], the centre c uniform in [-2, 2].
    The landscape's ``eigenvalues`` (or, in 1-D, ``hessian``) give the stable learning rates.
    """
    from course_lib.landscapes import Parabola, Quadratic

    lam = log_uniform(rng, 0.2, 20.0, dim)
    if dim == 1:
        return Problem(Parabola(a=float(lam[0]) / 2), 1, "a 1-D parabola", name, hidden)
    h = spd(rng, lam)
    center = rng.uniform(-2, 2, dim)
    return Problem(Quadratic(h, b=h @ center), dim, f"a random {dim}-D quadratic", name, hidden)


def rotated_bowl(kappa: float, angle: float, center, name: str, hidden: bool) -> Problem:
    """``Quadratic.bowl(condition_number=kappa, angle=angle, center=center)`` as a
    :class:`Problem`, described by the call that makes it (students can rebuild it)."""
    from course_lib.landscapes import Quadratic

    bowl = Quadratic.bowl(condition_number=kappa, angle=angle, center=center)
    text = (
        f"the bowl Quadratic.bowl(condition_number={kappa:g}, angle={angle:.4g}, "
        f"center={tuple(round(float(c), 3) for c in center)})"
    )
    return Problem(bowl, 2, text, name, hidden)


def random_regression(rng: np.random.Generator, n: int, d: int):
    """Least-squares data ``(X, y)``: n standard normal feature rows of dimension d and
    targets from a random linear model plus noise of standard deviation 0.5, rounded to 3
    decimals (readable in visible messages)."""
    X = np.round(rng.standard_normal((n, d)), 3)
    y = np.round(X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n), 3)
    return X, y


def new_seed(rng: np.random.Generator) -> int:
    """A seed for a generator handed to the student (1 to 2**31 - 1)."""
    return int(rng.integers(1, 1 << 31))
