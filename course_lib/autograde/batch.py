"""Grade a class: submissions in, nbgrader gradebook out, one clean worker per submission.

For each student, this process (the only one that opens gradebook.db):

1. reads ``submitted/<student>/<assignment>/`` into a private staging copy, replacing a
   notebook that cannot be read (empty, not JSON, binary, broken structure) by what can be
   recovered of it, and noting the problem;
2. runs nbgrader's own ``Autograde`` converter with its sanitizing preprocessors only
   (restores test cells, points, kernelspec, deleted cells from the gradebook);
3. sends the sanitized notebook, the student's files and the trusted test cells to a worker
   (``worker.grade``) on the executor, which returns outputs as plain data;
4. runs nbgrader's converter again with its usual autograding preprocessors, except that
   ``Execute`` is replaced by :class:`InjectOutputs`: nbgrader's ``SaveAutoGrades`` then
   scores the cells and writes the gradebook, exactly as ``nbgrader autograde`` would.

Steps 1, 2 and 4 are quick and run here; step 3, the slow one, runs in parallel.
"""

from __future__ import annotations

import concurrent.futures
import copy
import importlib
import json
import logging
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Optional, Sequence

import nbformat

from course_lib.autograde import worker

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_FILES_BYTES = 50 * 1024 * 1024


class UsageError(Exception):
    """A problem with the command's input (unknown assignment, student, option)."""


class PreflightFailed(Exception):
    """The grader cannot run a notebook on this machine; nobody was graded. The message
    names the cause and the fix."""


RETRIES = 1
"""Times a notebook is graded again after a failure of the grader (not of the student)."""


@dataclass
class Outcome:
    """How one student's submission was graded."""

    student: str
    status: str = "graded"
    score: Optional[float] = None
    max_score: Optional[float] = None
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    needs_manual_grade: bool = False

    @property
    def grader_failed(self) -> bool:
        """The grader, not the student's code, failed: no grade was recorded."""
        return self.status == worker.GRADER_ERROR


# --------------------------------------------------------------------------------------------
# Reading submissions
# --------------------------------------------------------------------------------------------
def read_notebook(path: str) -> tuple:
    """``(notebook, problem)``: the notebook at ``path`` as nbformat 4, and what was wrong with
    the file (None if nothing). Never raises for bad content: what cannot be recovered is left
    out (in the worst case the notebook has no cells; nbgrader then restores the test cells
    and they fail)."""
    size = os.path.getsize(path)
    if size > MAX_NOTEBOOK_BYTES:
        return nbformat.v4.new_notebook(), (
            f"the notebook is {size / 2**20:.0f} MB, over the "
            f"{MAX_NOTEBOOK_BYTES // 2**20} MB limit"
        )
    with open(path, "rb") as handle:
        raw = handle.read()
    if not raw.strip():
        return nbformat.v4.new_notebook(), "the notebook file is empty"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return nbformat.v4.new_notebook(), "the file is not a notebook (binary data, not text)"
    try:
        data = json.loads(text)
    except RecursionError:
        return nbformat.v4.new_notebook(), "the file is not a notebook (JSON nested too deeply)"
    except ValueError as exc:
        return nbformat.v4.new_notebook(), f"the file is not a notebook (invalid JSON: {exc})"
    if not isinstance(data, dict):
        return nbformat.v4.new_notebook(), "the file is not a notebook (JSON, but not an object)"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises many kinds of errors on bad structure
        nb, kept = _salvage(data)
        return nb, (
            f"the notebook's structure is invalid ({_first_line(exc)}); {kept} cells were recovered"
        )
    if data.get("nbformat") != 4:
        return nb, f"converted from nbformat {data.get('nbformat')} to 4"
    return nb, None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _salvage(data: dict) -> tuple:
    """Rebuild a notebook from whatever well-formed cells ``data`` holds."""
    cells = data.get("cells")
    if not isinstance(cells, list):  # nbformat 3 keeps them in worksheets
        sheets = data.get("worksheets")
        cells = (
            sheets[0].get("cells")
            if isinstance(sheets, list) and sheets and isinstance(sheets[0], dict)
            else []
        )
    nb, kept = nbformat.v4.new_notebook(), 0
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", cell.get("input", ""))
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            continue
        kind = cell.get("cell_type")
        if kind == "code":
            new = nbformat.v4.new_code_cell(source)
        elif kind in ("markdown", "heading"):
            new = nbformat.v4.new_markdown_cell(source)
        elif kind == "raw":
            new = nbformat.v4.new_raw_cell(source)
        else:
            continue
        meta = cell.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("nbgrader"), dict):
            new.metadata["nbgrader"] = json.loads(json.dumps(meta["nbgrader"]))
        nb.cells.append(new)
        kept += 1
    return nb, kept


