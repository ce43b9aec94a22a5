"""Failures of the grader are the grader's: ``python -m course_lib.autograde`` never turns a
failure of its own machinery (sandbox, kernel start, channel, worker) into a student's grade.

One real nbgrader course (problem set 3). An executor that loses some submissions the way a
lost worker node does (the course's ``--executor MODULE:FUNCTION`` extension point) shows
the retry, the "grader error" status, the summary and the exit status; a memory limit too
small for Python shows the preflight stopping before anyone is graded.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest
from nbgrader_course import Course

A = "ps03"

EXECUTOR = '''
import concurrent.futures
import multiprocessing


class LosesWork(concurrent.futures.ProcessPoolExecutor):
    """Loses every submission of "lost" and the first of "flaky", as a dying node does."""

    tried = set()

    def submit(self, fn, task, *args, **kwargs):
        first = task.student not in self.tried
        self.tried.add(task.student)
        if task.student == "lost" or (task.student == "flaky" and first):
            future = concurrent.futures.Future()
            future.set_exception(ConnectionError(f"worker node lost while grading {task.student}"))
            return future
        return super().submit(fn, task, *args, **kwargs)


def make(jobs):
    return LosesWork(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
'''


def summary_rows(stdout: str) -> dict:
    """student -> the table's row, its wrapped notes joined back (one line each)."""
    rows, last = {}, None
    for line in stdout.split("\n\n")[0].splitlines()[2:]:
        if line.startswith(" ") and last is not None:
            rows[last] += " " + line.strip()
        elif line.strip():
            last = line.split()[0]
            rows[last] = line
    return rows


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course.create(tmp_path_factory.mktemp("infra"), [A])
    for student in ("flaky", "lost", "steady"):
        course.submit(student, A, course.submission(A))
    # wrongly named: a browser's "(1)" and an upper-case folder
    course.submit("misnamed", A, course.submission(A))
    folder = course.root / "submitted" / "misnamed" / A
    (folder / f"{A}.ipynb").rename(folder / f"{A} (1).ipynb")
    course.submit("upper", A, course.submission(A))
    (course.root / "submitted" / "upper" / A).rename(course.root / "submitted" / "upper" / "PS03")
    (course.root / "losing_executor.py").write_text(textwrap.dedent(EXECUTOR))
    return course


@pytest.fixture(scope="module")
def lossy_run(course):
    proc = course.isolated_autograde(A, "--executor", "losing_executor:make")
    rows = summary_rows(proc.stdout)
    log = (course.root / "autograded" / f"autograde-{A}.log").read_text()
    return proc, rows, log


def test_a_grader_failure_makes_the_command_fail_and_names_the_student(lossy_run):
    proc, rows, _ = lossy_run
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "lost" in proc.stderr and "NOT graded" in proc.stderr
    assert "flaky" not in proc.stderr.split("NOT graded")[1]
    assert "1 grader error" in proc.stdout


def test_a_grader_failure_is_listed_and_never_recorded_as_a_grade(course, lossy_run):
    from nbgrader.api import MissingEntry

    _, rows, _ = lossy_run
    assert "grader error" in rows["lost"] and " - " in rows["lost"]
    assert "worker node lost" in rows["lost"]
    with course.gradebook() as gb, pytest.raises(MissingEntry):
        gb.find_submission(A, "lost")
    assert not (course.root / "autograded" / "lost").exists()


def test_a_failure_of_the_grader_is_retried_once(course, lossy_run):
    _, rows, log = lossy_run
    assert "graded" in rows["flaky"] and "grader error" not in rows["flaky"]
    assert course.total(A, "flaky") == course.total(A, "steady") > 0
    assert "flaky, ps03, attempt 1" in log and "flaky, ps03, attempt 2" not in log
    assert "lost, ps03, attempt 1" in log and "lost, ps03, attempt 2" in log


def test_the_preflight_stops_before_anyone_is_graded(tmp_path):
    course = Course.create(tmp_path, [A])
    course.submit("only", A, course.submission(A))
    # too little memory for the kernel to start (importing numpy fails)
    proc = course.isolated_autograde(A, "--memory", "60")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "nobody was graded" in proc.stderr and "Raise --memory" in proc.stderr
    assert not (tmp_path / "autograded" / "only").exists()
    log = (tmp_path / "autograded" / f"autograde-{A}.log").read_text()
    assert "WARNING preflight: " in log  # with the kernel's stderr: Python's or the loader's
    assert "MemoryError" in log or "failed to map segment" in log


