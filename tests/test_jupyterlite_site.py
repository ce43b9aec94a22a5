"""The pieces of the book's JupyterLite build (book/_ext/jupyterlite_site.py) that decide what the
site serves itself and what it leaves to Pyodide's CDN. The whole build is checked by
``make book`` and, in a browser, by tests/test_lite.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sphinx.errors import ExtensionError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import jupyterlite_site  # noqa: E402  (the book's local Sphinx extension)


def _lock(**depends) -> dict:
    return {"info": {"python": "3.14"}, "packages": {n: {"depends": d} for n, d in depends.items()}}


def test_the_kernels_start_packages_are_served_with_their_dependencies_and_nothing_else():
    lock = _lock(
        micropip=[], ipython=["traitlets", "Pygments"], jedi=["parso"], traitlets=[],
        pygments=[], parso=[], numpy=[], matplotlib=["numpy"],
    )  # fmt: skip
    local = jupyterlite_site.kernel_start_packages(lock)
    assert local == ["ipython", "jedi", "micropip", "parso", "pygments", "traitlets"]


def test_a_start_package_missing_from_the_lock_is_named():
    with pytest.raises(ExtensionError, match="parso"):
        jupyterlite_site.kernel_start_packages(_lock(micropip=[], ipython=[], jedi=["parso"]))


def test_wheels_are_found_by_normalised_name_and_exact_version(tmp_path):
    for name in ["pygments-2.20.0-py3-none-any.whl", "prompt_toolkit-3.0.52-py3-none-any.whl"]:
        (tmp_path / name).touch()
    find = jupyterlite_site._find_wheel
    assert find("Pygments==2.20.0", tmp_path).name.startswith("pygments-2.20.0")
    assert find("prompt-toolkit==3.0.52", tmp_path).name.startswith("prompt_toolkit")
    assert find("pygments==2.2", tmp_path) is None


def test_an_npm_pyodide_that_is_not_the_kernels_stops_the_build(tmp_path, monkeypatch):
    (tmp_path / "package.json").write_text(json.dumps({"version": "0.0.1"}))
    monkeypatch.setattr(jupyterlite_site, "PYODIDE_NPM", tmp_path)
    with pytest.raises(ExtensionError, match="move them together"):
        jupyterlite_site.check_versions()


def test_the_pins_move_together():
    """package.json's pyodide is the one requirements.txt's jupyterlite-pyodide-kernel is built
    for (checked on the installed kernel, which must be the pinned one)."""
    from importlib import metadata

    from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION

    pins = dict(
        line.split("==")
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.startswith("jupyterlite-")
    )
    assert set(pins) == {"jupyterlite-core", "jupyterlite-pyodide-kernel"}
    for name, version in pins.items():
        assert metadata.version(name) == version, f"{name}: installed is not the pinned {version}"
    package = json.loads((ROOT / "book" / "_vendor" / "package.json").read_text())
    assert package["dependencies"]["pyodide"] == PYODIDE_VERSION
