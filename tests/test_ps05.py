"""Problem set 5 (momentum): its checkers, and the assignment through the real nbgrader.

The first part runs the notebook's test cells in-process against the solution and against
typical wrong submissions (fast), and tries the checkers on many seeds against other correct
implementations (no false failures) and against wrong functions (the right diagnosis). The
second part (``TestPipeline``, the standard tests of ``nbgrader_course.AssignmentPipeline``)
grades a small corpus with the real nbgrader and with ``python -m course_lib.autograde``.
"""

import matplotlib
import numpy as np
import pytest
from nbgrader_course import (
    AssignmentChecks,
    AssignmentPipeline,
    SourceNotebook,
    Student,
    run_in_process,
)

from course_lib.grading import GradingError
from course_lib.grading import momentum as checks

matplotlib.use("Agg")

PS = "ps05"
L_CONTRACT, L_VALUES = "test_lecture_step_contract", "test_lecture_step_values"
P_CONTRACT, P_VALUES, P_FIRST = (
    "test_pytorch_step_contract",
    "test_pytorch_step_values",
    "test_pytorch_first_step",
)
TRAJECTORY, RUN_L, RUN_P = (
    "test_run_momentum_trajectory",
    "test_run_momentum_lecture",
    "test_run_momentum_pytorch",
)
B_LR, B_BETA, B_RATE = "test_best_momentum_lr", "test_best_momentum_beta", "test_best_momentum_rate"
E_STEPS, E_SLOPES = "test_momentum_experiment_steps", "test_momentum_experiment_slopes"

_V_NEW = "v_new = beta * np.asarray(v, dtype=float) - lr * np.asarray(g, dtype=float)"

# A typical mistake = (answer cell, [(solution text, replacement), ...], what the feedback must
# say (or {test cell: text}), the test cells that must lose their points).
MISTAKES = {
    "lecture_velocity_unused": (
        "momentum_step_lecture",
        [("+ v_new, v_new", "- lr * np.asarray(g, dtype=float), v_new")],
        {
            L_VALUES: "the velocity is never used",
            RUN_L: "your trajectory is gradient descent's",
        },
        {L_VALUES, RUN_L},
    ),
    "lecture_sign": (
        "momentum_step_lecture",
        [("- lr * np.asarray(g", "+ lr * np.asarray(g")],
        {L_VALUES: "the velocity has the wrong sign", RUN_L: "the iterates first differ after"},
        {L_VALUES, RUN_L},
    ),
    "lecture_in_place": (  # right values, but the caller's velocity is changed
        "momentum_step_lecture",
        [
            (
                _V_NEW,
                "v_new = np.asarray(v, dtype=float)\n    v_new *= beta\n"
                "    v_new -= lr * np.asarray(g, dtype=float)",
            )
        ],
        "changed the velocity `v` in place",
        {L_CONTRACT},
    ),
    "pytorch_dampening_first": (
        "momentum_step_pytorch",
        [("buf_new = g.copy()", "buf_new = (1 - dampening) * g")],
        "on the first step you applied dampening",
        {P_FIRST},
    ),
    "pytorch_first_not_a_copy": (
        "momentum_step_pytorch",
        [("buf_new = g.copy()", "buf_new = g")],
        "returned the array `g` it was given",
        {P_CONTRACT},
    ),
    "pytorch_no_dampening": (
        "momentum_step_pytorch",
        [("+ (1 - dampening) * g", "+ g")],
        "the gradient enters the buffer whole",
        {P_VALUES},
    ),
    "run_first_lr_only": (
        "run_momentum",
        [("for lr in lrs:", "for _ in lrs:\n        lr = lrs[0]")],
        "every step uses the first learning rate",
        {RUN_L, RUN_P},
    ),
    "run_forms_swapped": (
        "run_momentum",
        [('form == "lecture"', 'form == "pytorch"')],
        {RUN_L: "your trajectory is PyTorch's form's", RUN_P: "your trajectory is the lecture"},
        {RUN_L, RUN_P},
    ),
    "best_gd_lr": (
        "best_momentum_params",
        [
            (
                "lr = (2 / (math.sqrt(lam_max) + math.sqrt(lam_min))) ** 2",
                "lr = 2 / (lam_min + lam_max)",
            )
        ],
        "gradient descent's best learning rate",
        {B_LR},
    ),
    "best_kappa_not_sqrt": (
        "best_momentum_params",
        [("root_kappa = math.sqrt(lam_max / lam_min)", "root_kappa = lam_max / lam_min")],
        {B_BETA: "you used kappa where the formula has sqrt(kappa)", B_RATE: "gradient descent's"},
        {B_BETA, B_RATE},
    ),
    "best_diagonal": (
        "best_momentum_params",
        [("np.linalg.eigvalsh(np.asarray(H, dtype=float))", "np.sort(np.diag(np.asarray(H)))")],
        "you used the diagonal of H",
        {B_LR, B_BETA, B_RATE},
    ),
    "best_rate_squared": (
        "best_momentum_params",
        [("float(rate)", "float(rate**2)")],
        "you returned beta itself",
        {B_RATE},
    ),
    "experiment_momentum_gd_lr": (
        "experiment",
        [("SGD(lr=best.lr, momentum=best.momentum)", "SGD(lr=gd.lr, momentum=best.momentum)")],
        "your momentum runs use gradient descent's learning rate",
        {E_STEPS},
    ),
    "experiment_plus_one": (
        "experiment",
        [("bowl.minimizer, TOL))", "bowl.minimizer, TOL) + 1)")],
        "every count is one too many",
        {E_STEPS},
    ),
    "experiment_intercept": (
        "experiment",
        [("np.log(steps_gd), 1)[0]", "np.log(steps_gd), 1)[1]")],
        "you took the intercept",
        {E_SLOPES},
    ),
}

