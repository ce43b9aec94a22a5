"""Problem set 6 (Nesterov's accelerated gradient): its checkers, and the assignment through
the real nbgrader.

The first part runs the notebook's test cells in-process against the solution, typical wrong
submissions (each must lose exactly its test cells, with its diagnosis) and other correct
implementations (full marks on many seeds), and checks the rule "diagnoses right or silent":
a typical mistake is named only when it explains every case. The second part
(``TestPipeline``) grades a small corpus with `nbgrader autograde` and with
`python -m course_lib.autograde` and reads the real gradebook and feedback.
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
    run_in_process,
)

from course_lib.grading import GradingError
from course_lib.grading import nesterov as checks

matplotlib.use("Agg")

PS = "ps06"
STEP_FORMAT, STEP_VALUES = "test_nesterov_step_format", "test_nesterov_step_values"
PT_TRAJECTORY, PT_STEPS = "test_nesterov_pytorch_trajectory", "test_nesterov_pytorch_steps"
POINTS = "test_lookahead_points"
MATRIX_GD, MATRIX_NESTEROV = "test_iteration_matrix_gd_momentum", "test_iteration_matrix_nesterov"
RADIUS = "test_spectral_radius"
LIMIT_GD, LIMIT_NESTEROV = "test_largest_stable_h_gd_momentum", "test_largest_stable_h_nesterov"
RUNS = "test_short_runs"

_RIGHT_MATRIX = "np.array([[1 - h, beta * damp], [-h, beta * damp]], dtype=float)"

# A typical mistake = (answer cell, [(solution text, replacement), ...], what the feedback must
# say, the test cells that must lose their points).
MISTAKES = {
    "step_heavy_ball": (
        "nesterov_step",
        [("grad(w + beta * v)", "grad(w)")],
        "that is heavy-ball momentum",
        {STEP_VALUES},
    ),
    "step_new_velocity": (  # v is scaled by beta before the look-ahead point is formed
        "nesterov_step",
        [
            (
                "v_new = beta * v - lr * grad(w + beta * v)",
                "v = beta * v\n    v_new = v - lr * grad(w + beta * v)",
            )
        ],
        "you scaled v by beta before taking the look-ahead",
        {STEP_VALUES},
    ),
    "step_returns_lookahead": (
        "nesterov_step",
        [("return w_new, v_new", "return w_new + beta * v_new, v_new")],
        "you returned the look-ahead point",
        {STEP_VALUES},
    ),
    "step_velocity_sign": (
        "nesterov_step",
        [("beta * v - lr * grad", "beta * v + lr * grad")],
        "your velocity points uphill",
        {STEP_VALUES},
    ),
    "step_velocity_unused": (
        "nesterov_step",
        [("w_new = w + v_new", "w_new = w - lr * grad(w + beta * v)")],
        "the velocity is computed but never used",
        {STEP_VALUES},
    ),
    "step_in_place": (  # right values, but w is changed and returned
        "nesterov_step",
        [("w_new = w + v_new", "w += v_new\n    w_new = w")],
        "modified its argument `w` in place",
        {STEP_FORMAT},
    ),
    "step_swapped": (
        "nesterov_step",
        [("return w_new, v_new", "return v_new, w_new")],
        "you returned the pair the other way round",
        {STEP_VALUES},
    ),
    "pt_heavy_ball": (
        "nesterov_pytorch",
        [("x = x - lr * (g + beta * b)", "x = x - lr * b")],
        "your steps are heavy-ball momentum's",
        {PT_STEPS},
    ),
    "pt_first_step": (  # the buffer starts at g and is then updated on the first step too
        "nesterov_pytorch",
        [
            ("path, b = [x], None", "path, b = [x], grad(x)"),
            ("b = g if b is None else beta * b + g", "b = beta * b + g"),
        ],
        "which makes the first buffer (1 + beta) * g",
        {PT_STEPS},
    ),
    "pt_dampening": (
        "nesterov_pytorch",
        [("else beta * b + g", "else beta * b + (1 - beta) * g")],
        "PyTorch's Nesterov requires dampening 0",
        {PT_STEPS},
    ),
    "pt_sign": (
        "nesterov_pytorch",
        [("x = x - lr * (g + beta * b)", "x = x + lr * (g + beta * b)")],
        "your iterates move uphill",
        {PT_STEPS},
    ),
    "pt_misses_x0": (
        "nesterov_pytorch",
        [("path, b = [x], None", "path, b = [], None")],
        "the trajectory does not include x0",
        {PT_TRAJECTORY},
    ),
    "pt_same_array": (
        "nesterov_pytorch",
        [("x = x - lr * (g + beta * b)", "x -= lr * (g + beta * b)")],
        "all rows of your trajectory are the same point",
        {PT_TRAJECTORY, PT_STEPS},
    ),
    "pt_mutates_x0": (  # right values, but asarray does not copy a float x0
        "nesterov_pytorch",
        [
            ("np.array(x0, dtype=float)", "np.asarray(x0, dtype=float)"),
            ("path, b = [x], None", "path, b = [x.copy()], None"),
            ("x = x - lr * (g + beta * b)", "x -= lr * (g + beta * b)"),
            ("path.append(x)", "path.append(x.copy())"),
        ],
        "modified its argument `x0` in place",
        {PT_TRAJECTORY},
    ),
    "points_next_velocity": (
        "lookahead_points",
        [("v[1:] = w[1:] - w[:-1]", "v[:-1] = w[1:] - w[:-1]")],
        "you added beta times the next velocity",
        {POINTS},
    ),
    "points_no_beta": (
        "lookahead_points",
        [("return w + beta * v", "return w + v")],
        "you added the whole velocity",
        {POINTS},
    ),
    "matrix_transposed": (
        "iteration_matrix",
        [(_RIGHT_MATRIX, "np.array([[1 - h, -h], [beta * damp, beta * damp]], dtype=float)")],
        "your matrix is transposed",
        {MATRIX_GD, MATRIX_NESTEROV},
    ),
    "matrix_gd_with_beta": (
        "iteration_matrix",
        [('    if method == "gd":\n        beta = 0.0\n', "")],
        "gradient descent has no momentum",
        {MATRIX_GD},
    ),
    "matrix_top_right_only": (
        "iteration_matrix",
        [(_RIGHT_MATRIX, "np.array([[1 - h, beta * damp], [-h, beta]], dtype=float)")],
        "only your top-right entry has the factor (1 - h)",
        {MATRIX_NESTEROV},
    ),
    "matrix_nesterov_is_heavy_ball": (
        "iteration_matrix",
        [('damp = 1 - h if method == "nesterov" else 1.0', "damp = 1.0")],
        "that is heavy ball's matrix",
        {MATRIX_NESTEROV},
    ),
    "radius_real_part": (
        "spectral_radius",
        [("np.max(np.abs(np.linalg.eigvals(", "np.max(np.real(np.linalg.eigvals(")],
        "you took the largest real part",
        {RADIUS},
    ),
    "radius_eigvalsh": (
        "spectral_radius",
        [("np.linalg.eigvals(", "np.linalg.eigvalsh(")],
        "np.linalg.eigvalsh assumes a symmetric matrix",
        {RADIUS},
    ),
    "limit_coarse": (
        "largest_stable_h",
        [("unstable - stable > 1e-12", "unstable - stable > 1e-3")],
        "close to the limit but not equal to it to rounding",
        {LIMIT_GD, LIMIT_NESTEROV},
    ),
    "limit_nesterov_as_heavy_ball": (
        "largest_stable_h",
        [
            (
                '"nesterov": lambda h: nesterov_rate(h, beta)',
                '"nesterov": lambda h: momentum_rate(h, beta)',
            )
        ],
        "2 + 2 beta is heavy ball's limit",
        {LIMIT_NESTEROV},
    ),
    "limit_gd_with_beta": (
        "largest_stable_h",
        [('"gd": lambda h: gd_rate(h)', '"gd": lambda h: momentum_rate(h, beta)')],
        "its limit is 2 whatever beta is given",
        {LIMIT_GD},
    ),
    "runs_wrong_beta": (  # passes the visible test, fails the hidden one
        "short_runs",
        [("momentum=BETA, nesterov=True", "momentum=0.8, nesterov=True")],
        'final_error["nesterov"] differs from this run',
        {RUNS},
    ),
    "runs_verdict_inverted": (
        "short_runs",
        [("final_error[method] > 1.0", "final_error[method] < 1.0")],
        "disagrees with final_error",
        {RUNS},
    ),
}

_source = SourceNotebook(PS, MISTAKES)
# A correct solution written independently of the instructor's, in the released notebook: the
# similarity report treats the code it shares with the solution as natural (docs/grading.md).
alternative_answers = _source.alternative_answers
source_nb, solutions = _source.notebook, _source.solutions
with_mistakes, points = _source.with_mistakes, _source.points


# --------------------------------------------------------------------------------------------
# The checkers, in-process
# --------------------------------------------------------------------------------------------
def test_the_points_add_up_to_the_table():
    _source.assert_points(13, written=3)  # 16 in all
    task = next(c for c in source_nb().cells if nbgrader_meta(c).get("task"))
    assert "=== BEGIN MARK SCHEME ===" in task.source
    assert "- **(a)**" in task.source and "- **(c)**" in task.source  # parts as a list


# Other correct implementations: none may fail, on any seed.
ALTERNATIVES = {
    "nesterov_step": [
        """
