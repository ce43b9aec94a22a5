"""Tests for course_lib.data: real loaders, splits, standardisation, minibatches."""

import subprocess
import sys

import numpy as np
import pytest

from course_lib.data import (
    Dataset,
    iterate_minibatches,
    load_diabetes,
    load_digits,
    make_linear_regression,
    make_rare_features,
    minibatch_indices,
    one_hot,
    standardize,
    train_test_split,
)


def test_importing_course_lib_does_not_import_scikit_learn():
    code = (
        "import sys, course_lib.data, course_lib.models, course_lib.search, course_lib.train;"
        "print('sklearn' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------
def test_digits_shapes_labels_and_stratified_split():
    d = load_digits()
    assert isinstance(d, Dataset) and d.name == "digits" and d.n_classes == 10
    assert d.X_train.shape == (1347, 64) and d.X_test.shape == (450, 64)
    assert d.y_train.shape == (1347,) and d.y_test.shape == (450,)
    assert len(d.feature_names) == 64 and d.feature_names[9] == "pixel_1_1"
    train_counts, test_counts = np.bincount(d.y_train), np.bincount(d.y_test)
    assert len(train_counts) == len(test_counts) == 10
    np.testing.assert_allclose(test_counts / (train_counts + test_counts), 0.25, atol=0.01)
    raw = load_digits(standardize=False)
    assert raw.X_train.min() == 0 and raw.X_train.max() == 16
    assert np.all(raw.X_train == np.round(raw.X_train))
    np.testing.assert_array_equal(raw.y_train, d.y_train)


def test_digits_standardised_with_training_statistics_only():
    d, raw = load_digits(seed=1), load_digits(seed=1, standardize=False)
    mean, std = raw.X_train.mean(axis=0), raw.X_train.std(axis=0)
    constant = std == 0
    assert constant.any()  # blank corner pixels: centred, not divided by zero
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(d.X_train.std(axis=0)[~constant], 1.0, rtol=1e-12)
    expected_test = (raw.X_test - mean) / np.where(constant, 1.0, std)
    np.testing.assert_allclose(d.X_test, expected_test, rtol=1e-12, atol=1e-12)
    assert np.all(np.isfinite(d.X_test))
    assert np.abs(d.X_test.mean(axis=0)).max() > 1e-3  # test statistics were not used


def test_loaders_are_deterministic_and_seed_dependent():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    for x, y in zip(a[:4], b[:4]):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.y_test, c.y_test)
    d1, d2 = load_diabetes(seed=5), load_diabetes(seed=5)
    np.testing.assert_array_equal(d1.X_train, d2.X_train)
    assert not np.array_equal(d1.y_test, load_diabetes(seed=6).y_test)


def test_diabetes_features_targets_and_standardisation():
    d = load_diabetes()
    assert d.name == "diabetes" and d.n_classes is None and d.feature_names == ("bmi", "bp")
    assert d.X_train.shape == (332, 2) and d.X_test.shape == (110, 2)
    assert 25 <= d.y_train.min() and d.y_train.max() <= 346  # original units
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(d.X_train.std(axis=0), 1.0, rtol=1e-12)
    raw = load_diabetes(features=["bp", "bmi"], standardize=False)
    assert raw.feature_names == ("bp", "bmi")
    assert 15 < raw.X_train[:, 1].mean() < 35 and 70 < raw.X_train[:, 0].mean() < 110  # BMI, mmHg
    full = load_diabetes(features=None, standardize_target=True)
    assert full.X_train.shape == (332, 10) and len(full.feature_names) == 10
    assert abs(full.y_train.mean()) < 1e-12 and full.y_train.std() == pytest.approx(1.0)
    assert np.corrcoef(full.y_train, load_diabetes(features=None).y_train)[0, 1] == pytest.approx(1)


def test_make_linear_regression():
    X, y, w = make_linear_regression(n=50, dim=3, noise=0.0, seed=2)
    assert X.shape == (50, 3) and y.shape == (50,) and w.shape == (3,)
    np.testing.assert_allclose(y, X @ w, rtol=1e-12)
    again = make_linear_regression(n=50, dim=3, noise=0.5, seed=2)
    np.testing.assert_array_equal(again.X, X)
    assert 0.3 < np.std(again.y - X @ w) < 0.7


