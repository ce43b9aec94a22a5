"""Linear models and a multilayer perceptron with hand-written gradients, and the tools to
check such gradients.

    from course_lib.models import softmax_loss, numerical_gradient, gradient_check

    loss, dW = softmax_loss(W, X, y, reg=1e-3)
    result = gradient_check(lambda W: softmax_loss(W, X, y, reg=1e-3)[0], dW, W)
    print(result)                 # a table of sampled coordinates and a verdict

Conventions (cs231n's):

- ``X`` is ``(N, D)``: one example per row. There is no separate bias: if you want one, give X
  a column of ones (``add_bias(X)``) and the matching weight plays the role of the bias (it is
  then regularised like every other weight).
- Classifiers have weights ``W`` of shape ``(D, C)``, scores ``X @ W`` of shape ``(N, C)`` and
  integer labels ``y`` in ``0 .. C-1``.
- Every loss is a *mean* over the examples plus an L2 penalty ``reg * sum(W**2)`` (whose
  gradient is ``2 * reg * W``), and returns ``(loss, gradient)``; the gradient has the shape
  of the weights. No loops over examples: everything is matrix products.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Callable

import numpy as np

from course_lib._checks import check, integer, nonnegative, real

__all__ = [
    "add_bias",
    "linear_regression_loss",
    "linear_regression_landscape",
    "softmax",
    "softmax_loss",
    "cross_entropy_scores",
    "svm_loss",
    "predict",
    "accuracy",
    "numerical_gradient",
    "relative_error",
    "GradCheckResult",
    "gradient_check",
    "MLP",
]


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------
def _features(X, D: int) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    check(X.ndim == 2 and X.shape[1] == D, "X", X.shape, f"an (N, {D}) array")
    return X


def _labels(y, N: int, C: int) -> np.ndarray:
    y = np.asarray(y)
    ok = y.shape == (N,) and (N == 0 or y.dtype.kind in "iu") and bool(np.all((y >= 0) & (y < C)))
    check(ok, "y", y, f"{N} integer labels in 0..{C - 1}")
    return y


def _classifier_args(W, X, y):
    W = np.asarray(W, dtype=float)
    check(W.ndim == 2, "W", W.shape, "a (D, C) weight matrix")
    X = _features(X, W.shape[0])
    check(len(X) >= 1, "X", X.shape, "at least one example")
    return W, X, _labels(y, len(X), W.shape[1])


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------
def add_bias(X) -> np.ndarray:
    """Append a column of ones to ``X`` (N, D) -> (N, D + 1): the last weight is the bias."""
    X = np.asarray(X, dtype=float)
    check(X.ndim == 2, "X", X.shape, "an (N, D) array")
    return np.hstack([X, np.ones((len(X), 1))])


def linear_regression_loss(w, X, y, reg: float = 0.0):
    """Mean squared error of a linear model, with L2 penalty.

    ``loss = mean((X @ w - y)**2) + reg * sum(w**2)``,
    ``grad = 2/N * X.T @ (X @ w - y) + 2 * reg * w``.

    (The mean runs over every entry of the residual, so ``w`` may also be ``(D, K)`` with
    ``y`` of shape ``(N, K)`` for K outputs.)

    Args:
      w: ``(D,)`` weights (include a bias column in X via ``add_bias`` if you want one).
      X: ``(N, D)`` features.
      y: ``(N,)`` targets.
      reg: L2 strength, >= 0.

    Returns:
      ``(loss, grad)`` with ``grad`` of w's shape.
    """
    w = np.asarray(w, dtype=float)
    check(w.ndim in (1, 2), "w", w.shape, "a (D,) weight vector")
    X = _features(X, w.shape[0])
    y = np.asarray(y, dtype=float)
    check(
        y.shape == (len(X),) + w.shape[1:] and len(X) >= 1,
        "y",
        y.shape,
        f"{(len(X),) + w.shape[1:]}: one target per row of X",
    )
    reg = nonnegative("reg", reg)
    r = X @ w - y
    loss = np.mean(r**2) + reg * np.sum(w**2)
    grad = (2.0 / r.size) * (X.T @ r) + 2.0 * reg * w
    return float(loss), grad


def linear_regression_landscape(X, y, reg: float = 0.0):
    """The loss of ``linear_regression_loss`` as a function of w, as a ``Quadratic`` landscape.

    ``mean((X w - y)**2) + reg * |w|**2 = 1/2 w^T A w - b^T w + c`` with
    ``A = 2/N X^T X + 2 reg I``, ``b = 2/N X^T y``, ``c = mean(y**2)``. The landscape
    evaluates the loss on whole grids at once (contour plots) and knows its minimiser, the
    (ridge) least-squares solution. Every batch of data has its own landscape.

    Args:
      X: ``(N, D)`` features, D >= 2.
      y: ``(N,)`` targets.
      reg: L2 strength, >= 0.
    """
    from course_lib.landscapes import Quadratic

    X = np.asarray(X, dtype=float)
    check(X.ndim == 2 and len(X) >= 1, "X", X.shape, "an (N, D) matrix with N >= 1")
    y = np.asarray(y, dtype=float)
    check(y.shape == (len(X),), "y", y.shape, f"{(len(X),)}: one target per row of X")
    reg = nonnegative("reg", reg)
    n, d = X.shape
    return Quadratic(2 * X.T @ X / n + 2 * reg * np.eye(d), 2 * X.T @ y / n, float(y @ y / n))


def softmax(scores, axis: int = -1) -> np.ndarray:
    """``exp(s) / sum(exp(s))`` along ``axis``, computed stably (the max is subtracted first)."""
    s = np.asarray(scores, dtype=float)
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_loss(W, X, y, reg: float = 0.0):
    """Softmax (multinomial logistic) regression: mean cross-entropy plus L2 penalty.

    With scores ``S = X @ W`` and probabilities ``P = softmax(S)`` (row-wise),
    ``loss = -mean_i log P[i, y_i] + reg * sum(W**2)`` and
    ``dW = X.T @ (P - Y) / N + 2 * reg * W``, Y the one-hot labels. The log-probabilities are
    computed as ``s - max(s) - log(sum(exp(s - max(s))))``, so large scores never overflow.

    Args:
      W: ``(D, C)`` weights.
      X: ``(N, D)`` features.
      y: ``(N,)`` int labels in ``0 .. C-1``.
      reg: L2 strength, >= 0.

    Returns:
      ``(loss, dW)``.
    """
    W, X, y = _classifier_args(W, X, y)
    reg = nonnegative("reg", reg)
    loss, dS = cross_entropy_scores(X @ W, y)
    dW = X.T @ dS + 2.0 * reg * W
    return loss + reg * float(np.sum(W**2)), dW


def cross_entropy_scores(S: np.ndarray, y: np.ndarray):
    """Mean softmax cross-entropy of scores ``S`` (N, C) for labels ``y`` and its gradient.

    ``loss = -mean_i log softmax(S)[i, y_i]`` and ``dS = (softmax(S) - Y) / N``, Y the one-hot
    labels. The log-probabilities are ``s - max(s) - log(sum(exp(s - max(s))))``, so large
    scores never overflow. ``S`` is overwritten (it becomes ``dS``, in S's dtype): pass a copy
    if you still need it. The arguments are not checked (the callers do that).

    Returns:
      ``(loss, dS)``, loss a float.
    """
    N = len(S)
    rows = np.arange(N)
    S -= S.max(axis=1, keepdims=True)
    true_class = S[rows, y]  # fancy indexing copies
    np.exp(S, out=S)
    total = S.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(total[:, 0]) - true_class))
    S /= total * N
    S[rows, y] -= 1.0 / N
    return loss, S


def svm_loss(W, X, y, reg: float = 0.0, margin: float = 1.0):
    """Multiclass SVM (hinge) loss, as in cs231n (Weston & Watkins form).

    With scores ``s = X[i] @ W``:
    ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)`` and
    ``loss = mean_i L_i + reg * sum(W**2)``.

    Each violated margin (``s_j - s_{y_i} + margin > 0``) adds ``X[i]`` to column j of the
    gradient and subtracts it from column ``y_i``. At a kink (a margin exactly 0) the loss is
    not differentiable; this function then uses the one-sided derivative 0 (the term counts as
    inactive), which is a valid subgradient. A numerical gradient straddling a kink sees a
    mixture of both sides, so a gradient check may report a large error there even though
    the code is right.

    Args:
      W: ``(D, C)`` weights.
      X: ``(N, D)`` features.
      y: ``(N,)`` int labels in ``0 .. C-1``.
      reg: L2 strength, >= 0.
      margin: the required gap (delta), >= 0.

    Returns:
      ``(loss, dW)``.
    """
    W, X, y = _classifier_args(W, X, y)
    reg = nonnegative("reg", reg)
    margin = nonnegative("margin", margin)
    N = len(X)
    rows = np.arange(N)
    S = X @ W
    margins = S - S[rows, y][:, None] + margin
    margins[rows, y] = 0.0
    active = (margins > 0).astype(float)
    loss = np.maximum(margins, 0.0).sum() / N + reg * np.sum(W**2)
    active[rows, y] = -active.sum(axis=1)
    dW = X.T @ active / N + 2.0 * reg * W
    return float(loss), dW


def predict(W, X) -> np.ndarray:
    """Predicted class of each row of X: ``argmax(X @ W, axis=1)``, shape ``(N,)``."""
    W = np.asarray(W, dtype=float)
    check(W.ndim == 2, "W", W.shape, "a (D, C) weight matrix")
    return np.argmax(_features(X, W.shape[0]) @ W, axis=1)


def accuracy(W, X, y) -> float:
    """Fraction of rows of X whose predicted class equals y."""
    pred = predict(W, X)
    y = np.asarray(y)
    check(y.shape == pred.shape, "y", y.shape, f"{pred.shape}: one label per row of X")
    return float(np.mean(pred == y))


# --------------------------------------------------------------------------------------------
# Numerical gradients and gradient checking
# --------------------------------------------------------------------------------------------
_METHODS = ("centered", "forward")


def _scalar(value) -> float:
    """A loss: accepts ``loss`` or the ``(loss, grad)`` pairs the models return."""
    if isinstance(value, tuple):
        value = value[0]
    return float(value)


def _partial(
    f: Callable, x: np.ndarray, flat_index: int, h: float, method: str, fx: float | None
) -> float:
    """Difference quotient of f along one coordinate; x is perturbed and then restored."""
    flat = x.reshape(-1)  # a view: x is contiguous
    old = flat[flat_index]
    try:
        flat[flat_index] = old + h
        f_plus = _scalar(f(x))
        if method == "forward":
            return (f_plus - fx) / h
        flat[flat_index] = old - h
        f_minus = _scalar(f(x))
        return (f_plus - f_minus) / (2.0 * h)
    finally:
        flat[flat_index] = old


def _prepare(x, h, method):
    h = real("h", h, 0.0, low_open=True)
    check(method in _METHODS, "method", method, f"one of {_METHODS}")
    xc = np.array(x, dtype=np.float64)  # a float64 copy: the caller's x is never touched
    check(xc.size >= 1 and bool(np.all(np.isfinite(xc))), "x", x, "a non-empty finite array")
    return xc, h


def numerical_gradient(f: Callable, x, h: float = 1e-5, method: str = "centered") -> np.ndarray:
    """Finite-difference gradient of a scalar function, one coordinate at a time.

    ``"centered"``: ``(f(x + h e_i) - f(x - h e_i)) / (2h)``, error O(h^2) (2n evaluations).
    ``"forward"``:  ``(f(x + h e_i) - f(x)) / h``, error O(h) (n + 1 evaluations).
    Below some h, round-off in f dominates and the error grows again (about eps_machine / h),
    so h = 1e-5 in float64 is a good default for centred differences. The cost, O(n)
    evaluations of f for n parameters, makes this a tool for checking gradients, not for
    training.

    Args:
      f: function of an array of x's shape returning a number (or a ``(loss, grad)`` tuple,
        whose loss is used).
      x: the point, any shape; computations are in float64 on a copy, so x is never modified
        (f is called with the perturbed copy).
      h: step, > 0.
      method: ``"centered"`` or ``"forward"``.

    Returns:
      The gradient estimate, a float64 array of x's shape.
    """
    xc, h = _prepare(x, h, method)
    fx = _scalar(f(xc)) if method == "forward" else None
    grad = np.empty(xc.size)
    for i in range(xc.size):
        grad[i] = _partial(f, xc, i, h, method, fx)
    return grad.reshape(xc.shape)


def relative_error(a, n) -> np.ndarray:
    """``|a - n| / max(|a|, |n|)`` elementwise, and 0 where both are 0.

    Scale-free: 1e-7 means the two agree to about seven significant digits, whatever the size
    of the gradient. Returns a float for scalar inputs, else an array.
    """
    a, n = np.asarray(a, dtype=float), np.asarray(n, dtype=float)
    num = np.abs(a - n)
    den = np.maximum(np.abs(a), np.abs(n))
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return float(err) if err.ndim == 0 else err


# Rules of thumb for the largest relative error (cs231n "Gradient checks").
def _verdict(max_error: float) -> tuple[str, str]:
    if max_error <= 1e-7:
        return "fine", "the gradients agree"
    if max_error <= 1e-4:
        return "borderline", (
            "acceptable only if the loss has kinks (ReLU, hinge) near x; "
            "for a smooth loss this is too high"
        )
    if max_error < 1e-2:
        return "suspicious", "probably a bug, unless kinks explain it"
    return "wrong", "the analytic gradient is almost certainly wrong"  # also NaN


@dataclass(frozen=True, eq=False)
class GradCheckResult:
    """What ``gradient_check`` found.

    Attributes:
      coordinates: list of index tuples into x, the checked coordinates.
      analytic: ``(k,)`` the analytic gradient at those coordinates.
      numerical: ``(k,)`` the centred-difference estimate there.
      relative_errors: ``(k,)`` ``relative_error(analytic, numerical)``.
      max_error: the largest relative error.
      verdict: ``"fine"`` (max error <= 1e-7), ``"borderline"`` (<= 1e-4: fine only near
        kinks), ``"suspicious"`` (< 1e-2) or ``"wrong"`` (>= 1e-2).
      explanation: one sentence saying what the verdict means.
      absolute_errors: ``(k,)`` ``|analytic - numerical|``. A coordinate whose gradient is
        tiny (near the round-off level of the difference quotient, about
        ``eps_machine * |f| / h``) can have a large relative error although both values agree
        to many decimal places: look at this column before blaming the code.
    """

    coordinates: list
    analytic: np.ndarray
    numerical: np.ndarray
    relative_errors: np.ndarray
    max_error: float
    verdict: str
    explanation: str
    absolute_errors: np.ndarray

    @property
    def passed(self) -> bool:
        """True if the verdict is ``"fine"``."""
        return self.verdict == "fine"

    def __repr__(self) -> str:
        lines = [
            f"{'coordinate':>14} {'analytic':>13} {'numerical':>13} {'rel. error':>10} "
            f"{'abs. error':>10}"
        ]
        for c, a, n, e, d in zip(
            self.coordinates,
            self.analytic,
            self.numerical,
            self.relative_errors,
            self.absolute_errors,
            strict=True,
        ):
            lines.append(f"{c!s:>14} {a:>13.6g} {n:>13.6g} {e:>10.2e} {d:>10.2e}")
        lines.append(
            f"max relative error {self.max_error:.2e}: {self.verdict} ({self.explanation})"
        )
        return "\n".join(lines)


def gradient_check(
    f: Callable, analytic_grad, x, num_checks: int = 10, h: float = 1e-5, seed: int = 0
) -> GradCheckResult:
    """Compare an analytic gradient with centred differences at a random sample of coordinates.

    Checking every coordinate costs 2n evaluations of f; a random sample of ``num_checks``
    distinct coordinates catches most bugs at a fraction of the cost. The verdict applies
    the usual rules of thumb to the largest relative error: <= 1e-7 fine; up to 1e-4 only
    acceptable when the loss has kinks (ReLU, hinge: a difference quotient that straddles a
    kink compares two different one-sided slopes); around 1e-2 or more, wrong. Work in
    float64: in float32 round-off alone produces errors near 1e-4 or more. Relative errors
    are unreliable for coordinates whose gradient is tiny (see ``absolute_errors``).
    (``torch.autograd.gradcheck`` instead tests ``|a - n| <= atol + rtol * |n|`` with
    ``eps=1e-6, atol=1e-5, rtol=1e-3``.)

    Args:
      f: the loss, a function of an array of x's shape (a ``(loss, grad)`` tuple is accepted).
      analytic_grad: the analytic gradient at x (array of x's shape), or a function
        ``x -> gradient`` (a ``(loss, grad)`` tuple is accepted).
      x: the point; never modified.
      num_checks: number of distinct coordinates to check, an int >= 1 (capped at x.size).
      h: finite-difference step, > 0.
      seed: seed of the coordinate sample.

    Returns:
      A ``GradCheckResult``; printing it shows a table and the verdict.
    """
    xc, h = _prepare(x, h, "centered")
    num_checks = integer("num_checks", num_checks, 1)
    seed = integer("seed", seed)
    g = analytic_grad(xc.copy()) if callable(analytic_grad) else analytic_grad
    if isinstance(g, tuple):
        g = g[1]
    g = np.asarray(g, dtype=float)
    check(g.shape == xc.shape, "analytic_grad", g.shape, f"an array of x's shape {xc.shape}")
    rng = np.random.default_rng(seed)
    flat_idx = rng.choice(xc.size, size=min(num_checks, xc.size), replace=False)
    numerical = np.array([_partial(f, xc, int(i), h, "centered", None) for i in flat_idx])
    analytic = g.reshape(-1)[flat_idx]
    errors = np.atleast_1d(relative_error(analytic, numerical))
    max_error = float(errors.max())
    verdict, explanation = _verdict(max_error)
    coords = [tuple(int(c) for c in np.unravel_index(i, xc.shape)) for i in flat_idx]
    return GradCheckResult(
        coords,
        analytic,
        numerical,
        errors,
        max_error,
        verdict,
        explanation,
        np.abs(analytic - numerical),
    )


# --------------------------------------------------------------------------------------------
# A multilayer perceptron with hand-written backpropagation
# --------------------------------------------------------------------------------------------
_ACTIVATIONS = ("relu", "tanh")
_INITS = ("he", "xavier")
_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


class MLP:
    """A fully connected network for classification: affine layers, ReLU or tanh between them,
    softmax cross-entropy on top; gradients by hand-written backpropagation.

        mlp = MLP(sizes=(64, 128, 10), activation="relu", init="he", seed=0)
        params = mlp.init()                      # {"W1": (64, 128), "b1": (128,), "W2": ...}
        loss, grads = mlp.loss_and_grad(params, X, y, reg=1e-4)   # grads: the same keys
        labels = mlp.predict(params, X)          # (N,)

    With ``A_0 = X``, layer l computes ``Z_l = A_{l-1} @ W_l + b_l`` and ``A_l = f(Z_l)``
    (f is the activation, not applied after the last layer, whose ``Z_L`` are the class
    scores). The loss is the mean softmax cross-entropy of the scores plus the L2 penalty
    ``reg * sum_l sum(W_l**2)`` on the weights only (biases are not penalised), the same
    ``reg * sum(W**2)`` convention as ``softmax_loss``: its gradient is ``2 * reg * W_l``.
    (scikit-learn's ``MLPClassifier(alpha=a)`` adds ``0.5 * a * sum(W**2) / batch_size``
    instead, i.e. ``reg = a / (2 * batch_size)``.)

    Computations run in the parameters' dtype (float64 or float32, chosen in ``init``); X is
    cast to it, and the gradients have it. Parameters are never modified.

    Args:
      sizes: layer widths ``(inputs, hidden..., classes)``, ints >= 1, at least two entries
        (two entries: softmax regression with a bias).
      activation: ``"relu"`` (``max(0, z)``) or ``"tanh"``.
      init: ``"he"`` (weights ``N(0, 2 / fan_in)``, He et al. 2015, made for ReLU) or
        ``"xavier"`` (``U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``, Glorot & Bengio
        2010, made for tanh). Biases start at zero.
      seed: int >= 0, the seed of ``init``'s random weights.
    """

    def __init__(self, sizes=(64, 128, 10), activation: str = "relu", init: str = "he", seed=0):
        ok = isinstance(sizes, (list, tuple)) and len(sizes) >= 2
        ok = ok and all(
            isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in sizes
        )
        check(ok, "sizes", sizes, "a tuple of at least two layer widths, ints >= 1")
        check(activation in _ACTIVATIONS, "activation", activation, f"one of {_ACTIVATIONS}")
        check(init in _INITS, "init", init, f"one of {_INITS}")
        self.sizes = tuple(int(s) for s in sizes)
        self.activation = activation
        self.init_scheme = init
        self.seed = integer("seed", seed)
        self.n_layers = len(self.sizes) - 1
        self._keys = [(f"W{layer}", f"b{layer}") for layer in range(1, self.n_layers + 1)]

    def __repr__(self) -> str:
        return (
            f"MLP(sizes={self.sizes}, activation={self.activation!r}, "
            f"init={self.init_scheme!r}, seed={self.seed})"
        )

    @property
    def n_params(self) -> int:
        """The number of weights and biases."""
        return sum((a + 1) * b for a, b in zip(self.sizes, self.sizes[1:]))

    def init(self, dtype=np.float64) -> dict:
        """Fresh parameters ``{"W1", "b1", ..., "WL", "bL"}``, ``W_l`` of shape
        ``(sizes[l-1], sizes[l])``, drawn from ``seed`` (same seed, same parameters).

        Args:
          dtype: ``np.float64`` (default) or ``np.float32``.
        """
        check(np.dtype(dtype) in _FLOATS, "dtype", dtype, "np.float64 or np.float32")
        rng = np.random.default_rng(self.seed)
        params = {}
        for (kw, kb), fan_in, fan_out in zip(self._keys, self.sizes, self.sizes[1:]):
            if self.init_scheme == "he":
                W = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
            else:
                bound = np.sqrt(6.0 / (fan_in + fan_out))
                W = rng.uniform(-bound, bound, (fan_in, fan_out))
            params[kw], params[kb] = W.astype(dtype), np.zeros(fan_out, dtype=dtype)
        return params

    # -- checks ------------------------------------------------------------------------------
    def _check_params(self, params) -> np.dtype:
        expected = {k for pair in self._keys for k in pair}
        check(
            isinstance(params, dict) and set(params) == expected,
            "params",
            sorted(params) if isinstance(params, dict) else type(params).__name__,
            f"a dict with the keys {sorted(expected)} (from MLP.init)",
        )
        dtype = np.asarray(params["W1"]).dtype
        check(dtype in _FLOATS, "params['W1']", dtype, "float64 or float32")
        for (kw, kb), fan_in, fan_out in zip(self._keys, self.sizes, self.sizes[1:]):
            for key, shape in ((kw, (fan_in, fan_out)), (kb, (fan_out,))):
                value = params[key]
                if not (
                    isinstance(value, np.ndarray) and value.shape == shape and value.dtype == dtype
                ):
                    got = (np.shape(value), getattr(value, "dtype", type(value).__name__))
                    check(False, f"params[{key!r}]", got, f"an array of shape {shape}, {dtype}")
        return dtype

    def _check_X(self, X, dtype) -> np.ndarray:
        X = np.asarray(X)
        check(
            X.ndim == 2 and X.shape[0] >= 1 and X.shape[1] == self.sizes[0],
            "X",
            X.shape,
            f"an (N, {self.sizes[0]}) array with N >= 1",
        )
        check(X.dtype.kind in "fiu", "X", X.dtype, "an array of real numbers")
        return X.astype(dtype, copy=False)

    # -- the network -------------------------------------------------------------------------
    def _forward(self, params, X):
        """The activations ``[A_0 = X, A_1, ..., A_{L-1}]`` and the scores ``Z_L``."""
        acts = [X]
        A = X
        for layer, (kw, kb) in enumerate(self._keys, start=1):
            Z = A @ params[kw]
            Z += params[kb]
            if layer == self.n_layers:
                return acts, Z
            if self.activation == "relu":
                np.maximum(Z, 0, out=Z)
            else:
                np.tanh(Z, out=Z)
            acts.append(Z)
            A = Z

    def scores(self, params, X) -> np.ndarray:
        """The class scores (logits) ``Z_L``, shape ``(N, classes)``."""
        dtype = self._check_params(params)
        return self._forward(params, self._check_X(X, dtype))[1]

    def predict(self, params, X) -> np.ndarray:
        """The predicted class of each row of X (the largest score), shape ``(N,)``."""
        return np.argmax(self.scores(params, X), axis=1)

    def accuracy(self, params, X, y) -> float:
        """The fraction of rows of X whose predicted class equals y."""
        pred = self.predict(params, X)
        return float(np.mean(pred == _labels(y, len(pred), self.sizes[-1])))

    def loss_and_grad(self, params, X, y, reg: float = 0.0):
        """Mean softmax cross-entropy plus ``reg * sum(W**2)`` and its gradient.

        Backpropagation, from the top: ``dZ_L = (softmax(Z_L) - Y) / N``; for each layer
        ``dW_l = A_{l-1}.T @ dZ_l + 2 reg W_l``, ``db_l = sum over rows of dZ_l``,
        ``dA_{l-1} = dZ_l @ W_l.T`` and ``dZ_{l-1} = dA_{l-1} * f'(Z_{l-1})``, where
        ``f'(z) = 1[z > 0]`` for ReLU (0 at the kink) and ``1 - tanh(z)**2`` for tanh, both
        read off the stored activations.

        Args:
          params: the dict from ``init`` (float64 or float32 arrays of the right shapes).
          X: ``(N, sizes[0])`` inputs.
          y: ``(N,)`` int labels in ``0 .. sizes[-1] - 1``.
          reg: L2 strength on the weights (not the biases), >= 0.

        Returns:
          ``(loss, grads)``: a float and a dict with params' keys, shapes and dtype.
        """
        dtype = self._check_params(params)
        X = self._check_X(X, dtype)
        y = _labels(y, len(X), self.sizes[-1])
        reg = nonnegative("reg", reg)
        acts, Z = self._forward(params, X)
        loss, dZ = cross_entropy_scores(Z, y)
        grads = {}
        for layer in range(self.n_layers, 0, -1):
            kw, kb = self._keys[layer - 1]
            W, A = params[kw], acts[layer - 1]
            dW = A.T @ dZ
            if reg:
                dW += (2.0 * reg) * W
                loss += reg * float(np.vdot(W, W))
            grads[kw], grads[kb] = dW, dZ.sum(axis=0)
            if layer > 1:
                dZ = dZ @ W.T
                if self.activation == "relu":
                    dZ *= A > 0
                else:
                    dZ *= 1 - A * A
        return loss, {k: grads[k] for pair in self._keys for k in pair}
