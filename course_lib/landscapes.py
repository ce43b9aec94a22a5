"""Loss landscapes: objectives with value, gradient and Hessian, for plots and optimizer runs.

Every landscape is an object with::

    f = Rosenbrock()
    f.value(x)      # also f(x)
    f.grad(x)       # gradient
    f.hessian(x)    # matrix of second derivatives
    f.minima        # list of known minimisers (arrays); f.min_value: the global minimum value
    f.bounds        # a sensible plotting window
    X, Y, Z = f.grid(200)   # 2-D only: values on a 200 x 200 grid, ready for plt.contour

Point convention
----------------
* An n-D landscape (``dim >= 2``) takes points of shape ``(..., dim)`` and is vectorised over
  the leading axes: ``value`` returns shape ``(...)``, ``grad`` ``(..., dim)`` and ``hessian``
  ``(..., dim, dim)``. A single point has shape ``(dim,)``; a grid of points ``(ny, nx, dim)``.
* A 1-D landscape (``dim == 1``) is elementwise: a point is a scalar, ``x`` may be any array
  and ``value``, ``grad`` (f') and ``hessian`` (f'') all have the shape of ``x``.

Inputs are never modified; integers are accepted and converted to float. A point whose last
axis is not ``dim`` long raises ``ValueError``. To write your own landscape, subclass
``Landscape2D`` (formulas in x and y, like ``Himmelblau``) or ``Landscape``.

References: Rosenbrock (1960), Beale (1958), Himmelblau (1972); the survey of test functions
by Jamil & Yang (2013), "A literature survey of benchmark functions for global optimization
problems", Int. J. Math. Modelling and Numerical Optimisation 4(2), 150-194.
"""

from __future__ import annotations

import numpy as np

from course_lib._checks import integer, real

__all__ = [
    "Landscape",
    "Landscape2D",
    "Quadratic",
    "NoisyQuadratic",
    "Rosenbrock",
    "Beale",
    "Himmelblau",
    "Saddle",
    "Parabola",
    "XCos",
    "Cosh",
    "Bumpy",
]


def _readonly(a):
    a = np.array(a, dtype=float)
    a.flags.writeable = False
    return a


class Landscape:
    """Base class. A subclass sets the attributes below and writes ``_value``, ``_grad`` and
    ``_hessian`` for a float array of points that already has the right shape.

    Attributes:
      name: short name for plot titles.
      dim: number of coordinates of a point (1 means elementwise, see the module docstring).
      minima: known minimisers (list of arrays); empty if there is none or it is unknown.
      min_value: the global minimum value, or None (unbounded below or unknown).
      bounds: plotting window, ``((xmin, xmax), (ymin, ymax))`` in 2-D, ``(xmin, xmax)`` in 1-D.
    """

    name = "landscape"
    dim = 2
    minima: list = []
    min_value = None
    bounds = None
    _repr_params: tuple = ()  # constructor arguments shown by repr

    def value(self, x):
        """f(x): shape ``(...)`` for points of shape ``(..., dim)`` (elementwise if dim == 1)."""
        return self._value(self._points(x))

    def grad(self, x):
        """Gradient of f: shape ``(..., dim)`` (f'(x), elementwise, if dim == 1)."""
        return self._grad(self._points(x))

    def hessian(self, x):
        """Hessian of f: shape ``(..., dim, dim)`` (f''(x), elementwise, if dim == 1)."""
        return self._hessian(self._points(x))

    __call__ = value

    def _points(self, x):
        """The one shape check: float array of shape (..., dim), or any shape if dim == 1."""
        x = np.asarray(x, dtype=float)
        if self.dim > 1 and (x.ndim == 0 or x.shape[-1] != self.dim):
            raise ValueError(
                f"{self.name} expects points of shape (..., {self.dim}), got shape {x.shape}"
            )
        return x

    def grid(self, n=200, bounds=None):
        """Values on an ``n x n`` grid, for ``plt.contour(X, Y, Z)`` or a surface plot.

        Args:
          n: number of grid points along each axis (>= 2).
          bounds: ``((xmin, xmax), (ymin, ymax))``; default ``self.bounds``.

        Returns:
          ``(X, Y, Z)``, each of shape ``(n, n)``; ``X[i, j], Y[i, j]`` is a point and
          ``Z[i, j]`` its value (``np.meshgrid`` order: rows follow y).
        """
        if self.dim != 2:
            raise ValueError(f"grid() needs a 2-D landscape, {self.name} has dim {self.dim}")
        if int(n) != n or n < 2:
            raise ValueError(f"n must be an integer >= 2, got {n!r}")
        (xmin, xmax), (ymin, ymax) = self.bounds if bounds is None else bounds
        X, Y = np.meshgrid(np.linspace(xmin, xmax, int(n)), np.linspace(ymin, ymax, int(n)))
        return X, Y, self.value(np.stack([X, Y], axis=-1))

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._repr_params)
        return f"{type(self).__name__}({args})"


