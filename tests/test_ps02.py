"""Problem set 2 (gradients): its checkers, and the assignment through the real nbgrader.

The first part runs the notebook's test cells in-process against the solution, against
typical wrong submissions and against other correct implementations (fast); it also tests the
grading core's hooks for modified inputs that this problem set added. The second part
(``TestPipeline``, the standard tests of ``nbgrader_course.AssignmentPipeline``) builds a
temporary course from the repository's nbgrader_config.py, hands in a dozen submissions
(directly and through an LMS export), autogrades them in one `nbgrader autograde` call with
real kernels, and reads the real gradebook and feedback.
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
    replace_solution,
)

from course_lib.grading import Case, GradingError, run
from course_lib.grading import gradients as checks

matplotlib.use("Agg")

PS = "ps02"

NG_VALUES, NG_SHAPES = "test_numerical_gradient_values", "test_numerical_gradient_shapes"
SM_VALUE, SM_GRAD, SM_LARGE = (
    "test_softmax_loss_value",
    "test_softmax_gradient",
    "test_softmax_large_scores",
)
SVM_VALUE, SVM_GRAD = "test_svm_loss_value", "test_svm_gradient"
GC_ERROR, GC_SAMPLING = "test_gradient_check_error", "test_gradient_check_sampling"

_PERTURB = """        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old  # put the entry back before moving on
"""
_PERTURB_IN_PLACE = """        x[i] += h
        f_plus = f(x)
        x[i] -= 2 * h
        f_minus = f(x)
        x[i] += h  # back where we started
