"""Every grading message a wrong submission of an assignment gets, collected in-process.

For each wrong submission in an assignment's tables (typical mistakes and wrong functions),
the source notebook runs in one fresh namespace with the submission's answer cells, and each
statement of each autograded test cell that reads something the submission changed runs on
its own, so a failing visible test does not hide the message of a hidden one. Then every
checker that a test cell calls on one of the changed functions runs again on a few more
hidden seeds (1, 2 and 12345), as the per-assignment tests do. The result maps

    submission -> "<test cell> :: <statement>" or "sweep :: <call>" -> message (None: passed)

``tests/golden/make_grading_messages.py`` writes it to ``tests/golden/grading_messages.json``;
``tests/test_grading_messages.py`` checks that the checkers still produce exactly those
messages, so a refactoring of the grading code provably changes no message a student sees.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Mapping, Optional

from nbgrader_course import REPO, SourceNotebook, nbgrader_meta, strip_solution_markers

GOLDEN = Path(__file__).with_name("golden") / "grading_messages.json"
ASSIGNMENTS = ("ps01", "ps02", "ps03", "ps04", "ps05", "ps06", "ps07", "ps08", "ps09", "ps10")
SWEEP = ((1, True), (2, True), (12345, True))


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _statements(source: str) -> list[tuple[str, object]]:
    """(source text, compiled code) of each top-level statement of a cell."""
    tree = ast.parse(source)
    out = []
    for node in tree.body:
        text = ast.get_source_segment(source, node) or ast.dump(node)
        code = compile(ast.Module(body=[node], type_ignores=[]), "<test cell>", "exec")
        out.append((text, code))
    return out


def _checker_calls(source: str, functions: set) -> list[tuple[str, str]]:
    """(checker name, function name) of the calls ``check_x(function, ...)`` in a test cell."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("check_")
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in functions
        ):
            calls.append((node.func.id, node.args[0].id))
    return list(dict.fromkeys(calls))


def _names(source: str) -> set:
    """Every name a cell's code reads or binds."""
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)} | {
        n.name
        for n in ast.walk(ast.parse(source))
        if isinstance(n, (ast.FunctionDef, ast.ClassDef))
    }


def _bound(before: dict, after: dict) -> dict:
    return {k: v for k, v in after.items() if k not in before or before[k] is not v}


class _Baseline:
    """The solution notebook run once: per code cell, its CPU time and the names it bound."""

    def __init__(self, assignment: str):
        self.nb = SourceNotebook(assignment, {}).notebook()
        self.cells = [c for c in self.nb.cells if c.cell_type == "code"]
        ns: dict = {"__name__": "__main__"}
        self.seconds, self.bound = [], []
        for cell in self.cells:
            m = nbgrader_meta(cell)
            before = dict(ns)
            start = time.process_time()
            if not (m.get("grade") and not m.get("solution")):
                with _quiet():
                    exec(
                        compile(
                            strip_solution_markers(cell.source),
                            f"<cell {m.get('grade_id') or 'code'}>",
                            "exec",
                        ),
                        ns,
                    )
            self.seconds.append(time.process_time() - start)
            self.bound.append(_bound(before, ns))


_BASELINES: dict = {}


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def messages_of(assignment: str, answers: Mapping[str, str]) -> dict:
    """ "<cell> :: <statement>" and "sweep :: <call>" -> message or None, for one submission.

    Only what the submission can change runs: answer and setup cells always (they are cheap
    and define the functions), a slow cell of the notebook (an experiment, a plot) only if
    the submission changed it or it reads a name the changed cells bind; otherwise it binds
    the names it bound in the solution's run. Test statements run if they read such a name.
    """
    if assignment not in _BASELINES:
        _BASELINES[assignment] = _Baseline(assignment)
    base = _BASELINES[assignment]
    ns: dict = {"__name__": "__main__"}
    changed: set = set()
    out: dict = {}
    sweep: list[tuple[str, str]] = []
    for i, cell in enumerate(base.cells):
        m = nbgrader_meta(cell)
        gid = m.get("grade_id")
        source = answers.get(gid, strip_solution_markers(cell.source))
        names = _names(source)
        if not (m.get("grade") and not m.get("solution")):
            if gid in answers or names & changed or base.seconds[i] < 0.05:
                before = dict(ns)
                try:
                    with _quiet():
                        exec(compile(source, f"<cell {gid or 'code'}>", "exec"), ns)
                except Exception:  # noqa: BLE001 - a broken answer cell shows in the tests
                    pass
                if gid in answers or names & changed:
                    changed |= set(_bound(before, ns))
            else:
                ns.update(base.bound[i])
            continue
        for text, code in _statements(source):
            if text.lstrip().startswith(("import", "from")):
                exec(code, ns)
                continue
            if not (_names(text) & changed):
                continue
            try:
                with _quiet():
                    exec(code, ns)
                error = None
            except Exception as exc:  # noqa: BLE001 - a failing test is a result
                error = _error(exc)
            out[f"{gid} :: {text}"] = error
        sweep += _checker_calls(source, changed)
    for checker, function in dict.fromkeys(sweep):
        for seed, hidden in SWEEP:
            try:
                with _quiet():
                    ns[checker](ns[function], seed=seed, hidden=hidden)
                error = None
            except Exception as exc:  # noqa: BLE001
                error = _error(exc)
            out[f"sweep :: {checker}({function}, seed={seed}, hidden={hidden})"] = error
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    return out


def submissions(assignment: str) -> dict:
    """name -> answers (grade_id -> code) of every wrong submission in the assignment's tables
    (the ``TestChecks`` class of its test module: mistakes, submissions, wrong functions)."""
    import importlib

    tables = importlib.import_module(f"test_{assignment}").TestChecks
    out: dict = {}
    for name, (answers, _) in tables.graded().items():
        out[name] = answers
    for name, (answers, _) in tables.wrong.items():
        assert name not in out, f"{assignment}: two submissions named {name}"
        out[name] = dict(answers)
    return out


def collect(assignment: str, names: Optional[list] = None) -> dict:
    subs = submissions(assignment)
    return {name: messages_of(assignment, subs[name]) for name in (names or sorted(subs))}


def load() -> dict:
    return json.loads(GOLDEN.read_text())


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    data = {a: collect(a) for a in ASSIGNMENTS}
    GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    count = sum(len(v) for s in data.values() for v in s.values())
    print(f"wrote {GOLDEN.relative_to(REPO)}: {count} messages")