# ----------------------------------------------------------------------------------------------
# Quadratics
# ----------------------------------------------------------------------------------------------
class Quadratic(Landscape):
    r"""The quadratic ``f(x) = 1/2 x^T A x - b^T x + c`` in n >= 2 dimensions.

    Gradient ``A x - b``, Hessian ``A`` (constant). If A is positive definite the unique
    minimiser is ``x* = A^{-1} b`` with ``f(x*) = c - 1/2 b^T x*``; gradient descent converges
    from every start iff ``0 < lr < 2 / lambda_max``, at a speed set by the condition number
    ``lambda_max / lambda_min``. (For 1-D use ``Parabola``.)

    Args:
      A: symmetric ``(n, n)`` matrix, n >= 2.
      b: vector of length n (default zeros).
      c: constant offset.

    Attributes (besides those of ``Landscape``; A and b are stored read-only):
      eigenvalues: of A, ascending; ``eigenvalues[-1]`` is lambda_max.
      condition_number: ``lambda_max / lambda_min``; inf if A is not positive definite.
      minimizer: ``x*``, or None if A is not positive definite (then ``minima`` is empty).
    """

    name = "quadratic"
    _repr_params = ("A", "b", "c")

    def __init__(self, A, b=None, c=0.0):
        A = np.asarray(A, dtype=float)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 2:
            raise ValueError(
                f"A must be a square (n, n) matrix with n >= 2 (for 1-D use Parabola), "
                f"got shape {A.shape}"
            )
        if not np.all(np.isfinite(A)) or not np.allclose(A, A.T, rtol=1e-10, atol=1e-12):
            raise ValueError("A must be a finite symmetric matrix (A == A.T)")
        self.dim = A.shape[0]
        b = np.zeros(self.dim) if b is None else np.asarray(b, dtype=float)
        if b.shape != (self.dim,) or not np.all(np.isfinite(b)):
            raise ValueError(f"b must be a finite vector of shape ({self.dim},), got {b.shape}")
        self.A = _readonly((A + A.T) / 2)  # exactly symmetric
        self.b = _readonly(b)
        self.c = real("c", c)
        self.eigenvalues = _readonly(np.linalg.eigvalsh(self.A))  # ascending
        self.minimizer, self.min_value, self.condition_number = None, None, np.inf
        if self.eigenvalues[0] > 0:  # positive definite: a unique minimum
            self.minimizer = _readonly(np.linalg.solve(self.A, self.b))
            self.min_value = self.c - 0.5 * float(self.b @ self.minimizer)
            self.condition_number = float(self.eigenvalues[-1] / self.eigenvalues[0])

    @property
    def minima(self):
        return [] if self.minimizer is None else [self.minimizer]

    @property
    def bounds(self):
        """2-D: the square of half-width 2 around the minimiser (or the origin); else None."""
        if self.dim != 2:
            return None
        cx, cy = (0.0, 0.0) if self.minimizer is None else map(float, self.minimizer)
        return ((cx - 2.0, cx + 2.0), (cy - 2.0, cy + 2.0))

    @classmethod
    def bowl(cls, condition_number=10.0, angle=0.0, lambda_min=1.0, center=(0.0, 0.0), **kwargs):
        """A 2-D bowl ``1/2 (x - center)^T A (x - center)`` with a chosen shape.

        ``A = R diag(lambda_min, condition_number * lambda_min) R^T``, R the rotation by
        ``angle``: the shallow direction is ``(cos angle, sin angle)``, the steep one is
        perpendicular to it. Minimum 0 at ``center``.

        Args:
          condition_number: ``lambda_max / lambda_min``, >= 1 (large: a long narrow ravine).
          angle: rotation in radians.
          lambda_min: smallest eigenvalue (curvature along the ravine), > 0.
          center: the minimiser, a pair.
          **kwargs: passed on to the constructor (e.g. ``noise`` for ``NoisyQuadratic``).
        """
        kappa = real("condition_number", condition_number, 1.0)
        angle = real("angle", angle)
        lam = real("lambda_min", lambda_min, 0.0, low_open=True)
        center = np.asarray(center, dtype=float)
        if center.shape != (2,) or not np.all(np.isfinite(center)):
            raise ValueError(f"center must be a finite pair (x, y), got {center!r}")
        R = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        A = R @ np.diag([lam, kappa * lam]) @ R.T
        f = cls(A, b=A @ center, c=0.5 * center @ A @ center, **kwargs)
        f.minimizer, f.min_value = _readonly(center), 0.0  # exact, rather than re-solved
        return f

    @classmethod
    def worst_case(cls, dim=100, L=1.0):
        """Nesterov's "worst function in the world" for first-order methods, in ``dim``
        dimensions: ``L/4 (1/2 x^T T x - x_1)`` with T the tridiagonal matrix of 2 on the
        diagonal and -1 beside it (Nesterov 2004, "Introductory Lectures on Convex
        Optimization", section 2.1.2).

        Its Hessian eigenvalues ``L/2 (1 - cos(k pi / (dim + 1)))``, k = 1..dim, fill
        ``(0, L)`` ever more densely near 0 as ``dim`` grows: convex with an L-Lipschitz
        gradient, and for ``t`` well below ``dim`` steps as good as not strongly convex.
        The minimiser is ``x*_i = 1 - i / (dim + 1)``, and a method that moves only along
        the gradients it has seen reaches the first ``t`` coordinates only after ``t`` steps,
        With ``dim = 2 t + 1`` this keeps ``f - f*`` above ``3 L |x_0 - x*|^2 / (32 (t + 1)^2)``
        after t steps (Nesterov's Theorem 2.1.7): no such method beats ``1/t^2`` on every
        smooth convex function.

        Args:
          dim: the dimension, an int >= 2.
          L: the largest possible curvature (the gradient's Lipschitz constant), > 0.
        """
        dim = integer("dim", dim, 2)
        L = real("L", L, 0.0, low_open=True)
        T = 2.0 * np.eye(dim) - np.eye(dim, k=1) - np.eye(dim, k=-1)
        b = np.zeros(dim)
        b[0] = L / 4.0
        f = cls(L / 4.0 * T, b=b)
        f.name = "worst-case quadratic"
        return f

    # With a minimum, f is evaluated around it, f* + 1/2 d^T A d with d = x - x*: the same
    # function, but without the cancellation of 1/2 x^T A x - b^T x + c as x approaches x*.
    def _value(self, x):
        if self.minimizer is None:
            return 0.5 * np.einsum("...i,ij,...j->...", x, self.A, x) - x @ self.b + self.c
        d = x - self.minimizer
        return 0.5 * np.einsum("...i,ij,...j->...", d, self.A, d) + self.min_value

    def _grad(self, x):  # A is symmetric, so x A = (A x)^T
        return x @ self.A - self.b if self.minimizer is None else (x - self.minimizer) @ self.A

    def _hessian(self, x):
        return np.broadcast_to(self.A, x.shape + (self.dim,)).copy()