def nesterov_step(grad, w, v, lr, beta):
    w_new, v_new = np.array(w, dtype=float), np.array(v, dtype=float)
    v_new *= beta                    # in place, on copies
    v_new -= lr * grad(w_new + v_new)
    w_new += v_new
    return w_new, v_new
""",
        """
def nesterov_step(grad, w, v, lr, beta):
    ahead = np.add(w, np.multiply(beta, v))
    v_new = np.subtract(np.multiply(beta, v), lr * grad(ahead))
    return [np.add(w, v_new), v_new]
""",
    ],
    "nesterov_pytorch": [
        """
def nesterov_pytorch(grad, x0, lr, beta, steps):
    x0 = np.asarray(x0, dtype=float)
    path = np.empty((steps + 1, x0.size))
    path[0] = x0
    b = np.zeros_like(x0)  # b = beta * 0 + g = g on the first step
    for t in range(steps):
        g = grad(path[t])
        b = beta * b + g
        path[t + 1] = path[t] - lr * (g + beta * b)
    return path
""",
        """
def nesterov_pytorch(grad, x0, lr, beta, steps):
    # the look-ahead form, stored at its look-ahead points x = w + beta * v
    w, v = np.array(x0, dtype=float), np.zeros(len(x0))
    rows = [w + beta * v]
    for _ in range(steps):
        v = beta * v - lr * grad(w + beta * v)
        w = w + v
        rows.append(w + beta * v)
    return np.vstack(rows)
