"""Build a JupyterLite site into the book, so every chapter runs in the reader's browser with no
server and no install (a local Sphinx extension).

At the end of an HTML build, ``jupyter lite build`` writes the site to ``jupyterlite/`` of the
built book; the launch menu's "JupyterLite" entry (``launch_buttons.jupyterlite_url`` in
``_config.yml``) opens ``jupyterlite/notebooks/index.html?path=book/<chapter>.ipynb``. The site
holds:

- the chapters' notebook copies (``book/*.ipynb``, ``make notebooks``) as its contents;
- the Pyodide runtime from the npm package ``pyodide`` (``book/_vendor``, installed by
  ``offline_assets``) in ``static/pyodide``, with a rewritten ``pyodide-lock.json``: the packages
  the kernel loads when it starts (micropip, IPython, jedi and their dependencies) are served by
  the site, and every other package of the Pyodide distribution (numpy, matplotlib, scipy,
  scikit-learn...) is fetched from Pyodide's CDN when a notebook first imports it. Those are
  built for WebAssembly and published only there, not on PyPI or npm;
- in ``pypi/``, for piplite (the kernel's ``%pip``): course_lib, built from this repository at
  build time (``pip wheel . --no-deps``), and the pure-Python wheels ipywidgets needs, fetched
  from PyPI at build time (never at reading time: ``disablePyPIFallback``);
- the frontend extensions of the Pyodide kernel and of ipywidgets, and a setting that starts the
  kernel with the notebook (no kernel-selection dialog).

The versions of jupyterlite-core, jupyterlite-pyodide-kernel (``requirements.txt``) and the npm
``pyodide`` (``book/_vendor/package.json``) must move together: the kernel is built for one
Pyodide release, and the build stops with an error when they disagree.

jupyterlite-sphinx is not used: the launch menu only needs a URL, and one ``jupyter lite build``
per book build is simpler to reason about than per-page buttons (which lose their notebook on an
incremental rebuild). Downloaded wheels are cached in ``_build/.jupyterlite-cache``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
PYODIDE_NPM = Path(__file__).resolve().parents[1] / "_vendor" / "node_modules" / "pyodide"
# the runtime's files that the kernel loads (the rest of the npm package is for Node.js)
PYODIDE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"]
SITE_DIR = "jupyterlite"  # the folder of the built book that holds the site
CDN = "https://cdn.jsdelivr.net/pyodide/v{version}/full/"
# Packages of the Pyodide distribution that the kernel loads before it can run a cell (with their
# dependencies): served by the site so that the kernel starts offline.
KERNEL_START = ["micropip", "ipython", "jedi"]
# From PyPI, at the versions this environment pins, for piplite: comm, which the kernel installs
# when it starts, and ipywidgets with its dependencies (the kernel's own wheels stand in for
# ipykernel and widgetsnbextension).
PIPLITE = ["comm", "ipywidgets", "jupyterlab_widgets"]
LABEXTENSIONS = ["@jupyterlite/pyodide-kernel-extension", "@jupyter-widgets/jupyterlab-manager"]
# Jupyter Notebook's interface: a notebook per tab, like Colab, and its file browser (the site's
# front page, jupyterlite/); no JupyterLab, REPL or editor app
APPS = ["notebooks", "tree"]
SETTINGS = {
    # start the notebook's kernel (Python (Pyodide)) without asking
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
}


def pyodide_version() -> str:
    return json.loads((PYODIDE_NPM / "package.json").read_text())["version"]


def check_versions() -> str:
    """The Pyodide version, after checking that the npm runtime is the kernel's."""
    from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION

    if not PYODIDE_NPM.is_dir():
        raise ExtensionError(
            "the npm package pyodide is missing from book/_vendor/node_modules (npm ci)"
        )
    npm = pyodide_version()
    if npm != PYODIDE_VERSION:
        raise ExtensionError(
            f"jupyterlite-pyodide-kernel {metadata.version('jupyterlite-pyodide-kernel')} is built "
            f"for Pyodide {PYODIDE_VERSION}, but book/_vendor/package.json pins pyodide {npm}: "
            "move them together"
        )
    return npm


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kernel_start_packages(lock: dict) -> list[str]:
    """``KERNEL_START`` and everything it depends on, as named in the Pyodide lock file."""
    packages = lock["packages"]
    todo, seen = list(KERNEL_START), set()
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        if name not in packages:
            raise ExtensionError(f"{name} is not in Pyodide {lock['info']} 's pyodide-lock.json")
        seen.add(name)
        todo.extend(packages[name]["depends"])
    return sorted(seen)


