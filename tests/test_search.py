"""Tests for course_lib.search: random search and why it collapses in high dimension."""

import math
import re
import warnings

import numpy as np
import pytest

from course_lib.landscapes import Himmelblau, Quadratic, XCos
from course_lib.optim import SGD
from course_lib.search import (
    SearchResult,
    evaluations_to_target,
    global_random_search,
    improving_direction_probability,
    improving_direction_probability_exact,
    local_random_search,
)
from course_lib.train import run


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def sphere(x):
    return float(np.sum(np.asarray(x) ** 2))


# --------------------------------------------------------------------------------------------
# Global and local random search
# --------------------------------------------------------------------------------------------
def test_global_search_respects_bounds_and_improves_monotonically():
    f = Himmelblau()
    res = global_random_search(f, f.bounds, n_evals=300, rng=0)
    assert isinstance(res, SearchResult)
    assert res.xs.shape == (300, 2) and res.values.shape == res.best_so_far.shape == (300,)
    b = np.asarray(f.bounds)
    assert np.all((res.xs >= b[:, 0]) & (res.xs <= b[:, 1]))
    np.testing.assert_allclose(res.values, f.value(res.xs))
    assert np.all(np.diff(res.best_so_far) <= 0)
    np.testing.assert_array_equal(res.best_so_far, np.minimum.accumulate(res.values))
    assert res.best_value == res.values.min() == f.value(res.best_x)
    np.testing.assert_array_equal(res.path[-1], res.best_x)
    assert res.accepted.sum() == len(np.unique(res.best_so_far))


def test_global_search_is_reproducible_and_vectorisation_does_not_change_it():
    f = Himmelblau()
    a = global_random_search(f, f.bounds, 100, rng=7)
    b = global_random_search(lambda x: f.value(x), f.bounds, 100, rng=7)  # one call per point
    c = global_random_search(f, f.bounds, 100, rng=8)
    np.testing.assert_array_equal(a.xs, b.xs)
    np.testing.assert_allclose(a.values, b.values)
    assert not np.array_equal(a.xs, c.xs)


def test_local_search_accepts_only_improvements():
    f = Himmelblau()
    x0 = np.array([0.0, 0.0])
    res = local_random_search(f, x0, step_size=0.3, n_evals=200, rng=1)
    np.testing.assert_array_equal(x0, 0.0)  # not modified
    np.testing.assert_array_equal(res.xs[0], x0)
    assert res.values[0] == f.value(x0)
    assert np.all(np.diff(res.best_so_far) <= 0) and res.best_so_far[-1] < f.value(x0)
    acc = res.accepted
    assert acc[0] and 2 < acc.sum() < 200
    # every proposal is a step from the current point (the last accepted one)
    steps = res.xs[1:] - res.path[:-1]
    assert np.all(np.abs(steps) < 0.3 * 6)  # Gaussian steps of scale 0.3
    # an accepted proposal is strictly better than everything before it
    vals = res.values
    for k in np.flatnonzero(acc)[1:]:
        assert vals[k] < vals[:k].min()


def test_local_search_sphere_steps_have_exact_length_and_bounds_are_respected():
    res = local_random_search(sphere, np.ones(5), 0.2, 300, rng=0, distribution="sphere")
    lengths = np.linalg.norm(res.xs[1:] - res.path[:-1], axis=1)
    np.testing.assert_allclose(lengths, 0.2, rtol=1e-12)
    box = [(-1.0, 1.0), (0.5, 1.0)]
    res = local_random_search(
        sphere, [0.9, 0.9], 0.5, 300, rng=0, distribution="uniform", bounds=box
    )
    assert np.all(res.xs[:, 1] >= 0.5) and np.all(np.abs(res.xs) <= 1.0)
    assert res.best_x[1] == pytest.approx(0.5, abs=0.05)  # pressed against the bound


