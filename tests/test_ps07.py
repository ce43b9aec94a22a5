"""Problem set 7 (adaptive methods): its checkers, and the assignment through the real nbgrader.

The first part runs the notebook's test cells in-process against the solution and against
typical wrong submissions (fast), tries the checkers on many seeds against other correct
implementations (no false failures) and against wrong functions (the right diagnosis), and
checks that the experiment's numbers are what the mark scheme quotes. The second part
(``TestPipeline``, the standard tests of ``nbgrader_course.AssignmentPipeline``) grades a small
corpus of submissions with the real nbgrader and with ``python -m course_lib.autograde``.
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
from course_lib.grading import adaptive as checks

matplotlib.use("Agg")

PS = "ps07"
ADAGRAD_FORM, ADAGRAD = "test_adagrad_contract", "test_adagrad_values"
RMSPROP_FORM, RMSPROP = "test_rmsprop_contract", "test_rmsprop_values"
ADAM_FORM, ADAM = "test_adam_contract", "test_adam_values"
ADAMW_FORM, ADAMW = "test_adamw_contract", "test_adamw_values"
RATIO, PREDICTION = "test_bias_ratio", "test_bias_prediction"

ADAM_CORRECTION = "m_hat = m / (1 - beta1**t)\n    v_hat = v / (1 - beta2**t)"
ADAM_UPDATE = "w_new = w - lr * m_hat / (np.sqrt(v_hat) + eps)"
IN_ADAMW = "in the Adam step: "


def _adam_and_adamw(message: str) -> dict:
    """The message of a mistake in adam_step, which the solution's adamw_step calls."""
    return {ADAM: message, ADAMW: IN_ADAMW + message}


