"""Problem set 9 (training a real classifier): its checkers, and the assignment through the real
nbgrader.

The first part runs the notebook's test cells in-process against the solution and against
typical wrong submissions (fast), tries the checkers on several seeds against other correct
implementations (no false failures) and against wrong functions (the right diagnosis), and
checks the parts of the mark scheme that are numbers. The second part (``TestPipeline``, the
standard tests of ``nbgrader_course.AssignmentPipeline``) grades a small corpus of submissions
with the real nbgrader and with ``python -m course_lib.autograde``.
"""

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
from course_lib.grading import classifier as checks

matplotlib.use("Agg")

PS = "ps09"
FORM, LOSS, LARGE = "test_two_layer_form", "test_two_layer_loss", "test_two_layer_large_scores"
DW2, DB2, DW1, DB1 = (
    "test_two_layer_dW2",
    "test_two_layer_db2",
    "test_two_layer_dW1",
    "test_two_layer_db1",
)
TRAIN = "test_training"
F = "two_layer_loss_and_grad"

MASK = "(dS @ W2.T) * (Z1 > 0)"
PENALTY = " + reg * (np.sum(W1**2) + np.sum(W2**2))"

# A typical mistake = (answer cell, [(solution text, replacement), ...], what the feedback must
# say (or {test cell: text}), the test cells that must lose their points).
MISTAKES = {
    "relu_post_activation_ge": (  # A1 >= 0 is always true: no mask at all
        F,
        [(MASK, "(dS @ W2.T) * (A1 >= 0)")],
        "your gradient passes through the ReLU as if it were the identity",
        {DW1, DB1},
    ),
    "relu_ge": (F, [(MASK, "(dS @ W2.T) * (Z1 >= 0)")], "1 where Z1 = 0 exactly", {DW1, DB1}),
    "relu_times_value": (
        F,
        [(MASK, "(dS @ W2.T) * A1")],
        "you multiplied the upstream gradient by the ReLU's output A1 itself",
        {DW1, DB1},
    ),
    "loss_sum": (
        F,
        [("-np.mean(np.log(P[rows, y]))", "-np.sum(np.log(P[rows, y]))")],
        "your loss is N times too large",
        {LOSS},
    ),
    "grad_no_mean": (
        F,
        [("    dS /= N\n", "")],
        "your gradient misses the 1/N of the mean",
        {DW2, DB2, DW1, DB1},
    ),
    "no_max_shift": (
        F,
        [("    S = S - S.max(axis=1, keepdims=True)\n", "")],
        "with large scores your softmax gives inf or NaN",
        {LARGE},
    ),
    "global_max_shift": (
        F,
        [("S.max(axis=1, keepdims=True)", "S.max()")],
        "with scores far apart between examples your softmax gives inf or NaN",
        {LARGE},
    ),
    "bias_wrong_axis": (
        F,
        [('"b1": dZ1.sum(axis=0)', '"b1": dZ1.sum(axis=1)')],
        {
            FORM: "grads['b1'] must have the shape of params['b1']",
            DB1: "your bias gradient is summed over the wrong axis",
        },
        {FORM, DB1},
    ),
    "bias_mean": (
        F,
        [('"b2": dS.sum(axis=0)', '"b2": dS.mean(axis=0)')],
        "your bias gradient is the mean over the examples",
        {DB2},
    ),
    "no_reg_grad": (
        F,
        [("X.T @ dZ1 + 2 * reg * W1", "X.T @ dZ1")],
        "your weight gradient misses the penalty's gradient",
        {DW1},
    ),
    "double_reg_grad": (
        F,
        [("A1.T @ dS + 2 * reg * W2", "A1.T @ dS + 4 * reg * W2")],
        "your penalty's gradient is doubled",
        {DW2},
    ),
    "no_penalty": (F, [(PENALTY, "")], "your loss misses the penalty", {LOSS}),
    "half_penalty": (
        F,
        [(PENALTY, " + 0.5 * reg * (np.sum(W1**2) + np.sum(W2**2))")],
        "without a factor 1/2",
        {LOSS},
    ),
}

