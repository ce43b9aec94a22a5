"""Checkers for problem set 1: global and local random search, evaluations to a target.

Random search draws random numbers, so two correct implementations that draw them in a
different order (all samples at once or one by one, ``rng.normal(x, s)`` or
``x + s * rng.standard_normal(d)``) return different points. The checkers therefore test what
the algorithms must *do*, not which numbers they draw:

- the result: every returned number is consistent (``values[k] == f(xs[k])``, ``best_so_far``
  is the running minimum, ``best_x`` is the best point) and ``f`` is called exactly
  ``n_evals`` times;
- global search samples uniformly in the box: inside the bounds, covering them, with the
  mean and spread of a uniform distribution;
- local search proposes each point around the *best point so far* with steps whose size
  matches ``step_size``, i.e. it accepts only improvements;
- both are reproducible with the ``rng`` they are given, and depend on it.

The statistical checks use hundreds of evaluations and tolerances of six standard errors,
so a correct implementation fails them with probability below one in a million; the same
seed always gives the same verdict.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Optional, Sequence

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
from course_lib.grading.problems import CountingBowl

__all__ = [
    "check_global_search_result",
    "check_global_search_sampling",
    "check_local_search_result",
    "check_local_search_moves",
    "check_evaluations_to_target",
    "check_experiment_result",
]

_FIELDS = ("best_x", "best_value", "best_so_far", "xs", "values")
_RESULT = "a SearchResult(best_x, best_value, best_so_far, xs, values)"


# --------------------------------------------------------------------------------------------
# Search boxes (the test objective: course_lib.grading.problems.CountingBowl)
# --------------------------------------------------------------------------------------------
def _random_bounds(rng: np.random.Generator, dim: int, away_from_unit: bool = False):
    """``dim`` (low, high) pairs of random position and width."""
    low = rng.uniform(-4, 2, dim)
    if away_from_unit:  # a box that [0, 1) does not fit in, to catch unscaled samples
        low[0] = rng.uniform(-6, -3)
    width = rng.uniform(0.5, 4, dim)
    if away_from_unit:
        width[0] = rng.uniform(0.5, 2)
    return np.column_stack([low, low + width])


def _pairs(bounds: np.ndarray) -> list:
    return [(round(float(lo), 3), round(float(hi), 3)) for lo, hi in bounds]


# --------------------------------------------------------------------------------------------
# Shared checks of a SearchResult
# --------------------------------------------------------------------------------------------
def _fields(out: Any, name: str, hidden: bool, case: Case) -> dict:
    missing = [f for f in _FIELDS if not hasattr(out, f)]
    if missing:
        fail(
            name,
            f"must return {_RESULT}; what it returned ({type(out).__name__}) has no `{missing[0]}`",
            hidden=hidden,
            case=case,
        )
    return {f: getattr(out, f) for f in _FIELDS}


def _points(
    xs: Any, n: Optional[int], d: int, name: str, hidden: bool, case: Case, count_hint: str
) -> np.ndarray:
    """``xs`` as an (n, d) float array (any number of rows when n is None)."""
    arr = as_array(xs, name=name, what="xs", hidden=hidden, case=case)
    if arr.ndim == 1 and d == 1 and (n is None or arr.size == n):
        fail(
            name,
            "xs must be 2-D, one row per evaluation and one column per dimension, "
            "even in 1-D (use shape (n_evals, 1))",
            hidden=hidden,
            case=case,
        )
    if arr.ndim != 2 or arr.shape[1] != d:
        fail(
            name,
            "xs must have one row per evaluation and one column per dimension"
            + (
                ""
                if hidden
                else f"; got shape {arr.shape}, expected ({'n_evals' if n is None else n}, {d})"
            ),
            hidden=hidden,
            case=case,
        )
    if n is not None and arr.shape[0] != n:
        extra = arr.shape[0] - n
        if abs(extra) == 1:
            fail(
                name,
                f"xs has one row too {'many' if extra > 0 else 'few'}: {count_hint}",
                hidden=hidden,
                case=case,
            )
        fail(
            name,
            "xs must have exactly n_evals rows, one per evaluation"
            + ("" if hidden else f"; got {arr.shape[0]}, expected {n}"),
            hidden=hidden,
            case=case,
        )
    return arr


def _check_consistent(
    out: Any, f: CountingBowl, n: int, d: int, name: str, hidden: bool, case: Case, count_hint: str
) -> dict:
    """Shapes, call count, values == f(xs), running minimum, best value and point."""
    r = _fields(out, name, hidden, case)
    xs = _points(r["xs"], n, d, name, hidden, case, count_hint)
    values = as_array(
        r["values"],
        name=name,
        what="values (one per evaluation)",
        shape=(n,),
        hidden=hidden,
        case=case,
    )
    best_so_far = as_array(
        r["best_so_far"],
        name=name,
        what="best_so_far (one entry per evaluation)",
        shape=(n,),
        hidden=hidden,
        case=case,
    )
    best_x = as_array(
        r["best_x"], name=name, what="best_x (one point)", shape=(d,), hidden=hidden, case=case
    )
    best_value = as_array(
        r["best_value"],
        name=name,
        what="best_value (a single number)",
        shape=(),
        hidden=hidden,
        case=case,
    )
    calls = "" if hidden else f" (called {f.calls} times for n_evals = {n})"
    if f.calls == n + 1:
        fail(
            name,
            f"f was called once too often{calls}: evaluate each point exactly once, "
            f"and take best_value from the values you already have instead of calling "
            f"f again",
            hidden=hidden,
            case=case,
        )
    if f.calls != n:
        twice = f.calls >= 2 * n - 1 and n > 1
        fail(
            name,
            f"f must be called exactly n_evals times, once per evaluated point{calls}"
            + (
                "; you seem to evaluate f twice per point: keep the value you computed"
                if twice
                else ""
            ),
            hidden=hidden,
            case=case,
        )
    true_values = f.values(xs)
    if not close(values, true_values, rtol=1e-10, atol=1e-12):
        fail(
            name,
            "values[k] must be f(xs[k]), the loss at the k-th evaluated point, in the "
            "same order as xs",
            hidden=hidden,
            case=case,
            details=f"f(xs): {describe(true_values)}\nvalues: {describe(values)}",
        )
    running_min = np.minimum.accumulate(true_values)
    if not close(best_so_far, running_min, rtol=1e-12, atol=1e-12):
        if n > 1 and close(best_so_far, true_values):
            why = (
                "best_so_far is just the list of values (the current value at each step); "
                "it must hold the lowest value seen so far: np.minimum.accumulate(values)"
            )
        elif np.any(np.diff(best_so_far) > 0):
            why = (
                "best_so_far goes up at some evaluation, but the best value seen so far "
                "can never increase: best_so_far[k] = min(values[0], ..., values[k])"
            )
        else:
            why = "best_so_far[k] must be min(values[0], ..., values[k])"
        fail(
            name,
            why,
            hidden=hidden,
            case=case,
            details=f"expected: {describe(running_min)}\ngot:      {describe(best_so_far)}",
        )
    k_best = int(np.argmin(true_values))
    if not close(best_value, true_values[k_best], rtol=1e-12, atol=1e-12):
        why = (
            "best_value is the last value, not the lowest one"
            if n > 1 and close(best_value, true_values[-1])
            else "best_value must be the lowest value found, min(values)"
        )
        fail(name, why, hidden=hidden, case=case)
    if not np.array_equal(best_x, xs[k_best]):
        why = (
            "best_x is the last point evaluated, not the best one: keep the point with the "
            "lowest value"
            if n > 1 and np.array_equal(best_x, xs[-1])
            else "best_x must be the evaluated point with the lowest value, xs[argmin(values)]"
        )
        fail(name, why, hidden=hidden, case=case)
    return {"xs": xs, "values": true_values}


def _check_reproducible(
    student: Callable,
    make_args: Callable[[np.random.Generator], dict],
    name: str,
    hidden: bool,
    label: str,
    draw: str,
) -> None:
    """Same seed -> same points; different seeds -> different points."""

    def points(seed):
        args = make_args(np.random.default_rng(seed))
        out = run(student, Case(args, label), name=name, hidden=hidden)
        return as_array(
            _fields(out, name, hidden, Case(args, label))["xs"], name=name, what="xs", hidden=hidden
        )

    a, b, c = points(101), points(101), points(202)
    if a.shape != b.shape or not np.array_equal(a, b):
        fail(
            name,
            "two runs with identically seeded rng gave different points: draw every "
            f"random number from the rng argument ({draw}), not from np.random",
            hidden=hidden,
        )
    if a.shape == c.shape and np.array_equal(a, c):
        fail(
            name,
            "runs with different rng gave the same points: your search ignores the rng "
            "argument (do you create your own generator with a fixed seed?); draw "
            f"every random number from rng ({draw})",
            hidden=hidden,
        )


# --------------------------------------------------------------------------------------------
# Question 1: global random search
# --------------------------------------------------------------------------------------------
_GLOBAL_COUNT = "draw exactly n_evals points and evaluate each one once"


def _global_case(
    rng: np.random.Generator, dim: int, n: int, hidden: bool, as_list: bool, away: bool = False
) -> Case:
    f = CountingBowl(rng, dim, name="global_random_search", hidden=hidden)
    bounds = _random_bounds(rng, dim, away)
    b = _pairs(bounds) if as_list else np.round(bounds, 3)
    label = (
        f"f = a {dim}-D bowl, bounds = {b if as_list else describe(b)}, n_evals = {n}, "
        f"rng = np.random.default_rng(...)"
    )
    rng_arg = np.random.default_rng(int(rng.integers(1 << 31)))
    return Case({"f": f, "bounds": b, "n_evals": n, "rng": rng_arg}, label)


def check_global_search_result(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``global_random_search(f, bounds, n_evals, rng)`` returns a consistent SearchResult.

    Checks shapes, that f is called exactly n_evals times, ``values == f(xs)``,
    ``best_so_far`` (the running minimum), ``best_value`` and ``best_x``, on several seeded
    cases (1-D to 4-D, 1 to 60 evaluations, bounds as a list of pairs or an array).
    """
    rng = np.random.default_rng(seed)
    shapes = [(2, 40), (1, 1), (3, int(rng.integers(10, 60))), (1, 7), (int(rng.integers(2, 5)), 2)]
    cases = [
        _global_case(rng, dim, n, hidden, as_list=i % 2 == 0) for i, (dim, n) in enumerate(shapes)
    ]
    f = CountingBowl(rng, 2, name="global_random_search", hidden=hidden)
    cases.append(
        Case(
            {
                "f": f,
                "bounds": [(-2, 3), (0, 1)],
                "n_evals": 9,
                "rng": np.random.default_rng(int(rng.integers(1 << 31))),
            },
            "f = a 2-D bowl, integer bounds = [(-2, 3), (0, 1)], n_evals = 9",
        )
    )
    for case in cases:
        out = run(student, case, name="global_random_search", hidden=hidden)
        _check_consistent(
            out,
            case.args["f"],
            case.args["n_evals"],
            len(case.args["bounds"]),
            "global_random_search",
            hidden,
            case,
            _GLOBAL_COUNT,
        )


