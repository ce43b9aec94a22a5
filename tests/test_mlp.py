"""Tests for course_lib.models.MLP: the contract (shapes, keys, dtypes, errors), backpropagation
against finite differences, training with every optimizer, accuracy on the digits."""

import numpy as np
import pytest
from test_models import warnings_are_errors  # noqa: F401  (autouse: warnings fail a test)

from course_lib import optim
from course_lib.data import load_digits
from course_lib.models import MLP, gradient_check, softmax_loss
from course_lib.train import train_minibatch


def toy(seed=0, N=20, D=5, C=4):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, D)), rng.integers(0, C, N)


# --------------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [(64, 128, 10), (5, 4), (5, 7, 6, 4)])
def test_init_keys_shapes_and_zero_biases(sizes):
    params = MLP(sizes).init()
    L = len(sizes) - 1
    assert list(params) == [k for layer in range(1, L + 1) for k in (f"W{layer}", f"b{layer}")]
    for layer in range(1, L + 1):
        assert params[f"W{layer}"].shape == (sizes[layer - 1], sizes[layer])
        assert params[f"b{layer}"].shape == (sizes[layer],)
        assert not params[f"b{layer}"].any()
    assert MLP(sizes).n_params == sum(p.size for p in params.values())


def test_init_is_seeded_and_scaled():
    a, b, c = MLP((400, 300, 10), seed=1), MLP((400, 300, 10), seed=1), MLP((400, 300, 10), seed=2)
    np.testing.assert_array_equal(a.init()["W1"], b.init()["W1"])
    assert not np.array_equal(a.init()["W1"], c.init()["W1"])
    he = MLP((400, 300, 10), init="he").init()["W1"]
    xavier = MLP((400, 300, 10), init="xavier").init()["W1"]
    assert he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)  # N(0, 2 / fan_in)
    assert xavier.std() == pytest.approx(np.sqrt(2 / 700), rel=0.02)  # U(-a, a): var a^2 / 3
    assert np.abs(xavier).max() <= np.sqrt(6 / 700)


def test_shapes_of_loss_grads_and_predictions():
    X, y = toy()
    mlp = MLP((5, 8, 4))
    params = mlp.init()
    loss, grads = mlp.loss_and_grad(params, X, y)
    assert isinstance(loss, float) and loss > 0
    assert list(grads) == list(params)
    assert all(grads[k].shape == params[k].shape for k in params)
    labels = mlp.predict(params, X)
    assert labels.shape == (20,) and labels.dtype.kind == "i" and set(labels) <= set(range(4))


def test_two_sizes_is_softmax_regression_with_bias():
    X, y = toy()
    mlp = MLP((5, 4), seed=3)
    params = mlp.init()
    params["b1"] = np.array([0.1, -0.2, 0.3, 0.0])
    loss, grads = mlp.loss_and_grad(params, X, y, reg=0.1)
    W = np.vstack([params["W1"], params["b1"]])  # the bias as a weight on a column of ones
    # softmax_loss penalises the bias row too: subtract that part to compare
    ref_loss, ref_grad = softmax_loss(W, np.hstack([X, np.ones((20, 1))]), y, reg=0.1)
    assert loss == pytest.approx(ref_loss - 0.1 * np.sum(params["b1"] ** 2))
    np.testing.assert_allclose(grads["W1"], ref_grad[:-1])
    np.testing.assert_allclose(grads["b1"], ref_grad[-1] - 0.2 * params["b1"])


def test_inputs_are_not_modified():
    X, y = toy()
    mlp = MLP((5, 8, 4))
    params = mlp.init()
    copies = {k: v.copy() for k, v in params.items()}
    X0 = X.copy()
    mlp.loss_and_grad(params, X, y, reg=0.1)
    mlp.predict(params, X)
    np.testing.assert_array_equal(X, X0)
    for k in params:
        np.testing.assert_array_equal(params[k], copies[k])


