"""A throw-away nbgrader course for end-to-end tests of the assignments.

Everything goes through the real pipeline: the repository's nbgrader_config.py, the real
``nbgrader`` commands (as subprocesses, with real kernels) and the real gradebook::

    course = Course.create(tmp_path, ["ps01"])          # copies config + solutions, generates
    nb = course.submission("ps01")                      # released notebook + solution code
    wrong = course.submission("ps01", {"local_random_search": "def local_random_search..."})
    course.submit("alice", "ps01", nb)
    course.submit("bob", "ps01", wrong)
    course.autograde("ps01")                            # one call grades every new submission
    course.scores("ps01", "bob")                        # {"test_local_search_moves": 0.0, ...}
    html = course.feedback("ps01", "bob")               # the HTML the student receives

Build one course per test module or class and autograde all its students in one call: each
notebook costs a kernel start and its cells. ``AssignmentPipeline`` is the standard set of
end-to-end tests of an assignment (one grading of its corpus per grader, shared by every
test); ``AssignmentChecks`` (at the end) is the standard set of in-process tests of its
checkers, driven by the assignment's tables; ``run_in_process`` grades a source notebook
without nbgrader, for fast tests of checkers and wrong submissions.
"""

from __future__ import annotations

import csv
import html as html_lib
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection, Iterable, Mapping, Optional, Sequence

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
COURSE_ID = "optimization-for-deep-learning"  # must match nbgrader_config.py

_SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def strip_solution_markers(source: str) -> str:
    """Source of a solution cell as a student would write it (no BEGIN/END SOLUTION lines)."""
    return _SOLUTION_MARKERS.sub("", source)


class SourceNotebook:
    """An assignment's instructor notebook, and students made from it by typical mistakes.

    ``mistakes`` maps a name to ``(answer cell, old, new, message, lost cells)`` or
    ``(answer cell, [(old, new), ...], message, lost cells)``: the mistake replaces ``old`` by
    ``new`` in the solution of that answer cell.
    """

    def __init__(self, assignment: str, mistakes: Mapping):
        self.path = REPO / "solutions" / assignment / f"{assignment}.ipynb"
        self.alternative_path = (
            REPO / "solutions" / assignment / "alternatives" / f"{assignment}_alternative.ipynb"
        )
        self.mistakes = mistakes

    def notebook(self):
        return nbformat.read(self.path, as_version=4)

    def solutions(self) -> dict:
        """grade_id -> the solution code of every answer cell."""
        return {
            nbgrader_meta(c)["grade_id"]: strip_solution_markers(c.source)
            for c in self.notebook().cells
            if nbgrader_meta(c).get("solution")
        }

    def with_mistakes(self, *names: str) -> dict:
        """Answer cells (grade_id -> code) of a student who makes these mistakes."""
        answers, solutions = {}, self.solutions()
        for name in names:
            gid, edits = self.mistakes[name][0], self.mistakes[name][1]
            if isinstance(edits, str):
                edits = [(edits, self.mistakes[name][2])]
            code = answers.get(gid, solutions[gid])
            for old, new in edits:
                assert old in code, f"{name}: the solution no longer contains {old!r}"
                code = code.replace(old, new)
            answers[gid] = code
        return answers

    def namespace(self, skip: Collection[str] = ()) -> dict:
        """The solution's functions: the setup and answer cells (but ``skip``) run in-process."""
        ns = {"__name__": "__main__"}
        for cell in self.notebook().cells:
            m = nbgrader_meta(cell)
            wanted = m.get("solution") or m.get("grade_id") == "setup"
            if cell.cell_type == "code" and wanted and m.get("grade_id") not in skip:
                exec(strip_solution_markers(cell.source), ns)
        return ns

    def points(self) -> dict:
        """grade_id -> points of every autograded test cell."""
        return {
            nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"])
            for c in self.notebook().cells
            if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")
        }

    def alternative_answers(self) -> dict:
        """The answer cells (grade_id -> code) of the second correct solution,
        ``solutions/<ps>/alternatives/<ps>_alternative.ipynb`` (which the similarity report
        also reads): graded in the pipeline, and by the checkers on many seeds."""
        return {
            nbgrader_meta(c)["grade_id"]: c.source
            for c in nbformat.read(self.alternative_path, as_version=4).cells
            if nbgrader_meta(c).get("solution")
        }

    def assert_points(self, autograded: float, written: float = 3) -> None:
        """The autograded test cells carry ``autograded`` points, the written task ``written``,
        and the notebook's first cell announces the sum in bold."""
        assert sum(self.points().values()) == autograded
        nb = self.notebook()
        task = next(c for c in nb.cells if nbgrader_meta(c).get("task"))
        assert nbgrader_meta(task)["points"] == written
        total = autograded + written
        assert f"**{total:g}**" in nb.cells[0].source


def text_of_html(html: str) -> str:
    """The visible text of an HTML page, whitespace collapsed (for "is this line shown?").

    Highlighted code is split over many <span> elements; removing the tags and collapsing
    whitespace turns it back into the source text.
    """
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL | re.IGNORECASE)
    text = html_lib.unescape(re.sub(r"<[^>]+>", "", html))
    return re.sub(r"\s+", " ", text)


