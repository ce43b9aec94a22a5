"""Problem set 4 (minibatches and SGD): its checkers, and the assignment through the real nbgrader.

The first part runs the notebook's test cells in-process against the solution and against
typical wrong submissions (fast), and tests the checkers on correct implementations that
draw their random numbers differently from the solution. The second part (``TestPipeline``,
the standard tests of ``nbgrader_course.AssignmentPipeline``) builds a temporary course from
the repository's nbgrader_config.py, hands in a dozen submissions (directly and through an
LMS export with zip_collect), autogrades them in one `nbgrader autograde` call with real
kernels, and reads the real gradebook and feedback.
"""

import time

import matplotlib
import numpy as np
import pytest
from nbgrader_course import (
    AssignmentChecks,
    AssignmentPipeline,
    SourceNotebook,
    Student,
    nbgrader_meta,
)

from course_lib.grading import GradingError
from course_lib.grading import minibatch as checks

matplotlib.use("Agg")

PS = "ps04"

BATCHES, SHUFFLING = "test_minibatch_indices_batches", "test_minibatch_indices_shuffling"
UPDATES, EPOCHS = "test_minibatch_sgd_updates", "test_minibatch_sgd_epochs"
VARIANCE, VARIANCE_RNG = "test_gradient_variance", "test_gradient_variance_rng"
EXPERIMENT = "test_variance_experiment"

SGD_LOOP = "    for epoch in range(epochs):\n        for idx in sampler(len(y), batch_size, rng):"

