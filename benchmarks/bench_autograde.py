"""Seconds per submission for `nbgrader autograde`, next to the floor of running the notebook.

    python benchmarks/bench_autograde.py [assignment ...] [--students N]

For each assignment (default: every one in solutions/), N copies of the solution are handed in
to a temporary course and graded by one real `nbgrader autograde` call. The floor is the same
notebook (the autograded one, hidden tests included, outputs cleared) executed N times with
nbclient and nothing else: a fresh kernel each time, as autograde uses. Both are measured in
the same run; the ratio is nbgrader's overhead (process start, database, sanitizing, checksums,
writing). Prints measurements; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from nbgrader_course import Course  # noqa: E402  (one copy of the course-building logic)


def floor(nb, folder: Path, runs: int) -> float:
    """Seconds per execution of ``nb`` with nbclient in a fresh kernel, outputs cleared."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    start = time.perf_counter()
    for _ in range(runs):
        NotebookClient(
            nbformat.from_dict(nb),
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(folder)}},
        ).execute()
    return (time.perf_counter() - start) / runs


def bench(assignment: str, students: int, workdir: Path) -> tuple[float, float]:
    course = Course.create(workdir / assignment, [assignment])
    solution = course.submission(assignment)
    for k in range(students):
        course.submit(f"student{k:02d}", assignment, solution)
    start = time.perf_counter()
    proc = course.autograde(assignment)
    per_submission = (time.perf_counter() - start) / students
    if proc.returncode != 0:
        raise SystemExit(f"autograde failed:\n{proc.stderr[-2000:]}")
    graded = course.root / "autograded" / "student00" / assignment
    return per_submission, floor(
        course.autograded_notebook(assignment, "student00"), graded, students
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--students", type=int, default=4)
    args = parser.parse_args()
    names = args.assignments or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    print(f"{args.students} submissions per assignment; seconds per submission")
    print(f"{'assignment':<12}{'autograde':>12}{'nbclient':>12}{'ratio':>8}")
    with tempfile.TemporaryDirectory(prefix="autograde-bench-") as tmp:
        for name in names:
            grade, run = bench(name, args.students, Path(tmp))
            print(f"{name:<12}{grade:>12.2f}{run:>12.2f}{grade / run:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