"""
_COPY = "x = np.array(x, dtype=float)  # a float copy: the caller's x stays untouched"

# A typical mistake = (answer cell, solution text, replacement, what the feedback must say (in
# every lost cell, or per cell), the test cells that must lose their points).
MISTAKES = {
    # Question 1: numerical_gradient
    "ng_forward": (
        "numerical_gradient",
        "grad[i] = (f_plus - f_minus) / (2 * h)",
        "grad[i] = (f_plus - f(x)) / h",
        "you used a forward difference",
        {NG_VALUES},
    ),
    "ng_over_h": (
        "numerical_gradient",
        "(f_plus - f_minus) / (2 * h)",
        "(f_plus - f_minus) / h",
        "divide by 2h, not by h",
        {NG_VALUES},
    ),
    "ng_not_restored": (
        "numerical_gradient",
        "        x[i] = old  # put the entry back before moving on\n",
        "",
        "you do not put x[i] back after perturbing it",
        {NG_VALUES},
    ),
    "ng_no_copy": (  # alone harmless (x is restored); with ng_not_restored x stays perturbed
        "numerical_gradient",
        _COPY,
        "x = np.asarray(x, dtype=float)",
        "leaves the caller's x perturbed",
        set(),
    ),
    "ng_add_subtract_h": (  # no copy, and x[i] + h - 2h + h is not exactly x[i]
        "numerical_gradient",
        _PERTURB,
        _PERTURB_IN_PLACE,
        "changes the caller's x in its last digits",
        set(),
    ),
    "ng_integer_copy": (
        "numerical_gradient",
        _COPY,
        "x = np.array(x)",
        "x + h cannot be stored in an integer array",
        {NG_SHAPES},
    ),
    "ng_zeros_like": (
        "numerical_gradient",
        f"    {_COPY}\n    grad = np.zeros(x.shape)",
        f"    grad = np.zeros_like(x)\n    {_COPY}",
        "created with x's integer dtype",
        {NG_SHAPES},
    ),
    "ng_flat": (
        "numerical_gradient",
        "    return grad\n",
        "    return grad.ravel()\n",
        "the gradient must have x's shape",
        {NG_SHAPES},
    ),
    # Question 2: relative_error (gradient_check uses it, so it can lose points there too)
    "re_divides_by_a": (
        "relative_error",
        "scale = np.maximum(np.abs(a), np.abs(n))",
        "scale = np.abs(a)",
        {
            "test_relative_error": "you divide by |a| only",
            GC_ERROR: "your relative error divides by |a| only",
        },
        {"test_relative_error", GC_ERROR},
    ),
    "re_nan_where_both_zero": (
        "relative_error",
        "    safe = np.where(scale > 0, scale, 1.0)  # no 0 / 0 where both are 0\n"
        "    return np.where(scale > 0, np.abs(a - n) / safe, 0.0)",
        "    return np.abs(a - n) / scale",
        "where a and n are both 0 the relative error",
        {"test_relative_error"},
    ),
    "re_python_max": (
        "relative_error",
        "np.maximum(np.abs(a), np.abs(n))",
        "max(np.abs(a), np.abs(n))",
        "use np.maximum(u, v)",
        {"test_relative_error"},
    ),
    # Question 3: softmax_loss
    "sm_unstable": (
        "softmax_loss",
        "    scores = scores - scores.max(axis=1, keepdims=True)  # the largest score of a row "
        "is 0\n",
        "",
        "exp(1000) overflows",
        {SM_LARGE},
    ),
    "sm_global_max": (
        "softmax_loss",
        "scores.max(axis=1, keepdims=True)",
        "scores.max()",
        "do you subtract one maximum for the whole matrix?",
        {SM_LARGE},
    ),
    "sm_no_reg_grad": (
        "softmax_loss",
        "dW = X.T @ dscores / N + 2 * reg * W",
        "dW = X.T @ dscores / N",
        "the derivative of reg * sum(W**2) is 2 * reg * W",
        {SM_GRAD},
    ),
    "sm_reg_w": (
        "softmax_loss",
        "dscores / N + 2 * reg * W",
        "dscores / N + reg * W",
        "the penalty's gradient is 2 * reg * W, not reg * W",
        {SM_GRAD},
    ),
    "sm_sum_loss": (
        "softmax_loss",
        "-np.mean(np.log(probs[rows, y]))",
        "-np.sum(np.log(probs[rows, y]))",
        "your loss is a sum over the examples",
        {SM_VALUE},
    ),
    "sm_sum_grad": (
        "softmax_loss",
        "X.T @ dscores / N",
        "X.T @ dscores",
        "your gradient is N times too large",
        {SM_GRAD},
    ),
    "sm_sign": (
        "softmax_loss",
        "dW = X.T @ dscores",
        "dW = -X.T @ dscores",
        "the data part of your gradient has the wrong sign",
        {SM_GRAD},
    ),
    "sm_transposed": (
        "softmax_loss",
        "dW = X.T @ dscores / N + 2 * reg * W",
        "dW = dscores.T @ X / N + 2 * reg * W.T",
        "your gradient is transposed",
        {SM_GRAD},
    ),
    "sm_no_one_hot": (
        "softmax_loss",
        "    dscores[rows, y] -= 1  # P - Y\n",
        "",
        "you forgot to subtract 1 at the correct class",
        {SM_GRAD},
    ),
    # Question 4: svm_loss
    "svm_counts_correct": (
        "svm_loss",
        "    margins[rows, y] = 0  # the sum runs over j != y_i\n",
        "",
        "must not count; set its margin to 0",
        {SVM_VALUE, SVM_GRAD},
    ),
    "svm_margin_sign": (
        "svm_loss",
        "scores - correct + 1",
        "scores - correct - 1",
        "not s_j - s_{y_i} - 1",
        {SVM_VALUE, SVM_GRAD},
    ),
    "svm_plus_one_outside": (
        "svm_loss",
        "np.maximum(0, scores - correct + 1)",
        "np.maximum(0, scores - correct) + 1",
        {SVM_VALUE: "the + 1 belongs inside the hinge", SVM_GRAD: "is the + 1 outside"},
        {SVM_VALUE, SVM_GRAD},
    ),
    "svm_no_reg_grad": (
        "svm_loss",
        "dW = X.T @ G / N + 2 * reg * W",
        "dW = X.T @ G / N",
        "the derivative of reg * sum(W**2) is 2 * reg * W",
        {SVM_GRAD},
    ),
    "svm_reg_w": (
        "svm_loss",
        "G / N + 2 * reg * W",
        "G / N + reg * W",
        "the penalty's gradient is 2 * reg * W, not reg * W",
        {SVM_GRAD},
    ),
    "svm_sum": (
        "svm_loss",
        "margins.sum() / N",
        "margins.sum()",
        "your loss is a sum over the examples",
        {SVM_VALUE},
    ),
    "svm_no_correct_column": (
        "svm_loss",
        "    G[rows, y] = -G.sum(axis=1)\n",
        "",
        "the correct class's column is missing",
        {SVM_GRAD},
    ),
    "svm_transposed": (
        "svm_loss",
        "dW = X.T @ G / N + 2 * reg * W",
        "dW = G.T @ X / N + 2 * reg * W.T",
        "your gradient is transposed",
        {SVM_GRAD},
    ),
    # Question 5: gradient_check
    "gc_mean": (
        "gradient_check",
        "np.max(errors)",
        "np.mean(errors)",
        "you return the mean of the relative errors",
        {GC_ERROR},
    ),
    "gc_ignores_tol": (
        "gradient_check",
        "max_error <= tol",
        "max_error <= 1e-7",
        "passed ignores the tol argument",
        {GC_ERROR},
    ),
    "gc_forward": (
        "gradient_check",
        "        x[i] = old - h\n        f_minus = f(x)\n        x[i] = old\n"
        "        numerical = (f_plus - f_minus) / (2 * h)",
        "        x[i] = old\n        numerical = (f_plus - f(x)) / h",
        "a gradient check uses the centred difference",
        {GC_ERROR},
    ),
    "gc_with_replacement": (
        "gradient_check",
        "replace=False",
        "replace=True",
        "some coordinates were drawn more than once",
        {GC_SAMPLING},
    ),
    "gc_global_random": (
        "gradient_check",
        "rng.choice(x.size",
        "np.random.choice(x.size",
        "two calls with the same seed checked different coordinates",
        {GC_SAMPLING},
    ),
    "gc_no_cap": (
        "gradient_check",
        "size=min(num_checks, x.size)",
        "size=num_checks",
        "num_checks may be larger than x.size",
        {GC_SAMPLING},
    ),
}

# Whole answers (grade_id -> code) for mistakes that are not a small edit.
CLASSES_FROM_LABELS = """
def softmax_loss(W, X, y, reg=0.0):
    N = X.shape[0]
    C = np.max(y) + 1  # the number of classes: wrong when the last classes are absent from y
    Y = np.eye(C)[y]  # one-hot labels
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.sum(Y * np.log(probs)) / N + reg * np.sum(W**2)
    dW = X.T @ (probs - Y) / N + 2 * reg * W
    return loss, dW
