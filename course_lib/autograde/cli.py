"""The instructor's command: ``python -m course_lib.autograde ASSIGNMENT [options]``.

Run it from the course's root directory (where nbgrader_config.py is). It grades every
``submitted/<student>/ASSIGNMENT`` into nbgrader's gradebook, showing a progress bar, and
prints a table: student, score, status (graded, timed out, memory limit, malformed,
crashed, grader error) and notes. Before grading anyone it runs the released notebook in a
sandbox, and stops if that fails.

Exit status: 0 when every submission was graded (some may have failed the student's own
way: timed out, crashed...; their rows say why); 1 when the grader itself failed on some
submissions (status "grader error": nothing was recorded for them, see the log); 2 for a
usage error (unknown assignment or student, no isolation available); 3 when the released
notebook could not be run, so nobody was graded (the message names the cause and the fix).
Running it again regrades and overwrites: the gradebook ends in the same state.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    from course_lib.autograde.sandbox import Limits

    d = Limits()
    p = argparse.ArgumentParser(
        prog="python -m course_lib.autograde",
        description="Grade submitted/*/ASSIGNMENT into the nbgrader gradebook, each submission "
        "in its own sandbox, with checks made outside the student's code.",
    )
    p.add_argument("assignment", help="the assignment's name, e.g. ps01")
    p.add_argument(
        "--jobs",
        "-j",
        type=_positive_int,
        default=2,
        help="submissions graded at the same time by the local executor (default: "
        "2; a Dask cluster decides for itself)",
    )
    p.add_argument(
        "--student",
        "-s",
        nargs="+",
        metavar="ID",
        help="grade only these students (default: everyone who submitted)",
    )
    p.add_argument(
        "--executor",
        default="local",
        help="local (default), dask:ADDRESS or MODULE:FUNCTION; see docs/deployment.md",
    )
    p.add_argument("--course-dir", default=".", help="the course's root directory (default: .)")
    limits = p.add_argument_group("limits, per submission")
    limits.add_argument(
        "--wall-time",
        type=_positive_float,
        default=d.wall_time,
        help=f"seconds for the whole notebook (default: {d.wall_time:g})",
    )
    limits.add_argument(
        "--cell-timeout",
        type=_positive_float,
        default=None,
        help="seconds per cell (default: Execute.timeout of nbgrader_config.py)",
    )
    limits.add_argument(
        "--cpu-time",
        type=_positive_int,
        default=d.cpu_time,
        help=f"CPU seconds per process (default: {d.cpu_time})",
    )
    limits.add_argument(
        "--memory",
        type=_positive_int,
        default=d.memory // 2**20,
        help=f"MiB of memory per process (default: {d.memory // 2**20})",
    )
    limits.add_argument(
        "--processes",
        type=_positive_int,
        default=d.processes,
        help=f"processes and threads (default: {d.processes})",
    )
    limits.add_argument(
        "--no-sandbox",
        action="store_true",
        help="UNSAFE: run students' code without namespace isolation (only for "
        "machines without user namespaces; limits and outside checks stay)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return p


TABLE_WIDTH = 100
"""Columns of the summary table; longer notes wrap onto the following lines."""


def format_table(outcomes: Sequence, width: int = TABLE_WIDTH) -> str:
    """The summary table: one row per student, its notes wrapped to ``width`` columns."""
    import textwrap

    rows = [("student", "score", "status", ["notes"])]
    for o in outcomes:
        score = "-" if o.score is None else f"{o.score:g} / {o.max_score:g}"
        if o.needs_manual_grade and o.score is not None:
            score += " +manual"
        rows.append((o.student, score, o.status, list(o.notes)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    indent = sum(widths) + 6
    room = max(30, width - indent)
    lines = []
    for r in rows:
        notes = [
            part
            for note in r[3]
            for part in textwrap.wrap(note, room, break_long_words=True) or [""]
        ]
        lines.append(
            f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  "
            f"{notes[0] if notes else ''}".rstrip()
        )
        lines.extend(" " * indent + part for part in notes[1:])
    lines.insert(1, "-" * min(width, max(len(line) for line in lines)))
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    import warnings

    # nbgrader 0.9's gradebook triggers SQLAlchemy "not in session" warnings on every
    # submission; they are about nbgrader's internals, not the students' work
    warnings.filterwarnings("ignore", message=".*not in session.*")
    # a notebook saved by an older Jupyter has no cell ids; nbformat adds them and would
    # otherwise warn once per submission, burying the summary
    from nbformat.warnings import MissingIDFieldWarning

    warnings.filterwarnings("ignore", category=MissingIDFieldWarning)
    from course_lib.autograde.batch import Batch, PreflightFailed, UsageError
    from course_lib.autograde.sandbox import Limits, SandboxUnavailable

    limits = Limits(
        wall_time=args.wall_time,
        cpu_time=args.cpu_time,
        memory=args.memory * 2**20,
        processes=args.processes,
    )
    progress = None
    try:
        batch = Batch(
            args.assignment,
            course_dir=args.course_dir,
            students=args.student,
            jobs=args.jobs,
            executor=args.executor,
            limits=limits,
            cell_timeout=args.cell_timeout,
            isolate=not args.no_sandbox,
        )
        from tqdm import tqdm

        progress = tqdm(
            total=len(batch.students),
            unit="submission",
            disable=args.quiet,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        counts: dict = {}

        def advance(outcome) -> None:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            progress.set_postfix_str(", ".join(f"{n} {s}" for s, n in counts.items()))
            progress.update(1)

        batch.on_progress = advance
        outcomes = batch.run()
    except (UsageError, SandboxUnavailable, PreflightFailed) as exc:
        if progress is not None:
            progress.close()
        print(f"error: {exc}", file=sys.stderr)
        return 3 if isinstance(exc, PreflightFailed) else 2
    progress.close()
    print(format_table(outcomes))
    n = len(outcomes)
    rate = 60 * n / batch.seconds if batch.seconds else 0.0
    tally = ", ".join(
        f"{sum(o.status == s for o in outcomes)} {s}"
        for s in ("graded", "timed out", "memory limit", "malformed", "crashed", "grader error")
        if any(o.status == s for o in outcomes)
    )
    # the number of jobs is ours to tell only when this machine runs them
    how = f"{args.jobs} jobs" if args.executor == "local" else f"executor {args.executor}"
    print(f"\n{n} submissions in {batch.seconds:.1f} s ({rate:.1f} per minute, {how}): {tally}.")
    if args.no_sandbox:
        print("warning: --no-sandbox: students' code ran without isolation", file=sys.stderr)
    print(f"nbgrader's log: {batch.log_path}")
    failed = [o.student for o in outcomes if o.grader_failed]
    if failed:
        print(
            f"error: the grader failed (not the students' code) for {len(failed)} "
            f"submission(s), which were NOT graded: {', '.join(failed)}. The log has the "
            "reasons; grade them again with --student once the cause is fixed.",
            file=sys.stderr,
        )
        return 1
    return 0
