"""Small fixes to the HTML that Jupyter Book 1 produces (a local Sphinx extension).

- Inline scripts are listed twice by sphinx-book-theme + Sphinx 7.4, so the second copy fails
  with "Identifier 'THEBE_JS_URL' has already been declared": keep one copy of each.
- ipywidgets' controls typeset their labels with MathJax 2's ``MathJax.Hub.Queue``; the book
  loads MathJax 3, which has no ``Hub``. A small shim forwards those calls to
  ``MathJax.typesetPromise`` (it survives MathJax 3 replacing ``window.MathJax`` at start-up).
- ipywidgets 8.1 sliders (noUiSlider) give their handle ``role="slider"`` but no accessible
  name, and their visible label is not tied to it: a screen reader announces "slider, 0.01".
  A small script names every handle after its control's label ("learning rate"), also for
  widgets rendered later.
"""

from __future__ import annotations

MATHJAX2_SHIM = """
(function () {
  function addHub(mj) {
    if (mj && typeof mj === "object" && !mj.Hub) {
      mj.Hub = { Queue: function () {
        var args = Array.prototype.slice.call(arguments), elements = [];
        args.forEach(function (a) { if (Array.isArray(a) && a[2]) { elements.push(a[2]); } });
        if (window.MathJax && window.MathJax.typesetPromise) {
          window.MathJax.typesetPromise(elements.length ? elements : undefined).catch(function () {});
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
  function start() {
    nameHandles();
    new MutationObserver(nameHandles).observe(document.body, { childList: true, subtree: true });
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
        key = (str(getattr(script, "filename", script) or ""), str(getattr(script, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.add_js_file(None, body=MATHJAX2_SHIM, priority=100)  # before MathJax's own config
    app.add_js_file(None, body=SLIDER_NAMES)
    app.connect("html-page-context", _deduplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
