"""The similarity report (course_lib.autograde.similarity) on a small fake class of ps01.

The course directory holds the real released notebook (exercises/ps01) and the real
instructor notebook (solutions/ps01); the students are notebooks built from the released one:

- alice hands in the solution code;
- bob copies alice, renaming every variable and rewriting the comments;
- carol and dave each write their own, genuinely different, local_random_search;
- erin pastes the body of course_lib.search.local_random_search;
- frank hands in the released notebook untouched;
- gina's notebook is not JSON, and hugo's folder holds no notebook.
"""

import ast
import inspect
import os
import re
import shutil
import subprocess
import sys
import textwrap

import nbformat
import pytest
from nbgrader_course import REPO, Course, replace_solution

from course_lib import search
from course_lib.autograde import similarity as sim

PS = "ps01"
LOCAL = "course_lib.search.local_random_search"

RENAMES = {"xs": "points", "values": "losses", "best": "i_best", "fx": "f_here",
           "fy": "f_there", "x": "here", "y": "there", "low": "lo", "high": "hi",
           "reached": "hits", "counts": "needed", "res": "run", "seed": "s", "d": "dim"}

CAROL = """\
def local_random_search(f, x0, step_size, n_evals, rng):
    current = np.asarray(x0, dtype=float).copy()
    dim = current.shape[0]
    xs = np.zeros((n_evals, dim))
    values = np.zeros(n_evals)
    xs[0] = current
    values[0] = current_value = f(current)
    k = 1
    while k < n_evals:
        proposal = current + rng.normal(0.0, step_size, size=dim)
        value = f(proposal)
        xs[k] = proposal
        values[k] = value
        if value < current_value:
            current = proposal
            current_value = value
        k += 1
    i = np.argmin(values)
    return SearchResult(xs[i].copy(), values[i], np.minimum.accumulate(values), xs, values)
"""

DAVE = """\
def local_random_search(f, x0, step_size, n_evals, rng):
    def record(point):
        val = float(f(point))
        history.append((point, val))
        return val

    history = []
    here = np.array(x0, dtype=float)
    here_val = record(here)
    for s in step_size * rng.standard_normal((n_evals - 1, len(here))):
        there = here + s
        there_val = record(there)
        if there_val < here_val:
            here, here_val = there, there_val
    points = np.stack([p for p, _ in history])
    losses = np.array([v for _, v in history])
    running = [min(losses[: j + 1]) for j in range(len(losses))]
    j_best = min(range(len(losses)), key=losses.__getitem__)
    return SearchResult(best_x=points[j_best], best_value=losses[j_best],
                        best_so_far=np.array(running), xs=points, values=losses)
"""


def renamed(code: str) -> str:
    """``code`` with every variable renamed and every comment reworded."""
    for old, new in RENAMES.items():
        code = re.sub(rf"\b{old}\b", new, code)
    code = re.sub(r"#.*", "# my own words", code)
    return code.replace("    for _ in", "    # propose n_evals - 1 points\n    for _ in")


def library_body(function) -> str:
    """The statements of a course_lib function after its docstring, dedented."""
    source = textwrap.dedent(inspect.getsource(function))
    body = ast.parse(source).body[0].body[1:]
    lines = source.splitlines()
    return textwrap.dedent("\n".join(lines[body[0].lineno - 1:body[-1].end_lineno]))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course.create(tmp_path_factory.mktemp("course"), [PS], generate=False)
    (course.root / "exercises" / PS).mkdir(parents=True)
    shutil.copy(REPO / "exercises" / PS / f"{PS}.ipynb", course.root / "exercises" / PS)
    solutions = course.cells(PS, "solutions")
    local_source = course.source_notebook(PS).cells
    local_source = next(c.source for c in local_source
                        if c.metadata.get("nbgrader", {}).get("grade_id") == "local_random_search")
    students = {
        "alice": course.submission(PS),
        "bob": course.submission(PS, {g: renamed(code) for g, code in solutions.items()}),
        "carol": course.submission(PS, {"local_random_search": CAROL}, fill_solutions=False),
        "dave": course.submission(PS, {"local_random_search": DAVE}, fill_solutions=False),
        "erin": course.submission(PS, {"local_random_search": replace_solution(
            local_source, library_body(search.local_random_search))}, fill_solutions=False),
        "frank": course.submission(PS, fill_solutions=False),
    }
    for name, nb in students.items():
        course.submit(name, PS, nb)
    gina = course.root / "submitted" / "gina" / PS
    gina.mkdir(parents=True)
    (gina / f"{PS}.ipynb").write_text("{ this is not a notebook")
    (course.root / "submitted" / "hugo" / PS).mkdir(parents=True)
    return course


@pytest.fixture(scope="module")
def matches(course):
    return sim.report(PS, course.root, threshold=0.0)


def score(matches, student, other):
    """The score of a pair (in either order), 0 if the report does not list it."""
    return max((m.score for m in matches
                if {m.student, m.other} == {student, other}), default=0.0)


# --------------------------------------------------------------------------------------------
# Fingerprints
# --------------------------------------------------------------------------------------------
def test_renaming_comments_and_docstrings_do_not_change_fingerprints():
    code = 'def f(a, b):\n    """Add."""\n    total = a + b  # sum\n    return total * 2\n' * 3
    other = "def g(x, y):\n    s = x + y\n    # twice\n    return s * 3\n" * 3
    assert sim.fingerprints(code) == sim.fingerprints(other) != set()


def test_fingerprints_differ_for_different_code():
    a = "def f(a, b):\n    for i in range(a):\n        b.append(i)\n    return b\n" * 2
    b = "def f(a, b):\n    while a:\n        a -= 1\n    return [a, b] if a else None\n" * 2
    assert sim.similarity(sim.fingerprints(a), sim.fingerprints(b)) < 0.2


