"""Tests for course_lib.models: analytic gradients against finite differences, gradient checks."""

import warnings

import numpy as np
import pytest

from course_lib import models
from course_lib.models import (
    GradCheckResult,
    accuracy,
    add_bias,
    gradient_check,
    linear_regression_loss,
    numerical_gradient,
    predict,
    relative_error,
    softmax,
    softmax_loss,
    svm_loss,
)


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def classification_data(seed=0, N=30, D=6, C=4):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, D)), rng.integers(0, C, N), rng.standard_normal((D, C))


# --------------------------------------------------------------------------------------------
# Analytic gradients
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reg", [0.0, 0.3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_regression_gradient_matches_numerical(reg, seed):
    rng = np.random.default_rng(seed)
    X = add_bias(rng.standard_normal((25, 4)))
    y, w = rng.standard_normal(25), rng.standard_normal(5)
    loss, grad = linear_regression_loss(w, X, y, reg=reg)
    assert loss == pytest.approx(np.mean((X @ w - y) ** 2) + reg * np.sum(w**2), rel=1e-14)
    num = numerical_gradient(lambda v: linear_regression_loss(v, X, y, reg=reg)[0], w)
    assert grad.shape == w.shape
    assert np.max(relative_error(grad, num)) < 1e-7


@pytest.mark.parametrize("loss_fn", [softmax_loss, svm_loss])
@pytest.mark.parametrize("reg", [0.0, 0.1])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classifier_gradients_match_numerical(loss_fn, reg, seed):
    X, y, W = classification_data(seed)
    loss, dW = loss_fn(W, X, y, reg=reg)
    num = numerical_gradient(lambda V: loss_fn(V, X, y, reg=reg)[0], W)
    assert dW.shape == W.shape and np.isfinite(loss)
    assert np.max(relative_error(dW, num)) < 1e-7


def test_known_loss_values_at_zero_weights():
    X, y, W = classification_data()
    W0 = np.zeros_like(W)
    assert softmax_loss(W0, X, y)[0] == pytest.approx(np.log(4))  # uniform over 4 classes
    assert svm_loss(W0, X, y)[0] == pytest.approx(3.0)  # 3 wrong classes, each margin 1
    assert svm_loss(W0, X, y, margin=2.5)[0] == pytest.approx(7.5)
    # reg adds reg * sum(W^2) to the loss and 2 * reg * W to the gradient
    l0, g0 = softmax_loss(W, X, y)
    l1, g1 = softmax_loss(W, X, y, reg=0.5)
    assert l1 - l0 == pytest.approx(0.5 * np.sum(W**2))
    np.testing.assert_allclose(g1 - g0, W, atol=1e-14)


def test_softmax_loss_matches_a_direct_formula_and_is_stable():
    X, y, W = classification_data()
    S = X @ W
    direct = -np.mean(np.log(np.exp(S[np.arange(len(y)), y]) / np.exp(S).sum(axis=1)))
    assert softmax_loss(W, X, y)[0] == pytest.approx(direct, rel=1e-12)
    loss, dW = softmax_loss(1e4 * W, X, y)  # scores ~1e4: exp would overflow without the shift
    assert np.isfinite(loss) and np.all(np.isfinite(dW)) and loss > 100
    P = softmax(np.array([[1000.0, 1000.0], [0.0, -1000.0]]))
    np.testing.assert_allclose(P, [[0.5, 0.5], [1.0, 0.0]])