# A typical mistake = (answer cell, [(solution text, replacement), ...], what the feedback must
# say (or {test cell: text}), the test cells that must lose their points).
MISTAKES = {
    "adagrad_eps_inside": (
        "adagrad_step",
        [("np.sqrt(s) + eps", "np.sqrt(s + eps)")],
        "you add eps inside the square root",
        {ADAGRAD},
    ),
    "adagrad_decays": (
        "adagrad_step",
        [('s = state["sum"] + g * g', 's = 0.9 * state["sum"] + 0.1 * g * g')],
        "your sum of squared gradients decays",
        {ADAGRAD},
    ),
    "adagrad_state_in_place": (  # right values, but the caller's state changes
        "adagrad_step",
        [('s = state["sum"] + g * g', 's = state["sum"]\n    s += g * g')],
        "changed the state dict it was given",
        {ADAGRAD_FORM},
    ),
    "rmsprop_alpha_swapped": (
        "rmsprop_step",
        [('alpha * state["v"] + (1 - alpha) * g * g', '(1 - alpha) * state["v"] + alpha * g * g')],
        "the weights of your moving average are swapped",
        {RMSPROP},
    ),
    "rmsprop_no_decay": (
        "rmsprop_step",
        [('v = alpha * state["v"] + (1 - alpha) * g * g', 'v = state["v"] + g * g')],
        "your v is a growing sum of squared gradients",
        {RMSPROP},
    ),
    "rmsprop_eps_inside": (
        "rmsprop_step",
        [("np.sqrt(v) + eps", "np.sqrt(v + eps)")],
        "you add eps inside the square root",
        {RMSPROP},
    ),
    "adam_no_correction": (
        "adam_step",
        [(ADAM_CORRECTION, "m_hat = m\n    v_hat = v")],
        _adam_and_adamw("your steps are those of Adam without bias correction"),
        {ADAM, ADAMW},
    ),
    "adam_t_minus_one": (
        "adam_step",
        [("beta1**t)", "beta1 ** (t - 1))"), ("beta2**t)", "beta2 ** (t - 1))")],
        _adam_and_adamw("your bias correction uses t - 1"),
        {ADAM, ADAMW},
    ),
    "adam_t_from_zero": (
        "adam_step",
        [("beta1**t)", "beta1 ** (t + 1))"), ("beta2**t)", "beta2 ** (t + 1))")],
        _adam_and_adamw("your bias correction uses t + 1"),
        {ADAM, ADAMW},
    ),
    "adam_betas_swapped": (
        "adam_step",
        [("beta1, beta2 = betas", "beta2, beta1 = betas")],
        _adam_and_adamw("beta1 and beta2 are swapped"),
        {ADAM, ADAMW},
    ),
    "adam_eps_inside": (
        "adam_step",
        [("np.sqrt(v_hat) + eps", "np.sqrt(v_hat + eps)")],
        _adam_and_adamw("you add eps inside the square root"),
        {ADAM, ADAMW},
    ),
    "adam_state_in_place": (  # adamw_step hands adam_step its caller's state
        "adam_step",
        [
            (
                'return w_new, {"m": m, "v": v}',
                'state["m"], state["v"] = m, v\n    return w_new, state',
            )
        ],
        "changed the state dict it was given",
        {ADAM_FORM, ADAMW_FORM},
    ),
    "adam_w_in_place": (  # adamw_step hands adam_step a new array: only adam_step's form
        "adam_step",
        [(ADAM_UPDATE, "w_new = w\n    w_new -= lr * m_hat / (np.sqrt(v_hat) + eps)")],
        "modified its argument `w` in place",
        {ADAM_FORM},
    ),
    "adam_integer_w": (
        "adam_step",
        [
            (
                ADAM_UPDATE,
                "w_new = np.zeros_like(w)\n    w_new[...] = w - lr * m_hat / (np.sqrt(v_hat) + eps)",  # noqa: E501
            )
        ],
        "the new w holds integers",
        {ADAM_FORM},
    ),
    "adamw_l2": (
        "adamw_step",
        [("adam_step(w * (1 - lr * weight_decay), g,", "adam_step(w, g + weight_decay * w,")],
        "you add weight_decay * w to the gradient",
        {ADAMW},
    ),
    "adamw_decay_without_lr": (
        "adamw_step",
        [("w * (1 - lr * weight_decay)", "w * (1 - weight_decay)")],
        "your decay is not multiplied by the learning rate",
        {ADAMW},
    ),
    "ratio_inverted": (
        "experiment",
        [("ratio = lengths[0] / lengths[1]", "ratio = lengths[1] / lengths[0]")],
        "your ratio is inverted",
        {RATIO},
    ),
    "ratio_of_positions": (
        "experiment",
        [("np.linalg.norm(np.diff(path, axis=0), axis=1)", "np.linalg.norm(path[1:], axis=1)")],
        "you divided the lengths of the points",
        {RATIO},
    ),
    "ratio_with_start": (  # STEPS + 1 entries
        "experiment",
        [("np.linalg.norm(np.diff(path, axis=0), axis=1)", "np.linalg.norm(path, axis=1)")],
        "ratio (one number per step, STEPS in all) has shape (201,), expected (200,)",
        {RATIO},
    ),
    "prediction_t_from_zero": (
        "experiment",
        [("np.arange(1, STEPS + 1)", "np.arange(STEPS)")],
        "your t starts at 0",
        {PREDICTION},
    ),
    "prediction_no_sqrt": (
        "experiment",
        [("np.sqrt(1 - beta2**t)", "(1 - beta2**t)")],
        "you divide by 1 - beta2**t itself",
        {PREDICTION},
    ),
}

_source = SourceNotebook(PS, MISTAKES)
source_nb, solutions = _source.notebook, _source.solutions
with_mistakes, points = _source.with_mistakes, _source.points


# --------------------------------------------------------------------------------------------
# The checkers, in-process
# --------------------------------------------------------------------------------------------
def test_the_points_add_up_to_the_table():
    _source.assert_points(11, written=3)  # 14 in all


