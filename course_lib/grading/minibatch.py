"""Checkers for problem set 4: minibatches, minibatch SGD, the variance of a minibatch gradient.

A minibatch iterator draws a random permutation, so two correct implementations that draw it
differently (``rng.permutation(n)``, ``rng.choice(n, n, replace=False)``, shuffling an
``arange`` in place) return different batches, and so do the SGD runs built on them. The
checkers therefore test what the functions must *do*, and compare numbers only where the
randomness is pinned down:

- ``minibatch_indices``: the batches partition ``range(n)`` into batches of ``batch_size``
  and one smaller batch with the rest; identically seeded generators give the same batches,
  different seeds different ones, and two calls on one generator two different epochs; over
  hundreds of calls every example lands in every batch, and every pair of examples shares a
  batch, as often as a uniformly random permutation makes them (seven standard errors);
- ``minibatch_sgd(..., sampler)`` gets the function that makes one epoch's batches as an
  argument. The checkers pass a sampler that returns course_lib's batches and records them,
  so they know which batches the student's loop received: the weights and losses are
  compared with a reference run on *those* batches (the updates, whatever the shuffling),
  and separately the sampler must be called once per epoch with the given rng (a fresh
  shuffle every epoch) while X, y and w0 stay untouched;
- ``gradient_variance`` is a Monte Carlo estimate: it is compared with the exact expectation
  ``sigma^2 / B * (N - B) / (N - 1)`` within six of its standard errors (estimated from the
  spread of the squared errors), and its reproducibility with ``rng`` is checked separately;
- the experiment is compared with the student's own ``gradient_variance`` run again with the
  same settings, so that a mistake there is not charged twice.

A correct implementation fails a statistical check with probability below one in a million;
the same seed always gives the same verdict.
"""

from __future__ import annotations

import copy
import math
import types
from typing import Any, Callable, Optional, Sequence

import numpy as np

from course_lib.grading._core import Case, as_array, close, describe, fail, run
from course_lib.grading.problems import new_seed, random_regression

__all__ = [
    "check_minibatch_indices_batches",
    "check_minibatch_indices_shuffling",
    "check_minibatch_sgd_updates",
    "check_minibatch_sgd_epochs",
    "check_gradient_variance",
    "check_gradient_variance_rng",
    "check_variance_experiment",
]

_INDICES = "minibatch_indices"
_SGD = "minibatch_sgd"
_VARIANCE = "gradient_variance"


# --------------------------------------------------------------------------------------------
# The reference computations (data: course_lib.grading.problems)
# --------------------------------------------------------------------------------------------
def _loss(w, X, y):
    from course_lib.models import linear_regression_loss

    return linear_regression_loss(w, X, y)


def _listed(student: Callable) -> Callable:
    """``student`` with an iterator result (a generator function) turned into a list inside
    the call, so that its code runs under ``run``'s time limit and error messages."""

    def call(*args):
        out = student(*args)
        if isinstance(out, (types.GeneratorType, map, filter, zip)):
            out = list(out)
        return out

    return call


def _require_function(student: Any, name: str, hidden: bool) -> None:
    """The core's message for something that is not a function (checkers that wrap the
    student's function would otherwise report a TypeError of the wrapper)."""
    if not callable(student):
        run(student, Case({}), name=name, hidden=hidden)


def _explain_cast(exc: BaseException) -> Optional[str]:
    if isinstance(exc, TypeError) and "cast" in str(exc).lower():
        return "w0 may be an integer array: work on a float copy, w = np.array(w0, dtype=float)"
    return None


# --------------------------------------------------------------------------------------------
# Question 1: minibatch_indices
# --------------------------------------------------------------------------------------------
def _as_batches(out: Any, hidden: bool, case: Optional[Case], lenient: bool = False) -> list:
    """The student's batches as a list of int64 arrays, or a GradingError.

    ``lenient``: a flat array counts as one batch and integral floats as indices.
    """
    name = _INDICES
    if lenient and isinstance(out, np.ndarray) and out.ndim == 1:
        out = [out]
    if isinstance(out, np.ndarray) and out.ndim == 1:
        fail(
            name,
            "returned a single array; return a list of index arrays, one per batch: "
            "cut the permutation into consecutive slices of batch_size",
            hidden=hidden,
            case=case,
        )
    if isinstance(out, (str, bytes, dict)) or not hasattr(out, "__iter__"):
        fail(
            name,
            f"must return a list of index arrays, one per batch, got {type(out).__name__}",
            hidden=hidden,
            case=case,
        )
    batches = []
    for item in out:
        try:
            arr = np.array(item)
        except (TypeError, ValueError):  # e.g. a ragged nested list
            arr = np.array(None)
        if arr.ndim != 1:
            why = (
                "each element of the list must be an array of indices (one batch), not a "
                "single number: did you return the permutation without cutting it into "
                "batches?"
                if arr.ndim == 0
                else "each batch must be a 1-D array of indices"
            )
            fail(name, why, hidden=hidden, case=case)
        if lenient and arr.dtype.kind == "f" and np.all(np.isfinite(arr)):
            arr = np.round(arr)
        elif arr.size and arr.dtype.kind not in "iu":
            numeric = arr.dtype.kind in "fb"
            if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                why = (
                    "the indices are floats; they must be integers (X[idx] fails with float "
                    "indices): rng.permutation(n) gives an int array, keep its dtype"
                )
            elif numeric:
                why = "each batch must be an array of integer indices (like rng.permutation(n))"
            else:
                why = f"each batch must be an array of integer indices, got {arr.dtype} values"
            fail(name, why, hidden=hidden, case=case)
        batches.append(arr.astype(np.int64))
    return batches


def _expected_sizes(n: int, batch_size: int) -> list:
    return [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])


def _short(sizes: Sequence[int], k: int = 12) -> str:
    return str(list(sizes)) if len(sizes) <= k else str(list(sizes[:k]))[:-1] + ", ...]"