class NoisyQuadratic(Quadratic):
    """A quadratic whose gradient can be sampled with noise, like a minibatch gradient.

    ``value`` and ``grad`` are exact; ``stochastic_grad(x, rng)`` returns
    ``grad(x) + noise * z`` with ``z`` standard normal: an unbiased estimate with covariance
    ``noise**2 * I``. (A minibatch of B examples has noise std about ``sigma / sqrt(B)``.)
    Used for the SGD chapter: with a constant lr SGD stalls at a noise floor around the minimum.

    Args:
      A, b, c: as ``Quadratic``.
      noise: standard deviation of each gradient coordinate's noise, >= 0.
    """

    name = "noisy quadratic"
    _repr_params = ("A", "b", "c", "noise")

    def __init__(self, A, b=None, c=0.0, noise=1.0):
        super().__init__(A, b, c)
        self.noise = real("noise", noise, 0.0)

    def stochastic_grad(self, x, rng=None):
        """``grad(x)`` plus Gaussian noise of std ``noise``, drawn from ``rng``.

        Args:
          x: points, shape ``(..., dim)``.
          rng: a ``np.random.Generator`` (or a seed); pass the same one on every call.
        """
        g = self.grad(x)
        return g + self.noise * np.random.default_rng(rng).standard_normal(g.shape)


