"""Reference optimizers with exactly PyTorch's semantics, in plain NumPy.

Every optimizer is a small object holding its hyperparameters and two pure methods::

    opt = Adam(lr=1e-3)
    state = opt.init(params)                       # moments, step count, ... (all zeros)
    params, state = opt.step(params, grads, state) # one update; inputs are never modified

``params`` is a NumPy array of any shape (or a Python float), or a dict / list / tuple of such
arrays (nested freely) for models with several weight matrices; ``grads`` has the same structure
and shapes, and so does every array in the state. float16/32/64 are kept; integer parameters
are promoted to float64. ``step(..., lr=0.01)`` overrides the learning rate for that one step:
this is how a schedule drives an optimizer (``course_lib.train.run`` does it for you).

The states are NamedTuples whose fields carry PyTorch's names (``momentum_buffer``,
``exp_avg``, ``exp_avg_sq``, ...), so ``print(state)`` shows what the algorithm remembers.

Reference optimizers (keyword arguments and defaults as in ``torch.optim``; the update equals
``torch.optim`` to rounding, checked against values generated with PyTorch):
``SGD``, ``Adagrad``, ``RMSprop``, ``Adadelta``, ``Adam``, ``AdamW``.

Teaching variants, written the way lecture notes write them:
``LectureMomentum`` (``v = mu*v - lr*g; w += v``), ``LookaheadNesterov`` (gradient taken at the
look-ahead point ``w + mu*v``; see ``gradient_point``), ``AdamNoBiasCorrection`` and
``RMSpropEpsInside`` (eps inside the square root, as Keras places it).

``opt.effective_lr(before, after)`` gives the per-coordinate learning rate of the step between
two states (for Adagrad ``lr / (sqrt(sum) + eps)``, ...): what an adaptive method does to each
parameter's step size, ready to plot (``course_lib.train.run(..., keep_states=True)`` keeps
every state of a run).

Invalid hyperparameters raise ``ValueError`` naming the parameter and its allowed range.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from course_lib._checks import flag as _flag
from course_lib._checks import integer as _integer
from course_lib._checks import nonnegative as _nonnegative
from course_lib._checks import unit_interval as _in_unit_interval

__all__ = [
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adadelta",
    "Adam",
    "AdamW",
    "LectureMomentum",
    "LookaheadNesterov",
    "convex_momentum",
    "AdamNoBiasCorrection",
    "RMSpropEpsInside",
    "SGDState",
    "AdagradState",
    "RMSpropState",
    "AdadeltaState",
    "AdamState",
    "VelocityState",
]


# --------------------------------------------------------------------------------------------
# Validation: every hyperparameter is checked up front, with a message naming it.
# --------------------------------------------------------------------------------------------
def _betas(value: Any) -> tuple[float, float]:
    try:
        beta1, beta2 = value
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {value!r}") from None
    return _in_unit_interval("betas[0]", beta1), _in_unit_interval("betas[1]", beta2)


# --------------------------------------------------------------------------------------------
# Parameter trees: an array, or dicts / lists / tuples of arrays.
# --------------------------------------------------------------------------------------------
def _flatten(tree: Any, name: str) -> tuple[list, Any]:
    """Leaves in a fixed order and a 'treedef' that rebuilds the same structure."""
    if isinstance(tree, dict):
        keys = sorted(tree)
        leaves, defs = [], []
        for k in keys:
            sub_leaves, sub_def = _flatten(tree[k], f"{name}[{k!r}]")
            leaves += sub_leaves
            defs.append((k, sub_def, len(sub_leaves)))
        return leaves, ("dict", defs)
    if isinstance(tree, (list, tuple)):
        leaves, defs = [], []
        for i, item in enumerate(tree):
            sub_leaves, sub_def = _flatten(item, f"{name}[{i}]")
            leaves += sub_leaves
            defs.append((i, sub_def, len(sub_leaves)))
        return leaves, (type(tree).__name__, defs)
    return [tree], None


def _unflatten(treedef: Any, leaves: list) -> Any:
    if treedef is None:
        return leaves[0]
    kind, defs = treedef
    out, pos = [], 0
    for key, sub_def, n in defs:
        out.append((key, _unflatten(sub_def, leaves[pos : pos + n])))
        pos += n
    if kind == "dict":
        return dict(out)
    items = [value for _, value in out]
    return tuple(items) if kind == "tuple" else items


def _as_param(p: Any, name: str) -> np.ndarray:
    arr = np.asarray(p)
    if arr.dtype.kind in "biu":  # bool / int: promote, as a float copy
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise ValueError(f"{name} must be real floating-point numbers, got dtype {arr.dtype}")
    return arr


def _as_grad(g: Any, p: np.ndarray, name: str) -> np.ndarray:
    g = np.asarray(g)
    if g.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be real numbers, got dtype {g.dtype}")
    if g.shape != p.shape:
        raise ValueError(
            f"{name} has shape {g.shape} but the parameters have shape {p.shape}: "
            "grads must have exactly the shape of params"
        )
    return g.astype(p.dtype, copy=False)


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """``start + weight * (end - start)``, rounded the way ``torch.lerp`` rounds it.

    Mathematically this is the exponential moving average ``(1-weight)*start + weight*end``.
    """
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


# --------------------------------------------------------------------------------------------
# The base class: hyperparameters, trees, purity. Subclasses write the per-array update.
# --------------------------------------------------------------------------------------------
class Optimizer:
    """Base class. A subclass sets ``State`` (a NamedTuple whose first field is ``step``) and
    writes ``_init_leaf(p) -> dict`` and ``_update_leaf(p, g, leaf, t, lr) -> (p, leaf)`` for
    one array, where ``leaf`` maps the state's other field names to arrays (or None) and ``t``
    is the number of this step (1 on the first call).
    """

    State: type = NamedTuple
    lr: float

    def init(self, params: Any) -> Any:
        """Return the initial state for ``params`` (step count 0, buffers of params' shapes)."""
        leaves, treedef = _flatten(params, "params")
        leaves = [_as_param(p, "params") for p in leaves]
        per_leaf = [self._init_leaf(p) for p in leaves]
        return self._pack(0, per_leaf, treedef)

    def step(self, params: Any, grads: Any, state: Any, *, lr: float | None = None):
        """Apply one update. Returns ``(new_params, new_state)``; the inputs are not modified.

        Args:
          params: array (or dict/list/tuple of arrays) of parameters.
          grads: gradients of the loss at ``gradient_point(params, state)``, same structure.
          state: the state from ``init`` or from the previous ``step``.
          lr: optional learning rate for this step only (a schedule's value); default self.lr.
        """
        lr = self.lr if lr is None else _nonnegative("lr", lr)
        p_leaves, treedef = _flatten(params, "params")
        g_leaves, g_treedef = _flatten(grads, "grads")
        if g_treedef != treedef:
            raise ValueError("grads must have the same structure (keys, lengths) as params")
        if not isinstance(state, self.State):
            raise ValueError(
                f"state must be the {self.State.__name__} returned by "
                f"{type(self).__name__}.init or .step, got {type(state).__name__}"
            )
        t = state.step + 1
        new_p, new_leaf = [], []
        for _i, (p, g, leaf) in enumerate(
            zip(p_leaves, g_leaves, self._unpack(state, len(p_leaves)))
        ):
            p = _as_param(p, "params")
            g = _as_grad(g, p, "grads")
            for key, value in leaf.items():
                if value is not None and np.shape(value) != p.shape:
                    raise ValueError(
                        f"state.{key} has shape {np.shape(value)} but params have shape "
                        f"{p.shape}: was the state made by init() for these params?"
                    )
            p, leaf = self._update_leaf(p, g, leaf, t, lr)
            new_p.append(p)
            new_leaf.append(leaf)
        return _unflatten(treedef, new_p), self._pack(t, new_leaf, treedef)

    def gradient_point(self, params: Any, state: Any) -> Any:
        """Where the caller should evaluate the gradient for the next step: ``params`` itself
        for every optimizer except the look-ahead teaching form of Nesterov's method."""
        return params

    def effective_lr(self, before: Any, after: Any, *, lr: float | None = None) -> Any:
        """The per-coordinate learning rate of the step that turned state ``before`` into
        ``after``: the factor that multiplied the step's direction in each coordinate.

        The direction is the gradient for SGD without momentum, Adagrad, RMSprop and
        Adadelta (there the step is ``-effective_lr * g``); the momentum buffer or velocity
        for SGD with momentum and ``LectureMomentum`` (the factor is ``lr``); the
        bias-corrected first moment ``m_t / (1 - beta1**t)`` for Adam and AdamW (the factor is
        ``lr / (sqrt(v_t / (1 - beta2**t)) + eps)``), and ``m_t`` itself for
        ``AdamNoBiasCorrection``. (RMSprop with momentum: the factor that multiplies the
        gradient before it enters the buffer.)

        Args:
          before, after: the states before and after one ``step`` (``after.step`` must be
            ``before.step + 1``).
          lr: the learning rate that step used, if a schedule overrode it (default self.lr).

        Returns:
          Arrays in the structure of the parameters; a float (``lr``) for an optimizer that
          keeps no per-coordinate state (SGD without momentum).
        """
        lr = self.lr if lr is None else _nonnegative("lr", lr)
        for name, state in (("before", before), ("after", after)):
            if not isinstance(state, self.State):
                raise ValueError(
                    f"{name} must be a {self.State.__name__} of {type(self).__name__}, "
                    f"got {type(state).__name__}"
                )
        if after.step != before.step + 1:
            raise ValueError(
                f"after must be the state one step after before, got steps {before.step} "
                f"and {after.step}"
            )
        arrays = [getattr(after, f) for f in self.State._fields[1:]]
        arrays = [a for a in arrays if a is not None]
        if not arrays:
            return lr
        leaves, treedef = _flatten(arrays[0], "after")
        pairs = zip(self._unpack(before, len(leaves)), self._unpack(after, len(leaves)))
        rates = [self._effective_leaf(b, a, after.step, lr) for b, a in pairs]
        return _unflatten(treedef, [np.broadcast_to(r, np.shape(p)) for r, p in zip(rates, leaves)])

    def _effective_leaf(self, before: dict, after: dict, t: int, lr: float):
        """The factor of one array's step (see ``effective_lr``); default: ``lr``."""
        return lr

    # -- helpers -------------------------------------------------------------------------
    def _pack(self, t: int, per_leaf: list[dict], treedef: Any) -> Any:
        fields = {}
        for name in self.State._fields[1:]:
            values = [leaf[name] for leaf in per_leaf]
            fields[name] = None if values[0] is None else _unflatten(treedef, values)
        return self.State(t, **fields)

    def _unpack(self, state: Any, n: int) -> list[dict]:
        columns = {}
        for name in self.State._fields[1:]:
            value = getattr(state, name)
            columns[name] = [None] * n if value is None else _flatten(value, f"state.{name}")[0]
            if len(columns[name]) != n:
                raise ValueError(f"state.{name} does not match the structure of params")
        return [{name: columns[name][i] for name in columns} for i in range(n)]

    def _hyperparameters(self) -> dict:
        return dict(vars(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._hyperparameters().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: Any) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self), tuple(vars(self).items())))