def test_standardize_and_train_test_split():
    Xtr = np.array([[1.0, 5.0], [3.0, 5.0]])
    a, b, mean, std = standardize(Xtr, np.array([[2.0, 6.0]]))
    np.testing.assert_array_equal(a, [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(b, [[0.0, 1.0]])
    np.testing.assert_array_equal(mean, [2.0, 5.0])
    np.testing.assert_array_equal(std, [1.0, 1.0])
    train, test = train_test_split(100, 0.2, seed=3)
    assert len(test) == 20 and len(train) == 80
    np.testing.assert_array_equal(np.sort(np.r_[train, test]), np.arange(100))


# --------------------------------------------------------------------------------------------
# Minibatches
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, B", [(10, 3), (12, 4), (5, 1), (7, 7), (3, 10)])
def test_every_index_exactly_once_per_epoch(n, B):
    batches = minibatch_indices(n, B, rng=0)
    assert len(batches) == -(-n // B)
    assert all(len(b) == B for b in batches[:-1]) and 1 <= len(batches[-1]) <= B
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))


def test_last_partial_batch_kept_or_dropped():
    assert [len(b) for b in minibatch_indices(10, 4, rng=0)] == [4, 4, 2]
    dropped = minibatch_indices(10, 4, rng=0, drop_last=True)
    assert [len(b) for b in dropped] == [4, 4]
    assert len(np.unique(np.concatenate(dropped))) == 8
    assert minibatch_indices(10, 11, rng=0, drop_last=True) == []


def test_fresh_permutation_each_epoch_and_seeded_reproducibility():
    rng = np.random.default_rng(0)
    e1 = np.concatenate(minibatch_indices(50, 8, rng))
    e2 = np.concatenate(minibatch_indices(50, 8, rng))
    assert not np.array_equal(e1, e2)  # reshuffled
    np.testing.assert_array_equal(np.sort(e2), np.arange(50))
    np.testing.assert_array_equal(np.concatenate(minibatch_indices(50, 8, rng=0)), e1)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(np.concatenate(minibatch_indices(50, 8, rng)), e1)
    in_order = minibatch_indices(7, 3, shuffle=False)
    assert [b.tolist() for b in in_order] == [[0, 1, 2], [3, 4, 5], [6]]


def test_iterate_minibatches_keeps_pairs_together():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10) * 10
    seen = []
    for Xb, yb in iterate_minibatches(X, y, 3, rng=1):
        np.testing.assert_array_equal(Xb[:, 0], yb / 5)  # row i of X is (2i, 2i+1), y is 10i
        seen.extend(yb.tolist())
    assert sorted(seen) == y.tolist()
    batches = list(iterate_minibatches(X, None, 4, rng=1, drop_last=True))
    assert len(batches) == 2 and all(yb is None and len(Xb) == 4 for Xb, yb in batches)


def test_one_hot():
    np.testing.assert_array_equal(one_hot([2, 0, 1], 4), [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    assert one_hot(np.array([0, 3])).shape == (2, 4)


def test_bad_arguments_raise_value_errors_naming_them():
    cases = [
        ("batch_size", lambda: minibatch_indices(10, 0)),
        ("batch_size", lambda: minibatch_indices(10, 2.5)),
        ("batch_size", lambda: minibatch_indices(10, True)),
        ("n", lambda: minibatch_indices(0, 2)),
        ("drop_last", lambda: minibatch_indices(10, 2, drop_last="yes")),
        ("y", lambda: list(iterate_minibatches(np.zeros((4, 2)), np.zeros(3), 2))),
        ("test_size", lambda: load_digits(test_size=1.0)),
        ("seed", lambda: load_digits(seed=-1)),
        ("standardize", lambda: load_digits(standardize="yes")),
        ("features", lambda: load_diabetes(features=("bmi", "weight"))),
        ("features", lambda: load_diabetes(features=())),
        ("noise", lambda: make_linear_regression(noise=-1.0)),
        ("y", lambda: one_hot([0, 3], 3)),
        ("y", lambda: one_hot([0.0, 1.0])),
    ]
    for name, call in cases:
        with pytest.raises(ValueError, match=rf"^{name} must be"):
            call()


def test_rare_features_are_binary_and_rare_dense_ones_have_the_scale():
    d = make_rare_features(n=20000, dense=3, rare=2, p_rare=0.01, scale=3.0, noise=0.0, seed=1)
    assert d.X.shape == (20000, 5) and d.w_true.shape == (5,)
    assert set(np.unique(d.X[:, 3:])) == {0.0, 1.0}
    np.testing.assert_allclose(d.X[:, 3:].mean(axis=0), 0.01, atol=0.003)
    np.testing.assert_allclose(d.X[:, :3].std(axis=0), 3.0, rtol=0.03)
    assert np.all((np.abs(d.w_true) >= 1) & (np.abs(d.w_true) <= 2))
    np.testing.assert_allclose(d.y, d.X @ d.w_true)  # no noise asked
    again = make_rare_features(n=20000, dense=3, rare=2, p_rare=0.01, scale=3.0, noise=0.0, seed=1)
    np.testing.assert_array_equal(again.X, d.X)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"p_rare": 0.0}, r"p_rare must be in \(0, 1\]"),
        ({"scale": 0.0}, r"scale must be in \(0, inf\)"),
        ({"dense": 0, "rare": 0}, "dense \\+ rare must be at least 1 feature"),
    ],
)
def test_rare_features_refuse_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_rare_features(**kwargs)


def test_digits_split_in_three_standardised_with_the_training_part():
    from course_lib.data import load_digits, load_digits_split

    d = load_digits_split(val_size=0.2, seed=0)
    raw = load_digits(standardize=False)
    assert (len(d.X_train), len(d.X_val), len(d.X_test)) == (1078, 269, 450)
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0.0, atol=1e-12)
    assert abs(d.X_val.mean()) > 1e-6  # the validation part's own statistics are not used
    np.testing.assert_array_equal(d.images_test.reshape(-1, 64), raw.X_test)
    np.testing.assert_array_equal(d.y_test, raw.y_test)
    assert np.bincount(d.y_val).min() >= 25  # stratified: every digit in the validation set
    other = load_digits_split(seed=1)
    assert not np.array_equal(other.y_val, d.y_val)
