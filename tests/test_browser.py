"""The built book in a real browser, offline: every page opened in headless Chromium with every
request that leaves 127.0.0.1 blocked, checked as a reader would see it.

Run alone with ``make browser-test`` (``.ci/run`` runs it after ``make book``). It uses the
``_build/html`` that ``make book`` left when that is newer than every source of the book, and
otherwise builds a clean copy of the repository in a temporary folder.

Needs Debian's ``chromium`` (``apt-get install chromium``) and Playwright for Python
(``pip install -r requirements-browser.txt``); Playwright drives the system's Chromium, no browser
is downloaded. Without them the test skips on a developer's machine and fails in CI
(``CI=true``). axe-core comes from ``book/_vendor`` (pinned, installed by the build).

Each page is loaded once; then one test per (page, check), so a failure names both. At the end a
per-page summary is printed and written to ``_build/browser-report.json``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
from test_book import _clean_copy, toc_files

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "book" / "_vendor" / "node_modules" / "axe-core" / "axe.min.js"
# what a page is built from: a change to any of these makes _build/html stale
SOURCES = [
    "_config.yml",
    "_toc.yml",
    "references.bib",
    "book/*.md",
    "book/*.ipynb",  # the JupyterLite site's notebooks
    "book/_ext/*.py",
    "book/_static/*",
    "book/_vendor/package-lock.json",
    "book/logo.svg",
    "course_lib/*.py",  # the JupyterLite site's course_lib wheel
    "pyproject.toml",
    "requirements.txt",
]
PAGES = [f"{name}.html" for name in toc_files()] + ["genindex.html", "search.html"]
CHECKS = ["console", "requests", "math", "images", "links", "focus", "solutions", "widgets", "axe"]
SERIOUS = {"serious", "critical"}
WIDGET_WAIT_S = 20.0
# an alt text that is a file name or path ("../_images/3fa9...e1.png") says nothing
FILE_NAME = re.compile(r"\.(png|jpe?g|gif|svg|webp)$|[0-9a-f]{16,}", re.I)


def _missing(reason: str):
    """Skip on a developer's machine; in CI a missing browser is a failure, not a skip."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI=true: the browser test must run)")
    pytest.skip(reason)


# -- the site ------------------------------------------------------------------------------------
def _newest_source() -> float:
    return max(p.stat().st_mtime for pattern in SOURCES for p in ROOT.glob(pattern))


@pytest.fixture(scope="module")  # also used by tests/test_lite.py
def site(tmp_path_factory) -> Path:
    built = ROOT / "_build" / "html"
    # rewritten at the end of every build (book/_ext/offline_assets.py)
    stamp = built / "_static" / "npm" / "README.txt"
    if stamp.exists() and stamp.stat().st_mtime > _newest_source():
        return built
    copy = tmp_path_factory.mktemp("book")
    _clean_copy(copy)
    # reuse what the clean build would fetch or compute again: the npm packages and the cache
    # of executed chapters (both are checked against their inputs by the build itself)
    modules = ROOT / "book" / "_vendor" / "node_modules"
    if modules.is_dir():
        (copy / "book" / "_vendor" / "node_modules").symlink_to(modules)
    if (ROOT / "_build" / ".jupyterlite-cache").is_dir():  # wheels from PyPI for JupyterLite
        shutil.copytree(
            ROOT / "_build" / ".jupyterlite-cache", copy / "_build" / ".jupyterlite-cache"
        )
    if (ROOT / "_build" / ".jupyter_cache").is_dir():
        shutil.copytree(ROOT / "_build" / ".jupyter_cache", copy / "_build" / ".jupyter_cache")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"],
        cwd=copy,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return copy / "_build" / "html"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")  # also used by tests/test_lite.py
def server(site):
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")  # also used by tests/test_lite.py
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed: pip install -r requirements-browser.txt")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        _missing("Chromium is not installed: apt-get install chromium")
    if not AXE.exists():
        pytest.fail(f"axe-core is missing ({AXE.relative_to(ROOT)}): run make book first")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


# -- one visit per page ---------------------------------------------------------------------------
class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" or (name == "name" and tag == "a"):
                self.ids.add(value or "")