def restore_metadata(nb, release) -> tuple:
    """Give a notebook whose nbgrader metadata was stripped the released notebook's.

    nbgrader cannot grade such a notebook (its sanitizer fails when it tries to put the
    test cells back). With the same sequence of cell types as the released notebook, the
    metadata is copied cell by cell; otherwise the released notebook is used, each answer
    cell replaced by the student's cell that defines the same functions.
    Returns ``(notebook, note)``.
    """
    if [c.cell_type for c in nb.cells] == [c.cell_type for c in release.cells]:
        for cell, released in zip(nb.cells, release.cells):
            if "nbgrader" in released.metadata:
                cell.metadata["nbgrader"] = copy.deepcopy(released.metadata["nbgrader"])
        return nb, "its nbgrader metadata was missing and was restored cell by cell"
    defines = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            for name in _defined_functions(cell.source):
                defines.setdefault(name, cell.source)
    rebuilt, matched = copy.deepcopy(release), 0
    for cell in rebuilt.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            names = [n for n in _defined_functions(cell.source) if n in defines]
            if names:
                cell.source = defines[names[0]]
                matched += 1
    return rebuilt, (
        f"its nbgrader metadata was missing; {matched} answer cells were matched "
        "by the functions they define"
    )


def _defined_functions(source: str) -> list:
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return [
        node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


def misnamed_notebook(folder: str, name: str, expected: Sequence[str]) -> Optional[str]:
    """The notebook under ``folder`` (a relative path) that a student meant as
    ``name.ipynb`` but named otherwise: "ps03 (1).ipynb", "PS03-2.ipynb",
    "doejane_123_456_ps03.ipynb", "Copy of ps03.ipynb", or the only notebook submitted when
    the assignment has one notebook. None if there is no such notebook or it is ambiguous."""
    import re

    notebooks = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        notebooks += [
            os.path.relpath(os.path.join(dirpath, f), folder)
            for f in filenames
            if f.lower().endswith(".ipynb") and not f.startswith(".")
        ]
    notebooks = [n for n in notebooks if n[: -len(".ipynb")] not in expected]

    def words(path: str) -> list:
        return re.findall(r"[a-z]+\d*|\d+", os.path.basename(path)[: -len(".ipynb")].lower())

    key = name.lower()
    named = [n for n in notebooks if key in words(n) or key in os.path.basename(n).lower()]
    if len(named) == 1:
        return named[0]
    if not named and len(notebooks) == 1 and len(expected) == 1:
        return notebooks[0]
    return None


def _regular_files(root: str) -> dict:
    """``relative path -> bytes`` of the regular files under ``root`` (symbolic links and
    special files are skipped: a link could point at the gradebook)."""
    files, total = {}, 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                continue
            total += info.st_size
            if total > MAX_FILES_BYTES:
                raise UsageError(f"the submission's files exceed {MAX_FILES_BYTES // 2**20} MB")
            with open(path, "rb") as handle:
                files[os.path.relpath(path, root)] = handle.read()
    return files


# --------------------------------------------------------------------------------------------
# nbgrader
# --------------------------------------------------------------------------------------------
def _nbgrader_preprocessor_base():
    from nbgrader.preprocessors import NbGraderPreprocessor

    return NbGraderPreprocessor


class InjectOutputs(_nbgrader_preprocessor_base()):
    """Stands where nbgrader's ``Execute`` stands: gives each code cell the outputs that the
    worker computed, so that nbgrader's ``SaveAutoGrades`` scores them as usual."""

    results: ClassVar[dict] = {}

    def preprocess(self, nb, resources):
        key = (resources["nbgrader"]["student"], resources["nbgrader"]["notebook"])
        result = self.results[key]
        outputs = result["outputs"]
        count = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            count += 1
            cell.execution_count = count
            cell.outputs = [nbformat.from_dict(o) for o in outputs.get(index, [])]
            meta = cell.metadata.get("nbgrader", {})
            if index not in outputs and meta.get("grade") and not meta.get("solution"):
                # a test the worker did not run must not pass for want of an error
                reason = result.get("reason") or "grading stopped before this test"
                cell.outputs = [
                    nbformat.v4.new_output(
                        "error",
                        ename="GradingStopped",
                        evalue=f"not run: {reason}",
                        traceback=[f"GradingStopped: not run: {reason}"],
                    )
                ]
        return nb, resources


class Gradebook:
    """What this command needs from gradebook.db (read here, in the main process)."""

    def __init__(self, db_url: str, course_id: str, assignment: str):
        from nbgrader.api import Gradebook as NbGradebook
        from nbgrader.api import MissingEntry

        self.db_url, self.course_id, self.assignment = db_url, course_id, assignment
        with NbGradebook(db_url, course_id) as gb:
            try:
                found = gb.find_assignment(assignment)
            except MissingEntry:
                known = sorted(a.name for a in gb.assignments)
                raise UsageError(unknown_assignment(assignment, known)) from None
            self.notebooks = sorted(nb.name for nb in found.notebooks)
            self.test_cells, self.trusted_cells = {}, {}
            for notebook in found.notebooks:
                graded = {c.name for c in notebook.grade_cells}
                solution = {c.name for c in notebook.solution_cells}
                tests, trusted = {}, {}
                for cell in notebook.source_cells:
                    if cell.cell_type != "code":
                        continue
                    if cell.name in graded and cell.name not in solution:
                        tests[cell.name] = cell.source
                    elif cell.locked and cell.name not in graded and cell.name not in solution:
                        trusted[cell.name] = cell.source
                self.test_cells[notebook.name] = tests
                self.trusted_cells[notebook.name] = trusted

    def has_submission(self, student: str) -> bool:
        from nbgrader.api import Gradebook as NbGradebook
        from nbgrader.api import MissingEntry

        with NbGradebook(self.db_url, self.course_id) as gb:
            try:
                gb.find_submission(self.assignment, student)
            except MissingEntry:
                return False
            return True

    def remove_submission(self, student: str) -> None:
        """Forget a submission that nbgrader's sanitizing pass entered but nobody graded."""
        from nbgrader.api import Gradebook as NbGradebook

        with NbGradebook(self.db_url, self.course_id) as gb:
            gb.remove_submission(self.assignment, student)

    def score(self, student: str) -> tuple:
        from nbgrader.api import Gradebook as NbGradebook
        from nbgrader.api import MissingEntry

        with NbGradebook(self.db_url, self.course_id) as gb:
            try:
                sub = gb.find_submission(self.assignment, student)
            except MissingEntry:
                return None, None, False
            return sub.score, sub.max_score, bool(sub.needs_manual_grade)


def unknown_assignment(assignment: str, known: Sequence[str]) -> str:
    """The message for an assignment the gradebook does not have: the closest known name
    when it looks like a typo, else how to add it."""
    import difflib

    close = difflib.get_close_matches(assignment, known, n=1, cutoff=0.6)
    if not close:
        close = [k for k in known if k.lower() == assignment.lower()]
    if close:
        return (
            f"assignment {assignment!r} is not in the gradebook; did you mean "
            f"{close[0]!r}? (known: {', '.join(known)})"
        )
    listed = f" (known: {', '.join(known)})" if known else " (it has no assignments yet)"
    return (
        f"assignment {assignment!r} is not in the gradebook{listed}: if it is new, run "
        f"`nbgrader generate_assignment {assignment}` first"
    )


# --------------------------------------------------------------------------------------------
# Executors
# --------------------------------------------------------------------------------------------
def make_executor(spec: str, jobs: int) -> concurrent.futures.Executor:
    """``local`` (a process pool of ``jobs`` workers), ``dask:ADDRESS`` (a running Dask
    cluster, through ``distributed.Client(ADDRESS).get_executor()``) or ``MODULE:FUNCTION``
    (``FUNCTION(jobs)`` returns any ``concurrent.futures.Executor``)."""
    if spec == "local":
        import multiprocessing

        return concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn")
        )
    if spec.startswith("dask:"):
        try:
            from distributed import Client
        except ImportError:
            raise UsageError(
                "--executor dask:... needs the `distributed` package (pip install distributed)"
            ) from None
        return Client(spec[len("dask:") :]).get_executor()
    module, _, function = spec.partition(":")
    if not module or not function:
        raise UsageError(f"--executor must be local, dask:ADDRESS or MODULE:FUNCTION, got {spec!r}")
    try:
        factory = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"--executor {spec}: {exc}") from None
    return factory(jobs)