_source = SourceNotebook(PS, MISTAKES)
source_nb, solutions = _source.notebook, _source.solutions
with_mistakes, points = _source.with_mistakes, _source.points

# The penalty's gradient accumulated into the parameter itself: right numbers, but the
# caller's W1 is changed (the form's point only).
MUTATES_PARAMS = {
    F: solutions()[F].replace(
        '"W1": X.T @ dZ1 + 2 * reg * W1,', '"W1": np.add(X.T @ dZ1, 2 * reg * W1, out=W1),'
    )
}

# Stops as soon as its validation run passes 95% (3 epochs of SGD with momentum, constant
# rate): 96.3% on the validation images with seed 0 (259 of 269), 94.0% on the held-out test
# images with the hidden test's seed 9 (423 of 450), a network tuned to the validation split.
# Both margins are several images wide, so rounding differences between machines cannot flip them.
STOPS_EARLY = {
    "train_classifier": """
def train_classifier(X_train, y_train, X_val, y_val, seed):
    mlp = MLP(sizes=(64, 32, 10), seed=seed)
    params = mlp.init()
    optimizer = SGD(lr=0.1, momentum=0.9)
    state = optimizer.init(params)
    rng = np.random.default_rng(seed)
    for epoch in range(3):
        order = rng.permutation(len(X_train))
        for start in range(0, len(X_train), 32):
            idx = order[start : start + 32]
            loss, grads = mlp.loss_and_grad(params, X_train[idx], y_train[idx], 0.0)
            params, state = optimizer.step(params, grads, state)
    return params
"""
}


# --------------------------------------------------------------------------------------------
# The checkers, in-process
# --------------------------------------------------------------------------------------------
def test_the_points_add_up_to_the_table():
    _source.assert_points(9, written=3)  # 12 in all
    assert points()[TRAIN] == 2


# Other correct implementations: none may fail, on any seed.
ALTERNATIVES = {
    F: [
        """
def two_layer_loss_and_grad(params, X, y, reg):
    from course_lib.models import MLP
    D, H = params["W1"].shape
    mlp = MLP(sizes=(D, H, params["W2"].shape[1]))
    return mlp.loss_and_grad(params, np.asarray(X, dtype=float), list(y), reg)
""",
        """
def two_layer_loss_and_grad(params, X, y, reg):
    X = np.array(X, dtype=np.float64)
    y = np.array(y)
    h = np.maximum(X @ params["W1"] + params["b1"], 0)
    s = h @ params["W2"] + params["b2"]
    m = s.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(s - m).sum(axis=1))
    n = len(y)
    loss = np.mean(lse - s[np.arange(n), y])
    loss += reg * (np.vdot(params["W1"], params["W1"]) + np.vdot(params["W2"], params["W2"]))
    g = np.exp(s - lse[:, None])
    g[np.arange(n), y] -= 1.0
    g = g / n
    gh = g @ params["W2"].T
    gh[h <= 0] = 0.0
    return loss, {"W1": X.T @ gh + 2 * reg * params["W1"], "b1": gh.sum(0),
                  "W2": h.T @ g + 2 * reg * params["W2"], "b2": g.sum(0)}
""",
    ],
    "train_classifier": [_source.alternative_answers()["train_classifier"]],
}
ALTERNATIVES[F].append(_source.alternative_answers()[F])

# Wrong functions beyond the notebook edits above: name -> ({answer cell: code},
# {test cell: what its message must say, or None if the function must pass it}).
WRONG = {
    "probability_of_predicted_class": (  # no typical slip explains it: a plain verdict
        {F: solutions()[F].replace("P[rows, y]", "P.max(axis=1)")},
        {LOSS: "the loss differs from the correct one", DW2: None, FORM: None, LARGE: None},
    ),
    "returns_params_and_state": (
        {
            "train_classifier": solutions()["train_classifier"].replace(
                "return params", "return params, state"
            )
        },
        {TRAIN: "must return the parameters, a dict with the keys"},
    ),
}


