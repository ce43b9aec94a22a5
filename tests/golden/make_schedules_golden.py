"""Write tests/golden/schedules.json: learning rates from torch.optim.lr_scheduler.

Needs PyTorch (``pip install torch==2.13.0``, CPU build); the test suite itself does not.
Run from the repository root:  python tests/golden/make_schedules_golden.py

Each scheduler drives a dummy optimizer over one float64 parameter. For every case the file
records ``course_lib.schedules`` keyword arguments (torch's, with the optimizer's ``lr`` as
``lr``) and ``lrs[t]``, the lr in ``optimizer.param_groups[0]`` after ``t`` calls of
``scheduler.step()``, for t = 0 .. steps. OneCycleLR cases also record the momentum (SGD's
``momentum`` or Adam's ``beta1``) the scheduler wrote; ReduceLROnPlateau cases record the
metric fed at each step and the scheduler's state after it.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import torch
from torch.optim import SGD, Adam
from torch.optim import lr_scheduler as L

OUT = Path(__file__).with_name("schedules.json")


def make_optimizer(lr, kind="SGD"):
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    if kind == "Adam":
        return Adam([p], lr=lr, betas=(0.9, 0.999))
    return SGD([p], lr=lr, momentum=0.9)


def torch_scheduler(opt, name, kwargs):
    """The torch scheduler for one of our (name, kwargs), on an optimizer with lr = kwargs['lr']."""
    kw = {k: v for k, v in kwargs.items() if k != "lr"}
    if name == "InverseTimeDecay":  # Keras's schedule, written as a LambdaLR
        steps, rate = kw["decay_steps"], kw["decay_rate"]
        if kw.get("staircase", False):
            return L.LambdaLR(opt, lambda t: 1 / (1 + rate * math.floor(t / steps)))
        return L.LambdaLR(opt, lambda t: 1 / (1 + rate * (t / steps)))
    if name == "SequentialLR":
        subs = [torch_scheduler(opt, s["schedule"], s["kwargs"]) for s in kw["schedules"]]
        return L.SequentialLR(opt, subs, milestones=kw["milestones"])
    if name == "warmup":
        inner = kw["schedule"]
        ramp = L.LinearLR(opt, kw["start_factor"], 1.0, kw["warmup_steps"])
        return L.SequentialLR(
            opt,
            [ramp, torch_scheduler(opt, inner["schedule"], inner["kwargs"])],
            milestones=[kw["warmup_steps"]],
        )
    return getattr(L, name)(opt, **kw)


def base_lr(name, kwargs):
    if name == "SequentialLR":
        lrs = {s["kwargs"]["lr"] for s in kwargs["schedules"]}
        assert len(lrs) == 1, "torch's SequentialLR shares one lr between its schedulers"
        return lrs.pop()
    if name == "warmup":
        return kwargs["schedule"]["kwargs"]["lr"]
    return kwargs.get("lr", 1.0)  # OneCycleLR sets the lr itself


def run(name, kwargs, steps, optimizer="SGD"):
    opt = make_optimizer(base_lr(name, kwargs), optimizer)
    sched = torch_scheduler(opt, name, kwargs)
    group = opt.param_groups[0]

    def momentum():  # what OneCycleLR writes: SGD's momentum, or Adam's beta1
        return group["betas"][0] if optimizer == "Adam" else group["momentum"]

    lrs, momentums = [group["lr"]], [momentum()]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(group["lr"])
        momentums.append(momentum())
    case = {"schedule": name, "kwargs": kwargs, "lrs": lrs}
    if name == "OneCycleLR":
        case["optimizer"] = optimizer
        if kwargs.get("cycle_momentum", True):
            case["momentums"] = momentums
        try:  # one step too many must raise
            opt.step()
            sched.step()
        except ValueError:
            case["raises_after_total_steps"] = True
    return case


def sub(name, **kwargs):
    return {"schedule": name, "kwargs": kwargs}


def lr_cases():
    cases = []
    for step_size, gamma in [(1, 0.1), (3, 0.5), (7, 0.9), (10, 0.1), (4, 1.0), (5, 1.5)]:
        cases.append(("StepLR", {"lr": 0.1, "step_size": step_size, "gamma": gamma}, 40))
    cases.append(("StepLR", {"lr": 0.05, "step_size": 2}, 30))  # default gamma
    for milestones, gamma in [
        ([3, 7, 15], 0.1),
        ([5, 5, 12], 0.5),
        ([0, 10], 0.3),
        ([], 0.1),
        ([2, 4, 6, 8, 10], 0.8),
        ([20], 2.0),
    ]:
        cases.append(("MultiStepLR", {"lr": 0.1, "milestones": milestones, "gamma": gamma}, 30))
    cases.append(("MultiStepLR", {"lr": 1.0, "milestones": [4, 9]}, 15))  # default gamma
    for gamma in [0.9, 0.5, 0.99, 1.05]:
        cases.append(("ExponentialLR", {"lr": 0.1, "gamma": gamma}, 100 if gamma == 0.99 else 40))
    for T_max in [1, 3, 10, 25, 100]:
        for lr, eta_min in [(0.1, 0.0), (0.1, 0.001), (1.0, 0.5)]:
            cases.append(
                (
                    "CosineAnnealingLR",
                    {"lr": lr, "T_max": T_max, "eta_min": eta_min},
                    max(4 * T_max, 12),
                )
            )
    cases.append(("CosineAnnealingLR", {"lr": 0.1, "T_max": 8}, 40))  # default eta_min
    # T_max = 333, eta_min close to lr: the closed form drifts > 1e-12 from torch's recursion
    cases.append(("CosineAnnealingLR", {"lr": 0.05, "T_max": 333, "eta_min": 0.0499}, 4 * 333))
    for start, end, total in [
        (1 / 3, 1.0, 5),
        (0.1, 1.0, 10),
        (1.0, 0.0, 10),
        (0.5, 0.25, 7),
        (0.25, 0.75, 3),
        (1.0, 0.1, 20),
        (0.001, 1.0, 1),
        (1.0, 0.0, 37),
    ]:
        cases.append(
            (
                "LinearLR",
                {"lr": 0.1, "start_factor": start, "end_factor": end, "total_iters": total},
                max(total + 10, 30),
            )
        )
    cases.append(("LinearLR", {"lr": 0.1}, 30))  # all defaults
    for staircase in [False, True]:
        for steps, rate in [(1, 0.5), (10, 1.0), (2.5, 0.1)]:
            cases.append(
                (
                    "InverseTimeDecay",
                    {"lr": 0.1, "decay_steps": steps, "decay_rate": rate, "staircase": staircase},
                    40,
                )
            )
    cases.append(("InverseTimeDecay", {"lr": 0.1, "decay_steps": 7, "decay_rate": 0.5}, 30))

    lr = 0.1
    sequences = [
        (
            [
                sub("LinearLR", lr=lr, start_factor=0.1, total_iters=5),
                sub("CosineAnnealingLR", lr=lr, T_max=20, eta_min=0.001),
            ],
            [5],
        ),
        (
            [
                sub("ExponentialLR", lr=lr, gamma=0.9),
                sub("MultiStepLR", lr=lr, milestones=[2, 6], gamma=0.5),
                sub("CosineAnnealingLR", lr=lr, T_max=10),
            ],
            [4, 12],
        ),
        ([sub("StepLR", lr=lr, step_size=3, gamma=0.5), sub("LinearLR", lr=lr)], [7]),
        (
            [
                sub("LinearLR", lr=lr, start_factor=0.5, total_iters=3),
                sub("ExponentialLR", lr=lr, gamma=0.95),
            ],
            [0],
        ),  # milestone 0: skip the first
        (
            [
                sub("ExponentialLR", lr=lr, gamma=0.8),
                sub("StepLR", lr=lr, step_size=2),
                sub("CosineAnnealingLR", lr=lr, T_max=6, eta_min=0.01),
            ],
            [5, 5],
        ),  # repeated
        (
            [sub("CosineAnnealingLR", lr=lr, T_max=4), sub("CosineAnnealingLR", lr=lr, T_max=9)],
            [10],
        ),  # the first cosine runs past its T_max
        (
            [
                sub("LinearLR", lr=lr, start_factor=1.0, end_factor=0.0, total_iters=6),
                sub("LinearLR", lr=lr, start_factor=0.2, end_factor=1.0, total_iters=6),
            ],
            [8],
        ),
    ]
    for schedules, milestones in sequences:
        cases.append(("SequentialLR", {"schedules": schedules, "milestones": milestones}, 35))

    for inner, w, start in [
        (sub("CosineAnnealingLR", lr=lr, T_max=30, eta_min=1e-4), 5, 0.1),
        (sub("StepLR", lr=lr, step_size=10, gamma=0.5), 8, 1 / 3),
        (sub("ExponentialLR", lr=lr, gamma=0.97), 3, 0.01),
        (sub("MultiStepLR", lr=lr, milestones=[10, 20]), 1, 0.5),
        (sub("InverseTimeDecay", lr=lr, decay_steps=5, decay_rate=0.5), 4, 0.25),
        (sub("LinearLR", lr=lr, start_factor=1.0, end_factor=0.0, total_iters=25), 10, 0.001),
    ]:
        cases.append(("warmup", {"schedule": inner, "warmup_steps": w, "start_factor": start}, 40))

    one_cycle = [
        ({"max_lr": 0.1, "total_steps": 100}, "SGD"),
        ({"max_lr": 0.1, "total_steps": 100}, "Adam"),
        ({"max_lr": 0.1, "total_steps": 100, "anneal_strategy": "linear"}, "SGD"),
        ({"max_lr": 0.1, "total_steps": 100, "three_phase": True}, "SGD"),
        (
            {"max_lr": 0.1, "total_steps": 100, "three_phase": True, "anneal_strategy": "linear"},
            "Adam",
        ),
        (
            {
                "max_lr": 1.0,
                "total_steps": 47,
                "pct_start": 0.25,
                "div_factor": 10.0,
                "final_div_factor": 100.0,
                "base_momentum": 0.8,
                "max_momentum": 0.9,
            },
            "SGD",
        ),
        (
            {
                "max_lr": 1.0,
                "total_steps": 47,
                "pct_start": 0.4,
                "three_phase": True,
                "base_momentum": 0.8,
                "max_momentum": 0.99,
            },
            "Adam",
        ),
        ({"max_lr": 0.01, "total_steps": 30, "cycle_momentum": False}, "SGD"),
        ({"max_lr": 0.01, "total_steps": 12, "pct_start": 0.05}, "SGD"),  # pct * total < 1
        ({"max_lr": 0.01, "total_steps": 20, "pct_start": 0.0}, "Adam"),
        ({"max_lr": 0.1, "total_steps": 1000}, "SGD"),  # 1 + cos cancels near the end
    ]
    for kwargs, optimizer in one_cycle:
        cases.append(("OneCycleLR", kwargs, kwargs["total_steps"], optimizer))
    return cases


# ---- ReduceLROnPlateau ----------------------------------------------------------------------
def loss_curve(n=80):
    """A validation loss with improvements, exact plateaus, tiny (sub-threshold) gains and bumps,
    ending in a long stall (so that the default patience of 10 runs out too)."""
    values, x = [], 1.0
    for i in range(n):
        if i >= 60:
            x += 0.001 * ((-1) ** i)  # the stall
        elif i % 10 < 3:
            x *= 0.9  # clear improvement
        elif i % 10 < 6:
            pass  # exact plateau
        elif i % 10 == 6:
            x *= 1 - 1e-5  # better, but by less than the default threshold
        else:
            x += 0.01 * ((-1) ** i)  # bumps
        values.append(x)
    return values


PLATEAU = [
    {},
    {"patience": 2},
    {"patience": 0},
    {"patience": 1, "cooldown": 3},
    {"patience": 2, "factor": 0.5, "min_lr": 0.005},
    {"patience": 1, "factor": 0.5, "eps": 0.01},  # eps swallows the cuts below 0.01
    {"patience": 2, "threshold": 0.05, "threshold_mode": "abs"},
    {"patience": 2, "threshold": 0.0},
    {"mode": "max", "patience": 2},
    {"mode": "max", "patience": 1, "threshold": 0.02, "threshold_mode": "abs", "cooldown": 2},
    {"mode": "max", "patience": 3, "threshold": 0.1, "factor": 0.3},
]


def plateau_case(kwargs, lr=0.1):
    kwargs = {"lr": lr, **kwargs}
    metrics = loss_curve()
    if kwargs.get("mode") == "max":  # an accuracy-like metric
        metrics = [1.0 - m for m in metrics]
    opt = make_optimizer(lr)
    sched = L.ReduceLROnPlateau(opt, **{k: v for k, v in kwargs.items() if k != "lr"})
    lrs, best, bad, cool = [], [], [], []
    for m in metrics:
        sched.step(m)
        lrs.append(opt.param_groups[0]["lr"])
        best.append(sched.best)
        bad.append(sched.num_bad_epochs)
        cool.append(sched.cooldown_counter)
    return {
        "schedule": "ReduceLROnPlateau",
        "kwargs": kwargs,
        "metrics": metrics,
        "lrs": lrs,
        "best": best,
        "num_bad_epochs": bad,
        "cooldown_counter": cool,
    }


def main():
    warnings.filterwarnings("ignore", category=UserWarning)  # "step() before optimizer.step()"
    out = [run(*case) for case in lr_cases()]
    out += [plateau_case(kwargs) for kwargs in PLATEAU]
    meta = {"torch_version": torch.__version__, "generator": Path(__file__).name}
    OUT.write_text(json.dumps({"meta": meta, "cases": out}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(out)} cases to {OUT}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
