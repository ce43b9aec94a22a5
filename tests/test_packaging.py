"""`pip install .` installs course_lib (Colab, JupyterHub images) with every module."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import course_lib

ROOT = Path(__file__).resolve().parents[1]


def test_pip_install_provides_every_module(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    # every module, except the command-line entry points (importing one runs the command)
    modules = sorted(
        m.name
        for m in pkgutil.walk_packages(course_lib.__path__, "course_lib.")
        if not m.name.endswith(".__main__")
    )
    assert {
        "course_lib.optim",
        "course_lib.schedules",
        "course_lib.landscapes",
        "course_lib.train",
        "course_lib.search",
        "course_lib.data",
        "course_lib.models",
    } <= set(modules)
    probe = (
        f"import importlib, course_lib; [importlib.import_module(m) for m in {modules!r}]; "
        "print(course_lib.__file__)"
    )
    # run from an empty directory with only the installed copy on the path
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {probe}"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert Path(out.strip()).is_relative_to(target)