# A typical mistake = (answer cell, [(solution text, replacement), ...], what the feedback must
# say, the test cells that must lose their points).
MISTAKES = {
    "indices_drop_last": (
        "minibatch_indices",
        [("range(0, n, batch_size)", "range(0, n - n % batch_size, batch_size)")],
        "the last, smaller batch is missing",
        {BATCHES},
    ),
    "indices_with_replacement": (
        "minibatch_indices",
        [("rng.permutation(n)", "rng.choice(n, size=n)")],
        "you sample with replacement",
        {BATCHES},
    ),
    # the examiner's: told "you sample with replacement" although every example is used
    "indices_pads_last_batch": (
        "minibatch_indices",
        [
            (
                "order = rng.permutation(n)",
                "order = rng.permutation(n)\n"
                "    order = np.concatenate([order, order[: -n % batch_size]])",
            ),
            ("range(0, n, batch_size)", "range(0, len(order), batch_size)"),
        ],
        "your last batch is filled up to batch_size with examples already used",
        {BATCHES},
    ),
    "indices_off_by_one": (
        "minibatch_indices",
        [("order[start:start + batch_size]", "order[start:start + batch_size - 1]")],
        "each batch has batch_size - 1 examples",
        {BATCHES},
    ),
    "indices_np_random": (
        "minibatch_indices",
        [("rng.permutation(n)", "np.random.permutation(n)")],
        "identically seeded rng gave different batches",
        {SHUFFLING},
    ),
    "indices_not_shuffled": (
        "minibatch_indices",
        [("rng.permutation(n)", "np.arange(n)")],
        "the examples are not shuffled",
        {SHUFFLING},
    ),
    "indices_fixed_seed": (
        "minibatch_indices",
        [("rng.permutation(n)", "np.random.default_rng(0).permutation(n)")],
        "ignores the rng argument",
        {SHUFFLING},
    ),
    "sgd_sum_gradient": (
        "minibatch_sgd",
        [(" / len(idx)", "")],
        "the sum of the example gradients",
        {UPDATES},
    ),
    "sgd_divides_by_batch_size": (
        "minibatch_sgd",
        [("/ len(idx)", "/ batch_size")],
        "you divide the batch gradient by batch_size",
        {UPDATES},
    ),
    "sgd_full_gradient": (
        "minibatch_sgd",
        [
            (
                "grad = 2 * Xb.T @ (Xb @ w - yb) / len(idx)",
                "grad = linear_regression_loss(w, X, y)[1]",
            )
        ],
        "the gradient on the full data set",
        {UPDATES},
    ),
    "sgd_loss_of_last_batch": (
        "minibatch_sgd",
        [
            (
                "losses.append(linear_regression_loss(w, X, y)[0])",
                "losses.append(linear_regression_loss(w, Xb, yb)[0])",
            )
        ],
        "the loss on the last minibatch",
        {UPDATES},
    ),
    "sgd_draws_once": (
        "minibatch_sgd",
        [
            (
                SGD_LOOP,
                (
                    "    batches = sampler(len(y), batch_size, rng)\n"
                    "    for epoch in range(epochs):\n"
                    "        for idx in batches:"
                ),
            )
        ],
        "you take the batches once, before the epoch loop",
        {EPOCHS},
    ),
    "sgd_np_random": (
        "minibatch_sgd",
        [
            (
                "sampler(len(y), batch_size, rng)",
                "sampler(len(y), batch_size, np.random.default_rng())",
            )
        ],
        "the batches were not drawn from the rng you were given",
        {EPOCHS},
    ),
    "sgd_mutates_w0": (
        "minibatch_sgd",
        [("w = np.array(w0, dtype=float)", "w = w0"), ("w = w - lr * grad", "w -= lr * grad")],
        "changed w0 in place",
        {EPOCHS},
    ),
    "sgd_integer_w0": (
        "minibatch_sgd",
        [
            ("w = np.array(w0, dtype=float)", "w = w0.copy()"),
            ("w = w - lr * grad", "w -= lr * grad"),
        ],
        "w0 may be an integer array",
        {EPOCHS},
    ),
    "sgd_shuffles_data_in_place": (
        "minibatch_sgd",
        [
            (
                SGD_LOOP,
                (
                    "    n = len(y)\n"
                    "    for epoch in range(epochs):\n"
                    "        order = np.concatenate(sampler(n, batch_size, rng))\n"
                    "        X[:], y[:] = X[order], y[order]  # shuffle the data\n"
                    "        for idx in np.array_split(np.arange(n), "
                    "range(batch_size, n, batch_size)):"
                ),
            )
        ],
        "shuffled X in place",
        {EPOCHS},
    ),
    "variance_with_replacement": (
        "gradient_variance",
        [("size=batch_size, replace=False)", "size=batch_size)")],
        "drawn with replacement",
        {VARIANCE},
    ),
    "variance_mean_over_coordinates": (
        "gradient_variance",
        [("np.sum((g - full) ** 2)", "np.mean((g - full) ** 2)")],
        "you average the squared error over the d coordinates",
        {VARIANCE},
    ),
    "variance_not_squared": (
        "gradient_variance",
        [("errors.append(np.sum((g - full) ** 2))", "errors.append(np.linalg.norm(g - full))")],
        "you return a length",
        {VARIANCE},
    ),
    "variance_np_random": (
        "gradient_variance",
        [("rng.choice(len(y)", "np.random.choice(len(y)")],
        "identically seeded rng gave different estimates",
        {VARIANCE_RNG},
    ),
    "experiment_fits_every_size": (
        "experiment",
        [
            (
                "np.log(np.array(BATCH_SIZES)[small]), np.log(variances[small])",
                "np.log(BATCH_SIZES), np.log(variances)",
            )
        ],
        "you fitted every batch size",
        {EXPERIMENT},
    ),
    "experiment_sigma2_not_centred": (  # passes the visible test, fails the hidden one
        "experiment",
        [("(per_example - full) ** 2", "per_example ** 2")],
        "subtract grad L(W) before squaring",
        {EXPERIMENT},
    ),
    # the examiner's: within a factor 2 of the replay, a generator per batch size earned the point
    "experiment_generator_per_size": (
        "experiment",
        [
            ("rng = np.random.default_rng(SEED)\n", ""),
            ("N_DRAWS, rng)", "N_DRAWS, np.random.default_rng(SEED))"),
        ],
        "you create a new generator np.random.default_rng(SEED) for each batch size",
        {EXPERIMENT},
    ),
}


# These run through the whole notebook in-process (the check that nothing else fails); the
# others only through their question's checkers, which is much faster.
IN_NOTEBOOK = {
    "indices_drop_last",
    "indices_with_replacement",
    "indices_np_random",
    "sgd_sum_gradient",
    "sgd_draws_once",
    "sgd_mutates_w0",
    "variance_with_replacement",
    "experiment_fits_every_size",
    "experiment_sigma2_not_centred",
    "experiment_generator_per_size",
}


_source = SourceNotebook(PS, MISTAKES)
source_nb, solutions = _source.notebook, _source.solutions
with_mistakes, points = _source.with_mistakes, _source.points


@pytest.fixture(scope="module")
def solution_namespace():
    """The solution's functions, defined by executing the source notebook's answers in-process."""
    return _source.namespace(skip=("experiment",))


def defined(code: str, name: str, namespace: dict):
    ns = dict(namespace)
    exec(code, ns)
    return ns[name]