class TestChecks(AssignmentChecks):
    """The standard in-process tests of ps09's checkers, driven by the tables above."""

    assignment = PS
    mistakes = MISTAKES
    submissions = {
        "mutates_params": (MUTATES_PARAMS, {FORM: "modified params['W1'] in place"}),
    }
    in_notebook = ()  # graded through their question's checkers (no training per mistake)
    wrong = WRONG
    wrong_seeds = [(0, False), (1, True), (2, True)]
    alternatives = ALTERNATIVES
    alternative_seeds = [(0, False), (1, True), (2, True)]
    hidden_probes = [
        "relu_post_activation_ge",
        "relu_ge",
        "grad_no_mean",
        "no_max_shift",
        "global_max_shift",
        "bias_wrong_axis",
        "no_penalty",
        "mutates_params",
        "probability_of_predicted_class",
        "returns_params_and_state",
    ]
    quiet_function = F


def _network(**keywords):
    return lambda params, X, y, reg: checks._network(params, X, y, reg, **keywords)


def test_the_slips_are_those_the_solution_avoids():
    """The checkers' right network equals MLP on every case, and each slip differs from it
    on at least one case (else its diagnosis could never be reached)."""
    cases = checks._cases(0) + checks._cases(7)
    for case in cases:
        loss, grads = checks._reference(**case.args)
        mine = checks._network(**case.args)
        assert np.isclose(mine[0], loss, rtol=1e-12)
        assert all(np.allclose(mine[1][k], grads[k], rtol=1e-12, atol=1e-15) for k in grads)
    for name, (keywords, _) in checks._MISTAKES.items():
        outputs = [_network(**keywords)(**c.args) for c in cases]
        differs = [
            not np.isclose(out[0], checks._reference(**c.args)[0])
            or any(
                np.shape(out[1][k]) != np.shape(v) or not np.allclose(out[1][k], v)
                for k, v in checks._reference(**c.args)[1].items()
            )
            for out, c in zip(outputs, cases)
        ]
        assert any(differs), name


def test_the_kink_is_seen_only_on_the_unit_at_zero():
    """Z1 >= 0 differs from Z1 > 0 on the case with a unit at exactly zero, and nowhere
    else; the diagnosis still names it, because it reproduces every case."""
    cases = checks._cases(0)
    ge = _network(mask="z>=0")
    same = [np.allclose(ge(**c.args)[1]["W1"], checks._reference(**c.args)[1]["W1"]) for c in cases]
    assert same == [True, True, False, True]
    with pytest.raises(GradingError, match="where Z1 = 0 exactly"):
        checks.check_two_layer_dW1(ge)


def test_a_slip_on_one_case_only_is_not_named():
    """Without the penalty's gradient on one case only: the message says the gradient
    differs, and names no slip."""

    def odd(params, X, y, reg):
        loss, grads = checks._network(params, X, y, reg)
        if len(X) == 5:
            grads["W2"] = grads["W2"] - 2 * reg * np.asarray(params["W2"])
        return loss, grads

    with pytest.raises(GradingError) as info:
        checks.check_two_layer_dW2(odd)
    text = str(info.value)
    assert "the gradient grads['W2'] differs from the correct one" in text
    assert "penalty" not in text


def test_the_visible_messages_show_the_case():
    ns = TestChecks.defined(with_mistakes("no_reg_grad"))
    with pytest.raises(GradingError) as info:
        checks.check_two_layer_dW1(ns[F])
    text = str(info.value)
    assert text.startswith(f"{F}: your weight gradient misses the penalty's gradient")
    assert "  test case: D = 3 inputs, H = 4 hidden units, C = 3 classes, N = 5 examples" in text
    assert "expected: array of shape (3, 4)" in text


