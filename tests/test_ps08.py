"""Problem set 8 (learning-rate schedules): its checkers, and the assignment through the real
nbgrader.

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
from course_lib.grading import schedules as checks

matplotlib.use("Agg")

PS = "ps08"
STEP, EXP, INV = "test_step_decay", "test_exponential_decay", "test_inverse_time_decay"
COS, WARM, WARM_COS = "test_cosine_annealing", "test_warmup_phase", "test_warmup_cosine_phase"
PFORM, PMIN, POPT = "test_plateau_form", "test_plateau_min", "test_plateau_options"
FLOOR, FINAL = "test_noise_floor", "test_final_losses"

COSINE = "eta_min + (lr0 - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2"
RAMP = "lr0 * (start_factor + (1 - start_factor) * t / warmup_steps)"
REDUCE = "self.lr = max(self.lr * self.factor, self.min_lr)"
FINAL_MEAN = "np.mean([r.losses[-WINDOW:] for r in runs])"


def _in_cosine_and_after_warmup(message: str) -> dict:
    """A slip in cosine_annealing, which the solution's warmup_cosine calls."""
    return {COS: message, WARM_COS: "after the warm-up, " + message}


# A typical mistake = (answer cell, [(solution text, replacement), ...], what the feedback must
# say (or {test cell: text}), the test cells that must lose their points).
MISTAKES = {
    "step_every_step": (
        "step_decay",
        [("gamma ** (t // step_size)", "gamma**t")],
        "you multiply by gamma at every step",
        {STEP},
    ),
    "step_smooth": (
        "step_decay",
        [("t // step_size", "t / step_size")],
        "your decay is smooth",
        {STEP},
    ),
    "step_ahead": (
        "step_decay",
        [("(t // step_size)", "((t + 1) // step_size)")],
        "your learning rates are one step ahead",
        {STEP},
    ),
    "exp_ahead": (
        "exponential_decay",
        [("gamma**t", "gamma ** (t + 1)")],
        "your learning rates are one step ahead",
        {EXP},
    ),
    "exp_behind": (
        "exponential_decay",
        [("gamma**t", "gamma ** (t - 1)")],
        "your learning rates are one step late",
        {EXP},
    ),
    "exp_of_gamma": (
        "exponential_decay",
        [("lr0 * gamma**t", "lr0 * math.exp(-gamma * t)")],
        "you computed lr0 * exp(-gamma * t)",
        {EXP},
    ),
    "inv_staircase": (
        "inverse_time_decay",
        [("t / decay_steps", "(t // decay_steps)")],
        "your decay goes in stairs",
        {INV},
    ),
    "inv_no_decay_steps": (
        "inverse_time_decay",
        [("decay_rate * t / decay_steps", "decay_rate * t")],
        "t must be divided by decay_steps",
        {INV},
    ),
    "cos_no_eta_min": (
        "cosine_annealing",
        [(COSINE, "lr0 * (1 + math.cos(math.pi * t / T_max)) / 2")],
        _in_cosine_and_after_warmup("your cosine never reaches eta_min"),
        {COS, WARM_COS},
    ),
    "cos_period_plus_one": (
        "cosine_annealing",
        [("t / T_max", "t / (T_max + 1)")],
        _in_cosine_and_after_warmup("your cosine reaches eta_min one step late"),
        {COS, WARM_COS},
    ),
    "cos_full_period": (
        "cosine_annealing",
        [("math.pi * t", "2 * math.pi * t")],
        _in_cosine_and_after_warmup("your cosine makes a full period"),
        {COS, WARM_COS},
    ),
    "warmup_at_peak": (
        "warmup_cosine",
        [(RAMP, "lr0")],
        "your warm-up starts at the peak",
        {WARM},
    ),
    "warmup_from_zero": (
        "warmup_cosine",
        [(RAMP, "lr0 * t / warmup_steps")],
        "your warm-up starts from 0 and ignores start_factor",
        {WARM},
    ),
    "warmup_ends_late": (
        "warmup_cosine",
        [
            ("t < warmup_steps", "t < warmup_steps + 1"),
            ("t / warmup_steps", "t / (warmup_steps + 1)"),
            ("t - warmup_steps,", "t - warmup_steps - 1,"),
        ],
        "your warm-up ends one step late",
        {WARM, WARM_COS},
    ),
    "warmup_clock": (
        "warmup_cosine",
        [("cosine_annealing(t - warmup_steps,", "cosine_annealing(t,")],
        "continues from t instead of starting again at 0",
        {WARM_COS},
    ),
    "plateau_no_patience": (
        "PlateauScheduler",
        [("self.num_bad_epochs > self.patience", "self.num_bad_epochs > 0")],
        "you reduce the learning rate at the first epoch without improvement",
        {PMIN, POPT},
    ),
    "plateau_patience_off_by_one": (
        "PlateauScheduler",
        [("self.num_bad_epochs > self.patience", "self.num_bad_epochs >= self.patience")],
        "you reduce after `patience` bad epochs",
        {PMIN, POPT},
    ),
    "plateau_modes_swapped": (
        "PlateauScheduler",
        [
            ('self.mode == "min"', 'self.mode == "max"'),
            ('mode == "min" else', 'mode == "max" else'),
        ],
        "your modes 'min' and 'max' are swapped",
        {PMIN, POPT},
    ),
    "plateau_always_rel": (
        "PlateauScheduler",
        [("= threshold, threshold_mode", '= threshold, "rel"')],
        "you always use a relative threshold",
        {POPT},
    ),
    "plateau_no_cooldown": (
        "PlateauScheduler",
        [
            (
                "self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0",
                "self.num_bad_epochs = 0",
            )
        ],
        "you ignore the cooldown",
        {POPT},
    ),
    "plateau_no_min_lr": (
        "PlateauScheduler",
        [(REDUCE, "self.lr = self.lr * self.factor")],
        "your learning rate goes below min_lr",
        {POPT},
    ),
    "floor_approximation": (
        "experiment",
        [("np.sum(LR * NOISE**2 / (2 * (2 - LR * bowl.eigenvalues)))", "2 * LR * NOISE**2 / 4")],
        "you used the small-step approximation",
        {FLOOR},
    ),
    "floor_noise_not_squared": (
        "experiment",
        [("LR * NOISE**2 /", "LR * NOISE /")],
        "the floor grows with the variance of the noise",
        {FLOOR},
    ),
    "final_last_loss": (
        "experiment",
        [("r.losses[-WINDOW:]", "r.losses[-1]")],
        "you took the loss of the last iterate only",
        {FINAL},
    ),
    "final_median": (
        "experiment",
        [(FINAL_MEAN, "np.median([np.mean(r.losses[-WINDOW:]) for r in runs])")],
        "you took the median over the seeds",
        {FINAL},
    ),
    "final_seeds_from_one": (
        "experiment",
        [("range(SEEDS)", "range(1, SEEDS + 1)")],
        "your seeds are 1 .. SEEDS",
        {FINAL},
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
    "step_decay": [
        """
def step_decay(t, lr0, step_size, gamma):
    return lr0 * gamma ** math.floor(t / step_size)
""",
    ],
    "cosine_annealing": [
        """
def cosine_annealing(t, lr0, T_max, eta_min=0.0):
    return np.float64(eta_min) + (lr0 - eta_min) * 0.5 * (1.0 + np.cos(t * np.pi / T_max))
""",
    ],
    "PlateauScheduler": [
        """
class PlateauScheduler:
    def __init__(self, lr, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0):
        self.lr, self.mode, self.factor, self.patience = lr, mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.min_lr = cooldown, min_lr
        self.best, self.bad, self.cool = None, 0, 0

    def step(self, metric):
        if self.best is None:
            better = True
        elif self.threshold_mode == "abs":
            margin = self.threshold
            better = (metric < self.best - margin) if self.mode == "min" else (
                metric > self.best + margin)
        else:
            better = (metric < self.best * (1 - self.threshold)) if self.mode == "min" else (
                metric > self.best * (1 + self.threshold))
        self.best, self.bad = (metric, 0) if better else (self.best, self.bad + 1)
        if self.cool > 0:
            self.cool -= 1
            self.bad = 0
        if self.bad > self.patience:
            self.lr = max(self.lr * self.factor, self.min_lr)
            self.cool, self.bad = self.cooldown, 0
        return self.lr
""",
    ],
}

for _gid, _code in _source.alternative_answers().items():
    if _gid in ALTERNATIVES or _gid != "experiment":
        ALTERNATIVES.setdefault(_gid, []).append(_code)

# Wrong functions beyond the notebook edits above: name -> ({answer cell: code},
# {test cell: what its message must say, or None if the function must pass it}).
WRONG = {
    "warmup_integer_division": (  # the ramp stays at start_factor: no slip explains it
        {
            "warmup_cosine": """
def warmup_cosine(t, lr0, warmup_steps, T_max, eta_min=0.0, start_factor=1 / 3):
    if t < warmup_steps:
        return lr0 * (start_factor + (1 - start_factor) * (t // warmup_steps))
    return cosine_annealing(t - warmup_steps, lr0, T_max, eta_min)
"""
        },
        {
            WARM: "differ from those of the warm-up of PyTorch's LinearLR; the first difference "
            "is at t = 1",
            WARM_COS: None,
        },
    ),
    "cosine_total_length": (  # T_max read as the length of the whole schedule
        {
            "warmup_cosine": """
def warmup_cosine(t, lr0, warmup_steps, T_max, eta_min=0.0, start_factor=1 / 3):
    if t < warmup_steps:
        return lr0 * (start_factor + (1 - start_factor) * t / warmup_steps)
    return cosine_annealing(t - warmup_steps, lr0, T_max - warmup_steps, eta_min)
"""
        },
        {WARM: None, WARM_COS: "your cosine lasts T_max - warmup_steps steps"},
    ),
    "plateau_lr_not_stored": (  # returns the new rate but never keeps it
        {
            "PlateauScheduler": """
class PlateauScheduler:
    def __init__(self, lr, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0):
        self.lr, self.mode, self.factor, self.patience = lr, mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.min_lr = cooldown, min_lr
        self.best = math.inf if mode == "min" else -math.inf
        self.bad = self.cool = 0
        self.current = lr

    def step(self, metric):
        sign = 1 if self.mode == "min" else -1
        if self.threshold_mode == "rel":
            better = sign * metric < sign * self.best * (1 - sign * self.threshold)
        else:
            better = sign * metric < sign * self.best - self.threshold
        self.best, self.bad = (metric, 0) if better else (self.best, self.bad + 1)
        if self.cool > 0:
            self.cool, self.bad = self.cool - 1, 0
        if self.bad > self.patience:
            self.current = max(self.current * self.factor, self.min_lr)
            self.cool, self.bad = self.cooldown, 0
        return self.current
"""
        },
        {PFORM: ".lr is not the learning rate that step returned", PMIN: None, POPT: None},
    ),
    "plateau_global_state": (  # the counters live in the class, shared by every scheduler
        {
            "PlateauScheduler": """
class PlateauScheduler:
    best, bad = math.inf, 0

    def __init__(self, lr, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0):
        self.lr, self.factor, self.patience, self.min_lr = lr, factor, patience, min_lr
        self.threshold = threshold

    def step(self, metric):
        if metric < PlateauScheduler.best * (1 - self.threshold):
            PlateauScheduler.best, PlateauScheduler.bad = metric, 0
        else:
            PlateauScheduler.bad += 1
        if PlateauScheduler.bad > self.patience:
            self.lr = max(self.lr * self.factor, self.min_lr)
            PlateauScheduler.bad = 0
        return self.lr
"""
        },
        {PFORM: "a second PlateauScheduler does not start afresh"},
    ),
    "step_returns_a_list": (  # a list with one float: the learning rates' form is wrong
        {
            "step_decay": """
def step_decay(t, lr0, step_size, gamma):
    return [lr0 * gamma ** (t // step_size)]
"""
        },
        {STEP: "the learning rate at each t has"},
    ),
}


class TestChecks(AssignmentChecks):
    """The standard in-process tests of ps08's checkers, driven by the tables above."""

    assignment = PS
    mistakes = MISTAKES
    wrong = WRONG
    wrong_seeds = [(0, False)] + [(seed, True) for seed in range(1, 6)]
    alternatives = ALTERNATIVES
    alternative_seeds = [(0, False)] + [(seed, True) for seed in range(1, 20)]
    hidden_probes = [
        "step_every_step",
        "exp_behind",
        "inv_staircase",
        "cos_no_eta_min",
        "warmup_ends_late",
        "warmup_clock",
        "plateau_patience_off_by_one",
        "plateau_modes_swapped",
        "plateau_no_cooldown",
        "warmup_integer_division",
        "plateau_lr_not_stored",
    ]
    quiet_function = "step_decay"


def test_a_mistake_is_named_only_if_it_explains_the_case():
    """A cosine that ends at T_max + 1 on one case only, and wrong otherwise on the others:
    the message says where the first difference is, with no slip named."""
    ns = TestChecks.defined({})
    right = ns["cosine_annealing"]

    def odd(t, lr0, T_max, eta_min=0.0):
        return right(t, lr0, T_max, eta_min) * (1.01 if t == 3 else 1.0)

    with pytest.raises(GradingError) as info:
        checks.check_cosine_annealing(odd)
    text = str(info.value)
    assert "differ from those of CosineAnnealingLR; the first difference is at t = 3" in text
    assert "  t:        1, 2, 3, 4, 5" in text


def test_visible_messages_show_the_learning_rates_around_the_first_difference():
    ns = TestChecks.defined(with_mistakes("step_ahead"))
    with pytest.raises(GradingError) as info:
        checks.check_step_decay(ns["step_decay"])
    text = str(info.value)
    assert "test case: lr0=0.1, step_size=3, gamma=0.5, t = 0 .. 11" in text
    assert "  t:        0, 1, 2, 3, 4\n  expected: 0.1, 0.1, 0.1, 0.05, 0.05\n" in text
    assert "  got:      0.1, 0.1, 0.05, 0.05, 0.05" in text


# Skipping a reduction that would go below min_lr (instead of clamping to min_lr): right on
# the visible cases (where min_lr is a multiple of factor * lr), wrong on the hidden ones.
SKIPS_BELOW_MIN_LR = {
    "PlateauScheduler": solutions()["PlateauScheduler"].replace(
        REDUCE,
        "if self.lr * self.factor >= self.min_lr:\n                self.lr = self.lr * self.factor",
    )
}


def test_only_the_hidden_tests_see_a_reduction_skipped_above_min_lr():
    assert SKIPS_BELOW_MIN_LR["PlateauScheduler"] != solutions()["PlateauScheduler"]
    scheduler = TestChecks.defined(SKIPS_BELOW_MIN_LR)["PlateauScheduler"]
    checks.check_plateau_options(scheduler)
    with pytest.raises(GradingError, match=r"^PlateauScheduler \(hidden test\): your learning"):
        checks.check_plateau_options(scheduler, seed=8116, hidden=True)


def test_the_notebook_runs_the_checkers_schedules():
    """The notebook's SCHEDULES are those the checker recomputes the experiment with."""
    ns = TestChecks.defined({})
    settings_cell = next(
        c for c in source_nb().cells if nbgrader_meta(c).get("grade_id") == "experiment_settings"
    )
    exec(settings_cell.source, ns)
    ours = checks.experiment_schedules(ns["LR"], ns["STEPS"])
    assert list(ns["SCHEDULES"]) == list(checks.SCHEDULES) == list(ours)
    assert [repr(s) for s in ns["SCHEDULES"].values()] == [repr(s) for s in ours.values()]


def test_the_mark_scheme_quotes_the_experiment():
    """The numbers the mark scheme quotes are what the experiment gives."""
    settings = dict(KAPPA=5, NOISE=0.5, X0=(-1.5, 1.0), LR=0.1, STEPS=400, SEEDS=4, WINDOW=100)
    floor, final = checks.noise_experiment(settings)
    assert round(floor, 4) == 0.0149 and round(final[0], 4) == 0.0154
    assert round(final[0] / floor, 2) == 1.03
    assert [round(v, 5) for v in final[1:]] == [0.00059, 0.00054, 0.00066]
    assert 22 < floor / final[1:].max() < 23 and 27 < floor / final[1:].min() < 28
    eigenvalues = np.array([1.0, 5.0])
    schedules = checks.experiment_schedules(0.1, 400)
    last = {n: schedules[n](399) for n in ("step", "inverse_time")}
    floors = {n: np.sum(lr * 0.25 / (2 * (2 - lr * eigenvalues))) for n, lr in last.items()}
    assert round(final[3] / floors["inverse_time"], 1) == 1.1
    assert round(final[1] / floors["step"], 2) == 1.75
    assert round(floors["inverse_time"], 5) == 0.0006 and round(floors["step"], 5) == 0.00034
    scheme = next(c for c in source_nb().cells if nbgrader_meta(c).get("task")).source
    for quoted in ("0.0154", "0.0149", "0.00059", "0.00054", "0.00066", "0.00060", "0.00034"):
        assert quoted in scheme


# --------------------------------------------------------------------------------------------
# The real pipeline
# --------------------------------------------------------------------------------------------
class TestPipeline(AssignmentPipeline):
    """ps08 through nbgrader: the solution, the released notebook, the second correct
    solution and four wrong submissions (one that only a hidden test catches)."""

    assignment = PS
    students = {
        "solution": Student(),
        "released": Student(released=True, lost=set(points())),
        "alternative": Student(_source.alternative_answers()),
        "ends_late": Student(with_mistakes("warmup_ends_late"), lost={WARM, WARM_COS}),
        "several_mistakes": Student(
            with_mistakes(
                "step_every_step",
                "cos_no_eta_min",
                "plateau_no_cooldown",
                "final_median",
            ),
            lost={STEP, COS, WARM_COS, POPT, FINAL},
        ),
        "lr_not_stored": Student(WRONG["plateau_lr_not_stored"][0], lost={PFORM}),
        "skips_below_min_lr": Student(SKIPS_BELOW_MIN_LR, lost={POPT}),
    }
    feedback_messages = [
        ("ends_late", "your warm-up ends one step late"),
        ("several_mistakes", "you multiply by gamma at every step"),
        ("several_mistakes", "your cosine never reaches eta_min"),
        ("several_mistakes", "you ignore the cooldown"),
        ("several_mistakes", "you took the median over the seeds"),
        ("lr_not_stored", ".lr is not the learning rate that step returned"),
    ]
    released_without_stub = 2  # the experiment's tests find no results
    hidden_failure = ("skips_below_min_lr", POPT)