def _array_step(optimizer: Any, params: Any, state: Any):
    """``optimizer.step``, or an equal but cheaper form of it for a loop that steps one
    float64 array again and again (``course_lib.train.run``).

    ``step`` flattens the parameter tree and checks every structure and shape on each call,
    which costs far more than the update itself when the array has a few entries. When
    ``params`` is a single float64 array and ``state`` was made for it, those checks are done
    here once, and the returned function calls the optimizer's own ``_update_leaf`` (the
    arithmetic of ``step``, so the results are the same to the last bit) and builds the same
    state. Optimizers that are not an ``Optimizer`` or that override ``step`` get their own
    ``step``.
    """
    if not (
        isinstance(optimizer, Optimizer)
        and type(optimizer).step is Optimizer.step
        and isinstance(params, np.ndarray)
        and params.dtype == np.float64
        and isinstance(state, optimizer.State)
    ):
        return optimizer.step
    fields = optimizer.State._fields[1:]
    buffers = [getattr(state, f) for f in fields]
    if not all(b is None or np.shape(b) == params.shape for b in buffers):
        return optimizer.step
    State, update = optimizer.State, optimizer._update_leaf

    def step(params, grads, state, *, lr=None):
        lr = optimizer.lr if lr is None else _nonnegative("lr", lr)
        t = state.step + 1
        leaf = {f: getattr(state, f) for f in fields}
        p, leaf = update(params, _as_grad(grads, np.asarray(params), "grads"), leaf, t, lr)
        return p, State(t, **leaf)

    return step