def test_code_that_does_not_tokenize_still_gets_fingerprints():
    code = ("%matplotlib inline\n!pip install nothing\ndef f(a):\n        b = a\n"
            "    return b\n" + "x = [1, 2, 3]\ny = sum(x) + len(x) * 2\n" * 3 + "z = (1,\n")
    assert sim.fingerprints(code)  # the lines after the bad dedent count


def test_fingerprints_are_the_same_in_every_process():
    code = inspect.getsource(search.local_random_search)
    script = ("from course_lib.autograde.similarity import fingerprints; import sys; "
              "print(sorted(fingerprints(sys.stdin.read())))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script], input=code, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(sorted(sim.fingerprints(code)))


def test_fingerprint_arguments_are_checked():
    with pytest.raises(ValueError, match="k must be an int >= 1, got 0"):
        sim.fingerprints("x = 1", k=0)


def test_answer_code_is_the_answer_cells_only(course):
    code = sim.answer_code(course.source_notebook(PS))
    assert "def local_random_search" in code and "evals = []" in code
    assert "check_local_search_moves" not in code and "DIMS = " not in code


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------
def test_renamed_copy_scores_near_one(matches):
    assert score(matches, "alice", "bob") >= 0.95


def test_independent_implementations_score_low(matches):
    assert score(matches, "carol", "dave") < 0.2
    for student in ("carol", "dave"):
        assert score(matches, student, "alice") < 0.2
        assert score(matches, student, f"solutions/{PS}/{PS}.ipynb:local_random_search") < 0.2


def test_starter_code_is_subtracted(course, matches):
    # Without the subtraction, frank's untouched stubs are all in carol's notebook (she left
    # three of the four stubs as they were), so he would look like a copy of her.
    frank, carol = (sim.answer_code(nbformat.read(course.root / "submitted" / s / PS /
                                                  f"{PS}.ipynb", 4)) for s in ("frank", "carol"))
    assert sim.similarity(sim.fingerprints(frank), sim.fingerprints(carol)) > 0.5
    # With it, the untouched released notebook shares nothing with anyone or anything.
    assert not [m for m in matches if "frank" in (m.student, m.other)]


def test_pasted_library_code_is_reported_against_the_reference_function(matches):
    erin = [m for m in matches if m.student == "erin" and m.kind == "reference"]
    assert erin[0].other == LOCAL and erin[0].score >= 0.7
    assert all(m.score < 0.2 for m in matches if m.kind == "student" and "erin" in
               (m.student, m.other))


def test_solution_code_is_reported_against_the_instructor_notebook(matches):
    reference = f"solutions/{PS}/{PS}.ipynb:local_random_search"
    assert score(matches, "alice", reference) >= 0.95
    assert score(matches, "bob", reference) >= 0.95


def test_unreadable_notebooks_are_listed_and_the_rest_reported(matches):
    unreadable = {m.student: m.note for m in matches if m.kind == "unreadable"}
    assert set(unreadable) == {"gina", "hugo"}
    assert "ps01.ipynb" in unreadable["gina"] and "no notebook" in unreadable["hugo"]
    assert score(matches, "alice", "bob") >= 0.95  # the others are still compared


def test_matches_are_sorted_and_filtered_by_the_threshold(course, matches):
    scored = [m.score for m in matches if m.kind != "unreadable"]
    assert scored == sorted(scored, reverse=True)
    high = sim.report(PS, course.root, threshold=0.5)
    assert [m for m in high if m.kind != "unreadable"] == [m for m in matches
                                                           if m.score >= 0.5]
    assert all(m.kind in ("student", "reference", "unreadable") for m in matches)


def test_references_are_library_functions_without_grading_and_widgets():
    names = sim.reference_code()
    assert LOCAL in names and "course_lib.optim.Adam" in names
    assert not [n for n in names if n.startswith(sim.EXCLUDED)]


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def test_command_prints_the_pairs_and_writes_the_csv(course):
    out = subprocess.run(
        [sys.executable, "-m", "course_lib.autograde.similarity", PS, "--threshold", "0.8",
         "--csv", "pairs.csv"], cwd=course.root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert re.search(r"alice\s+student\s+bob", out.stdout)
    assert re.search(rf"erin\s+reference\s+{re.escape(LOCAL)}", out.stdout)
    assert re.search(r"Unreadable submissions.*\n  gina: ps01.ipynb: NotJSONError", out.stdout)
    lines = (course.root / "pairs.csv").read_text().splitlines()
    assert lines[0] == "student,other,kind,score,shared,note"
    assert any(line.startswith("alice,bob,student,") for line in lines)
    assert any(line.startswith("gina,,unreadable,") for line in lines)


def test_command_without_released_notebook_fails_clearly(tmp_path, capsys):
    assert sim.main([PS, "--course-dir", str(tmp_path)]) == 1
    assert "no released notebook" in capsys.readouterr().err


def test_command_rejects_a_threshold_outside_0_1(capsys):
    with pytest.raises(SystemExit):
        sim.main([PS, "--threshold", "2"])
    assert "--threshold must be a number in [0, 1], got 2" in capsys.readouterr().err


def test_common_code_can_be_ignored_between_students(course, matches):
    # What alice and dave share, bob has too: with common=2 it is ignored, alice-bob stays.
    assert score(matches, "alice", "dave") > 0
    pairs = sim.report(PS, course.root, threshold=0.0, common=2)
    assert score(pairs, "alice", "dave") == 0 and score(pairs, "alice", "bob") >= 0.95