""",
    ],
    "lookahead_points": [
        """
def lookahead_points(path, beta):
    path = np.asarray(path, dtype=float)
    return np.vstack([path[:1], path[1:] + beta * np.diff(path, axis=0)])
""",
    ],
    "iteration_matrix": [
        """
def iteration_matrix(method, h, beta):
    if method == "gd":
        return np.array([[1.0 - h, 0.0], [-h, 0.0]])
    elif method == "momentum":
        return np.array([[1.0 - h, beta], [-h, beta]])
    elif method == "nesterov":
        c = beta * (1.0 - h)
        return np.array([[1.0 - h, c], [-h, c]])
    raise ValueError(method)
""",
    ],
    "spectral_radius": [
        "def spectral_radius(M):\n    return max(abs(z) for z in np.linalg.eigvals(M))\n",
        "def spectral_radius(M):\n    return np.abs(np.linalg.eig(np.array(M))[0]).max()\n",
    ],
    "largest_stable_h": [
        """
def largest_stable_h(method, beta):
    if method == "gd":
        return 2.0
    if method == "momentum":
        return 2 + 2 * beta
    return (2 + 2 * beta) / (1 + 2 * beta)
""",
        """
def largest_stable_h(method, beta):  # bisection on the student's own functions
    lo, hi = 0.0, 4.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if spectral_radius(iteration_matrix(method, mid, beta)) < 1 or mid == 0:
            lo = mid
        else:
            hi = mid
    return lo
""",
    ],
}


def test_the_alternative_notebook_is_correct_and_written_differently():
    answers = alternative_answers()
    assert set(answers) == set(solutions())
    assert run_in_process(source_nb(), answers) == {gid: None for gid in points()}
    assert all(answers[gid] != code for gid, code in solutions().items())


# Wrong functions beyond the notebook edits above: name -> ({answer cell: code},
# {test cell: what its message must say, or None if the function must pass it}).
WRONG = {
    "step_mixing_forms": (
        {
            "nesterov_step": """
def nesterov_step(grad, w, v, lr, beta):
    g = grad(w + beta * v)
    b = beta * v + g                # PyTorch's buffer rule on the velocity
    return w - lr * (g + beta * b), b
"""
        },
        {STEP_FORMAT: None, STEP_VALUES: "you used PyTorch's rule"},
    ),
    "step_lookahead_without_beta": (
        {
            "nesterov_step": """