def normalize(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def secret_lines(nb, min_length: int = 12) -> list[str]:
    """Lines of a source notebook that students must never see: hidden tests and mark schemes.

    Short or generic lines (shorter than ``min_length``) are left out; so are lines that also
    appear elsewhere in the notebook, outside the secret regions.
    """
    regions = [("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"), ("BEGIN MARK SCHEME", "END MARK SCHEME")]
    secret, public = [], set()
    for cell in nb.cells:
        inside = None
        for line in cell.source.splitlines():
            if inside is None:
                inside = next((end for begin, end in regions if begin in line), None)
                if inside is None:
                    public.add(normalize(line))
            elif inside in line:
                inside = None
            else:
                secret.append(normalize(line))
    return [s for s in dict.fromkeys(secret) if len(s) >= min_length and s not in public]


def run_in_process(nb, answers: Optional[Mapping[str, str]] = None) -> dict:
    """Grade a source notebook quickly, without nbgrader or a kernel: grade_id -> error.

    Executes the code cells in order in one fresh namespace (answer cells with their solution
    code, or ``answers[grade_id]`` instead) and returns, for every autograded test cell,
    None if it passed or the text of the exception it raised. Hidden tests run too (the
    source notebook has them). A quick way to iterate on checkers and wrong submissions; the
    real pipeline is ``Course``.
    """
    answers = dict(answers or {})
    namespace: dict = {"__name__": "__main__"}
    results = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        m = nbgrader_meta(cell)
        gid = m.get("grade_id")
        source = answers.get(gid, strip_solution_markers(cell.source))
        try:
            exec(compile(source, f"<cell {gid or 'code'}>", "exec"), namespace)
            error = None
        except Exception as exc:  # a failing cell is a result
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if m.get("grade") and not m.get("solution"):
            results[gid] = error
    if "matplotlib.pyplot" in sys.modules:  # figures made by the notebook's cells
        sys.modules["matplotlib.pyplot"].close("all")
    return results


class Course:
    """A temporary nbgrader course directory built from this repository."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.timings: list[tuple[str, float]] = []  # (command, seconds) of every nbgrader call

    # ---------------------------------------------------------------------------------------
    # Setting up
    # ---------------------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, assignments: Sequence[str], generate: bool = True) -> "Course":
        """Copy nbgrader_config.py and ``solutions/<assignment>`` into ``root``; with
        ``generate``, run ``nbgrader generate_assignment`` (which also fills the gradebook)."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
        for a in assignments:
            shutil.copytree(
                REPO / "solutions" / a,
                root / "solutions" / a,
                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
            )
        course = cls(root)
        if generate:
            for a in assignments:
                course.nbgrader("generate_assignment", a, "--force")
        return course

    def nbgrader(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 900,
        env: Optional[Mapping[str, str]] = None,
    ) -> subprocess.CompletedProcess:
        """Run ``nbgrader <args>`` in the course directory (the venv's nbgrader, whose helper
        programs such as ``alembic`` must be on PATH)."""
        full_env = dict(os.environ)
        full_env["PATH"] = os.pathsep.join(
            [str(Path(sys.executable).parent), full_env.get("PATH", "")]
        )
        full_env.update(env or {})
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "nbgrader", *args],
            cwd=self.root,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.timings.append((" ".join(args), time.perf_counter() - start))
        if check and proc.returncode != 0:
            raise AssertionError(
                f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout}\n{proc.stderr}"
            )
        return proc

    # ---------------------------------------------------------------------------------------
    # Notebooks
    # ---------------------------------------------------------------------------------------
    def _path(self, kind: str, assignment: str, notebook: Optional[str]) -> Path:
        folder = self.root / kind / assignment
        return folder / f"{notebook or assignment}.ipynb"

    def source_notebook(self, assignment: str, notebook: Optional[str] = None):
        return nbformat.read(self._path("solutions", assignment, notebook), as_version=4)

    def released_notebook(self, assignment: str, notebook: Optional[str] = None):
        return nbformat.read(self._path("exercises", assignment, notebook), as_version=4)

    def cells(self, assignment: str, kind: str, notebook: Optional[str] = None) -> dict:
        """grade_id -> points (tests, tasks) or source (solutions) of the source notebook.

        kind: "tests" (autograded test cells), "tasks" (manually graded), "solutions"
        (answer cells, with the solution code), "manual" (manually graded answers).
        """
        wanted = {
            "tests": lambda m: m.get("grade") and not m.get("solution"),
            "tasks": lambda m: m.get("task"),
            "manual": lambda m: m.get("grade") and m.get("solution"),
            "solutions": lambda m: m.get("solution"),
        }[kind]
        out = {}
        for cell in self.source_notebook(assignment, notebook).cells:
            m = nbgrader_meta(cell)
            if wanted(m):
                out[m["grade_id"]] = (
                    strip_solution_markers(cell.source)
                    if kind == "solutions"
                    else float(m["points"])
                )
        return out

    def submission(
        self,
        assignment: str,
        answers: Optional[Mapping[str, str]] = None,
        *,
        fill_solutions: bool = True,
        delete: Iterable[str] = (),
        replace: Optional[Mapping[str, str]] = None,
        notebook: Optional[str] = None,
    ):
        """What a student hands in: the released notebook with its answer cells filled.

        Args:
          answers: grade_id -> code for particular answer cells (a student's own code).
          fill_solutions: fill the other answer cells with the solution code; if False they
            keep the released stub.
          delete: grade_ids of cells the student deleted.
          replace: grade_id -> new source for any cell, tests included (a student who edits a
            test cell).
        """
        nb = self.released_notebook(assignment, notebook)
        solutions = self.cells(assignment, "solutions", notebook) if fill_solutions else {}
        answers, replace, delete = dict(answers or {}), dict(replace or {}), set(delete)
        known = {nbgrader_meta(c).get("grade_id") for c in nb.cells}
        unknown = (set(answers) | set(replace) | delete) - known
        assert not unknown, f"no cells with grade_id {sorted(unknown)} in {assignment}"
        kept = []
        for cell in nb.cells:
            gid = nbgrader_meta(cell).get("grade_id")
            if gid in delete:
                continue
            if gid in answers:
                cell.source = answers[gid]
            elif gid in replace:
                cell.source = replace[gid]
            elif gid in solutions and nbgrader_meta(cell).get("solution"):
                cell.source = solutions[gid]
            kept.append(cell)
        nb.cells = kept
        return nb

    def submit(
        self,
        student: str,
        assignment: str,
        nb,
        notebook: Optional[str] = None,
        timestamp: Optional[str] = None,
    ) -> Path:
        """Place a notebook where ``nbgrader collect`` would: submitted/<student>/<assignment>."""
        path = self._path(f"submitted/{student}", assignment, notebook)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        if timestamp is not None:
            (path.parent / "timestamp.txt").write_text(timestamp)
        return path

    def lms_export(
        self, assignment: str, files: Mapping[str, object], archive: str = "submissions.zip"
    ) -> Path:
        """Write an LMS-style zip (file name -> notebook) to downloaded/<assignment>/archive/,
        the place ``nbgrader zip_collect`` reads."""
        folder = self.root / "downloaded" / assignment / "archive"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / archive
        with zipfile.ZipFile(path, "w") as zf:
            for name, nb in files.items():
                zf.writestr(name, nbformat.writes(nb))
        return path

    # ---------------------------------------------------------------------------------------
    # Grading
    # ---------------------------------------------------------------------------------------
    def autograde(
        self,
        assignment: str,
        *extra: str,
        force: bool = False,
        env: Optional[Mapping[str, str]] = None,
    ) -> subprocess.CompletedProcess:
        """``nbgrader autograde <assignment>``: grades every submission not graded yet (all of
        them with ``force``). Returns the process; a notebook that could not be graded makes
        nbgrader exit non-zero, so the return code is not checked here."""
        args = ["autograde", assignment, *extra] + (["--force"] if force else [])
        return self.nbgrader(*args, check=False, env=env)

    def isolated_autograde(
        self, assignment: str, *extra: str, env: Optional[Mapping[str, str]] = None
    ) -> subprocess.CompletedProcess:
        """``python -m course_lib.autograde <assignment>``: every submission, each in its own
        sandbox, checks made outside the student's code."""
        full_env = {**os.environ, **(env or {})}
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "course_lib.autograde", assignment, "-q", *extra],
            cwd=self.root,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        self.timings.append((f"course_lib.autograde {assignment}", time.perf_counter() - start))
        return proc

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(f"sqlite:///{self.root / 'gradebook.db'}", COURSE_ID)

    def grades(self, assignment: str, student: str, notebook: Optional[str] = None) -> dict:
        """grade_id -> dict(score, auto_score, manual_score, max_score, needs_manual_grade)."""
        with self.gradebook() as gb:
            sub = gb.find_submission_notebook(notebook or assignment, assignment, student)
            return {
                g.name: {
                    "score": g.score,
                    "auto_score": g.auto_score,
                    "manual_score": g.manual_score,
                    "max_score": g.max_score,
                    "needs_manual_grade": g.needs_manual_grade,
                }
                for g in sub.grades
            }

    def scores(self, assignment: str, student: str, notebook: Optional[str] = None) -> dict:
        """grade_id -> autograded score of every autograded test cell."""
        tests = self.cells(assignment, "tests", notebook)
        grades = self.grades(assignment, student, notebook)
        return {gid: grades[gid]["auto_score"] for gid in tests}

    def total(self, assignment: str, student: str) -> float:
        """The submission's score in the gradebook (autograded plus any manual grades)."""
        with self.gradebook() as gb:
            return float(gb.find_submission(assignment, student).score)

    def set_manual_grade(
        self,
        assignment: str,
        student: str,
        grade_id: str,
        score: float,
        notebook: Optional[str] = None,
        comment: str = "",
    ) -> None:
        """What a grader does in formgrader: give points to a manually graded cell."""
        with self.gradebook() as gb:
            grade = gb.find_grade(grade_id, notebook or assignment, assignment, student)
            grade.manual_score = score
            if comment:
                gb.find_comment(
                    grade_id, notebook or assignment, assignment, student
                ).manual_comment = comment
            gb.db.commit()

    def autograded_notebook(self, assignment: str, student: str, notebook: Optional[str] = None):
        return nbformat.read(
            self._path(f"autograded/{student}", assignment, notebook), as_version=4
        )

    def generate_feedback(self, assignment: str, student: Optional[str] = None) -> None:
        args = ["generate_feedback", assignment, "--force"]
        if student:
            args.append(f"--student={student}")
        self.nbgrader(*args)

    def feedback(
        self,
        assignment: str,
        student: str,
        notebook: Optional[str] = None,
        regenerate: bool = False,
    ) -> str:
        """The feedback HTML of a student (generated on first use)."""
        path = self.root / "feedback" / student / assignment / f"{notebook or assignment}.html"
        if regenerate or not path.exists():
            self.generate_feedback(assignment, student)
        return path.read_text()

    def validate(self, path: Path, invert: bool = False) -> subprocess.CompletedProcess:
        """``nbgrader validate [--invert] <path>``; read its verdict from stdout."""
        args = ["validate", str(path)] + (["--invert"] if invert else [])
        return self.nbgrader(*args, check=False)

    def export_csv(self, path: Optional[Path] = None) -> Path:
        path = Path(path or self.root / "grades.csv")
        self.nbgrader("export", f"--to={path}")
        return path


