"""Data sets and minibatches.

    from course_lib.data import load_digits, iterate_minibatches

    data = load_digits()                 # real 8x8 digit images shipped with scikit-learn
    data.X_train.shape                   # (1347, 64), standardised with training statistics
    for Xb, yb in iterate_minibatches(data.X_train, data.y_train, batch_size=64, rng=0):
        ...                              # one epoch: every example exactly once

Real data comes from the copies bundled inside scikit-learn (nothing is downloaded), and
scikit-learn is imported only inside the loaders, so ``import course_lib.data`` stays fast.
Splits are deterministic given ``seed``; standardisation uses statistics of the training split
only (the test split must not leak into training).
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Optional

import numpy as np

from course_lib._checks import check, flag, integer, real

__all__ = [
    "Dataset",
    "LinearRegressionData",
    "load_digits",
    "DigitsSplit",
    "load_digits_split",
    "load_diabetes",
    "make_linear_regression",
    "make_rare_features",
    "standardize",
    "train_test_split",
    "minibatch_indices",
    "iterate_minibatches",
    "one_hot",
]

DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


class Dataset(NamedTuple):
    """A train/test split of a data set.

    Attributes:
      X_train, y_train: ``(n_train, d)`` features and ``(n_train,)`` targets.
      X_test, y_test: the held-out split.
      name: a short name.
      n_classes: number of classes (labels are 0 .. n_classes - 1), or None for regression.
      feature_names: tuple of d feature names.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str
    n_classes: Optional[int]
    feature_names: tuple

    def __repr__(self) -> str:
        task = "regression" if self.n_classes is None else f"{self.n_classes} classes"
        return (
            f"Dataset({self.name!r}: {len(self.X_train)} train / {len(self.X_test)} test, "
            f"{self.X_train.shape[1]} features, {task})"
        )


class LinearRegressionData(NamedTuple):
    """Synthetic regression data ``y = X @ w_true + noise``."""

    X: np.ndarray
    y: np.ndarray
    w_true: np.ndarray


# --------------------------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------------------------
def standardize(X_train, *others):
    """Standardise features with the mean and standard deviation of ``X_train`` only.

    Each column becomes ``(x - mean_train) / std_train``; a column that is constant in the
    training split (e.g. an always-blank pixel) is only centred (its std is taken as 1).

    Args:
      X_train: ``(n, d)`` training features; the statistics come from here.
      *others: further ``(m, d)`` arrays (test, validation) transformed with the same numbers.

    Returns:
      ``(X_train_std, *others_std, mean, std)``: the transformed arrays, then the ``(d,)``
      statistics used (``std`` with the constant columns set to 1).
    """
    X_train = np.asarray(X_train, dtype=float)
    check(
        X_train.ndim == 2 and len(X_train) >= 1,
        "X_train",
        X_train.shape,
        "a non-empty (n, d) array",
    )
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    out = [(X_train - mean) / std]
    for i, X in enumerate(others):
        X = np.asarray(X, dtype=float)
        check(
            X.ndim == 2 and X.shape[1] == X_train.shape[1],
            f"others[{i}]",
            X.shape,
            f"an (m, {X_train.shape[1]}) array",
        )
        out.append((X - mean) / std)
    return (*out, mean, std)


_standardize = standardize  # the loaders' ``standardize`` argument shadows the name


def train_test_split(n: int, test_size: float = 0.25, seed: int = 0, stratify=None):
    """Deterministic split of ``range(n)`` into train and test indices.

    Args:
      n: number of examples, an int >= 2.
      test_size: fraction of examples in the test split, in (0, 1).
      seed: seed of the permutation (same seed, same split).
      stratify: optional ``(n,)`` labels; then each class is split in the same proportion
        (``round(test_size * n_class)`` of each class go to the test split).

    Returns:
      ``(train_idx, test_idx)``, sorted int arrays that partition ``range(n)``.
    """
    n = integer("n", n, 2)
    test_size = real("test_size", test_size, 0.0, 1.0, low_open=True, high_open=True)
    rng = np.random.default_rng(integer("seed", seed))
    if stratify is None:
        groups = [np.arange(n)]
    else:
        labels = np.asarray(stratify)
        check(labels.shape == (n,), "stratify", labels.shape, f"labels of shape ({n},)")
        groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    test = []
    for g in groups:
        perm = rng.permutation(g)
        test.append(perm[: int(round(test_size * len(g)))])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(n), test_idx)
    check(
        len(test_idx) >= 1 and len(train_idx) >= 1,
        "test_size",
        test_size,
        f"a fraction leaving both splits non-empty for n={n}",
    )
    return train_idx, test_idx


