"""Problem set 3 (gradient descent): its checkers, and the assignment through the real nbgrader.

The first part runs the notebook's test cells in-process against the solution and against
typical wrong submissions (fast), and tries the checkers on many seeds against other correct
implementations (no false failures) and against wrong functions (the right diagnosis). The
second part (``TestPipeline``, the standard tests of ``nbgrader_course.AssignmentPipeline``)
builds a temporary course from the repository's nbgrader_config.py, hands in a dozen
submissions (directly and through an LMS export with zip_collect), autogrades them in one
`nbgrader autograde` call with real kernels, and reads the real gradebook and feedback.
"""

import math

import matplotlib
import numpy as np
import pytest
from nbgrader_course import (
    AssignmentChecks,
    AssignmentPipeline,
    SourceNotebook,
    Student,
)

from course_lib.grading import GradingError
from course_lib.grading import descent as checks

matplotlib.use("Agg")

PS = "ps03"
TRAJECTORY, STEPS = "test_gradient_descent_trajectory", "test_gradient_descent_steps"

# A typical mistake = (answer cell, [(solution text, replacement), ...], what the feedback must
# say, the test cells that must lose their points).
MISTAKES = {
    "gd_ascent": (
        "gradient_descent",
        [("x = x - lr * grad(x)", "x = x + lr * grad(x)")],
        "your iterates move uphill",
        {STEPS},
    ),
    "gd_misses_x0": (
        "gradient_descent",
        [("path = [x]", "path = []")],
        "the trajectory does not include x0",
        {TRAJECTORY},
    ),
    "gd_off_by_one": (
        "gradient_descent",
        [("range(steps)", "range(steps + 1)")],
        "the trajectory has one row too many",
        {TRAJECTORY},
    ),
    "gd_same_array_every_step": (  # x -= ... on the array already stored in the list
        "gradient_descent",
        [("x = x - lr * grad(x)", "x -= lr * grad(x)")],
        "all rows of your trajectory are the same point",
        {TRAJECTORY, STEPS},
    ),
    "gd_mutates_x0": (  # right values, but asarray does not copy a float x0
        "gradient_descent",
        [
            ("np.array(x0, dtype=float)", "np.asarray(x0, dtype=float)"),
            ("path = [x]", "path = [x.copy()]"),
            ("x = x - lr * grad(x)", "x -= lr * grad(x)"),
            ("path.append(x)", "path.append(x.copy())"),
        ],
        "modified its argument `x0` in place",
        {TRAJECTORY},
    ),
    "gd_gradient_at_x0": (
        "gradient_descent",
        [("lr * grad(x)", "lr * grad(np.asarray(x0, dtype=float))")],
        "every step uses the gradient at the start point",
        {STEPS},
    ),
    "stable_lr_lambda_min": (
        "max_stable_lr",
        [("2.0 / lam[-1]", "2.0 / lam[0]")],
        "you used the smallest eigenvalue",
        {"test_max_stable_lr"},
    ),
    "stable_lr_one_over": (
        "max_stable_lr",
        [("2.0 / lam[-1]", "1.0 / lam[-1]")],
        "1 / lambda_max is a safe learning rate",
        {"test_max_stable_lr"},
    ),
    "stable_lr_diagonal": (
        "max_stable_lr",
        [
            (
                "np.linalg.eigvalsh(np.asarray(H, dtype=float))",
                "np.sort(np.diag(np.asarray(H, dtype=float)))",
            )
        ],
        "you used the diagonal of H",
        {"test_max_stable_lr"},
    ),
    "stable_lr_eigvals_complex": (
        "max_stable_lr",
        [
            ("np.linalg.eigvalsh(", "np.linalg.eigvals("),
            ("float(2.0 / lam[-1])", "2.0 / lam.max()"),
        ],
        "returned a complex number",
        {"test_max_stable_lr"},
    ),
    "best_lr_safe": (
        "best_fixed_lr",
        [("float(2.0 / (lam_min + lam_max))", "float(1.0 / lam_max)")],
        "1 / lambda_max is the safe choice",
        {"test_best_lr"},
    ),
    "best_lr_no_two": (
        "best_fixed_lr",
        [("float(2.0 / (lam_min + lam_max))", "float(1.0 / (lam_min + lam_max))")],
        "you dropped the factor 2",
        {"test_best_lr"},
    ),
    "best_rate_safe": (
        "best_fixed_lr",
        [("float((kappa - 1) / (kappa + 1))", "float(1 - 1 / kappa)")],
        "the rate of the safe learning rate",
        {"test_best_rate"},
    ),
    "best_diagonal": (
        "best_fixed_lr",
        [
            (
                "np.linalg.eigvalsh(np.asarray(H, dtype=float))",
                "np.sort(np.diag(np.asarray(H, dtype=float)))",
            )
        ],
        "you used the diagonal of H",
        {"test_best_lr", "test_best_rate"},
    ),
    "tolerance_plus_one": (
        "steps_to_tolerance",
        [("int(reached[0])", "int(reached[0]) + 1")],
        "return the index t itself, not t + 1",
        {"test_steps_to_tolerance"},
    ),
    "tolerance_absolute": (
        "steps_to_tolerance",
        [("dist <= tol * dist[0]", "dist <= tol")],
        "tol is relative",
        {"test_steps_to_tolerance"},
    ),
    "experiment_forgot_two": (
        "experiment",
        [("(2 / (lam_min + lam_max), steps_best)", "(1 / (lam_min + lam_max), steps_best)")],
        "no run should need more steps than with 1 / lambda_max",
        {"test_condition_experiment"},
    ),
    "experiment_wrong_tol": (  # passes the visible test, fails the hidden one
        "experiment",
        [
            (
                "steps_to_tolerance(path, bowl.minimizer, TOL)",
                "steps_to_tolerance(path, bowl.minimizer, 0.01)",
            )
        ],
        "your counts differ from what this experiment gives",
        {"test_condition_experiment"},
    ),
}


