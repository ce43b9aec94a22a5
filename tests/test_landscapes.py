"""Tests for course_lib.landscapes: derivatives against finite differences, minima, shapes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.landscapes import (
    Beale,
    Bumpy,
    Cosh,
    Himmelblau,
    NoisyQuadratic,
    Parabola,
    Quadratic,
    Rosenbrock,
    Saddle,
    XCos,
)

SPD3 = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]])
LANDSCAPES = {
    "bowl": Quadratic.bowl(condition_number=25.0, angle=0.7, lambda_min=0.5, center=(1.0, -0.5)),
    "quadratic3d": Quadratic(SPD3, b=[1.0, -2.0, 0.5], c=3.0),
    "indefinite": Quadratic([[1.0, 2.0], [2.0, -1.0]], b=[0.3, 0.1]),
    "noisy": NoisyQuadratic.bowl(condition_number=5.0, noise=0.3),
    "rosenbrock": Rosenbrock(),
    "rosenbrock_a-0.5_b10": Rosenbrock(a=-0.5, b=10.0),
    "beale": Beale(),
    "himmelblau": Himmelblau(),
    "saddle": Saddle(),
    "parabola": Parabola(a=3.0),
    "xcos": XCos(),
    "xcos_pi": XCos(c=np.pi),
    "cosh": Cosh(),
    "bumpy": Bumpy(),
    "bumpy_convex": Bumpy(a=1.0, b=0.1, omega=2.0),
}
ALL = pytest.mark.parametrize("f", LANDSCAPES.values(), ids=LANDSCAPES.keys())
UNIT = st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3)


def point_in_window(f, u):
    """Map u in [0, 1]^3 to a point inside f's plotting window ([-2, 2]^dim if it has none)."""
    lo, hi = np.array(f.bounds if f.bounds is not None else [(-2.0, 2.0)] * f.dim).reshape(-1, 2).T
    x = lo + np.asarray(u)[: lo.size] * (hi - lo)
    return x[0] if f.dim == 1 else x


def numerical_derivative(func, x, h=1e-5):
    """Centred differences of func at the single point x; last axis = direction of the step."""
    if np.ndim(x) == 0:
        return (func(x + h) - func(x - h)) / (2 * h)
    return np.stack([(func(x + e) - func(x - e)) / (2 * h) for e in h * np.eye(x.size)], axis=-1)


@ALL
@settings(max_examples=40, deadline=None)
@given(u=UNIT)
def test_grad_matches_centred_differences(f, u):
    x = point_in_window(f, u)
    scale = 1.0 + abs(f.value(x))  # round-off of the difference quotient grows with |f|
    numeric = numerical_derivative(f.value, x)
    np.testing.assert_allclose(f.grad(x), numeric, rtol=1e-6, atol=1e-6 * scale)


@ALL
@settings(max_examples=40, deadline=None)
@given(u=UNIT)
def test_hessian_matches_differences_of_grad(f, u):
    x = point_in_window(f, u)
    scale = 1.0 + np.max(np.abs(f.grad(x)))
    numeric = numerical_derivative(f.grad, x)
    np.testing.assert_allclose(f.hessian(x), numeric, rtol=1e-6, atol=1e-6 * scale)


@ALL
def test_listed_minima_are_stationary_with_psd_hessian(f):
    for x in f.minima + getattr(f, "local_minima", []):
        np.testing.assert_allclose(f.grad(x), 0.0, atol=1e-12)
        curvature = f.hessian(x) if f.dim == 1 else np.linalg.eigvalsh(f.hessian(x))
        assert np.all(curvature >= -1e-12)
    for x in f.minima:
        np.testing.assert_allclose(f.value(x), f.min_value, rtol=1e-12, atol=1e-12)


