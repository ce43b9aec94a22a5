"""Checkers for problem set 9: the forward and backward pass of a two-layer ReLU network, and a
training loop that reaches a target accuracy on the digits.

``two_layer_loss_and_grad(params, X, y, reg)`` must return what
``course_lib.models.MLP(sizes=(D, H, C)).loss_and_grad`` returns: the mean softmax
cross-entropy plus ``reg * (sum(W1**2) + sum(W2**2))`` and the gradients ``{"W1", "b1", "W2",
"b2"}``. It is graded in parts, as the notebook's mark scheme says: the form of the output
(a float and a dict of arrays shaped like the parameters, the parameters left untouched), the
loss, each of the four gradients, and the absence of overflow with large scores. Only the
form part fails a function that modifies its inputs; the others grade its numbers. Each part
compares with the reference on seeded random networks, to rounding, and explains a mismatch
with the typical slips (a ReLU derivative taken at the wrong place, a missing 1/N, the bias
gradient summed over the wrong axis, the penalty's gradient missing or doubled), which
:func:`_network` makes on purpose. One case has a hidden unit whose pre-activation is exactly
0 on every example, where ``Z > 0`` and ``Z >= 0`` differ.

The large-scores part checks what the code must *do*: moving every score of an example by
the same amount (through ``b2``, or through a hidden unit that is active on every example)
changes nothing mathematically, so the student's loss and gradients must not change either,
whatever else is wrong in them.

``train_classifier(X_train, y_train, X_val, y_val, seed)`` is called on the training and
validation split of :func:`course_lib.data.load_digits_split`; the visible test measures the
accuracy of the returned parameters on the validation split, the hidden test on the test
split, which the notebook never loads. Both require :data:`TARGET_ACCURACY` within
:data:`TRAINING_TIME_LIMIT` seconds.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from course_lib.grading._core import (
    Case,
    Mistake,
    as_array,
    check_against_reference,
    close,
    describe,
    fail,
    run,
)

__all__ = [
    "TARGET_ACCURACY",
    "TRAINING_TIME_LIMIT",
    "check_two_layer_form",
    "check_two_layer_loss",
    "check_two_layer_dW1",
    "check_two_layer_db1",
    "check_two_layer_dW2",
    "check_two_layer_db2",
    "check_two_layer_large_scores",
    "check_training",
]

NAME = "two_layer_loss_and_grad"
KEYS = ("W1", "b1", "W2", "b2")
TARGET_ACCURACY = 0.95
"""The accuracy train_classifier's parameters must reach (validation, and held-out test)."""
TRAINING_TIME_LIMIT = 20.0
"""Seconds one call of train_classifier may take."""


# --------------------------------------------------------------------------------------------
# The network, right or with one typical slip (for diagnoses)
# --------------------------------------------------------------------------------------------
def _network(
    params,
    X,
    y,
    reg,
    *,
    mask="z>0",
    scale="mean",
    shift="row",
    bias="rows",
    grad_reg=2.0,
    penalty=1.0,
):
    """``(loss, grads)`` of the two-layer ReLU network; the keywords make one slip each.

    mask: the ReLU derivative, ``"z>0"`` (right), ``"z>=0"``, ``"none"`` (no mask, e.g. a mask
    ``A >= 0`` of the post-activation, always true) or ``"value"`` (times ``A`` itself).
    scale: ``"mean"`` or ``"sum"`` (no 1/N, in the loss and the gradients).
    shift: the softmax's max shift, ``"row"``, ``"none"`` or ``"global"`` (one max for all).
    bias: ``"rows"`` (sum over the examples), ``"cols"`` (over the units) or ``"mean"``.
    grad_reg, penalty: the factors of ``reg * W`` in the gradients and of the penalty.
    """
    W1, b1, W2, b2 = (np.asarray(params[k], dtype=np.float64) for k in KEYS)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=int)
    N = len(X)
    Z = X @ W1 + b1
    A = np.maximum(Z, 0)
    S = A @ W2 + b2
    with np.errstate(all="ignore"):
        if shift == "row":
            S = S - S.max(axis=1, keepdims=True)
        elif shift == "global":
            S = S - S.max()
        E = np.exp(S)
        P = E / E.sum(axis=1, keepdims=True)
        rows = np.arange(N)
        data = -np.sum(np.log(P[rows, y]))
        loss = data if scale == "sum" else data / N
        loss += penalty * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dS = P.copy()
        dS[rows, y] -= 1
        dS = dS if scale == "sum" else dS / N
        dA = dS @ W2.T
        derivative = {"z>0": Z > 0, "z>=0": Z >= 0, "none": 1.0, "value": A}[mask]
        dZ = dA * derivative

    def bias_grad(D):
        return {"rows": D.sum(axis=0), "cols": D.sum(axis=1), "mean": D.mean(axis=0)}[bias]

    grads = {
        "W1": X.T @ dZ + grad_reg * reg * W1,
        "b1": bias_grad(dZ),
        "W2": A.T @ dS + grad_reg * reg * W2,
        "b2": bias_grad(dS),
    }
    return float(loss), grads