def _padded(batches: list, counts: np.ndarray, n: int, batch_size: int) -> bool:
    """Every example is used, the batches before the last are a partition's, and the last
    batch is the examples left over plus repeats of earlier ones up to batch_size."""
    if not batches or np.any(counts == 0) or n % batch_size == 0:
        return False
    head = np.concatenate(batches[:-1]) if len(batches) > 1 else np.zeros(0, dtype=np.int64)
    last = np.asarray(batches[-1])
    return (
        len(last) == batch_size
        and all(len(b) == batch_size for b in batches[:-1])
        and len(np.unique(head)) == head.size
        and set(np.setdiff1d(np.arange(n), head).tolist()) <= set(last.tolist())
    )


def _check_partition(batches: list, n: int, batch_size: int, hidden: bool, case: Case) -> None:
    name = _INDICES
    sizes = [len(b) for b in batches]
    want = _expected_sizes(n, batch_size)
    details = f"batch sizes: got {_short(sizes)}, expected {_short(want)}"
    flat = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= n):
        why = (
            "the indices of n examples are 0, 1, ..., n - 1 (Python counts from 0); yours "
            "run from 1 to n"
            if flat.min() >= 1 and flat.max() == n
            else "every index must lie between 0 and n - 1"
        )
        fail(name, why, hidden=hidden, case=case, details=details)
    counts = np.bincount(flat, minlength=n)
    if np.any(counts > 1):
        overlapping = sizes[0] > batch_size and all(len(np.unique(b)) == len(b) for b in batches)
        if overlapping:
            why = (
                "consecutive batches overlap, so some examples are used twice per epoch: "
                "check the slice boundaries, batch k is order[k * batch_size:(k + 1) * "
                "batch_size] (the end of a slice is excluded)"
            )
        elif _padded(batches, counts, n, batch_size):
            why = (
                "every example is used, but your last batch is filled up to batch_size with "
                "examples already used earlier in the epoch; the last batch holds only the "
                "n % batch_size examples that are left, so that every example is used exactly "
                "once per epoch"
            )
        elif np.any(counts == 0):
            why = (
                "some examples appear more than once and others never: you sample with "
                "replacement (rng.integers, or rng.choice without replace=False). Draw a "
                "permutation, rng.permutation(n), and cut it into slices, so that every "
                "example is used exactly once per epoch"
            )
        else:
            where = [k for k, b in enumerate(batches) if np.any(counts[np.asarray(b)] > 1)]
            why = (
                f"every example is used, but some more than once per epoch (batch"
                f"{'es' if len(where) > 1 else ''} {', '.join(map(str, where[:5]))}"
                f"{', ...' if len(where) > 5 else ''} hold{'' if len(where) > 1 else 's'} "
                f"repeated examples): every index 0, ..., n - 1 must appear exactly once"
            )
        fail(name, why, hidden=hidden, case=case, details=details)
    if np.any(counts == 0):
        if n % batch_size and sizes == want[:-1]:
            why = (
                "the last, smaller batch is missing (n is not a multiple of batch_size): "
                "keep it, so that every example is used once per epoch; a loop over "
                "range(n // batch_size), or one that stops at n - 1, skips it"
            )
        elif len(batches) > 1 and all(s == batch_size - 1 for s in sizes[:-1]):
            why = (
                "each batch has batch_size - 1 examples: a slice order[i:i + batch_size] "
                "already holds batch_size elements (its end is excluded), so do not "
                "subtract 1"
            )
        else:
            why = (
                "some examples are missing: every index 0, ..., n - 1 must appear exactly "
                "once per epoch; check the slice boundaries"
            )
        fail(name, why, hidden=hidden, case=case, details=details)
    if sorted(sizes) == sorted(want):  # the smaller batch is normally last; anywhere will do
        return
    if sizes == want + [0]:
        why = (
            "the last batch is empty: stop the loop over the batch starts at n "
            "(range(0, n, batch_size))"
        )
    elif len(sizes) == len(want) or (sum(sizes) == n and max(sizes) - min(sizes) <= 1):
        why = (
            "every batch must have batch_size examples except the last, which holds the "
            "n % batch_size that are left (np.array_split spreads them over all batches "
            "instead): use slices order[i:i + batch_size]"
        )
    else:
        why = (
            "there must be ceil(n / batch_size) batches of batch_size examples, the last "
            "one holding the rest"
        )
    fail(name, why, hidden=hidden, case=case, details=details)


def _indices_case(n: int, batch_size: int, rng: np.random.Generator, note: str = "") -> Case:
    label = f"n = {n}, batch_size = {batch_size}{note}, rng = np.random.default_rng(...)"
    return Case(
        {"n": n, "batch_size": batch_size, "rng": np.random.default_rng(new_seed(rng))}, label
    )