_source = SourceNotebook(PS, MISTAKES)
source_nb, solutions = _source.notebook, _source.solutions
with_mistakes, points = _source.with_mistakes, _source.points


@pytest.fixture(scope="module")
def solution_namespace():
    """The solution's functions, defined by executing the source notebook in-process."""
    return _source.namespace(skip=("experiment",))


# --------------------------------------------------------------------------------------------
# The checkers, in-process
# --------------------------------------------------------------------------------------------
def test_the_points_add_up_to_the_table():
    _source.assert_points(9, written=3)  # 12 in all


# Other correct implementations: none may fail, on any seed.
ALTERNATIVES = {
    "gradient_descent": [
        """
def gradient_descent(grad, x0, lr, steps):
    x0 = np.asarray(x0, dtype=float)
    path = np.empty((steps + 1, x0.size))
    path[0] = x0
    for t in range(steps):
        path[t + 1] = path[t] - lr * grad(path[t])
    return path
""",
        """
def gradient_descent(grad, x0, lr, steps):
    x = np.array(x0, dtype=float)
    path = [x.copy()]
    for _ in range(steps):
        x -= lr * grad(x)
        path.append(x.copy())
    return np.stack(path)
""",
        """
def gradient_descent(grad, x0, lr, steps):
    x = np.asarray(x0).astype(float)
    out = [x]
    for _ in range(steps):
        x = x + (-lr) * grad(x)
        out.append(x)
    return np.vstack(out)
""",
    ],
    "max_stable_lr": [
        "def max_stable_lr(H):\n    return 2 / np.max(np.linalg.eigvals(H).real)\n",
        "def max_stable_lr(H):\n    return 2 / np.linalg.norm(np.asarray(H, float), 2)\n",
        "def max_stable_lr(H):\n    return 2 / np.max(np.abs(np.linalg.eigvals(H)))\n",
        "def max_stable_lr(H):\n    return float(2 / np.linalg.eigh(H)[0].max())\n",
    ],
    "best_fixed_lr": [
        """
def best_fixed_lr(H):
    ev = np.sort(np.linalg.eigvals(H).real)
    return 2 / (ev[0] + ev[-1]), 1 - 2 / (ev[-1] / ev[0] + 1)
""",
        """
def best_fixed_lr(H):
    lam = np.linalg.eigvalsh(H)
    lo, hi = lam.min(), lam.max()
    return [2 / (lo + hi), (hi - lo) / (hi + lo)]
""",
        """
def best_fixed_lr(H):
    lam = np.linalg.eigvalsh(H)
    return np.array([2 / (lam[0] + lam[-1]), (lam[-1] - lam[0]) / (lam[-1] + lam[0])])
""",
    ],
    "steps_to_tolerance": [
        """
def steps_to_tolerance(path, x_star, tol):
    d0 = np.linalg.norm(np.asarray(path[0], float) - x_star)
    for t, p in enumerate(path):
        if np.linalg.norm(np.asarray(p, float) - np.asarray(x_star, float)) <= tol * d0:
            return t
    return math.inf
""",
        """
def steps_to_tolerance(path, x_star, tol):
    e = np.asarray(path, float) - np.asarray(x_star, float)
    dist = np.sqrt(np.sum(e**2, axis=1))
    ok = dist <= tol * dist[0]
    return int(np.argmax(ok)) if ok.any() else float("inf")
""",
    ],
}
# Wrong functions beyond the notebook edits above: name -> ({answer cell: code},
# {test cell: what its message must say, or None if the function must pass it}).
WRONG = {
    "gd_int_trajectory": (
        {
            "gradient_descent": """
def gradient_descent(grad, x0, lr, steps):
    path = np.tile(np.asarray(x0), (steps + 1, 1))  # keeps x0's integer dtype
    for t in range(steps):
        path[t + 1] = path[t] - lr * grad(path[t])
    return path
"""
        },
        {TRAJECTORY: "your trajectory holds whole numbers", STEPS: None},
    ),
    "gd_no_lr": (
        {
            "gradient_descent": """
def gradient_descent(grad, x0, lr, steps):
    x = np.array(x0, dtype=float)
    path = [x]
    for _ in range(steps):
        x = x - grad(x)
        path.append(x)
    return np.array(path)
"""
        },
        {TRAJECTORY: None, STEPS: "multiply it by the learning rate"},
    ),
    "gd_transposed": (
        {
            "gradient_descent": """
def gradient_descent(grad, x0, lr, steps):
    x = np.array(x0, dtype=float)
    path = [x]
    for _ in range(steps):
        x = x - lr * grad(x)
        path.append(x)
    return np.array(path).T
"""
        },
        # the mark scheme: 1 point for the shape (lost), 2 for the updates (right: earned)
        {TRAJECTORY: "your trajectory is transposed", STEPS: None},
    ),
    "stable_lr_eigvals_last": (
        {"max_stable_lr": "def max_stable_lr(H):\n    return 2 / np.linalg.eigvals(H)[-1]\n"},
        {"test_max_stable_lr": "np.linalg.eigvals"},
    ),
    "stable_lr_frobenius": (
        {"max_stable_lr": "def max_stable_lr(H):\n    return 2 / np.linalg.norm(H)\n"},
        {"test_max_stable_lr": "Frobenius norm"},
    ),
    "best_unsorted_eigvals": (
        {
            "best_fixed_lr": """
def best_fixed_lr(H):
    ev = np.linalg.eigvals(H)
    return 2 / (ev[0] + ev[-1]), (ev[-1] / ev[0] - 1) / (ev[-1] / ev[0] + 1)
"""
        },
        {"test_best_lr": "np.linalg.eigvals", "test_best_rate": "np.linalg.eigvals"},
    ),
    "best_rate_sqrt_kappa": (
        {
            "best_fixed_lr": """
def best_fixed_lr(H):
    lam = np.linalg.eigvalsh(H)
    k = lam[-1] / lam[0]
    return 2 / (lam[0] + lam[-1]), (np.sqrt(k) - 1) / (np.sqrt(k) + 1)
"""
        },
        {"test_best_lr": None, "test_best_rate": "rate of methods with momentum"},
    ),
    "tolerance_strict": (
        {
            "steps_to_tolerance": """
def steps_to_tolerance(path, x_star, tol):
    dist = np.linalg.norm(np.asarray(path, float) - x_star, axis=1)
    reached = np.flatnonzero(dist < tol * dist[0])
    return int(reached[0]) if reached.size else math.inf
"""
        },
        {"test_steps_to_tolerance": "compare with <=, not <"},
    ),
    "tolerance_origin": (
        {
            "steps_to_tolerance": """
def steps_to_tolerance(path, x_star, tol):
    dist = np.linalg.norm(np.asarray(path, float), axis=1)
    reached = np.flatnonzero(dist <= tol * dist[0])
    return int(reached[0]) if reached.size else math.inf
"""
        },
        {"test_steps_to_tolerance": "not to the origin"},
    ),
    "tolerance_none": (
        {
            "steps_to_tolerance": """
def steps_to_tolerance(path, x_star, tol):
    dist = np.linalg.norm(np.asarray(path, float) - x_star, axis=1)
    for t, d in enumerate(dist):
        if d <= tol * dist[0]:
            return t
"""
        },
        {"test_steps_to_tolerance": "return math.inf"},
    ),
    # an issue: strict < and t + 1 was told "you return the step where the path is closest"
    # (the two together land on the closest point of one fixed case)
    "tolerance_strict_plus_one": (
        {
            "steps_to_tolerance": """
def steps_to_tolerance(path, x_star, tol):
    dist = np.linalg.norm(np.asarray(path, float) - x_star, axis=1)
    for t in range(len(dist)):
        if dist[t] < tol * dist[0]:
            return t + 1
    return math.inf
"""
        },
        {"test_steps_to_tolerance": "two slips: a distance exactly equal to tol"},
    ),
    "tolerance_loop_over_the_rest": (
        {
            "steps_to_tolerance": """
def steps_to_tolerance(path, x_star, tol):
    dist = np.linalg.norm(np.asarray(path, float) - x_star, axis=1)
    for t, d in enumerate(dist[1:]):
        if d <= tol * dist[0]:
            return t
    return 0 if dist[0] <= tol * dist[0] else math.inf
"""
        },
        {"test_steps_to_tolerance": "a loop over path[1:] numbers the points from 0"},
    ),
}