def test_the_preflight_names_course_lib_missing_in_the_sandbox_and_the_fix():
    from course_lib.autograde.batch import preflight_message

    # the stderr of a real interpreter that cannot import course_lib
    failed = subprocess.run(
        [sys.executable, "-I", "-S", "-m", "course_lib.autograde.kernel", "0", "1"],
        cwd="/",
        capture_output=True,
        text=True,
    )
    assert failed.returncode != 0
    result = {
        "status": "grader error",
        "kernel_stderr": failed.stderr,
        "reason": "the sandboxed kernel did not start (the other side closed the channel)",
    }
    message = preflight_message(result, "autograded/autograde-ps03.log")
    assert "course_lib cannot be imported inside the sandbox" in message
    assert "make venv" in message and "autograded/autograde-ps03.log" in message


def test_wrongly_named_notebooks_and_folders_are_graded_and_reported(course, lossy_run):
    _, rows, _ = lossy_run
    full = course.total(A, "steady")
    assert course.total(A, "misnamed") == full and course.total(A, "upper") == full
    assert "graded ps03 (1).ipynb as ps03.ipynb" in rows["misnamed"]
    assert "graded the folder PS03/ as ps03/" in rows["upper"]
    assert (course.root / "autograded" / "misnamed" / A / f"{A}.ipynb").exists()


def test_a_rerun_for_one_student_keeps_the_class_log(course, lossy_run):
    before = (course.root / "autograded" / f"autograde-{A}.log").read_text()
    proc = course.isolated_autograde(A, "--student", "steady")
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (course.root / "autograded" / f"autograde-{A}.log").read_text()
    assert log.startswith(before) and "1 submission(s): steady" in log.split(before)[1]
    assert "checksum" not in log  # one line per notebook instead of one per cell


def test_a_mistyped_assignment_suggests_the_closest(course):
    proc = course.isolated_autograde("ps3")
    assert proc.returncode == 2 and "did you mean 'ps03'?" in proc.stderr


def test_regrading_makes_the_next_feedback_show_the_new_grade(course, lossy_run):
    import nbformat

    def feedback_score():
        course.nbgrader("generate_feedback", A, "--student=upper")  # no --force, as documented
        html = (course.root / "feedback" / "upper" / A / f"{A}.html").read_text()
        return float(re.search(r"Score: ([0-9.]+) / ", html).group(1))

    full = course.total(A, "upper")
    assert feedback_score() == full
    folder = course.root / "submitted" / "upper" / "PS03"
    nbformat.write(course.released_notebook(A), folder / f"{A}.ipynb")  # now nothing solved
    proc = course.isolated_autograde(A, "--student", "upper")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert course.total(A, "upper") < full
    assert feedback_score() == course.total(A, "upper")


def test_the_sandbox_imports_the_course_lib_that_grades_not_the_installed_one(course, tmp_path):
    # an instructor grading with another checkout's course_lib first on the path: the
    # environment's editable install points elsewhere, at a directory the sandbox does not
    # show (before the fix: every student 0, "the sandboxed kernel did not start", exit 0)
    import shutil
    from pathlib import Path

    import course_lib

    other = tmp_path / "other-checkout"
    shutil.copytree(
        Path(course_lib.__file__).parent,
        other / "course_lib",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    proc = course.isolated_autograde(A, "--student", "steady", env={"PYTHONPATH": str(other)})
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "graded" in summary_rows(proc.stdout)["steady"]
    assert course.total(A, "steady") == sum(course.cells(A, "tests").values())


def test_regenerating_refuses_once_the_gradebook_holds_submissions(tmp_path):
    course = Course.create(tmp_path, [A])
    released = tmp_path / "exercises" / A / f"{A}.ipynb"
    command = [sys.executable, "-m", "course_lib.autograde.regenerate", A]
    # with the environment not activated and no gradebook yet: nbgrader runs `alembic` to create
    # one, which must still be found
    (tmp_path / "gradebook.db").unlink(missing_ok=True)
    bare = {**os.environ, "PATH": os.defpath}
    fresh = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=bare
    )
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert released.exists()
    before = released.read_bytes()
    with course.gradebook() as gb:
        gb.update_or_create_student("early")
        gb.add_submission(A, "early")
    refused = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2
    assert "refusing to regenerate ps03" in refused.stderr and "early" in refused.stderr
    assert released.read_bytes() == before