# Other correct implementations: none may fail, on any seed.
ALTERNATIVES = {
    "adagrad_step": [
        """
def adagrad_step(w, g, state, t, lr=1e-2, eps=1e-10):
    new = dict(state)
    new["sum"] = np.add(state["sum"], np.square(g))
    return np.subtract(w, lr * np.divide(g, np.sqrt(new["sum"]) + eps)), new
""",
        """
def adagrad_step(w, g, state, t, lr=1e-2, eps=1e-10):
    w = np.array(w, dtype=float)          # a copy: updating it in place is safe
    s = state["sum"].copy()
    s += g**2
    w -= lr * g / (s**0.5 + eps)
    return w, {"sum": s}
""",
    ],
    "rmsprop_step": [
        """
def rmsprop_step(w, g, state, t, lr=1e-2, alpha=0.99, eps=1e-8):
    v = state["v"] + (1 - alpha) * (g * g - state["v"])   # the same average, as a lerp
    return w - lr * g / (np.sqrt(v) + eps), {**state, "v": v}
""",
    ],
    "adam_step": [
        """
def adam_step(w, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas                        # as torch.optim.Adam writes it
    m = state["m"] + (1 - b1) * (g - state["m"])
    v = state["v"] * b2 + (1 - b2) * g * g
    step_size = lr / (1 - b1**t)
    denom = np.sqrt(v) / np.sqrt(1 - b2**t) + eps
    return w - step_size * m / denom, {"m": m, "v": v}
""",
        """
def adam_step(w, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    new = {key: value.copy() for key, value in state.items()}
    new["m"] *= betas[0]
    new["m"] += (1 - betas[0]) * g
    new["v"] *= betas[1]
    new["v"] += (1 - betas[1]) * np.square(g)
    m_hat = new["m"] / (1 - betas[0] ** t)
    v_hat = new["v"] / (1 - betas[1] ** t)
    return w.astype(float) - lr * m_hat / (np.sqrt(v_hat) + eps), new
""",
    ],
    "adamw_step": [
        """
def adamw_step(w, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    beta1, beta2 = betas                  # written out, without adam_step
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    w_new = w - lr * weight_decay * w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w_new, {"m": m, "v": v}
""",
    ],
}


for _gid, _code in _source.alternative_answers().items():
    if _gid in ALTERNATIVES:
        ALTERNATIVES[_gid].append(_code)