def check_minibatch_indices_batches(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``minibatch_indices(n, batch_size, rng)`` returns the batches of one epoch.

    On seeded cases (n a multiple of batch_size or not, batch_size 1, n, larger than n, n = 1):
    a list of 1-D int arrays that together hold every index 0..n-1 exactly once, in
    ceil(n / batch_size) batches of batch_size examples and one smaller batch with the
    remainder (normally the last; its position is not checked).
    """
    _require_function(student, _INDICES, hidden)
    rng = np.random.default_rng(seed)
    shapes = [
        (10, 3, ""),
        (12, 4, ""),
        (7, 7, " (batch_size = n)"),
        (5, 8, " (batch_size > n)"),
        (1, 1, ""),
        (6, 1, ""),
        (13, 4, ""),
    ]
    for _ in range(2):
        b = int(rng.integers(2, 16))
        n = b * int(rng.integers(2, 8)) + int(rng.integers(1, b))
        shapes.append((n, b, ""))
    for n, b, note in shapes:
        case = _indices_case(n, b, rng, note)
        out = run(_listed(student), case, name=_INDICES, hidden=hidden)
        _check_partition(_as_batches(out, hidden, case), n, b, hidden, case)


def _epochs_on(
    student: Callable, n: int, batch_size: int, seed: int, calls: int, label: str, hidden: bool
) -> list:
    """``calls`` consecutive calls with one generator ``np.random.default_rng(seed)`` (as the
    epochs of a training run): a list of lists of batches.

    The batches are read leniently (a flat array is one batch, integral floats are indices):
    their structure is the other test cell's business.
    """
    _require_function(student, _INDICES, hidden)

    def epochs(n, batch_size, rng):
        return [_listed(student)(n, batch_size, rng) for _ in range(calls)]

    case = Case({"n": n, "batch_size": batch_size, "rng": np.random.default_rng(seed)}, label)
    out = run(epochs, case, name=_INDICES, hidden=hidden)
    return [_as_batches(o, hidden, case, lenient=True) for o in out]


def _same_batches(a: list, b: list) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def _order(batches: list) -> np.ndarray:
    return np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)


def _check_uniform(epochs: list, n: int, hidden: bool, case: Case) -> None:
    """Every example in every batch, and every pair in a common batch, as often as a uniformly
    random permutation cut into the same batch sizes makes them (seven standard errors).

    The expected counts come from the sizes of the batches actually returned and the labels
    actually used, so the test is exact for any exchangeable scheme (one that treats all
    examples alike), even a wrong partition or indices from 1, which the other test cell
    reports."""
    labels = np.unique(np.concatenate([_order(e) for e in epochs]))
    epochs = [[np.searchsorted(labels, b) for b in e] for e in epochs]  # labels 0..m-1
    n = len(labels)
    if n < 2:
        fail(_INDICES, "every call returns the same single example", hidden=hidden, case=case)
    k_max = max(len(e) for e in epochs)
    member = np.zeros((n, k_max))
    member_expected = np.zeros((n, k_max))
    pairs = np.zeros((n, n))
    pairs_expected = 0.0
    for batches in epochs:
        for k, b in enumerate(batches):
            ids = np.unique(b)
            member[ids, k] += 1
            member_expected[:, k] += len(ids) / n
            pairs[np.ix_(ids, ids)] += 1
            pairs_expected += len(ids) * (len(ids) - 1) / (n * (n - 1))
    calls = len(epochs)

    def worst(count, expected):
        p = np.clip(expected / calls, 0.0, 1.0)
        return float(np.max(np.abs(count - expected) / np.sqrt(calls * p * (1 - p) + 1.0)))

    upper = np.triu_indices(n, 1)
    z_member = worst(member, member_expected)
    z_pairs = worst(pairs[upper], np.full(len(upper[0]), pairs_expected))
    if z_member <= 7 and z_pairs <= 7:
        return
    if z_member > 7:
        why = (
            "some examples land in some batches much more often than others (for example "
            "example 0 always in the first batch): you shuffle within the batches, or only "
            "part of the data. Shuffle all n examples (rng.permutation(n)) before cutting "
            "them into batches"
        )
    else:
        why = (
            "the same examples keep ending up together in a batch: you shuffle the order "
            "of fixed batches (or shift one fixed order). Shuffle the examples themselves "
            "(rng.permutation(n)), then cut the permutation into batches"
        )
    fail(_INDICES, why, hidden=hidden, case=case)


def check_minibatch_indices_shuffling(
    student: Callable, seed: int = 0, hidden: bool = False
) -> None:
    """``minibatch_indices`` draws a fresh uniformly random permutation from ``rng`` each call.

    Identically seeded generators give the same batches and different seeds different ones;
    two consecutive calls on one generator give different epochs; and over 400 calls on one
    generator, how often each example falls in each batch and each pair of examples shares a
    batch matches a uniformly random permutation.
    """
    rng = np.random.default_rng(seed)
    n, b = (10, 3) if not hidden else (int(rng.integers(8, 14)), int(rng.integers(2, 5)))
    s1, s2, s3 = new_seed(rng), new_seed(rng), new_seed(rng)
    label = f"n = {n}, batch_size = {b}"
    first, second = _epochs_on(student, n, b, s1, 2, label + ", two calls on one rng", hidden)
    (again,) = _epochs_on(student, n, b, s1, 1, label, hidden)
    (other,) = _epochs_on(student, n, b, s2, 1, label, hidden)
    epochs = _epochs_on(student, n, b, s3, 400, label, hidden)
    case = Case({}, label)
    if all(np.all(np.diff(_order(e)) > 0) for e in [first, second, other] + epochs):
        fail(
            _INDICES,
            "the examples are not shuffled: every epoch visits them in the order "
            "0, 1, ..., n - 1. Draw a random permutation from rng, "
            "rng.permutation(n), and cut it into batches",
            hidden=hidden,
            case=case,
        )
    if not _same_batches(first, again):
        fail(
            _INDICES,
            "two calls with identically seeded rng gave different batches: draw the "
            "permutation from the rng argument (rng.permutation(n)), not from "
            "np.random, so that a seed makes a training run reproducible",
            hidden=hidden,
            case=case,
        )
    ignores_rng = (
        "calls with differently seeded rng gave the same batches: your function "
        "ignores the rng argument (do you create your own generator with a fixed "
        "seed?); draw the permutation from rng"
    )
    same_epochs = (
        "two consecutive calls with the same rng gave the same batches, so every "
        "epoch would be identical: each call must draw a fresh permutation from rng "
        "itself (not from a copy of it or a generator seeded anew)"
    )
    if all(_same_batches(e, epochs[0]) for e in epochs):
        fail(
            _INDICES,
            ignores_rng if _same_batches(first, other) else same_epochs,
            hidden=hidden,
            case=case,
        )
    # Weak shuffles (a random rotation, fixed batches in a random order) can repeat by chance:
    # the statistics name them before the coincidences below do.
    _check_uniform(epochs, n, hidden, Case({}, f"{label}, 400 calls on one rng"))
    if _same_batches(first, other):
        fail(_INDICES, ignores_rng, hidden=hidden, case=case)
    if _same_batches(first, second):
        fail(_INDICES, same_epochs, hidden=hidden, case=case)


# --------------------------------------------------------------------------------------------
# Question 2: minibatch SGD
# --------------------------------------------------------------------------------------------
class _RecordingSampler:
    """``sampler(n, batch_size, rng)``: course_lib's ``minibatch_indices``, recording each call.

    The student's SGD receives this very object (a deep copy returns it), so after the run
    ``calls`` holds ``(n, batch_size, batches)`` for every epoch it asked for.
    """

    __name__ = "sampler"

    def __init__(self):
        self.calls: list = []

    def __call__(self, n, batch_size, rng=None, *args, **kwargs):
        from course_lib.data import minibatch_indices

        batches = minibatch_indices(n, batch_size, rng)
        self.calls.append((n, batch_size, [b.copy() for b in batches]))
        return batches

    def __deepcopy__(self, memo):
        return self


def _sgd_case(
    rng: np.random.Generator,
    n: int,
    d: int,
    batch_size: int,
    epochs: int,
    lr: float,
    integer_w0: bool = False,
) -> Case:
    X, y = random_regression(rng, n, d)
    w0 = rng.integers(-2, 3, d) if integer_w0 else np.round(rng.standard_normal(d), 3)
    label = (
        f"X of shape {X.shape}, y of shape {y.shape}, w0 = {describe(w0)}"
        f"{' (integers)' if integer_w0 else ''}, lr = {lr}, batch_size = {batch_size}, "
        f"epochs = {epochs}, rng = np.random.default_rng(...), sampler = course_lib's "
        f"minibatch_indices"
    )
    return Case(
        {
            "X": X,
            "y": y,
            "w0": w0,
            "lr": lr,
            "batch_size": batch_size,
            "epochs": epochs,
            "rng": np.random.default_rng(new_seed(rng)),
            "sampler": _RecordingSampler(),
        },
        label,
    )


def _reference_batches(case: Case) -> list:
    """The batches course_lib's ``minibatch_indices`` gives, epoch by epoch, with the case's
    rng (a copy: the case keeps its state)."""
    from course_lib.data import minibatch_indices

    a = case.args
    rng = copy.deepcopy(a["rng"])
    return [minibatch_indices(len(a["y"]), a["batch_size"], rng) for _ in range(a["epochs"])]


def _reference_run(case: Case) -> tuple:
    """``course_lib.train.train_minibatch`` with plain SGD on the case: (w, losses)."""
    from course_lib.models import linear_regression_loss
    from course_lib.optim import SGD
    from course_lib.train import train_minibatch

    a = case.args
    hist = train_minibatch(
        linear_regression_loss,
        a["w0"],
        a["X"],
        a["y"],
        SGD(lr=a["lr"]),
        a["batch_size"],
        a["epochs"],
        rng=copy.deepcopy(a["rng"]),
    )
    return np.asarray(hist.params, dtype=float), np.asarray(hist.train_losses, dtype=float)


def _replay(case: Case, plan: list, update: str = "mean", record: str = "full") -> tuple:
    """Minibatch SGD on the batches of ``plan`` (one list of index arrays per epoch).

    ``update`` and ``record`` make the typical mistakes: "sum", "per_batch_size", "full" or
    "drop_last" for the step; "last_before", "last_after" or "mean" for the recorded losses.
    """
    a = case.args
    X, y, lr, b = a["X"], a["y"], a["lr"], a["batch_size"]
    w = np.array(a["w0"], dtype=float)
    losses = [_loss(w, X, y)[0]]
    for batches in plan:
        seen = []
        for idx in batches:
            if update == "drop_last" and len(idx) < b:
                continue
            before, grad = _loss(w, X[idx], y[idx])
            if update == "sum":
                grad = grad * len(idx)
            elif update == "per_batch_size":
                grad = grad * len(idx) / b
            elif update == "full":
                grad = _loss(w, X, y)[1]
            w = w - lr * grad
            seen.append((before, _loss(w, X[idx], y[idx])[0]))
        if record == "full":
            losses.append(_loss(w, X, y)[0])
        elif record == "mean":
            losses.append(float(np.mean([before for before, _ in seen])))
        else:
            losses.append(seen[-1][0] if record == "last_before" else seen[-1][1])
    return w, np.array(losses)


def _plans(case: Case, calls: list) -> list:
    """The batch sequences the student's run may have used: the sampler's answers (one per
    epoch, composed when the data are shuffled in place, or the first one for every epoch),
    course_lib's with the case's rng, the first of those for every epoch, and the unshuffled
    order. The reference batches are always third from the end."""
    a = case.args
    epochs, n, b = a["epochs"], len(a["y"]), a["batch_size"]
    plans = []
    answers = [c[2] for c in calls]
    if len(answers) >= epochs:
        plans += [answers[:epochs], answers[-epochs:]]
        # X and y permuted in place by each epoch's order, then cut in file order
        order, cumulative = np.arange(n), []
        for batches in answers[:epochs]:
            order = order[np.concatenate(batches)]
            cumulative.append([order[i : i + b] for i in range(0, n, b)])
        plans.append(cumulative)
    elif answers:
        plans.append(answers + [answers[-1]] * (epochs - len(answers)))
        plans.append([answers[0]] * epochs)
    reference = _reference_batches(case)
    plans += [reference, [reference[0]] * epochs]
    order = np.arange(n)
    plans.append([[order[i : i + b] for i in range(0, n, b)]] * epochs)
    return plans


_UPDATE_MISTAKES = {
    "sum": "your update uses the sum of the example gradients in the batch, not their mean, so "
    "the step grows with the batch size (an effective learning rate of lr times the "
    "batch size): divide by the number of examples in the batch",
    "per_batch_size": "you divide the batch gradient by batch_size, but the last batch of an "
    "epoch is smaller when n is not a multiple of batch_size: divide by the "
    "number of examples actually in the batch, len(idx)",
    "full": "each update uses the gradient on the full data set (X, y) instead of the "
    "minibatch (X[idx], y[idx]): that is gradient descent repeated, not SGD",
    "drop_last": "you skip the last, smaller batch of each epoch: take a step on every batch "
    "the sampler returns, so that every example is used once per epoch",
}

_LOSS_MISTAKES = {
    "last_before": "losses[k] is the loss of the last minibatch of epoch k; record the loss on "
    "the full data set, mean((X @ w - y)**2), after each epoch",
    "last_after": "losses[k] is the loss on the last minibatch of epoch k; record the loss on "
    "the full data set, mean((X @ w - y)**2), after each epoch",
    "mean": "losses[k] is the average of the minibatch losses during epoch k; record the loss "
    "on the full data set, mean((X @ w - y)**2), at the end of each epoch",
}


def _sgd_output(out: Any, d: int, hidden: bool, case: Case) -> tuple:
    try:
        w, losses = out
    except (TypeError, ValueError):
        fail(
            _SGD,
            f"must return a pair (w, losses), got {type(out).__name__}",
            hidden=hidden,
            case=case,
        )
    w = as_array(w, name=_SGD, what="w, the final weights", shape=(d,), hidden=hidden, case=case)
    losses = as_array(
        losses,
        name=_SGD,
        what="losses, one per epoch plus the initial one",
        hidden=hidden,
        case=case,
    )
    return w, losses


def _check_updates(
    w: np.ndarray, losses: np.ndarray, case: Case, plans: list, hidden: bool
) -> None:
    epochs = case.args["epochs"]
    runs = [_replay(case, plan) for plan in plans]
    runs[len(plans) - 3] = _reference_run(case)  # course_lib's own run on its own batches
    for w_ok, losses_ok in runs:
        if close(w, w_ok, 1e-7, 1e-10) and close(losses, losses_ok, 1e-7, 1e-10):
            return
    expected_w = runs[0][0]
    details = f"expected w: {describe(expected_w)}\ngot w:      {describe(w)}"
    right_w = [i for i, (w_ok, _) in enumerate(runs) if close(w, w_ok, 1e-7, 1e-10)]
    if right_w:
        ok = runs[right_w[0]][1]
        details = f"expected losses: {describe(ok)}\ngot losses:      {describe(losses)}"
        if losses.shape == (epochs,) and close(losses, ok[1:], 1e-7, 1e-10):
            why = (
                "losses must start with the loss at w0, before the first update: epochs + 1 numbers"
            )
        elif losses.shape == (epochs,) and close(losses, ok[:-1], 1e-7, 1e-10):
            why = (
                "the loss after the last epoch is missing: losses has epochs + 1 numbers, "
                "losses[0] at w0 and losses[k] after epoch k"
            )
        elif losses.shape != ok.shape:
            why = "losses must have epochs + 1 entries, the loss at w0 and after each epoch" + (
                "" if hidden else f"; got shape {losses.shape}, expected {ok.shape}"
            )
        else:
            why = next(
                (
                    msg
                    for record, msg in _LOSS_MISTAKES.items()
                    if close(
                        losses, _replay(case, plans[right_w[0]], record=record)[1], 1e-7, 1e-10
                    )
                ),
                "losses[k] must be the loss on the full data set, mean((X @ w - y)**2), "
                "after epoch k (losses[0] at w0)",
            )
        fail(_SGD, why, hidden=hidden, case=case, details=details)
    for update, msg in _UPDATE_MISTAKES.items():
        if any(close(w, _replay(case, plan, update=update)[0], 1e-7, 1e-10) for plan in plans):
            fail(_SGD, msg, hidden=hidden, case=case, details=details)
    if not np.all(np.isfinite(w)):
        fail(
            _SGD,
            "w contains NaN or infinite values: the updates diverge; check that each "
            "step is w - lr * (mean gradient of the batch)",
            hidden=hidden,
            case=case,
            details=details,
        )
    fail(
        _SGD,
        "w differs from minibatch SGD on the batches your calls of sampler returned: "
        "each epoch takes its batches from sampler(len(y), batch_size, rng), and each "
        "batch idx makes one step w = w - lr * 2 / len(idx) * X[idx].T @ "
        "(X[idx] @ w - y[idx])",
        hidden=hidden,
        case=case,
        details=details,
    )


def _sgd_cases(seed: int, hidden: bool, for_epochs: bool = False) -> list:
    rng = np.random.default_rng(seed)
    if for_epochs:
        shapes = [
            (10, 2, 3, 3, 0.05, False),
            (9, 3, 4, 2, 0.05, True),
            (
                int(rng.integers(12, 30)),
                int(rng.integers(2, 4)),
                int(rng.integers(2, 6)),
                int(rng.integers(2, 5)),
                0.02,
                False,
            ),
        ]
    else:
        shapes = [
            (10, 2, 3, 3, 0.05, False),
            (12, 3, 12, 4, 0.1, False),
            (7, 2, 20, 2, 0.1, False),
            (6, 2, 1, 2, 0.02, False),
            (
                int(rng.integers(15, 40)),
                int(rng.integers(2, 5)),
                int(rng.integers(2, 7)),
                int(rng.integers(2, 5)),
                0.02,
                False,
            ),
        ]
        if hidden:
            shapes.append(
                (
                    int(rng.integers(20, 50)),
                    int(rng.integers(2, 5)),
                    int(rng.integers(3, 9)),
                    3,
                    0.02,
                    False,
                )
            )
    return [_sgd_case(rng, n, d, b, e, lr, integer_w0=i) for n, d, b, e, lr, i in shapes]


def check_minibatch_sgd_updates(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``minibatch_sgd(X, y, w0, lr, batch_size, epochs, rng, sampler)``: the updates and losses.

    The checker's sampler returns course_lib's batches and records them; the final weights and
    the losses (at w0 and after each epoch) must equal minibatch SGD on exactly the batches the
    student's loop received (course_lib's ``train_minibatch`` when those are course_lib's
    batches for the given rng). How the epochs are drawn is checked by
    :func:`check_minibatch_sgd_epochs`, and modified inputs too, so this check does not look
    at the inputs afterwards and accepts any epoch order of the batches it asked for (once per
    epoch, once for all epochs, composed when the data are shuffled in place, or file order).
    """
    for case in _sgd_cases(seed, hidden):
        case.args["sampler"].calls.clear()
        out = run(
            student, case, name=_SGD, hidden=hidden, explain=_explain_cast, check_inputs=False
        )
        w, losses = _sgd_output(out, case.args["X"].shape[1], hidden, case)
        _check_updates(w, losses, case, _plans(case, case.args["sampler"].calls), hidden)


def _explain_mutation(arg: str, before: Any, after: Any) -> Optional[str]:
    """What modifying X, y or w0 in place means (None: the core's generic message)."""
    if arg == "w0":
        return (
            "changed w0 in place: `w = w0` does not copy the array, so `w -= ...` also "
            "changes the caller's w0; start from a copy, w = np.array(w0, dtype=float)"
        )
    before, after = np.asarray(before), np.asarray(after)
    if (
        arg in ("X", "y")
        and before.shape == after.shape
        and np.array_equal(np.sort(before, axis=0), np.sort(after, axis=0))
    ):
        return (
            f"shuffled {arg} in place (e.g. rng.shuffle({arg}) or {arg}[:] = {arg}[order]), "
            f"which scrambles the caller's data: leave X and y as they are and index them "
            f"with each batch, X[idx] and y[idx] (indexing makes a copy)"
        )
    return None


def check_minibatch_sgd_epochs(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``minibatch_sgd`` reshuffles every epoch with ``rng`` and leaves its inputs alone.

    The sampler must be called once per epoch as ``sampler(len(y), batch_size, rng)`` with the
    rng the function was given (so the run is reproducible and every epoch has a fresh
    order); X, y and w0 must not change, also when w0 is an integer array.
    """
    for case in _sgd_cases(seed, hidden, for_epochs=True):
        sampler = case.args["sampler"]
        sampler.calls.clear()
        run(
            student,
            case,
            name=_SGD,
            hidden=hidden,
            explain=_explain_cast,
            explain_mutation=_explain_mutation,
        )
        epochs, n, b = case.args["epochs"], len(case.args["y"]), case.args["batch_size"]
        calls = sampler.calls
        counts = "" if hidden else f" ({len(calls)} calls for {epochs} epochs)"
        if not calls:
            fail(
                _SGD,
                "never calls sampler: take the batches of every epoch from "
                "sampler(len(y), batch_size, rng), the function given as the last "
                "argument (your minibatch_indices by default)",
                hidden=hidden,
                case=case,
            )
        if len(calls) == 1:
            fail(
                _SGD,
                "you take the batches once, before the epoch loop, so every epoch visits "
                "the same minibatches in the same order: call sampler(len(y), "
                "batch_size, rng) at the start of every epoch, which reshuffles",
                hidden=hidden,
                case=case,
            )
        if len(calls) != epochs:
            fail(_SGD, f"call sampler exactly once per epoch{counts}", hidden=hidden, case=case)
        if any((c[0], c[1]) != (n, b) for c in calls):
            fail(
                _SGD,
                "call the sampler as sampler(len(y), batch_size, rng): the number of "
                "examples first, then the batch size",
                hidden=hidden,
                case=case,
            )
        got = [c[2] for c in calls]
        if all(_same_batches(g, r) for g, r in zip(got, _reference_batches(case))):
            continue
        if all(_same_batches(g, got[0]) for g in got):
            why = (
                "every epoch got the same batches: you give sampler a new generator with a "
                "fixed seed (or a copy of rng), so each epoch is shuffled the same way; pass "
                "rng itself, whose state moves on from one epoch to the next"
            )
        else:
            why = (
                "the batches were not drawn from the rng you were given: pass rng itself to "
                "sampler (not np.random, a seed or a new generator), so that the same seed "
                "gives the same run"
            )
        fail(_SGD, why, hidden=hidden, case=case)


# --------------------------------------------------------------------------------------------
# Question 3: the variance of a minibatch gradient
# --------------------------------------------------------------------------------------------
def _variance_case(rng: np.random.Generator, n: int, d: int, batch_size: int, n_draws: int) -> Case:
    X, y = random_regression(rng, n, d)
    w = np.round(rng.standard_normal(d), 3)  # away from the minimum: the full gradient is not 0
    label = (
        f"X of shape {X.shape}, y of shape {y.shape}, w = {describe(w)}, batch_size = "
        f"{batch_size} (of N = {n}), n_draws = {n_draws}, rng = np.random.default_rng(...)"
    )
    return Case(
        {
            "X": X,
            "y": y,
            "w": w,
            "batch_size": batch_size,
            "n_draws": n_draws,
            "rng": np.random.default_rng(new_seed(rng)),
        },
        label,
    )


def _gradient_spread(X, y, w) -> tuple:
    """(per-example gradients (N, d), full gradient (d,), sigma^2), from course_lib's loss."""
    full = _loss(w, X, y)[1]
    per_example = np.array([_loss(w, X[[i]], y[[i]])[1] for i in range(len(y))])
    sigma2 = float(np.mean(np.sum((per_example - full) ** 2, axis=1)))
    return per_example, full, sigma2


def _variance_law(case: Case, seed: int, draws: int = 3000) -> tuple:
    """(expected value, standard deviation of one draw's squared error, sigma^2, |grad L|^2,
    the same standard deviation for minibatches drawn with replacement).

    The expectation is exact, sigma^2 / B * (N - B) / (N - 1); the spreads of a single draw
    (for the tolerances) are measured on ``draws`` random minibatches.
    """
    a = case.args
    per_example, full, sigma2 = _gradient_spread(a["X"], a["y"], a["w"])
    n, b = len(a["y"]), a["batch_size"]
    expected = sigma2 / b * (n - b) / (n - 1) if n > 1 else 0.0
    rng = np.random.default_rng(seed)
    subsets = np.argsort(rng.random((draws, n)), axis=1)[:, :b]
    errors = np.sum((per_example[subsets].mean(axis=1) - full) ** 2, axis=1)
    repeated = rng.integers(0, n, size=(draws, b))
    errors_with_replacement = np.sum((per_example[repeated].mean(axis=1) - full) ** 2, axis=1)
    return (
        expected,
        float(np.std(errors)),
        sigma2,
        float(full @ full),
        float(np.std(errors_with_replacement)),
    )


def check_gradient_variance(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``gradient_variance(X, y, w, batch_size, n_draws, rng)`` estimates E||g_B - grad L||^2.

    On seeded cases (B = 1, B small, B = N/2 and B = N), the estimate must be within six
    standard errors of sigma^2 / B * (N - B) / (N - 1), and exactly 0 (up to rounding) at
    B = N, where a minibatch without replacement is the whole data set.
    """
    rng = np.random.default_rng(seed)
    shapes = [(40, 3, 4, 600), (30, 2, 15, 600), (20, 3, 20, 200), (25, 2, 1, 600)]
    if hidden:
        n = int(rng.integers(20, 50))
        shapes.append((n, int(rng.integers(2, 5)), int(rng.integers(n // 3, n - 2)), 600))
    results = []
    for n, d, b, draws in shapes:
        case = _variance_case(rng, n, d, b, draws)
        out = run(student, case, name=_VARIANCE, hidden=hidden)
        got = float(
            as_array(
                out,
                name=_VARIANCE,
                what="the estimate (a single number)",
                shape=(),
                hidden=hidden,
                case=case,
            )
        )
        expected, spread, sigma2, full2, spread_with = _variance_law(case, new_seed(rng))
        tol = 6 * spread / math.sqrt(draws) + 1e-10 * (sigma2 + full2)
        mistakes = _variance_mistakes(
            expected, sigma2, full2, d, b, draws, tol, 6 * spread_with / math.sqrt(draws)
        )
        results.append((case, got, expected, tol, mistakes))
    failing = [r for r in results if not abs(r[1] - r[2]) <= r[3]]
    if not failing:
        return
    case, got, expected, tol, _ = failing[0]
    details = f"expected: {expected:.6g} (within {tol:.2g})\ngot:      {got:.6g}"
    if not math.isfinite(got):
        fail(
            _VARIANCE, "the estimate is NaN or infinite", hidden=hidden, case=case, details=details
        )
    # A mistake explains the estimates if it fits every case (within its Monte Carlo noise)
    # and differs from the right value where the estimate is wrong.
    # When several do (a mean of norms is close to sqrt(E||.||^2), which can be close to
    # E||.||^2 / d), the closest one wins.
    explained = []
    for k, (_, why, _, _) in enumerate(results[0][4]):
        fits = [
            abs(r[1] - r[4][k][0]) <= max(r[4][k][2] * abs(r[4][k][0]), r[4][k][3], r[3])
            for r in results
        ]
        differs = any(abs(r[4][k][0] - r[2]) > r[3] for r in failing)
        if all(fits) and differs:
            distance = sum(abs(r[1] - r[4][k][0]) / max(abs(r[4][k][0]), r[3]) for r in results)
            explained.append((distance, k, why))
    why = (
        min(explained)[2]
        if explained
        else (
            "differs from E||g_B - grad L||^2 by more than its statistical error: each draw takes "
            "a fresh set of batch_size distinct examples, computes the mean gradient on them and "
            "its squared distance to the full gradient; return the average"
        )
    )
    fail(_VARIANCE, why, hidden=hidden, case=case, details=details)


def _variance_mistakes(
    expected: float,
    sigma2: float,
    full2: float,
    d: int,
    b: int,
    draws: int,
    tol: float,
    tol_with_replacement: float,
) -> list:
    """(what the estimate would be, message, relative and absolute tolerances) for each typical
    mistake; ``tol`` is the right estimate's statistical tolerance, which the mistakes scale."""
    return [
        (
            sigma2 / b,
            (
                "your minibatches are drawn with replacement (some examples can appear twice, e.g. "
                "rng.choice without replace=False or rng.integers): draw B distinct examples, "
                "rng.choice(N, size=B, replace=False). Without replacement the error shrinks by "
                "(N - B) / (N - 1) and is 0 at B = N"
            ),
            0.25,
            tol_with_replacement,
        ),
        (
            expected / d,
            (
                "you average the squared error over the d coordinates; the squared norm sums them: "
                "np.sum((g - full) ** 2)"
            ),
            0.25,
            tol / d,
        ),
        (
            math.sqrt(expected),
            (
                "you return a length (a square root, or the mean of the norms), not a squared "
                "length: average ||g_B - grad L||^2 itself over the draws"
            ),
            0.35,
            tol / (2 * math.sqrt(expected)) if expected > 0 else 0.0,
        ),
        (
            draws * expected,
            (
                "you add up the squared errors of the draws without dividing by n_draws: return "
                "their mean"
            ),
            0.25,
            draws * tol,
        ),
        (
            expected + full2,
            (
                "you measure the size of the minibatch gradient, ||g_B||^2, not its deviation from "
                "the full gradient: subtract grad L(w), the gradient on all N examples"
            ),
            0.25,
            tol,
        ),
        (
            b * b * expected + (b - 1) ** 2 * full2,
            (
                "your minibatch gradient is the sum of the example gradients, not their mean: "
                "divide by the batch size"
            ),
            0.25,
            b * b * tol,
        ),
    ]


def check_gradient_variance_rng(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``gradient_variance`` draws its minibatches from ``rng``: the same seed gives the same
    estimate, another seed another one."""
    rng = np.random.default_rng(seed)
    case = _variance_case(rng, 30, 2, 5, 200)
    s1, s2 = new_seed(rng), new_seed(rng)

    def estimate(s):
        c = Case({**case.args, "rng": np.random.default_rng(s)}, case.label)
        return as_array(
            run(student, c, name=_VARIANCE, hidden=hidden),
            name=_VARIANCE,
            what="the estimate (a single number)",
            shape=(),
            hidden=hidden,
            case=c,
        )

    a, again, other = estimate(s1), estimate(s1), estimate(s2)
    if not np.array_equal(a, again):
        fail(
            _VARIANCE,
            "two runs with identically seeded rng gave different estimates: draw "
            "every minibatch from the rng argument (rng.choice(N, size=B, "
            "replace=False)), not from np.random",
            hidden=hidden,
            case=case,
        )
    if np.array_equal(a, other):
        fail(
            _VARIANCE,
            "runs with differently seeded rng gave the same estimate: your function "
            "ignores the rng argument (do you create your own generator with a "
            "fixed seed?); draw every minibatch from rng",
            hidden=hidden,
            case=case,
        )


# --------------------------------------------------------------------------------------------
# Question 4: the experiment
# --------------------------------------------------------------------------------------------
def _fit_slope(batch_sizes, values) -> float:
    return float(np.polyfit(np.log(batch_sizes), np.log(values), 1)[0])


def check_variance_experiment(
    sigma2,
    variances,
    slope,
    gradient_variance: Callable,
    X,
    y,
    w,
    batch_sizes: Sequence[int],
    n_draws: int,
    fit_max: int,
    seed: int,
    hidden: bool = False,
) -> None:
    """The experiment's ``sigma2``, ``variances`` (one per batch size) and ``slope``.

    Visible: a positive sigma^2, one positive estimate per batch size, and the slope of the
    least-squares line through (log B, log variance) for B <= fit_max. Hidden: sigma^2 equals
    (1/N) sum_i ||grad L_i(w) - grad L(w)||^2 (up to the N - 1 convention), and the variances
    are what the student's own ``gradient_variance`` gives with these settings, to rounding,
    with one ``np.random.default_rng(seed)`` passed to every call in order (a fresh generator
    per batch size is named); within a factor 2 (Monte Carlo noise) only if the student's
    gradient_variance cannot be replayed (it ignores its rng, graded by its own test).
    """
    sizes = np.asarray(batch_sizes, dtype=float)
    s2 = as_array(sigma2, name="sigma2", what="sigma2 (a single number)", shape=(), hidden=hidden)
    if not (np.isfinite(s2) and s2 > 0):
        fail("sigma2", "sigma^2 is an average of squared lengths: a positive number", hidden=hidden)
    v = as_array(
        variances,
        name="variances",
        what="variances (one estimate per batch size)",
        shape=(len(sizes),),
        hidden=hidden,
    )
    if not np.all(np.isfinite(v) & (v > 0)):
        fail(
            "variances",
            "every estimate must be a positive, finite number",
            hidden=hidden,
            details=f"variances: {describe(v)}",
        )
    k = as_array(slope, name="slope", what="slope (a single number)", shape=(), hidden=hidden)
    small = sizes <= fit_max
    want = _fit_slope(sizes[small], v[small])
    if not abs(float(k) - want) <= 1e-6 * max(1.0, abs(want)):
        details = f"expected: {want:.6g}\ngot:      {float(k):.6g}"
        candidates = [
            (
                _fit_slope(sizes, v),
                (
                    "you fitted every batch size; fit only those up to FIT_MAX, where the "
                    "finite-population correction is still close to 1"
                ),
            ),
            (
                float(np.polyfit(sizes[small], v[small], 1)[0]),
                (
                    "fit a line to the logarithms, log(variances) against log(B): the law 1/B is a "
                    "straight line of slope -1 only in log-log coordinates"
                ),
            ),
            (
                float(np.polyfit(np.log(v[small]), np.log(sizes[small]), 1)[0]),
                (
                    "you regressed log(B) on log(variances); the slope is that of log(variances) "
                    "against log(B)"
                ),
            ),
        ]
        why = next(
            (
                msg
                for value, msg in candidates
                if abs(float(k) - value) <= 1e-6 * max(1.0, abs(value))
            ),
            "slope must be the slope of the least-squares line through "
            "(log B, log variances) for the batch sizes up to FIT_MAX (np.polyfit(..., "
            "1)[0])",
        )
        fail("slope", why, hidden=hidden, details=details)
    if not hidden:
        return
    _, full, reference = _gradient_spread(
        np.asarray(X, float), np.asarray(y, float), np.asarray(w, float)
    )
    n = len(y)
    if not abs(float(s2) - reference) <= 5e-3 * reference:
        candidates = [
            (n * reference, "sigma^2 is the mean over the examples, not the sum"),
            (
                reference + float(full @ full),
                (
                    "sigma^2 measures the spread of the example gradients around the full "
                    "gradient: subtract grad L(W) before squaring"
                ),
            ),
            (
                reference / np.size(w),
                (
                    "sigma^2 sums the squared coordinates of each deviation (a squared norm); do "
                    "not average them"
                ),
            ),
        ]
        why = next(
            (msg for value, msg in candidates if abs(float(s2) - value) <= 5e-3 * value),
            "sigma^2 differs from (1/N) sum_i ||grad L_i(W) - grad L(W)||^2",
        )
        fail("sigma2", why, hidden=True)

    def replay(shared: bool) -> np.ndarray:
        """The student's gradient_variance with these settings, with one generator passed to
        every call in order (shared) or a fresh np.random.default_rng(seed) per call."""

        def again(X, y, w, batch_sizes, n_draws, seed):
            rng = np.random.default_rng(seed)
            return [
                gradient_variance(
                    X, y, w, int(b), n_draws, rng if shared else np.random.default_rng(seed)
                )
                for b in batch_sizes
            ]

        args = {
            "X": np.asarray(X, float),
            "y": np.asarray(y, float),
            "w": np.asarray(w, float),
            "batch_sizes": list(sizes),
            "n_draws": n_draws,
            "seed": seed,
        }
        return as_array(
            run(again, Case(args), name=_VARIANCE, hidden=True),
            name="variances",
            what="variances",
            shape=(len(sizes),),
            hidden=True,
        )

    # the estimates are deterministic given the seed: to rounding, not within Monte Carlo noise
    shared = replay(shared=True)
    if close(v, shared, 1e-9, 1e-15):
        return
    if not close(shared, replay(shared=True), 1e-9, 1e-15):
        # gradient_variance does not draw from its rng (graded by its own test): the
        # estimates cannot be replayed, only compared within Monte Carlo noise
        if np.all((v / shared < 2) & (v / shared > 1 / 2)):
            return
    if close(v, replay(shared=False), 1e-9, 1e-15):
        fail(
            "variances",
            "you create a new generator np.random.default_rng(SEED) for each batch size, so "
            "every batch size reuses the same random numbers; create one generator before "
            "the loop and pass it to every call of gradient_variance",
            hidden=True,
        )
    fail(
        "variances",
        "your estimates differ from what gradient_variance gives with the experiment's "
        "settings (they are deterministic given the seed): call it with X_DIAB, y_DIAB, W, "
        "each B of BATCH_SIZES in order, N_DRAWS and one generator "
        "np.random.default_rng(SEED) created once before the loop",
        hidden=True,
    )