# --------------------------------------------------------------------------------------------
# The checkers, in-process
# --------------------------------------------------------------------------------------------
def test_points_and_cells():
    assert points() == {
        BATCHES: 1,
        SHUFFLING: 1,
        UPDATES: 2,
        EPOCHS: 1,
        VARIANCE: 1,
        VARIANCE_RNG: 1,
        EXPERIMENT: 1,
    }
    tasks = [nbgrader_meta(c) for c in source_nb().cells if nbgrader_meta(c).get("task")]
    assert [(t["grade_id"], t["points"]) for t in tasks] == [("written_variance", 3)]


def test_visible_messages_show_the_case(solution_namespace):
    student = defined(
        with_mistakes("sgd_sum_gradient")["minibatch_sgd"], "minibatch_sgd", solution_namespace
    )
    with pytest.raises(GradingError) as info:
        checks.check_minibatch_sgd_updates(student)
    text = str(info.value)
    assert "test case: X of shape (10, 2)" in text and "expected w:" in text

    student = defined(
        with_mistakes("indices_drop_last")["minibatch_indices"],
        "minibatch_indices",
        solution_namespace,
    )
    with pytest.raises(
        GradingError, match=r"batch sizes: got \[3, 3, 3\], expected \[3, 3, 3, 1\]"
    ):
        checks.check_minibatch_indices_batches(student)


# Correct implementations that draw their random numbers differently from the solution.
ALTERNATIVES = {
    "minibatch_indices": [
        """
def minibatch_indices(n, batch_size, rng):
    order = rng.choice(n, size=n, replace=False)
    for start in range(0, n, batch_size):
        yield np.sort(order[start:start + batch_size])
""",
        """
def minibatch_indices(n, batch_size, rng):
    order = np.arange(n)
    rng.shuffle(order)
    return np.array_split(order, range(batch_size, n, batch_size))
""",
        """
def minibatch_indices(n, batch_size, rng):
    order = [int(i) for i in rng.permuted(np.arange(n))]
    return [order[k:k + batch_size] for k in range(0, n, batch_size)]
""",
    ],
    "minibatch_sgd": [
        """
def minibatch_sgd(X, y, w0, lr, batch_size, epochs, rng, sampler=None):
    w = w0.astype(float)
    losses = [float(np.mean((X @ w - y) ** 2))]
    for _ in range(epochs):
        for idx in sampler(X.shape[0], batch_size, rng=rng):
            w = w - lr * linear_regression_loss(w, X[idx], y[idx])[1]
        losses.append(float(np.mean((X @ w - y) ** 2)))
    return list(w), losses
""",
        """
def minibatch_sgd(X, y, w0, lr, batch_size, epochs, rng, sampler=None):
    X, y, w = X.copy(), y.copy(), np.array(w0, dtype=float)
    losses = [np.mean((X @ w - y) ** 2)]
    for _ in range(epochs):
        order = np.concatenate(sampler(len(y), batch_size, rng))
        X, y = X[order], y[order]          # shuffle copies, then take consecutive slices
        for start in range(0, len(y), batch_size):
            r = X[start:start + batch_size] @ w - y[start:start + batch_size]
            w = w - lr * 2 * np.mean(r[:, None] * X[start:start + batch_size], axis=0)
        losses.append(np.mean((X @ w - y) ** 2))
    return w, np.array(losses)
""",
    ],
    "gradient_variance": [
        """
def gradient_variance(X, y, w, batch_size, n_draws, rng):
    per_example = 2 * (X @ w - y)[:, None] * X
    full = per_example.mean(axis=0)
    batches = np.array([rng.permutation(len(y))[:batch_size] for _ in range(n_draws)])
    g = per_example[batches].mean(axis=1)
    return np.mean(np.sum((g - full) ** 2, axis=1))
""",
        """
def gradient_variance(X, y, w, batch_size, n_draws, rng):
    gs = []
    for _ in range(n_draws):
        idx = rng.choice(len(y), size=batch_size, replace=False)
        gs.append(linear_regression_loss(w, X[idx], y[idx])[1])
    gs = np.array(gs)  # the spread of the draws around their own mean: nearly the same
    return float(np.sum(np.var(gs, axis=0)))
""",
    ],
}


class TestChecks(AssignmentChecks):
    """The standard in-process tests of ps04's checkers, driven by the tables above."""

    assignment = PS
    mistakes, in_notebook = MISTAKES, IN_NOTEBOOK
    alternatives = ALTERNATIVES
    alternative_seeds = [(0, False), (2024, True), (31, True)]
    quiet_function = "minibatch_sgd"
    hidden_probes = [
        "indices_drop_last",
        "indices_not_shuffled",
        "sgd_sum_gradient",
        "sgd_draws_once",
        "sgd_mutates_w0",
        "sgd_loss_of_last_batch",
        "variance_with_replacement",
        "variance_np_random",
    ]