def nesterov_step(grad, w, v, lr, beta):
    v_new = beta * v - lr * grad(w + v)
    return w + v_new, v_new
"""
        },
        {STEP_FORMAT: None, STEP_VALUES: "your look-ahead point is w + v"},
    ),
    "step_moves_by_old_velocity": (
        {
            "nesterov_step": """
def nesterov_step(grad, w, v, lr, beta):
    w_new = w + v
    v_new = beta * v - lr * grad(w + beta * v)
    return w_new, v_new
"""
        },
        {STEP_FORMAT: None, STEP_VALUES: "w moves by the old velocity v"},
    ),
    "step_returns_one_array": (
        {
            "nesterov_step": """
def nesterov_step(grad, w, v, lr, beta):
    v = beta * v - lr * grad(w + beta * v)
    return w + v
"""
        },
        {STEP_FORMAT: "must return a pair (w_new, v_new)", STEP_VALUES: "must return a pair"},
    ),
    "pt_old_buffer": (  # the same as heavy ball: g + beta * b_old = beta * b_old + g
        {
            "nesterov_pytorch": """
def nesterov_pytorch(grad, x0, lr, beta, steps):
    x, b = np.array(x0, dtype=float), np.zeros(len(x0))
    path = [x]
    for _ in range(steps):
        g = grad(x)
        x = x - lr * (g + beta * b)   # the step before the buffer is updated
        b = beta * b + g
        path.append(x)
    return np.array(path)
"""
        },
        {PT_TRAJECTORY: None, PT_STEPS: "your steps are heavy-ball momentum's"},
    ),
    "pt_lookahead_gradient": (
        {
            "nesterov_pytorch": """
def nesterov_pytorch(grad, x0, lr, beta, steps):
    x, b = np.array(x0, dtype=float), np.zeros(len(x0))
    path = [x]
    for _ in range(steps):
        g = grad(x - lr * beta * b)   # a look-ahead, as in the other form
        b = beta * b + g
        x = x - lr * (g + beta * b)
        path.append(x)
    return np.array(path)
"""
        },
        {PT_TRAJECTORY: None, PT_STEPS: "you took the gradient at a look-ahead point"},
    ),
    "pt_returns_lookahead_form": (
        {
            "nesterov_pytorch": """
def nesterov_pytorch(grad, x0, lr, beta, steps):
    w, v = np.array(x0, dtype=float), np.zeros(len(x0))
    path = [w]
    for _ in range(steps):
        v = beta * v - lr * grad(w + beta * v)
        w = w + v
        path.append(w)
    return np.array(path)
"""
        },
        {PT_TRAJECTORY: None, PT_STEPS: "your rows are the look-ahead form's parameters"},
    ),
    "pt_transposed": (
        {
            "nesterov_pytorch": """
def nesterov_pytorch(grad, x0, lr, beta, steps):
    x, b = np.array(x0, dtype=float), np.zeros(len(x0))
    path = [x]
    for _ in range(steps):
        g = grad(x)
        b = beta * b + g
        x = x - lr * (g + beta * b)
        path.append(x)
    return np.array(path).T
"""
        },
        {PT_TRAJECTORY: "your trajectory is transposed", PT_STEPS: "one row per iterate"},
    ),
    "matrix_v_first": (
        {
            "iteration_matrix": """
def iteration_matrix(method, h, beta):
    beta = 0.0 if method == "gd" else beta
    c = beta * (1 - h) if method == "nesterov" else beta
    return np.array([[c, -h], [c, 1 - h]])
"""
        },
        {MATRIX_GD: "your matrix is for the state (v, e)", MATRIX_NESTEROV: "state (v, e)"},
    ),
    "matrix_sign_of_h": (
        {
            "iteration_matrix": """
def iteration_matrix(method, h, beta):
    beta = 0.0 if method == "gd" else beta
    c = beta * (1 - h) if method == "nesterov" else beta
    return np.array([[1 - h, c], [h, c]])
"""
        },
        {MATRIX_GD: "the bottom-left entry is -h", MATRIX_NESTEROV: "the bottom-left entry is -h"},
    ),
    "matrix_gd_one_by_one": (
        {
            "iteration_matrix": """
def iteration_matrix(method, h, beta):
    if method == "gd":
        return np.array([[1 - h]])
    c = beta * (1 - h) if method == "nesterov" else beta
    return np.array([[1 - h, c], [-h, c]])
