"""Tests for course_lib.analysis: the 2x2 momentum iteration against real optimizer runs,
the stability region, the damping regimes and the best hyperparameters of Polyak's method."""

import numpy as np
import pytest

from course_lib.analysis import (
    best_gd,
    best_momentum,
    critical_damping,
    gd_rate,
    momentum_matrix,
    momentum_rate,
    momentum_regime,
    momentum_roots,
    nesterov_matrix,
    nesterov_rate,
    nesterov_roots,
    stability_limit,
    steps_to_tolerance,
)
from course_lib.landscapes import Parabola, Quadratic
from course_lib.optim import SGD, LectureMomentum, LookaheadNesterov
from course_lib.train import run

RNG = np.random.default_rng(0)
H_BETA = list(zip(RNG.uniform(-0.5, 4.5, 40), RNG.uniform(0.0, 0.999, 40)))


@pytest.mark.parametrize("lr, beta", [(0.02, 0.9), (0.15, 0.5), (0.3, 0.0)])
def test_matrix_reproduces_a_lecture_momentum_run_on_every_eigen_direction(lr, beta):
    lambdas = np.array([0.5, 3.0, 9.0])
    bowl = Quadratic(np.diag(lambdas))  # eigen-directions = coordinate axes, minimum 0
    x0 = np.array([1.0, -0.7, 0.4])
    opt = LectureMomentum(lr=lr, momentum=beta)
    state, x = opt.init(x0), x0
    predicted = [np.array([x0[i], 0.0]) for i in range(3)]  # (error, velocity)
    for _ in range(25):
        x, state = opt.step(x, bowl.grad(x), state)
        for i, lam in enumerate(lambdas):
            predicted[i] = momentum_matrix(lr * lam, beta) @ predicted[i]
            np.testing.assert_allclose(predicted[i], [x[i], state.velocity[i]], atol=1e-12)


def test_matrix_powers_match_pytorch_form_iterates():
    lam, lr, beta = 4.0, 0.2, 0.8
    traj = run(SGD(lr=lr, momentum=beta), Parabola(a=lam / 2), x0=1.0, steps=30)
    M, state = momentum_matrix(lr * lam, beta), np.array([1.0, 0.0])
    for w in traj.path[1:]:
        state = M @ state
        assert state[0] == pytest.approx(w, abs=1e-12)


@pytest.mark.parametrize("h, beta", H_BETA)
def test_roots_are_the_matrix_eigenvalues_largest_first(h, beta):
    roots = momentum_roots(h, beta)
    eig = np.linalg.eigvals(momentum_matrix(h, beta))
    np.testing.assert_allclose(
        sorted(roots, key=lambda z: (z.real, z.imag)),
        sorted(eig, key=lambda z: (z.real, z.imag)),
        atol=1e-9,
    )
    assert abs(roots[0]) >= abs(roots[1])
    assert momentum_rate(h, beta) == pytest.approx(max(abs(eig)), abs=1e-9)


def test_rate_is_vectorised_and_broadcast():
    h = np.linspace(0.01, 3.9, 7)
    beta = np.array([[0.0], [0.5], [0.9]])
    rates = momentum_rate(h, beta)
    assert rates.shape == (3, 7)
    for i, b in enumerate(beta[:, 0]):
        for j, hj in enumerate(h):
            assert rates[i, j] == pytest.approx(momentum_rate(float(hj), float(b)))
    np.testing.assert_allclose(rates[0], gd_rate(h))  # beta = 0 is gradient descent


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.9, 0.99])
def test_stable_exactly_when_h_is_between_0_and_2_plus_2_beta(beta):
    edge = 2 + 2 * beta
    for h in [1e-3, 0.5 * edge, edge - 1e-3]:
        assert momentum_rate(h, beta) < 1
        assert momentum_regime(h, beta) != "unstable"
    for h in [-1e-3, 0.0, edge, edge + 1e-3]:
        assert momentum_rate(h, beta) >= 1 - 1e-12
        assert momentum_regime(h, beta) == "unstable"


@pytest.mark.parametrize("beta", [0.5, 0.9])
def test_a_run_just_inside_the_edge_converges_and_just_outside_diverges(beta):
    lam = 2.0  # Parabola(a=1): curvature 2
    edge_lr = (2 + 2 * beta) / lam
    inside = run(SGD(lr=0.97 * edge_lr, momentum=beta), Parabola(a=1.0), x0=1.0, steps=2000)
    outside = run(SGD(lr=1.03 * edge_lr, momentum=beta), Parabola(a=1.0), x0=1.0, steps=2000)
    assert abs(inside.path[-1]) < 1e-6 and not inside.diverged
    assert outside.diverged


def test_regimes_and_the_modulus_of_complex_roots():
    beta = 0.64  # sqrt(beta) = 0.8
    low, high = (1 - 0.8) ** 2, (1 + 0.8) ** 2  # 0.04 and 3.24
    assert momentum_regime(0.02, beta) == "overdamped"
    assert momentum_regime(low, beta) == "critically damped"
    assert momentum_regime(high, beta) == "critically damped"
    assert momentum_regime(3.26, beta) == "overdamped"  # real roots, both negative
    for h in [0.05, 1.0, 3.2]:
        assert momentum_regime(h, beta) == "underdamped"
        assert momentum_rate(h, beta) == pytest.approx(0.8)
        assert abs(momentum_roots(h, beta)[0].imag) > 0
    assert momentum_rate(0.02, beta) > 0.8  # overdamped: slower than sqrt(beta)