@ALL
def test_vectorised_evaluation_equals_a_loop(f):
    rng = np.random.default_rng(0)
    axis = () if f.dim == 1 else (f.dim,)  # the point axis (none for elementwise 1-D)
    xs = point_in_window(f, rng.uniform(size=3)) + 0.1 * rng.standard_normal((4, 3) + axis)
    points = xs.reshape((12,) + axis)
    for method, out_axes in ((f.value, ()), (f.grad, axis), (f.hessian, axis + axis)):
        batched = method(xs)
        assert batched.shape == (4, 3) + out_axes
        looped = [method(p) for p in points]  # equal up to the order of floating-point sums
        flat = batched.reshape((12,) + out_axes)
        np.testing.assert_allclose(flat, looped, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("f", [f for f in LANDSCAPES.values() if f.dim == 2])
def test_grid_equals_pointwise_values(f):
    X, Y, Z = f.grid(n=6)
    assert X.shape == Y.shape == Z.shape == (6, 6)
    (xmin, xmax), (ymin, ymax) = f.bounds
    assert (X.min(), X.max(), Y.min(), Y.max()) == (xmin, xmax, ymin, ymax)
    looped = [[f.value([x, y]) for x, y in zip(xr, yr)] for xr, yr in zip(X, Y)]
    np.testing.assert_allclose(Z, looped, rtol=1e-13, atol=1e-13)
    assert f.grid(n=3, bounds=((0, 1), (0, 2)))[1][-1, 0] == 2.0


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1000.0])
@pytest.mark.parametrize("angle", [0.0, 0.4, -np.pi / 3])
def test_bowl_has_requested_condition_number_and_rotation(kappa, angle):
    f = Quadratic.bowl(condition_number=kappa, angle=angle, lambda_min=2.0, center=(1.0, 2.0))
    np.testing.assert_allclose(f.eigenvalues, [2.0, 2.0 * kappa], rtol=1e-12)
    np.testing.assert_allclose(f.condition_number, kappa, rtol=1e-12)
    shallow = np.array([np.cos(angle), np.sin(angle)])
    steep = np.array([-np.sin(angle), np.cos(angle)])
    np.testing.assert_allclose(f.A @ shallow, 2.0 * shallow, atol=1e-12)
    np.testing.assert_allclose(f.A @ steep, 2.0 * kappa * steep, atol=1e-12 * kappa)
    assert f.minimizer.tolist() == [1.0, 2.0] and f.min_value == 0.0 and f.minima == [f.minimizer]
    assert f.value([1.0, 2.0]) == 0.0 and np.all(f.grid(50)[2] >= 0.0)
    # f rises by lambda/2 * t^2 along each eigenvector
    np.testing.assert_allclose(f.value(f.minimizer + 0.5 * steep), kappa * 0.25, rtol=1e-12)


def test_quadratic_formulas_and_indefinite_case():
    f = LANDSCAPES["quadratic3d"]
    x = np.array([0.3, -1.0, 2.0])
    assert f.value(x) == pytest.approx(0.5 * x @ SPD3 @ x - np.dot([1.0, -2.0, 0.5], x) + 3.0)
    np.testing.assert_allclose(f.minimizer, np.linalg.solve(SPD3, [1.0, -2.0, 0.5]))
    assert f.bounds is None
    g = LANDSCAPES["indefinite"]
    assert g.minimizer is None and g.minima == [] and g.min_value is None
    assert g.condition_number == np.inf
    with pytest.raises(ValueError):
        f.A[0, 0] = 1.0  # read-only: eigenvalues and minimizer stay in sync with A


def test_noisy_quadratic_is_exact_except_for_stochastic_grad():
    f = NoisyQuadratic.bowl(condition_number=4.0, angle=0.2, noise=0.5)
    exact = Quadratic.bowl(condition_number=4.0, angle=0.2)
    x = np.array([0.7, -0.4])
    assert f.value(x) == exact.value(x)
    np.testing.assert_array_equal(f.grad(x), exact.grad(x))
    seeded = f.stochastic_grad(x, 3)
    np.testing.assert_array_equal(f.stochastic_grad(x, np.random.default_rng(3)), seeded)
    samples = f.stochastic_grad(np.broadcast_to(x, (20000, 2)), np.random.default_rng(0))
    np.testing.assert_allclose(samples.mean(axis=0), f.grad(x), atol=0.02)
    np.testing.assert_allclose(samples.std(axis=0), 0.5, rtol=0.03)
    silent = NoisyQuadratic.bowl(noise=0.0)
    np.testing.assert_array_equal(silent.stochastic_grad(x, 0), silent.grad(x))


def test_himmelblau_has_four_distinct_minima():
    minima = np.array(Himmelblau().minima)
    assert minima.shape == (4, 2) and len(np.unique(np.round(minima, 6), axis=0)) == 4


def test_saddle_point_is_stationary_but_not_a_minimum():
    f = Saddle()
    assert f.minima == [] and f.min_value is None
    (s,) = f.saddle_points
    np.testing.assert_array_equal(f.grad(s), 0.0)
    eigenvalues = np.linalg.eigvalsh(f.hessian(s))
    assert eigenvalues.min() < 0 < eigenvalues.max()


def test_xcos_has_local_minima_but_no_global_one():
    f = XCos()
    assert f.minima == [] and f.min_value is None and len(f.local_minima) == 3
    lo, hi = f.bounds
    xs = np.linspace(lo, hi, 200001)
    ys = f.value(xs)
    inner = (ys[1:-1] < ys[:-2]) & (ys[1:-1] < ys[2:])  # discrete local minima on a fine grid
    np.testing.assert_allclose(xs[1:-1][inner], np.array(f.local_minima), atol=1e-3)
    wider = f.value(np.linspace(-10 * hi, 10 * hi, 10001))
    assert wider.min() < min(f.value(m) for m in f.local_minima)  # deeper further out


def test_1d_landscapes_are_elementwise():
    for f in (Parabola(), XCos(), Cosh()):
        for x in (0.5, np.array(0.5), np.linspace(-1, 1, 6).reshape(2, 3)):
            for method in (f.value, f.grad, f.hessian):
                assert np.shape(method(x)) == np.shape(x)
    assert Parabola(a=2.0).hessian(np.zeros(4)).tolist() == [4.0] * 4