"""
        },
        {MATRIX_GD: "return a 2 x 2 matrix for gradient descent too", MATRIX_NESTEROV: None},
    ),
    "radius_two_norm": (
        {"spectral_radius": "def spectral_radius(M):\n    return np.linalg.norm(M, 2)\n"},
        {RADIUS: "largest singular value"},
    ),
    "radius_complex": (
        {
            "spectral_radius": (
                "def spectral_radius(M):\n    return max(np.linalg.eigvals(M), key=abs)\n"
            )
        },
        {RADIUS: "returned a complex number"},
    ),
    "limit_two_over": (
        {
            "largest_stable_h": """
def largest_stable_h(method, beta):
    return {"gd": 2.0, "momentum": 2 + 2 * beta, "nesterov": 2 / (1 + 2 * beta)}[method]
"""
        },
        {LIMIT_GD: None, LIMIT_NESTEROV: "2 / (1 + 2 beta) is not Nesterov's limit"},
    ),
}


class TestChecks(AssignmentChecks):
    """The standard in-process tests of ps06's checkers, driven by the tables above."""

    assignment = PS
    mistakes = MISTAKES
    wrong, wrong_seeds = WRONG, [(seed, seed > 0) for seed in range(6)]
    alternatives = ALTERNATIVES
    alternative_seeds = [(seed, seed > 0) for seed in range(15)]
    hidden_probes = [
        "step_heavy_ball",
        "step_in_place",
        "step_returns_lookahead",
        "pt_first_step",
        "pt_misses_x0",
        "pt_same_array",
        "points_next_velocity",
        "matrix_transposed",
        "matrix_top_right_only",
        "radius_real_part",
        "limit_coarse",
        "step_returns_one_array",
        "pt_transposed",
        "matrix_gd_one_by_one",
    ]
    quiet_function = "nesterov_pytorch"
    namespace_skip = ("short_runs",)


# --------------------------------------------------------------------------------------------
# Right or silent: a mistake is named only when it explains every case
# --------------------------------------------------------------------------------------------
def _defined(answers):
    return TestChecks.defined(answers)


def test_a_mistake_that_explains_some_cases_only_is_listed_not_named():
    """Heavy ball's matrix for Nesterov on some cases only: the message says which entries
    are wrong and lists heavy ball as a candidate, without claiming it is the mistake."""
    ns = _defined(
        {
            "iteration_matrix": """
def iteration_matrix(method, h, beta):
    beta = 0.0 if method == "gd" else beta
    c = beta * (1 - h) if method == "nesterov" and h < 1 else beta
    return np.array([[1 - h, c], [-h, c]])
"""
        }
    )
    with pytest.raises(GradingError) as info:
        checks.check_iteration_matrix_nesterov(ns["iteration_matrix"])
    text = str(info.value)
    assert "the entries [0, 1], [1, 1] are wrong" in text
    assert "equals what this mistake gives: heavy ball's matrix for Nesterov" in text
    assert "but not on every case" in text
    assert not text.startswith("iteration_matrix: that is heavy ball's matrix")


def test_a_step_that_is_heavy_ball_in_1d_only_gets_where_it_differs():
    ns = _defined(
        {
            "nesterov_step": """
def nesterov_step(grad, w, v, lr, beta):
    point = w if len(w) == 1 else w + beta * v
    v_new = beta * v - lr * grad(point)
    return w + v_new, v_new
"""
        }
    )
    for seed, hidden in [(0, False), (3, True)]:
        with pytest.raises(GradingError) as info:
            checks.check_nesterov_step_values(ns["nesterov_step"], seed=seed, hidden=hidden)
        text = str(info.value)
        assert "differ from one step of Nesterov's look-ahead form" in text
        assert "w_new and v_new" in text and "coordinate 0" in text
        assert "the gradient at w (heavy ball)" in text and "not on every case" in text


def test_a_trajectory_wrong_from_a_later_step_names_the_row():
    ns = _defined(
        {
            "nesterov_pytorch": """
def nesterov_pytorch(grad, x0, lr, beta, steps):
    x, b = np.array(x0, dtype=float), np.zeros(len(x0))
    path = [x]
    for t in range(steps):
        g = grad(x)
        b = beta * b + g
        x = x - lr * (g + beta * b) * (1.0 if t < 2 else 1.01)
        path.append(x)
    return np.array(path)
"""
        }
    )
    with pytest.raises(GradingError, match=r"the first row that differs .* is row 3 \(the point"):
        checks.check_nesterov_pytorch_steps(ns["nesterov_pytorch"])


