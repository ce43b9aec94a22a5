"""The book: every chapter runs top to bottom in a fresh kernel and has the parts the syllabus
asks for; the whole book builds with warnings as errors from a clean copy of the repository."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


CHAPTERS = [f for f in toc_files() if re.search(r"/\d\d_", f)]


def test_toc_lists_every_page_and_every_page_exists():
    listed = {f"{f}.md" for f in toc_files()}
    on_disk = {str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.md")}
    assert listed == on_disk


@pytest.mark.parametrize("name", toc_files())
def test_notebook_copy_matches_the_chapter(name):
    """book/*.ipynb (opened by the Colab and Binder buttons) are the chapters, regenerated."""
    page, copy = jupytext.read(ROOT / f"{name}.md"), ROOT / f"{name}.ipynb"
    assert copy.exists(), f"missing {copy.name}: run `make notebooks`"
    notebook = nbformat.read(copy, as_version=4)
    as_cells = lambda nb: [(c.cell_type, c.source) for c in nb.cells]  # noqa: E731
    assert as_cells(notebook) == as_cells(page), f"{copy.name} is stale: run `make notebooks`"
    assert not any(c.get("outputs") for c in notebook.cells if c.cell_type == "code")


@pytest.fixture(scope="module")
def executed():
    """Chapters executed once per test session, each in a fresh kernel: name -> (nb, seconds)."""
    cache: dict[str, tuple[nbformat.NotebookNode, float]] = {}

    def run(name: str):
        if name not in cache:
            nb = jupytext.read(ROOT / f"{name}.md")
            client = NotebookClient(
                nb, timeout=120, kernel_name="python3",
                resources={"metadata": {"path": str(ROOT / "book")}},
            )
            start = time.perf_counter()
            client.execute()
            cache[name] = (nb, time.perf_counter() - start)
        return cache[name]

    return run


def _outputs(nb):
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_executes_in_a_fresh_kernel(executed, name):
    nb, seconds = executed(name)
    errors = [out for out in _outputs(nb) if out.output_type == "error"]
    assert not errors
    print(f"{name}: {seconds:.1f} s")


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_has_every_part_the_syllabus_asks_for(executed, name):
    nb, _ = executed(name)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert re.search(r"^#+ .*learning objectives", text, re.I | re.M), "learning objectives"
    assert re.search(r"^## Summary", text, re.M), "a summary"
    assert "{bibliography}" in text and re.search(r"\{cite(:[pt])?\}", text), "cited references"
    assert "$$" in text, "display math"
    exercises = re.findall(r"```\{exercise\}\s*\n:label: (\S+)", text)
    solutions = re.findall(r"```\{solution\} (\S+)", text)
    assert len(exercises) >= 3 and set(exercises) <= set(solutions), "3+ exercises with answers"
    outputs = _outputs(nb)
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    widgets = [o for o in outputs if WIDGET_MIME in o.get("data", {})]
    assert len(figures) >= 3, f"{len(figures)} figures"
    assert widgets, "an interactive widget"
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    images = [m for m in state.get("state", {}).values() if m["model_name"] == "ImageModel"]
    assert images, "the widget's figure is saved with the page, for the static site"


def _outputs_with_images(cell):
    return [out for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]


def _image_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code" and _outputs_with_images(cell)]


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_figure_has_a_caption_a_name_and_alt_text(executed, name):
    """A figure is numbered, captioned and described for screen readers: the code cell that
    makes it carries myst-nb's `mystnb: {figure: {caption, name}, image: {alt}}` metadata."""
    nb, _ = executed(name)
    problems = []
    for cell in _image_cells(nb):
        meta = cell.metadata.get("mystnb", {})
        figure, image = meta.get("figure", {}), meta.get("image", {})
        first_line = cell.source.strip().splitlines()[0][:60]
        caption, alt = str(figure.get("caption", "")).strip(), str(image.get("alt", "")).strip()
        if len(caption.split()) < 5:
            problems.append(f"{first_line!r}: no caption")
        if not re.fullmatch(r"fig-[a-z0-9-]+", str(figure.get("name", ""))):
            problems.append(f"{first_line!r}: no name like fig-... to reference the figure by")
        if len(alt.split()) < 8 or re.search(r"\.(png|jpe?g|svg|gif)$", alt, re.I):
            problems.append(f"{first_line!r}: no alt text (8+ words saying what it shows)")
        # myst-nb wraps every rich output of the cell in the figure: a second one (an image,
        # or the repr of a last expression such as ax.legend()) repeats the figure's name
        rich = [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
        if len(rich) > 1:
            problems.append(f"{first_line!r}: {len(rich)} rich outputs; a figure cell must show "
                            "only its image (end it with `;` or plt.show())")
    assert not problems, "\n".join(problems)


# tqdm's text bar ("desc:  40%|####  | 4/10 [00:01<...]" or "desc: 4it [00:01, ...]") and
# its notebook widget (an HBox with a FloatProgress)
PROGRESS_TEXT = re.compile(r"\d+%\||\d+\w* \[\d+:\d\d")
PROGRESS_WIDGETS = {"FloatProgressModel", "IntProgressModel"}


def _stderr_is_removed() -> bool:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["sphinx"]["config"].get("nb_output_stderr") == "remove"


@pytest.mark.parametrize("name", CHAPTERS)
def test_no_progress_bar_on_the_page_and_stderr_holds_nothing_else(executed, name):
    """Long loops show a progress bar to a reader running the chapter, on stderr; the built
    page drops stderr (nb_output_stderr: remove), so nothing else may be written there."""
    nb, _ = executed(name)
    stderr_removed = _stderr_is_removed()
    for out in _outputs(nb):
        if out.output_type == "stream" and out.name == "stderr" and stderr_removed:
            other = [line for line in re.split(r"[\r\n]+", out.text)
                     if line.strip() and not PROGRESS_TEXT.search(line)]
            assert not other, f"stderr, hidden on the page, carries more than progress: {other}"
            continue
        text = out.get("text", "") + "".join(
            str(v) for k, v in out.get("data", {}).items() if k.startswith("text/"))
        assert not PROGRESS_TEXT.search(text), f"a progress bar on the page: {text[:200]!r}"
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    models = {m["model_name"] for m in state.get("state", {}).values()}
    assert not models & PROGRESS_WIDGETS, "a progress-bar widget is saved with the page"


def _clean_copy(dest: Path) -> None:
    """The files of a fresh clone: tracked plus untracked-but-not-ignored, nothing else."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def test_book_builds_with_warnings_as_errors_from_a_clean_copy(tmp_path):
    _clean_copy(tmp_path)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", ".", "--warningiserror", "--nitpick", "--keep-going"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    html = tmp_path / "_build" / "html"
    for name in toc_files():
        page = (html / f"{name}.html").read_text()
        assert "Traceback" not in page
    assert (html / "index.html").exists()