def _reference(params, X, y, reg):
    """course_lib's MLP, the reference every part compares with."""
    from course_lib.models import MLP

    W1, W2 = np.asarray(params["W1"]), np.asarray(params["W2"])
    mlp = MLP(sizes=(W1.shape[0], W1.shape[1], W2.shape[1]), activation="relu")
    return mlp.loss_and_grad(params, X, y, reg)


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------
def _params(rng: np.random.Generator, D: int, H: int, C: int) -> dict:
    return {
        "W1": np.round(0.6 * rng.standard_normal((D, H)), 4),
        "b1": np.round(0.3 * rng.standard_normal(H), 4),
        "W2": np.round(0.6 * rng.standard_normal((H, C)), 4),
        "b2": np.round(0.3 * rng.standard_normal(C), 4),
    }


def _cases(seed: int) -> list[Case]:
    """Seeded (params, X, y, reg) cases: small, one example, a unit at exactly zero, random."""
    rng = np.random.default_rng(seed)
    specs = [
        (5, 3, 4, 3, 0.1, ""),
        (1, 2, 3, 2, 0.0, ", one example"),
        (6, 4, 5, 3, 0.05, ", hidden unit 0 has Z = 0 on every example"),
        (
            int(rng.integers(10, 30)),
            int(rng.integers(2, 7)),
            int(rng.integers(3, 9)),
            int(rng.integers(2, 6)),
            float(np.round(rng.uniform(0.01, 0.3), 3)),
            "",
        ),
    ]
    cases = []
    for N, D, H, C, reg, note in specs:
        params = _params(rng, D, H, C)
        if note.startswith(", hidden unit 0"):
            params["W1"][:, 0], params["b1"][0] = 0.0, 0.0
        X = np.round(rng.standard_normal((N, D)), 4)
        y = rng.integers(0, C, N)
        label = (
            f"D = {D} inputs, H = {H} hidden units, C = {C} classes, N = {N} examples, "
            f"reg = {reg:g}{note}; X = {describe(X)}, y = {[int(v) for v in y][:8]}"
        )
        cases.append(Case({"params": params, "X": X, "y": y, "reg": reg}, label))
    return cases


# --------------------------------------------------------------------------------------------
# Typical mistakes
# --------------------------------------------------------------------------------------------
_MISTAKES = {  # name: (keywords of _network, message)
    "mask_none": (
        {"mask": "none"},
        "your gradient passes through the ReLU as if it were the identity: multiply the "
        "upstream gradient by 1 where the pre-activation Z1 > 0 and by 0 elsewhere (a mask of "
        "the post-activation A1 >= 0 is always true)",
    ),
    "mask_value": (
        {"mask": "value"},
        "you multiplied the upstream gradient by the ReLU's output A1 itself; the ReLU's "
        "derivative is the indicator 1[Z1 > 0] (0 or 1), not its value",
    ),
    "mask_ge": (
        {"mask": "z>=0"},
        "your ReLU derivative is 1 where Z1 = 0 exactly (Z1 >= 0); the derivative used by "
        "PyTorch and course_lib is 0 at the kink: use Z1 > 0",
    ),
    "sum": (
        {"scale": "sum"},
        "your loss is N times too large: it is the *mean* cross-entropy over the N examples, "
        "so divide the data term by N",
    ),
    "sum_grad": (
        {"scale": "sum"},
        "your gradient misses the 1/N of the mean: the gradient of the mean loss with respect "
        "to the scores is (P - Y) / N",
    ),
    "bias_cols": (
        {"bias": "cols"},
        "your bias gradient is summed over the wrong axis: sum the upstream gradient over the "
        "examples (axis=0), which gives one number per unit",
    ),
    "bias_mean": (
        {"bias": "mean"},
        "your bias gradient is the mean over the examples of a gradient that already carries "
        "the 1/N: sum it over the examples (axis=0)",
    ),
    "no_reg_grad": (
        {"grad_reg": 0.0},
        "your weight gradient misses the penalty's gradient: add 2 * reg * W",
    ),
    "double_reg_grad": (
        {"grad_reg": 4.0},
        "your penalty's gradient is doubled: the gradient of reg * sum(W**2) is 2 * reg * W",
    ),
    "half_reg_grad": (
        {"grad_reg": 1.0},
        "the gradient of reg * sum(W**2) is 2 * reg * W, not reg * W",
    ),
    "no_penalty": (
        {"penalty": 0.0},
        "your loss misses the penalty: add reg * (sum(W1**2) + sum(W2**2)) (the biases are "
        "not penalised)",
    ),
    "double_penalty": (
        {"penalty": 2.0},
        "your penalty is doubled: it is reg * (sum(W1**2) + sum(W2**2))",
    ),
    "half_penalty": (
        {"penalty": 0.5},
        "the penalty is reg * (sum(W1**2) + sum(W2**2)), without a factor 1/2",
    ),
}