def check_global_search_sampling(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``global_random_search`` samples uniformly in the box and uses the rng it is given.

    On a few cases with hundreds of samples: every point lies inside the bounds, each
    coordinate covers its interval with the mean and spread of a uniform distribution, and
    the points are reproducible with the same seed and change with it.
    """
    name = "global_random_search"
    rng = np.random.default_rng(seed)
    for dim, away in [(2, True), (1, False), (3, True)]:
        n = int(rng.integers(400, 700))
        case = _global_case(rng, dim, n, hidden, as_list=dim != 3, away=away)
        out = run(student, case, name=name, hidden=hidden)
        xs = _points(
            _fields(out, name, hidden, case)["xs"], None, dim, name, hidden, case, _GLOBAL_COUNT
        )
        _check_uniform(xs, np.asarray(case.args["bounds"], float), name, hidden, case)
    _check_reproducible(
        student,
        lambda r: {
            "f": CountingBowl(r, 2, name=name, hidden=hidden),
            "bounds": [(-1.0, 2.0), (0.5, 3.0)],
            "n_evals": 20,
            "rng": r,
        },
        name,
        hidden,
        "a 2-D bowl, bounds [(-1, 2), (0.5, 3)], 20 evaluations",
        "e.g. rng.uniform(low, high)",
    )


def _inside(xs: np.ndarray, low, high) -> bool:
    return bool(np.all((xs >= low) & (xs <= high)))


def _check_uniform(xs: np.ndarray, bounds: np.ndarray, name: str, hidden: bool, case: Case) -> None:
    low, high = bounds[:, 0], bounds[:, 1]
    if not _inside(xs, low, high):
        dim = len(bounds)
        if _inside(xs, 0.0, 1.0):
            why = (
                "your points lie in [0, 1), not in the box: scale them, "
                "low + (high - low) * u, or use rng.uniform(low, high, size)"
            )
        elif dim == 2 and _inside(xs, bounds.min(axis=0), bounds.max(axis=0)):
            why = (
                "bounds holds one (low, high) row per dimension, so the lows are "
                "bounds[:, 0] and the highs bounds[:, 1]; you used bounds[0] and bounds[1]"
            )
        elif _inside(xs, low[0], high[0]) and dim > 1:
            why = "every coordinate was drawn from the first (low, high) pair of bounds"
        else:
            why = "some points lie outside the bounds: each coordinate must stay in its (low, high)"
        fail(name, why, hidden=hidden, case=case)
    n = len(xs)
    width = high - low
    u = (xs - low) / width  # should be uniform on [0, 1] in every coordinate
    mean_ok = np.all(np.abs(u.mean(axis=0) - 0.5) <= 6 * math.sqrt(1 / 12 / n))
    var_ok = np.all(np.abs(u.var(axis=0) * 12 - 1) <= 6 * math.sqrt(0.8 / n) + 0.02)
    cover_ok = np.all(u.min(axis=0) < 0.05) and np.all(u.max(axis=0) > 0.95)
    if not (mean_ok and var_ok and cover_ok):
        if np.unique(xs, axis=0).shape[0] < n // 2:
            why = "many of your points are repeated: draw a fresh point for every evaluation"
        else:
            why = (
                "the points are not spread uniformly over the box: draw each coordinate "
                "uniformly between its low and its high (rng.uniform(low, high, size))"
            )
        fail(name, why, hidden=hidden, case=case)


# --------------------------------------------------------------------------------------------
# Question 2: local random search
# --------------------------------------------------------------------------------------------
_LOCAL_COUNT = "x0 counts as the first of the n_evals evaluations, so make n_evals - 1 proposals"


def _explain_local_error(exc: BaseException) -> Optional[str]:
    if isinstance(exc, TypeError) and "cast" in str(exc).lower():
        return "x0 may be an integer array: work on a float copy, x = np.array(x0, dtype=float)"
    return None


def _local_case(
    rng: np.random.Generator,
    dim: int,
    n: int,
    hidden: bool,
    integer_x0: bool = False,
    distance: Optional[float] = None,
) -> Case:
    f = CountingBowl(rng, dim, name="local_random_search", hidden=hidden)
    step = float(np.round(rng.uniform(0.05, 0.5), 3))
    if integer_x0:
        x0 = rng.integers(-3, 4, dim)
    elif distance is not None:  # start a few steps away from the minimum
        direction = rng.standard_normal(dim)
        x0 = np.round(
            f.center + distance * step * math.sqrt(dim) * direction / np.linalg.norm(direction), 3
        )
    else:
        x0 = np.round(rng.uniform(-2, 2, dim), 3)
    label = (
        f"f = a {dim}-D bowl, x0 = {describe(x0)}, step_size = {step}, n_evals = {n}, "
        f"rng = np.random.default_rng(...)"
    )
    return Case(
        {
            "f": f,
            "x0": x0,
            "step_size": step,
            "n_evals": n,
            "rng": np.random.default_rng(int(rng.integers(1 << 31))),
        },
        label,
    )


def check_local_search_result(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``local_random_search(f, x0, step_size, n_evals, rng)`` returns a consistent SearchResult.

    Checks that x0 is not modified (also when it is an integer array), ``xs[0] == x0``, f is
    called exactly n_evals times, ``values == f(xs)``, ``best_so_far``, ``best_value`` and
    ``best_x`` (a new array, not x0 itself), on seeded cases from 1 to 40 evaluations.
    """
    name = "local_random_search"
    rng = np.random.default_rng(seed)
    shapes = [
        (2, 30, False),
        (1, 1, False),
        (3, int(rng.integers(5, 40)), True),
        (1, 2, False),
        (int(rng.integers(2, 6)), 12, False),
    ]
    for dim, n, integer_x0 in shapes:
        case = _local_case(rng, dim, n, hidden, integer_x0=integer_x0)
        out = run(
            student, case, name=name, hidden=hidden, no_aliasing=True, explain=_explain_local_error
        )
        checked = _check_consistent(out, case.args["f"], n, dim, name, hidden, case, _LOCAL_COUNT)
        if not np.array_equal(checked["xs"][0], np.asarray(case.args["x0"], float)):
            fail(
                name,
                "xs[0] must be x0: the start point is the first evaluated point",
                hidden=hidden,
                case=case,
            )


def _step_ratio(xs: np.ndarray, centres: np.ndarray, step: float) -> tuple[float, float, int]:
    """(mean squared step / step_size^2, z-score of the mean step, number of coordinates)."""
    steps = xs[1:] - centres
    n = steps.size
    return float(np.mean(steps**2) / step**2), float(steps.sum() / (step * math.sqrt(n))), n


def _running_arg(values: np.ndarray, better: Callable) -> np.ndarray:
    """Index of the current point after each evaluation when moving on ``better``."""
    idx = np.zeros(len(values), dtype=int)
    for k in range(1, len(values)):
        idx[k] = k if better(values[k], values[idx[k - 1]]) else idx[k - 1]
    return idx


def _centres(xs: np.ndarray, values: np.ndarray, x0: np.ndarray) -> dict:
    """The point each proposal ``xs[k]`` (k >= 1) is drawn around, under each way of moving:
    the right one ("best": move only on an improvement) and the typical slips."""
    first = values[0]
    return {
        "best": xs[_running_arg(values, lambda new, old: new < old)][:-1],
        "previous": xs[:-1],
        "x0": np.broadcast_to(x0, xs[:-1].shape),
        "worst": xs[_running_arg(values, lambda new, old: new > old)][:-1],
        # x = y without fx = fy: every later proposal is compared with f(x0)
        "stale": xs[_running_arg(values, lambda new, old: new < first)][:-1],
    }


_MOVE_SLIPS = {
    "previous": "you move to every proposal, even when it is worse (a random walk): move to y "
    "only if f(y) < f(x), otherwise stay at x",
    "x0": "every proposal is drawn around x0: after accepting y, the next proposals must be "
    "drawn around y (x = y)",
    "worst": "you move to a proposal when it is *worse*: the comparison is the wrong way round, "
    "accept y only if f(y) < f(x)",
    "stale": "you move to y but keep the old value fx: every proposal is compared with f(x0) "
    "instead of the value of the current point; update both, x, fx = y, fy",
}


def _fits(ratio: float, z: float, count: int) -> bool:
    """Steps whose mean square is step_size**2 and whose mean is 0, within six standard
    errors (plus 2 % for the mean square)."""
    return abs(ratio - 1) <= 6 * math.sqrt(2 / count) + 0.02 and abs(z) <= 6


def _diagnose_moves(runs: list) -> str:
    """The message for local searches whose steps from the best point so far do not look like
    ``step_size * rng.standard_normal(dim)`` on some case.

    ``runs`` holds ``(xs, values, x0, step)`` of every case. A slip of the moves (moving to
    every proposal, drawing around x0, accepting worse points, comparing with f(x0)) is named
    only if the steps measured from its centres are right on every case and lie closer to them
    than to the best point so far (the closest such centres if several are); a wrong step
    length only if the steps from the best point are normal with one common spread on every
    case (their kurtosis within three standard errors of a normal's 3: a search that
    sometimes draws around another point has heavier tails), uniform steps likewise.
    Otherwise the message says what differs and lists the candidates.
    """
    spread = {key: 0.0 for key in _MOVE_SLIPS}
    fitted = {key: True for key in _MOVE_SLIPS}
    ratios, counts, centred, unit, best_spread = [], [], True, [], 0.0
    for xs, values, x0, step in runs:
        centres = _centres(xs, values, x0)
        for key in _MOVE_SLIPS:
            ratio, z, count = _step_ratio(xs, centres[key], step)
            fitted[key] = fitted[key] and _fits(ratio, z, count)
            spread[key] += ratio * count
        ratio, z, count = _step_ratio(xs, centres["best"], step)
        ratios.append(ratio)
        counts.append(count)
        best_spread += ratio * count
        centred = centred and abs(z) <= 6 * math.sqrt(ratio)
        unit.append(((xs[1:] - centres["best"]) / (step * math.sqrt(ratio))).ravel())
    # the centres a proposal is drawn around are the ones it lies closest to, on average
    named = [key for key, ok in fitted.items() if ok and spread[key] < best_spread]
    if named:
        return _MOVE_SLIPS[min(named, key=spread.get)]
    ratios, counts = np.array(ratios), np.array(counts)
    pooled = float(np.sum(ratios * counts) / np.sum(counts))
    one_spread = bool(np.all(np.abs(ratios / pooled - 1) <= 6 * np.sqrt(2 / counts) + 0.02))
    u = np.concatenate(unit)
    kurtosis, se = float(np.mean(u**4)), math.sqrt(24 / u.size)
    factor = math.sqrt(pooled)
    if centred and one_spread and abs(kurtosis - 3) <= 3 * se:
        return (
            f"your steps are about {factor:.1f} times {'longer' if factor > 1 else 'shorter'} "
            f"than they should be: each coordinate of a step is normal with standard "
            f"deviation step_size, step_size * rng.standard_normal(dim)"
        )
    if centred and one_spread and abs(kurtosis - 1.8) <= 3 * se and abs(pooled * 3 - 1) <= 0.1:
        return (
            "your steps are uniform on [-step_size, step_size]; each coordinate of a step "
            "must be normal with standard deviation step_size: "
            "step_size * rng.standard_normal(dim)"
        )
    farther = (
        f"about {factor:.1f} times as far from the best point so far as "
        if abs(factor - 1) >= 0.05
        else "at distances from the best point so far unlike those of "
    )
    return (
        f"your proposals lie {farther}steps step_size * rng.standard_normal(dim) would put "
        f"them{'' if centred else ', and not centred on it'}, and no single typical slip "
        f"explains it on every test case. Candidates: the proposals are not always drawn "
        f"around the best point so far (x is moved to a worse point now and then, or fx is "
        f"not updated with x), or the steps have the wrong size or distribution. Propose "
        f"y = x + step_size * rng.standard_normal(dim) and move (x, fx = y, fy) only if "
        f"f(y) < f(x)"
    )


def check_local_search_moves(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``local_random_search`` proposes around the best point so far and uses its rng.

    On cases with hundreds of evaluations, each proposal ``xs[k]`` minus the current point
    (the best point among ``xs[:k]``, since only improvements are accepted) must look like
    ``step_size * rng.standard_normal(dim)``: mean squared step ``step_size**2`` and mean 0,
    within six standard errors. When it does not on some case, :func:`_diagnose_moves` looks
    at every case to name the slip, or to say what differs. Then the search must be
    reproducible with the same seed and change with it.
    """
    name = "local_random_search"
    rng = np.random.default_rng(seed)
    runs, first_wrong = [], None
    for dim, n in [(2, 300), (1, 400), (5, 200)]:
        case = _local_case(rng, dim, n, hidden, distance=3.0)
        out = run(student, case, name=name, hidden=hidden, explain=_explain_local_error)
        xs = _points(
            _fields(out, name, hidden, case)["xs"], None, dim, name, hidden, case, _LOCAL_COUNT
        )
        if len(xs) < 3:
            fail(
                name,
                "the search stops too early: it must make n_evals - 1 proposals",
                hidden=hidden,
                case=case,
            )
        step = case.args["step_size"]
        values = case.args["f"].values(xs)
        x0 = np.asarray(case.args["x0"], float)
        runs.append((xs, values, x0, step))
        current = _centres(xs, values, x0)["best"]
        if first_wrong is None and not _fits(*_step_ratio(xs, current, step)):
            first_wrong = case
    if first_wrong is not None:
        fail(name, _diagnose_moves(runs), hidden=hidden, case=first_wrong)
    _check_reproducible(
        student,
        lambda r: {
            "f": CountingBowl(r, 2, name=name, hidden=hidden),
            "x0": np.zeros(2),
            "step_size": 0.3,
            "n_evals": 20,
            "rng": r,
        },
        name,
        hidden,
        "a 2-D bowl, x0 = [0, 0], step_size = 0.3, 20 evaluations",
        "e.g. rng.standard_normal(dim)",
    )


# --------------------------------------------------------------------------------------------
# Question 3: evaluations to reach a target, and the experiment
# --------------------------------------------------------------------------------------------
def _evaluations_to_target(best_so_far, target):
    """The reference: 1-based count of the first evaluation with best_so_far <= target."""
    hit = np.flatnonzero(np.asarray(best_so_far, dtype=float) <= target)
    return int(hit[0]) + 1 if hit.size else math.inf


def _e2t_cases(rng: np.random.Generator) -> list[Case]:
    def curve(n):
        return np.round(np.minimum.accumulate(rng.uniform(0, 1, n) * np.geomspace(1, 1e-3, n)), 6)

    cases = [
        Case(
            {"best_so_far": np.array([0.5, 0.3, 0.3, 0.05, 0.01, 0.001]), "target": 0.01},
            "best_so_far = [0.5, 0.3, 0.3, 0.05, 0.01, 0.001], target = 0.01",
        ),
        Case(
            {"best_so_far": np.array([0.5, 0.4, 0.2]), "target": 0.1},
            "best_so_far = [0.5, 0.4, 0.2], target = 0.1 (never reached)",
        ),
        Case(
            {"best_so_far": [0.05, 0.04], "target": 0.1},
            "best_so_far = [0.05, 0.04] (a list), target = 0.1",
        ),
    ]
    for _ in range(3):
        c = curve(int(rng.integers(20, 200)))
        k = int(rng.integers(1, len(c)))
        target = float(c[k])  # reached exactly at some evaluation: tests <=
        cases.append(
            Case(
                {"best_so_far": c, "target": target},
                f"best_so_far = {describe(c)}, target = {target:.6g}",
            )
        )
    never = curve(30)
    cases.append(
        Case(
            {"best_so_far": never, "target": float(never.min()) / 2},
            f"best_so_far = {describe(never)}, target below its minimum",
        )
    )
    return cases


def check_evaluations_to_target(student: Callable, seed: int = 0, hidden: bool = False) -> None:
    """``evaluations_to_target(best_so_far, target)``: 1-based count, ``math.inf`` if never."""
    name = "evaluations_to_target"

    def strict(b, t):
        hit = np.flatnonzero(np.asarray(b, dtype=float) < t)
        return int(hit[0]) + 1 if hit.size else math.inf

    mistakes = [
        Mistake(
            "zero_based",
            "you return the index of the first evaluation that reaches the "
            "target; the number of evaluations is that index + 1 (the first evaluation, "
            "best_so_far[0], counts as 1)",
            variant=lambda b, t: _evaluations_to_target(b, t) - 1,
        ),
        Mistake(
            "strict",
            "a value exactly equal to the target reaches it: compare with <=, not <",
            variant=strict,
        ),
        Mistake(
            "not_inf",
            "when the target is never reached, return math.inf (not a count, -1 or 0)",
            predicate=lambda got, case: _evaluations_to_target(**case.args) == math.inf,
        ),
        Mistake(
            "argmin",
            "you return where the lowest value is, not the first evaluation that "
            "reaches the target",
            variant=lambda b, t: int(np.argmin(b)) + 1,
        ),
    ]
    check_against_reference(
        student,
        _evaluations_to_target,
        _e2t_cases(np.random.default_rng(seed)),
        name=name,
        hidden=hidden,
        what="the count",
        rtol=0.0,
        atol=0.0,
        mistakes=mistakes,
        verdict="wrong number of evaluations",
        details=lambda expected, got, out: f"expected: {expected}\ngot:      {describe(out)}",
    )


def _sphere(x) -> float:
    x = np.asarray(x, dtype=float)
    return 0.5 * float(x @ x)


def check_experiment_result(
    evals,
    dims: Sequence[int],
    target: float,
    n_evals: int,
    step_length: float,
    seeds: Sequence[int],
    hidden: bool = False,
) -> None:
    """The experiment's medians ``evals`` (one per dimension in ``dims``) look right.

    Visible: one finite number >= 1 per dimension, growing with the dimension. Hidden: equal,
    to rounding, to the same experiment run with course_lib's local random search (it is
    deterministic), counting from 1 or, a slip already graded in Question 3, from 0; a wrong
    average, step size or start point is named when it reproduces every median.
    """
    name = "evals"
    dims = [int(d) for d in dims]
    got = as_array(
        evals,
        name=name,
        what="evals (one median per dimension in DIMS)",
        shape=(len(dims),),
        hidden=hidden,
    )
    if not np.all(np.isfinite(got)):
        fail(
            name,
            "some medians are infinite: the target was never reached in most runs; "
            "check the step size (STEP_LENGTH / sqrt(d) per coordinate), the start "
            "point x0 = ones(d) / sqrt(d) and the budget N_EVALS",
            hidden=hidden,
        )
    if np.any(got < 1):
        fail(name, "a number of evaluations is at least 1", hidden=hidden)
    growth = np.corrcoef(np.log(dims), np.log(got))[0, 1] if np.ptp(got) > 0 else 0.0
    if got[-1] < 5 * got[0] or growth < 0.9:
        fail(
            name,
            "the number of evaluations should grow clearly with the dimension; check "
            "that each run uses the dimension d of its loop (x0, step size)",
            hidden=hidden,
            details=f"evals: {describe(got)}",
        )
    if not hidden:
        return
    settings = (tuple(dims), float(target), int(n_evals), float(step_length), tuple(seeds))
    if _experiment_matches(got, _experiment_counts(*settings)):
        return
    # each slip that reproduces the medians (to rounding) on every dimension, with the counts
    # or the runs it changes
    slips = [
        (
            "you take the mean over the seeds; the question asks for the median (np.median), "
            "which one slow run does not pull up",
            lambda: _experiment_counts(*settings),
            np.mean,
        ),
        (
            "your per-coordinate step size is STEP_LENGTH / d; it is STEP_LENGTH / "
            "math.sqrt(d), which keeps the length of a step at STEP_LENGTH in every dimension",
            lambda: _experiment_counts(*settings, step=lambda d: step_length / d),
            np.median,
        ),
        (
            "your per-coordinate step size is STEP_LENGTH in every dimension; it is "
            "STEP_LENGTH / math.sqrt(d), so that a step has length STEP_LENGTH",
            lambda: _experiment_counts(*settings, step=lambda d: step_length),
            np.median,
        ),
        (
            "your start point is np.ones(d); it is np.ones(d) / math.sqrt(d), at distance 1 "
            "from the minimum in every dimension",
            lambda: _experiment_counts(*settings, x0=lambda d: np.ones(d)),
            np.median,
        ),
    ]
    matching = [
        message for message, counts, average in slips if _experiment_matches(got, counts(), average)
    ]
    fail(
        name,
        matching[0]
        if len(matching) == 1
        else "your medians differ from what this experiment gives (it is deterministic: "
        "every run uses course_lib's reference_local_search with its own seed); check the "
        "step size STEP_LENGTH / sqrt(d) per coordinate, x0 = ones(d) / sqrt(d), TARGET, "
        "N_EVALS, one np.random.default_rng(seed) per run and the median over SEEDS",
        hidden=True,
    )


@functools.lru_cache(maxsize=4)
def _experiment_counts(
    dims: tuple,
    target: float,
    n_evals: int,
    step_length: float,
    seeds: tuple,
    step: Optional[Callable] = None,
    x0: Optional[Callable] = None,
) -> tuple:
    """Question 4's experiment with course_lib's local random search: for each dimension,
    the evaluations each seed's run needs (deterministic, so computed once per setting)."""
    from course_lib.search import local_random_search as reference

    out = []
    for d in dims:
        start = x0(d) if x0 is not None else np.ones(d) / math.sqrt(d)
        size = step(d) if step is not None else step_length / math.sqrt(d)
        curves = [
            reference(_sphere, start, size, n_evals, rng=np.random.default_rng(s)).best_so_far
            for s in seeds
        ]
        out.append(tuple(_evaluations_to_target(c, target) for c in curves))
    return tuple(out)


def _experiment_matches(got: np.ndarray, counts: tuple, average: Callable = np.median) -> bool:
    """``got`` is the average over the seeds of ``counts``, to rounding (a median of whole
    numbers may be rounded to one), counting evaluations from 1 or, as a slip of Question 3
    already graded there, from 0."""
    want = np.array([average(c) for c in counts], dtype=float)
    return any(
        got.shape == want.shape and np.all(np.abs(got - (want - shift)) <= 0.5 + 1e-9)
        for shift in (0, 1)
    )
