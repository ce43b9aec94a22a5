"""Adversarial submissions against ``python -m course_lib.autograde``.

One real nbgrader course (problem set 2), one batch: two honest students graded before and
after a crowd of attackers. Each attacker hands in the *same wrong code* as the student
"wrong" (a relative_error that divides by |a| only) plus an attack: fake the comparison,
the checker, the import system, IPython's error handling, the returned objects, the printed
text or the exit code; read the hidden tests, the solutions or the gradebook and rewrite
grades; leave processes behind; print 60 MB; exhaust memory, processes or time. Broken files
are in the batch too. The batch must finish, no attacker may earn more than "wrong" in any
cell, the honest students keep full marks, the gradebook and the course files stay intact
and no process outlives grading.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbgrader_course import Course, nbgrader_meta, secret_lines
from test_autograde_infra import summary_rows

A = "ps02"
MARKER = "zq-attack-marker-7731"
TEST_RE = "test_relative_error"

WRONG = """
def relative_error(a, n):
    a = np.asarray(a, dtype=float)
    n = np.asarray(n, dtype=float)
    scale = np.abs(a)
    safe = np.where(scale > 0, scale, 1.0)
    return np.where(scale > 0, np.abs(a - n) / safe, 0.0)
"""

# attack name -> code run in the answer cell after the wrong function (COURSE is replaced by
# the course's absolute path: the attacker is assumed to know where everything is)
ATTACKS = {
    "patch_numpy": """
import math
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: np.True_
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
math.isclose = lambda *a, **k: True
""",
    "patch_checker": """
import course_lib.grading._core as core
import course_lib.grading.gradients as gradients
core.close = lambda *a, **k: True
core.fail = lambda *a, **k: None
core.check_against_reference = lambda *a, **k: None
for name in dir(gradients):
    if name.startswith("check_"):
        setattr(gradients, name, lambda *a, **k: None)
""",
    "fake_modules": """
import sys, types
class _Anything(types.ModuleType):
    def __getattr__(self, name):
        return lambda *a, **k: None
for name in ["course_lib.grading", "course_lib.grading.gradients", "course_lib.grading._core"]:
    sys.modules[name] = _Anything(name)
""",
    "import_hook": """
import sys, builtins, types, importlib.abc, importlib.util
class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.startswith("course_lib.grading"):
            return importlib.util.spec_from_loader(name, self)
    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__getattr__ = lambda attr: (lambda *a, **k: None)
        return module
    def exec_module(self, module):
        pass
for name in list(sys.modules):
    if name.startswith("course_lib.grading"):
        del sys.modules[name]
sys.meta_path.insert(0, _Finder())
_real_import = builtins.__import__
def _import(name, *args, **kwargs):
    module = _real_import(name, *args, **kwargs)
    return module
builtins.__import__ = _import
""",
    "patch_builtins": """
import builtins
builtins.isinstance = lambda *a: True
builtins.AssertionError = type("AssertionError", (Exception,), {})
builtins.abs = lambda x: 0 * x
""",
    "swallow_errors": """
ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda *a, **k: None)
ip.showtraceback = lambda *a, **k: None
ip._showtraceback = lambda *a, **k: None
""",
    "rigged_objects": """