"""

FULL_GRADIENT_CHECK = """
def gradient_check(f, grad, x, num_checks=10, h=1e-5, seed=0, tol=1e-7):
    errors = relative_error(grad, numerical_gradient(f, x, h))  # every coordinate
    max_error = float(np.max(errors))
    return max_error, max_error <= tol
"""


_source = SourceNotebook(PS, MISTAKES)
source_nb, solutions = _source.notebook, _source.solutions
with_mistakes, points = _source.with_mistakes, _source.points


def lost_by(*names: str) -> set:
    return set().union(*(MISTAKES[name][4] for name in names))


# More submissions checked in-process: name -> (answers, {lost cell: message in its error}).
# (gradient_check reuses relative_error, so re_divides_by_a costs there too.)
SUBMISSIONS = {
    # no copy and no restore: x is left off by h, and the later partials are wrong
    "ng_caller_x_perturbed": (
        with_mistakes("ng_no_copy", "ng_not_restored"),
        {NG_VALUES: MISTAKES["ng_not_restored"][3], NG_SHAPES: MISTAKES["ng_no_copy"][3]},
    ),
    # values right to round-off, but the caller's x changes in its last digits
    "ng_add_subtract_h": (
        with_mistakes("ng_add_subtract_h", "ng_no_copy"),
        {NG_SHAPES: MISTAKES["ng_add_subtract_h"][3]},
    ),
    "sm_sum_everywhere": (
        with_mistakes("sm_sum_loss", "sm_sum_grad"),
        {SM_VALUE: "your loss is a sum over the examples", SM_GRAD: "N times too large"},
    ),
    "gc_full_gradient": (
        {"gradient_check": FULL_GRADIENT_CHECK},
        {GC_SAMPLING: "you checked every coordinate"},
    ),
    # passes the visible tests (every class occurs in their labels), fails hidden ones
    "sm_classes_from_labels": (
        {"softmax_loss": CLASSES_FROM_LABELS},
        {cell: "have no example in y" for cell in (SM_VALUE, SM_GRAD, SM_LARGE)},
    ),
}


@pytest.fixture(scope="module")
def solution_namespace():
    """The solution's functions, defined by executing the source notebook in-process."""
    return _source.namespace()


# --------------------------------------------------------------------------------------------
# The checkers, in-process
# --------------------------------------------------------------------------------------------
def test_a_mistake_only_hidden_tests_catch_is_explained():
    ns = defined({"softmax_loss": CLASSES_FROM_LABELS})
    for check in [
        checks.check_softmax_loss_value,
        checks.check_softmax_gradient,
        checks.check_softmax_large_scores,
    ]:
        check(ns["softmax_loss"])  # the visible cases happen to use every class
    with pytest.raises(GradingError, match=r"\(hidden test\): .*C = W.shape\[1\], not max"):
        checks.check_softmax_gradient(ns["softmax_loss"], seed=2024, hidden=True)


