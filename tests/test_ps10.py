"""Problem set 10 (Newton's method with a backtracking line search): its checkers, and the
assignment through the real nbgrader.

The first part runs the notebook's test cells in-process against the solution and against
typical wrong submissions (fast), tries the checkers on many seeds against other correct
implementations (no false failures) and against wrong functions (the right diagnosis), and
checks that the numbers the mark scheme quotes are what the reference runs give. The second
part (``TestPipeline``) grades a small corpus with the real nbgrader and with
``python -m course_lib.autograde``.
"""

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
from course_lib.grading import newton as checks

PS = "ps10"
BT_STEP, BT_COUNT = "test_backtracking_step", "test_backtracking_count"
FORM, PATH, COUNTS, SADDLE = (
    "test_newton_form",
    "test_newton_path",
    "test_newton_counts",
    "test_newton_saddle",
)
TABLE = "test_rosenbrock_table"
ARMIJO = "if f(x + a * d) <= fx + c * a * (g @ d):"
STOP = "        if np.linalg.norm(g) <= tol:\n            break\n"
COUNT_GRAD = "        g = grad(x)\n        gradients += 1\n" + STOP
TABLE_ROWS = "[[len(path) - 1, counts[0]], [len(gd_path) - 1, gd_counts[0]], [res.nit, res.njev]]"
FALLBACK = """        try:
            np.linalg.cholesky(H)
            d = np.linalg.solve(H, -g)
        except np.linalg.LinAlgError:
            d = -g
"""

# A typical mistake = (answer cell, [(solution text, replacement), ...], what the feedback must
# say (or {test cell: text}), the test cells that must lose their points).
MISTAKES = {
    "armijo_sign": (
        "backtracking",
        [(ARMIJO, "if f(x + a * d) <= fx - c * a * (g @ d):")],
        {  # harmless in newton, where c = 1e-4
            BT_STEP: "your Armijo test has the wrong sign",
            BT_COUNT: "the number of evaluations of f differs",
        },
        {BT_STEP, BT_COUNT},
    ),
    "armijo_without_c": (
        "backtracking",
        [(ARMIJO, "if f(x + a * d) <= fx + a * (g @ d):")],
        {
            BT_STEP: "your Armijo test leaves out c",
            BT_COUNT: "the number of evaluations of f differs",
            PATH: "your Armijo test leaves out c",
            SADDLE: "your Armijo test leaves out c",
            # it halves until the step underflows, beyond the reference's 50 halvings
            COUNTS: "all three counts differ: your method takes another number of iterations",
            TABLE: "the steps of Newton (row 0, column 0) differ from the reference run",
        },
        {BT_STEP, BT_COUNT, PATH, COUNTS, SADDLE, TABLE},
    ),
    "count_without_fx": (
        "backtracking",
        [("fx, evaluations = f(x), 1", "fx, evaluations = f(x), 0")],
        {
            BT_COUNT: "your count leaves out the evaluation of f(x) itself",
            COUNTS: "leaves out f(x) of each line search",
        },
        {BT_COUNT, COUNTS},
    ),
    "gradient_direction": (
        "newton",
        [("d = np.linalg.solve(H, -g)", "d = -g")],
        {
            PATH: "you step along the gradient -g, not the Newton direction",
            COUNTS: "you step along the gradient -g, not the Newton direction",
            TABLE: "the steps of Newton (row 0, column 0) differ from the reference run",
        },
        {PATH, COUNTS, TABLE},
    ),
    "no_stop_at_tol": (
        "newton",
        [(STOP, "")],
        {
            PATH: "you never stop at tol",
            COUNTS: "you never stop at tol",
            TABLE: "the steps of Newton (row 0, column 0) differ from the reference run",
        },
        {PATH, COUNTS, TABLE},
    ),
    "no_fallback": (
        "newton",
        [(FALLBACK, "        d = np.linalg.solve(H, -g)\n")],
        "heads for the saddle",
        {SADDLE},
    ),
    "last_gradient_not_counted": (
        "newton",
        [(COUNT_GRAD, "        g = grad(x)\n" + STOP + "        gradients += 1\n")],
        {
            COUNTS: "your count of gradient evaluations is one less than the calls made",
            TABLE: "the gradients of Newton (row 0, column 1) differ from the reference run",
        },
        {COUNTS, TABLE},
    ),
    "table_columns_swapped": (
        "experiment",
        [
            (
                TABLE_ROWS,
                "[[counts[0], len(path) - 1], [gd_counts[0], len(gd_path) - 1], "
                "[res.njev, res.nit]]",
            )
        ],
        "your columns are swapped",
        {TABLE},
    ),
    "table_points_not_steps": (
        "experiment",
        [
            (
                "[[len(path) - 1, counts[0]], [len(gd_path) - 1,",
                "[[len(path), counts[0]], [len(gd_path),",
            )
        ],
        "the steps are len(path) - 1",
        {TABLE},
    ),
    "table_lbfgs_nit": (
        "experiment",
        [("[res.nit, res.njev]", "[res.nit, res.nit]")],
        "not res.nit",
        {TABLE},
    ),
}

