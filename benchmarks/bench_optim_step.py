"""Time one optimizer step of course_lib.optim on 10^6 and 10^7 float64 parameters.

When PyTorch is importable, torch.optim runs the same step on the same data in the same
process, and the script prints the ratio (course_lib time / torch time). Prints numbers only:
no assertion, since timings depend on the machine.

    python benchmarks/bench_optim_step.py [--sizes 1e6 1e7] [--repeats 7]

Each timing is the median over ``repeats`` steady-state steps (after a first step that fills the
optimizer's buffers). course_lib's steps are pure (they allocate new arrays); torch's update in
place, so part of the ratio is the cost of purity.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from course_lib import optim

CONFIGS = [
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    ("Adagrad", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
    ("Adadelta", {}),
    ("Adam", {"lr": 0.001}),
    ("Adam", {"lr": 0.001, "amsgrad": True}),
    ("AdamW", {"lr": 0.001}),
]


def _median_seconds(fn, repeats: int) -> float:
    fn()  # first step: buffers are created
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_course_lib(name, kwargs, params, grads, repeats):
    opt = getattr(optim, name)(**kwargs)
    box = {"params": params, "state": opt.init(params)}

    def step():
        box["params"], box["state"] = opt.step(box["params"], grads, box["state"])

    return _median_seconds(step, repeats)


def time_torch(torch, name, kwargs, params, grads, repeats):
    p = torch.tensor(params, requires_grad=True)
    p.grad = torch.tensor(grads)
    opt = getattr(torch.optim, name)([p], **kwargs)
    return _median_seconds(opt.step, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    try:
        import torch

        torch_note = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        torch, torch_note = None, "torch not importable: course_lib timings only"
    print(f"numpy {np.__version__}; {torch_note}; median of {args.repeats} steps\n")
    print(f"{'optimizer':<48}{'n':>6}{'course_lib ms':>15}{'torch ms':>11}{'ratio':>8}")
    rng = np.random.default_rng(0)
    for size in args.sizes:
        n = int(size)
        params, grads = rng.normal(size=n), rng.normal(size=n)
        for name, kwargs in CONFIGS:
            label = f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
            ours = time_course_lib(name, kwargs, params, grads, args.repeats)
            line = f"{label:<48}{size:>6.0e}{ours * 1e3:>15.2f}"
            if torch is not None:
                theirs = time_torch(torch, name, kwargs, params, grads, args.repeats)
                line += f"{theirs * 1e3:>11.2f}{ours / theirs:>8.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
