"""Tests for course_lib.train.train_minibatch: epochs, shuffling, records, divergence."""

import warnings
from functools import partial

import numpy as np
import pytest

from course_lib.data import make_linear_regression
from course_lib.models import linear_regression_loss, softmax_loss
from course_lib.optim import SGD, Adam
from course_lib.schedules import StepLR
from course_lib.train import History, train_minibatch


@pytest.fixture(autouse=True)
def warnings_are_errors():
    """Training must never leak numpy RuntimeWarnings (overflow, invalid value)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture
def regression():
    return make_linear_regression(n=103, dim=4, noise=0.1, seed=0)


def test_minibatch_sgd_fits_a_linear_regression(regression):
    X, y, w_true = regression
    w0 = np.zeros(4)
    hist = train_minibatch(
        linear_regression_loss, w0, X, y, SGD(lr=0.05), batch_size=10, epochs=30, rng=0
    )
    assert isinstance(hist, History) and not hist.diverged and hist.diverged_at is None
    np.testing.assert_array_equal(w0, 0.0)  # not modified
    w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
    best = linear_regression_loss(w_ls, X, y)[0]
    assert hist.train_losses[0] > 50 * hist.train_losses[-1]
    assert hist.train_losses[-1] < 1.2 * best
    np.testing.assert_allclose(hist.params, w_true, atol=0.1)
    assert hist.train_losses[-1] == linear_regression_loss(hist.params, X, y)[0]


def test_records_have_consistent_shapes(regression):
    X, y, _ = regression
    n, B, E = len(X), 10, 3  # 103 examples: 10 full batches + one of 3 per epoch
    hist = train_minibatch(
        linear_regression_loss,
        np.zeros(4),
        X,
        y,
        SGD(lr=0.01),
        B,
        E,
        rng=1,
        X_val=X[:20],
        y_val=y[:20],
    )
    T = 11 * E
    assert hist.iterations == T and hist.epochs_completed == E
    for name in (
        "iteration_losses",
        "iteration_epochs",
        "iteration_examples",
        "iteration_times",
        "lrs",
    ):
        assert getattr(hist, name).shape == (T,), name
    for name in ("train_losses", "val_losses", "epoch_times"):
        assert getattr(hist, name).shape == (E + 1,), name
    np.testing.assert_array_equal(hist.iteration_epochs, np.repeat(np.arange(E), 11))
    np.testing.assert_array_equal(hist.iteration_examples[10::11], [n, 2 * n, 3 * n])
    np.testing.assert_allclose(hist.iteration_epochs_fraction[-1], 3.0)
    assert hist.epoch_times[0] == 0 and np.all(np.diff(hist.iteration_times) >= 0)
    np.testing.assert_array_equal(hist.epoch_times[1:], hist.iteration_times[10::11])
    np.testing.assert_array_equal(hist.lrs, 0.01)
    assert hist.val_losses[-1] == linear_regression_loss(hist.params, X[:20], y[:20])[0]
    text = repr(hist)
    assert "3 epochs" in text and "33 iterations" in text and "did not diverge" in text


def test_each_example_once_per_epoch_and_reshuffled():
    X = np.arange(23.0)[:, None]
    y = np.arange(23)
    seen = []

    def spy(w, Xb, yb):
        seen.append(yb.copy())
        return float(np.sum(w**2)), 0 * w

    train_minibatch(spy, np.ones(1), X, y, SGD(lr=0.1), batch_size=5, epochs=3, rng=0)
    batches = [b for b in seen if len(b) != 23]  # drop the full-data evaluations
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3] * 3
    epochs = [np.concatenate(batches[5 * e : 5 * e + 5]) for e in range(3)]
    for order in epochs:
        np.testing.assert_array_equal(np.sort(order), y)
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])


def test_seeded_runs_are_reproducible(regression):
    X, y, _ = regression
    args = (linear_regression_loss, np.zeros(4), X, y, Adam(lr=0.05), 8, 4)
    a, b = train_minibatch(*args, rng=3), train_minibatch(*args, rng=3)
    c = train_minibatch(*args, rng=4)
    np.testing.assert_array_equal(a.iteration_losses, b.iteration_losses)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.iteration_losses, c.iteration_losses)


def test_full_batch_is_gradient_descent(regression):
    X, y, _ = regression
    hist = train_minibatch(
        linear_regression_loss, np.zeros(4), X, y, SGD(lr=0.1), batch_size=len(X), epochs=5, rng=0
    )
    w = np.zeros(4)
    losses = [linear_regression_loss(w, X, y)[0]]
    for _ in range(5):
        w = w - 0.1 * linear_regression_loss(w, X, y)[1]
        losses.append(linear_regression_loss(w, X, y)[0])
    np.testing.assert_allclose(hist.params, w, rtol=1e-12)
    np.testing.assert_allclose(hist.train_losses, losses, rtol=1e-12)
    np.testing.assert_allclose(hist.iteration_losses, losses[:-1], rtol=1e-12)


def test_schedule_per_iteration_or_per_epoch(regression):
    X, y, _ = regression
    sched = StepLR(0.1, step_size=1, gamma=0.5)
    per_it = train_minibatch(
        linear_regression_loss, np.zeros(4), X, y, SGD(lr=1.0), 50, 2, rng=0, schedule=sched
    )
    np.testing.assert_allclose(per_it.lrs, 0.1 * 0.5 ** np.arange(6))  # 3 batches per epoch
    per_ep = train_minibatch(
        linear_regression_loss,
        np.zeros(4),
        X,
        y,
        SGD(lr=1.0),
        50,
        2,
        rng=0,
        schedule=sched,
        schedule_per="epoch",
    )
    np.testing.assert_allclose(per_ep.lrs, [0.1] * 3 + [0.05] * 3)


def test_drop_last_and_dict_parameters():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 3)), rng.integers(0, 3, 50)

    def loss_and_grad(p, Xb, yb):  # softmax regression with a separate bias
        Xa = np.hstack([Xb, np.ones((len(Xb), 1))])
        loss, dW = softmax_loss(np.vstack([p["W"], p["b"]]), Xa, yb, reg=0.0)
        return loss, {"W": dW[:-1], "b": dW[-1]}

    params = {"W": np.zeros((3, 3)), "b": np.zeros(3)}
    hist = train_minibatch(
        loss_and_grad, params, X, y, SGD(lr=0.5, momentum=0.9), 16, 5, rng=0, drop_last=True
    )
    assert hist.iterations == 3 * 5 and hist.iteration_examples[-1] == 48 * 5
    assert set(hist.params) == {"W", "b"} and np.all(params["W"] == 0)
    assert hist.train_losses[-1] < hist.train_losses[0] == pytest.approx(np.log(3))


def test_too_large_lr_diverges_cleanly(regression):
    X, y, _ = regression
    hist = train_minibatch(linear_regression_loss, np.zeros(4), X, y, SGD(lr=5.0), 10, 200, rng=0)
    assert hist.diverged and hist.diverged_at == hist.iterations
    assert hist.epochs_completed < 200
    assert np.all(np.isfinite(hist.params)) and np.all(np.isfinite(hist.iteration_losses))
    assert np.all(np.isfinite(hist.train_losses))
    assert len(hist.train_losses) == len(hist.epoch_times) == hist.epochs_completed + 1
    assert f"diverged at iteration {hist.diverged_at}" in repr(hist)


def test_progress_bar_and_zero_epochs(regression):
    X, y, _ = regression
    hist = train_minibatch(
        linear_regression_loss, np.zeros(4), X, y, SGD(lr=0.1), 32, 2, rng=0, progress=True
    )
    assert hist.epochs_completed == 2
    none = train_minibatch(linear_regression_loss, np.zeros(4), X, y, SGD(lr=0.1), 32, 0)
    assert none.iterations == 0 and none.train_losses.shape == (1,)


def test_callback_sees_each_epoch_and_changes_nothing(regression):
    X, y, _ = regression
    args = (linear_regression_loss, np.zeros(4), X, y, Adam(lr=0.05), 16, 4)
    seen = []
    hist = train_minibatch(*args, rng=3, X_val=X[:20], y_val=y[:20], callback=seen.append)
    plain = train_minibatch(*args, rng=3, X_val=X[:20], y_val=y[:20])
    assert [h.epochs_completed for h in seen] == [1, 2, 3, 4]
    for h in seen:  # the history so far: a prefix of the final one, with that epoch's params
        k = h.epochs_completed
        np.testing.assert_array_equal(h.train_losses, hist.train_losses[: k + 1])
        np.testing.assert_array_equal(h.val_losses, hist.val_losses[: k + 1])
        assert h.iterations == 7 * k  # 103 examples in batches of 16
        assert h.train_losses[-1] == linear_regression_loss(h.params, X, y)[0]
    np.testing.assert_array_equal(seen[-1].params, hist.params)
    np.testing.assert_array_equal(hist.params, plain.params)
    np.testing.assert_array_equal(hist.train_losses, plain.train_losses)


def test_bad_arguments_raise_value_errors_naming_them(regression):
    X, y, _ = regression
    f, w, opt = partial(linear_regression_loss, reg=0.0), np.zeros(4), SGD(lr=0.1)
    cases = [
        ("batch_size", lambda: train_minibatch(f, w, X, y, opt, 0, 1)),
        ("batch_size", lambda: train_minibatch(f, w, X, y, opt, 8.0, 1)),
        ("batch_size", lambda: train_minibatch(f, w, X, y, opt, 500, 1, drop_last=True)),
        ("epochs", lambda: train_minibatch(f, w, X, y, opt, 8, -1)),
        ("y", lambda: train_minibatch(f, w, X, y[:-1], opt, 8, 1)),
        ("X_val, y_val", lambda: train_minibatch(f, w, X, y, opt, 8, 1, X_val=X)),
        ("schedule_per", lambda: train_minibatch(f, w, X, y, opt, 8, 1, schedule_per="step")),
        ("progress", lambda: train_minibatch(f, w, X, y, opt, 8, 1, progress="yes")),
        ("callback", lambda: train_minibatch(f, w, X, y, opt, 8, 1, callback="print")),
        ("params", lambda: train_minibatch(f, np.full(4, np.inf), X, y, opt, 8, 1)),
    ]
    for name, call in cases:
        with pytest.raises(ValueError, match=rf"^{name} must be"):
            call()
