"""The code base stays readable: ruff's linter and formatter are clean on the whole tree, and no
function of course_lib grows past a screenful without a stated reason."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# About 60 formatted lines: a function's statements (nested ones included, the docstring not)
MAX_STATEMENTS = 40

# "module:function" -> why it is longer (keep this list short; split a function instead)
LONG_FUNCTIONS: dict[str, str] = {
    "course_lib.autograde.wire:decode": "one validated branch per type of the wire format; "
    "split, the checks of one type would be far from its decoding",
    "course_lib.autograde.batch:_prepare": "the steps that stage and sanitize one submission, "
    "in order, each recording its note on the outcome (to split next)",
}


def _ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed: it is pinned in requirements.txt (make venv)")
    return [found]


@pytest.mark.parametrize(
    "command", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"]
)
def test_ruff_is_clean_on_the_whole_tree(command):
    result = subprocess.run(_ruff() + command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"ruff {' '.join(command)} found problems (fix, or run `make format`):\n"
        f"{result.stdout}{result.stderr}"
    )


def code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Logical lines of a function: the statements in its body, nested ones included, less its
    docstring. A statement the formatter spreads over several lines (one argument per line)
    counts once, so the measure does not change with the layout."""
    body = node.body
    if (
        len(body) > 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    statements = 0
    for statement in body:
        statements += sum(
            1
            for inner in ast.walk(statement)
            if isinstance(inner, ast.stmt)
            and not isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        )
    return statements


def long_functions(root: Path = ROOT / "course_lib") -> dict[str, int]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = code_lines(node)
                if lines > MAX_STATEMENTS:
                    found[f"{module}:{node.name}"] = lines
    return found


def test_no_function_of_course_lib_is_longer_than_a_screenful():
    too_long = {name: n for name, n in long_functions().items() if name not in LONG_FUNCTIONS}
    assert not too_long, (
        f"functions over {MAX_STATEMENTS} statements (split them, or list them "
        f"in LONG_FUNCTIONS with the reason): {too_long}"
    )


def test_the_list_of_long_functions_holds_only_long_functions():
    found = long_functions()
    stale = [name for name in LONG_FUNCTIONS if name not in found]
    assert not stale, f"no longer long, remove from LONG_FUNCTIONS: {stale}"


def test_code_lines_do_not_count_the_docstring(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_STATEMENTS))
    (package / "m.py").write_text(
        f'def short(\n    a,\n    b,\n):\n    """Doc.\n\n    More.\n    """\n{body}\n\n'
        f"def long():\n{body}\n    return 0\n"
    )
    assert long_functions(package) == {"pkg.m:long": MAX_STATEMENTS + 1}