class TestChecks(AssignmentChecks):
    """The standard in-process tests of ps03's checkers, driven by the tables above."""

    assignment = PS
    mistakes = MISTAKES
    wrong, wrong_seeds = WRONG, [(seed, seed > 0) for seed in range(8)]
    alternatives = ALTERNATIVES
    alternative_seeds = [(seed, seed > 0) for seed in range(25)]
    hidden_probes = [
        "gd_ascent",
        "gd_misses_x0",
        "gd_same_array_every_step",
        "gd_mutates_x0",
        "stable_lr_diagonal",
        "stable_lr_eigvals_complex",
        "best_lr_safe",
        "best_rate_safe",
        "tolerance_plus_one",
        "tolerance_absolute",
    ]
    quiet_function = "gradient_descent"
    # graded in the notebook: exactly the shape's test cell fails, the updates' earns its points
    submissions = {
        "gd_transposed_in_notebook": (
            WRONG["gd_transposed"][0],
            {TRAJECTORY: "your trajectory is transposed"},
        )
    }


def test_strict_and_plus_one_is_not_told_it_returns_the_closest_point():
    ns = TestChecks.defined(WRONG["tolerance_strict_plus_one"][0])
    for seed, hidden in [(0, False), (1, True), (2, True)]:
        with pytest.raises(GradingError) as info:
            checks.check_steps_to_tolerance(ns["steps_to_tolerance"], seed=seed, hidden=hidden)
        message = str(info.value)
        assert "compare with <=" in message and "not t + 1" in message
        assert "closest" not in message