def test_svm_kinks_cause_false_alarms_in_the_gradient_check():
    """At W = 0 with margin 0 every hinge sits exactly on its kink: the code is right (it uses
    the one-sided derivative 0), but a centred difference averages the two slopes."""
    X, y, W = classification_data()
    W0 = np.zeros_like(W)
    loss, dW = svm_loss(W0, X, y, margin=0.0)
    assert loss == 0.0 and np.all(dW == 0.0)
    at_kink = gradient_check(lambda V: svm_loss(V, X, y, margin=0.0)[0], dW, W0, num_checks=8)
    assert at_kink.verdict == "wrong"
    # the same code away from kinks passes
    away = gradient_check(lambda V: svm_loss(V, X, y)[0], svm_loss(W, X, y)[1], W, num_checks=8)
    assert away.verdict == "fine"
    # and the analytic gradient is the one-sided slope: forward differences from the kink,
    # in a direction that keeps every hinge inactive, see the same (zero) slope
    num_fwd = numerical_gradient(lambda V: svm_loss(V, X, y, margin=0.0)[0], W0, method="forward")
    assert np.all(num_fwd >= 0)  # max(0, .) only grows: one-sided slopes are >= the 0 used


def test_predict_and_accuracy():
    W = np.array([[1.0, 0.0], [0.0, 1.0]])
    X = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.5]])
    np.testing.assert_array_equal(predict(W, X), [0, 1, 0])
    assert accuracy(W, X, [0, 1, 1]) == pytest.approx(2 / 3)


def test_add_bias_appends_ones():
    Xb = add_bias(np.zeros((3, 2)))
    np.testing.assert_array_equal(Xb, [[0, 0, 1]] * 3)


# --------------------------------------------------------------------------------------------
# Numerical gradient
# --------------------------------------------------------------------------------------------
def test_forward_difference_error_is_first_order_centered_second_order():
    x = np.array([0.3, -1.2, 0.7])
    f = lambda v: np.sum(np.exp(v) + np.sin(v))
    exact = np.exp(x) + np.cos(x)
    hs = [1e-2, 5e-3, 2.5e-3]
    fwd = [np.max(np.abs(numerical_gradient(f, x, h, "forward") - exact)) for h in hs]
    ctr = [np.max(np.abs(numerical_gradient(f, x, h, "centered") - exact)) for h in hs]
    for k in range(2):  # halving h halves the forward error and quarters the centred one
        assert fwd[k] / fwd[k + 1] == pytest.approx(2.0, rel=0.05)
        assert ctr[k] / ctr[k + 1] == pytest.approx(4.0, rel=0.05)


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 2)])
def test_numerical_gradient_never_modifies_x_and_works_for_any_shape(shape):
    x = np.random.default_rng(0).standard_normal(shape)
    before = x.copy()
    seen = []

    def f(v):
        seen.append(v is x)
        return np.sum(v**3)

    g = numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)
    assert not any(seen)  # f only ever sees a copy
    assert g.shape == np.shape(x) and g.dtype == np.float64
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-8, atol=1e-8)


def test_numerical_gradient_restores_x_even_if_f_raises_and_accepts_tuples():
    x = np.ones(3, dtype=np.float32)
    g = numerical_gradient(lambda v: (np.sum(v**2), "ignored grad"), x)
    assert g.dtype == np.float64 and x.dtype == np.float32
    np.testing.assert_allclose(g, 2.0, rtol=1e-8)

    def boom(v):
        raise RuntimeError("bug in the loss")

    with pytest.raises(RuntimeError):
        numerical_gradient(boom, x)
    np.testing.assert_array_equal(x, 1.0)


def test_relative_error():
    np.testing.assert_allclose(
        relative_error([1.0, 0.0, -2.0, 0.0], [1.0, 0.0, 2.0, 1e-3]), [0.0, 0.0, 2.0, 1.0]
    )
    assert relative_error(1.0, 1.0 + 1e-7) == pytest.approx(1e-7, rel=1e-6)
    assert relative_error(3.0, 2.0) == relative_error(2.0, 3.0) == pytest.approx(1 / 3)


