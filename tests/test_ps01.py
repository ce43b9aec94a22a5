"""Problem set 1 (random search): its checkers, and the assignment through the real nbgrader.

The first part runs the notebook's test cells in-process against the solution and against
typical wrong submissions (fast); it also tests the grading core and the course
configuration. The second part (``TestPipeline``, the standard tests of
``nbgrader_course.AssignmentPipeline``) builds a temporary course from the repository's
nbgrader_config.py, hands in a dozen submissions (directly and through an LMS export with
zip_collect), autogrades them in one `nbgrader autograde` call with real kernels, and reads
the real gradebook and feedback.
"""

import math

import matplotlib
import nbformat
import numpy as np
import pytest
from nbgrader_course import (
    REPO,
    AssignmentChecks,
    AssignmentPipeline,
    SourceNotebook,
    Student,
)

from course_lib.grading import GradingError
from course_lib.grading import search as checks

matplotlib.use("Agg")

PS = "ps01"

# A typical mistake = (answer cell, solution text, replacement, what the feedback must say,
# the test cells that must lose their points).
MISTAKES = {
    "local_accepts_worse": (
        "local_random_search",
        "        if fy < fx:\n            x, fx = y, fy",
        "        x, fx = y, fy",
        "you move to every proposal",
        {"test_local_search_moves"},
    ),
    "local_wrong_way_round": (
        "local_random_search",
        "if fy < fx:",
        "if fy > fx:",
        "the comparison is the wrong way",
        {"test_local_search_moves"},
    ),
    # the examiner's submissions: told "you move to every proposal" and "your steps are 1.3
    # times longer" before a diagnosis had to reproduce every case
    "local_stale_value": (
        "local_random_search",
        "            x, fx = y, fy",
        "            x = y",
        "you move to y but keep the old value fx",
        {"test_local_search_moves"},
    ),
    "local_accepts_worse_sometimes": (
        "local_random_search",
        "if fy < fx:",
        "if fy < fx or rng.random() < 0.1:",
        "no single typical slip explains it on every test case",
        {"test_local_search_moves"},
    ),
    "local_steps_too_long": (
        "local_random_search",
        "step_size * rng.standard_normal(x.size)",
        "1.3 * step_size * rng.standard_normal(x.size)",
        "your steps are about 1.3 times longer",
        {"test_local_search_moves"},
    ),
    "local_off_by_one": (
        "local_random_search",
        "range(n_evals - 1)",
        "range(n_evals)",
        "x0 counts as the first of the n_evals evaluations",
        {"test_local_search_result"},
    ),
    "local_returns_last_point": (
        "local_random_search",
        "best_x=xs[best].copy()",
        "best_x=xs[-1]",
        "best_x is the last point evaluated",
        {"test_local_search_result"},
    ),
    "local_uses_np_random": (
        "local_random_search",
        "rng.standard_normal(x.size)",
        "np.random.standard_normal(x.size)",
        "draw every random number from the rng argument",
        {"test_local_search_moves"},
    ),
    "global_best_so_far_is_values": (
        "global_random_search",
        "best_so_far=np.minimum.accumulate(values)",
        "best_so_far=values",
        "best_so_far is just the list of values",
        {"test_global_search_result"},
    ),
    "global_uses_np_random": (
        "global_random_search",
        "rng.uniform(low, high",
        "np.random.uniform(low, high",
        "identically seeded rng gave different points",
        {"test_global_search_sampling"},
    ),
    "global_ignores_bounds": (
        "global_random_search",
        "rng.uniform(low, high, size=",
        "rng.uniform(size=",
        "your points lie in [0, 1)",
        {"test_global_search_sampling"},
    ),
    "e2t_zero_based": (
        "evaluations_to_target",
        "int(reached[0]) + 1",
        "int(reached[0])",
        "the number of evaluations is that index + 1",
        {"test_evaluations_to_target"},
    ),
    "e2t_strict": (
        "evaluations_to_target",
        "<= target",
        "< target",
        "compare with <=, not <",
        {"test_evaluations_to_target"},
    ),
    "experiment_step_over_d": (  # passes the visible test, fails the hidden one
        "experiment",
        "STEP_LENGTH / math.sqrt(d)",
        "STEP_LENGTH / d",
        "your per-coordinate step size is STEP_LENGTH / d",
        {"test_experiment_result"},
    ),
    # the examiner's: within a factor 2.5 of the medians, a mean earned the point
    "experiment_mean": (
        "experiment",
        "np.median(counts)",
        "np.mean(counts)",
        "you take the mean over the seeds",
        {"test_experiment_result"},
    ),
    "experiment_one_generator": (
        "experiment",
        [
            ("for d in DIMS:", "rng = np.random.default_rng(0)\nfor d in DIMS:"),
            ("rng=np.random.default_rng(seed)", "rng=rng"),
        ],
        "your medians differ from what this experiment gives",
        {"test_experiment_result"},
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
class TestChecks(AssignmentChecks):
    """The standard in-process tests of ps01's checkers, driven by the tables above."""

    assignment = PS
    mistakes = MISTAKES
    hidden_probes = [
        "local_accepts_worse",
        "global_best_so_far_is_values",
        "e2t_zero_based",
        "global_ignores_bounds",
        "local_off_by_one",
        "local_accepts_worse_sometimes",
    ]
    hidden_leak = r"test case|expected|got:|\d\.\d\d"
    quiet_function = "global_random_search"
    more_seeds = ["local_stale_value", "local_accepts_worse_sometimes", "local_steps_too_long"]


@pytest.mark.parametrize(
    "mistake,wrong_cause",
    [
        ("local_stale_value", "you move to every proposal"),
        ("local_accepts_worse_sometimes", "times longer"),
        ("local_accepts_worse_sometimes", "you move to every proposal"),
    ],
)
def test_a_search_that_moves_otherwise_is_not_given_a_wrong_cause(mistake, wrong_cause):
    ns = TestChecks.defined(with_mistakes(mistake))
    for seed, hidden in [(0, False), (1, True), (2, True), (3, True)]:
        with pytest.raises(GradingError) as info:
            checks.check_local_search_moves(ns["local_random_search"], seed=seed, hidden=hidden)
        assert wrong_cause not in str(info.value), (seed, str(info.value))


def test_visible_messages_show_the_case(solution_namespace):
    ns = dict(solution_namespace)
    exec(with_mistakes("global_best_so_far_is_values")["global_random_search"], ns)
    with pytest.raises(GradingError) as info:
        checks.check_global_search_result(ns["global_random_search"])
    assert "test case: f = a 2-D bowl" in str(info.value) and "expected:" in str(info.value)


def test_a_function_that_never_returns_is_stopped(monkeypatch):
    import course_lib.grading._core as core

    def forever(f, x0, step_size, n_evals, rng):
        k = 1
        while k < n_evals:  # the counter is never increased
            f(x0)

    monkeypatch.setitem(core.run.__kwdefaults__, "time_limit", 0.5)
    with pytest.raises(GradingError, match="did not return within 0.5 s"):
        checks.check_local_search_result(forever)


def test_mutating_x0_and_returning_it_are_diagnosed(solution_namespace):
    SearchResult = solution_namespace["SearchResult"]

    def mutates(f, x0, step_size, n_evals, rng):
        x = x0  # no copy: `+=` below changes the caller's array
        xs, values = [x.copy()], [f(x)]
        for _ in range(n_evals - 1):
            x += step_size * rng.standard_normal(x.size)
            xs.append(x.copy())
            values.append(f(x))
        xs, values = np.array(xs), np.array(values)
        return SearchResult(xs[0].copy(), values[0], np.minimum.accumulate(values), xs, values)

    def aliases(f, x0, step_size, n_evals, rng):
        res = solution_namespace["local_random_search"](f, x0, step_size, n_evals, rng)
        return res._replace(best_x=x0) if n_evals == 1 else res  # x0 itself, not a copy

    with pytest.raises(GradingError, match="modified its argument `x0` in place"):
        checks.check_local_search_result(mutates)
    with pytest.raises(GradingError, match="returned the array `x0` it was given"):
        checks.check_local_search_result(aliases)


def test_experiment_checker_properties(solution_namespace):
    args = ([1, 2, 4, 8, 16, 32], 0.01, 2000, 0.1, range(5))
    good = np.array([21.0, 36.0, 59.0, 101.0, 147.0, 440.0])
    checks.check_experiment_result(good, *args)
    checks.check_experiment_result(good, *args, hidden=True)
    with pytest.raises(GradingError, match="one median per dimension"):
        checks.check_experiment_result(good[:-1], *args)
    with pytest.raises(GradingError, match="infinite"):
        checks.check_experiment_result(np.r_[good[:-1], math.inf], *args)
    with pytest.raises(GradingError, match="grow clearly"):
        checks.check_experiment_result(np.full(6, 50.0), *args)
    with pytest.raises(GradingError, match=r"\(hidden test\): your medians differ"):
        checks.check_experiment_result(good * 4, *args, hidden=True)
    # deterministic: checked to rounding, not within a factor
    with pytest.raises(GradingError, match=r"\(hidden test\): your medians differ"):
        checks.check_experiment_result(good + np.r_[0, 0, 0, 0, 0, 3.0], *args, hidden=True)
    checks.check_experiment_result(good - 1, *args, hidden=True)  # Question 3's slip: not again


def test_core_check_against_reference_diagnoses_a_variant_and_hides_details():
    """The generic path the other problem sets use (here on a numerical gradient)."""
    from course_lib.grading import Case, Mistake, check_against_reference
    from course_lib.models import numerical_gradient

    def reference(f, x, h):
        return numerical_gradient(f, x, h)

    def forward(f, x, h):
        return numerical_gradient(f, x, h, method="forward")

    def loss(w):
        return float(np.sum(np.sin(w) * w**2))

    cases = [
        Case({"f": loss, "x": np.array([0.3, -1.2, 2.0]), "h": 1e-4}, "x of shape (3,)"),
        Case({"f": loss, "x": np.arange(6.0).reshape(2, 3) / 4, "h": 1e-4}, "x (2, 3)"),
    ]
    mistakes = [
        Mistake(
            "forward",
            "you used a forward difference, error O(h); use the centred "
            "difference (f(x + h) - f(x - h)) / (2h)",
            variant=forward,
        )
    ]

    def check(student, hidden=False):
        check_against_reference(
            student,
            reference,
            cases,
            name="numerical_gradient",
            what="the gradient",
            rtol=1e-8,
            atol=1e-10,
            mistakes=mistakes,
            hidden=hidden,
        )

    check(reference)
    with pytest.raises(GradingError, match="forward difference") as info:
        check(forward)
    assert "expected:" in str(info.value)
    with pytest.raises(GradingError, match=r"^numerical_gradient \(hidden test\): you used a fo"):
        check(forward, hidden=True)
    with pytest.raises(GradingError, match=r"has the wrong shape \(3, 1\) for this input$"):
        check(lambda f, x, h: reference(f, x, h).reshape(-1, 1), hidden=True)
    with pytest.raises(GradingError, match="differs from the correct one"):
        check(lambda f, x, h: 2 * reference(f, x, h))

    def mutating(f, x, h):
        grad = reference(f, x, h)
        x[...] = 0.0  # overwrites the caller's array
        return grad

    with pytest.raises(GradingError, match="modified its argument `x` in place"):
        check(mutating)

    # a (value, gradient) pair: compare the gradient only
    def pair(f, x, h):
        return f(x), reference(f, x, h)

    check_against_reference(
        pair, pair, cases, name="value_and_grad", what="the gradient", extract=lambda out: out[1]
    )
    with pytest.raises(GradingError, match="the gradient could not be read from what it ret"):
        check_against_reference(
            lambda f, x, h: f(x),
            pair,
            cases,
            name="value_and_grad",
            what="the gradient",
            extract=lambda out: out[1],
        )


def test_grading_error_displays_as_its_message_alone():
    err = GradingError("f: wrong")
    assert err._render_traceback_() == ["\x1b[0;31mGradingError\x1b[0m: f: wrong"]
    assert isinstance(err, AssertionError)


# --------------------------------------------------------------------------------------------
# The configuration
# --------------------------------------------------------------------------------------------
def load_config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()


def test_config_layout_timeout_and_feedback_preprocessors():
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    cfg = load_config()
    assert cfg.CourseDirectory.source_directory == "solutions"
    assert cfg.CourseDirectory.release_directory == "exercises"
    assert cfg.Execute.timeout == 60
    assert cfg.OverwriteCells.add_missing_cells is True
    pre = cfg.GenerateFeedback.preprocessors
    assert [p.__name__ for p in pre] == [
        "GetGrades",
        "SanitizeFeedback",
        "CSSHTMLHeaderPreprocessor",
    ]
    assert pre[0] is GetGrades and pre[2] is CSSHTMLHeaderPreprocessor
    ignored = (REPO / ".gitignore").read_text().split()
    assert {"submitted/", "autograded/", "feedback/", "gradebook.db"} <= set(ignored)


def test_feedback_sanitizer_removes_hidden_tests_their_output_and_mark_schemes():
    sanitize = load_config().GenerateFeedback.preprocessors[1]()
    new = nbformat.v4
    hidden = new.new_code_cell(
        "check(f)\n### BEGIN HIDDEN TESTS\nassert f(3) == 9, f(3)\n### END HIDDEN TESTS",
        metadata={
            "nbgrader": {
                "grade": True,
                "solution": False,
                "locked": True,
                "grade_id": "t",
                "points": 1,
                "schema_version": 3,
            }
        },
    )
    hidden.outputs = [
        new.new_output("stream", name="stdout", text="expected 9\n"),
        new.new_output(
            "error",
            ename="AssertionError",
            evalue="8",
            traceback=["Cell In[3], line 3", "----> 3 assert f(3) == 9, f(3)", "AssertionError: 8"],
        ),
    ]
    visible = new.new_code_cell("check(f)")
    visible.outputs = [new.new_output("stream", name="stdout", text="hello\n")]
    task = new.new_markdown_cell(
        "Explain.\n=== BEGIN MARK SCHEME ===\n1 point for the cone\n=== END MARK SCHEME ===",
        metadata={
            "nbgrader": {
                "task": True,
                "grade": False,
                "solution": False,
                "locked": True,
                "grade_id": "w",
                "points": 1,
                "schema_version": 3,
            }
        },
    )
    nb, _ = sanitize.preprocess(new.new_notebook(cells=[hidden, visible, task]), {})
    assert nb.cells[0].source == "check(f)"
    assert [o.output_type for o in nb.cells[0].outputs] == ["error"]
    assert nb.cells[0].outputs[0].traceback == ["\x1b[0;31mAssertionError\x1b[0m: 8"]
    assert nb.cells[1].outputs[0].text == "hello\n"
    assert nb.cells[2].source == "Explain."


# --------------------------------------------------------------------------------------------
# The real pipeline
# --------------------------------------------------------------------------------------------
LOOP_IN_FUNCTION = """
def local_random_search(f, x0, step_size, n_evals, rng):
    x = np.array(x0, dtype=float)
    fx = f(x)
    k = 1
    while k < n_evals:  # k is never increased
        y = x + step_size * rng.standard_normal(x.size)
        fy = f(y)
        if fy < fx:
            x, fx = y, fy
"""

LOOP_AT_TOP_LEVEL = """
evals = []
d = 1
while d <= 32:  # d is never doubled
    x0 = np.ones(d) / math.sqrt(d)
    res = reference_local_search(sphere, x0, STEP_LENGTH / math.sqrt(d), N_EVALS,
                                 rng=np.random.default_rng(0))
    evals.append(evaluations_to_target(res.best_so_far, TARGET))
"""


class TestPipeline(AssignmentPipeline):
    """ps01 through nbgrader: a dozen submissions, two of them from an LMS export."""

    assignment = PS
    students = {
        "solution": Student(lms_file="solution_LATE_1001_2002_ps01-1.ipynb"),
        "released": Student(released=True, lost=set(points())),
        "accepts_worse": Student(
            with_mistakes("local_accepts_worse"),
            lost={"test_local_search_moves"},
            lms_file="accepts_worse_1003_2004_ps01.ipynb",
        ),
        "best_so_far_is_values": Student(
            with_mistakes("global_best_so_far_is_values"), lost={"test_global_search_result"}
        ),
        "uses_np_random": Student(
            with_mistakes("global_uses_np_random"), lost={"test_global_search_sampling"}
        ),
        "several_mistakes": Student(
            with_mistakes("local_off_by_one", "e2t_zero_based", "global_ignores_bounds"),
            lost={
                "test_local_search_result",
                "test_evaluations_to_target",
                "test_global_search_sampling",
            },
        ),
        "step_over_d": Student(
            with_mistakes("experiment_step_over_d"), lost={"test_experiment_result"}
        ),
        "raises_at_import": Student(
            {
                "global_random_search": "import seaborn as sns\n"
                + solutions()["global_random_search"]
            },
            lost={"test_global_search_result", "test_global_search_sampling"},
        ),
        "loops_in_function": Student(
            {"local_random_search": LOOP_IN_FUNCTION},
            lost={"test_local_search_result", "test_local_search_moves"},
        ),
        "loops_at_top_level": Student(
            {"experiment": LOOP_AT_TOP_LEVEL}, lost={"test_experiment_result"}
        ),
        "deleted_test_cell": Student(delete=["test_local_search_moves"]),
        "edited_test_cell": Student(
            with_mistakes("local_accepts_worse"),
            replace={"test_local_search_moves": "# I am sure\npass"},
            lost={"test_local_search_moves"},
        ),
    }
    feedback_messages = [
        (student, MISTAKES[mistake][3])
        for student, mistake in [
            ("accepts_worse", "local_accepts_worse"),
            ("best_so_far_is_values", "global_best_so_far_is_values"),
            ("uses_np_random", "global_uses_np_random"),
            ("step_over_d", "experiment_step_over_d"),
            ("several_mistakes", "local_off_by_one"),
            ("several_mistakes", "e2t_zero_based"),
            ("several_mistakes", "global_ignores_bounds"),
        ]
    ] + [
        ("loops_in_function", "did not return within 2 s"),
        ("raises_at_import", "ModuleNotFoundError"),
    ]

    released_without_stub = 1  # the experiment's test finds no results
    validate = broken_notebooks = workflow = True  # for the whole course: see AssignmentPipeline
    hidden_failure = ("step_over_d", "test_experiment_result")