# --------------------------------------------------------------------------------------------
# The facts the checkers rely on
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [1, 3])
def test_the_lookahead_points_are_pytorchs_parameters(dim):
    """w_t + beta v_t of a LookaheadNesterov run (the reference of lookahead_points) equals
    the path of SGD(nesterov=True) from the same start, to rounding: the fact Question 3
    asks students to show, on a random quadratic as in the checker's cases."""
    from course_lib.optim import SGD
    from course_lib.train import run

    rng = np.random.default_rng(dim)
    problem = checks.random_quadratic(rng, dim, "lookahead_points", False)
    x0, lr, beta = rng.uniform(-2, 2, dim), 0.7 / checks._lam_max(problem), 0.9
    w = checks._lookahead_form_path(problem, x0, lr, beta, 25)
    x = run(SGD(lr=lr, momentum=beta, nesterov=True), problem, x0, 25).path
    assert np.allclose(checks._lookahead_points(w, beta), x, rtol=1e-12, atol=1e-12)
    assert not np.allclose(w, x, rtol=1e-3)  # the two forms' parameters do differ


def test_the_short_runs_checker():
    from course_lib.analysis import nesterov_rate

    args = (1.5, 0.9, 30)
    errors = {m: v[0] for m, v in checks._short_run_reference(*args).items()}
    verdicts = {m: e > 1 for m, e in errors.items()}
    assert verdicts == {"gd": False, "momentum": False, "nesterov": True}
    assert nesterov_rate(1.5, 0.9) > 1
    checks.check_short_runs(errors, verdicts, *args, hidden=True)
    lookahead = {**errors, "nesterov": checks._short_run_reference(*args)["nesterov"][1]}
    checks.check_short_runs(lookahead, verdicts, *args, hidden=True)  # either form is right
    with pytest.raises(GradingError, match='must be a dict with the keys "gd"'):
        checks.check_short_runs({"gd": 0.0}, verdicts, *args)
    with pytest.raises(GradingError, match="must be True or False"):
        checks.check_short_runs(errors, {**verdicts, "gd": "no"}, *args)
    wrong = {**verdicts, "nesterov": False, "gd": True}
    wrong_errors = {**errors, "nesterov": 0.5, "gd": 2.0}
    checks.check_short_runs(wrong_errors, wrong, *args)  # consistent: visible cannot tell
    with pytest.raises(GradingError, match=r'^diverges \(hidden test\): diverges\["gd"\] is wrong'):
        checks.check_short_runs(wrong_errors, wrong, *args, hidden=True)


# --------------------------------------------------------------------------------------------
# The real pipeline
# --------------------------------------------------------------------------------------------
class TestPipeline(AssignmentPipeline):
    """ps06 through nbgrader: the solution, the released version, four wrong submissions
    (one through an LMS export) and one correct submission written differently."""

    assignment = PS
    students = {
        "solution": Student(),
        "released": Student(released=True, lost=set(points())),
        "heavy_ball": Student(
            with_mistakes("step_heavy_ball"),
            lost={STEP_VALUES},
            lms_file="heavy_ball_1006_2006_ps06.ipynb",
        ),
        "pytorch_and_matrix": Student(
            with_mistakes("pt_first_step", "matrix_transposed"),
            lost={PT_STEPS, MATRIX_GD, MATRIX_NESTEROV},
        ),
        "in_place_and_coarse": Student(
            with_mistakes("step_in_place", "limit_coarse"),
            lost={STEP_FORMAT, LIMIT_GD, LIMIT_NESTEROV},
        ),
        "wrong_beta": Student(with_mistakes("runs_wrong_beta"), lost={RUNS}),
        "alternative": Student(alternative_answers()),
    }
    feedback_messages = [
        (student, MISTAKES[mistake][2])
        for student, mistake in [
            ("heavy_ball", "step_heavy_ball"),
            ("pytorch_and_matrix", "pt_first_step"),
            ("pytorch_and_matrix", "matrix_transposed"),
            ("in_place_and_coarse", "step_in_place"),
            ("in_place_and_coarse", "limit_coarse"),
            ("wrong_beta", "runs_wrong_beta"),
        ]
    ]
    hidden_failure = ("wrong_beta", RUNS)
    released_without_stub = 1  # the short runs' test finds no results