_source = SourceNotebook(PS, MISTAKES)
source_nb, solutions = _source.notebook, _source.solutions
with_mistakes, points = _source.with_mistakes, _source.points


def test_the_points_add_up_to_the_table():
    _source.assert_points(7, written=3)  # 10 in all


# Other correct implementations: none may fail, on any seed. Solving with H^T (H is
# symmetric) or with the inverse gives the same steps to rounding: not penalised.
ALTERNATIVES = {
    "newton": [
        """
def newton(f, grad, hess, x0, tol, max_iter):
    x = np.array(x0, dtype=float)
    path, counts = [x], [0, 0, 0]
    while counts[0] < max_iter:
        g = grad(x)
        counts[0] += 1
        if np.linalg.norm(g) <= tol:
            break
        H = hess(x)
        counts[2] += 1
        try:
            np.linalg.cholesky(H)
            d = -np.linalg.inv(H) @ g
        except np.linalg.LinAlgError:
            d = -g
        a, n = backtracking(f, x, g, d)
        counts[1] += n
        x = x + a * d
        path.append(x)
    return np.array(path), tuple(counts)
""",
    ],
}

for _gid, _code in _source.alternative_answers().items():
    if _gid != "experiment":
        ALTERNATIVES.setdefault(_gid, []).append(_code)

INLINE_SEARCH_NO_RESET = """
def newton(f, grad, hess, x0, tol, max_iter):
    x = np.array(x0, dtype=float)
    path = [x]
    gradients = values = hessians = 0
    a = 1.0
    for _ in range(max_iter):
        g = grad(x)
        gradients += 1
        if np.linalg.norm(g) <= tol:
            break
        H = hess(x)
        hessians += 1
        try:
            np.linalg.cholesky(H)
            d = np.linalg.solve(H, -g)
        except np.linalg.LinAlgError:
            d = -g
        fx = f(x)
        values += 1
        while True:
            values += 1
            if f(x + a * d) <= fx + 1e-4 * a * (g @ d):
                break
            a *= 0.5
        x = x + a * d
        path.append(x)
    return np.array(path), (gradients, values, hessians)
"""

IN_PLACE = """
def newton(f, grad, hess, x0, tol, max_iter):
    x = np.asarray(x0, dtype=float)
    path = [x.copy()]
    gradients = values = hessians = 0
    for _ in range(max_iter):
        g = grad(x)
        gradients += 1
        if np.linalg.norm(g) <= tol:
            break
        H = hess(x)
        hessians += 1
        try:
            np.linalg.cholesky(H)
            d = np.linalg.solve(H, -g)
        except np.linalg.LinAlgError:
            d = -g
        a, evaluations = backtracking(f, x, g, d)
        values += evaluations
        x += a * d
        path.append(x.copy())
    return np.array(path), (gradients, values, hessians)
"""

# At most 12 trial steps: enough for the visible cases, not for the hidden ones.
CAPPED_SEARCH = """
def backtracking(f, x, g, d, c=1e-4, shrink=0.5):
    fx, evaluations = f(x), 1
    a = 1.0
    for _ in range(12):
        evaluations += 1
        if f(x + a * d) <= fx + c * a * (g @ d):
            break
        a *= shrink
    return a, evaluations
"""

COUNTS_AS_DICT = solutions()["newton"].replace(
    "return np.array(path), (gradients, values, hessians)",
    'return np.array(path), {"grad": gradients, "f": values, "hess": hessians}',
)

# Wrong functions beyond the notebook edits: name -> ({answer cell: code}, {test cell: what
# its message must say, or None if the function must pass it}).
WRONG = {
    "step_not_reset": (
        {"newton": INLINE_SEARCH_NO_RESET},
        {FORM: None, PATH: "each line search starts from the last step found instead of 1"},
    ),
    "x0_modified": ({"newton": IN_PLACE}, {FORM: "modified its argument `x0` in place"}),
    "counts_as_dict": (
        {"newton": COUNTS_AS_DICT},
        {PATH: None, FORM: "must return a pair (path, counts)"},
    ),
}