# --------------------------------------------------------------------------------------------
# Backpropagation against finite differences
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation,init", [("relu", "he"), ("tanh", "xavier"), ("tanh", "he")])
@pytest.mark.parametrize("reg", [0.0, 0.05])
def test_gradient_check_every_parameter(activation, init, reg):
    X, y = toy(seed=1)
    mlp = MLP((5, 7, 6, 4), activation=activation, init=init, seed=2)
    params = mlp.init()
    params = {k: v + 0.1 for k, v in params.items()}  # nonzero biases
    _, grads = mlp.loss_and_grad(params, X, y, reg)
    for key in params:

        def f(value, key=key):
            return mlp.loss_and_grad({**params, key: value}, X, y, reg)[0]

        result = gradient_check(f, grads[key], params[key], num_checks=15, seed=0)
        # ReLU: a difference quotient straddling a kink may reach "borderline"; a coordinate
        # whose gradient is tiny is judged by its absolute error (round-off level)
        limit = 1e-7 if activation == "tanh" else 1e-5
        ok = (result.relative_errors <= limit) | (result.absolute_errors <= 1e-9)
        assert ok.all(), (key, result)


def test_a_wrong_backward_pass_fails_the_check():
    X, y = toy(seed=1)
    mlp = MLP((5, 7, 4), activation="tanh", init="xavier")
    params = mlp.init()
    _, grads = mlp.loss_and_grad(params, X, y)
    result = gradient_check(
        lambda W: mlp.loss_and_grad({**params, "W1": W}, X, y)[0], 2 * grads["W1"], params["W1"]
    )
    assert result.verdict == "wrong"


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_float32_keeps_its_dtype_and_agrees_with_float64(activation):
    X, y = toy()
    mlp = MLP((5, 8, 4), activation=activation)
    p64, p32 = mlp.init(), mlp.init(np.float32)
    assert all(v.dtype == np.float32 for v in p32.values())
    loss32, g32 = mlp.loss_and_grad(p32, X.astype(np.float32), y, reg=0.01)
    loss64, g64 = mlp.loss_and_grad(p64, X, y, reg=0.01)
    assert all(g.dtype == np.float32 for g in g32.values())
    assert all(g.dtype == np.float64 for g in g64.values())
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    for k in g64:
        np.testing.assert_allclose(g32[k], g64[k], rtol=1e-3, atol=1e-5)


def test_large_scores_do_not_overflow():
    X, y = toy()
    mlp = MLP((5, 4))
    params = mlp.init()
    params["W1"] = params["W1"] * 1e4
    loss, grads = mlp.loss_and_grad(params, X, y)
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads.values())


