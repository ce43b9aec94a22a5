"""The similarity report (course_lib.autograde.similarity) on a small fake class of ps01.

The course directory holds the real released notebook (exercises/ps01) and the real
instructor notebook (solutions/ps01); the students are notebooks built from the released one:

- alice hands in the solution code;
- bob copies alice, renaming every variable and rewriting the comments;
- carol and dave each write their own, genuinely different, local_random_search;
- erin pastes the body of course_lib.search.local_random_search;
- frank hands in the released notebook untouched;
- gina's notebook is not JSON, and hugo's folder holds no notebook.

The calibration at the end uses ps03: three honest students, three independently written
correct alternatives (the instructor's), and three copiers; the default threshold must flag
exactly the copied pairs, with and without the alternatives.
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

RENAMES = {
    "xs": "points",
    "values": "losses",
    "best": "i_best",
    "fx": "f_here",
    "fy": "f_there",
    "x": "here",
    "y": "there",
    "low": "lo",
    "high": "hi",
    "reached": "hits",
    "counts": "needed",
    "res": "run",
    "seed": "s",
    "d": "dim",
}

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
    return textwrap.dedent("\n".join(lines[body[0].lineno - 1 : body[-1].end_lineno]))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course.create(tmp_path_factory.mktemp("course"), [PS], generate=False)
    (course.root / "exercises" / PS).mkdir(parents=True)
    shutil.copy(REPO / "exercises" / PS / f"{PS}.ipynb", course.root / "exercises" / PS)
    solutions = course.cells(PS, "solutions")
    local_source = course.source_notebook(PS).cells
    local_source = next(
        c.source
        for c in local_source
        if c.metadata.get("nbgrader", {}).get("grade_id") == "local_random_search"
    )
    students = {
        "alice": course.submission(PS),
        "bob": course.submission(PS, {g: renamed(code) for g, code in solutions.items()}),
        "carol": course.submission(PS, {"local_random_search": CAROL}, fill_solutions=False),
        "dave": course.submission(PS, {"local_random_search": DAVE}, fill_solutions=False),
        "erin": course.submission(
            PS,
            {
                "local_random_search": replace_solution(
                    local_source, library_body(search.local_random_search)
                )
            },
            fill_solutions=False,
        ),
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
    return max((m.score for m in matches if {m.student, m.other} == {student, other}), default=0.0)


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
    code = (
        "%matplotlib inline\n!pip install nothing\ndef f(a):\n        b = a\n"
        "    return b\n" + "x = [1, 2, 3]\ny = sum(x) + len(x) * 2\n" * 3 + "z = (1,\n"
    )
    assert sim.fingerprints(code)  # the lines after the bad dedent count


def test_fingerprints_are_the_same_in_every_process():
    code = inspect.getsource(search.local_random_search)
    script = (
        "from course_lib.autograde.similarity import fingerprints; import sys; "
        "print(sorted(fingerprints(sys.stdin.read())))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=code,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
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
    frank, carol = (
        sim.answer_code(nbformat.read(course.root / "submitted" / s / PS / f"{PS}.ipynb", 4))
        for s in ("frank", "carol")
    )
    assert sim.similarity(sim.fingerprints(frank), sim.fingerprints(carol)) > 0.5
    # With it, the untouched released notebook shares nothing with anyone or anything.
    assert not [m for m in matches if "frank" in (m.student, m.other)]


def test_pasted_library_code_is_reported_against_the_reference_function(matches):
    erin = [m for m in matches if m.student == "erin" and m.kind == "reference"]
    assert erin[0].other == LOCAL and erin[0].score >= 0.7
    assert all(
        m.score < 0.2 for m in matches if m.kind == "student" and "erin" in (m.student, m.other)
    )


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
    assert [m for m in high if m.kind != "unreadable"] == [m for m in matches if m.score >= 0.5]
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
        [
            sys.executable,
            "-m",
            "course_lib.autograde.similarity",
            PS,
            "--threshold",
            "0.8",
            "--csv",
            "pairs.csv",
        ],
        cwd=course.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
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


def test_code_the_solution_shares_with_a_correct_alternative_is_ignored(course, matches, tmp_path):
    # carol's independent correct version as the instructor's alternative: what it shares with
    # the solution is natural code and no longer counts against her (or anyone), while the
    # copies of the solution still score as high as before
    alternative = tmp_path / "carol.ipynb"
    shutil.copy(course.root / "submitted" / "carol" / PS / f"{PS}.ipynb", alternative)
    solution = f"solutions/{PS}/{PS}.ipynb:local_random_search"
    without = sim.report(PS, course.root, threshold=0.0, honest=[alternative])
    assert score(without, "carol", solution) < score(matches, "carol", solution)
    for pair in (("alice", "bob"), ("alice", solution), ("bob", solution)):
        assert score(without, *pair) == score(matches, *pair) == 1.0


def test_alternatives_in_the_solutions_folder_are_used_by_default(course, matches):
    folder = course.root / "solutions" / PS / "alternatives"
    folder.mkdir()
    try:
        shutil.copy(course.root / "submitted" / "carol" / PS / f"{PS}.ipynb", folder)
        solution = f"solutions/{PS}/{PS}.ipynb:local_random_search"
        default = sim.report(PS, course.root, threshold=0.0)
        assert score(default, "carol", solution) < score(matches, "carol", solution)
    finally:
        shutil.rmtree(folder)


# --------------------------------------------------------------------------------------------
# Calibration on ps03: six honest students, three kinds of copying
# --------------------------------------------------------------------------------------------
PS03_HONEST = {  # grade_id -> six independently written correct bodies
    "gradient_descent": [
        "x = np.asarray(x0, dtype=float).copy()\ntraj = np.empty((steps + 1, x.size))\ntraj[0] = x\nfor t in range(1, steps + 1):\n    x = x - lr * np.asarray(grad(x))\n    traj[t] = x\nreturn traj",
        "points = [np.array(x0, dtype=np.float64)]\nwhile len(points) <= steps:\n    cur = points[-1]\n    points.append(cur - lr * grad(cur))\nreturn np.stack(points)",
        "x = np.array(x0, float)\nout = np.zeros((steps + 1, len(x)))\nout[0] = x\nfor i in range(steps):\n    g = grad(out[i])\n    out[i + 1] = out[i] - lr * g\nreturn out",
        "x = np.array(x0, dtype=float)\nhist = [x.copy()]\nfor k in range(steps):\n    step = lr * grad(x)\n    x = x - step\n    hist.append(x.copy())\nreturn np.array(hist)",
        "cur = np.asarray(x0).astype(float)\nrows = [cur]\nfor _ in range(steps):\n    cur = cur - grad(cur) * lr\n    rows += [cur]\nreturn np.vstack(rows)",
        "x = np.array(x0, dtype=float)\nres = np.zeros((steps + 1,) + x.shape)\nres[0] = x\nfor s in range(steps):\n    x = x - lr * grad(x)\n    res[s + 1] = x\nreturn res",
    ],
    "max_stable_lr": [
        "eig = np.linalg.eigvalsh(np.array(H, dtype=float))\nreturn 2.0 / float(np.max(eig))",
        "H = np.asarray(H, dtype=float)\nL = max(np.linalg.eigvals(H).real)\nreturn float(2 / L)",
        "vals = np.linalg.eigh(np.asarray(H, float))[0]\nreturn float(2.0 / vals.max())",
        "lmax = np.linalg.norm(np.asarray(H, dtype=float), 2)\nreturn 2.0 / float(lmax)",
        "e = sorted(np.linalg.eigvalsh(np.array(H, dtype=np.float64)))\nreturn float(2 / e[-1])",
        "w = np.linalg.eigvalsh(np.asarray(H) * 1.0)\nbiggest = w[-1]\nreturn float(2.0 / biggest)",
    ],
    "best_fixed_lr": [
        "eig = np.linalg.eigvalsh(np.array(H, dtype=float))\nmu, L = eig.min(), eig.max()\nlr = 2.0 / (mu + L)\nrate = (L - mu) / (L + mu)\nreturn float(lr), float(rate)",
        "H = np.asarray(H, dtype=float)\nw = np.linalg.eigvals(H).real\nsmall, big = min(w), max(w)\nk = big / small\nreturn float(2 / (small + big)), float((k - 1) / (k + 1))",
        "vals = np.linalg.eigh(np.asarray(H, float))[0]\nlo, hi = vals[0], vals[-1]\nreturn float(2.0 / (lo + hi)), float((hi / lo - 1) / (hi / lo + 1))",
        "e = np.sort(np.linalg.eigvalsh(np.array(H, dtype=np.float64)))\ncond = e[-1] / e[0]\nstep = 2 / (e[0] + e[-1])\nreturn float(step), float((cond - 1) / (cond + 1))",
        "w = np.linalg.eigvalsh(np.asarray(H) * 1.0)\na, b = float(w[0]), float(w[-1])\nreturn 2.0 / (a + b), (b - a) / (b + a)",
        "lams = np.linalg.eigvalsh(np.asarray(H, dtype=float))\nkappa = lams.max() / lams.min()\nreturn float(2 / (lams.max() + lams.min())), float((kappa - 1) / (kappa + 1))",
    ],
    "steps_to_tolerance": [
        "P = np.asarray(path, dtype=float)\nxs = np.asarray(x_star, dtype=float)\nd0 = np.linalg.norm(P[0] - xs)\nfor t, p in enumerate(P):\n    if np.linalg.norm(p - xs) <= tol * d0:\n        return t\nreturn math.inf",
        "pts = np.array(path, float)\nerr = np.sqrt(((pts - np.array(x_star, float)) ** 2).sum(axis=1))\nok = np.nonzero(err <= tol * err[0])[0]\nif len(ok) == 0:\n    return math.inf\nreturn int(ok[0])",
        "path = np.asarray(path, dtype=float)\ntarget = np.asarray(x_star, dtype=float)\nstart = np.linalg.norm(path[0] - target)\nt = 0\nwhile t < len(path):\n    if np.linalg.norm(path[t] - target) <= tol * start:\n        return t\n    t += 1\nreturn math.inf",
        "d = [float(np.linalg.norm(np.asarray(p, float) - np.asarray(x_star, float))) for p in path]\nhits = [i for i, v in enumerate(d) if v <= tol * d[0]]\nreturn hits[0] if hits else math.inf",
        "arr = np.asarray(path, dtype=float)\ngap = np.linalg.norm(arr - x_star, axis=1)\nmask = gap <= tol * gap[0]\nreturn int(np.argmax(mask)) if mask.any() else math.inf",
        "dist = np.linalg.norm(np.asarray(path, float) - np.asarray(x_star, float), axis=-1)\nfor i in range(len(dist)):\n    if dist[i] <= tol * dist[0]:\n        return i\nreturn math.inf",
    ],
    "experiment": [
        "steps_best = []\nsteps_safe = []\nfor kappa in KAPPAS:\n    bowl = Quadratic.bowl(condition_number=kappa, angle=ANGLE, center=CENTER)\n    lo, hi = bowl.eigenvalues[0], bowl.eigenvalues[-1]\n    p1 = run(SGD(lr=2 / (lo + hi)), bowl, X0, max_steps(kappa)).path\n    steps_best.append(steps_to_tolerance(p1, bowl.minimizer, TOL))\n    p2 = run(SGD(lr=1 / hi), bowl, X0, max_steps(kappa)).path\n    steps_safe.append(steps_to_tolerance(p2, bowl.minimizer, TOL))\nsteps_best = np.array(steps_best)\nsteps_safe = np.array(steps_safe)",
        "def count(kappa, which):\n    q = Quadratic.bowl(condition_number=kappa, angle=ANGLE, center=CENTER)\n    ev = q.eigenvalues\n    lr = 2 / (ev[0] + ev[-1]) if which == 'best' else 1 / ev[-1]\n    return steps_to_tolerance(run(SGD(lr=lr), q, X0, max_steps(kappa)).path, q.minimizer, TOL)\n\nsteps_best = np.array([count(k, 'best') for k in KAPPAS])\nsteps_safe = np.array([count(k, 'safe') for k in KAPPAS])",
        "steps_best = np.zeros(len(KAPPAS))\nsteps_safe = np.zeros(len(KAPPAS))\nfor i, kappa in enumerate(KAPPAS):\n    bowl = Quadratic.bowl(condition_number=kappa, angle=ANGLE, center=CENTER)\n    lam = bowl.eigenvalues\n    n = max_steps(kappa)\n    run_best = run(SGD(lr=2.0 / (lam[0] + lam[-1])), bowl, X0, n)\n    run_safe = run(SGD(lr=1.0 / lam[-1]), bowl, X0, n)\n    steps_best[i] = steps_to_tolerance(run_best.path, bowl.minimizer, TOL)\n    steps_safe[i] = steps_to_tolerance(run_safe.path, bowl.minimizer, TOL)",
        "results = {'best': [], 'safe': []}\nfor kappa in KAPPAS:\n    f = Quadratic.bowl(condition_number=kappa, angle=ANGLE, center=CENTER)\n    rates = {'best': 2 / (f.eigenvalues.min() + f.eigenvalues.max()), 'safe': 1 / f.eigenvalues.max()}\n    for name, lr in rates.items():\n        traj = run(SGD(lr=lr), f, X0, max_steps(kappa)).path\n        results[name].append(steps_to_tolerance(traj, f.minimizer, TOL))\nsteps_best, steps_safe = np.array(results['best']), np.array(results['safe'])",
        "steps_best, steps_safe = [], []\nfor kappa in KAPPAS:\n    bowl = Quadratic.bowl(condition_number=kappa, angle=ANGLE, center=CENTER)\n    lr_best, _ = best_fixed_lr(bowl.hessian(X0))\n    lr_safe = 1 / bowl.eigenvalues[-1]\n    steps_best.append(steps_to_tolerance(run(SGD(lr=lr_best), bowl, X0, max_steps(kappa)).path, bowl.minimizer, TOL))\n    steps_safe.append(steps_to_tolerance(run(SGD(lr=lr_safe), bowl, X0, max_steps(kappa)).path, bowl.minimizer, TOL))\nsteps_best = np.asarray(steps_best)\nsteps_safe = np.asarray(steps_safe)",
        "out = []\nfor kappa in KAPPAS:\n    bowl = Quadratic.bowl(condition_number=kappa, angle=ANGLE, center=CENTER)\n    mn, mx = bowl.eigenvalues[0], bowl.eigenvalues[-1]\n    row = []\n    for lr in (2 / (mn + mx), 1 / mx):\n        row.append(steps_to_tolerance(run(SGD(lr=lr), bowl, X0, max_steps(kappa)).path, bowl.minimizer, TOL))\n    out.append(row)\nsteps_best, steps_safe = np.array(out).T",
    ],
}

PS03_RENAMES = [
    ("x", "pos"),
    ("path", "trajectory"),
    ("lam", "eigs"),
    ("kappa", "cn"),
    ("bowl", "problem"),
    ("counts", "store"),
    ("dist", "distance"),
    ("reached", "inside"),
]


def _renamed_ps03(code: str) -> str:
    for old, new in PS03_RENAMES:
        code = re.sub(rf"\b{old}\b", new, code)
    return code


@pytest.fixture(scope="module")
def ps03_class(tmp_path_factory):
    """honest0..2 are students; honest3..5 are the instructor's alternatives. copy_sol hands
    in the solution renamed, copy_h0 copies honest0 renamed, copy_mix copies honest1 and two
    answers of the solution. Returns (course root, alternatives, copied pairs)."""
    ps = "ps03"
    course = Course.create(tmp_path_factory.mktemp("ps03"), [ps], generate=False)
    (course.root / "exercises" / ps).mkdir(parents=True)
    shutil.copy(REPO / "exercises" / ps / f"{ps}.ipynb", course.root / "exercises" / ps)
    src = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in course.source_notebook(ps).cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    versions = [
        {g: replace_solution(src[g], bodies[i]) for g, bodies in PS03_HONEST.items()}
        for i in range(6)
    ]
    students = {f"honest{i}": versions[i] for i in range(3)}
    students["copy_sol"] = {g: _renamed_ps03(src[g]) for g in PS03_HONEST}
    students["copy_h0"] = {g: _renamed_ps03(code) for g, code in versions[0].items()}
    students["copy_mix"] = dict(
        versions[1],
        experiment=_renamed_ps03(src["experiment"]),
        steps_to_tolerance=_renamed_ps03(src["steps_to_tolerance"]),
    )
    for name, answers in students.items():
        course.submit(name, ps, course.submission(ps, answers, fill_solutions=False))
    alternatives = []
    for i in (3, 4, 5):
        path = course.root / f"alternative{i}.ipynb"
        nbformat.write(course.submission(ps, versions[i], fill_solutions=False), path)
        alternatives.append(path)
    copied = {
        frozenset(p)
        for p in [
            ("copy_sol", "solutions"),
            ("copy_h0", "honest0"),
            ("copy_mix", "solutions"),
            ("copy_mix", "honest1"),
            ("copy_mix", "copy_sol"),
        ]
    }
    return course.root, alternatives, copied


def _pair_scores(matches) -> dict:
    """{student, other}: the highest score, the instructor's cells counted as one source."""
    pairs = {}
    for m in matches:
        if m.kind != "unreadable":
            other = "solutions" if m.other.startswith("solutions/") else m.other
            key = frozenset((m.student, other))
            pairs[key] = max(pairs.get(key, 0.0), m.score)
    return pairs


@pytest.mark.parametrize("use_alternatives", [False, True])
def test_the_default_threshold_flags_every_copy_and_no_honest_pair_on_ps03(
    ps03_class, use_alternatives
):
    root, alternatives, copied = ps03_class
    pairs = _pair_scores(
        sim.report("ps03", root, threshold=0.0, honest=alternatives if use_alternatives else [])
    )
    flagged = {pair for pair, s in pairs.items() if s >= sim.THRESHOLD}
    assert flagged == copied, sorted((sorted(p), round(pairs[p], 2)) for p in flagged ^ copied)


def test_alternatives_widen_the_gap_between_honest_and_copied_pairs_on_ps03(ps03_class):
    root, alternatives, copied = ps03_class
    gaps = []
    for honest in ([], alternatives):
        pairs = _pair_scores(sim.report("ps03", root, threshold=0.0, honest=honest))
        gaps.append(
            (max(s for p, s in pairs.items() if p not in copied), min(pairs[p] for p in copied))
        )
    (honest_before, copy_before), (honest_after, copy_after) = gaps
    assert honest_after < honest_before - 0.1 and copy_after >= copy_before - 0.05