# --------------------------------------------------------------------------------------------
# The batch
# --------------------------------------------------------------------------------------------
class Batch:
    """Grades ``assignment`` for ``students`` (all who submitted it, if None)."""

    def __init__(
        self,
        assignment: str,
        *,
        course_dir: str = ".",
        students: Optional[Sequence[str]] = None,
        jobs: int = 2,
        executor: str = "local",
        limits=None,
        cell_timeout: Optional[float] = None,
        isolate: bool = True,
        on_progress: Optional[Callable[[Outcome], None]] = None,
    ):
        from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

        self.assignment, self.jobs, self.executor_spec = assignment, jobs, executor
        self.root = os.path.abspath(course_dir)
        self.isolate, self.on_progress = isolate, on_progress
        try:
            self.config = PyFileConfigLoader("nbgrader_config.py", path=self.root).load_config()
        except ConfigFileNotFound:
            raise UsageError(
                f"no nbgrader_config.py in {self.root}: run the command from the "
                "course's root directory"
            ) from None
        from nbgrader.coursedir import CourseDirectory

        self.coursedir = CourseDirectory(config=self.config, root=self.root)
        if limits is None:
            from course_lib.autograde.sandbox import Limits

            limits = Limits()
        self.limits = limits
        timeout = self.config.get("Execute", {}).get("timeout", 60)
        self.cell_timeout = float(cell_timeout or timeout or 60)
        self.gradebook = Gradebook(self.coursedir.db_url, self.coursedir.course_id, assignment)
        self.students = self._find_students(students)
        self.log_path = None

    def _find_students(self, wanted: Optional[Sequence[str]]) -> list:
        base = os.path.join(self.root, self.coursedir.submitted_directory)
        self.folders = {}  # student -> the folder holding the submission, if not ASSIGNMENT
        for student in os.listdir(base) if os.path.isdir(base) else []:
            if not os.path.isdir(os.path.join(base, student)) or os.path.isdir(
                os.path.join(base, student, self.assignment)
            ):
                continue
            other = [
                d
                for d in os.listdir(os.path.join(base, student))
                if d.lower() == self.assignment.lower()
                and os.path.isdir(os.path.join(base, student, d))
            ]
            if other:  # e.g. submitted/alice/PS03/
                self.folders[student] = other[0]
        found = sorted(
            s
            for s in (os.listdir(base) if os.path.isdir(base) else [])
            if os.path.isdir(os.path.join(base, s, self.assignment)) or s in self.folders
        )
        if wanted:
            missing = [s for s in wanted if s not in found]
            if missing:
                raise UsageError(
                    f"no submission of {self.assignment} for: {', '.join(missing)} "
                    f"(looked in {self.coursedir.submitted_directory}/<student>/"
                    f"{self.assignment}/)"
                )
            found = [s for s in found if s in set(wanted)]
        if not found:
            raise UsageError(
                f"no submissions of {self.assignment} in "
                f"{self.coursedir.submitted_directory}/*/{self.assignment}/"
            )
        return found

    # -- nbgrader's converter -----------------------------------------------------------------
    def _convert(self, student: str, staging: str, output: Optional[str]) -> None:
        from nbconvert.preprocessors import ClearMetadataPreprocessor
        from nbgrader.converters import Autograde
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.preprocessors import (
            AssignLatePenalties,
            CheckCellMetadata,
            IgnorePattern,
            LimitOutput,
            SaveAutoGrades,
        )

        config = copy.deepcopy(self.config)
        config.CourseDirectory.submitted_directory = staging
        config.CourseDirectory.assignment_id = self.assignment
        config.CourseDirectory.student_id = student
        if output is not None:  # the sanitizing pass, into a private directory
            config.CourseDirectory.autograded_directory = output
            config.Autograde.autograde_preprocessors = []
        else:
            config.Autograde.autograde_preprocessors = [
                InjectOutputs,
                IgnorePattern,
                ClearMetadataPreprocessor,
                LimitOutput,
                SaveAutoGrades,
                AssignLatePenalties,
                CheckCellMetadata,
            ]
        coursedir = CourseDirectory(config=config, root=self.root)
        app = Autograde(coursedir=coursedir, config=config)
        app.log = self.log
        app.force = True
        app.create_student = True
        app.start()

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> list:
        """Grade every submission; return one :class:`Outcome` per student, in order."""
        if self.isolate:
            from course_lib.autograde.sandbox import check_available

            check_available()
        started = time.monotonic()
        work = tempfile.mkdtemp(prefix="autograde-")
        self.log = logging.getLogger(f"course_lib.autograde.{id(self)}")
        self.log.propagate = False
        self.log.setLevel(logging.INFO)
        self.log_path = os.path.join(
            self.root, self.coursedir.autograded_directory, f"autograde-{self.assignment}.log"
        )
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        # appended to, so that a rerun for a few students keeps the class's earlier runs
        handler = logging.FileHandler(self.log_path, mode="a")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler.addFilter(_ChecksumNotes())
        self.log.addHandler(handler)
        self.log.info(
            f"=== grading {self.assignment}: {len(self.students)} submission(s): "
            f"{', '.join(self.students)}"
        )
        outcomes = {s: Outcome(s) for s in self.students}
        self._known = {s for s in self.students if self.gradebook.has_submission(s)}
        results: dict = {s: {} for s in self.students}
        try:
            executor = make_executor(self.executor_spec, self.jobs)
            with executor:
                self.preflight_seconds = self._preflight(executor)
                futures = {}
                for student in self.students:
                    tasks = self._prepare(student, work, outcomes[student])
                    for task in tasks:
                        futures[executor.submit(worker.grade, task)] = (student, task, 0)
                    if not tasks:
                        self._finish(student, results, outcomes, work)
                    futures = self._collect(executor, futures, results, outcomes, work, block=False)
                self._collect(executor, futures, results, outcomes, work, block=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
            self.log.removeHandler(handler)
            handler.close()
        self.seconds = time.monotonic() - started
        return [outcomes[s] for s in self.students]

    def _prepare(self, student: str, work: str, outcome: Outcome) -> list:
        """Stage and sanitize one submission; the tasks for its notebooks."""
        started = time.monotonic()
        folder = self.folders.get(student, self.assignment)
        if folder != self.assignment:
            outcome.notes.append(f"graded the folder {folder}/ as {self.assignment}/")
        source = os.path.join(self.root, self.coursedir.submitted_directory, student, folder)
        staged = os.path.join(work, "staged", student, self.assignment)
        os.makedirs(staged)
        try:
            files = _regular_files(source)
        except UsageError as exc:
            files = {}
            outcome.status = "malformed"
            outcome.notes.append(str(exc))
        for relpath, content in files.items():
            path = os.path.join(staged, relpath)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(content)
        for name in self.gradebook.notebooks:
            path = os.path.join(staged, f"{name}.ipynb")
            if not os.path.exists(path):
                other = misnamed_notebook(staged, name, self.gradebook.notebooks)
                if other is None:
                    outcome.notes.append(f"{name}.ipynb was not submitted")
                    continue
                os.replace(os.path.join(staged, other), path)
                outcome.notes.append(f"graded {other} as {name}.ipynb (the file was misnamed)")
            nb, problem = read_notebook(path)
            release = os.path.join(
                self.root, self.coursedir.release_directory, self.assignment, f"{name}.ipynb"
            )
            if not nb.cells and os.path.exists(release):
                # nothing usable: grade the released notebook (its tests fail) rather than
                # nothing (nbgrader cannot restore test cells into an empty notebook)
                nb = nbformat.read(release, as_version=4)
            elif not any("nbgrader" in c.metadata for c in nb.cells) and os.path.exists(release):
                nb, restored = restore_metadata(nb, nbformat.read(release, as_version=4))
                problem = f"{problem}; {restored}" if problem else restored
            if problem:
                outcome.notes.append(f"{name}.ipynb: {problem}")
                if not problem.startswith("converted"):
                    outcome.status = "malformed"
                nbformat.write(nb, path)
        sanitized = os.path.join(work, "sanitized")
        try:
            self._convert(student, os.path.join(work, "staged"), sanitized)
        except Exception as exc:
            outcome.status = "crashed"
            outcome.notes.append(f"nbgrader could not read the submission: {_first_line(exc)}")
            return []
        out_dir = os.path.join(sanitized, student, self.assignment)
        shipped = _regular_files(out_dir)
        own = {k: v for k, v in files.items() if not k.endswith(".ipynb")}
        own.update({k: v for k, v in shipped.items() if not k.endswith(".ipynb")})
        tasks = []
        for name in self.gradebook.notebooks:
            path = os.path.join(out_dir, f"{name}.ipynb")
            if not os.path.exists(path):
                continue
            with open(path, encoding="utf-8") as handle:
                nb_json = handle.read()
            tasks.append(
                worker.Task(
                    student=student,
                    notebook=name,
                    nb_json=nb_json,
                    files=own,
                    test_cells=self.gradebook.test_cells[name],
                    trusted_cells=self.gradebook.trusted_cells[name],
                    limits=self.limits,
                    cell_timeout=self.cell_timeout,
                    isolate=self.isolate,
                )
            )
        outcome.seconds += time.monotonic() - started
        return tasks

    def _collect(
        self, executor, futures: dict, results: dict, outcomes: dict, work: str, block: bool
    ) -> dict:
        """Record finished work; when a student's notebooks are all done, save the grades.
        A notebook the grader failed on is graded again once. Returns the futures still
        running."""
        pending = dict(futures)
        while pending:
            done, _ = concurrent.futures.wait(
                pending,
                timeout=None if block else 0,
                return_when=concurrent.futures.FIRST_COMPLETED,
            )
            if not done:
                break
            for future in done:
                student, task, attempt = pending.pop(future)
                notebook = task.notebook
                result = _result_of(future)
                if result["status"] == worker.GRADER_ERROR:
                    self._log_failure(f"{student}, {notebook}, attempt {attempt + 1}", result)
                    if attempt < RETRIES:
                        pending[executor.submit(worker.grade, task)] = (student, task, attempt + 1)
                        continue
                results[student][notebook] = result
                expected = [
                    n
                    for n in self.gradebook.notebooks
                    if os.path.exists(
                        os.path.join(work, "sanitized", student, self.assignment, f"{n}.ipynb")
                    )
                ]
                if all(n in results[student] for n in expected):
                    self._finish(student, results, outcomes, work)
        return pending

    def _finish(self, student: str, results: dict, outcomes: dict, work: str) -> None:
        outcome = outcomes[student]
        failed = [r for r in results[student].values() if r["status"] == worker.GRADER_ERROR]
        if failed:  # nothing is known about the work: no grade, no feedback, the table says why
            outcome.status = worker.GRADER_ERROR
            outcome.notes = [f"not graded, the grader failed: {r['reason']}" for r in failed]
            if student not in self._known:  # entered by the sanitizing pass: it is no grade
                self.gradebook.remove_submission(student)
            outcome.seconds += sum(float(r.get("seconds") or 0) for r in results[student].values())
            if self.on_progress is not None:
                self.on_progress(outcome)
            return
        for notebook, result in results[student].items():
            InjectOutputs.results[(student, notebook)] = result
            if result["status"] != "graded" and outcome.status in ("graded", "malformed"):
                outcome.status = result["status"]
            if result.get("reason"):
                outcome.notes.append(result["reason"])
            outcome.seconds += float(result.get("seconds") or 0)
        started = time.monotonic()
        try:
            self._convert(student, os.path.join(work, "staged"), None)
        except Exception as exc:
            outcome.status = worker.GRADER_ERROR
            outcome.notes.append(f"nbgrader could not save the grades: {_first_line(exc)}")
            self.log.exception(f"{student}: nbgrader could not save the grades")
        finally:
            for notebook in results[student]:
                InjectOutputs.results.pop((student, notebook), None)
        outcome.score, outcome.max_score, outcome.needs_manual_grade = self.gradebook.score(student)
        if outcome.status != worker.GRADER_ERROR:
            self._drop_stale_feedback(student)
        outcome.seconds += time.monotonic() - started
        if self.on_progress is not None:
            self.on_progress(outcome)

    def _drop_stale_feedback(self, student: str) -> None:
        """Remove the feedback of a regraded submission: ``nbgrader generate_feedback`` skips
        a student whose feedback exists (it compares submission times, not grades), so the
        old HTML would otherwise stay. The next generate_feedback writes it anew."""
        stale = os.path.join(self.root, self.coursedir.feedback_directory, student, self.assignment)
        if os.path.isdir(stale):
            shutil.rmtree(stale)
            self.log.info(
                f"{student}: removed the feedback of the previous grading ({stale}); "
                "run nbgrader generate_feedback to write it anew"
            )

    # -- before grading anyone ----------------------------------------------------------------
    def _preflight(self, executor) -> float:
        """Run the released notebook the way submissions run, on the same executor; raise
        :class:`PreflightFailed` naming the cause and the fix if the grader cannot run it.
        Returns the seconds it took."""
        started = time.monotonic()
        name = self.gradebook.notebooks[0]
        release = os.path.join(self.root, self.coursedir.release_directory, self.assignment)
        path = os.path.join(release, f"{name}.ipynb")
        if not os.path.exists(path):
            raise UsageError(
                f"the released notebook {os.path.relpath(path, self.root)} is "
                "missing: generate the student version first (see docs/grading.md)"
            )
        with open(path, encoding="utf-8") as handle:
            nb_json = handle.read()
        files = {k: v for k, v in _regular_files(release).items() if not k.endswith(".ipynb")}
        task = worker.Task(
            student="(preflight)",
            notebook=name,
            nb_json=nb_json,
            files=files,
            test_cells=self.gradebook.test_cells[name],
            trusted_cells=self.gradebook.trusted_cells[name],
            limits=self.limits,
            cell_timeout=self.cell_timeout,
            isolate=self.isolate,
        )
        result = _result_of(executor.submit(worker.grade, task))
        seconds = time.monotonic() - started
        self.log.info(
            f"preflight: the released {name}.ipynb ran in {seconds:.1f} s "
            f"(status: {result['status']})"
        )
        if result["status"] != "graded":
            self._log_failure("preflight", result)
            raise PreflightFailed(preflight_message(result, self.log_path))
        return seconds

    def _log_failure(self, what: str, result: dict) -> None:
        """Put a failed run's reason and the end of the kernel's stderr in the log."""
        stderr = result.get("kernel_stderr")
        if stderr is None:  # the worker did not get as far as a kernel
            note = ""
        elif stderr.strip():
            note = f"\n--- the end of the sandboxed kernel's stderr ---\n{stderr.rstrip()}"
        else:
            note = "\n(the sandboxed kernel wrote nothing to stderr)"
        self.log.warning(f"{what}: {result['status']}: {result.get('reason')}{note}")


class _ChecksumNotes(logging.Filter):
    """nbgrader warns once per locked cell whose checksum changed ("Attribute 'checksum' for
    cell X has changed!"); every cell of an edited or re-saved notebook does. One line per
    notebook says which cells, and that the gradebook's versions were used."""

    def __init__(self):
        super().__init__()
        self.cells: list = []

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if text.startswith("Attribute 'checksum' for cell "):
            self.cells.append(text.split()[4])
            return False
        if self.cells and not text.startswith("Attribute "):
            cells, self.cells = self.cells, []
            record.msg = (
                f"{len(cells)} locked cells differed from the released version and "
                f"were restored from the gradebook ({', '.join(cells)})\n"
                f"{record.getMessage()}"
            )
            record.args = ()
        return True


def _result_of(future) -> dict:
    """A worker's result; an exception of the worker itself is a failure of the grader."""
    try:
        return future.result()
    except Exception as exc:
        return {
            "status": worker.GRADER_ERROR,
            "reason": f"the grading worker failed: {exc!r}"[:300],
            "outputs": {},
            "kernel_startup": None,
            "seconds": 0.0,
        }


def preflight_message(result: dict, log_path: Optional[str]) -> str:
    """What went wrong when the released notebook did not run, and what to do about it."""
    import re
    import sys

    stderr = result.get("kernel_stderr") or ""
    package = os.path.dirname(os.path.dirname(os.path.abspath(worker.__file__)))
    missing = re.findall(r"No module named '([^']+)'", stderr)
    if missing and missing[-1].split(".")[0] == "course_lib":
        cause = (
            f"course_lib cannot be imported inside the sandbox, which shows only the "
            f"Python installation ({sys.prefix}) and the course_lib this command runs "
            f"({package})."
        )
        fix = (
            "Install course_lib from this course directory into the environment you grade "
            "with (`make venv`, or `pip install -e .` from the course's root), then run "
            "`.venv/bin/python -m course_lib.autograde ...` from there."
        )
    elif missing:
        cause = (
            f"the module {missing[-1]!r} is missing from the grading environment ({sys.prefix})."
        )
        fix = "Install the course's requirements there: `pip install -r requirements.txt`."
    elif "sandbox setup failed" in stderr:
        line = [x for x in stderr.splitlines() if "sandbox setup failed" in x][-1]
        cause = f"the sandbox could not be set up ({line.strip()})."
        fix = "Fix that step (docs/deployment.md), or grade on a machine where sandboxes work."
    elif result["status"] == "memory limit" or any(
        sign in stderr
        for sign in ("MemoryError", "failed to map segment", "Cannot allocate memory")
    ):  # out of address space: Python's error, or the loader's when a library is mapped
        cause = "the memory limit is too small for Python and the course's libraries."
        fix = "Raise --memory (the default is 2048 MiB)."
    elif result["status"] == "timed out":
        cause = f"the released notebook did not finish in time ({result.get('reason')})."
        fix = "Raise --wall-time or --cell-timeout, or run fewer --jobs on a loaded machine."
    else:
        last = [x for x in stderr.strip().splitlines() if x.strip()][-1:] or ["(nothing)"]
        cause = f"{result.get('reason') or result['status']}; the kernel's last words: {last[0]}"
        fix = "See the log for the kernel's stderr."
    where = f" The log {log_path} has the kernel's stderr." if log_path else ""
    return (
        f"nobody was graded: the released notebook could not be run in the sandbox: "
        f"{cause} {fix}{where}"
    )