def _pip(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--quiet", "--disable-pip-version-check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ExtensionError(f"pip {' '.join(args[:3])} ... failed:\n{result.stderr[-3000:]}")


def _find_wheel(spec: str, folder: Path) -> Path | None:
    """The wheel of ``name==version`` in ``folder`` (names compared as PEP 503 normalises them)."""
    name, version = spec.split("==")
    found = [
        p
        for p in folder.glob("*.whl")
        if parse_wheel_filename(p.name)[:2] == (canonicalize_name(name), Version(version))
    ]
    return sorted(found)[0] if found else None


def download_wheels(specs: list[str], dest: Path) -> list[Path]:
    """Pure-Python wheels for Pyodide's Python from the package registry (cached in ``dest``)."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = [s for s in specs if _find_wheel(s, dest) is None]
    if wanted:
        logger.info("JupyterLite: downloading %s", ", ".join(wanted))
        _pip(
            "download", "--no-deps", "--only-binary=:all:", "--platform", "any",
            "--python-version", "3.14", "--implementation", "py", "--dest", str(dest), *wanted,
        )  # fmt: skip
    wheels = {spec: _find_wheel(spec, dest) for spec in specs}
    missing = [spec for spec, wheel in wheels.items() if wheel is None]
    if missing:
        raise ExtensionError(f"pip download brought no wheel for {', '.join(missing)}")
    return list(wheels.values())


def prepare_pyodide(lite_dir: Path, cache: Path, version: str) -> None:
    """``static/pyodide``: the npm runtime, the kernel's start packages and a lock file that
    sends every other package to the CDN."""
    target = lite_dir / "static" / "pyodide"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in PYODIDE_FILES:
        shutil.copy2(PYODIDE_NPM / name, target / name)
    lock = json.loads((PYODIDE_NPM / "pyodide-lock.json").read_text())
    local = kernel_start_packages(lock)
    specs = [f"{lock['packages'][n]['name']}=={lock['packages'][n]['version']}" for n in local]
    wheels = dict(zip(local, download_wheels(specs, cache / "pyodide")))
    cdn = CDN.format(version=version)
    for name, package in lock["packages"].items():
        if name in wheels:
            wheel = wheels[name]
            shutil.copy2(wheel, target / wheel.name)
            package["file_name"], package["sha256"] = wheel.name, _sha256(wheel)
        else:
            package["file_name"] = cdn + package["file_name"]
    (target / "pyodide-lock.json").write_text(json.dumps(lock))


def prepare_pypi(lite_dir: Path, cache: Path) -> None:
    """``pypi/``: course_lib built from this repository, and ipywidgets' wheels."""
    target = lite_dir / "pypi"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    # from a copy of what the wheel is made of: an in-tree build keeps a build/ folder whose stale
    # files (a module since deleted) would end up in the wheel
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["pyproject.toml", "README.md"]:
            shutil.copy2(ROOT / name, tmp)
        shutil.copytree(
            ROOT / "course_lib",
            Path(tmp) / "course_lib",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        _pip("wheel", tmp, "--no-deps", "--no-build-isolation", "--wheel-dir", str(target))
    specs = [f"{name}=={metadata.version(name)}" for name in PIPLITE]
    for wheel in download_wheels(specs, cache / "pypi"):
        shutil.copy2(wheel, target)


def prepare_contents(lite_dir: Path, notebooks: list[Path]) -> None:
    """The chapters' notebooks at ``book/<chapter>.ipynb``: the path the launch menu opens."""
    target = lite_dir / "files" / "book"
    shutil.rmtree(lite_dir / "files", ignore_errors=True)
    target.mkdir(parents=True)
    for notebook in notebooks:
        if not notebook.exists():
            raise ExtensionError(f"{notebook.relative_to(ROOT)} is missing: run make notebooks")
        shutil.copy2(notebook, target / notebook.name)


def write_config(lite_dir: Path, output: Path) -> None:
    share = Path(sys.prefix) / "share" / "jupyter" / "labextensions"
    config = {
        "LiteBuildConfig": {
            "apps": APPS,
            "contents": ["files"],
            "output_dir": str(output),
            "no_sourcemaps": True,
            "no_unused_shared_packages": True,
            # only the extensions listed here, not every one installed (nbgrader, jupytext...)
            "ignore_sys_prefix": ["federated_extensions"],
            "federated_extensions": [str(share / name) for name in LABEXTENSIONS],
        },
    }
    (lite_dir / "jupyter_lite_config.json").write_text(json.dumps(config, indent=1))
    lite = {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appUrl": "./tree",  # where jupyterlite/ itself leads: the list of chapters
            # window.jupyterapp: how the browser test (tests/test_lite.py) runs cells
            "exposeAppInBrowser": "true",
            "litePluginSettings": {
                "@jupyterlite/pyodide-kernel-extension:kernel": {"disablePyPIFallback": True}
            },
        },
    }
    (lite_dir / "jupyter-lite.json").write_text(json.dumps(lite, indent=1))
    (lite_dir / "overrides.json").write_text(json.dumps(SETTINGS, indent=1))


def build(outdir: Path, notebooks: list[Path]) -> None:
    version = check_versions()
    lite_dir = ROOT / "_build" / ".jupyterlite"
    cache = ROOT / "_build" / ".jupyterlite-cache"
    output = outdir / SITE_DIR
    # from scratch: jupyter lite keeps a record of its steps (doit) in the lite directory and
    # would skip writing pyodideUrl into an output it did not see removed
    shutil.rmtree(lite_dir, ignore_errors=True)
    lite_dir.mkdir(parents=True)
    prepare_pyodide(lite_dir, cache, version)
    prepare_pypi(lite_dir, cache)
    prepare_contents(lite_dir, notebooks)
    write_config(lite_dir, output)
    shutil.rmtree(output, ignore_errors=True)
    logger.info("JupyterLite: building %s/ (Pyodide %s)", SITE_DIR, version)
    jupyter = Path(sys.executable).with_name("jupyter")
    result = subprocess.run(
        [str(jupyter), "lite", "build", "--lite-dir", str(lite_dir)],
        cwd=lite_dir,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ExtensionError(f"jupyter lite build failed:\n{result.stdout[-4000:]}{result.stderr}")


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    notebooks = [ROOT / f"{doc}.ipynb" for doc in app.env.found_docs if doc.startswith("book/")]
    build(Path(app.outdir), sorted(notebooks))


def setup(app):
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