def defined(answers: dict) -> dict:
    """The solution's namespace with some answer cells replaced."""
    return TestChecks.defined(answers)


def test_visible_messages_show_the_case():
    ns = defined(with_mistakes("sm_reg_w"))
    with pytest.raises(GradingError) as info:
        checks.check_softmax_gradient(ns["softmax_loss"])
    text = str(info.value)
    assert "test case: W of shape (3, 4)" in text and "reg = 0.1" in text
    assert "expected:" in text and "got:" in text
    ns = defined(with_mistakes("gc_mean"))
    with pytest.raises(GradingError, match=r"coordinates you checked: \[\(") as info:
        checks.check_gradient_check_error(ns["gradient_check"])


# Other correct implementations: the checkers must accept them on every seed.
ALTERNATIVES = {
    "numerical_gradient": [
        """
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    flat = x.reshape(-1)  # a view on the copy
    grad = np.empty(x.size)
    for k in range(x.size):
        step = np.zeros(x.size)
        step[k] = h
        grad[k] = (f((flat + step).reshape(x.shape)) - f((flat - step).reshape(x.shape))) / 2 / h
    return grad.reshape(x.shape)
""",
        """
def numerical_gradient(f, x, h=1e-5):
    x = np.asarray(x)  # the caller's array, perturbed in place and restored exactly
    if x.dtype.kind != "f":
        x = x.astype(float)
    grad = np.zeros(x.shape)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        saved = float(x[i])
        x[i] = saved + h
        fp = f(x)
        x[i] = saved - h
        fm = f(x)
        x[i] = saved
        grad[i] = (fp - fm) / (2 * h)
    return grad
""",
    ],
    "relative_error": [
        """
def relative_error(a, n):
    a, n = np.asarray(a, dtype=float), np.asarray(n, dtype=float)
    num, den = np.abs(a - n), np.maximum(np.abs(a), np.abs(n))
    out = np.zeros(np.broadcast(a, n).shape)
    np.divide(num, den, out=out, where=den > 0)
    return out if out.ndim else float(out)
""",
        """
def relative_error(a, n):
    a, n = np.asarray(a, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        err = np.abs(a - n) / np.maximum(np.abs(a), np.abs(n))
    return np.nan_to_num(err, nan=0.0)
""",
    ],
    "softmax_loss": [
        """
def softmax_loss(W, X, y, reg=0.0):
    y = np.asarray(y)
    N, C = X.shape[0], W.shape[1]
    S = X @ W
    m = S.max(axis=1, keepdims=True)
    log_z = m + np.log(np.exp(S - m).sum(axis=1, keepdims=True))
    log_p = S - log_z
    Y = np.eye(C)[y]
    loss = -(Y * log_p).sum() / N + reg * (W * W).sum()
    dW = X.T @ (np.exp(log_p) - Y) / N + 2 * reg * W
    return float(loss), dW
""",
        """
def softmax_loss(W, X, y, reg=0.0):
    from scipy.special import log_softmax
    log_p = log_softmax(X @ W, axis=1)
    rows = np.arange(len(X))
    loss = -log_p[rows, y].mean() + reg * np.sum(W**2)
    d = np.exp(log_p)
    d[rows, y] -= 1
    return loss, X.T.dot(d) / len(X) + 2 * reg * W
""",
    ],
    "svm_loss": [
        """
def svm_loss(W, X, y, reg=0.0):
    dW = np.zeros(W.shape)
    loss = 0.0
    N = X.shape[0]
    for i in range(N):  # the cs231n loop version
        s = X[i] @ W
        for j in range(W.shape[1]):
            if j == y[i]:
                continue
            margin = s[j] - s[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W
""",
        """
def svm_loss(W, X, y, reg=0.0):
    y = np.asarray(y)
    N, C = X.shape[0], W.shape[1]
    S = X @ W
    Y = np.eye(C, dtype=bool)[y]
    M = S - S[Y][:, None] + 1.0
    M[Y] = 0.0
    A = (M > 0) * 1.0
    loss = np.sum(np.clip(M, 0, None)) / N + reg * np.sum(W**2)
    A[Y] = -A.sum(axis=1)
    return loss, X.T @ A / N + 2 * reg * W
""",
    ],
    "gradient_check": [
        """
def gradient_check(f, grad, x, num_checks=10, h=1e-5, seed=0, tol=1e-7):
    x = np.array(x, dtype=float)
    flat = x.reshape(-1)
    g = np.asarray(grad, dtype=float).reshape(-1)
    order = np.random.default_rng(seed).permutation(x.size)[:num_checks]
    worst = 0.0
    for k in order:
        old = flat[k]
        flat[k] = old + h
        fp = f(x)
        flat[k] = old - h
        fm = f(x)
        flat[k] = old
        n = (fp - fm) / (2 * h)
        worst = max(worst, abs(g[k] - n) / max(abs(g[k]), abs(n)) if (g[k] or n) else 0.0)
    return worst, bool(worst <= tol)
""",
        """
def gradient_check(f, grad, x, num_checks=10, h=1e-5, seed=0, tol=1e-7):
    rng = np.random.default_rng(seed)
    x0 = np.asarray(x, dtype=float)
    picks = rng.choice(x0.size, size=min(num_checks, x0.size), replace=False)
    analytic, numerical = [], []
    for k in sorted(picks):
        i = np.unravel_index(k, x0.shape)
        e = np.zeros(x0.shape)
        e[i] = h
        f(x0)  # an extra evaluation at x itself does no harm
        numerical.append((f(x0 + e) - f(x0 - e)) / (2 * h))
        analytic.append(np.asarray(grad)[i])
    err = np.max(relative_error(np.array(analytic), np.array(numerical)))
    return err, err <= tol
""",
    ],
}