# Wrong functions beyond the notebook edits above: name -> ({answer cell: code},
# {test cell: what its message must say, or None if the function must pass it}).
WRONG = {
    "adam_one_second_moment": (  # np.sum(g**2): one v for all coordinates
        {
            "adam_step": """
def adam_step(w, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * np.sum(g**2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v}
"""
        },
        {ADAM_FORM: None, ADAM: "your v is one number for all coordinates"},
    ),
    "adam_corrects_only_m": (
        {
            "adam_step": """
def adam_step(w, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    return w - lr * m / (1 - beta1**t) / (np.sqrt(v) + eps), {"m": m, "v": v}
"""
        },
        {ADAM_FORM: None, ADAM: "you correct m but not v"},
    ),
    "adam_counts_its_own_steps": (  # ignores t: a counter of its own
        {
            "adam_step": """
CALLS = [0]

def adam_step(w, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    CALLS[0] += 1
    beta1, beta2 = betas
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1 ** CALLS[0]), v / (1 - beta2 ** CALLS[0])
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v}
"""
        },
        {ADAM_FORM: None, ADAM: "differs from course_lib.optim.Adam: the first difference is"},
    ),
    "adam_stores_corrected_moments": (
        {
            "adam_step": """
def adam_step(w, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    m, v = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m / (np.sqrt(v) + eps), {"m": m, "v": v}
"""
        },
        {ADAM_FORM: None, ADAM: "you store the bias-corrected m_hat and v_hat in the state"},
    ),
    "adagrad_state_key": (  # the wrong name for the state's entry
        {
            "adagrad_step": """
def adagrad_step(w, g, state, t, lr=1e-2, eps=1e-10):
    s = state["s"] + g**2
    return w - lr * g / (np.sqrt(s) + eps), {"s": s}
"""
        },
        {
            ADAGRAD_FORM: "the state is a dict with the entries {'sum': sum}",
            ADAGRAD: "the state is a dict with the entries {'sum': sum}",
        },
    ),
    "adam_flattens_w": (  # the values are right: only the form loses its point
        {
            "adam_step": """
def adam_step(w, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return (w - lr * m_hat / (np.sqrt(v_hat) + eps)).ravel(), {"m": m, "v": v}
"""
        },
        {ADAM_FORM: "do not flatten, transpose or stack it", ADAM: None},
    ),
    "adagrad_no_sqrt": (
        {
            "adagrad_step": """
def adagrad_step(w, g, state, t, lr=1e-2, eps=1e-10):
    s = state["sum"] + g**2
    return w - lr * g / (s + eps), {"sum": s}
"""
        },
        {ADAGRAD_FORM: None, ADAGRAD: "you divide by sum itself instead of its square root"},
    ),
    "adagrad_returns_a_tuple": (
        {
            "adagrad_step": """
def adagrad_step(w, g, state, t, lr=1e-2, eps=1e-10):
    s = state["sum"] + g**2
    return w - lr * g / (np.sqrt(s) + eps), s
"""
        },
        {ADAGRAD_FORM: "the state must be a dict", ADAGRAD: "the state must be a dict"},
    ),
    "rmsprop_bias_corrected": (
        {
            "rmsprop_step": """
def rmsprop_step(w, g, state, t, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * state["v"] + (1 - alpha) * g**2
    return w - lr * g / (np.sqrt(v / (1 - alpha**t)) + eps), {"v": v}
"""
        },
        {RMSPROP_FORM: None, RMSPROP: "you divide v by 1 - alpha**t"},
    ),
    "adamw_decays_after_the_step": (
        {
            "adamw_step": """
def adamw_step(w, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    w_new, new_state = adam_step(w, g, state, t, lr, betas, eps)
    return w_new - lr * weight_decay * w_new, new_state
"""
        },
        {ADAMW_FORM: None, ADAMW: "you apply the decay to the weights after the Adam step"},
    ),
    "adam_ignores_betas": (  # right with the defaults: only the hidden tests see it
        {
            "adam_step": """
def adam_step(w, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    m = 0.9 * state["m"] + 0.1 * g
    v = 0.999 * state["v"] + 0.001 * g**2
    m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v}
"""
        },
        {ADAM: "check how you compute state['m']"},
    ),
}


class TestChecks(AssignmentChecks):
    """The standard in-process tests of ps07's checkers, driven by the tables above."""

    assignment = PS
    mistakes = MISTAKES
    wrong = WRONG
    wrong_seeds = [(seed, seed > 0) for seed in range(1, 6)]
    alternatives = ALTERNATIVES
    alternative_seeds = [(0, False)] + [(seed, True) for seed in range(1, 20)]
    hidden_probes = [
        "adagrad_decays",
        "adagrad_state_in_place",
        "rmsprop_alpha_swapped",
        "adam_no_correction",
        "adam_t_minus_one",
        "adam_integer_w",
        "adamw_l2",
        "adam_one_second_moment",
        "adam_counts_its_own_steps",
        "adagrad_returns_a_tuple",
        "adam_stores_corrected_moments",
    ]
    quiet_function = "adam_step"


def test_the_visible_tests_see_every_typical_mistake_but_ignored_hyperparameters():
    """With the defaults, ignoring betas is right: the visible test passes, a hidden one not."""
    ns = TestChecks.defined(WRONG["adam_ignores_betas"][0])
    checks.check_adam_values(ns["adam_step"])
    with pytest.raises(GradingError, match=r"^adam_step \(hidden test\): differs from"):
        checks.check_adam_values(ns["adam_step"], seed=2236, hidden=True)


def test_a_mistake_is_named_only_if_it_explains_every_case():
    """No bias correction on the 1-D case only: no mistake is named, the first difference is."""
    ns = TestChecks.defined({})
    right, wrong = ns["adam_step"], checks._adam_wrong("no_correction")

    def sometimes(w, g, state, t, lr, betas, eps):
        step = wrong if np.shape(w) == (1,) else right
        return step(w, g, state, t, lr, betas, eps)

    with pytest.raises(GradingError) as info:
        checks.check_adam_values(wrong)
    assert "without bias correction" in str(info.value)
    with pytest.raises(GradingError) as info:
        checks.check_adam_values(sometimes)
    text = str(info.value)
    assert "without bias correction" not in text
    assert "the first difference is in w[0] after step 1 of this run (t = 1)" in text