# --------------------------------------------------------------------------------------------
# Data sets
# --------------------------------------------------------------------------------------------
def load_digits(test_size: float = 0.25, seed: int = 0, standardize: bool = True) -> Dataset:
    """The handwritten digits bundled with scikit-learn: 1797 images of 8x8 pixels, 10 classes.

    Each row of X holds the 64 pixel intensities (integers 0..16, row by row) of one image; y is
    the digit 0..9. The split is stratified (every digit in the same proportion) and fixed by
    ``seed``. With ``standardize=True`` every pixel is standardised with the training split's
    mean and standard deviation (pixels that are blank in every training image are only
    centred); otherwise X holds the raw intensities as floats.

    Args:
      test_size: fraction of images held out, in (0, 1).
      seed: seed of the split.
      standardize: standardise the pixels with training statistics.

    Returns:
      A ``Dataset`` (``n_classes=10``, features named ``"pixel_<row>_<col>"``).

    Reference: E. Alpaydin and C. Kaynak (1998), Optical Recognition of Handwritten Digits,
    UCI Machine Learning Repository (the test part of that set is what scikit-learn ships).
    """
    from sklearn.datasets import load_digits as _sk_load_digits  # lazy: fast `import course_lib`

    flag("standardize", standardize)
    raw = _sk_load_digits()
    X, y = raw.data.astype(float), raw.target.astype(np.int64)
    return _split(
        "digits",
        X,
        y,
        test_size,
        seed,
        standardize,
        n_classes=10,
        stratify=True,
        feature_names=tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8)),
    )