def _zeros(p: np.ndarray) -> np.ndarray:
    return np.zeros_like(p)


def _weight_decay(g: np.ndarray, p: np.ndarray, weight_decay: float, maximize: bool) -> np.ndarray:
    """The gradient PyTorch actually uses: negated if maximizing, plus the L2 term."""
    g = -g if maximize else g
    return g + weight_decay * p if weight_decay != 0 else g


# --------------------------------------------------------------------------------------------
# Reference optimizers (torch.optim semantics)
# --------------------------------------------------------------------------------------------
class SGDState(NamedTuple):
    step: int
    momentum_buffer: Any  # None when momentum == 0


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional (Nesterov) momentum: ``torch.optim.SGD``.

    With ``g_t`` the gradient (plus ``weight_decay * w``)::

        b_1 = g_1                                    (first step: the buffer is the gradient)
        b_t = momentum * b_{t-1} + (1 - dampening) * g_t
        d_t = g_t + momentum * b_t   if nesterov   else   b_t     (d_t = g_t if momentum == 0)
        w_t = w_{t-1} - lr * d_t

    Momentum: Polyak (1964), "Some methods of speeding up the convergence of iteration
    methods". Nesterov's form as in Sutskever, Martens, Dahl & Hinton (2013), "On the
    importance of initialization and momentum in deep learning" (ICML).

    Args:
      lr: learning rate, >= 0 (PyTorch's default 1e-3).
      momentum: momentum factor, >= 0.
      dampening: in [0, 1]; scales the new gradient in the buffer (not on the first step).
      weight_decay: L2 penalty, >= 0 (added to the gradient).
      nesterov: Nesterov momentum; needs momentum > 0 and dampening == 0.
      maximize: ascend instead of descend.
    """

    State = SGDState

    def __init__(
        self,
        lr=1e-3,
        momentum=0.0,
        dampening=0.0,
        weight_decay=0.0,
        nesterov=False,
        *,
        maximize=False,
    ):
        self.lr = _nonnegative("lr", lr)
        self.momentum = _nonnegative("momentum", momentum)
        self.dampening = _in_unit_interval("dampening", dampening, closed=True)
        self.weight_decay = _nonnegative("weight_decay", weight_decay)
        self.nesterov = _flag("nesterov", nesterov)
        self.maximize = _flag("maximize", maximize)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                "nesterov=True requires momentum > 0 and dampening == 0, got "
                f"momentum={self.momentum!r}, dampening={self.dampening!r}"
            )

    def _init_leaf(self, p):
        return {"momentum_buffer": _zeros(p) if self.momentum != 0 else None}

    def _update_leaf(self, p, g, leaf, t, lr):
        g = _weight_decay(g, p, self.weight_decay, self.maximize)
        buf = leaf["momentum_buffer"]
        if self.momentum != 0:
            if t == 1:
                buf = g.copy()
            else:
                buf = buf * self.momentum + (1 - self.dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        return p - lr * g, {"momentum_buffer": buf}


class AdagradState(NamedTuple):
    step: int
    sum: Any  # running sum of squared gradients


class Adagrad(Optimizer):
    r"""Adagrad: per-coordinate step sizes from the history of squared gradients
    (``torch.optim.Adagrad``).

    ::

        lr_t  = lr / (1 + (t - 1) * lr_decay)
        s_t   = s_{t-1} + g_t**2                     (s_0 = initial_accumulator_value)
        w_t   = w_{t-1} - lr_t * g_t / (sqrt(s_t) + eps)

    The sum only grows, so every coordinate's effective step only shrinks.
    Duchi, Hazan & Singer (2011), "Adaptive subgradient methods for online learning and
    stochastic optimization", JMLR 12.

    Args:
      lr: learning rate, >= 0 (default 1e-2).
      lr_decay: >= 0.
      weight_decay: L2 penalty, >= 0.
      initial_accumulator_value: starting value of the sum, >= 0.
      eps: added to the denominator, >= 0 (default 1e-10).
      maximize: ascend instead of descend.
    """

    State = AdagradState

    def __init__(
        self,
        lr=1e-2,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=1e-10,
        *,
        maximize=False,
    ):
        self.lr = _nonnegative("lr", lr)
        self.lr_decay = _nonnegative("lr_decay", lr_decay)
        self.weight_decay = _nonnegative("weight_decay", weight_decay)
        self.initial_accumulator_value = _nonnegative(
            "initial_accumulator_value", initial_accumulator_value
        )
        self.eps = _nonnegative("eps", eps)
        self.maximize = _flag("maximize", maximize)

    def _init_leaf(self, p):
        return {"sum": np.full_like(p, self.initial_accumulator_value)}

    def _update_leaf(self, p, g, leaf, t, lr):
        g = _weight_decay(g, p, self.weight_decay, self.maximize)
        clr = lr / (1 + (t - 1) * self.lr_decay)
        s = leaf["sum"] + g * g
        std = np.sqrt(s) + self.eps
        return p - clr * g / std, {"sum": s}

    def _effective_leaf(self, before, after, t, lr):
        return lr / (1 + (t - 1) * self.lr_decay) / (np.sqrt(after["sum"]) + self.eps)


class RMSpropState(NamedTuple):
    step: int
    square_avg: Any  # running average of g**2
    grad_avg: Any  # running average of g (centered=True only, else None)
    momentum_buffer: Any  # (momentum > 0 only, else None)


class RMSprop(Optimizer):
    r"""RMSProp: divide the gradient by a running RMS of recent gradients
    (``torch.optim.RMSprop``).

    ::

        v_t = alpha * v_{t-1} + (1 - alpha) * g_t**2
        centered:  m_t = alpha * m_{t-1} + (1 - alpha) * g_t;   v~_t = v_t - m_t**2
        a_t = sqrt(v~_t) + eps                       (v~_t = v_t when not centered)
        momentum > 0:  b_t = momentum * b_{t-1} + g_t / a_t;  w_t = w_{t-1} - lr * b_t
        otherwise:     w_t = w_{t-1} - lr * g_t / a_t

    Tieleman & Hinton (2012), Coursera "Neural Networks for Machine Learning", lecture 6.5;
    the centered form is from Graves (2013), "Generating sequences with recurrent neural
    networks", arXiv:1308.0850. Note that eps is added outside the square root.

    Args:
      lr: learning rate, >= 0 (default 1e-2).
      alpha: smoothing constant, in [0, 1) (default 0.99).
      eps: >= 0 (default 1e-8).
      weight_decay: L2 penalty, >= 0.
      momentum: >= 0.
      centered: normalise by an estimate of the gradient's variance instead of its second moment.
      maximize: ascend instead of descend.
    """

    State = RMSpropState

    def __init__(
        self,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
        *,
        maximize=False,
    ):
        self.lr = _nonnegative("lr", lr)
        self.alpha = _in_unit_interval("alpha", alpha)
        self.eps = _nonnegative("eps", eps)
        self.weight_decay = _nonnegative("weight_decay", weight_decay)
        self.momentum = _nonnegative("momentum", momentum)
        self.centered = _flag("centered", centered)
        self.maximize = _flag("maximize", maximize)

    def _init_leaf(self, p):
        return {
            "square_avg": _zeros(p),
            "grad_avg": _zeros(p) if self.centered else None,
            "momentum_buffer": _zeros(p) if self.momentum > 0 else None,
        }

    def _update_leaf(self, p, g, leaf, t, lr):
        g = _weight_decay(g, p, self.weight_decay, self.maximize)
        alpha = self.alpha
        square_avg = leaf["square_avg"] * alpha + (1 - alpha) * g * g
        grad_avg = leaf["grad_avg"]
        if self.centered:
            grad_avg = _lerp(grad_avg, g, 1 - alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + self.eps
        else:
            avg = np.sqrt(square_avg) + self.eps
        buf = leaf["momentum_buffer"]
        if self.momentum > 0:
            buf = buf * self.momentum + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
        return p, {"square_avg": square_avg, "grad_avg": grad_avg, "momentum_buffer": buf}

    def _effective_leaf(self, before, after, t, lr):
        second = after["square_avg"]
        if self.centered:
            second = second - after["grad_avg"] ** 2
        return lr / (np.sqrt(second) + self.eps)


class AdadeltaState(NamedTuple):
    step: int
    square_avg: Any  # running average of g**2
    acc_delta: Any  # running average of squared updates


class Adadelta(Optimizer):
    r"""Adadelta: RMSProp whose step size is the RMS of recent updates, so the units match and
    no global learning rate is needed (``torch.optim.Adadelta``; ``lr`` only scales the update
    and defaults to 1).

    ::

        v_t     = rho * v_{t-1} + (1 - rho) * g_t**2
        d_t     = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g_t
        u_t     = rho * u_{t-1} + (1 - rho) * d_t**2
        w_t     = w_{t-1} - lr * d_t

    Zeiler (2012), "ADADELTA: an adaptive learning rate method", arXiv:1212.5701.

    Args:
      lr: scale of the update, >= 0 (default 1.0).
      rho: decay of both running averages, in [0, 1) (default 0.9).
      eps: inside both square roots, >= 0 (default 1e-6).
      weight_decay: L2 penalty, >= 0.
      maximize: ascend instead of descend.
    """

    State = AdadeltaState

    def __init__(self, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False):
        self.lr = _nonnegative("lr", lr)
        self.rho = _in_unit_interval("rho", rho)
        self.eps = _nonnegative("eps", eps)
        self.weight_decay = _nonnegative("weight_decay", weight_decay)
        self.maximize = _flag("maximize", maximize)

    def _init_leaf(self, p):
        return {"square_avg": _zeros(p), "acc_delta": _zeros(p)}

    def _update_leaf(self, p, g, leaf, t, lr):
        g = _weight_decay(g, p, self.weight_decay, self.maximize)
        rho, eps = self.rho, self.eps
        square_avg = leaf["square_avg"] * rho + (1 - rho) * g * g
        delta = np.sqrt(leaf["acc_delta"] + eps) / np.sqrt(square_avg + eps) * g
        acc_delta = leaf["acc_delta"] * rho + (1 - rho) * delta * delta
        return p - lr * delta, {"square_avg": square_avg, "acc_delta": acc_delta}

    def _effective_leaf(self, before, after, t, lr):
        eps = self.eps
        return lr * np.sqrt(before["acc_delta"] + eps) / np.sqrt(after["square_avg"] + eps)


class AdamState(NamedTuple):
    step: int
    exp_avg: Any  # first moment m (running average of g)
    exp_avg_sq: Any  # second moment v (running average of g**2)
    max_exp_avg_sq: Any  # running maximum of v (amsgrad=True only, else None)


class Adam(Optimizer):
    r"""Adam: momentum on the gradient, RMSProp on its scale, both bias-corrected
    (``torch.optim.Adam``).

    ::

        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t**2
        amsgrad:  v_t <- max(v_max_{t-1}, v_t)       (Reddi, Kale & Kumar 2018)
        w_t = w_{t-1} - lr / (1 - beta1**t) * m_t / (sqrt(v_t) / sqrt(1 - beta2**t) + eps)

    The two factors ``1 - beta**t`` undo the bias towards zero of averages started at zero.
    Kingma & Ba (2015), "Adam: a method for stochastic optimization", ICLR; arXiv:1412.6980.
    ``weight_decay`` adds ``weight_decay * w`` to the gradient (L2, coupled); for decoupled
    decay use ``AdamW``.

    Args:
      lr: learning rate, >= 0 (default 1e-3).
      betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
      eps: >= 0, added outside the square root (default 1e-8).
      weight_decay: >= 0.
      amsgrad: use the running maximum of the second moment.
      maximize: ascend instead of descend.
    """

    State = AdamState
    _decoupled = False

    def __init__(
        self,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        amsgrad=False,
        *,
        maximize=False,
    ):
        self.lr = _nonnegative("lr", lr)
        self.betas = _betas(betas)
        self.eps = _nonnegative("eps", eps)
        self.weight_decay = _nonnegative("weight_decay", weight_decay)
        self.amsgrad = _flag("amsgrad", amsgrad)
        self.maximize = _flag("maximize", maximize)

    def _init_leaf(self, p):
        return {
            "exp_avg": _zeros(p),
            "exp_avg_sq": _zeros(p),
            "max_exp_avg_sq": _zeros(p) if self.amsgrad else None,
        }

    def _update_leaf(self, p, g, leaf, t, lr):
        beta1, beta2 = self.betas
        g = -g if self.maximize else g
        if self.weight_decay != 0:
            if self._decoupled:
                p = p * (1 - lr * self.weight_decay)
            else:
                g = g + self.weight_decay * p
        exp_avg = _lerp(leaf["exp_avg"], g, 1 - beta1)
        exp_avg_sq = leaf["exp_avg_sq"] * beta2 + (1 - beta2) * g * g
        max_exp_avg_sq = leaf["max_exp_avg_sq"]
        second = exp_avg_sq
        if self.amsgrad:
            max_exp_avg_sq = np.maximum(max_exp_avg_sq, exp_avg_sq)
            second = max_exp_avg_sq
        step_size = lr / (1 - beta1**t)
        denom = np.sqrt(second) / (1 - beta2**t) ** 0.5 + self.eps
        p = p - step_size * exp_avg / denom
        return p, {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq, "max_exp_avg_sq": max_exp_avg_sq}

    def _effective_leaf(self, before, after, t, lr):
        second = after["max_exp_avg_sq"] if self.amsgrad else after["exp_avg_sq"]
        return lr / (np.sqrt(second) / (1 - self.betas[1] ** t) ** 0.5 + self.eps)


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay (``torch.optim.AdamW``).

    The weights shrink directly, ``w <- w * (1 - lr * weight_decay)``, before the Adam step;
    the decay never enters the moments, so it is not rescaled by ``1/sqrt(v)`` as an L2 term
    in the gradient would be. Loshchilov & Hutter (2019), "Decoupled weight decay
    regularization", ICLR; arXiv:1711.05101.

    Args: as ``Adam``, but ``weight_decay`` defaults to 1e-2.
    """

    _decoupled = True

    def __init__(
        self,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        amsgrad=False,
        *,
        maximize=False,
    ):
        super().__init__(lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


# --------------------------------------------------------------------------------------------
# Teaching variants
# --------------------------------------------------------------------------------------------
class VelocityState(NamedTuple):
    step: int
    velocity: Any


class LectureMomentum(Optimizer):
    r"""Momentum as lecture notes write it (cs231n, Sutskever et al. 2013)::

        v_t = momentum * v_{t-1} - lr * g_t          (v_0 = 0)
        w_t = w_{t-1} + v_t

    For a constant lr this produces exactly the iterates of ``SGD(lr, momentum)``, whose
    buffer is ``b = -v / lr``. They differ once lr changes: here a new lr only scales new
    gradients, while PyTorch's form rescales the whole accumulated velocity at once.

    Args: lr >= 0, momentum >= 0 (default 0.9).
    """

    State = VelocityState

    def __init__(self, lr=1e-2, momentum=0.9):
        self.lr = _nonnegative("lr", lr)
        self.momentum = _nonnegative("momentum", momentum)

    def _init_leaf(self, p):
        return {"velocity": _zeros(p)}

    def _update_leaf(self, p, g, leaf, t, lr):
        v = self.momentum * leaf["velocity"] - lr * g
        return p + v, {"velocity": v}


class LookaheadNesterov(LectureMomentum):
    r"""Nesterov's accelerated gradient in its look-ahead form (Nesterov 1983; Sutskever et al.
    2013)::

        v_t = momentum * v_{t-1} - lr * grad f(w_{t-1} + momentum * v_{t-1})
        w_t = w_{t-1} + v_t

    The gradient is taken at the look-ahead point, so ``step`` expects ``grads`` evaluated at
    ``gradient_point(params, state)`` = ``w + momentum * v`` (``course_lib.train.run`` does
    this). ``SGD(nesterov=True)`` runs the same method after the change of variables
    ``x = w + momentum * v``: its parameters are this class's look-ahead points.

    ``momentum`` may also be a schedule: a function of the number of steps already taken,
    ``t = 0, 1, 2, ...``, returning the momentum of the next step, such as
    ``convex_momentum`` (``(t - 1) / (t + 2)``), the schedule of Nesterov's O(1/t^2) guarantee on
    convex functions.

    Args: lr >= 0, momentum >= 0 or a function ``t -> momentum >= 0`` (default 0.9).
    """

    def __init__(self, lr=1e-2, momentum=0.9):
        if callable(momentum):
            self.lr = _nonnegative("lr", lr)
            self.momentum = momentum
        else:
            super().__init__(lr, momentum)

    def momentum_at(self, t: int) -> float:
        """The momentum of the step taken after ``t`` steps (t = 0 for the first step)."""
        if not callable(self.momentum):
            return self.momentum
        return _nonnegative(f"momentum({t})", self.momentum(t))

    def gradient_point(self, params, state):
        beta = self.momentum_at(state.step)
        leaves, treedef = _flatten(params, "params")
        velocity, _ = _flatten(state.velocity, "state.velocity")
        return _unflatten(treedef, [np.asarray(p) + beta * v for p, v in zip(leaves, velocity)])

    def _update_leaf(self, p, g, leaf, t, lr):
        v = self.momentum_at(t - 1) * leaf["velocity"] - lr * g
        return p + v, {"velocity": v}


def convex_momentum(t: int) -> float:
    """Nesterov's momentum schedule for convex functions: ``(t - 1) / (t + 2)`` for the step
    taken after ``t >= 1`` steps (0, 1/4, 2/5, 1/2, ...), and 0 for the first step, where the
    velocity is still 0 anyway.

    With ``LookaheadNesterov(lr=1 / L, momentum=convex_momentum)`` on a convex function whose
    gradient is L-Lipschitz, ``f(w_k) - f* <= 2 L |w_0 - w*|^2 / (k + 1)^2`` (Su, Boyd &
    Candes 2016, "A differential equation for modeling Nesterov's accelerated gradient
    method", JMLR 17; after Nesterov 1983): the O(1/k^2) rate, against gradient descent's
    ``L |w_0 - w*|^2 / (2 k)``.

    Args:
      t: the number of steps already taken, an int >= 0.
    """
    t = _integer("t", t, 0)
    return max(t - 1.0, 0.0) / (t + 2.0)


class AdamNoBiasCorrection(Adam):
    r"""Adam without bias correction, to show why the correction exists::

        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t**2
        w_t = w_{t-1} - lr * m_t / (sqrt(v_t) + eps)

    With the defaults the first step is ``lr * (1 - beta1) / sqrt(1 - beta2)``, about 3.16 lr
    per coordinate, instead of Adam's lr.

    Args: lr, betas, eps as ``Adam`` (no weight decay, no amsgrad).
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(lr, betas, eps)

    def _hyperparameters(self):
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps}

    def _update_leaf(self, p, g, leaf, t, lr):
        beta1, beta2 = self.betas
        exp_avg = beta1 * leaf["exp_avg"] + (1 - beta1) * g
        exp_avg_sq = beta2 * leaf["exp_avg_sq"] + (1 - beta2) * g * g
        p = p - lr * exp_avg / (np.sqrt(exp_avg_sq) + self.eps)
        return p, {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq, "max_exp_avg_sq": None}

    def _effective_leaf(self, before, after, t, lr):
        return lr / (np.sqrt(after["exp_avg_sq"]) + self.eps)


class RMSpropEpsInside(RMSprop):
    r"""RMSProp with eps inside the square root, where Keras (and TensorFlow 1) put it::

        v_t = alpha * v_{t-1} + (1 - alpha) * g_t**2
        w_t = w_{t-1} - lr * g_t / sqrt(v_t + eps)

    The defaults are Keras's (``keras.optimizers.RMSprop``: learning rate 1e-3, rho 0.9,
    epsilon 1e-7). The effective learning rate can never exceed ``lr / sqrt(eps)``; PyTorch's
    ``RMSprop`` adds eps to ``sqrt(v_t)`` instead.

    Args: lr >= 0, alpha in [0, 1), eps >= 0 (no momentum, centring or weight decay).
    """

    def __init__(self, lr=1e-3, alpha=0.9, eps=1e-7):
        super().__init__(lr, alpha, eps)

    def _hyperparameters(self):
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps}

    def _update_leaf(self, p, g, leaf, t, lr):
        square_avg = leaf["square_avg"] * self.alpha + (1 - self.alpha) * g * g
        p = p - lr * g / np.sqrt(square_avg + self.eps)
        return p, {"square_avg": square_avg, "grad_avg": None, "momentum_buffer": None}

    def _effective_leaf(self, before, after, t, lr):
        return lr / np.sqrt(after["square_avg"] + self.eps)