# --------------------------------------------------------------------------------------------
# Gradient check
# --------------------------------------------------------------------------------------------
def test_gradient_check_samples_distinct_seeded_coordinates():
    X, y, W = classification_data()

    def f(V):  # returns (loss, grad): gradient_check takes the loss
        return softmax_loss(V, X, y, reg=0.1)

    before = W.copy()
    r1 = gradient_check(f, f(W)[1], W, num_checks=7, seed=3)
    r2 = gradient_check(f, f, W, num_checks=7, seed=3)  # callable analytic gradient
    np.testing.assert_array_equal(W, before)
    assert isinstance(r1, GradCheckResult) and r1.verdict == "fine" and r1.passed
    assert r1.coordinates == r2.coordinates and len(set(r1.coordinates)) == 7
    assert all(0 <= i < 6 and 0 <= j < 4 for i, j in r1.coordinates)
    assert r1.max_error == np.max(r1.relative_errors) <= 1e-7
    np.testing.assert_array_equal(r1.absolute_errors, np.abs(r1.analytic - r1.numerical))
    np.testing.assert_array_equal(r1.analytic, [f(W)[1][c] for c in r1.coordinates])
    assert gradient_check(f, f, W, num_checks=7, seed=4).coordinates != r1.coordinates
    assert len(gradient_check(f, f, W, num_checks=1000).coordinates) == W.size  # capped
    assert "fine" in repr(r1) and "max relative error" in repr(r1)


@pytest.mark.parametrize(
    "factor, verdict",
    [(1 + 3e-6, "borderline"), (1 + 1e-3, "suspicious"), (1.05, "wrong"), (-1.0, "wrong")],
)
def test_gradient_check_verdicts_follow_the_rules_of_thumb(factor, verdict):
    x = np.linspace(0.5, 2.0, 6)
    res = gradient_check(lambda v: np.sum(v**3), factor * 3 * x**2, x)
    assert res.verdict == verdict and not res.passed


def test_gradient_check_catches_a_forgotten_factor_two_in_the_regulariser():
    X, y, W = classification_data()

    def buggy(V):
        loss, dW = softmax_loss(V, X, y)
        return loss + 0.5 * np.sum(V**2), dW + 0.5 * V  # should be 2 * 0.5 * V

    assert gradient_check(buggy, buggy(W)[1], W).verdict == "wrong"


# --------------------------------------------------------------------------------------------
# Argument validation
# --------------------------------------------------------------------------------------------
def test_bad_arguments_raise_value_errors_naming_them():
    X, y, W = classification_data()
    f = lambda v: np.sum(v**2)
    cases = [
        ("reg", lambda: softmax_loss(W, X, y, reg=-1.0)),
        ("margin", lambda: svm_loss(W, X, y, margin=-1.0)),
        ("y", lambda: softmax_loss(W, X, y + 4)),
        ("y", lambda: svm_loss(W, X, y.astype(float))),
        ("X", lambda: softmax_loss(W, X[:, :3], y)),
        ("W", lambda: svm_loss(W[0], X, y)),
        ("y", lambda: linear_regression_loss(W[:, 0], X, y[:5])),
        ("h", lambda: numerical_gradient(f, W, h=0.0)),
        ("method", lambda: numerical_gradient(f, W, method="backward")),
        ("x", lambda: numerical_gradient(f, np.array([np.nan]))),
        ("num_checks", lambda: gradient_check(f, 2 * W, W, num_checks=0)),
        ("analytic_grad", lambda: gradient_check(f, 2 * W.T, W)),
    ]
    for name, call in cases:
        with pytest.raises(ValueError, match=rf"^{name} must be"):
            call()


@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_linear_regression_landscape_is_the_same_loss(reg):
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    land = models.linear_regression_landscape(X, y, reg=reg)
    for w in rng.normal(size=(5, 3)):
        loss, grad = models.linear_regression_loss(w, X, y, reg=reg)
        assert land.value(w) == pytest.approx(loss, rel=1e-12)
        np.testing.assert_allclose(land.grad(w), grad, rtol=1e-10, atol=1e-12)
    ridge = np.linalg.solve(X.T @ X / 40 + reg * np.eye(3), X.T @ y / 40)
    np.testing.assert_allclose(land.minimizer, ridge, rtol=1e-10)
    with pytest.raises(ValueError, match="y must be"):
        models.linear_regression_landscape(X, y[:-1])