class TestChecks(AssignmentChecks):
    """The standard in-process tests of ps10's checkers, driven by the tables above."""

    assignment = PS
    mistakes = MISTAKES
    wrong = WRONG
    alternatives = ALTERNATIVES
    alternative_seeds = [(0, False)] + [(seed, True) for seed in range(1, 12)]
    hidden_probes = [
        "armijo_sign",
        "count_without_fx",
        "gradient_direction",
        "no_stop_at_tol",
        "no_fallback",
        "last_gradient_not_counted",
        "step_not_reset",
        "x0_modified",
    ]
    quiet_function = "backtracking"


def test_a_path_wrong_in_one_place_is_located_without_naming_a_slip():
    ns = TestChecks.defined({})
    right = ns["newton"]

    def odd(f, grad, hess, x0, tol, max_iter):
        path, counts = right(f, grad, hess, x0, tol, max_iter)
        path = path.copy()
        path[3, 1] += 1e-3
        return path, counts

    with pytest.raises(GradingError) as info:
        checks.check_newton_path(odd)
    text = str(info.value)
    assert "the path first differs at step 3, coordinate 1" in text
    for mistake in ("gradient", "Armijo", "tol", "saddle"):
        assert mistake not in text.split("\n")[0]


def test_the_mark_scheme_quotes_the_reference_runs():
    """The numbers of the mark scheme are what the reference computation gives."""
    table = checks.rosenbrock_table()
    assert table.tolist() == [[21, 22], [2000, 2000], [36, 44]]
    f, grad, hess = checks._functions(__import__("course_lib.landscapes").landscapes.Rosenbrock())
    gd, _ = checks.reference_newton(
        f, grad, lambda x: np.eye(2), checks.ROSENBROCK_START, checks.TOL, 20000
    )
    assert 13700 < len(gd) - 1 < 13900  # "about 13,800"
    eig = np.linalg.eigvalsh(hess(np.array([1.0, 1.0])))
    assert 2500 < eig[1] / eig[0] < 2520  # "about 2500"
    scheme = next(c for c in source_nb().cells if nbgrader_meta(c).get("task")).source
    for quoted in ("21 steps, 22 gradients", "36 steps, 44 gradients", "2000 steps", "13,800"):
        assert quoted in scheme


def test_plain_newton_lands_on_the_saddle_and_the_fallback_escapes():
    from course_lib.landscapes import Saddle

    f, grad, hess = checks._functions(Saddle())
    x0 = np.array([1.0, 0.5])
    plain = x0 - np.linalg.solve(hess(x0), grad(x0))
    assert np.allclose(plain, [0.0, 0.0])
    path, _ = checks.reference_newton(f, grad, hess, x0, checks.TOL, 3)
    assert abs(path[-1, 1]) > abs(x0[1]) and f(path[-1]) < f(x0)


# --------------------------------------------------------------------------------------------
# The real pipeline
# --------------------------------------------------------------------------------------------
class TestPipeline(AssignmentPipeline):
    """ps10 through nbgrader: the solution, the released notebook, the second correct
    solution and three wrong submissions."""

    assignment = PS
    students = {
        "solution": Student(),
        "released": Student(released=True, lost=set(points())),
        "alternative": Student(_source.alternative_answers()),
        "armijo_sign": Student(with_mistakes("armijo_sign"), lost={BT_STEP, BT_COUNT}),
        "capped_search": Student({"backtracking": CAPPED_SEARCH}, lost={BT_STEP, BT_COUNT}),
        "several_mistakes": Student(
            with_mistakes("no_fallback", "last_gradient_not_counted"),
            lost={SADDLE, COUNTS, TABLE},
        ),
        "step_not_reset": Student(WRONG["step_not_reset"][0], lost={PATH, COUNTS, TABLE}),
    }
    feedback_messages = [
        ("armijo_sign", "your Armijo test has the wrong sign"),
        ("capped_search", "the number of evaluations of f differs"),
        ("several_mistakes", "heads for the saddle"),
        ("several_mistakes", "is one less than the calls made"),
        ("step_not_reset", "each line search starts from the last step found instead of 1"),
    ]
    released_without_stub = 1  # the table's test finds no table
    hidden_failure = ("capped_search", BT_STEP)