@functools.lru_cache(maxsize=None)
def _status_and_ids(url: str) -> tuple[int, frozenset]:
    """HTTP status of a same-site URL and, for an HTML page, the ids in it."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body, status = response.read(), response.status
            kind = response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        return error.code, frozenset()
    if kind != "text/html":
        return status, frozenset()
    parser = _Ids()
    parser.feed(body.decode("utf-8", "replace"))
    return status, frozenset(parser.ids)


# Every widget output on the page: its cell, and whether the widget holds a figure (an Image
# model among its descendants in the saved widget state; a progress bar does not).
WIDGET_CELLS_JS = """
function widgetCells() {
  const saved = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
  const state = saved ? JSON.parse(saved.textContent).state : {};
  const hasImage = (id) => {
    const model = state[id];
    if (!model) { return false; }
    if (model.model_name === "ImageModel") { return true; }
    return (model.state.children || []).some((c) => hasImage(String(c).replace("IPY_MODEL_", "")));
  };
  return Array.from(document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]')).map((script) => ({
    script, cell: script.closest(".cell_output, .output") || script.parentElement,
    figure: hasImage(JSON.parse(script.textContent).model_id)
  }));
}
"""

PAGE_REPORT_JS = (
    """
() => {
"""
    + WIDGET_CELLS_JS
    + """
  const raw = /\\\\\\(|\\\\\\[|\\$\\$|(^|[^\\\\])\\$[^$\\s][^$]*\\$/;
  const skip = "pre, code, script, style, mjx-container, .highlight, textarea";
  const texts = [];
  const walker = document.createTreeWalker(document.querySelector("main") || document.body,
                                           NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement && !node.parentElement.closest(skip) && raw.test(node.textContent)) {
      texts.push(node.textContent.trim().slice(0, 80));
    }
  }
  const maths = Array.from(document.querySelectorAll(".math"));
  const images = Array.from(document.images).map((img) => ({
    src: img.getAttribute("src") || "", alt: img.getAttribute("alt"),
    loaded: img.complete && img.naturalWidth > 0,
    widget: !!img.closest(".cell_output, .output")
  }));
  const widgets = widgetCells().map(({ script, cell, figure }) => ({
    rendered: !!(script.previousElementSibling &&
                 script.previousElementSibling.classList.contains("widget-subarea")),
    figure, shown: Array.from(cell.querySelectorAll("img")).some(
        (img) => img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0),
    // the static figure still showing beside the live widget: the figure twice
    doubled: Array.from(cell.querySelectorAll("img.jupyter-widget")).some(
        (img) => img.getBoundingClientRect().width > 0) &&
      !!cell.querySelector(".widget-subarea .jupyter-widgets")
  }));
  return {
    math: maths.length,
    typeset: maths.filter((m) => m.querySelector("mjx-container")).length,
    untypeset: maths.filter((m) => !m.querySelector("mjx-container"))
                    .map((m) => m.textContent.trim().slice(0, 60)),
    mjx: document.querySelectorAll("mjx-container").length,
    raw: texts, images, widgets,
    links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href),
  };
}
"""
)

# Every control a keyboard reaches, focused as after a Tab press: the focused element must show
# an outline or a box shadow (WCAG 2.4.7 Focus Visible).
NO_FOCUS_RING_JS = """
() => {
  const controls =
    'a[href], button, summary, input, select, textarea, [tabindex]:not([tabindex="-1"])';
  const missing = [];
  for (const el of document.querySelectorAll(controls)) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === "hidden") {
      continue;
    }
    el.focus();
    if (document.activeElement !== el) { continue; }
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 1;
    if (!outline && (!style.boxShadow || style.boxShadow === "none")) {
      missing.push(el.outerHTML.slice(0, 100));
    }
  }
  if (document.activeElement) { document.activeElement.blur(); }
  return missing;
}
"""

# the HTML manager puts each view in a div.widget-subarea just before the view's script
WIDGETS_SETTLED_JS = """
() => Array.from(document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')).every((script) =>
  script.previousElementSibling
    && script.previousElementSibling.classList.contains("widget-subarea")
  && script.previousElementSibling.querySelector(".jupyter-widgets"))
"""


def _open(browser, url: str, report: dict, block: str | None = None):
    """A page at ``url`` in a fresh context, with requests outside 127.0.0.1 blocked (and
    recorded) and console errors, failed requests and HTTP errors recorded in ``report``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def route(route):
        request_url = route.request.url
        if block and block in request_url:
            route.abort("blockedbyclient")
        elif urlsplit(request_url).hostname == "127.0.0.1" or request_url.startswith(
            ("data:", "blob:")
        ):
            route.continue_()
        else:
            report["external"].append(request_url)
            route.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and report["console"].append(
                f"{m.text} ({m.location.get('url', '')}:{m.location.get('lineNumber', '')})"
            )
        ),
    )
    page.on("pageerror", lambda e: report["console"].append(f"uncaught: {e}"))
    page.on(
        "requestfailed",
        lambda r: (
            urlsplit(r.url).hostname == "127.0.0.1"
            and not (block and block in r.url)
            and report["failed"].append(f"{r.url} ({r.failure})")
        ),
    )
    page.on(
        "response",
        lambda r: r.status >= 400 and report["failed"].append(f"{r.url} (HTTP {r.status})"),
    )
    page.goto(url, wait_until="load")
    page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    return context, page