# --------------------------------------------------------------------------------------------
# The standard end-to-end tests of an assignment
# --------------------------------------------------------------------------------------------
@dataclass
class Student:
    """One submission of an end-to-end test.

    Attributes:
      answers: grade_id -> code for answer cells the student wrote differently; every other
        answer cell gets the solution.
      lost: the test cells that must score 0 (all others must earn their points).
      released: hand in the released notebook untouched (answers are ignored).
      delete: grade_ids of cells the student deleted.
      replace: grade_id -> new source of cells the student edited (test cells included).
      lms_file: hand the notebook in through the LMS export under this file name (collected
        with ``nbgrader zip_collect``) instead of placing it in submitted/ directly.
    """

    answers: Mapping[str, str] = field(default_factory=dict)
    lost: Collection[str] = ()
    released: bool = False
    delete: Collection[str] = ()
    replace: Mapping[str, str] = field(default_factory=dict)
    lms_file: Optional[str] = None


def replace_solution(source: str, code: str) -> str:
    """``source`` (with BEGIN/END SOLUTION markers) with the solution region replaced by
    ``code``, indented like the markers: e.g. ``replace_solution(src, "while True:\\n    pass")``
    gives a function that never returns."""
    match = re.search(
        r"^([ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[ \t]*$", source, re.MULTILINE | re.DOTALL
    )
    assert match, "no solution region"
    indent = match.group(1)
    body = "\n".join(indent + line if line else line for line in code.splitlines())
    return source[: match.start()] + body + source[match.end() :]