def test_sgd_reference_replay_matches_train_minibatch():
    """The checker's replay of SGD on given batches is course_lib's train_minibatch."""
    for case in checks._sgd_cases(7, hidden=True):
        plan = checks._reference_batches(case)
        w, losses = checks._replay(case, plan)
        w_ref, losses_ref = checks._reference_run(case)
        np.testing.assert_allclose(w, w_ref, rtol=1e-12)
        np.testing.assert_allclose(losses, losses_ref, rtol=1e-12)


def test_shuffling_statistics_catch_orders_that_are_not_uniform():
    def rotated(n, batch_size, rng):  # a random rotation of 0..n-1: every position uniform
        order = np.roll(np.arange(n), rng.integers(n))
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]

    def blocks_shuffled(n, batch_size, rng):  # fixed batches in a random order
        order = np.arange(n)
        batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
        return [batches[k] for k in rng.permutation(len(batches))]

    def within_batches(n, batch_size, rng):  # each fixed batch shuffled inside
        return [
            rng.permutation(np.arange(i, min(i + batch_size, n))) for i in range(0, n, batch_size)
        ]

    for student, message in [
        (rotated, "shift one fixed order"),
        (blocks_shuffled, "order of fixed batches"),
        (within_batches, "you shuffle within the batches"),
    ]:
        with pytest.raises(GradingError, match=message):
            for seed in range(5):  # consecutive calls may repeat by chance: then another seed
                try:
                    checks.check_minibatch_indices_shuffling(student, seed=seed)
                except GradingError as exc:
                    if "consecutive calls" not in str(exc):
                        raise
        checks.check_minibatch_indices_batches(student)  # every one is a partition


def test_a_function_that_never_returns_is_stopped(monkeypatch):
    import course_lib.grading._core as core

    def forever(X, y, w0, lr, batch_size, epochs, rng, sampler=None):
        epoch, give_up = 0, time.monotonic() + 20  # give_up: a broken limit fails, not hangs
        while epoch < epochs and time.monotonic() < give_up:  # epoch is never increased
            sampler(len(y), batch_size, rng)

    monkeypatch.setitem(core.run.__kwdefaults__, "time_limit", 0.5)
    with pytest.raises(GradingError, match="did not return within 0.5 s"):
        checks.check_minibatch_sgd_updates(forever)


def test_a_padded_last_batch_is_not_told_it_samples_with_replacement():
    ns = TestChecks.defined(with_mistakes("indices_pads_last_batch"))
    for seed, hidden in [(0, False), (1, True), (2, True)]:
        with pytest.raises(GradingError) as info:
            checks.check_minibatch_indices_batches(
                ns["minibatch_indices"], seed=seed, hidden=hidden
            )
        assert "with replacement" not in str(info.value)
        assert "last batch is filled up to batch_size" in str(info.value)


def test_experiment_checker_properties(solution_namespace):
    from course_lib.data import load_diabetes

    data = load_diabetes(standardize_target=True)
    X, y, w = data.X_train, data.y_train, np.zeros(2)
    sizes, draws, fit_max, seed = [1, 2, 4, 8, 16, 32, 64], 100, 16, 3
    gv = solution_namespace["gradient_variance"]
    rng = np.random.default_rng(seed)
    variances = np.array([gv(X, y, w, b, draws, rng) for b in sizes])
    per = 2 * (X @ w - y)[:, None] * X
    sigma2 = np.mean(np.sum((per - per.mean(axis=0)) ** 2, axis=1))
    small = np.array(sizes) <= fit_max
    slope = np.polyfit(np.log(np.array(sizes)[small]), np.log(variances[small]), 1)[0]
    args = (gv, X, y, w, sizes, draws, fit_max, seed)
    checks.check_variance_experiment(sigma2, variances, slope, *args)
    checks.check_variance_experiment(
        sigma2 * len(y) / (len(y) - 1), variances, slope, *args, hidden=True
    )  # the N - 1 convention is accepted
    with pytest.raises(GradingError, match="one estimate per batch size"):
        checks.check_variance_experiment(sigma2, variances[:-1], slope, *args)
    with pytest.raises(GradingError, match="positive, finite"):
        checks.check_variance_experiment(sigma2, np.r_[variances[:-1], 0.0], slope, *args)
    with pytest.raises(GradingError, match="fit a line to the logarithms"):
        bad = np.polyfit(np.array(sizes)[small], variances[small], 1)[0]
        checks.check_variance_experiment(sigma2, variances, bad, *args)
    with pytest.raises(GradingError, match=r"\(hidden test\): sigma\^2 is the mean"):
        checks.check_variance_experiment(sigma2 * len(y), variances, slope, *args, hidden=True)
    shifted = variances * 2
    slope2 = np.polyfit(np.log(np.array(sizes)[small]), np.log(shifted[small]), 1)[0]
    with pytest.raises(GradingError, match=r"\(hidden test\): your estimates differ"):
        checks.check_variance_experiment(sigma2, shifted, slope2, *args, hidden=True)
    # deterministic given the seed: 10 % off is not Monte Carlo noise
    near = variances * np.r_[1.1, np.ones(len(sizes) - 1)]
    slope3 = np.polyfit(np.log(np.array(sizes)[small]), np.log(near[small]), 1)[0]
    with pytest.raises(GradingError, match=r"\(hidden test\): your estimates differ"):
        checks.check_variance_experiment(sigma2, near, slope3, *args, hidden=True)


