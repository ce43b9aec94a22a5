"""Small fixes to the HTML that Jupyter Book 1 produces (a local Sphinx extension).

In the page context, before a page is written:

- Inline scripts are listed twice by sphinx-book-theme + Sphinx 7.4, so the second copy fails
  with "Identifier 'THEBE_JS_URL' has already been declared": keep one copy of each.
- ipywidgets' controls typeset their labels with MathJax 2's ``MathJax.Hub.Queue``; the book
  loads MathJax 3, which has no ``Hub``. A small shim forwards those calls to
  ``MathJax.typesetPromise`` (it survives MathJax 3 replacing ``window.MathJax`` at start-up).
- ipywidgets 8.1 sliders (noUiSlider) give their handle ``role="slider"`` but no accessible
  name, and their visible label is not tied to it: a screen reader announces "slider, 0.01".
  A small script names every handle after its control's label ("learning rate"), also for
  widgets rendered later. The same script gives a live widget's figure (an ``<img>`` with a
  ``title`` describing it) that text as its ``alt`` too.

In every written page, when the build finishes (``fix_page``, a pure function of the HTML, so
the fixes apply to the theme's markup too and applying them twice changes nothing):

- every widget output gets its figure as a plain ``<img class="jupyter-widget">`` (the PNG
  saved in the widget state, written to ``_images/``) just before the widget view, the
  fallback the ipywidgets HTML manager expects there (``libembed.ts``). The manager means to
  remove it when it renders the live view but never does (it compares ``tagName`` with
  ``"img"``; HTML pages give ``"IMG"``), so ``book/_static/site.css`` hides it once the view
  is there. The page shows the figure either way, also when the manager cannot run;
- the citation list: docutils writes ``role="list"`` with ``role="doc-biblioentry"`` items, a
  role that DPUB-ARIA 1.1 deprecated and that a list may not contain (axe-core:
  aria-required-children, aria-deprecated-role); the items become ``role="listitem"``;
- controls whose ``aria-label`` differs from their visible text (axe-core:
  label-content-name-mismatch, WCAG 2.5.3 "Label in Name"): the search buttons ("Search" vs
  "Search Ctrl+K") and code-cell toggles ("Toggle hidden content" vs "Show code cell source")
  lose the ``aria-label`` and are named by their visible text; the colour-mode button's icons
  lose their ``title`` (hidden from assistive technology; the button is named "Color mode");
- an empty header cell (the corner of a table) becomes a data cell (axe-core:
  empty-table-header).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from pathlib import Path

MATHJAX2_SHIM = """
(function () {
  function addHub(mj) {
    if (mj && typeof mj === "object" && !mj.Hub) {
      mj.Hub = { Queue: function () {
        var args = Array.prototype.slice.call(arguments), elements = [];
        args.forEach(function (a) { if (Array.isArray(a) && a[2]) { elements.push(a[2]); } });
        if (window.MathJax && window.MathJax.typesetPromise) {
          var targets = elements.length ? elements : undefined;
          window.MathJax.typesetPromise(targets).catch(function () {});
        }
      } };
    }
    return mj;
  }
  var current = addHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = addHub(value); }
  });
})();
"""

SLIDER_NAMES = """
(function () {
  function nameHandles() {
    document.querySelectorAll(".widget-slider").forEach(function (slider) {
      var label = slider.querySelector(".widget-label"), name = label && label.textContent;
      slider.querySelectorAll(".noUi-handle").forEach(function (handle) {
        if (name && handle.getAttribute("aria-label") !== name) {
          handle.setAttribute("aria-label", name);
        }
      });
    });
  }
  function describeImages() {
    document.querySelectorAll("img.widget-image[title]").forEach(function (img) {
      if (img.getAttribute("alt") !== img.title) {
        img.setAttribute("alt", img.title);
      }
    });
  }
  function start() {
    nameHandles();
    describeImages();
    new MutationObserver(function () { nameHandles(); describeImages(); }).observe(
      document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
"""


def _deduplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # an inline script may be registered with filename None by one package and "" by another
        key = (
            str(getattr(script, "filename", script) or ""),
            str(getattr(script, "attributes", {}).get("body", "")),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


WIDGET_STATE = re.compile(
    r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.S
)
WIDGET_VIEW = re.compile(
    r'(<img class="jupyter-widget"[^>]*>)?'
    r'(<script type="application/vnd\.jupyter\.widget-view\+json">(.*?)</script>)',
    re.S,
)


def _widget_children(model: dict) -> list[str]:
    children = model.get("state", {}).get("children", [])
    return [c.removeprefix("IPY_MODEL_") for c in children if isinstance(c, str)]


def _widget_models(state: dict, model_id: str) -> list[dict]:
    """The model and its descendants (box children), depth first."""
    model = state.get(model_id)
    if model is None:
        return []
    found = [model]
    for child in _widget_children(model):
        found += _widget_models(state, child)
    return found


def _control_text(model: dict) -> str | None:
    """'learning rate 0.09' for a control with a description and a value, else None."""
    values = model.get("state", {})
    description = str(values.get("description") or "").strip()
    if not description:
        return None
    if "_options_labels" in values and isinstance(values.get("index"), int):
        value = values["_options_labels"][values["index"]]
    elif "value" in values and not isinstance(values["value"], (dict, list)):
        value = values["value"]
    else:
        return None
    return f"{description} {value}".replace("$", "").replace("\\", "")


def widget_figure(state: dict, model_id: str) -> tuple[bytes, str] | None:
    """The PNG of the first image in a widget and an alt text for it, or None."""
    models = _widget_models(state, model_id)
    image = next((m for m in models if m.get("model_name") == "ImageModel"), None)
    if image is None:
        return None
    data = next(
        (
            b["data"]
            for b in image.get("buffers", [])
            if b.get("path") == ["value"] and b.get("encoding") == "base64"
        ),
        None,
    )
    if not data:
        return None
    own = str(image.get("state", {}).get("tooltip") or "").strip()
    if own:
        alt = own
    else:
        controls = [t for t in map(_control_text, models) if t]
        alt = "Figure of the interactive widget at its initial settings"
        alt += ": " + ", ".join(controls) + "." if controls else "."
    return base64.b64decode(data), alt


def fix_page(text: str, images: Path | None = None, images_url: str = "_images") -> str:
    """The fixes listed in the module docstring, applied to one page's HTML.

    ``images``: the folder where widget figures are written (none written if None);
    ``images_url``: that folder as the page refers to it.
    """
    state_match = WIDGET_STATE.search(text)
    if state_match and images is not None:
        state = json.loads(state_match.group(1)).get("state", {})

        def add_figure(match):
            if match.group(1):  # already there
                return match.group(0)
            model_id = json.loads(match.group(3)).get("model_id", "")
            figure = widget_figure(state, model_id)
            if figure is None:  # not a figure (e.g. a progress bar)
                return match.group(0)
            png, alt = figure
            name = f"widget-{model_id}.png"
            images.mkdir(parents=True, exist_ok=True)
            (images / name).write_bytes(png)
            return (
                f'<img class="jupyter-widget" src="{images_url}/{name}" '
                f'alt="{html.escape(alt)}">' + match.group(2)
            )

        text = WIDGET_VIEW.sub(add_figure, text)
    text = text.replace('role="doc-biblioentry"', 'role="listitem"')
    text = re.sub(
        r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="Search"', r"\1", text
    )
    text = text.replace('<summary aria-label="Toggle hidden content">', "<summary>")
    text = re.sub(
        r'(<i class="theme-switch [^"]*" data-mode="\w+")\s+title="[^"]*"',
        r'\1 aria-hidden="true"',
        text,
    )
    text = re.sub(r'<th class="head">(?:<p>\s*</p>|\s*)</th>', '<td class="head"></td>', text)
    return text


def _fix_written_pages(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in outdir.rglob("*.html"):
        if page.relative_to(outdir).parts[0].startswith("_"):
            continue
        images_url = os.path.relpath(outdir / "_images", page.parent).replace(os.sep, "/")
        text = page.read_text(encoding="utf-8")
        fixed = fix_page(text, outdir / "_images", images_url)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def _copy_own_static_files(app, exception):
    """Copy ``html_static_path`` (book/_static: site.css) to the site after every build.

    Sphinx copies static files only when some page is rewritten: after an edit of site.css
    alone, ``make book`` reports "no targets are out of date" and keeps the old copy.
    """
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.util.fileutil import copy_asset

    for entry in app.config.html_static_path:
        copy_asset(Path(app.confdir, entry), Path(app.outdir, "_static"))


def setup(app):
    app.add_js_file(None, body=MATHJAX2_SHIM, priority=100)  # before MathJax's own config
    app.add_js_file(None, body=SLIDER_NAMES)
    app.connect("html-page-context", _deduplicate_scripts, priority=900)
    app.connect("build-finished", _fix_written_pages)
    app.connect("build-finished", _copy_own_static_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