class TestChecks(AssignmentChecks):
    """The standard in-process tests of ps02's checkers, driven by the tables above."""

    assignment = PS
    mistakes, submissions = MISTAKES, SUBMISSIONS
    more_seeds = [
        "ng_forward",
        "ng_not_restored",
        "ng_integer_copy",
        "sm_unstable",
        "sm_global_max",
        "sm_sign",
        "svm_counts_correct",
        "svm_no_correct_column",
        "gc_mean",
        "gc_with_replacement",
        "gc_global_random",
    ]
    wrong_seeds = [(seed, True) for seed in range(1, 6)]
    alternatives = ALTERNATIVES
    alternative_seeds = [(seed, seed > 0) for seed in range(6)]
    hidden_probes = [
        "ng_forward",
        "ng_caller_x_perturbed",
        "ng_flat",
        "re_divides_by_a",
        "sm_unstable",
        "sm_transposed",
        "svm_counts_correct",
        "gc_mean",
        "gc_with_replacement",
        "gc_forward",
    ]
    hidden_leak = r"test case|expected|got:|\d\.\d\d|shape \(\d"
    quiet_function = "softmax_loss"


def test_a_function_that_never_returns_is_stopped(monkeypatch):
    import course_lib.grading._core as core

    def forever(f, x, h=1e-5):
        i = 0
        while i < np.size(x):  # i is never increased
            f(x)

    monkeypatch.setitem(core.run.__kwdefaults__, "time_limit", 0.5)
    monkeypatch.setitem(core.check_against_reference.__kwdefaults__, "time_limit", 0.5)
    with pytest.raises(GradingError, match="did not return within 0.5 s"):
        checks.check_numerical_gradient_values(forever)
    with pytest.raises(GradingError, match="did not return within 0.5 s"):
        checks.check_gradient_check_sampling(lambda f, grad, x, *args: forever(f, x))


def test_test_functions_refuse_a_flattened_or_transposed_x(solution_namespace):
    ng = solution_namespace["numerical_gradient"]

    def flattening(f, x, h=1e-5):
        return ng(lambda v: f(v.reshape(-1)), x, h)  # passes f a flat vector

    with pytest.raises(GradingError, match="f was called with an array of shape"):
        checks.check_numerical_gradient_shapes(flattening)


# --------------------------------------------------------------------------------------------
# The grading core's hooks for modified inputs (added with this problem set)
# --------------------------------------------------------------------------------------------
def test_core_run_explains_or_ignores_a_modified_input():
    def shifts(x):
        x += 1.0
        return x.sum()

    case = Case({"x": np.zeros(3)}, "x = [0, 0, 0]")
    with pytest.raises(GradingError, match="modified its argument `x` in place"):
        run(shifts, case, name="f")
    with pytest.raises(GradingError, match=r"^f: x moved by 1\n  test case: x = \[0, 0, 0\]$"):
        run(
            shifts,
            case,
            name="f",
            explain_mutation=lambda arg, before, after: (
                f"{arg} moved by {float((after - before).max()):g}"
            ),
        )
    with pytest.raises(GradingError, match="modified its argument"):  # a broken hint is ignored
        run(shifts, case, name="f", explain_mutation=lambda arg, before, after: 1 / 0)
    assert run(shifts, case, name="f", check_inputs=False) == 3.0