# --------------------------------------------------------------------------------------------
# The real pipeline
# --------------------------------------------------------------------------------------------
LOOP_IN_FUNCTION = """
def minibatch_sgd(X, y, w0, lr, batch_size, epochs, rng, sampler=None):
    if sampler is None:
        sampler = minibatch_indices
    w = np.array(w0, dtype=float)
    epoch = 0
    while epoch < epochs:  # epoch is never increased
        for idx in sampler(len(y), batch_size, rng):
            w = w - lr * linear_regression_loss(w, X[idx], y[idx])[1]
"""

LOOP_AT_TOP_LEVEL = """
rng = np.random.default_rng(SEED)
variances = []
B = 1
while B <= 256:  # B is never doubled
    variances.append(gradient_variance(X_DIAB, y_DIAB, W, B, N_DRAWS, rng))
"""


class TestPipeline(AssignmentPipeline):
    """ps04 through nbgrader: a dozen submissions, two of them from an LMS export."""

    assignment = PS
    students = {
        "solution": Student(lms_file="solution_LATE_1001_2002_ps04-1.ipynb"),
        "released": Student(released=True, lost=set(points())),
        "drops_last_batch": Student(
            with_mistakes("indices_drop_last"),
            lost={BATCHES},
            lms_file="drops_last_batch_1003_2004_ps04.ipynb",
        ),
        "sum_gradient": Student(with_mistakes("sgd_sum_gradient"), lost={UPDATES}),
        "draws_once": Student(with_mistakes("sgd_draws_once"), lost={EPOCHS}),
        "several_mistakes": Student(
            with_mistakes("indices_np_random", "sgd_mutates_w0", "variance_with_replacement"),
            lost={SHUFFLING, EPOCHS, VARIANCE},
        ),
        "sigma2_not_centred": Student(
            with_mistakes("experiment_sigma2_not_centred"), lost={EXPERIMENT}
        ),
        "raises_at_import": Student(
            {"minibatch_indices": "import seaborn as sns\n" + solutions()["minibatch_indices"]},
            lost={BATCHES, SHUFFLING},
        ),
        "loops_in_function": Student({"minibatch_sgd": LOOP_IN_FUNCTION}, lost={UPDATES, EPOCHS}),
        "loops_at_top_level": Student({"experiment": LOOP_AT_TOP_LEVEL}, lost={EXPERIMENT}),
        "deleted_test_cell": Student(delete=[EPOCHS]),
        "edited_test_cell": Student(
            with_mistakes("sgd_draws_once"),
            replace={EPOCHS: "# my loop is fine\npass"},
            lost={EPOCHS},
        ),
    }
    feedback_messages = [
        (student, MISTAKES[mistake][2])
        for student, mistake in [
            ("drops_last_batch", "indices_drop_last"),
            ("sum_gradient", "sgd_sum_gradient"),
            ("draws_once", "sgd_draws_once"),
            ("edited_test_cell", "sgd_draws_once"),
            ("several_mistakes", "indices_np_random"),
            ("several_mistakes", "sgd_mutates_w0"),
            ("several_mistakes", "variance_with_replacement"),
        ]
    ] + [
        ("loops_in_function", "did not return within 2 s"),
        ("raises_at_import", "ModuleNotFoundError"),
    ]

    released_without_stub = 1  # the experiment's test finds no results
    hidden_failure = ("sigma2_not_centred", EXPERIMENT)