_LOSS_MISTAKES = ("sum", "no_penalty", "double_penalty", "half_penalty")
_GRAD_MISTAKES = {
    "W1": (
        "mask_none",
        "mask_value",
        "mask_ge",
        "sum_grad",
        "no_reg_grad",
        "double_reg_grad",
        "half_reg_grad",
    ),
    "b1": ("mask_none", "mask_value", "mask_ge", "sum_grad", "bias_cols", "bias_mean"),
    "W2": ("sum_grad", "no_reg_grad", "double_reg_grad", "half_reg_grad"),
    "b2": ("sum_grad", "bias_cols", "bias_mean"),
}


def _mistakes(names, extract: Callable) -> list[Mistake]:
    def variant(keywords):
        return lambda params, X, y, reg: extract(_network(params, X, y, reg, **keywords))

    return [Mistake(n, _MISTAKES[n][1], variant=variant(_MISTAKES[n][0])) for n in names]


def _explain(exc: BaseException) -> Optional[str]:
    text = str(exc).lower()
    if "broadcast" in text or "matmul" in text or "aligned" in text:
        return (
            "check the shapes: X is (N, D), W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); the "
            "hidden layer is (N, H) and the scores (N, C); each gradient has its parameter's "
            "shape"
        )
    if isinstance(exc, KeyError):
        return "params is a dict with the keys 'W1', 'b1', 'W2' and 'b2'"
    return None


def _explain_mutation(arg: str, before: Any, after: Any) -> Optional[str]:
    """Which parameter array the student's function changed."""
    if arg != "params":
        return None
    changed = [k for k in KEYS if not np.array_equal(before[k], after[k])]
    return (
        f"modified params[{changed[0]!r}] in place (with `+=`, `*=`, slice assignment or "
        f"`out=`): the caller's parameters must stay as they were, so build new arrays, "
        f"e.g. `dW = X.T @ dZ + 2 * reg * W` rather than `W += ...`"
        if changed
        else None
    )


_UNREADABLE = "must return a pair (loss, grads), grads a dict with the keys 'W1', 'b1', 'W2', 'b2'"


