"""Write tests/golden/optim.json: trajectories of torch.optim on small objectives.

Needs PyTorch (``pip install torch==2.13.0``, CPU build); the test suite itself does not.
Run from the repository root:  python tests/golden/make_optim_golden.py

For each case the file records the optimizer's keyword arguments, the starting point, and for
every step the learning rate, the gradient torch used and the parameters after the step. The
test feeds the recorded gradients to ``course_lib.optim`` and compares the parameters, so it
checks the update rule alone, not the objective's rounding.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

OUT = Path(__file__).with_name("optim.json")
STEPS = 25


# ---- objectives (torch, differentiated by autograd) ----------------------------------------
def quadratic(x):  # ill-conditioned, rotated 2-D bowl: kappa = 20
    a = torch.tensor([[10.5, 9.5], [9.5, 10.5]], dtype=x.dtype) / 1.05
    return 0.5 * x @ a @ x


def neg_quadratic(x):  # for maximize=True: the same bowl, upside down
    return -quadratic(x)


def rosenbrock(x):  # b = 10 rather than 100, so that every case's lr is stable from x0
    return (1 - x[0]) ** 2 + 10 * (x[1] - x[0] ** 2) ** 2


def matrix_lsq(x):  # a (3, 4) parameter: least squares with a fixed random design
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(5, 3, generator=gen, dtype=torch.float64).to(x.dtype)
    b = torch.randn(5, 4, generator=gen, dtype=torch.float64).to(x.dtype)
    return 0.5 * ((a @ x - b) ** 2).sum() + 0.1 * x.abs().sum()  # |x| adds a kink


OBJECTIVES = {
    "quadratic": (quadratic, [1.5, -0.5]),
    "neg_quadratic": (neg_quadratic, [1.5, -0.5]),
    "rosenbrock": (rosenbrock, [-1.2, 1.0]),
    "matrix_lsq": (
        matrix_lsq,
        [[0.3, -0.2, 0.1, 0.5], [-0.4, 0.2, 0.6, -0.1], [0.05, 0.3, -0.7, 0.2]],
    ),
}

# ---- option grid: every keyword of every optimizer, alone and combined ---------------------
OPTIONS = {
    "SGD": [
        {"lr": 0.01},
        {"lr": 0.01, "momentum": 0.9},
        {"lr": 0.01, "momentum": 0.9, "dampening": 0.5},
        {"lr": 0.01, "momentum": 0.9, "nesterov": True},
        {"lr": 0.01, "weight_decay": 0.1},
        {"lr": 0.005, "momentum": 0.5, "dampening": 0.1, "weight_decay": 0.05},
        {"lr": 0.005, "momentum": 0.95, "nesterov": True, "weight_decay": 0.01},
        {"lr": 0.01, "momentum": 0.9, "maximize": True},
    ],
    "Adagrad": [
        {},
        {"lr": 0.1},
        {"lr": 0.1, "lr_decay": 0.05},
        {"lr": 0.1, "initial_accumulator_value": 0.1},
        {"lr": 0.1, "eps": 1e-3},
        {"lr": 0.1, "weight_decay": 0.1},
        {
            "lr": 0.2,
            "lr_decay": 0.01,
            "weight_decay": 0.01,
            "initial_accumulator_value": 0.5,
            "eps": 1e-6,
        },
        {"lr": 0.1, "maximize": True},
    ],
    "RMSprop": [
        {},
        {"lr": 0.001, "alpha": 0.9},
        {"lr": 0.005, "centered": True},
        {"lr": 0.001, "momentum": 0.9},
        {"lr": 0.001, "eps": 1e-3},
        {"lr": 0.002, "weight_decay": 0.1},
        {"lr": 0.001, "alpha": 0.95, "centered": True, "momentum": 0.5, "weight_decay": 0.01},
        {"lr": 0.001, "maximize": True},
    ],
    "Adadelta": [
        {},
        {"lr": 0.5},
        {"rho": 0.5},
        {"eps": 1e-3},
        {"weight_decay": 0.1},
        {"lr": 2.0, "rho": 0.95, "eps": 1e-4, "weight_decay": 0.01},
        {"maximize": True},
    ],
    "Adam": [
        {},
        {"lr": 0.05},
        {"lr": 0.05, "betas": (0.5, 0.9)},
        {"lr": 0.05, "betas": (0.0, 0.99)},
        {"lr": 0.05, "eps": 1e-3},
        {"lr": 0.05, "weight_decay": 0.1},
        {"lr": 0.05, "amsgrad": True},
        {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05, "amsgrad": True},
        {"lr": 0.05, "maximize": True},
    ],
    "AdamW": [
        {},
        {"lr": 0.05},
        {"lr": 0.05, "weight_decay": 0.5},
        {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-4},
        {"lr": 0.05, "amsgrad": True},
        {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True},
        {"lr": 0.05, "maximize": True},
    ],
}

# A changing learning rate (what a schedule does) must give torch's results through `lr=`.
LR_SCHEDULES = {
    "constant": None,
    "warmup_then_decay": lambda lr, t: lr * min(1.0, (t + 1) / 5) * 0.9 ** max(0, t - 5),
}


def run_case(opt_name, kwargs, objective, lr_schedule, dtype):
    fn, x0 = OBJECTIVES[objective]
    x = torch.tensor(x0, dtype=dtype, requires_grad=True)
    opt = getattr(torch.optim, opt_name)([x], foreach=False, **kwargs)
    base_lr = opt.param_groups[0]["lr"]
    record = {"lrs": [], "grads": [], "params": []}
    for t in range(STEPS):
        lr = base_lr if lr_schedule is None else LR_SCHEDULES[lr_schedule](base_lr, t)
        opt.param_groups[0]["lr"] = lr
        opt.zero_grad()
        fn(x).backward()
        record["lrs"].append(lr)
        record["grads"].append(x.grad.tolist())
        opt.step()
        record["params"].append(x.detach().tolist())
        if not all(math.isfinite(v) for v in x.detach().flatten().tolist()):
            raise RuntimeError(f"{opt_name}{kwargs} diverged on {objective}: pick gentler settings")
    return record


def main():
    cases = []
    for opt_name, grid in OPTIONS.items():
        for kwargs in grid:
            objectives = (
                ["neg_quadratic"] if kwargs.get("maximize") else ["quadratic", "rosenbrock"]
            )
            for objective in objectives:
                cases.append((opt_name, kwargs, objective, None, torch.float64))
        # every optimizer once more on a matrix parameter, under a changing lr, and in float32
        kwargs = grid[-2] if grid[-1].get("maximize") else grid[-1]
        cases.append((opt_name, kwargs, "matrix_lsq", None, torch.float64))
        cases.append((opt_name, kwargs, "quadratic", "warmup_then_decay", torch.float64))
        cases.append((opt_name, kwargs, "rosenbrock", "warmup_then_decay", torch.float64))
        cases.append((opt_name, kwargs, "matrix_lsq", None, torch.float32))

    out = []
    for opt_name, kwargs, objective, lr_schedule, dtype in cases:
        record = run_case(opt_name, kwargs, objective, lr_schedule, dtype)
        out.append(
            {
                "optimizer": opt_name,
                "kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
                "objective": objective,
                "lr_schedule": lr_schedule or "constant",
                "dtype": str(dtype).removeprefix("torch."),
                "x0": OBJECTIVES[objective][1],
                **record,
            }
        )
    meta = {"torch_version": torch.__version__, "steps": STEPS, "generator": Path(__file__).name}
    OUT.write_text(json.dumps({"meta": meta, "cases": out}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(out)} cases to {OUT}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