def _visit(browser, base: str, page_name: str) -> dict:
    """Open one page and record everything the checks need."""
    report: dict = {"page": page_name, "console": [], "failed": [], "external": []}
    start = time.perf_counter()
    context, page = _open(browser, base + page_name, report)
    if page.evaluate(
        "() => !!document.querySelector("
        "'script[type=\"application/vnd.jupyter.widget-view+json\"]')"
    ):
        try:
            page.wait_for_function(WIDGETS_SETTLED_JS, timeout=WIDGET_WAIT_S * 1000)
        except Exception:  # noqa: BLE001 - a widget that never renders is reported below
            pass
        # the widget controls typeset their labels after the first typesetting pass
        page.evaluate("() => window.MathJax && MathJax.typesetPromise && MathJax.typesetPromise()")
    page.wait_for_load_state("networkidle")
    report.update(page.evaluate(PAGE_REPORT_JS))
    page.keyboard.press("Tab")  # keyboard focus from here on, as :focus-visible expects
    report["no_focus_ring"] = page.evaluate(NO_FOCUS_RING_JS)
    report["solutions"] = _open_solutions(page)
    report["broken_links"] = _broken_links(base, page_name, report.pop("links"))
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    report["axe"] = {
        v["id"]: {
            "impact": v["impact"],
            "nodes": len(v["nodes"]),
            "targets": [n["target"] for n in v["nodes"][:8]],
        }
        for v in result["violations"]
    }
    context.close()
    if report["widgets"]:
        report["static_widgets"] = _static_widgets(browser, base + page_name)
    report["seconds"] = round(time.perf_counter() - start, 2)
    return report


def _static_widgets(browser, url: str) -> list[dict]:
    """The widget outputs when the widget manager cannot run (its script blocked)."""
    ignored: dict = {"console": [], "failed": [], "external": []}
    context, page = _open(browser, url, ignored, block="embed-amd.js")
    page.wait_for_load_state("networkidle")
    widgets = page.evaluate(
        "() => {"
        + WIDGET_CELLS_JS
        + """
      return widgetCells().map(({ cell, figure }) => ({ figure, shown: Array.from(
          cell.querySelectorAll("img.jupyter-widget")).some((img) => img.complete &&
          img.naturalWidth > 0 && img.getBoundingClientRect().width > 0) }));
    }"""
    )
    context.close()
    return widgets


def _open_solutions(page) -> dict:
    """Click every solution's toggle; count those whose content then shows."""
    solutions = page.locator(".solution.dropdown")
    opened, failures = 0, []
    for i in range(solutions.count()):
        solution = solutions.nth(i)
        title = solution.locator(".admonition-title").first.inner_text().strip()
        content = solution.locator(":scope > :not(.admonition-title)").first
        try:
            button = solution.locator("button.toggle-button").first
            if content.is_visible():
                failures.append(f"{title}: shown before it is opened")
                continue
            button.click(timeout=3000)
            content.wait_for(state="visible", timeout=3000)
            opened += 1
        except Exception as error:  # noqa: BLE001 - reported as a failure of this solution
            failures.append(f"{title}: {str(error).splitlines()[0]}")
    return {"count": solutions.count(), "opened": opened, "failures": failures}


def _broken_links(base: str, page_name: str, links: list[str]) -> list[str]:
    broken = []
    for href in sorted(set(links)):
        if not href.startswith(base):
            continue  # outside the site (launch buttons, DOIs): not reachable offline
        url, fragment = urldefrag(href)
        status, ids = _status_and_ids(url)
        if status != 200:
            broken.append(f"{href} (HTTP {status})")
        elif fragment and unquote(fragment) not in ids:
            broken.append(f"{href} (no element with id {unquote(fragment)!r})")
    return broken


@pytest.fixture(scope="module")
def visits(browser, server, request):
    cache: dict[str, dict] = {}
    start = time.perf_counter()

    def visit(page_name: str) -> dict:
        if page_name not in cache:
            cache[page_name] = _visit(browser, server, page_name)
        return cache[page_name]

    yield visit
    total = time.perf_counter() - start
    (ROOT / "_build").mkdir(exist_ok=True)
    (ROOT / "_build" / "browser-report.json").write_text(json.dumps(cache, indent=1))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown whether the tests pass or fail
            reporter.write_line("")
            for line in _summary(cache, total):
                reporter.write_line(line)