# ----------------------------------------------------------------------------------------------
# 2-D test functions: each subclass writes f, its gradient and its Hessian in terms of x and y.
# ----------------------------------------------------------------------------------------------
class Landscape2D(Landscape):
    """Base for 2-D formulas: a subclass writes ``_f(x, y)``, ``_df(x, y) -> (fx, fy)`` and
    ``_d2f(x, y) -> (fxx, fxy, fyy)``; this class unpacks the points and stacks the results."""

    dim = 2

    def _value(self, p):
        return self._f(p[..., 0], p[..., 1])

    def _grad(self, p):
        parts = np.broadcast_arrays(*self._df(p[..., 0], p[..., 1]), p[..., 0])[:2]
        return np.stack(parts, axis=-1)

    def _hessian(self, p):
        fxx, fxy, fyy = np.broadcast_arrays(*self._d2f(p[..., 0], p[..., 1]), p[..., 0])[:3]
        return np.stack([np.stack([fxx, fxy], -1), np.stack([fxy, fyy], -1)], -2)


class Rosenbrock(Landscape2D):
    """Rosenbrock's banana valley ``f(x, y) = (a - x)^2 + b (y - x^2)^2`` (Rosenbrock 1960).

    Minimum 0 at ``(a, a^2)``, at the end of a long curved flat-bottomed valley: easy to find
    the valley, slow to follow it. Reference: H. H. Rosenbrock, "An automatic method for
    finding the greatest or least value of a function", The Computer Journal 3(3), 1960.

    Args:
      a: position of the minimum (any real, default 1).
      b: steepness of the valley walls, > 0 (default 100).
    """

    name = "Rosenbrock"
    _repr_params = ("a", "b")

    def __init__(self, a=1.0, b=100.0):
        self.a = real("a", a)
        self.b = real("b", b, 0.0, low_open=True)
        self.minima = [_readonly([self.a, self.a**2])]
        self.min_value = 0.0
        self.bounds = ((self.a - 3.0, self.a + 1.0), (self.a**2 - 2.0, self.a**2 + 2.0))

    def _f(self, x, y):
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def _df(self, x, y):
        return -2 * (self.a - x) - 4 * self.b * x * (y - x**2), 2 * self.b * (y - x**2)

    def _d2f(self, x, y):
        return 2 - 4 * self.b * (y - x**2) + 8 * self.b * x**2, -4 * self.b * x, 2 * self.b


class Beale(Landscape2D):
    """Beale's function ``f(x, y) = sum_{i=1..3} (c_i - x + x y^i)^2``, ``c = (1.5, 2.25, 2.625)``.

    Minimum 0 at ``(3, 0.5)``; flat plateaus and sharp ridges near the corners of the usual
    window ``[-4.5, 4.5]^2``. Reference: E. M. L. Beale, "On an iterative method for finding a
    local minimum of a function of more than one variable", Tech. Rep. 25, Princeton, 1958.
    """

    name = "Beale"
    _c = (1.5, 2.25, 2.625)

    def __init__(self):
        self.minima = [_readonly([3.0, 0.5])]
        self.min_value = 0.0
        self.bounds = ((-4.5, 4.5), (-4.5, 4.5))

    def _terms(self, x, y):
        """Yield ``i, t_i = c_i - x + x y^i``, ``dt_i/dx = y^i - 1``, ``dt_i/dy = i x y^(i-1)``."""
        for i, c in enumerate(self._c, start=1):
            yield i, c - x + x * y**i, y**i - 1, i * x * y ** (i - 1)

    def _f(self, x, y):
        return sum(t**2 for _, t, _, _ in self._terms(x, y))

    def _df(self, x, y):
        terms = list(self._terms(x, y))
        return sum(2 * t * tx for _, t, tx, _ in terms), sum(2 * t * ty for _, t, _, ty in terms)

    def _d2f(self, x, y):
        fxx = fxy = fyy = 0.0
        for i, t, tx, ty in self._terms(x, y):
            fxx = fxx + 2 * tx**2
            fxy = fxy + 2 * (tx * ty + t * i * y ** (i - 1))  # d(tx)/dy = i y^(i-1)
            fyy = fyy + 2 * (ty**2 + t * i * (i - 1) * x * y ** max(i - 2, 0))
        return fxx, fxy, fyy


