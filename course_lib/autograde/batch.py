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
        return nbformat.v4.new_notebook(), (f"the notebook is {size / 2**20:.0f} MB, over the "
                                            f"{MAX_NOTEBOOK_BYTES // 2**20} MB limit")
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
        return nb, (f"the notebook's structure is invalid ({_first_line(exc)}); "
                    f"{kept} cells were recovered")
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
        cells = sheets[0].get("cells") if isinstance(sheets, list) and sheets and isinstance(
            sheets[0], dict) else []
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
    return rebuilt, (f"its nbgrader metadata was missing; {matched} answer cells were matched "
                     "by the functions they define")


def _defined_functions(source: str) -> list:
    import ast
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


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
                cell.outputs = [nbformat.v4.new_output(
                    "error", ename="GradingStopped", evalue=f"not run: {reason}",
                    traceback=[f"GradingStopped: not run: {reason}"])]
        return nb, resources


class Gradebook:
    """What this command needs from gradebook.db (read here, in the main process)."""

    def __init__(self, db_url: str, course_id: str, assignment: str):
        from nbgrader.api import Gradebook as NbGradebook, MissingEntry

        self.db_url, self.course_id, self.assignment = db_url, course_id, assignment
        with NbGradebook(db_url, course_id) as gb:
            try:
                found = gb.find_assignment(assignment)
            except MissingEntry:
                raise UsageError(f"assignment {assignment!r} is not in the gradebook: run "
                                 f"`nbgrader generate_assignment {assignment}` first") from None
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

    def score(self, student: str) -> tuple:
        from nbgrader.api import Gradebook as NbGradebook, MissingEntry

        with NbGradebook(self.db_url, self.course_id) as gb:
            try:
                sub = gb.find_submission(self.assignment, student)
            except MissingEntry:
                return None, None, False
            return sub.score, sub.max_score, bool(sub.needs_manual_grade)


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
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    if spec.startswith("dask:"):
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--executor dask:... needs the `distributed` package "
                             "(pip install distributed)") from None
        return Client(spec[len("dask:"):]).get_executor()
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

    def __init__(self, assignment: str, *, course_dir: str = ".",
                 students: Optional[Sequence[str]] = None, jobs: int = 2,
                 executor: str = "local", limits=None, cell_timeout: Optional[float] = None,
                 isolate: bool = True,
                 on_progress: Optional[Callable[[Outcome], None]] = None):
        from traitlets.config.loader import PyFileConfigLoader, ConfigFileNotFound

        self.assignment, self.jobs, self.executor_spec = assignment, jobs, executor
        self.root = os.path.abspath(course_dir)
        self.isolate, self.on_progress = isolate, on_progress
        try:
            self.config = PyFileConfigLoader("nbgrader_config.py", path=self.root).load_config()
        except ConfigFileNotFound:
            raise UsageError(f"no nbgrader_config.py in {self.root}: run the command from the "
                             "course's root directory") from None
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
        found = sorted(s for s in (os.listdir(base) if os.path.isdir(base) else [])
                       if os.path.isdir(os.path.join(base, s, self.assignment)))
        if wanted:
            missing = [s for s in wanted if s not in found]
            if missing:
                raise UsageError(f"no submission of {self.assignment} for: {', '.join(missing)} "
                                 f"(looked in {self.coursedir.submitted_directory}/<student>/"
                                 f"{self.assignment}/)")
            found = [s for s in found if s in set(wanted)]
        if not found:
            raise UsageError(f"no submissions of {self.assignment} in "
                             f"{self.coursedir.submitted_directory}/*/{self.assignment}/")
        return found

    # -- nbgrader's converter -----------------------------------------------------------------
    def _convert(self, student: str, staging: str, output: Optional[str]) -> None:
        from nbconvert.preprocessors import ClearMetadataPreprocessor
        from nbgrader.converters import Autograde
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,
                                            LimitOutput, SaveAutoGrades)

        config = copy.deepcopy(self.config)
        config.CourseDirectory.submitted_directory = staging
        config.CourseDirectory.assignment_id = self.assignment
        config.CourseDirectory.student_id = student
        if output is not None:  # the sanitizing pass, into a private directory
            config.CourseDirectory.autograded_directory = output
            config.Autograde.autograde_preprocessors = []
        else:
            config.Autograde.autograde_preprocessors = [
                InjectOutputs, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
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
        self.log_path = os.path.join(self.root, self.coursedir.autograded_directory,
                                     f"autograde-{self.assignment}.log")
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        handler = logging.FileHandler(self.log_path, mode="w")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.log.addHandler(handler)
        outcomes = {s: Outcome(s) for s in self.students}
        results: dict = {s: {} for s in self.students}
        try:
            executor = make_executor(self.executor_spec, self.jobs)
            with executor:
                futures = {}
                for student in self.students:
                    tasks = self._prepare(student, work, outcomes[student])
                    for task in tasks:
                        futures[executor.submit(worker.grade, task)] = (student, task.notebook)
                    if not tasks:
                        self._finish(student, results, outcomes, work)
                    futures = self._collect(futures, results, outcomes, work, block=False)
                self._collect(futures, results, outcomes, work, block=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
            self.log.removeHandler(handler)
            handler.close()
        self.seconds = time.monotonic() - started
        return [outcomes[s] for s in self.students]

    def _prepare(self, student: str, work: str, outcome: Outcome) -> list:
        """Stage and sanitize one submission; the tasks for its notebooks."""
        started = time.monotonic()
        source = os.path.join(self.root, self.coursedir.submitted_directory, student,
                              self.assignment)
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
                outcome.notes.append(f"{name}.ipynb was not submitted")
                continue
            nb, problem = read_notebook(path)
            release = os.path.join(self.root, self.coursedir.release_directory,
                                   self.assignment, f"{name}.ipynb")
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
            tasks.append(worker.Task(
                student=student, notebook=name, nb_json=nb_json, files=own,
                test_cells=self.gradebook.test_cells[name],
                trusted_cells=self.gradebook.trusted_cells[name], limits=self.limits,
                cell_timeout=self.cell_timeout, isolate=self.isolate))
        outcome.seconds += time.monotonic() - started
        return tasks

    def _collect(self, futures: dict, results: dict, outcomes: dict, work: str,
                 block: bool) -> dict:
        """Record finished work; when a student's notebooks are all done, save the grades.
        Returns the futures still running."""
        pending = dict(futures)
        while pending:
            done, _ = concurrent.futures.wait(
                pending, timeout=None if block else 0,
                return_when=concurrent.futures.FIRST_COMPLETED)
            if not done:
                break
            for future in done:
                student, notebook = pending.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # the worker itself failed: report, go on
                    result = {"status": "crashed", "reason": f"grading failed: {exc!r}"[:300],
                              "outputs": {}, "kernel_startup": None, "seconds": 0.0}
                results[student][notebook] = result
                expected = [n for n in self.gradebook.notebooks if os.path.exists(os.path.join(
                    work, "sanitized", student, self.assignment, f"{n}.ipynb"))]
                if all(n in results[student] for n in expected):
                    self._finish(student, results, outcomes, work)
        return pending

    def _finish(self, student: str, results: dict, outcomes: dict, work: str) -> None:
        outcome = outcomes[student]
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
            outcome.status = "crashed"
            outcome.notes.append(f"nbgrader could not save the grades: {_first_line(exc)}")
        finally:
            for notebook in results[student]:
                InjectOutputs.results.pop((student, notebook), None)
        outcome.score, outcome.max_score, outcome.needs_manual_grade = \
            self.gradebook.score(student)
        outcome.seconds += time.monotonic() - started
        if self.on_progress is not None:
            self.on_progress(outcome)