_source = SourceNotebook(PS, MISTAKES)
with_mistakes, points, solutions = _source.with_mistakes, _source.points, _source.solutions

HARDCODED_2D = """
def run_momentum(grad, w0, lrs, beta, form):
    path = np.zeros((len(lrs) + 1, 2))  # written for the 2-D bowls only
    path[0] = w0
    state = np.zeros(2) if form == "lecture" else None
    for t, lr in enumerate(lrs):
        if form == "lecture":
            path[t + 1], state = momentum_step_lecture(path[t], state, grad(path[t]), lr, beta)
        else:
            path[t + 1], state = momentum_step_pytorch(path[t], state, grad(path[t]), lr, beta)
    return path
"""

# A correct submission written independently of the solution (its code is also what the
# similarity report treats as natural, see course_lib.autograde.similarity).
ALTERNATIVE = _source.alternative_answers()
ALTERNATIVES = {gid: [code] for gid, code in ALTERNATIVE.items() if gid != "experiment"}
ALTERNATIVES["momentum_step_lecture"].append(
    """
def momentum_step_lecture(w, v, g, lr, beta):
    v_new = np.multiply(beta, v) - np.multiply(lr, g)
    return np.array([w + v_new, v_new])  # one (2, dim) array unpacks like the pair
"""
)

WRONG = {
    "lecture_old_velocity": (
        {
            "momentum_step_lecture": """
def momentum_step_lecture(w, v, g, lr, beta):
    w_new = w + v
    return w_new, beta * v - lr * g
"""
        },
        {L_CONTRACT: None, L_VALUES: "the weights move by the old velocity"},
    ),
    "lecture_returns_w_only": (
        {
            "momentum_step_lecture": """
def momentum_step_lecture(w, v, g, lr, beta):
    return w + beta * v - lr * g
"""
        },
        {L_CONTRACT: "returned one array", L_VALUES: "returned one array"},
    ),
    "pytorch_swapped": (
        {
            "momentum_step_pytorch": """
def momentum_step_pytorch(w, buf, g, lr, beta, dampening=0.0):
    buf = np.array(g, dtype=float) if buf is None else beta * buf + (1 - dampening) * g
    return buf, w - lr * buf
"""
        },
        {P_CONTRACT: None, P_VALUES: "the two results are swapped", P_FIRST: "swapped"},
    ),
    "pytorch_lecture_form": (
        {
            "momentum_step_pytorch": """
def momentum_step_pytorch(w, buf, g, lr, beta, dampening=0.0):
    buf = np.zeros_like(w) if buf is None else buf
    v = beta * buf - lr * g
    return w + v, v
"""
        },
        {P_CONTRACT: None, P_VALUES: "you wrote the lecture form"},
    ),
    "run_hardcoded_2d": (
        {"run_momentum": HARDCODED_2D},
        {
            TRAJECTORY: "run_momentum (hidden test)",
            RUN_L: "run_momentum (hidden test)",
            RUN_P: "run_momentum (hidden test)",
        },
    ),
}


class TestChecks(AssignmentChecks):
    """The standard in-process tests of ps05's checkers, driven by the tables above."""

    assignment = PS
    mistakes = MISTAKES
    wrong, wrong_seeds = WRONG, [(seed, True) for seed in range(1, 7)]
    alternatives = ALTERNATIVES
    alternative_seeds = [(0, False)] + [(seed, True) for seed in range(1, 20)]
    hidden_probes = [
        "lecture_velocity_unused",
        "lecture_in_place",
        "pytorch_dampening_first",
        "pytorch_no_dampening",
        "run_forms_swapped",
        "best_kappa_not_sqrt",
        "run_hardcoded_2d",
    ]
    quiet_function = "run_momentum"


def test_the_points_add_up_to_the_table():
    assert sum(points().values()) == 13  # plus 3 for the written question: 16
    nb = _source.notebook()
    assert "**16**" in nb.cells[0].source