class Himmelblau(Landscape2D):
    """Himmelblau's function ``f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2``.

    Four global minima, all with value 0: ``(3, 2)`` and three irrational ones; where an
    optimizer ends depends on where it starts. Reference: D. M. Himmelblau, "Applied Nonlinear
    Programming", McGraw-Hill, 1972.
    """

    name = "Himmelblau"

    # Roots of the gradient found with scipy.optimize.root from (3, 2), (-2.8, 3.1),
    # (-3.8, -3.3), (3.6, -1.8), polished with three Newton steps; |grad| < 2e-14 at each.
    minima = [
        _readonly([3.0, 2.0]),
        _readonly([-2.805118086952745, 3.131312518250573]),
        _readonly([-3.779310253377747, -3.283185991286169]),
        _readonly([3.5844283403304917, -1.8481265269644036]),
    ]
    min_value = 0.0
    bounds = ((-5.0, 5.0), (-5.0, 5.0))

    def _f(self, x, y):
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    def _df(self, x, y):
        p, q = x**2 + y - 11, x + y**2 - 7
        return 4 * x * p + 2 * q, 2 * p + 4 * y * q

    def _d2f(self, x, y):
        p, q = x**2 + y - 11, x + y**2 - 7
        return 4 * p + 8 * x**2 + 2, 4 * (x + y), 4 * q + 8 * y**2 + 2


class Saddle(Landscape2D):
    """The saddle ``f(x, y) = x^2 - y^2``.

    The origin is a stationary point (gradient 0) but not a minimum: f curves up along x and
    down along y (Hessian ``diag(2, -2)``). There is no minimum (f is unbounded below), so
    ``minima`` is empty and ``min_value`` is None; the saddle is in ``saddle_points``.
    Gradient descent started exactly on the x-axis converges to the saddle; any other start
    escapes along y.
    """

    name = "saddle"
    saddle_points = [_readonly([0.0, 0.0])]
    bounds = ((-2.0, 2.0), (-2.0, 2.0))

    def _f(self, x, y):
        return x**2 - y**2

    def _df(self, x, y):
        return 2 * x, -2 * y

    def _d2f(self, x, y):
        return 2.0, 0.0, -2.0


# ----------------------------------------------------------------------------------------------
# 1-D functions: elementwise, f' and f'' have the shape of x.
# ----------------------------------------------------------------------------------------------
class Parabola(Landscape):
    """``f(x) = a x^2``: minimum 0 at x = 0, curvature ``f'' = 2a``.

    Gradient descent ``x <- x - lr * 2a x`` multiplies x by ``1 - 2a lr`` each step: it
    converges iff ``0 < 2a lr < 2``, fastest at ``lr = 1/(2a)``, and oscillates when
    ``2a lr > 1``.

    Args:
      a: > 0.
    """

    name = "parabola"
    dim = 1
    bounds = (-2.0, 2.0)
    _repr_params = ("a",)

    def __init__(self, a=1.0):
        self.a = real("a", a, 0.0, low_open=True)
        self.minima = [_readonly(0.0)]
        self.min_value = 0.0

    def _value(self, x):
        return self.a * x**2

    def _grad(self, x):
        return 2 * self.a * x

    def _hessian(self, x):
        return np.full_like(x, 2 * self.a)