def test_visible_messages_show_the_case(solution_namespace):
    ns = dict(solution_namespace)
    exec(with_mistakes("gd_ascent")["gradient_descent"], ns)
    with pytest.raises(GradingError) as info:
        checks.check_gradient_descent_steps(ns["gradient_descent"])
    text = str(info.value)
    assert "test case: grad of the bowl Quadratic.bowl(" in text and "expected:" in text
    exec(with_mistakes("stable_lr_diagonal")["max_stable_lr"], ns)
    with pytest.raises(GradingError, match=r"test case: H = Quadratic.bowl\(condition_number="):
        checks.check_max_stable_lr(ns["max_stable_lr"])


def test_the_visible_cases_include_a_matrix_on_which_eigvals_returns_complex_numbers():
    """The repeated-eigenvalue case really trips np.linalg.eigvals (visible and hidden)."""
    for seed in [0, 7207, 85]:
        H = checks.hessian_cases(seed)[-1].args["H"]
        assert np.iscomplexobj(np.linalg.eigvals(H))
        assert np.allclose(H, H.T)


def test_a_function_that_never_returns_is_stopped(monkeypatch):
    import course_lib.grading._core as core

    def forever(grad, x0, lr, steps):
        t, x = 0, np.array(x0, dtype=float)
        while t < steps:  # t is never increased
            x = x - lr * grad(x)

    monkeypatch.setitem(core.run.__kwdefaults__, "time_limit", 0.5)
    with pytest.raises(GradingError, match="did not return within 0.5 s"):
        checks.check_gradient_descent_trajectory(forever)


