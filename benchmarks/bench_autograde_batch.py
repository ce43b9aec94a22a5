"""A class's worth of submissions: serial `nbgrader autograde` against the isolated, parallel
`python -m course_lib.autograde`, in the same run.

    python benchmarks/bench_autograde_batch.py [--assignment ps02] [--students 200]
                                               [--overhead-students 40] [--jobs 2]

The submissions are simulated: the solution, the released notebook and the typical mistakes
of the assignment's end-to-end tests, in turn. Two identical courses are graded, one by
`nbgrader autograde` (one kernel per submission, one after the other), one by
`python -m course_lib.autograde --jobs J`. Then, on a smaller batch, the command with
`--jobs 1` with and without the sandbox (`--no-sandbox`) gives the time isolation adds per
submission. Prints submissions per minute, the speed-up and the overhead; asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from nbgrader_course import Course  # noqa: E402  (one copy of the course-building logic)


def submissions(course: Course, assignment: str, count: int) -> None:
    """Hand in ``count`` notebooks, cycling through the assignment's test students."""
    module = importlib.import_module(f"test_{assignment}")
    kinds = sorted(module.TestPipeline.students.items())
    notebooks = []
    for name, s in kinds:
        if s.lms_file or name.startswith("loops"):  # endless loops measure the time limit
            continue
        notebooks.append(
            course.submission(
                assignment,
                None if s.released else s.answers,
                fill_solutions=not s.released,
                delete=s.delete,
                replace=s.replace,
            )
        )
    for i in range(count):
        course.submit(f"student{i:04d}", assignment, notebooks[i % len(notebooks)])


def timed(label: str, run) -> float:
    start = time.perf_counter()
    proc = run()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"{label} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="ps02")
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--overhead-students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    a = args.assignment
    work = Path(tempfile.mkdtemp(prefix="bench-autograde-"))
    try:
        first = Course.create(work / "nbgrader", [a])
        submissions(first, a, args.students)
        second = work / "isolated"
        shutil.copytree(first.root, second)
        second = Course(second)
        n = args.students
        t_nb = timed("nbgrader autograde", lambda: first.autograde(a))
        t_iso = timed(
            "course_lib.autograde", lambda: second.isolated_autograde(a, "--jobs", str(args.jobs))
        )
        print(f"{a}, {n} submissions, {args.jobs} jobs for course_lib.autograde")
        print(f"  nbgrader autograde (serial):       {t_nb:7.1f} s  {60 * n / t_nb:6.1f} /min")
        print(
            f"  course_lib.autograde --jobs {args.jobs}:     {t_iso:7.1f} s  "
            f"{60 * n / t_iso:6.1f} /min"
        )
        print(f"  speed-up: {t_nb / t_iso:.2f}x")

        m = args.overhead_students
        small = Course.create(work / "small", [a])
        submissions(small, a, m)
        t_plain = timed(
            "--no-sandbox", lambda: small.isolated_autograde(a, "--jobs", "1", "--no-sandbox")
        )
        t_box = timed("sandbox", lambda: small.isolated_autograde(a, "--jobs", "1"))
        print(f"isolation overhead, {m} submissions, --jobs 1:")
        print(
            f"  without sandbox {t_plain / m:.3f} s, with sandbox {t_box / m:.3f} s per "
            f"submission: +{(t_box - t_plain) / m * 1000:.0f} ms "
            f"({t_box / t_plain:.2f}x)"
        )
        print(f"  nbgrader autograde, same run: {t_nb / n:.3f} s per submission")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