def test_local_search_reproducible_and_ignores_nan():
    a = local_random_search(sphere, np.ones(3), 0.1, 50, rng=4)
    b = local_random_search(sphere, np.ones(3), 0.1, 50, rng=4)
    np.testing.assert_array_equal(a.xs, b.xs)
    nan_left = lambda x: np.nan if x[0] < 0.9 else sphere(x)
    res = local_random_search(nan_left, np.ones(2), 0.3, 100, rng=0)
    assert np.all(np.isfinite(res.best_so_far)) and res.path[:, 0].min() >= 0.9


def test_one_dimensional_landscapes_work():
    f = XCos()
    glob = global_random_search(f, f.bounds, 200, rng=0)  # bounds is a single (low, high) pair
    loc = local_random_search(f, 5.0, 0.5, 200, rng=0)  # a number as x0
    assert glob.xs.shape == loc.xs.shape == (200, 1)
    np.testing.assert_allclose(glob.values, f.value(glob.xs[:, 0]))
    assert loc.best_value < f.value(5.0) and glob.best_value < 0


def test_local_search_beats_global_search_in_high_dimension():
    dim, n = 30, 2000
    glob = global_random_search(sphere, [(-1.0, 1.0)] * dim, n, rng=0)
    loc = local_random_search(sphere, np.full(dim, 0.5), 0.05, n, rng=0)
    assert loc.values[0] == pytest.approx(7.5)  # x0 is typical of the cube: E|x|^2 = dim/3 = 10
    assert loc.best_value < 0.5 * glob.best_value