def test_the_training_test_measures_the_accuracy_on_the_right_split():
    """The validation split in the visible test, the held-out test split in the hidden one:
    the network that stops early passes the first and fails the second."""
    train = TestChecks.defined(STOPS_EARLY)["train_classifier"]
    checks.check_training(train)
    with pytest.raises(GradingError) as info:
        checks.check_training(train, seed=9, hidden=True)
    assert str(info.value) == (
        "train_classifier (hidden test): the accuracy of the returned network on the "
        "held-out test images is below 95%; compare learning rates, epochs and schedules on "
        "the validation split"
    )


def test_training_has_its_own_time_limit():
    def slow(X_train, y_train, X_val, y_val, seed):
        while True:
            pass

    checks_limit = checks.TRAINING_TIME_LIMIT
    try:
        checks.TRAINING_TIME_LIMIT = 0.5
        with pytest.raises(GradingError, match="did not return within 0.5 s"):
            checks.check_training(slow)
    finally:
        checks.TRAINING_TIME_LIMIT = checks_limit


def test_the_notebook_never_loads_the_test_split():
    """The held-out images stay with the grader: no cell reads X_test or y_test."""
    for cell in source_nb().cells:
        if cell.cell_type == "code":
            assert "X_test" not in cell.source and "y_test" not in cell.source


def test_the_mark_scheme_quotes_the_solutions_runs():
    """The solution's validation accuracies (seeds 0 and 1) are in the range the mark
    scheme quotes, and its settings are the ones it names."""
    ns = TestChecks.defined({})
    from course_lib.data import load_digits_split
    from course_lib.models import MLP

    digits = load_digits_split()
    accuracies = [
        MLP((64, 64, 10)).accuracy(
            ns["train_classifier"](digits.X_train, digits.y_train, digits.X_val, digits.y_val, s),
            digits.X_val,
            digits.y_val,
        )
        for s in (0, 1)
    ]
    assert [round(a, 3) for a in accuracies] == [0.955, 0.967]
    scheme = next(c for c in source_nb().cells if nbgrader_meta(c).get("task")).source
    assert "reaches 0.955 and 0.967 validation accuracy with seeds 0 and 1" in scheme
    assert (
        "hidden, epochs, batch_size, lr, reg = 64, 20, 32, 0.05, 1e-4"
        in solutions()["train_classifier"]
    )


# --------------------------------------------------------------------------------------------
# The real pipeline
# --------------------------------------------------------------------------------------------
class TestPipeline(AssignmentPipeline):
    """ps09 through nbgrader: the solution, the released notebook, the second correct
    solution and four wrong submissions (one that only a hidden test catches)."""

    assignment = PS
    students = {
        "solution": Student(),
        "released": Student(released=True, lost=set(points())),
        "alternative": Student(_source.alternative_answers()),
        "relu_no_mask": Student(with_mistakes("relu_post_activation_ge"), lost={DW1, DB1}),
        "several_mistakes": Student(
            with_mistakes("loss_sum", "no_max_shift", "bias_wrong_axis"),
            lost={LOSS, LARGE, FORM, DB1},
        ),
        "mutates_params": Student(MUTATES_PARAMS, lost={FORM}),
        "stops_early": Student(STOPS_EARLY, lost={TRAIN}),
    }
    feedback_messages = [
        ("relu_no_mask", "your gradient passes through the ReLU as if it were the identity"),
        ("several_mistakes", "your loss is N times too large"),
        ("several_mistakes", "with large scores your softmax gives inf or NaN"),
        ("several_mistakes", "your bias gradient is summed over the wrong axis"),
        ("mutates_params", "modified params['W1'] in place"),
        ("stops_early", "held-out test images is below 95%"),
    ]
    hidden_failure = ("stops_early", TRAIN)
    autograde_args = ("--Execute.timeout=40",)
