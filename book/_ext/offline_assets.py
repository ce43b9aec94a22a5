"""Serve the book's JavaScript from the built site itself, so it works offline (a local
Sphinx extension).

By default a Jupyter Book 1 page loads MathJax 3, require.js and the ipywidgets HTML manager
from CDNs: without internet the math stays raw LaTeX and the widgets do not render. Here they
come from the npm registry at build time, at the versions pinned in ``book/_vendor/package.json``
and ``package-lock.json``:

- ``npm ci`` runs in ``book/_vendor`` when ``node_modules`` is missing or was installed from
  another lock file (the lock's SHA-256 is kept beside the installed packages);
- the files the pages need are copied to ``_static/npm/`` of the built site (not to a
  ``_static`` folder of the sources: Jupyter Book adds every ``.js`` and ``.css`` found there to
  every page), with a ``README.txt`` that lists each package's version and licence;
- ``mathjax_path`` and myst-nb's ``nb_ipywidgets_js`` point at those copies. The widget manager
  finds its Font Awesome files through the require.js path of ``@jupyter-widgets/*`` (webpack's
  public path is the directory of the AMD module), so ``widgets-require-config.js`` maps those
  modules to the vendored folder; without it the fonts are requested relative to the page.

``axe-core`` is installed too, for the browser test (``tests/test_browser.py``), but is not
copied into the site.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

VENDOR = Path(__file__).resolve().parents[1] / "_vendor"
NODE_MODULES = VENDOR / "node_modules"
LOCK_STAMP = NODE_MODULES / ".package-lock.sha256"
SITE_DIR = "npm"  # under _static/ of the built site (the theme already has _static/vendor/)

# (npm package, folder of the package to copy from, glob patterns inside it, folder in the site)
ASSETS = [
    # the combined TeX + MathML -> CommonHTML component, with what it loads on demand: TeX
    # extensions (autoload), the CommonHTML fonts, the context menu and accessibility tools
    (
        "mathjax",
        "es5",
        ["tex-mml-chtml.js", "input/**/*", "output/chtml/**/*", "ui/*", "a11y/*", "sre/**/*"],
        "mathjax",
    ),
    ("mathjax", "", ["LICENSE"], "mathjax"),
    ("requirejs", "", ["require.js"], "requirejs"),
    # embed-amd.js defines @jupyter-widgets/base, controls and html-manager; the hashed files
    # are Font Awesome 5's fonts that the controls' CSS refers to
    (
        "@jupyter-widgets/html-manager",
        "dist",
        ["embed-amd.js", "*.woff2", "*.woff", "*.ttf", "*.eot", "*.svg"],
        "html-manager",
    ),
]

MATHJAX_PATH = f"{SITE_DIR}/mathjax/tex-mml-chtml.js"

# Runs after require.js, before embed-amd.js (which reads no configuration of its own).
WIDGETS_REQUIRE_CONFIG = """\
// Where require.js finds the widget manager's modules (and so its Font Awesome files):
// the vendored copy beside this file, whatever the depth of the page.
(function () {
  var here = document.currentScript.src.replace(/[^\\/]*$/, "");
  require.config({ paths: {
    "@jupyter-widgets": here + "html-manager",
    "@jupyter-widgets/html-manager/dist": here + "html-manager"
  } });
})();
"""

IPYWIDGETS_JS = {
    f"{SITE_DIR}/requirejs/require.js": {},
    f"{SITE_DIR}/widgets-require-config.js": {},
    # cdn-only: widget modules that are not built in would come from a CDN, never from the
    # page's folder; the book uses only the built-in controls
    f"{SITE_DIR}/html-manager/embed-amd.js": {"data-jupyter-widgets-cdn-only": ""},
}


def _lock_hash() -> str:
    return hashlib.sha256((VENDOR / "package-lock.json").read_bytes()).hexdigest()


def ensure_installed() -> None:
    """Run ``npm ci`` in ``book/_vendor`` unless node_modules matches the lock file."""
    if LOCK_STAMP.exists() and LOCK_STAMP.read_text().strip() == _lock_hash():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise ExtensionError(
            "building the book needs Node.js and npm, to fetch MathJax, require.js and the "
            "widget manager pinned in book/_vendor/package-lock.json from the npm registry "
            "(Debian/Ubuntu: apt-get install nodejs npm)"
        )
    logger.info("installing the book's JavaScript: npm ci in book/_vendor")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=VENDOR,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ExtensionError(f"npm ci in book/_vendor failed:\n{result.stdout}{result.stderr}")
    LOCK_STAMP.write_text(_lock_hash() + "\n")


def _package(name: str) -> dict:
    return json.loads((NODE_MODULES / name / "package.json").read_text())


def _copy_if_changed(src: Path, dest: Path) -> None:
    if (
        dest.exists()
        and dest.stat().st_size == src.stat().st_size
        and dest.stat().st_mtime >= src.stat().st_mtime
    ):
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)


def copy_assets(outdir: Path) -> None:
    """Copy the vendored files into ``outdir/_static/npm`` (only those that changed)."""
    site = outdir / "_static" / SITE_DIR
    for package, folder, patterns, target in ASSETS:
        root = NODE_MODULES / package / folder
        for pattern in patterns:
            files = [p for p in root.glob(pattern) if p.is_file()]
            if not files:
                raise ExtensionError(
                    f"{package}: no file matches {folder}/{pattern}; "
                    "is book/_vendor/package.json's version the one expected?"
                )
            for src in files:
                _copy_if_changed(src, site / target / src.relative_to(root))
    (site / "widgets-require-config.js").write_text(WIDGETS_REQUIRE_CONFIG)
    lines = ["JavaScript served by this site, from the npm registry (see book/_vendor):", ""]
    for package in sorted({a[0] for a in ASSETS}):
        meta = _package(package)
        lines.append(f"{package} {meta['version']} ({meta.get('license', 'see package')})")
    (site / "README.txt").write_text("\n".join(lines) + "\n")


def _configure(app, config) -> None:
    config.mathjax_path = MATHJAX_PATH
    config.nb_ipywidgets_js = dict(IPYWIDGETS_JS)


def _builder_inited(app) -> None:
    if app.builder.format == "html":
        ensure_installed()


def _build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        copy_assets(Path(app.outdir))


def setup(app):
    # after myst-nb and sphinx.ext.mathjax registered their settings
    app.connect("config-inited", _configure, priority=900)
    app.connect("builder-inited", _builder_inited)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