BROKEN_NOTEBOOKS = (
    "raises_at_import",
    "loops_in_function",
    "loops_at_top_level",
    "deleted_test_cell",
    "edited_test_cell",
)
"""Students of an assignment's pipeline whose notebooks test the graders' handling of broken
submissions (see ``AssignmentPipeline.broken_notebooks``)."""


class AssignmentPipeline:
    """Standard end-to-end tests of one assignment; subclass it in the assignment's test module::

        class TestPipeline(AssignmentPipeline):
            assignment = "ps02"
            students = {"solution": Student(), "released": Student(released=True, lost=ALL),
                        "forward_difference": Student({"numerical_gradient": WRONG},
                                                      lost={"test_numerical_gradient"}), ...}
            feedback_messages = [("forward_difference", "you used a forward difference")]

    pytest collects the subclass with every ``test_*`` method below. One course is built per
    class; all submissions are autograded in one ``nbgrader autograde`` call, with a short
    cell timeout and function time limit (``autograde_args``, ``autograde_env``) so that
    submissions that loop forever stay cheap. ``students`` must include "solution"
    (``Student()``) and "released" (``Student(released=True, lost=<every test cell>)``).
    """

    assignment: str = ""
    students: Mapping[str, Student] = {}
    feedback_messages: Sequence[tuple[str, str]] = ()  # (student, text its feedback must show)
    # (student, test cell) of a submission that fails only a hidden test, in that cell
    hidden_failure: tuple[str, str] = ("", "")
    # test cells of the released notebook that fail otherwise than "not implemented yet"
    # (a test of an experiment whose results do not exist yet)
    released_without_stub: int = 0
    # run `nbgrader validate` on this assignment (its source and released notebooks): it
    # executes both again, so one assignment of the course does it
    validate: bool = False
    # grade the broken notebooks (BROKEN_NOTEBOOKS: an import error, endless loops, a deleted
    # or edited test cell) of ``students``: they test the graders, not the assignment, so one
    # assignment of the course does it; elsewhere they are left out of the corpus
    broken_notebooks: bool = False
    # follow docs/grading.md's whole instructor workflow with the course's grader (release to
    # an exchange, grade with ``python -m course_lib.autograde``, manual grades, feedback,
    # export): one assignment of the course does it
    workflow: bool = False
    autograde_args: Sequence[str] = ("--Execute.timeout=8",)
    autograde_env: Mapping[str, str] = {"COURSE_GRADING_TIME_LIMIT": "2"}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.broken_notebooks:
            cls.students = {
                name: s for name, s in cls.students.items() if name not in BROKEN_NOTEBOOKS
            }
            cls.feedback_messages = [
                (name, text) for name, text in cls.feedback_messages if name not in BROKEN_NOTEBOOKS
            ]

    def pytest_generate_tests(self, metafunc):
        if "student" in metafunc.fixturenames:
            metafunc.parametrize("student", sorted(self.students))
        if "feedback_case" in metafunc.fixturenames:
            metafunc.parametrize(
                "feedback_case",
                list(self.feedback_messages),
                ids=[f"{s}-{i}" for i, (s, _) in enumerate(self.feedback_messages)],
            )

    @pytest.fixture(scope="class")
    @classmethod
    def course(cls, tmp_path_factory):
        """The course, graded once by ``nbgrader autograde``; every test of the class reads
        it. Before grading, a copy of the generated course is kept for ``isolated`` (so the
        assignment is generated once), and after it the grader gives the solution's manually
        graded cells half their points (read by the feedback and export tests)."""
        a = cls.assignment
        assert {"solution", "released"} <= set(cls.students)
        course = Course.create(tmp_path_factory.mktemp(a), [a])
        if cls.workflow:  # what students fetch on a JupyterHub exchange
            course.exchange = course.root / "exchange"
            course.exchange.mkdir()
            course.nbgrader("release_assignment", a, f"--Exchange.root={course.exchange}")
        export = {}
        for name, s in cls.students.items():
            nb = course.submission(
                a,
                None if s.released else s.answers,
                fill_solutions=not s.released,
                delete=s.delete,
                replace=s.replace,
            )
            if s.lms_file:
                export[s.lms_file] = nb
            else:
                course.submit(name, a, nb)
        if export:
            course.lms_export(a, export)
            course.nbgrader("zip_collect", a)
        course.twin_root = tmp_path_factory.mktemp(f"{a}-isolated")
        shutil.copytree(
            course.root,
            course.twin_root,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("downloaded"),
        )
        course.autograde_process = course.autograde(a, *cls.autograde_args, env=cls.autograde_env)
        course.manual = {
            gid: p / 2
            for gid, p in {**course.cells(a, "tasks"), **course.cells(a, "manual")}.items()
        }
        for gid, score in course.manual.items():
            course.set_manual_grade(a, "solution", gid, score)
        return course

    @pytest.fixture(scope="class")
    @classmethod
    def isolated(cls, course):
        """The same submissions in a second course, graded by ``python -m
        course_lib.autograde`` (sandboxed, test cells run outside the student's kernel)."""
        twin = Course(course.twin_root)
        twin.autograde_process = twin.isolated_autograde(
            cls.assignment, "--cell-timeout", "8", env=cls.autograde_env
        )
        return twin

    @pytest.fixture(scope="class")
    @classmethod
    def feedback(cls, course):
        course.generate_feedback(cls.assignment)  # every student, one call
        return lambda student: course.feedback(cls.assignment, student)

    def test_the_batch_grades_every_submission_even_broken_ones(self, course):
        proc = course.autograde_process
        assert proc.returncode == 0, proc.stderr[-3000:]
        for name in self.students:
            path = course.root / "autograded" / name / self.assignment
            assert (path / f"{self.assignment}.ipynb").exists(), name

    def test_each_submission_earns_exactly_the_points_it_should(self, course, student):
        a = self.assignment
        tests = course.cells(a, "tests")
        lost = set(self.students[student].lost)
        assert lost <= set(tests), f"unknown test cells {lost - set(tests)}"
        expected = {gid: 0.0 if gid in lost else p for gid, p in tests.items()}
        assert course.scores(a, student) == expected
        grades = course.grades(a, student)
        for gid, p in {**course.cells(a, "tasks"), **course.cells(a, "manual")}.items():
            manual = course.manual[gid] if student == "solution" else None
            assert grades[gid]["max_score"] == p and grades[gid]["manual_score"] == manual

    def test_isolated_grading_completes_the_batch(self, isolated):
        proc = isolated.autograde_process
        assert proc.returncode == 0, proc.stderr[-3000:]
        rows = {line.split()[0]: line for line in proc.stdout.splitlines()[2:] if line.strip()}
        assert set(self.students) <= set(rows), proc.stdout

    def test_isolated_grading_gives_the_same_points(self, isolated, student):
        a = self.assignment
        tests = isolated.cells(a, "tests")
        lost = set(self.students[student].lost)
        expected = {gid: 0.0 if gid in lost else p for gid, p in tests.items()}
        assert isolated.scores(a, student) == expected

    def test_isolated_grading_explains_the_mistake(self, isolated, feedback_case):
        student, text = feedback_case
        nb = isolated.autograded_notebook(self.assignment, student)
        shown = " ".join(
            o.get("ename", "") + ": " + o.get("evalue", "") + o.get("text", "")
            for c in nb.cells
            for o in c.get("outputs", [])
        )
        assert normalize(text) in normalize(shown)

    def test_lms_export_is_collected_under_the_students(self, course):
        for name, s in self.students.items():
            if s.lms_file:
                path = course.root / "submitted" / name / self.assignment
                assert (path / f"{self.assignment}.ipynb").exists(), s.lms_file

    def test_passing_tests_print_nothing(self, course):
        for cell in course.autograded_notebook(self.assignment, "solution").cells:
            if nbgrader_meta(cell).get("grade") and cell.cell_type == "code":
                assert cell.outputs == [], nbgrader_meta(cell)["grade_id"]

    def test_feedback_explains_the_mistake(self, feedback, feedback_case):
        student, text = feedback_case
        assert normalize(text) in text_of_html(feedback(student))

    def test_feedback_reveals_no_hidden_test_and_no_mark_scheme(self, course, feedback, student):
        secrets = secret_lines(course.source_notebook(self.assignment))
        assert any("hidden=True" in s for s in secrets)
        # the autograded notebook, from which feedback is made, does hold them all
        cells = course.autograded_notebook(self.assignment, student).cells
        assert all(s in normalize(" ".join(c.source for c in cells)) for s in secrets)
        text = text_of_html(feedback(student))
        assert [s for s in secrets if s in text] == []
        assert "hidden=True" not in text

    def test_manual_grade_feedback_and_csv_export(self, course, feedback):
        a = self.assignment
        manual = {**course.cells(a, "tasks"), **course.cells(a, "manual")}
        auto = sum(course.cells(a, "tests").values())
        assert course.total(a, "solution") == auto + sum(manual.values()) / 2
        text = text_of_html(feedback("solution"))
        for p in manual.values():
            assert f"Score: {p / 2} / {p}" in text
        assert "MARK SCHEME" not in text
        path = course.export_csv(course.root / f"{a}.csv")
        rows = {r["student_id"]: r for r in csv.DictReader(path.open()) if r["assignment"] == a}
        assert set(self.students) <= set(rows)
        assert float(rows["solution"]["score"]) == auto + sum(manual.values()) / 2
        assert float(rows["released"]["score"]) == 0.0

    def test_instructor_workflow_with_the_course_grader(self, course, isolated):
        """docs/grading.md from release to export, on the submissions ``isolated`` graded with
        ``python -m course_lib.autograde`` (collected with zip_collect from LMS names): a
        grader scores the written questions, and the feedback and the CSV show it."""
        if not self.workflow:
            pytest.skip("the whole workflow runs on one assignment")
        a = self.assignment
        released = course.exchange / COURSE_ID / "outbound" / a / f"{a}.ipynb"
        assert released.read_bytes() == (course.root / "exercises" / a / f"{a}.ipynb").read_bytes()
        assert any(s.lms_file for s in self.students.values())
        manual = {**isolated.cells(a, "tasks"), **isolated.cells(a, "manual")}
        assert manual, "no written question to grade by hand"
        wrong = next(n for n, s in self.students.items() if s.lost and not s.released)
        given = {"solution": {g: p for g, p in manual.items()}, wrong: {g: 1.0 for g in manual}}
        for student, scores in given.items():
            for gid, score in scores.items():
                isolated.set_manual_grade(a, student, gid, score, comment=f"{student} {gid} ok")
        isolated.generate_feedback(a)
        path = isolated.export_csv(isolated.root / f"{a}-workflow.csv")
        rows = {r["student_id"]: r for r in csv.DictReader(path.open()) if r["assignment"] == a}
        assert set(self.students) <= set(rows)
        tests = isolated.cells(a, "tests")
        for student, s in self.students.items():
            auto = sum(p for gid, p in tests.items() if gid not in s.lost)
            total = auto + sum(given.get(student, {}).values())
            assert float(rows[student]["score"]) == total, student
            assert float(rows[student]["max_score"]) == sum(tests.values()) + sum(manual.values())
        for student, scores in given.items():
            text = text_of_html(isolated.feedback(a, student))
            for gid, score in scores.items():
                assert f"Score: {score} / {manual[gid]}" in text, (student, gid)
                assert f"{student} {gid} ok" in text
            assert "MARK SCHEME" not in text

    def test_raises_at_import_relies_on_a_missing_module(self):
        import importlib.util

        if not self.broken_notebooks:
            pytest.skip("the broken notebooks are graded in another assignment")
        assert importlib.util.find_spec("seaborn") is None

    def test_a_cell_that_never_ends_is_interrupted(self, course):
        if not self.broken_notebooks:
            pytest.skip("the broken notebooks are graded in another assignment")
        nb = course.autograded_notebook(self.assignment, "loops_at_top_level")
        assert "CellTimeoutError" in str(nb)

    def test_a_failing_hidden_test_shows_only_its_message(self, course):
        student, test_cell = self.hidden_failure
        nb = course.autograded_notebook(self.assignment, student)
        cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == test_cell)
        (error,) = [o for o in cell.outputs if o.output_type == "error"]
        assert error.ename == "GradingError" and "(hidden test)" in error.evalue
        assert error.traceback == [f"\x1b[0;31mGradingError\x1b[0m: {error.evalue}"]

    def test_validate_source_passes_and_released_fails_every_test(self, course):
        if not self.validate:
            pytest.skip(
                "nbgrader validate runs on one assignment (its verdicts are the "
                "solution's and the released version's scores, tested above)"
            )
        a = self.assignment
        ok = course.validate(course.root / "solutions" / a / f"{a}.ipynb")
        assert "Success! Your notebook passes all the tests." in ok.stdout, ok.stdout
        inverted = course.validate(course.root / "exercises" / a / f"{a}.ipynb", invert=True)
        assert "Success! The notebook does not pass any tests." in inverted.stdout, inverted.stdout

    def test_the_released_version_says_what_to_do(self, course):
        a = self.assignment  # what a student sees before starting
        tests = course.cells(a, "tests")
        nb = course.autograded_notebook(a, "released")
        errors = [
            o.evalue
            for c in nb.cells
            if nbgrader_meta(c).get("grade_id") in tests
            for o in c.outputs
            if o.output_type == "error"
        ]
        assert len(errors) == len(tests)
        assert (
            sum("is not implemented yet" in e for e in errors)
            == len(tests) - self.released_without_stub
        )


