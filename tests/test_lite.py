"""A chapter as a live notebook in the reader's browser (JupyterLite), offline.

Run with ``make browser-test`` (after ``make book``; it shares the built site, the server and the
browser of ``tests/test_browser.py``). Headless Chromium opens a chapter page with every request
that leaves 127.0.0.1 blocked, follows the launch menu's "JupyterLite" entry and checks that:

- the Pyodide kernel starts by itself (no kernel-selection dialog) and reports idle;
- the chapter's setup cell (its first code cell) runs offline without an error or a hang: it
  installs the course_lib wheel that this build made, though numpy and matplotlib (Pyodide's
  CDN) cannot be fetched;
- ``course_lib`` is that wheel: its ``__version__`` is this repository's, imported from the
  kernel's site-packages;
- an ipywidgets slider round-trips to the kernel: moved from the page, its ``observe`` callback
  in the kernel rewrites a label that the page then shows.

The time from the click to a ready kernel is printed (and kept in ``_build/lite-report.json``).
"""

from __future__ import annotations

import json
import sys
import time

import pytest
from test_browser import ROOT, _open, browser, server, site  # noqa: F401 - shared fixtures

import course_lib

sys.path.insert(0, str(ROOT / "book" / "_ext"))
from jupyterlite_site import CDN, pyodide_version  # noqa: E402 (the book's Sphinx extension)

pytestmark = pytest.mark.browser

CHAPTER = "book/05_momentum"
KERNEL_WAIT_S = 240  # generous for a busy CI machine; about 25 s on a shared 2-core one
CELL_WAIT_S = 120

# The notebook panel of the JupyterLite page (``exposeAppInBrowser`` in the site's settings).
PANEL_JS = "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
KERNEL_JS = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel;
  return kernel ? {name: kernel.name, status: kernel.status} : null;
}"""
# Run the cell at `index` (its source replaced when `source` is given) and resolve with its
# outputs once the kernel has answered.
RUN_CELL_JS = """async ([index, source]) => {
  const app = window.jupyterapp, panel = app.shell.currentWidget, notebook = panel.content;
  if (index < 0) {
    notebook.activeCellIndex = notebook.widgets.length - 1;
    await app.commands.execute("notebook:insert-cell-below");
    index = notebook.activeCellIndex;
  }
  notebook.activeCellIndex = index;
  const cell = notebook.widgets[index];
  if (source !== null) { cell.model.sharedModel.setSource(source); }
  const ran = new Promise((resolve) => {
    const done = () => { if (cell.model.executionCount !== null) { resolve(); } };
    cell.model.stateChanged.connect(done);
  });
  await app.commands.execute("notebook:run-cell");
  await ran;
  await panel.sessionContext.session.kernel.requestKernelInfo();  // the outputs are in by now
  return cell.model.sharedModel.toJSON().outputs;
}"""
FIRST_CODE_CELL_JS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .findIndex((cell) => cell.model.type === "code")"""

PROBE = """\
import course_lib
import ipywidgets

print(course_lib.__version__, course_lib.__file__)
slider = ipywidgets.IntSlider(value=1, min=0, max=10, description="probe")
answer = ipywidgets.Label("kernel saw 1")
slider.observe(lambda change: setattr(answer, "value", f"kernel saw {change['new']}"), "value")
ipywidgets.VBox([slider, answer])
"""


def _report(**entries) -> None:
    """Add to ``_build/lite-report.json``."""
    path = ROOT / "_build" / "lite-report.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({**report, **entries}, indent=1))


def _text(outputs: list[dict]) -> str:
    parts = []
    for output in outputs:
        parts.append("".join(output.get("text", "")))
        if output.get("output_type") == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
    return "".join(parts)


def _errors(outputs: list[dict]) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for o in outputs if o.get("output_type") == "error"]


@pytest.fixture(scope="module")
def lite(browser, server):  # noqa: F811 - the fixtures imported above
    """The chapter's page, its launch menu's JupyterLite entry clicked; the notebook's page."""
    (ROOT / "_build" / "lite-report.json").unlink(missing_ok=True)
    report: dict = {"console": [], "failed": [], "external": []}
    context, page = _open(browser, f"{server}{CHAPTER}.html", report)
    entry = page.locator(".dropdown-launch-buttons a", has_text="JupyterLite")
    assert entry.count() == 1, f"{CHAPTER}: no JupyterLite entry in the launch menu"
    page.locator(".dropdown-launch-buttons button").first.click()
    start = time.perf_counter()
    if entry.get_attribute("target") == "_blank":
        with context.expect_page() as opened:
            entry.click()
        notebook = opened.value
    else:
        entry.click()
        notebook = page
    notebook.on("pageerror", lambda e: report["console"].append(f"uncaught: {e}"))
    yield {"page": notebook, "report": report, "start": start}
    context.close()