class _Liar(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
    def __ne__(self, other): return np.zeros(np.shape(other), dtype=bool)
    def __sub__(self, other): return np.zeros(np.shape(other))
    def __rsub__(self, other): return np.zeros(np.shape(other))
    def __array_ufunc__(self, *a, **k): return np.zeros(1)
class _Always(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __sub__(self, other): return 0.0
    def __float__(self): return 0.0
_wrong = relative_error
def relative_error(a, n):
    out = np.asarray(_wrong(a, n))
    return _Always(out) if out.ndim == 0 else out.view(_Liar)
""",
    "print_and_exit": """
print("All tests passed!")
print("Score: 10.0 / 10.0")
import sys
try:
    sys.exit(0)
except SystemExit:
    pass
""",
    "kill_own_kernel": """
import os
os._exit(0)
""",
    "tamper_gradebook": """
import glob, os, sqlite3
found = []
for path in ["COURSE/gradebook.db", "../gradebook.db", "../../gradebook.db", "/gradebook.db"]:
    if os.path.exists(path):
        found.append(path)
for path in glob.glob("/**/gradebook.db", recursive=True)[:5]:
    found.append(path)
for path in found:
    try:
        db = sqlite3.connect(path)
        db.execute("UPDATE grade SET auto_score = 100")
        db.commit()
        open(path, "r+b").truncate(0)
    except Exception as exc:
        pass
print("gradebooks found:", found)
""",
    "read_secrets": """
import glob, os
leaks = []
for pattern in ["COURSE/solutions/*/*.ipynb", "COURSE/submitted/*/*/*.ipynb",
                "COURSE/nbgrader_config.py", "/root/*", os.path.expanduser("~/../*/*"),
                "/proc/1/environ", "/proc/*/cmdline", "/proc/1/root/COURSE/gradebook.db"]:
    for path in glob.glob(pattern)[:50]:
        try:
            leaks.append(open(path, errors="replace").read()[:100000])
        except Exception:
            pass
leaks.append(repr(dict(os.environ)))
text = "\\n".join(leaks)
print(text)
""",
    "overwrite_classmate": """
import glob
for path in glob.glob("COURSE/submitted/*/ps02/ps02.ipynb") + glob.glob("COURSE/solutions/*/*"):
    try:
        open(path, "w").write("{}")
    except Exception:
        pass
""",
    "leave_processes": """
import os, signal, subprocess, time
children = [subprocess.Popen(["sleep", "1000", "MARKER"]) for _ in range(20)]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        os.execvp("sleep", ["sleep", "1000", "MARKER-daemon"])
    os._exit(0)
""",
    "huge_output": """
import sys
line = "x" * 999 + "\\n"
for _ in range(60000):
    sys.stdout.write(line)
""",
    "memory_bomb": """
hoard = []
try:
    while True:
        hoard.append(bytearray(256 * 2**20))
except MemoryError:
    del hoard
    raise
""",
    "fork_bomb": """
import os, time
for _ in range(500):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.execvp("sleep", ["sleep", "1000", "MARKER-fork"])
""",
    "ignore_the_alarm": """
import signal
signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
""",
}

# an attack on the proxy objects the checker gives the student's function: numerical_gradient
# receives the test objective; it tries to reach the grader's objects through it
PROXY_ESCAPE = """
ESCAPES = []
def numerical_gradient(f, x, h=1e-5):
    found = []
    for path in ["__class__", "__init__", "__globals__", "_kernel", "__self__", "__dict__",
                 "func_globals", "reference", "calls", "expected"]:
        try:
            found.append(repr(getattr(f, path))[:200])
        except Exception as exc:
            found.append(type(exc).__name__)
    if type(f).__name__ == "_Remote":  # called by the grader, with the grader's objective
        ESCAPES.append(found)
    x = np.array(x, dtype=float)
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
"""

# a function the checker calls that never returns and swallows every interruption
NEVER_STOPS = """
def relative_error(a, n):
    import time
    while True:
        try:
            time.sleep(0.05)
        except BaseException:
            pass
"""


def _file_hashes(root: Path) -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _processes_with(text: str) -> list:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if text.encode() in cmdline:
            found.append((pid, cmdline.decode(errors="replace")))
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("attacks")
    course = Course.create(root, [A])
    solutions = course.cells(A, "solutions")
    wrong_cell = solutions["relative_error"].split("def relative_error")[0] + WRONG.strip()
    submit = lambda name, nb: course.submit(name, A, nb)  # noqa: E731
    submit("a_honest", course.submission(A))
    submit("wrong", course.submission(A, {"relative_error": wrong_cell}))
    for name, code in ATTACKS.items():
        code = code.replace("COURSE", str(root)).replace("MARKER", MARKER)
        submit(
            f"attack_{name}",
            course.submission(A, {"relative_error": wrong_cell + "\n" + textwrap.dedent(code)}),
        )
    submit(
        "attack_proxy_escape",
        course.submission(
            A,
            {
                "relative_error": wrong_cell + "\nprint('escapes', ESCAPES)",
                "numerical_gradient": PROXY_ESCAPE,
            },
        ),
    )
    submit("attack_never_stops", course.submission(A, {"relative_error": NEVER_STOPS}))
    # files that are not notebooks, or notebooks nbgrader would choke on
    folder = lambda name: root / "submitted" / name / A  # noqa: E731
    for name, content in [
        ("broken_empty", b""),
        ("broken_binary", os.urandom(5000)),
        ("broken_json", b'{"cells": [{"cell_type": "code", "sour'),
    ]:
        folder(name).mkdir(parents=True)
        (folder(name) / f"{A}.ipynb").write_bytes(content)
    honest = course.submission(A)
    edited = course.submission(A, {"relative_error": wrong_cell})
    for cell in edited.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            cell.source = "pass  # tests removed"
            meta["points"] = 100
        if meta.get("grade_id") == TEST_RE:
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    submit("attack_edit_tests", edited)
    stripped = course.submission(A)
    for cell in stripped.cells:
        cell.metadata = {}
    stripped.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    submit("stripped_metadata_wrong_kernel", stripped)
    folder("old_format").mkdir(parents=True)
    nbformat.write(nbformat.convert(honest, 3), folder("old_format") / f"{A}.ipynb", version=3)
    (folder("symlink_to_gradebook")).mkdir(parents=True)
    nbformat.write(
        course.submission(A, {"relative_error": wrong_cell}),
        folder("symlink_to_gradebook") / f"{A}.ipynb",
    )
    os.symlink(root / "gradebook.db", folder("symlink_to_gradebook") / "data.db")
    submit("z_honest", course.submission(A))

    protected = {
        "solutions": _file_hashes(root / "solutions"),
        "honest": _file_hashes(root / "submitted" / "z_honest"),
    }
    proc = course.isolated_autograde(
        A,
        "--cell-timeout",
        "8",
        "--wall-time",
        "90",
        "--memory",
        "1024",
        env={"COURSE_GRADING_TIME_LIMIT": "2", "SECRET_INSTRUCTOR_TOKEN": "do-not-leak"},
    )
    rows = summary_rows(proc.stdout)
    return course, proc, rows, protected


def students(course):
    return sorted(p.name for p in (course.root / "submitted").iterdir())


def test_the_batch_completes_and_reports_every_student(batch):
    course, proc, rows, _ = batch
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(students(course)) <= set(rows), proc.stdout


def test_honest_students_before_and_after_the_attackers_keep_full_marks(batch):
    course, _, rows, _ = batch
    tests = course.cells(A, "tests")
    for name in ("a_honest", "z_honest", "stripped_metadata_wrong_kernel", "old_format"):
        assert course.scores(A, name) == tests, (name, rows.get(name))


def test_the_wrong_baseline_loses_exactly_the_relative_error_tests(batch):
    course, _, _, _ = batch
    scores = course.scores(A, "wrong")
    lost = {gid for gid, s in scores.items() if s == 0}
    assert TEST_RE in lost and lost <= {TEST_RE, "test_gradient_check_error"}


@pytest.mark.parametrize("attack", sorted([*ATTACKS, "proxy_escape", "never_stops", "edit_tests"]))
def test_no_attack_earns_more_than_the_same_wrong_code(batch, attack):
    course, _, rows, _ = batch
    wrong = course.scores(A, "wrong")
    attacked = course.scores(A, f"attack_{attack}")
    gained = {gid: (wrong[gid], s) for gid, s in attacked.items() if s > wrong[gid]}
    assert gained == {}, rows.get(f"attack_{attack}")
    assert attacked[TEST_RE] == 0


def test_statuses_name_what_happened(batch):
    _, _, rows, _ = batch
    expected = {
        "attack_memory_bomb": "memory limit",
        "attack_ignore_the_alarm": "timed out",
        "attack_never_stops": "timed out",
        "attack_kill_own_kernel": "crashed",
        "broken_empty": "malformed",
        "broken_binary": "malformed",
        "broken_json": "malformed",
        "a_honest": "graded",
        "attack_patch_numpy": "graded",
        "stripped_metadata_wrong_kernel": "malformed",
    }
    for name, status in expected.items():
        assert f" {status} " in rows[name] + " ", rows[name]


def test_broken_files_score_zero_and_keep_a_reason(batch):
    course, _, rows, _ = batch
    assert "empty" in rows["broken_empty"] and "binary" in rows["broken_binary"]
    assert "invalid JSON" in rows["broken_json"]
    for name in ("broken_empty", "broken_binary", "broken_json"):
        assert set(course.scores(A, name).values()) == {0.0}
    assert "nbformat 3" in rows["old_format"]


def test_the_gradebook_is_intact(batch):
    course, _, _, _ = batch
    db = sqlite3.connect(course.root / "gradebook.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT max(auto_score) FROM grade").fetchone()[0] <= 2
    submitted = db.execute("SELECT count(*) FROM submitted_assignment").fetchone()[0]
    assert submitted == len(students(course))


def test_course_files_and_classmates_are_untouched(batch):
    course, _, _, protected = batch
    assert _file_hashes(course.root / "solutions") == protected["solutions"]
    assert _file_hashes(course.root / "submitted" / "z_honest") == protected["honest"]


def test_no_secret_reaches_an_attackers_outputs(batch):
    course, _, _, _ = batch
    secrets = secret_lines(course.source_notebook(A))
    assert secrets
    for name in ("attack_read_secrets", "attack_tamper_gradebook", "attack_proxy_escape"):
        nb = course.autograded_notebook(A, name)
        shown = " ".join(str(o) for c in nb.cells for o in c.get("outputs", []))
        assert [s for s in secrets if s in shown] == [], name
        assert "hidden=True" not in shown and str(course.root) + "/solutions" not in shown
        assert "do-not-leak" not in shown and "SECRET_INSTRUCTOR_TOKEN" not in shown


def test_the_proxy_gives_nothing_of_the_grader_away(batch):
    course, _, _, _ = batch
    nb = course.autograded_notebook(A, "attack_proxy_escape")
    text = " ".join(
        o.get("text", "")
        for c in nb.cells
        for o in c.get("outputs", [])
        if "escapes" in o.get("text", "")
    )
    assert "AttributeError" in text  # the attack ran, with the grader's objective
    assert "__builtins__" not in text and "<module" not in text and "<function" not in text


def test_no_process_outlives_grading(batch):
    # the attackers' sleeps, a double-forked daemon that ignores SIGTERM/SIGHUP, fork bombs
    assert _processes_with(MARKER) == []


def test_output_is_capped(batch):
    course, _, _, _ = batch
    path = course.root / "autograded" / "attack_huge_output" / A / f"{A}.ipynb"
    assert path.stat().st_size < 5 * 2**20
    assert "x" * 999 in path.read_text()  # the output is there, cut short


def test_symlinks_in_a_submission_are_not_followed(batch):
    course, _, _, _ = batch
    copied = course.root / "autograded" / "symlink_to_gradebook" / A / "data.db"
    assert (
        not copied.exists()
        or copied.is_symlink()
        or copied.stat().st_size == 0
        or copied.read_bytes()[:16] != b"SQLite format 3\x00"
    )