# --------------------------------------------------------------------------------------------
# The standard in-process tests of an assignment's checkers
# --------------------------------------------------------------------------------------------
def test_cell_checkers(nb) -> dict:
    """test cell -> [(checker name, module, answer function)] for every ``check_x(function,
    ...)`` call of the notebook's autograded test cells (read from their source)."""
    import ast

    out = {}
    for cell in nb.cells:
        m = nbgrader_meta(cell)
        if not (m.get("grade") and not m.get("solution")) or cell.cell_type != "code":
            continue
        tree = ast.parse(strip_solution_markers(cell.source))
        modules = {
            a.asname or a.name: node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for a in node.names
        }
        calls = []
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in modules
                and node.args
                and isinstance(node.args[0], ast.Name)
            ):
                calls.append((node.func.id, modules[node.func.id], node.args[0].id))
        out[m["grade_id"]] = list(dict.fromkeys(calls))
    return out


class AssignmentChecks:
    """Standard in-process tests of one assignment's checkers, driven by its tables; subclass
    it in the assignment's test module::

        class TestChecks(AssignmentChecks):
            assignment = "ps03"
            mistakes = MISTAKES            # name -> (answer cell, edits, message, lost cells)
            alternatives = {"max_stable_lr": ["def max_stable_lr(H): ..."]}
            wrong = {"frobenius": ({"max_stable_lr": "def ..."},
                                   {"test_max_stable_lr": "Frobenius norm"})}

    Tables:
      mistakes: typical mistakes as edits of the solution (see :class:`SourceNotebook`); the
        message is a text every lost cell must show, or {test cell: text}.
      submissions: more wrong submissions, name -> (answers, {lost test cell: text}), e.g.
        several mistakes together or a whole answer written differently.
      in_notebook: the mistakes and submissions graded by running the whole notebook (every
        other test cell must pass); the rest (default: none) run through their question's
        checkers only, on the visible seed, which is faster.
      wrong: wrong functions graded on many seeds, name -> (answers, {test cell: text, or
        None for a test the function must pass}), on ``wrong_seeds``.
      more_seeds: mistakes and submissions also graded on ``wrong_seeds`` (their messages).
      alternatives: other correct implementations, answer cell -> [code], which every
        checker of that answer must pass on ``alternative_seeds``.
      hidden_probes: names of mistakes, submissions or wrong functions whose hidden-test
        messages (seed 12345) must not show inputs or expected values (``hidden_leak``).
      quiet_function: an answer function whose checkers must swallow its prints and warnings.

    Which checker grades which answer is read from the test cells (``check_x(function)``).
    """

    assignment: str = ""
    mistakes: Mapping = {}
    submissions: Mapping = {}
    in_notebook: Optional[Collection[str]] = None  # None: all of them
    wrong: Mapping = {}
    wrong_seeds: Sequence[tuple[int, bool]] = ((0, False), (1, True), (2, True))
    more_seeds: Sequence[str] = ()
    alternatives: Mapping[str, Sequence[str]] = {}
    alternative_seeds: Sequence[tuple[int, bool]] = ((0, False), (1, True), (2, True))
    hidden_probes: Sequence[str] = ()
    hidden_leak: str = r"test case|expected|got:|\d\.\d|shape \("
    quiet_function: str = ""
    namespace_skip: Collection[str] = ("experiment",)

    # -- the tables, normalised --------------------------------------------------------------
    @classmethod
    def source(cls) -> SourceNotebook:
        return SourceNotebook(cls.assignment, cls.mistakes)

    @classmethod
    def graded(cls) -> dict:
        """name -> (answers, {lost test cell: text}) of every mistake and submission."""
        source, out = cls.source(), {}
        for name, entry in cls.mistakes.items():
            message, lost = entry[-2], set(entry[-1])
            if not lost:  # harmless alone: a part of the submissions that combine mistakes
                continue
            messages = message if isinstance(message, dict) else {c: message for c in lost}
            out[name] = (source.with_mistakes(name), messages)
        for name, (answers, messages) in cls.submissions.items():
            out[name] = (dict(answers), dict(messages))
        return out

    @classmethod
    def any_answers(cls, name: str) -> dict:
        """The answers of a mistake, submission or wrong function."""
        if name in cls.wrong:
            return dict(cls.wrong[name][0])
        return cls.graded()[name][0]

    @classmethod
    def checkers(cls) -> dict:
        """test cell -> (checker, answer function) of every function test cell."""
        import importlib

        out = {}
        for cell, calls in test_cell_checkers(cls.source().notebook()).items():
            answers = set(cls.source().solutions())
            calls = [(c, m, f) for c, m, f in calls if f in answers]
            if calls:
                checker, module, function = calls[0]
                out[cell] = (getattr(importlib.import_module(module), checker), function)
        return out

    @classmethod
    def defined(cls, answers: Mapping[str, str]) -> dict:
        """The solution's namespace (setup and answer cells, experiments left out) with some
        answer cells replaced, in a fresh namespace: the other answers' functions see them."""
        skip = set(cls.namespace_skip) - set(answers)
        ns = cls.source().namespace(skip=tuple(skip) + tuple(answers))
        for code in answers.values():
            exec(code, ns)
        return ns

    def pytest_generate_tests(self, metafunc):
        graded = self.graded()
        notebook = set(graded) if self.in_notebook is None else set(self.in_notebook)
        table = {
            "notebook_mistake": sorted(n for n in notebook if graded[n][1]),
            "checker_mistake": sorted(n for n in set(graded) - notebook if graded[n][1]),
            "wrong_function": sorted(self.wrong) + list(self.more_seeds),
            "alternative": [
                f"{gid}-{i}"
                for gid, codes in sorted(self.alternatives.items())
                for i in range(len(codes))
            ],
            "hidden_probe": list(self.hidden_probes),
        }
        for argname, values in table.items():
            if argname in metafunc.fixturenames:
                metafunc.parametrize(argname, values)

    # -- the tests -----------------------------------------------------------------------------
    def test_the_tables_name_real_cells(self):
        source = self.source()
        answers, tests = set(source.solutions()), set(source.points())
        for name, (given, messages) in {
            **self.graded(),
            **{n: (a, {c: m for c, m in v.items()}) for n, (a, v) in self.wrong.items()},
        }.items():
            assert set(given) <= answers, (name, set(given) - answers)
            assert set(messages) <= tests, (name, set(messages) - tests)
        assert set(self.alternatives) <= answers

    def test_solution_passes_every_test_cell_in_process(self):
        source = self.source()
        assert run_in_process(source.notebook()) == {gid: None for gid in source.points()}

    def test_each_typical_mistake_fails_exactly_its_test_cells_with_a_diagnosis(
        self, notebook_mistake
    ):
        answers, messages = self.graded()[notebook_mistake]
        results = run_in_process(self.source().notebook(), answers)
        failed = {cell for cell, error in results.items() if error is not None}
        assert failed == set(messages), results
        for cell, message in messages.items():
            assert "GradingError" in results[cell] and message in results[cell], results[cell]

    def test_more_mistakes_fail_exactly_their_checks_with_a_diagnosis(self, checker_mistake):
        from course_lib.grading import GradingError

        answers, messages = self.graded()[checker_mistake]
        ns = self.defined(answers)
        for cell, (check, function) in self.checkers().items():
            if function not in answers:
                continue
            if cell in messages:
                with pytest.raises(GradingError, match=re.escape(messages[cell])):
                    check(ns[function])
            else:
                check(ns[function])

    def test_the_released_stub_fails_with_an_instruction(self):
        from course_lib.grading import GradingError

        def stub(*args):
            raise NotImplementedError()

        for _cell, (check, _) in self.checkers().items():
            with pytest.raises(GradingError, match="not implemented yet: replace `raise Not"):
                check(stub)

    def test_other_correct_implementations_pass_on_many_seeds(self, alternative):
        gid, index = alternative.rsplit("-", 1)
        ns = self.defined({gid: self.alternatives[gid][int(index)]})
        for _cell, (check, function) in self.checkers().items():
            if function == gid:
                for seed, hidden in self.alternative_seeds:
                    check(ns[gid], seed=seed, hidden=hidden)

    def test_wrong_functions_get_their_diagnosis_on_many_seeds(self, wrong_function):
        from course_lib.grading import GradingError

        answers, verdicts = self.wrong.get(wrong_function) or self.graded()[wrong_function]
        ns = self.defined(answers)
        checkers = self.checkers()
        for cell, message in verdicts.items():
            check, function = checkers[cell]
            for seed, hidden in self.wrong_seeds:
                if message is None:  # this part is right: the checker must pass it
                    check(ns[function], seed=seed, hidden=hidden)
                    continue
                with pytest.raises(GradingError) as info:
                    check(ns[function], seed=seed, hidden=hidden)
                assert message in str(info.value), (seed, str(info.value))

    def test_hidden_messages_show_no_inputs_or_expected_values(self, hidden_probe):
        from course_lib.grading import GradingError

        answers = self.any_answers(hidden_probe)
        ns = self.defined(answers)
        messages = []
        for _cell, (check, function) in self.checkers().items():
            if function in answers:
                try:
                    check(ns[function], seed=12345, hidden=True)
                except GradingError as exc:
                    messages.append(str(exc))
        assert messages, hidden_probe
        for msg in messages:
            assert "(hidden test)" in msg and "\n" not in msg
            assert not re.search(self.hidden_leak, msg), msg

    def test_checkers_swallow_prints_and_warnings_of_a_correct_function(self, capsys):
        import warnings

        import numpy as np

        if not self.quiet_function:
            pytest.skip("no quiet_function in the tables")
        ns = self.defined({})
        reference = ns[self.quiet_function]

        def noisy(*args):
            print("debugging output")
            warnings.warn("a harmless warning", stacklevel=1)
            np.log(np.zeros(1))  # a numpy RuntimeWarning
            return reference(*args)

        for _cell, (check, function) in self.checkers().items():
            if function == self.quiet_function:
                check(noisy)
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err == ""