def test_the_alternative_notebook_passes_every_test_cell_in_process():
    assert set(ALTERNATIVE) == set(solutions())
    results = run_in_process(_source.notebook(), ALTERNATIVE)
    assert results == {gid: None for gid in points()}


def test_the_hardcoded_run_passes_the_visible_tests():
    """The corpus's hidden failure: 2-D only code passes every visible run test."""
    ns = TestChecks.defined({"run_momentum": HARDCODED_2D})
    for check in (
        checks.check_run_momentum_trajectory,
        checks.check_run_momentum_lecture,
        checks.check_run_momentum_pytorch,
    ):
        check(ns["run_momentum"])


def test_the_forms_agree_for_a_constant_rate_and_part_under_a_schedule():
    """The visible run cases show what Question 6 asks about: the forms' trajectories are
    equal with a constant learning rate and differ once MultiStepLR drops it."""
    from course_lib.grading.momentum import _reference_run, _run_cases

    constant, dropped = _run_cases(0, "lecture")[:2]
    for case, same in [(constant, True), (dropped, False)]:
        args = dict(case.args)
        lecture = _reference_run(**args)
        pytorch = _reference_run(**{**args, "form": "pytorch"})
        assert np.allclose(lecture, pytorch, rtol=1e-12, atol=1e-12) == same


def test_a_diagnosis_is_named_only_when_it_explains_every_case():
    """A step that forgets the velocity only in 1-D is not called 'velocity never used'."""
    ns = TestChecks.defined({})
    right = ns["momentum_step_lecture"]

    def patchy(w, v, g, lr, beta):
        if np.size(w) == 1:
            return w - lr * g, beta * v - lr * g
        return right(w, v, g, lr, beta)

    with pytest.raises(GradingError) as info:
        checks.check_lecture_step_values(patchy)
    assert "never used" not in str(info.value)
    assert "w_new (coordinate [0]) differs from the correct update" in str(info.value)


def test_experiment_checker_properties():
    args = ([4, 16, 64, 256, 1024], np.pi / 5, (0.5, 1.0), (-0.5, 2.5), 1e-5)
    gd = np.array([23, 92, 369, 1474, 5895])
    hb = np.array([14, 31, 65, 137, 286])
    checks.check_momentum_experiment_steps(gd, hb, *args)
    with pytest.raises(GradingError, match="steps_gd and steps_momentum are swapped"):
        checks.check_momentum_experiment_steps(hb, gd, *args)
    with pytest.raises(GradingError, match="steps_momentum at kappa = 256"):
        checks.check_momentum_experiment_steps(gd, hb + [0, 0, 0, 1, 0], *args)
    with pytest.raises(GradingError, match="some counts are None"):
        checks.check_momentum_experiment_steps(list(gd[:-1]) + [None], hb, *args)
    fit = [np.polyfit(np.log(args[0]), np.log(c), 1)[0] for c in (gd, hb)]
    assert abs(fit[0] - 1) < 0.01 and abs(fit[1] - 0.54) < 0.01
    checks.check_momentum_experiment_slopes(*fit, gd, hb, args[0])
    with pytest.raises(GradingError, match="slope_gd and slope_momentum are swapped"):
        checks.check_momentum_experiment_slopes(fit[1], fit[0], gd, hb, args[0])
    with pytest.raises(GradingError, match="end points only"):
        ends = [np.log(c[-1] / c[0]) / np.log(1024 / 4) for c in (gd, hb)]
        checks.check_momentum_experiment_slopes(*ends, gd, hb, args[0])


# --------------------------------------------------------------------------------------------
# The real pipeline
# --------------------------------------------------------------------------------------------
class TestPipeline(AssignmentPipeline):
    """ps05 through nbgrader: the solution (from an LMS export), the released version, three
    wrong submissions and a correct one written differently."""

    assignment = PS
    students = {
        "solution": Student(lms_file="solution_1001_2002_ps05.ipynb"),
        "released": Student(released=True, lost=set(points())),
        "in_place": Student(with_mistakes("lecture_in_place"), lost={L_CONTRACT}),
        "several_mistakes": Student(
            with_mistakes("pytorch_dampening_first", "best_kappa_not_sqrt", "experiment_intercept"),
            lost={P_FIRST, B_BETA, B_RATE, E_SLOPES},
        ),
        "hardcoded_2d": Student({"run_momentum": HARDCODED_2D}, lost={TRAJECTORY, RUN_L, RUN_P}),
        "alternative": Student(ALTERNATIVE),
    }
    feedback_messages = [
        ("in_place", "changed the velocity `v` in place"),
        ("several_mistakes", "on the first step you applied dampening"),
        ("several_mistakes", "you used kappa where the formula has sqrt(kappa)"),
        ("several_mistakes", "you took the intercept"),
        ("hardcoded_2d", "run_momentum (hidden test)"),
    ]
    hidden_failure = ("hardcoded_2d", TRAJECTORY)
    released_without_stub = 2  # the experiment's tests find no results