def test_inputs_are_not_mutated_and_ints_are_accepted():
    f = Rosenbrock()
    x = np.array([1, 1])
    assert f.value(x) == 0.0 and f(x) == 0.0 and f.grad([1, 1]).dtype == float
    assert x.dtype.kind == "i" and x.tolist() == [1, 1]
    y = np.array([[0.5, -0.3]])
    y_before = y.copy()
    for g in LANDSCAPES.values():
        if g.dim == 2:
            g.value(y), g.grad(y), g.hessian(y)
    np.testing.assert_array_equal(y, y_before)


@pytest.mark.parametrize("f", [Rosenbrock(), LANDSCAPES["quadratic3d"]])
@pytest.mark.parametrize("x", [1.0, [1.0], np.zeros((3, 4))])
def test_wrong_point_shape_raises(f, x):
    with pytest.raises(ValueError, match=rf"\(\.\.\., {f.dim}\)"):
        f.grad(x)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: Quadratic.bowl(condition_number=0.5), "condition_number"),
        (lambda: Quadratic.bowl(lambda_min=0.0), "lambda_min"),
        (lambda: Quadratic.bowl(angle=np.nan), "angle"),
        (lambda: Quadratic.bowl(center=(0, 0, 0)), "center"),
        (lambda: Quadratic([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
        (lambda: Quadratic([[1.0, 0.0, 0.0]]), "square"),
        (lambda: Quadratic([[1.0]]), "Parabola"),
        (lambda: Quadratic(np.eye(2), b=[1.0, 2.0, 3.0]), "b"),
        (lambda: Quadratic(np.eye(2), c="x"), "c"),
        (lambda: NoisyQuadratic(np.eye(2), noise=-1.0), "noise"),
        (lambda: Rosenbrock(b=0.0), "b"),
        (lambda: Rosenbrock(a=np.inf), "a"),
        (lambda: Parabola(a=-1.0), "a"),
        (lambda: XCos(c=0.0), "c"),
        (lambda: Beale().grid(n=1), "n"),
        (lambda: Cosh().grid(), "2-D"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_parameter(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_repr_shows_the_arguments():
    assert repr(Rosenbrock(a=2)) == "Rosenbrock(a=2.0, b=100.0)"
    assert repr(Himmelblau()) == "Himmelblau()"
    assert "noise=0.3" in repr(LANDSCAPES["noisy"])


def test_bumpy_has_local_minima_only_where_its_docstring_says():
    f = Bumpy(a=0.5, b=0.3, omega=4.0)  # bumps can cancel the slope for |x| < 1.2
    x = np.linspace(-4, 4, 80001)
    g = f.grad(x)
    minima = x[1:][(g[:-1] < 0) & (g[1:] >= 0)]  # f' changes sign from - to +
    assert np.all(np.abs(minima) < 0.3 * 4.0 / (2 * 0.5))
    assert len(minima) > 1 and np.any(np.abs(minima - 1.2) < 0.05)
    assert f.value(minima).min() == pytest.approx(0.0, abs=1e-8)
    g = Bumpy(a=1.0, b=0.1, omega=2.0).grad(x)  # b omega^2 = 0.4 < 2a: convex
    assert np.count_nonzero((g[:-1] < 0) & (g[1:] >= 0)) == 1


@pytest.mark.parametrize("kwargs", [{"a": 0.0}, {"b": -0.1}, {"omega": 0.0}])
def test_bumpy_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError, match=f"^{next(iter(kwargs))} must be"):
        Bumpy(**kwargs)


def test_on_bumpy_momentum_rolls_past_the_bump_where_gradient_descent_stops():
    from course_lib.optim import SGD
    from course_lib.train import run

    gd = run(SGD(lr=0.05), Bumpy(), x0=3.5, steps=300)
    heavy_ball = run(SGD(lr=0.05, momentum=0.9), Bumpy(), x0=3.5, steps=300)
    assert abs(gd.path[-1] - 1.2) < 0.05 and gd.losses[-1] > 0.9
    assert abs(heavy_ball.path[-1]) < 1e-4


@pytest.mark.parametrize("dim, L", [(2, 1.0), (7, 3.0), (50, 0.5)])
def test_worst_case_quadratic_has_nesterovs_eigenvalues_and_minimiser(dim, L):
    f = Quadratic.worst_case(dim, L)
    k = np.arange(1, dim + 1)
    np.testing.assert_allclose(
        f.eigenvalues, np.sort(L / 2 * (1 - np.cos(k * np.pi / (dim + 1)))), atol=1e-12
    )
    np.testing.assert_allclose(f.minimizer, 1 - k / (dim + 1), atol=1e-10)
    np.testing.assert_allclose(f.grad(f.minimizer), 0.0, atol=1e-12)
    assert f.min_value == pytest.approx(L / 8 * (-1 + 1 / (dim + 1)))
    assert f.eigenvalues[-1] < L


@pytest.mark.parametrize("dim, L", [(1, 1.0), (2.5, 1.0), (5, 0.0), (5, -1.0)])
def test_worst_case_quadratic_rejects_bad_arguments(dim, L):
    with pytest.raises(ValueError, match="dim|L"):
        Quadratic.worst_case(dim, L)