# Roots u of cos(u) = u sin(u) with 2 sin(u) + u cos(u) < 0 (local minima of u cos(u)) in
# [-3 pi, 3 pi], found with scipy.optimize.brentq. Local minima of x cos(c x) are at x = u / c.
_XCOS_MINIMA_U = (-6.437298179171947, -0.8603335890193797, 3.4256184594817283)


class XCos(Landscape):
    """``f(x) = x cos(c x)``: non-convex, with infinitely many local minima.

    ``f'(x) = cos(cx) - c x sin(cx)``, ``f''(x) = -2c sin(cx) - c^2 x cos(cx)``. There is no
    global minimum (the local minima get deeper without end as |x| grows), so ``minima`` is
    empty and ``min_value`` is None; the local minima inside ``bounds = (-3 pi/c, 3 pi/c)`` are
    in ``local_minima``. The default ``c = 0.15 pi`` is the example of Dive into Deep Learning,
    sec. 12.3, where gradient descent with a large lr jumps to a poor local minimum.

    Args:
      c: frequency, > 0.
    """

    name = "x cos(cx)"
    dim = 1
    _repr_params = ("c",)

    def __init__(self, c=0.15 * np.pi):
        self.c = real("c", c, 0.0, low_open=True)
        self.bounds = (-3 * np.pi / self.c, 3 * np.pi / self.c)
        self.local_minima = [_readonly(u / self.c) for u in _XCOS_MINIMA_U]

    def _value(self, x):
        return x * np.cos(self.c * x)

    def _grad(self, x):
        return np.cos(self.c * x) - self.c * x * np.sin(self.c * x)

    def _hessian(self, x):
        c = self.c
        return -2 * c * np.sin(c * x) - c**2 * x * np.cos(c * x)


class Cosh(Landscape):
    """``f(x) = cosh(x)``: convex, minimum 1 at x = 0, but not quadratic.

    ``f' = sinh``, ``f'' = cosh >= 1`` grows without bound, so no fixed lr is safe everywhere:
    gradient descent with lr < 2 converges near 0 (where ``f'' ~ 1``, like ``x^2 / 2``) yet can
    blow up from a far start, where the steps ``lr * sinh(x)`` grow exponentially.
    """

    name = "cosh"
    dim = 1
    minima = [_readonly(0.0)]
    min_value = 1.0
    bounds = (-3.0, 3.0)

    def _value(self, x):
        return np.cosh(x)

    def _grad(self, x):
        return np.sinh(x)

    def _hessian(self, x):
        return np.cosh(x)


class Bumpy(Landscape):
    """``f(x) = a x^2 + b (1 - cos(omega x))``: a parabola with small bumps on it.

    Global minimum 0 at x = 0. ``f'(x) = 2a x + b omega sin(omega x)``, ``f''(x) = 2a +
    b omega^2 cos(omega x)``. The ripples add local minima wherever their slope, at most
    ``b omega``, can cancel the parabola's, ``2a |x|``: only for ``|x| < b omega / (2a)`` and
    only if ``b omega^2 > 2a`` (otherwise f is convex). With the defaults, gradient descent
    started at x = 3.5 stops in the local minimum near x = 1.2, while momentum (``momentum =
    0.9``) rolls over the bumps to 0.

    Args:
      a: curvature of the parabola (f = a x^2 without bumps), > 0.
      b: height of the bumps, >= 0.
      omega: their angular frequency, > 0 (bumps 2 pi / omega apart).
    """

    name = "bumpy parabola"
    dim = 1
    bounds = (-4.0, 4.0)
    _repr_params = ("a", "b", "omega")

    def __init__(self, a=0.5, b=0.3, omega=4.0):
        self.a = real("a", a, 0.0, low_open=True)
        self.b = real("b", b, 0.0)
        self.omega = real("omega", omega, 0.0, low_open=True)
        self.minima = [_readonly(0.0)]
        self.min_value = 0.0

    def _value(self, x):
        return self.a * x**2 + self.b * (1.0 - np.cos(self.omega * x))

    def _grad(self, x):
        return 2 * self.a * x + self.b * self.omega * np.sin(self.omega * x)

    def _hessian(self, x):
        return 2 * self.a + self.b * self.omega**2 * np.cos(self.omega * x)
