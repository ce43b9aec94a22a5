"""Newton, BFGS and L-BFGS (course_lib.second_order): against formulas on quadratics and
against scipy.optimize."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from course_lib.landscapes import Quadratic, Rosenbrock, Saddle
from course_lib.second_order import (
    BFGS,
    LBFGS,
    Newton,
    armijo_backtracking,
    bfgs_inverse_update,
    lbfgs_direction,
)
from course_lib.train import run


def random_quadratic(n, seed, kappa=50.0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag(np.geomspace(1.0, kappa, n)) @ Q.T
    return Quadratic((A + A.T) / 2, b=rng.normal(size=n)), rng.normal(size=n)


@pytest.mark.parametrize("seed", range(3))
def test_newton_solves_a_quadratic_in_one_step(seed):
    f, x0 = random_quadratic(6, seed)
    newton = Newton()
    x1, state = newton.step(x0, f.grad(x0), newton.init(x0, f))
    np.testing.assert_allclose(x1, np.linalg.solve(f.A, f.b), atol=1e-10)
    assert state.evaluations == (0, 1, 1) and state.step == 1 and not state.fallback


def test_newton_step_is_the_damped_solve_and_inputs_are_not_modified():
    f, x0 = random_quadratic(4, 7)
    g, before = f.grad(x0), x0.copy()
    x1, _ = Newton(damping=3.0, lr=0.5).step(x0, g, Newton().init(x0, f))
    expected = x0 - 0.5 * np.linalg.solve(f.A + 3.0 * np.eye(4), g)
    np.testing.assert_allclose(x1, expected, atol=1e-12)
    np.testing.assert_array_equal(x0, before)


def test_pure_newton_jumps_onto_the_saddle_and_damping_escapes_it():
    f, x0 = Saddle(), np.array([0.8, 0.3])
    x1, state = Newton().step(x0, f.grad(x0), Newton().init(x0, f))
    np.testing.assert_allclose(x1, [0.0, 0.0], atol=1e-15)  # the stationary point: a saddle
    assert state.fallback  # diag(2, -2) is not positive definite
    damped = Newton(damping=4.0)
    x1, state = damped.step(x0, f.grad(x0), damped.init(x0, f))
    assert not state.fallback and abs(x1[1]) > abs(x0[1]) and abs(x1[0]) < abs(x0[0])


def test_newton_with_line_search_never_increases_f_on_a_saddle():
    traj = run(Newton(line_search=True), Saddle(), [0.8, 0.3], steps=10)
    assert np.all(np.diff(traj.losses) < 0) and abs(traj.path[-1][1]) > 1.0


def test_armijo_backtracking_halves_until_sufficient_decrease():
    f = Quadratic(np.diag([1.0, 100.0]))
    x = np.array([1.0, 1.0])
    g = f.grad(x)
    a, value, calls = armijo_backtracking(f.value, x, f.value(x), g, -g)
    # a = 1, 1/2, ..., the first with f(x - a g) <= f(x) - 1e-4 a |g|^2, found by hand
    tried = 0.5 ** np.arange(20)
    ok = [t for t in tried if f.value(x - t * g) <= f.value(x) - 1e-4 * t * g @ g]
    assert a == ok[0] and calls == list(tried).index(ok[0]) + 1
    assert value == pytest.approx(f.value(x - a * g))


@pytest.mark.parametrize("seed", range(3))
def test_bfgs_update_equals_scipys_and_satisfies_the_secant_equation(seed):
    rng = np.random.default_rng(seed)
    n = 5
    reference = optimize.BFGS(exception_strategy="skip_update", init_scale=1.0)
    reference.initialize(n, "inv_hess")
    H = np.eye(n)
    for _ in range(4):
        s, y = rng.normal(size=n), rng.normal(size=n)
        y += 2.0 * s * np.sign(s @ y)  # a pair with positive curvature y.s > 0
        if s @ y <= 0:
            continue
        H = bfgs_inverse_update(H, s, y)
        reference.update(s, y)
        np.testing.assert_allclose(H @ y, s, atol=1e-10)
    np.testing.assert_allclose(H, reference.get_matrix(), atol=1e-10)


def test_bfgs_inverse_hessian_estimate_approaches_the_true_one_on_a_quadratic():
    # with exact line searches it would equal A^-1 after n steps (Nocedal & Wright 2006,
    # chapter 6); backtracking steps are inexact, so it comes close, not equal
    f, x0 = random_quadratic(3, 11, kappa=10.0)
    traj = run(BFGS(), f, x0, steps=12, keep_states=True)
    errors = [np.linalg.norm(s.inverse_hessian - np.linalg.inv(f.A)) for s in traj.states]
    assert errors[-1] < 1e-2 * errors[0]
    np.testing.assert_allclose(traj.path[-1], np.linalg.solve(f.A, f.b), atol=1e-8)


def test_lbfgs_two_loop_equals_bfgs_updates_of_gamma_identity():
    rng = np.random.default_rng(3)
    n, pairs = 6, []
    for _ in range(4):
        s = rng.normal(size=n)
        pairs.append((s, s * rng.uniform(0.5, 3.0, size=n)))  # y.s > 0
    s, y = pairs[-1]
    H = (s @ y) / (y @ y) * np.eye(n)
    for s, y in pairs:
        H = bfgs_inverse_update(H, s, y)
    g = rng.normal(size=n)
    np.testing.assert_allclose(lbfgs_direction(g, pairs), -H @ g, atol=1e-10)
    np.testing.assert_array_equal(lbfgs_direction(g, []), -g)


def test_lbfgs_keeps_m_pairs():
    f, x0 = random_quadratic(6, 5)
    traj = run(LBFGS(m=3), f, x0, steps=10)
    assert len(traj.final_state.pairs) == 3 and traj.final_state.skipped == 0


@pytest.mark.parametrize("method", [Newton(line_search=True), BFGS(), LBFGS(m=5)])
def test_every_method_finds_rosenbrocks_minimum_as_scipy_does(method):
    f, x0 = Rosenbrock(), np.array([-1.2, 1.0])
    reference = optimize.minimize(f.value, x0, jac=f.grad, method="BFGS", tol=1e-10)
    traj = run(method, f, x0, steps=300)
    np.testing.assert_allclose(traj.path[-1], reference.x, atol=1e-5)
    np.testing.assert_allclose(traj.path[-1], [1.0, 1.0], atol=1e-5)
    assert traj.final_state.evaluations.grads == traj.steps_taken


def test_newton_counts_every_evaluation():
    f = Rosenbrock()
    calls = {"value": 0}
    value = f.value

    class Counted:
        grad, hessian = f.grad, f.hessian

        def value(self, x):
            calls["value"] += 1
            return value(x)

    traj = run(Newton(line_search=True), Counted(), [-1.2, 1.0], steps=15)
    # run evaluates f once per point for its record; the rest are the line search's
    assert traj.final_state.evaluations.values == calls["value"] - (traj.steps_taken + 1)
    assert traj.final_state.evaluations.hessians == traj.steps_taken


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: Newton(lr=0.0), "lr"),
        (lambda: Newton(damping=-1.0), "damping"),
        (lambda: Newton(line_search=1), "line_search"),
        (lambda: BFGS(c=1.0), "c"),
        (lambda: BFGS(shrink=1.5), "shrink"),
        (lambda: LBFGS(m=0), "m"),
        (lambda: LBFGS(max_backtracks=-1), "max_backtracks"),
    ],
)
def test_bad_hyperparameters_are_named(make, name):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        make()


def test_a_step_length_given_to_step_overrides_lr_as_a_schedule_does():
    f, x0 = random_quadratic(3, 2)
    newton = Newton()
    x1, _ = newton.step(x0, f.grad(x0), newton.init(x0, f), lr=0.25)
    np.testing.assert_allclose(x1, x0 + 0.25 * (np.linalg.solve(f.A, f.b) - x0), atol=1e-10)


def test_bad_objective_state_and_grads_are_named():
    with pytest.raises(ValueError, match="^grads must be of the shape of params"):
        BFGS().step([0.0, 0.0], [1.0], BFGS().init([0.0, 0.0], Rosenbrock()))
    with pytest.raises(ValueError, match="^objective must be .*hessian"):
        Newton().init([0.0, 0.0], object())
    with pytest.raises(ValueError, match="^state must be the BFGSState"):
        BFGS().step([0.0, 0.0], [1.0, 1.0], Newton().init([0.0, 0.0], Rosenbrock()))