def test_an_underdamped_direction_overshoots_and_an_overdamped_one_does_not():
    beta = 0.81
    for h, crosses_zero in [(0.005, False), (0.5, True)]:
        state, errors = np.array([1.0, 0.0]), []
        for _ in range(200):
            state = momentum_matrix(h, beta) @ state
            errors.append(state[0])
        assert (min(errors) < 0) == crosses_zero


@pytest.mark.parametrize(
    "lambda_min, lambda_max", [(1.0, 1.0), (1.0, 10.0), (0.5, 50.0), (2.0, 2000.0)]
)
def test_best_momentum_is_polyaks_formula_and_no_neighbour_is_better(lambda_min, lambda_max):
    best = best_momentum(lambda_min, lambda_max)
    kappa = lambda_max / lambda_min
    assert best.lr == pytest.approx((2 / (np.sqrt(lambda_max) + np.sqrt(lambda_min))) ** 2)
    assert best.momentum == pytest.approx(((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2)
    assert best.rate == pytest.approx((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1))

    lambdas = np.geomspace(lambda_min, lambda_max, 400)

    def worst(lr, beta):
        return np.max(momentum_rate(lr * lambdas, beta))

    assert worst(best.lr, best.momentum) == pytest.approx(best.rate, abs=1e-6)
    for lr_factor, beta_shift in [(1.02, 0), (0.98, 0), (1, 0.01), (1, -0.01)]:
        beta = min(max(best.momentum + beta_shift, 0.0), 0.999)
        if (lr_factor, beta) == (1, best.momentum):
            continue
        assert worst(best.lr * lr_factor, beta) >= best.rate - 1e-9


@pytest.mark.parametrize("lambda_min, lambda_max", [(1.0, 10.0), (0.5, 50.0)])
def test_best_gd_balances_the_two_extreme_directions(lambda_min, lambda_max):
    best = best_gd(lambda_min, lambda_max)
    assert best.momentum == 0
    rates = gd_rate(best.lr * np.array([lambda_min, lambda_max]))
    np.testing.assert_allclose(rates, best.rate)
    assert best.rate > best_momentum(lambda_min, lambda_max).rate  # momentum is faster


def test_measured_steps_follow_the_predicted_rates():
    bowl = Quadratic.bowl(condition_number=100.0)
    lam_min, lam_max = bowl.eigenvalues
    gd, hb = best_gd(lam_min, lam_max), best_momentum(lam_min, lam_max)
    n_gd = steps_to_tolerance(run(SGD(lr=gd.lr), bowl, [1.0, 1.0], 1000).path, bowl.minimizer)
    n_hb = steps_to_tolerance(
        run(SGD(lr=hb.lr, momentum=hb.momentum), bowl, [1.0, 1.0], 1000).path, bowl.minimizer
    )
    assert n_gd == pytest.approx(np.log(1e6) / -np.log(gd.rate), rel=0.05)
    # at the critically damped ends the error decays like t * rate^t: a few more steps
    assert np.log(1e6) / -np.log(hb.rate) <= n_hb <= 1.5 * np.log(1e6) / -np.log(hb.rate)
    assert n_hb < n_gd / 5


def test_steps_to_tolerance_on_a_parabola_and_when_never_reached():
    traj = run(SGD(lr=0.25), Parabola(a=1.0), x0=2.0, steps=40)  # factor 0.5 per step
    assert steps_to_tolerance(traj.path, 0.0, tol=1e-3) == 10  # 0.5^10 < 1e-3 < 0.5^9
    assert steps_to_tolerance(traj.path, 0.0, tol=1e-20) is None
    assert steps_to_tolerance(traj.path, 0.0, tol=1.0) == 0
    assert steps_to_tolerance(traj.path, 0.0, tol=1.5) == 0  # ps03's random cases draw these
    assert steps_to_tolerance([1.0, 0.5, 0.0, 0.0], 0.0, tol=0.0) == 2  # the minimizer itself


@pytest.mark.parametrize("lr, beta", [(0.02, 0.9), (0.15, 0.5), (0.3, 0.0)])
def test_nesterov_matrix_reproduces_a_lookahead_run_on_every_eigen_direction(lr, beta):
    lambdas = np.array([0.5, 3.0, 9.0])
    bowl = Quadratic(np.diag(lambdas))
    x0 = np.array([1.0, -0.7, 0.4])
    opt = LookaheadNesterov(lr=lr, momentum=beta)
    state, x = opt.init(x0), x0
    predicted = [np.array([x0[i], 0.0]) for i in range(3)]
    for _ in range(25):
        x, state = opt.step(x, bowl.grad(opt.gradient_point(x, state)), state)
        for i, lam in enumerate(lambdas):
            predicted[i] = nesterov_matrix(lr * lam, beta) @ predicted[i]
            np.testing.assert_allclose(predicted[i], [x[i], state.velocity[i]], atol=1e-12)


def test_pytorch_nesterov_iterates_are_the_lookahead_points_of_the_matrix_iteration():
    lam, lr, beta = 4.0, 0.2, 0.8
    traj = run(SGD(lr=lr, momentum=beta, nesterov=True), Parabola(a=lam / 2), x0=1.0, steps=30)
    # x_t = e_t + beta v_t of the look-ahead iteration started at (e, v) = (x0, 0); PyTorch's
    # first step, whose buffer is the plain gradient, is the t = 1 case of it.
    M = nesterov_matrix(lr * lam, beta)
    state = np.array([traj.path[0], 0.0])
    lookahead = []
    for _ in range(30):
        state = M @ state
        lookahead.append(state[0] + beta * state[1])
    np.testing.assert_allclose(traj.path[1:], lookahead, atol=1e-12)


@pytest.mark.parametrize("h, beta", H_BETA)
def test_nesterov_roots_are_the_matrix_eigenvalues(h, beta):
    roots = nesterov_roots(h, beta)
    eig = np.linalg.eigvals(nesterov_matrix(h, beta))
    np.testing.assert_allclose(
        sorted(roots, key=lambda z: (z.real, z.imag)),
        sorted(eig, key=lambda z: (z.real, z.imag)),
        atol=1e-9,
    )
    assert nesterov_rate(h, beta) == pytest.approx(max(abs(eig)), abs=1e-9)


@pytest.mark.parametrize("method, rate", [("momentum", momentum_rate), ("nesterov", nesterov_rate)])
@pytest.mark.parametrize("beta", [0.0, 0.3, 0.9, 0.99])
def test_stability_limit_is_where_the_spectral_radius_reaches_one(method, rate, beta):
    limit = stability_limit(method, beta)
    h = np.linspace(1e-3, limit * (1 - 1e-6), 400)
    assert np.all(rate(h, beta) < 1)
    assert rate(limit * (1 + 1e-3), beta) > 1
    assert rate(limit, beta) == pytest.approx(1.0, abs=1e-9)


def test_at_h_one_and_a_half_and_beta_point_nine_only_nesterov_diverges():
    assert momentum_rate(1.5, 0.9) < 1 < nesterov_rate(1.5, 0.9)
    bowl = Parabola(a=1.5 / 2)  # lambda = 1.5, lr = 1
    hb = run(SGD(lr=1.0, momentum=0.9), bowl, x0=1.0, steps=300)
    nag = run(SGD(lr=1.0, momentum=0.9, nesterov=True), bowl, x0=1.0, steps=300)
    assert abs(hb.path[-1]) < 1e-3 and abs(nag.path[-1]) > 1e3
    assert stability_limit("gd") == 2.0


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: momentum_rate(1.0, 1.0), "beta"),
        (lambda: momentum_rate(1.0, -0.1), "beta"),
        (lambda: momentum_rate(np.nan, 0.5), "h"),
        (lambda: momentum_roots("1", 0.5), "h"),
        (lambda: momentum_matrix(1.0, 1.5), "beta"),
        (lambda: nesterov_matrix(np.nan, 0.5), "h"),
        (lambda: nesterov_rate(1.0, 1.0), "beta"),
        (lambda: stability_limit("adam", 0.5), "method"),
        (lambda: stability_limit("gd", 0.5), "beta"),
        (lambda: stability_limit("nesterov", 1.0), "beta"),
        (lambda: momentum_regime(np.inf, 0.5), "h"),
        (lambda: gd_rate([1.0, np.inf]), "h"),
        (lambda: best_momentum(0.0, 10.0), "lambda_min"),
        (lambda: best_gd(2.0, 1.0), "lambda_max"),
        (lambda: steps_to_tolerance([1.0, 0.5], 0.0, tol=-0.1), "tol"),
        (lambda: steps_to_tolerance(np.zeros((3, 2)), [0.0, 0.0, 0.0]), "minimizer"),
    ],
)
def test_bad_arguments_are_named(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        call()


@pytest.mark.parametrize("method", ["momentum", "nesterov"])
@pytest.mark.parametrize("beta", [0.1, 0.5, 0.9, 0.99])
def test_critical_damping_bounds_the_complex_roots(method, beta):
    roots = {"momentum": momentum_roots, "nesterov": nesterov_roots}[method]
    low, high = critical_damping(method, beta)
    assert 0 <= low < high
    is_complex = lambda h: abs(roots(h, beta)[..., 0].imag) > 1e-9  # noqa: E731
    for h in np.linspace(low, high, 9)[1:-1]:
        assert is_complex(h), h
    for h in (low * 0.9, high * 1.05):
        assert not is_complex(h), h
    for h in (low, high):  # a double root
        z1, z2 = roots(h, beta)
        assert abs(z1 - z2) < 1e-6


def test_critical_damping_rejects_gradient_descent_and_bad_beta():
    with pytest.raises(ValueError, match="method must be one of"):
        critical_damping("gd", 0.5)
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\)"):
        critical_damping("nesterov", 1.0)