# --------------------------------------------------------------------------------------------
# Chance of an improving direction
# --------------------------------------------------------------------------------------------
def test_improving_direction_probability_shrinks_with_dimension_and_matches_theory():
    dims = [1, 2, 5, 10, 50, 200]
    n = 40_000
    est = [improving_direction_probability(d, n, rng=0) for d in dims]
    exact = [improving_direction_probability_exact(d) for d in dims]
    assert exact[0] == 0.5 and all(np.diff(exact) < 0)
    for e, p in zip(est, exact):
        assert abs(e - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-9
    assert est[-1] < 0.001


def test_exact_probability_agrees_with_brute_force_directions():
    """Check the documented quantity itself: random unit vectors, a step of 0.5 from e_1."""
    rng = np.random.default_rng(0)
    dim, n, step = 6, 100_000, 0.5
    u = rng.standard_normal((n, dim))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    x = np.eye(dim)[0]
    frac = np.mean(np.sum((x + step * u) ** 2, axis=1) < 1.0)
    assert frac == pytest.approx(improving_direction_probability_exact(dim, step), abs=0.006)


def test_improving_direction_probability_small_and_large_steps():
    tiny = improving_direction_probability(500, 20_000, 0, step=1e-4)
    assert tiny == pytest.approx(0.5, abs=0.02)
    assert improving_direction_probability(3, 1000, 0, step=2.0) == 0.0
    assert improving_direction_probability_exact(3, step=2.5) == 0.0
    assert improving_direction_probability(7, 500, 3) == improving_direction_probability(7, 500, 3)


# --------------------------------------------------------------------------------------------
# Evaluations to reach a target
# --------------------------------------------------------------------------------------------
def test_gradient_costs_on_the_sphere():
    # lr = 1 / lambda_max = 1 on the sphere: one step lands on the minimum
    assert evaluations_to_target("gradient", 10, 1e-3) == 2  # forward + backward pass
    assert evaluations_to_target("gradient", 10, 1e-3, gradient_cost="finite_difference") == 11
    assert evaluations_to_target("gradient", 10, 1e-3, gradient_cost=2.5) == 2.5
    assert evaluations_to_target("gradient", 10, 0.6) == 0  # f(x0) = 0.5 already below


@pytest.mark.parametrize("dim, kappa, lr", [(2, 10.0, None), (5, 30.0, 0.01), (8, 5.0, 0.3)])
def test_gradient_step_count_matches_running_gradient_descent(dim, kappa, lr):
    lam = np.geomspace(1.0, kappa, dim)
    step = 1.0 / kappa if lr is None else lr
    traj = run(SGD(lr=step), Quadratic(np.diag(lam)), np.full(dim, dim**-0.5), steps=3000)
    target = 1e-4
    expected = int(np.argmax(traj.losses <= target))
    got = evaluations_to_target(
        "gradient", dim, target, condition_number=kappa, lr=lr, gradient_cost=1
    )
    assert got == expected > 0


def test_gradient_divergence_and_cap_give_inf():
    assert evaluations_to_target("gradient", 4, 1e-3, lr=2.5) == math.inf  # lr > 2 / lambda_max
    capped = evaluations_to_target("gradient", 4, 1e-6, condition_number=100, max_evals=10)
    assert capped == math.inf


def test_local_count_matches_local_random_search():
    dim, target, max_evals = 5, 0.02, 3000
    got = evaluations_to_target("local", dim, target, rng=0, max_evals=max_evals, step_size=0.1)
    f = lambda x: 0.5 * np.sum(x**2)
    res = local_random_search(
        f, np.full(dim, dim**-0.5), 0.1, max_evals, rng=0, distribution="sphere"
    )
    assert got == int(np.argmax(res.values <= target)) + 1


def test_random_search_costs_grow_with_dimension_and_gradient_costs_do_not():
    glob = [evaluations_to_target("global", d, 0.05, rng=0, max_evals=20_000) for d in (1, 2, 8)]
    assert glob[0] < glob[1] and glob[2] == math.inf
    loc = [
        np.median([evaluations_to_target("local", d, 0.02, rng=s) for s in range(5)])
        for d in (2, 8, 32)
    ]
    assert loc[0] < loc[1] < loc[2] < math.inf
    grad = [evaluations_to_target("gradient", d, 1e-3, condition_number=10) for d in (2, 8, 128)]
    # lr = 1/lambda_max shrinks every coordinate by at least (1 - 1/kappa) per step and
    # f(x0) <= kappa/2, whatever the dimension: a dimension-free bound on the step count
    bound = math.log(10 / 2 / 1e-3) / (-2 * math.log(1 - 1 / 10))
    assert all(0 < g <= 2 * bound for g in grad)  # 2 evaluations per backprop gradient


def test_bad_arguments_raise_value_errors_naming_them():
    cases = [
        ("bounds", lambda: global_random_search(sphere, [(1.0, 0.0)], 10)),
        ("bounds", lambda: global_random_search(sphere, [1.0, 0.0], 10)),
        ("bounds", lambda: global_random_search(sphere, [(0.0, 1.0, 2.0)], 10)),
        ("f(x)", lambda: local_random_search(lambda x: x, [0.0, 1.0], 0.1, 10)),
        ("n_evals", lambda: global_random_search(sphere, [(0.0, 1.0)], 0)),
        ("step_size", lambda: local_random_search(sphere, [0.0], 0.0, 10)),
        ("distribution", lambda: local_random_search(sphere, [0.0], 0.1, 10, distribution="t")),
        ("x0", lambda: local_random_search(sphere, [[0.0]], 0.1, 10)),
        ("bounds", lambda: local_random_search(sphere, [0.0, 0.0], 0.1, 10, bounds=[(0.0, 1.0)])),
        ("dim", lambda: improving_direction_probability(0, 10)),
        ("n_samples", lambda: improving_direction_probability(3, 0)),
        ("step", lambda: improving_direction_probability_exact(3, step=-1.0)),
        ("method", lambda: evaluations_to_target("newton", 2, 0.1)),
        ("dim", lambda: evaluations_to_target("local", 1.5, 0.1)),
        ("max_evals", lambda: evaluations_to_target("global", 2, 0.1, max_evals=0)),
        ("gradient_cost", lambda: evaluations_to_target("gradient", 2, 0.1, gradient_cost="free")),
        ("gradient_cost", lambda: evaluations_to_target("gradient", 2, 0.1, gradient_cost=0)),
        (
            "condition_number",
            lambda: evaluations_to_target("gradient", 2, 0.1, condition_number=0.5),
        ),
    ]
    for name, call in cases:
        with pytest.raises(ValueError, match=rf"^{re.escape(name)} must be"):
            call()