def _summary(cache: dict, total: float) -> list[str]:
    lines = [f"browser test: {len(cache)} pages in {total:.1f} s"]
    for name, r in cache.items():
        axe = ", ".join(f"{rule} ({v['impact']}, {v['nodes']})" for rule, v in r["axe"].items())
        images = r["images"]
        figures = sum(w["figure"] for w in r["widgets"])
        no_alt = sum(
            1 for i in images if not (i["alt"] or "").strip() or FILE_NAME.search(i["alt"])
        )
        lines.append(
            f"  {name} ({r['seconds']} s): console errors {len(r['console'])}, failed requests "
            f"{len(r['failed'])}, external {len(r['external'])}; math {r['typeset']}/{r['math']} "
            f"typeset, raw {len(r['raw'])}; images {sum(i['loaded'] for i in images)}/"
            f"{len(images)} loaded, {no_alt} without alt text; broken links "
            f"{len(r['broken_links'])}; no focus ring {len(r['no_focus_ring'])}; "
            f"solutions {r['solutions']['opened']}/"
            f"{r['solutions']['count']}; widgets {len(r['widgets'])} "
            f"({sum(w['rendered'] for w in r['widgets'])} rendered live), figures shown live "
            f"{sum(w['shown'] for w in r['widgets'] if w['figure'])}/{figures}, static "
            f"{sum(w['shown'] for w in r.get('static_widgets', []) if w['figure'])}/{figures}; "
            f"axe: {axe or 'none'}"
        )
    return lines


# -- the checks -----------------------------------------------------------------------------------
def test_every_built_page_is_checked(site):
    # the JupyterLite site (jupyterlite/, tests/test_lite.py) is an application, not book pages
    built = {
        str(p.relative_to(site))
        for p in site.rglob("*.html")
        if not p.relative_to(site).parts[0].startswith("_")
        and p.relative_to(site).parts[0] != "jupyterlite"
    }
    # index.html is Jupyter Book's redirect to the root page, nothing to check but its target
    redirect = re.search(r'url=([^"]+)"', (site / "index.html").read_text())
    assert redirect and redirect.group(1) in PAGES
    assert built - {"index.html"} == set(PAGES)


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("page_name", PAGES)
def test_page(visits, page_name, check):
    r = visits(page_name)
    if check == "console":
        assert not r["console"], "console errors:\n" + "\n".join(r["console"])
    elif check == "requests":
        assert not r["external"], "requests that leave the site:\n" + "\n".join(r["external"])
        assert not r["failed"], "failed requests:\n" + "\n".join(r["failed"])
    elif check == "math":
        assert r["typeset"] == r["math"], (
            f"{r['math'] - r['typeset']} of {r['math']} math "
            f"nodes not typeset, e.g. {r['untypeset'][:3]}"
        )
        assert r["mjx"] >= r["math"]
        assert not r["raw"], f"raw LaTeX left in the text: {r['raw'][:5]}"
    elif check == "images":
        not_loaded = [i["src"][:80] for i in r["images"] if not i["loaded"]]
        assert not not_loaded, f"images not loaded: {not_loaded}"
        bad_alt = [
            f"{i['src'][:60]} alt={i['alt']!r}"
            for i in r["images"]
            if not (i["alt"] or "").strip() or FILE_NAME.search(i["alt"].strip())
        ]
        assert not bad_alt, f"{len(bad_alt)} images without a real alt text:\n" + "\n".join(bad_alt)
    elif check == "links":
        assert not r["broken_links"], "broken links:\n" + "\n".join(r["broken_links"])
    elif check == "focus":
        assert not r["no_focus_ring"], "controls without a visible focus indicator:\n" + "\n".join(
            r["no_focus_ring"]
        )
    elif check == "solutions":
        assert not r["solutions"]["failures"], "\n".join(r["solutions"]["failures"])
        assert r["solutions"]["opened"] == r["solutions"]["count"]
    elif check == "widgets":
        live = [i for i, w in enumerate(r["widgets"], 1) if w["figure"] and not w["shown"]]
        assert not live, f"widget outputs {live} of {len(r['widgets'])} show no figure"
        doubled = [i for i, w in enumerate(r["widgets"], 1) if w["doubled"]]
        assert not doubled, f"widget outputs {doubled} show the static figure beside the live one"
        static = [
            i
            for i, w in enumerate(r.get("static_widgets", []), 1)
            if w["figure"] and not w["shown"]
        ]
        assert not static, (
            f"widget outputs {static} show no figure when the widget manager "
            "cannot run (the static image is missing)"
        )
    elif check == "axe":
        serious = {rule: v for rule, v in r["axe"].items() if v["impact"] in SERIOUS}
        assert not serious, "axe-core violations: " + json.dumps(serious, indent=1)