# --------------------------------------------------------------------------------------------
# The parts of two_layer_loss_and_grad
# --------------------------------------------------------------------------------------------
def check_two_layer_form(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """The form only: a float loss and a dict of finite arrays shaped like the parameters,
    the parameters and data left as they were (values are the other parts' business)."""
    for case in _cases(seed):
        out = run(
            student,
            case,
            name=NAME,
            hidden=hidden,
            explain=_explain,
            explain_mutation=_explain_mutation,
        )
        try:
            loss, grads = out
            keys = set(grads)
        except Exception:
            fail(
                NAME,
                _UNREADABLE + ("" if hidden else f"; got {describe(out)}"),
                hidden=hidden,
                case=case,
            )
        as_array(loss, name=NAME, what="the loss", shape=(), hidden=hidden, case=case)
        if keys != set(KEYS):
            fail(
                NAME,
                _UNREADABLE + ("" if hidden else f"; got the keys {sorted(keys, key=str)}"),
                hidden=hidden,
                case=case,
            )
        for key in KEYS:
            shape = np.shape(case.args["params"][key])
            grad = as_array(grads[key], name=NAME, what=f"grads[{key!r}]", hidden=hidden, case=case)
            if grad.shape != shape:
                seen = "" if hidden else f": it has shape {grad.shape}, {key} has {shape}"
                fail(
                    NAME,
                    f"grads[{key!r}] must have the shape of params[{key!r}]{seen}",
                    hidden=hidden,
                    case=case,
                )
            if not np.all(np.isfinite(grad)):
                fail(
                    NAME,
                    f"grads[{key!r}] contains NaN or infinite values",
                    hidden=hidden,
                    case=case,
                )


def check_two_layer_loss(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """The loss: mean softmax cross-entropy plus ``reg * (sum(W1**2) + sum(W2**2))``."""
    check_against_reference(
        student,
        _reference,
        _cases(seed),
        name=NAME,
        hidden=hidden,
        what="the loss",
        rtol=1e-9,
        atol=1e-12,
        extract=lambda out: out[0],
        unreadable=_UNREADABLE,
        mistakes=_mistakes(_LOSS_MISTAKES, lambda out: out[0]),
        explain=_explain,
        check_inputs=False,
    )


def _check_gradient(student: Callable, key: str, seed: int, hidden: bool) -> None:
    def extract(out):
        return out[1][key]

    check_against_reference(
        student,
        _reference,
        _cases(seed),
        name=NAME,
        hidden=hidden,
        what=f"the gradient grads[{key!r}]",
        rtol=1e-9,
        atol=1e-12,
        extract=extract,
        unreadable=_UNREADABLE,
        mistakes=_mistakes(_GRAD_MISTAKES[key], extract),
        explain=_explain,
        check_inputs=False,
    )


def check_two_layer_dW1(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """grads['W1'] = X.T @ dZ1 + 2 reg W1, with dZ1 = (dS @ W2.T) * 1[Z1 > 0]."""
    _check_gradient(student, "W1", seed, hidden)


def check_two_layer_db1(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """grads['b1'] = dZ1 summed over the examples."""
    _check_gradient(student, "b1", seed, hidden)


def check_two_layer_dW2(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """grads['W2'] = A1.T @ dS + 2 reg W2, with dS = (P - Y) / N."""
    _check_gradient(student, "W2", seed, hidden)


def check_two_layer_db2(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """grads['b2'] = dS summed over the examples."""
    _check_gradient(student, "b2", seed, hidden)


# --------------------------------------------------------------------------------------------
# Large scores: shifting every score of an example changes nothing
# --------------------------------------------------------------------------------------------
def _flat(out: Any, case: Case, hidden: bool) -> np.ndarray:
    """The student's loss and gradients as one float vector (the form is another part's)."""
    try:
        loss, grads = out
        parts = [np.ravel(np.asarray(grads[k], dtype=np.float64)) for k in KEYS]
        loss = float(loss)
    except Exception:
        fail(NAME, _UNREADABLE, hidden=hidden, case=case)
    return np.concatenate([[loss], *parts])


def _large_score_cases(seed: int) -> list[tuple[Case, Case, bool]]:
    """(moderate, shifted, mixed) pairs with reg = 0: b2 + c moves every score by c; hidden
    unit 0, whose output A1[i, 0] = 2 + X[i, 0] is 3 or 1 (X's first column alternates +-1),
    with W2's row 0 set to c moves example i's scores by c * A1[i, 0], far apart between
    examples."""
    rng = np.random.default_rng(seed)
    stages = [(1000.0, False), (-1000.0, False), (float(rng.choice([800.0, 1200.0])), True)]
    pairs = []
    for offset, mixed in stages:
        N, D, H, C = int(rng.integers(4, 9)), int(rng.integers(2, 5)), 4, int(rng.integers(3, 6))
        params = _params(rng, D, H, C)
        X = np.round(rng.standard_normal((N, D)), 4)
        X[:, 0] = np.where(np.arange(N) % 2 == 0, 1.0, -1.0)
        params["W1"][:, 0], params["W1"][0, 0] = 0.0, 1.0
        params["b1"][0], params["W2"][0] = 2.0, 0.0
        y = rng.integers(0, C, N)
        shifted = {k: v.copy() for k, v in params.items()}
        if mixed:
            shifted["W2"][0] += offset
            how = f"W2[0] + {offset:g}: example i's scores move by {offset:g} * (2 + X[i, 0])"
        else:
            shifted["b2"] += offset
            how = f"b2 + {offset:g}"
        label = f"D = {D}, H = {H}, C = {C}, N = {N}, reg = 0"
        base = Case({"params": params, "X": X, "y": y, "reg": 0.0}, f"{label}, moderate scores")
        big = Case({"params": shifted, "X": X, "y": y, "reg": 0.0}, f"{label}, {how}")
        pairs.append((base, big, mixed))
    return pairs


_OVERFLOW = (
    "with large scores your softmax gives inf or NaN: exp(1000) overflows to inf and "
    "exp(-1000) underflows to 0. Subtract each row's largest score before exponentiating "
    "(S - S.max(axis=1, keepdims=True)): the probabilities do not change"
)
_GLOBAL_MAX = (
    "with scores far apart between examples your softmax gives inf or NaN: the examples whose "
    "scores lie far below the one maximum you subtract underflow to 0 / 0. Subtract each "
    "row's own largest score, S.max(axis=1, keepdims=True)"
)


def check_two_layer_large_scores(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """Moving every score of an example by the same amount changes neither the loss nor any
    gradient: the student's results with and without the move must be finite and equal."""
    for base, big, mixed in _large_score_cases(seed):
        before = _flat(
            run(student, base, name=NAME, hidden=hidden, explain=_explain, check_inputs=False),
            base,
            hidden,
        )
        after = _flat(
            run(student, big, name=NAME, hidden=hidden, explain=_explain, check_inputs=False),
            big,
            hidden,
        )
        details = f"loss with moderate scores: {describe(before[0])}, moved: {describe(after[0])}"
        if not np.all(np.isfinite(after)):
            fail(
                NAME, _GLOBAL_MAX if mixed else _OVERFLOW, hidden=hidden, case=big, details=details
            )
        if not close(after, before, rtol=1e-7, atol=1e-9):
            fail(
                NAME,
                "adding the same number to every score of an example does not change the "
                "softmax probabilities, so it must change neither the loss nor the gradients; "
                "yours changed. Subtract each row's largest score before exponentiating",
                hidden=hidden,
                case=big,
                details=details,
            )


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------
def _read_params(out: Any, hidden: bool, case: Case) -> dict:
    """The returned parameters as float64 arrays of a (64, H, 10) network."""
    name = "train_classifier"
    if not (isinstance(out, dict) and set(out) == set(KEYS)):
        keys = sorted(out, key=str) if isinstance(out, dict) else type(out).__name__
        fail(
            name,
            "must return the parameters, a dict with the keys 'W1', 'b1', 'W2', 'b2'"
            + ("" if hidden else f"; got {keys}"),
            hidden=hidden,
            case=case,
        )
    params = {k: as_array(out[k], name=name, what=k, hidden=hidden, case=case) for k in KEYS}
    D, C = case.args["X_train"].shape[1], 10
    H = params["W1"].shape[-1] if params["W1"].ndim == 2 else -1
    shapes = {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}
    for key, shape in shapes.items():
        if H < 1 or params[key].shape != shape:
            fail(
                name,
                f"{key} has shape {params[key].shape}; a network with H hidden units has "
                f"W1 ({D}, H), b1 (H,), W2 (H, {C}), b2 ({C},)",
                hidden=hidden,
                case=case,
            )
    return params


def check_training(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """train_classifier reaches TARGET_ACCURACY on the validation split (visible) or on the
    held-out test split (hidden), within TRAINING_TIME_LIMIT seconds."""
    from course_lib.data import load_digits_split
    from course_lib.models import MLP

    digits = load_digits_split()
    args = {
        "X_train": digits.X_train,
        "y_train": digits.y_train,
        "X_val": digits.X_val,
        "y_val": digits.y_val,
        "seed": seed,
    }
    case = Case(args, f"the digits' training and validation split, seed = {seed}")
    out = run(student, case, name="train_classifier", hidden=hidden, time_limit=TRAINING_TIME_LIMIT)
    params = _read_params(out, hidden, case)
    X, y = (digits.X_test, digits.y_test) if hidden else (digits.X_val, digits.y_val)
    H = params["W1"].shape[1]
    accuracy = MLP(sizes=(X.shape[1], H, 10)).accuracy(params, X, y)
    if not accuracy >= TARGET_ACCURACY:
        where = "the held-out test images" if hidden else "the validation images"
        fail(
            "train_classifier",
            f"the accuracy of the returned network on {where} is below "
            f"{TARGET_ACCURACY:.0%}"
            + ("" if hidden else f": {accuracy:.2%}")
            + "; compare learning rates, epochs and schedules on the validation split",
            hidden=hidden,
            case=case,
        )