# --------------------------------------------------------------------------------------------
# The real pipeline
# --------------------------------------------------------------------------------------------
LOOP_IN_FUNCTION = replace_solution(
    next(
        c.source
        for c in source_nb().cells
        if nbgrader_meta(c).get("grade_id") == "numerical_gradient"
    ),
    "x = np.array(x, dtype=float)\ngrad = np.zeros(x.shape)\nk = 0\n"
    "while k < x.size:  # k is never increased\n    f(x)\nreturn grad",
)

LOOP_AT_TOP_LEVEL = """
tries = 0
while tries < 3:  # trying things out; tries is never increased
    np.ones(3).sum()

""" + solutions()["svm_loss"]


class TestPipeline(AssignmentPipeline):
    """ps02 through nbgrader: a dozen submissions, two of them from an LMS export."""

    assignment = PS
    students = {
        "solution": Student(lms_file="solution_1001_2002_ps02.ipynb"),
        "released": Student(released=True, lost=set(points())),
        "forward_difference": Student(
            with_mistakes("ng_forward"),
            lost=lost_by("ng_forward"),
            lms_file="forward_difference_LATE_1003_2004_ps02-1.ipynb",
        ),
        "unstable_softmax": Student(with_mistakes("sm_unstable"), lost=lost_by("sm_unstable")),
        "svm_counts_correct": Student(
            with_mistakes("svm_counts_correct"), lost=lost_by("svm_counts_correct")
        ),
        "several_mistakes": Student(
            with_mistakes(
                "sm_reg_w",
                "svm_transposed",
                "re_python_max",
                "gc_with_replacement",
                "ng_integer_copy",
            ),
            lost=lost_by(
                "sm_reg_w",
                "svm_transposed",
                "re_python_max",
                "gc_with_replacement",
                "ng_integer_copy",
            ),
        ),
        "relative_error_by_a": Student(
            with_mistakes("re_divides_by_a"), lost=lost_by("re_divides_by_a")
        ),
        "classes_from_labels": Student(
            {"softmax_loss": CLASSES_FROM_LABELS}, lost={SM_VALUE, SM_GRAD, SM_LARGE}
        ),
        "raises_at_import": Student(
            {"softmax_loss": "import seaborn as sns\n" + solutions()["softmax_loss"]},
            lost={SM_VALUE, SM_GRAD, SM_LARGE},
        ),
        "loops_in_function": Student(
            {"numerical_gradient": LOOP_IN_FUNCTION}, lost={NG_VALUES, NG_SHAPES}
        ),
        "loops_at_top_level": Student({"svm_loss": LOOP_AT_TOP_LEVEL}, lost={SVM_VALUE, SVM_GRAD}),
        "deleted_test_cell": Student(delete=[SM_GRAD]),
        "edited_test_cell": Student(
            with_mistakes("sm_no_reg_grad"), replace={SM_GRAD: "# I am sure\npass"}, lost={SM_GRAD}
        ),
    }
    feedback_messages = [
        (student, MISTAKES[mistake][3])
        for student, mistake in [
            ("forward_difference", "ng_forward"),
            ("unstable_softmax", "sm_unstable"),
            ("svm_counts_correct", "svm_counts_correct"),
            ("several_mistakes", "sm_reg_w"),
            ("several_mistakes", "svm_transposed"),
            ("several_mistakes", "re_python_max"),
            ("several_mistakes", "gc_with_replacement"),
            ("several_mistakes", "ng_integer_copy"),
        ]
    ] + [
        ("relative_error_by_a", "you divide by |a| only"),
        ("relative_error_by_a", "your relative error divides by |a| only"),
        ("classes_from_labels", "(hidden test)"),
        ("classes_from_labels", "not max(y) + 1: a class may have no example in y"),
        ("loops_in_function", "did not return within 2 s"),
        ("raises_at_import", "ModuleNotFoundError"),
    ]

    hidden_failure = ("classes_from_labels", SM_VALUE)
