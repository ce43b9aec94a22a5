"""An epoch of minibatch Adam on the digits: course_lib's MLP against scikit-learn's MLPClassifier.

Both train the same network (64 inputs, one hidden layer of 128 ReLU units, 10 classes) on the
digits training split (``course_lib.data.load_digits``, 1347 images) with Adam (lr 1e-3, betas
(0.9, 0.999), eps 1e-8), batches of 64 reshuffled every epoch, the same L2 penalty and no early
stopping, for ``--epochs`` epochs, side by side in one process with one BLAS thread. Prints the
median time per epoch over ``--repeats`` runs (wall clock of the whole training call divided by
the epochs), the ratio course_lib / scikit-learn (lower is faster; target <= 1) and the test
accuracy of each after those epochs (median over the runs, which use seeds 0, 1, ...). Prints
numbers only: no assertion, timings depend on the machine. "train-only" is course_lib's own
record of the time spent on minibatch gradients and updates (``History.epoch_times``).

    python benchmarks/bench_mlp.py [--epochs 20] [--repeats 5] [--alpha 1e-4] [--init xavier]

The default initialisation is Xavier's uniform one, which is what scikit-learn uses for every
activation but the logistic (``U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))``), so that the
accuracies compare optimisers and not starting points; ``--init he`` shows He's instead.

What each time includes. scikit-learn: ``fit`` (input checks, label encoding, initialisation,
the epochs; it keeps a running loss of the batches). course_lib: ``train_minibatch`` (the
epochs; with ``epoch_loss="batches"`` the epoch's loss is the mean of its minibatch losses, as
in scikit-learn's ``loss_curve_``, so neither side evaluates the whole training set per epoch).
The L2 penalties match: scikit-learn's ``alpha`` adds ``0.5 * alpha * sum(W**2)`` per
batch divided by the batch size, which is ``reg = alpha / (2 * batch)`` in course_lib's
convention (exact for every full batch; the last, smaller batch of an epoch differs slightly).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: one BLAS thread for both sides

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from course_lib.data import load_digits  # noqa: E402
from course_lib.models import MLP  # noqa: E402
from course_lib.optim import Adam  # noqa: E402
from course_lib.train import train_minibatch  # noqa: E402

HIDDEN, BATCH, LR = 128, 64, 1e-3


def run_course_lib(data, epochs, alpha, seed, dtype, init):
    mlp = MLP((data.X_train.shape[1], HIDDEN, data.n_classes), "relu", init, seed=seed)
    reg = alpha / (2 * BATCH)
    X = data.X_train.astype(dtype)

    def loss_and_grad(params, Xb, yb):
        return mlp.loss_and_grad(params, Xb, yb, reg)

    start = time.perf_counter()
    hist = train_minibatch(
        loss_and_grad,
        mlp.init(dtype),
        X,
        data.y_train,
        Adam(lr=LR),
        BATCH,
        epochs,
        rng=seed,
        epoch_loss="batches",
    )
    seconds = time.perf_counter() - start
    return seconds / epochs, mlp.accuracy(hist.params, data.X_test, data.y_test), hist


def run_sklearn(data, epochs, alpha, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=(HIDDEN,),
        activation="relu",
        solver="adam",
        alpha=alpha,
        batch_size=BATCH,
        learning_rate_init=LR,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,  # never stops before max_iter
        shuffle=True,
        early_stopping=False,
        random_state=seed,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached: intended
        clf.fit(data.X_train, data.y_train)
    seconds = time.perf_counter() - start
    assert clf.n_iter_ == epochs, clf.n_iter_
    return seconds / epochs, float(np.mean(clf.predict(data.X_test) == data.y_test)), None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--alpha", type=float, default=1e-4, help="scikit-learn's L2 alpha")
    parser.add_argument(
        "--init", choices=("xavier", "he"), default="xavier", help="course_lib's initialisation"
    )
    args = parser.parse_args(argv)
    data = load_digits()
    rows = {"scikit-learn": [], "course_lib float64": [], "course_lib float32": []}
    with threadpool_limits(limits=1):
        for seed in range(args.repeats):  # interleaved, so a busy moment hits every side
            rows["scikit-learn"].append(run_sklearn(data, args.epochs, args.alpha, seed))
            for dtype in (np.float64, np.float32):
                name = f"course_lib {np.dtype(dtype).name}"
                rows[name].append(
                    run_course_lib(data, args.epochs, args.alpha, seed, dtype, args.init)
                )
    print(
        f"digits: {len(data.X_train)} train / {len(data.X_test)} test, MLP 64-{HIDDEN}-10 ReLU, "
        f"Adam lr={LR}, batch {BATCH}, alpha={args.alpha}, {args.epochs} epochs, "
        f"{args.repeats} runs, 1 BLAS thread, course_lib init={args.init!r}"
    )
    ref = statistics.median(r[0] for r in rows["scikit-learn"])
    print(
        f"{'':20} {'ms/epoch':>9} {'ratio':>6} {'train-only ms':>14} {'ratio':>6} "
        f"{'test acc median (min-max)':>26}"
    )
    for name, results in rows.items():
        t = statistics.median(r[0] for r in results)
        hists = [r[2] for r in results]
        train_only = (
            ""
            if hists[0] is None
            else statistics.median(h.epoch_times[-1] / h.epochs_completed for h in hists)
        )
        only = (
            f"{'-':>14} {'':>6}"
            if train_only == ""
            else (f"{1e3 * train_only:14.2f} {train_only / ref:6.2f}")
        )
        accs = [r[1] for r in results]
        print(
            f"{name:20} {1e3 * t:9.2f} {t / ref:6.2f} {only} "
            f"{statistics.median(accs):10.4f} ({min(accs):.4f}-{max(accs):.4f})"
        )


if __name__ == "__main__":
    main()