def test_visible_values_messages_show_the_step_and_the_case():
    ns = TestChecks.defined(with_mistakes("adam_eps_inside"))
    with pytest.raises(GradingError) as info:
        checks.check_adam_values(ns["adam_step"])
    text = str(info.value)
    assert "test case: " in text and "after step 1: expected w = " in text


def test_the_mark_scheme_quotes_the_experiment():
    """The numbers the mark scheme quotes are what the experiment gives."""
    ratio, predicted = checks.bias_experiment(
        10, np.pi / 6, (1.0, -0.5), (-2.0, 1.5), 1e-3, (0.9, 0.999), 200
    )
    assert round(ratio[0], 3) == 3.162 and round(predicted[0], 3) == 3.162
    assert int(np.argmax(ratio)) + 1 == 12 and round(ratio.max(), 2) == 6.55
    assert round(predicted.max(), 2) == 6.57 and round(ratio[-1], 1) == 2.1
    assert round(predicted[-1], 2) == 2.35
    scheme = next(c for c in source_nb().cells if nbgrader_meta(c).get("task")).source
    for quoted in ("3.162", "6.55", "6.57", "2.35", "$t = 12$"):
        assert quoted in scheme


def test_the_uncorrected_first_step_is_larger_and_points_the_same_way():
    """AdamNoBiasCorrection's first step: (1 - beta1) / sqrt(1 - beta2) = 3.16 times Adam's,
    along the same direction (-sign(g) per coordinate)."""
    from course_lib.optim import Adam, AdamNoBiasCorrection

    w, g = np.array([0.5, -1.0, 2.0]), np.array([0.3, -4.0, 0.02])
    steps = [opt.step(w, g, opt.init(w))[0] - w for opt in (Adam(), AdamNoBiasCorrection())]
    assert np.allclose(steps[1] / steps[0], 0.1 / np.sqrt(0.001), rtol=1e-4)  # eps aside
    assert np.array_equal(np.sign(steps[0]), -np.sign(g))


# --------------------------------------------------------------------------------------------
# The real pipeline
# --------------------------------------------------------------------------------------------
class TestPipeline(AssignmentPipeline):
    """ps07 through nbgrader: the solution (from an LMS export), the released notebook, the
    second correct solution and three wrong submissions."""

    assignment = PS
    students = {
        "solution": Student(lms_file="solution_LATE_1001_2002_ps07-1.ipynb"),
        "released": Student(released=True, lost=set(points())),
        "alternative": Student(_source.alternative_answers()),
        "eps_inside": Student(with_mistakes("adam_eps_inside"), lost={ADAM, ADAMW}),
        "several_mistakes": Student(
            with_mistakes(
                "adagrad_decays",
                "rmsprop_alpha_swapped",
                "adam_state_in_place",
                "adamw_l2",
                "prediction_no_sqrt",
            ),
            lost={ADAGRAD, RMSPROP, ADAM_FORM, ADAMW_FORM, ADAMW, PREDICTION},
        ),
        "ignores_betas": Student(WRONG["adam_ignores_betas"][0], lost={ADAM, ADAMW}),
    }
    feedback_messages = [
        ("eps_inside", "you add eps inside the square root"),
        ("several_mistakes", "changed the state dict it was given"),
        ("several_mistakes", "your sum of squared gradients decays"),
        ("several_mistakes", "the weights of your moving average are swapped"),
        ("several_mistakes", "you add weight_decay * w to the gradient"),
        ("several_mistakes", "you divide by 1 - beta2**t itself"),
    ]
    released_without_stub = 2  # the experiment's tests find no results
    hidden_failure = ("ignores_betas", ADAM)