# --------------------------------------------------------------------------------------------
# Bad input names the parameter
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"sizes": (64,)}, "sizes"),
        ({"sizes": (64, 0, 10)}, "sizes"),
        ({"sizes": (64, 2.5, 10)}, "sizes"),
        ({"sizes": "64"}, "sizes"),
        ({"activation": "sigmoid"}, "activation"),
        ({"init": "zeros"}, "init"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_constructor_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        MLP(**kwargs)


def test_bad_dtype_for_init():
    with pytest.raises(ValueError, match="^dtype must be"):
        MLP((3, 2)).init(np.int64)


def bad_calls():
    X, y = toy()
    mlp = MLP((5, 8, 4))
    p = mlp.init()
    return [
        (lambda: mlp.loss_and_grad(p, X[:, :3], y), "X"),
        (lambda: mlp.loss_and_grad(p, X[0], y), "X"),
        (lambda: mlp.loss_and_grad(p, X.astype(str), y), "X"),
        (lambda: mlp.loss_and_grad(p, X, y + 4), "y"),
        (lambda: mlp.loss_and_grad(p, X, y - 1), "y"),
        (lambda: mlp.loss_and_grad(p, X, y[:-1]), "y"),
        (lambda: mlp.loss_and_grad(p, X, y.astype(float)), "y"),
        (lambda: mlp.loss_and_grad(p, X, y, reg=-0.1), "reg"),
        (lambda: mlp.loss_and_grad({k: p[k] for k in ("W1", "b1")}, X, y), "params"),
        (lambda: mlp.loss_and_grad([p["W1"]], X, y), "params"),
        (lambda: mlp.loss_and_grad({**p, "W2": p["W2"].T}, X, y), r"params\['W2'\]"),
        (
            lambda: mlp.loss_and_grad({**p, "b1": p["b1"].astype(np.float32)}, X, y),
            r"params\['b1'\]",
        ),
        (lambda: mlp.predict(p, X[:, :4]), "X"),
    ]


@pytest.mark.parametrize("index", range(13))
def test_bad_call_arguments_name_the_parameter(index):
    call, name = bad_calls()[index]
    with pytest.raises(ValueError, match=f"^{name} must be"):
        call()


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------
OPTIMIZERS = [
    optim.SGD(lr=0.1),
    optim.SGD(lr=0.05, momentum=0.9),
    optim.SGD(lr=0.05, momentum=0.9, nesterov=True),
    optim.Adagrad(lr=0.05),
    optim.RMSprop(lr=1e-3),
    optim.Adadelta(lr=1.0),
    optim.Adam(lr=1e-3),
    optim.AdamW(lr=1e-3),
]


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=repr)
def test_a_few_steps_of_every_optimizer_lower_the_loss(optimizer, digits):
    mlp = MLP((64, 32, 10), seed=0)
    X, y = digits.X_train[:256], digits.y_train[:256]
    params = mlp.init()
    start = mlp.loss_and_grad(params, X, y)[0]
    state = optimizer.init(params)
    for _ in range(5):
        _, grads = mlp.loss_and_grad(params, X, y)
        params, state = optimizer.step(params, grads, state)
    assert mlp.loss_and_grad(params, X, y)[0] < start - 0.05


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_reaches_a_sensible_accuracy_on_digits(dtype, digits):
    mlp = MLP((64, 64, 10), seed=0)
    hist = train_minibatch(
        lambda p, Xb, yb: mlp.loss_and_grad(p, Xb, yb, 1e-4),
        mlp.init(dtype),
        digits.X_train.astype(dtype),
        digits.y_train,
        optim.Adam(lr=3e-3),
        batch_size=64,
        epochs=8,
        rng=0,
    )
    assert all(v.dtype == dtype for v in hist.params.values())
    assert hist.train_losses[-1] < 0.2 * hist.train_losses[0]
    assert mlp.accuracy(hist.params, digits.X_test, digits.y_test) > 0.93


def test_train_minibatch_records_accuracy_per_epoch(digits):
    mlp = MLP((64, 32, 10), seed=0)
    X, y = digits.X_train[:300], digits.y_train[:300]
    hist = train_minibatch(
        mlp.loss_and_grad,
        mlp.init(),
        X,
        y,
        optim.Adam(lr=1e-2),
        batch_size=50,
        epochs=3,
        rng=0,
        X_val=digits.X_test,
        y_val=digits.y_test,
        metric=mlp.accuracy,
    )
    assert hist.train_metrics.shape == hist.val_metrics.shape == (4,)
    assert hist.train_metrics[-1] == mlp.accuracy(hist.params, X, y)
    assert hist.val_metrics[-1] == mlp.accuracy(hist.params, digits.X_test, digits.y_test)
    assert hist.train_metrics[-1] > hist.train_metrics[0] + 0.5
    with pytest.raises(ValueError, match="^metric must be"):
        train_minibatch(mlp.loss_and_grad, mlp.init(), X, y, optim.SGD(), 50, 1, metric="acc")


def test_epoch_loss_batches_is_the_weighted_mean_of_the_minibatch_losses(digits):
    mlp = MLP((64, 16, 10), seed=0)
    X, y = digits.X_train[:130], digits.y_train[:130]
    args = (mlp.loss_and_grad, mlp.init(), X, y, optim.SGD(lr=0.1), 50, 2)
    batches = train_minibatch(*args, rng=0, epoch_loss="batches")
    full = train_minibatch(*args, rng=0)
    assert batches.train_losses[0] == full.train_losses[0]  # before training: the full loss
    for epoch in (0, 1):
        rows = batches.iteration_epochs == epoch
        expected = np.average(batches.iteration_losses[rows], weights=[50, 50, 30])
        assert batches.train_losses[epoch + 1] == pytest.approx(expected)
    assert batches.train_losses[2] != pytest.approx(full.train_losses[2])
    with pytest.raises(ValueError, match="^epoch_loss must be"):
        train_minibatch(*args, epoch_loss="mean")