def test_a_gradient_called_with_a_wrong_shape_is_explained(solution_namespace):
    reference = solution_namespace["gradient_descent"]

    def batched(grad, x0, lr, steps):  # passes a (1, dim) batch to grad
        return reference(lambda x: grad(x[None, :])[0], x0, lr, steps)

    with pytest.raises(GradingError, match=r"grad was called with an array of shape \(1, "):
        checks.check_gradient_descent_steps(batched)
    with pytest.raises(
        GradingError,
        match=r"\(hidden test\): grad was called with an array "
        r"of the wrong shape",
    ):
        checks.check_gradient_descent_steps(batched, seed=5, hidden=True)


def test_experiment_checker_properties():
    args = ([1, 3, 10, 30, 100, 300], np.pi / 6, (1.0, -0.5), (0.4, -1.3), 1e-4)
    best = np.array([1.0, 14, 46, 139, 461, 1382])
    safe = np.array([1.0, 23, 87, 270, 909, 2734])
    checks.check_condition_experiment(best, safe, *args)
    checks.check_condition_experiment(best, safe, *args, hidden=True)
    # all one more: steps_to_tolerance's t + 1, graded in its own question, is not charged again
    checks.check_condition_experiment(best + 1, safe + 1, *args, hidden=True)
    # deterministic, so checked exactly: one count one step off is a slip of the experiment
    with pytest.raises(GradingError, match=r"^steps_safe \(hidden test\): your counts differ"):
        checks.check_condition_experiment(best, safe + np.r_[0, 0, 0, 0, 0, 1], *args, hidden=True)
    with pytest.raises(GradingError, match="one count per kappa"):
        checks.check_condition_experiment(best[:-1], safe, *args)
    with pytest.raises(GradingError, match="some counts are infinite"):
        checks.check_condition_experiment(best, np.r_[safe[:-1], math.inf], *args)
    with pytest.raises(GradingError, match="whole number"):
        checks.check_condition_experiment(best + 0.5, safe, *args)
    with pytest.raises(GradingError, match="should grow with the condition number"):
        checks.check_condition_experiment(best[::-1], safe[::-1] * 2, *args)
    with pytest.raises(GradingError, match="not swapped"):
        checks.check_condition_experiment(safe, best, *args)
    with pytest.raises(GradingError, match="in proportion to kappa"):  # like sqrt(kappa)
        checks.check_condition_experiment(np.r_[1, np.sqrt(best[1:] * 10).round()], safe, *args)
    with pytest.raises(GradingError, match=r"^steps_best \(hidden test\): your counts differ"):
        checks.check_condition_experiment(
            np.round(best * 1.1), np.round(safe * 1.1), *args, hidden=True
        )


