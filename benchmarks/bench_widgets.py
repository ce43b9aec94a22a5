"""Responsiveness of the explorers in course_lib.widgets: control change -> PNG bytes ready.

For each explorer and each of its controls, set the control ~30 times (values spread over its
range, in a shuffled order; every option of a dropdown or toggle, cycled) exactly as a reader
moving it would (``control.value = v``, which runs the widget's callback), and time until the
new PNG bytes are in the image widget. Prints median and 95th percentile (wall clock and CPU
time of this process; on a busy machine the two differ), the median wall time to the first new
image (shorter than the total for a widget that shows live frames while it computes, such as
the training dashboard), and the time to build each explorer with its defaults. Prints numbers
only: no assertion, timings depend on the machine.

    python benchmarks/bench_widgets.py [--changes 30] [--seed 0] [--only ch7]
"""

from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402

from course_lib.landscapes import Quadratic  # noqa: E402
from course_lib.optim import SGD  # noqa: E402
from course_lib.widgets import (
    EffectiveLRExplorer,
    FiniteDifferenceExplorer,
    GradientDescentExplorer,  # noqa: E402
    MinibatchExplorer,
    MomentumExplorer,
    OptimizerRace,
    PlateauExplorer,
    RandomSearchExplorer,
    RateMap,
    ScheduleDesigner,
    SecondOrderExplorer,
    TrainingDashboard,
    TrajectoryExplorer,
)
from course_lib.widgets.controls import float_slider, log_slider  # noqa: E402


def momentum_explorer():
    """A chapter-5 explorer: GD, momentum and Nesterov with lr, beta and condition number."""
    return TrajectoryExplorer(
        {
            "gradient descent": lambda lr: SGD(lr=lr),
            "momentum": lambda lr, beta: SGD(lr=lr, momentum=beta),
            "Nesterov": lambda lr, beta: SGD(lr=lr, momentum=beta, nesterov=True),
        },
        landscape=lambda kappa: Quadratic.bowl(condition_number=kappa, angle=0.3),
        controls={
            "lr": log_slider("learning rate", 0.05, 1e-3, 1.0),
            "beta": float_slider("momentum β", 0.9, 0.0, 0.99, 0.01),
            "kappa": log_slider("condition number κ", 20.0, 1.0, 1000.0),
        },
    )


EXPLORERS = [
    ("RandomSearchExplorer", RandomSearchExplorer),
    ("FiniteDifferenceExplorer", FiniteDifferenceExplorer),
    ("GradientDescentExplorer", GradientDescentExplorer),
    ("MinibatchExplorer", MinibatchExplorer),
    ("Trajectory: momentum (ch5)", momentum_explorer),
    ("MomentumExplorer", MomentumExplorer),
    ("RateMap", RateMap),
    ("OptimizerRace (ch7)", OptimizerRace),
    ("EffectiveLRExplorer (ch7)", EffectiveLRExplorer),
    ("ScheduleDesigner (ch8)", ScheduleDesigner),
    ("PlateauExplorer (ch8)", PlateauExplorer),
    ("SecondOrderExplorer (appendix)", SecondOrderExplorer),
    ("TrainingDashboard (ch9)", TrainingDashboard),
]


def values_for(control, n, rng):
    """``n`` values for a control: options cycled, or slider values spread over the range."""
    if hasattr(control, "options"):
        options = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return [options[i % len(options)] for i in range(n)]
    if isinstance(control, widgets.FloatLogSlider):
        values = [control.base**e for e in np.linspace(control.min, control.max, n)]
    elif isinstance(control, widgets.IntSlider):
        values = [int(v) for v in np.round(np.linspace(control.min, control.max, n))]
    else:
        values = [float(v) for v in np.linspace(control.min, control.max, n)]
    return list(rng.permutation(np.array(values, dtype=object)))


def time_control(explorer, name, n, rng):
    """Wall and CPU seconds of each change of control ``name``, and wall seconds to the first
    new image (earlier than the last for a widget that draws live frames while it computes)."""
    control = explorer.controls[name]
    wall, cpu, first = [], [], []
    shown = []
    explorer.image.observe(lambda change: shown.append(time.perf_counter()), names="value")
    try:
        for value in values_for(control, n, rng):
            if control.value == value:
                continue  # no change, no callback
            shown.clear()
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            control.value = value
            wall.append(time.perf_counter() - start_wall)
            cpu.append(time.process_time() - start_cpu)
            first.append((shown[0] if shown else time.perf_counter()) - start_wall)
    finally:
        explorer.image.unobserve_all("value")
    return np.array(wall), np.array(cpu), np.array(first)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=30, help="changes per control")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffled order")
    parser.add_argument("--only", default="", help="time only explorers whose name contains this")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    header = (
        f"{'explorer':<26} {'control':<11} {'n':>3}  {'median ms':>9} {'p95 ms':>8}"
        f"  {'cpu median':>10} {'cpu p95':>8}  {'1st image':>9}"
    )
    print(header)
    print("-" * len(header))
    all_wall = []
    for name_of, make in [e for e in EXPLORERS if args.only in e[0]]:
        start = time.perf_counter()
        explorer = make()
        build = time.perf_counter() - start
        defaults = {k: c.value for k, c in explorer.controls.items()}
        for name in explorer.controls:
            wall, cpu, first = time_control(explorer, name, args.changes, rng)
            explorer.update(**defaults)
            all_wall.append(wall)
            print(
                f"{name_of:<26} {name:<11} {len(wall):>3}  "
                f"{1e3 * np.median(wall):>9.1f} {1e3 * np.percentile(wall, 95):>8.1f}"
                f"  {1e3 * np.median(cpu):>10.1f} {1e3 * np.percentile(cpu, 95):>8.1f}"
                f"  {1e3 * np.median(first):>9.1f}"
            )
        print(f"{name_of:<26} {'(build)':<11} {1:>3}  {1e3 * build:>9.0f}")
    everything = np.concatenate(all_wall)
    print("-" * len(header))
    print(
        f"{'all changes':<38} {len(everything):>3}  {1e3 * np.median(everything):>9.1f} "
        f"{1e3 * np.percentile(everything, 95):>8.1f}"
    )


if __name__ == "__main__":
    main()