class DigitsSplit(NamedTuple):
    """The digits in three parts: fit the weights on train, choose settings on validation,
    report on test once.

    Attributes:
      X_train, y_train, X_val, y_val, X_test, y_test: standardised features ``(n, 64)`` and
        labels 0..9 of each part.
      images_test: ``(n_test, 8, 8)`` the raw test images (intensities 0..16), to show them.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    images_test: np.ndarray


def load_digits_split(val_size: float = 0.2, test_size: float = 0.25, seed: int = 0) -> DigitsSplit:
    """The digits (``load_digits``) split into train, validation and test sets.

    ``load_digits(test_size, seed)`` holds out the test images; ``val_size`` of the rest
    become the validation set (stratified, same seed). The pixels are standardised with the
    statistics of the final training part only. With the defaults: 1078 / 269 / 450 images.

    Args:
      val_size: fraction of the non-test images used for validation, in (0, 1).
      test_size: fraction of all images held out for the test, in (0, 1).
      seed: seed of both splits.
    """
    raw = load_digits(test_size=test_size, seed=seed, standardize=False)
    fit, val = train_test_split(len(raw.X_train), val_size, seed, stratify=raw.y_train)
    X_train, X_val, X_test, _, _ = standardize(raw.X_train[fit], raw.X_train[val], raw.X_test)
    return DigitsSplit(
        X_train,
        raw.y_train[fit],
        X_val,
        raw.y_train[val],
        X_test,
        raw.y_test,
        raw.X_test.reshape(-1, 8, 8),
    )


def load_diabetes(
    features=("bmi", "bp"),
    standardize: bool = True,
    test_size: float = 0.25,
    seed: int = 0,
    standardize_target: bool = False,
) -> Dataset:
    """The diabetes regression data bundled with scikit-learn: 442 patients, 10 features.

    Features (raw, unscaled values): age, sex, bmi (body mass index), bp (mean blood pressure)
    and six blood serum measurements s1..s6. The target is a quantitative measure of disease
    progression one year after the baseline measurements (values 25..346).

    Args:
      features: names of the features to keep, in order (a subset of
        ``DIABETES_FEATURES``), or None for all ten.
      standardize: standardise the features with training statistics.
      test_size: fraction of patients held out, in (0, 1).
      seed: seed of the split.
      standardize_target: also standardise y with the training mean and std (default keeps
        the original units, so errors read as "points of disease progression").

    Returns:
      A ``Dataset`` (``n_classes=None``). Add a column of ones
      (``course_lib.models.add_bias``) to fit an intercept.

    Reference: B. Efron, T. Hastie, I. Johnstone and R. Tibshirani (2004), Least angle
    regression, Annals of Statistics 32(2):407-499.
    """
    from sklearn.datasets import load_diabetes as _sk_load_diabetes  # lazy, as above

    flag("standardize", standardize)
    flag("standardize_target", standardize_target)
    if features is None:
        names = DIABETES_FEATURES
    else:
        names = (features,) if isinstance(features, str) else tuple(features)
    unknown = [f for f in names if f not in DIABETES_FEATURES]
    check(
        len(names) >= 1 and not unknown and len(set(names)) == len(names),
        "features",
        features,
        f"distinct names from {DIABETES_FEATURES} (or None for all)",
    )
    raw = _sk_load_diabetes(scaled=False)
    cols = [DIABETES_FEATURES.index(f) for f in names]
    X, y = raw.data[:, cols].astype(float), raw.target.astype(float)
    data = _split(
        "diabetes",
        X,
        y,
        test_size,
        seed,
        standardize,
        n_classes=None,
        stratify=False,
        feature_names=names,
    )
    if standardize_target:
        y_tr, y_te, _, _ = _standardize(data.y_train[:, None], data.y_test[:, None])
        data = data._replace(y_train=y_tr[:, 0], y_test=y_te[:, 0])
    return data


def _split(name, X, y, test_size, seed, do_standardize, n_classes, stratify, feature_names):
    train, test = train_test_split(len(X), test_size, seed, stratify=y if stratify else None)
    X_train, X_test = X[train], X[test]
    if do_standardize:
        X_train, X_test, _, _ = _standardize(X_train, X_test)
    return Dataset(X_train, y[train], X_test, y[test], name, n_classes, tuple(feature_names))


def make_linear_regression(
    n: int = 200, dim: int = 5, noise: float = 0.1, seed: int = 0
) -> LinearRegressionData:
    """Synthetic linear regression: ``y = X @ w_true + noise * eps``.

    X, w_true and eps have independent standard normal entries, so the features are already
    on a common scale (no bias term: the data are centred).

    Args:
      n: number of examples, an int >= 1.
      dim: number of features, an int >= 1.
      noise: standard deviation of the noise, >= 0.
      seed: seed (same seed, same data).

    Returns:
      ``LinearRegressionData(X (n, dim), y (n,), w_true (dim,))``.
    """
    n = integer("n", n, 1)
    dim = integer("dim", dim, 1)
    noise = real("noise", noise, 0.0)
    rng = np.random.default_rng(integer("seed", seed))
    X = rng.standard_normal((n, dim))
    w_true = rng.standard_normal(dim)
    y = X @ w_true + noise * rng.standard_normal(n)
    return LinearRegressionData(X, y, w_true)


def make_rare_features(
    n: int = 2000,
    dense: int = 4,
    rare: int = 4,
    p_rare: float = 0.02,
    scale: float = 1.0,
    noise: float = 0.1,
    seed: int = 0,
) -> LinearRegressionData:
    """Linear regression with rare binary features, the setting Adagrad was made for.

    The first ``dense`` columns of X are normal with standard deviation ``scale`` (present in
    every example, they set the largest stable learning rate of gradient descent); the last
    ``rare`` columns are 0 or 1, each example having each of them with probability
    ``p_rare`` (like rare words in a bag of words). ``y = X @ w_true + noise * eps`` with every
    weight of size between 1 and 2 and a random sign, so that each feature matters. A rare
    feature's weight gets a non-zero gradient only from the few examples that have it.

    Args:
      n: number of examples, an int >= 1.
      dense: number of dense features, an int >= 0.
      rare: number of rare binary features, an int >= 0 (dense + rare >= 1).
      p_rare: probability that an example has a given rare feature, in (0, 1].
      scale: standard deviation of the dense features, > 0.
      noise: standard deviation of the noise, >= 0.
      seed: seed (same seed, same data).

    Returns:
      ``LinearRegressionData(X (n, dense + rare), y (n,), w_true (dense + rare,))``.
    """
    n = integer("n", n, 1)
    dense = integer("dense", dense, 0)
    rare = integer("rare", rare, 0)
    check(dense + rare >= 1, "dense + rare", dense + rare, "at least 1 feature")
    p_rare = real("p_rare", p_rare, 0.0, 1.0, low_open=True)
    scale = real("scale", scale, 0.0, low_open=True)
    noise = real("noise", noise, 0.0)
    rng = np.random.default_rng(integer("seed", seed))
    X = np.hstack(
        [scale * rng.standard_normal((n, dense)), (rng.random((n, rare)) < p_rare).astype(float)]
    )
    dim = dense + rare
    w_true = rng.choice([-1.0, 1.0], dim) * rng.uniform(1.0, 2.0, dim)
    y = X @ w_true + noise * rng.standard_normal(n)
    return LinearRegressionData(X, y, w_true)


# --------------------------------------------------------------------------------------------
# Minibatches
# --------------------------------------------------------------------------------------------
def minibatch_indices(
    n: int, batch_size: int, rng=None, shuffle: bool = True, drop_last: bool = False
) -> list:
    """The index batches of one epoch over ``n`` examples.

    Every index appears exactly once (except those of a dropped last batch). With
    ``shuffle=True`` each call draws a fresh permutation from ``rng``, so pass the *same*
    Generator every epoch to reshuffle between epochs (a fixed seed repeats the same order).

    Args:
      n: number of examples, an int >= 1.
      batch_size: examples per batch, an int >= 1 (a batch larger than n gives one batch).
      rng: seed or ``np.random.Generator`` for the permutation.
      shuffle: permute the examples; otherwise batches are ``0..B-1``, ``B..2B-1``, ...
      drop_last: drop the last batch if it has fewer than ``batch_size`` examples.

    Returns:
      A list of int arrays: ``ceil(n / batch_size)`` batches (``floor`` with drop_last).
    """
    n = integer("n", n, 1)
    batch_size = integer("batch_size", batch_size, 1)
    shuffle, drop_last = flag("shuffle", shuffle), flag("drop_last", drop_last)
    order = np.random.default_rng(rng).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    return [order[i : i + batch_size] for i in range(0, stop, batch_size)]


def iterate_minibatches(
    X, y, batch_size: int, rng=None, shuffle: bool = True, drop_last: bool = False
) -> Iterator[tuple]:
    """Yield ``(X_batch, y_batch)`` for one epoch (see ``minibatch_indices``).

    Args:
      X: ``(n, ...)`` features.
      y: ``(n, ...)`` targets (or None: then y_batch is None).
      batch_size, rng, shuffle, drop_last: as in ``minibatch_indices``.
    """
    X = np.asarray(X)
    check(X.ndim >= 1 and len(X) >= 1, "X", X.shape, "a non-empty array of examples")
    if y is not None:
        y = np.asarray(y)
        check(y.ndim >= 1 and len(y) == len(X), "y", y.shape, f"{len(X)} targets, one per row of X")
    for idx in minibatch_indices(len(X), batch_size, rng, shuffle, drop_last):
        yield X[idx], (None if y is None else y[idx])


def one_hot(y, n_classes: Optional[int] = None) -> np.ndarray:
    """``(n, n_classes)`` float array with a 1 in column ``y[i]`` of row i.

    Args:
      y: ``(n,)`` integer labels in ``0 .. n_classes - 1``.
      n_classes: number of classes, an int >= 1 (default ``max(y) + 1``).
    """
    y = np.asarray(y)
    check(
        y.ndim == 1 and (y.size == 0 or y.dtype.kind in "iu"), "y", y, "a 1-D array of int labels"
    )
    if n_classes is None:
        n_classes = int(y.max()) + 1 if y.size else 1
    n_classes = integer("n_classes", n_classes, 1)
    check(
        y.size == 0 or (y.min() >= 0 and y.max() < n_classes),
        "y",
        y,
        f"labels in 0..{n_classes - 1}",
    )
    out = np.zeros((y.size, n_classes))
    out[np.arange(y.size), y] = 1.0
    return out