# --------------------------------------------------------------------------------------------
# The real pipeline
# --------------------------------------------------------------------------------------------
LOOP_IN_FUNCTION = """
def gradient_descent(grad, x0, lr, steps):
    x = np.array(x0, dtype=float)
    path = [x]
    t = 0
    while t < steps:  # t is never increased
        x = x - lr * grad(x)
    path.append(x)
    return np.array(path)
"""

LOOP_AT_TOP_LEVEL = """
steps_best, steps_safe = [], []
i = 0
while i < len(KAPPAS):  # i is never increased
    bowl = Quadratic.bowl(condition_number=KAPPAS[i], angle=ANGLE, center=CENTER)
    steps_best.append(1)
"""


class TestPipeline(AssignmentPipeline):
    """ps03 through nbgrader: a dozen submissions, two of them from an LMS export."""

    assignment = PS
    students = {
        "solution": Student(lms_file="solution_LATE_1001_2002_ps03-1.ipynb"),
        "released": Student(released=True, lost=set(points())),
        "ascent": Student(
            with_mistakes("gd_ascent"), lost={STEPS}, lms_file="ascent_1003_2004_ps03.ipynb"
        ),
        "same_array": Student(with_mistakes("gd_same_array_every_step"), lost={TRAJECTORY, STEPS}),
        "mutates_x0": Student(with_mistakes("gd_mutates_x0"), lost={TRAJECTORY}),
        # a transposed trajectory with the right updates loses the shape's point only
        "several_mistakes": Student(
            {
                **with_mistakes("stable_lr_diagonal", "best_diagonal", "tolerance_plus_one"),
                **WRONG["gd_transposed"][0],
            },
            lost={
                TRAJECTORY,
                "test_max_stable_lr",
                "test_best_lr",
                "test_best_rate",
                "test_steps_to_tolerance",
            },
        ),
        "wrong_tol": Student(
            with_mistakes("experiment_wrong_tol"), lost={"test_condition_experiment"}
        ),
        "raises_at_import": Student(
            {"max_stable_lr": "import seaborn as sns\n" + solutions()["max_stable_lr"]},
            lost={"test_max_stable_lr"},
        ),
        "loops_in_function": Student(
            {"gradient_descent": LOOP_IN_FUNCTION}, lost={TRAJECTORY, STEPS}
        ),
        "loops_at_top_level": Student(
            {"experiment": LOOP_AT_TOP_LEVEL}, lost={"test_condition_experiment"}
        ),
        "deleted_test_cell": Student(delete=[STEPS]),
        "edited_test_cell": Student(
            with_mistakes("gd_ascent"), replace={STEPS: "# I am sure\npass"}, lost={STEPS}
        ),
    }
    feedback_messages = [
        (student, MISTAKES[mistake][2])
        for student, mistake in [
            ("ascent", "gd_ascent"),
            ("same_array", "gd_same_array_every_step"),
            ("mutates_x0", "gd_mutates_x0"),
            ("wrong_tol", "experiment_wrong_tol"),
            ("several_mistakes", "stable_lr_diagonal"),
            ("several_mistakes", "tolerance_plus_one"),
            ("edited_test_cell", "gd_ascent"),
        ]
    ] + [
        ("several_mistakes", "your trajectory is transposed"),
        ("loops_in_function", "did not return within 2 s"),
        ("raises_at_import", "ModuleNotFoundError"),
    ]

    released_without_stub = 1  # the experiment's test finds no results
    hidden_failure = ("wrong_tol", "test_condition_experiment")