@pytest.fixture(scope="module")
def kernel(lite):
    """Wait for the kernel to be ready; the seconds it took from the click."""
    page = lite["page"]
    try:
        page.wait_for_function(PANEL_JS, timeout=60_000)
    except Exception:  # noqa: BLE001 - reported as what broke
        pytest.fail(f"the JupyterLite page never showed a notebook (url {page.url})")
    try:
        page.wait_for_function(
            f"() => {{ const k = ({KERNEL_JS})(); return k && k.status === 'idle'; }}",
            timeout=KERNEL_WAIT_S * 1000,
        )
    except Exception:  # noqa: BLE001
        state = page.evaluate(KERNEL_JS)
        dialog = page.locator(".jp-Dialog").count()
        pytest.fail(
            f"no idle kernel after {KERNEL_WAIT_S} s: kernel {state}; "
            f"{'a dialog is open (kernel selection?)' if dialog else 'no dialog'}; "
            f"external requests {lite['report']['external'][:5]}"
        )
    seconds = time.perf_counter() - lite["start"]
    _report(chapter=CHAPTER, seconds_to_idle_kernel=round(seconds, 1))
    print(f"\nJupyterLite: {CHAPTER} kernel idle {seconds:.1f} s after the click")
    return page.evaluate(KERNEL_JS)


def test_kernel_starts_by_itself(lite, kernel):
    assert kernel["name"] == "python", f"unexpected kernel {kernel}"
    assert lite["page"].locator(".jp-Dialog").count() == 0, "a dialog asks the reader something"
    assert "/jupyterlite/notebooks/" in lite["page"].url
    assert f"path={CHAPTER}.ipynb" in lite["page"].url


@pytest.fixture(scope="module")
def setup_cell(lite, kernel):
    page = lite["page"]
    index = page.evaluate(FIRST_CODE_CELL_JS)
    assert index >= 0, f"{CHAPTER}.ipynb has no code cell"
    page.set_default_timeout(CELL_WAIT_S * 1000)
    outputs = page.evaluate(RUN_CELL_JS, [index, None])
    _report(setup_cell_output=_text(outputs))
    return outputs


def test_setup_cell_runs_offline_without_error(setup_cell):
    assert not _errors(setup_cell), "the setup cell failed:\n" + _text(setup_cell)


@pytest.fixture(scope="module")
def probe(lite, setup_cell):
    return lite["page"].evaluate(RUN_CELL_JS, [-1, PROBE])


def test_course_lib_is_the_wheel_of_this_build(probe):
    assert not _errors(probe), "importing course_lib and ipywidgets failed:\n" + _text(probe)
    version, _, path = _text(probe).strip().partition(" ")
    assert version == course_lib.__version__, (
        f"course_lib {version} in JupyterLite, repo {course_lib.__version__}"
    )
    assert "site-packages" in path, f"course_lib imported from {path}, not the installed wheel"


def test_a_widget_round_trips_to_the_kernel(lite, probe):
    page = lite["page"]
    handle = page.locator(".widget-slider .noUi-handle").last
    try:
        handle.wait_for(state="visible", timeout=30_000)
    except Exception:  # noqa: BLE001
        pytest.fail("the IntSlider did not render: is the ipywidgets frontend in the site?")
    label = page.locator(".widget-label", has_text="kernel saw")
    assert label.last.inner_text() == "kernel saw 1"
    handle.focus()
    page.keyboard.press("ArrowRight")
    try:
        page.wait_for_function(
            """() => Array.from(document.querySelectorAll('.widget-label'))
                 .some((l) => l.textContent === 'kernel saw 2')""",
            timeout=30_000,
        )
    except Exception:  # noqa: BLE001
        pytest.fail(
            f"the kernel did not answer the slider: the label says {label.last.inner_text()!r}"
        )


def test_numpy_is_asked_of_pyodides_cdn(lite, setup_cell):
    """Offline the request is blocked; online it fetches the wheel that Pyodide's lock names."""
    lock = json.loads((ROOT / "book/_vendor/node_modules/pyodide/pyodide-lock.json").read_text())
    numpy = CDN.format(version=pyodide_version()) + lock["packages"]["numpy"]["file_name"]
    assert numpy in lite["report"]["external"], (
        f"numpy was not requested from {numpy}; requests outside the site: "
        f"{lite['report']['external'][:5]}"
    )


def test_nothing_left_the_machine(lite, probe):
    # the CDN requests for numpy and matplotlib were attempted and blocked: that is the offline case
    external = [u for u in lite["report"]["external"] if "cdn.jsdelivr.net/pyodide" not in u]
    assert not external, "requests outside the site:\n" + "\n".join(external)
    assert not lite["report"]["console"], "\n".join(lite["report"]["console"])
