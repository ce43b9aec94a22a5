"""The book: every chapter runs top to bottom in a fresh kernel, has the parts the syllabus asks
for in the order of the chapter template (README, "For authors / The book"), names its labels by
subject and links other chapters with the ``{chapter}`` role; the role itself; and the whole book
builds with warnings as errors from a clean copy of the repository."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import chapters as chapter_role  # noqa: E402  (the book's local Sphinx extension)


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


CHAPTERS = [f for f in toc_files() if re.search(r"/(\d\d|appendix)_", f)]  # chapters and appendices


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


def _first_code_cell(name: str):
    return next(c for c in jupytext.read(ROOT / f"{name}.md").cells if c.cell_type == "code")


def test_every_page_starts_with_the_same_setup_cell():
    """The first code cell of every page with code makes course_lib importable in JupyterLite,
    Colab, Binder and a local Jupyter alike: one cell, identical everywhere, hidden on the page."""
    pages = [name for name in toc_files() if "```{code-cell}" in (ROOT / f"{name}.md").read_text()]
    assert set(CHAPTERS) <= set(pages)
    first = {name: _first_code_cell(name) for name in pages}
    reference = first[CHAPTERS[0]]
    different = [name for name, cell in first.items() if cell.source != reference.source]
    assert not different, f"first code cell differs from {CHAPTERS[0]}'s in {different}"
    untagged = [n for n, c in first.items() if "remove-cell" not in c.metadata.get("tags", [])]
    assert not untagged, f"the setup cell shows on the page (no remove-cell tag) in {untagged}"
    source = reference.source
    assert source.startswith("# Setup") and "import course_lib" in source
    assert 'sys.platform == "emscripten"' in source and "piplite.install" in source
    # deps=False: numpy and matplotlib come from Pyodide's CDN, which must not block the install
    assert "deps=False" in source
    # Colab installs from this repository, the one _config.yml names
    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert f'%pip install --quiet "course_lib[book] @ git+{repository}"' in source


@pytest.fixture(scope="module")
def clean_build(tmp_path_factory):
    """The book built once per session from a clean copy (the files of a fresh clone), with
    warnings as errors: ``(folder, completed process)``. The build test checks the build; the
    chapter tests read the notebooks it executed, so each chapter runs once, not twice."""
    dest = tmp_path_factory.mktemp("book")
    _clean_copy(dest)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", ".", "--warningiserror", "--nitpick", "--keep-going"],
        cwd=dest,
        capture_output=True,
        text=True,
    )
    return dest, result


EXECUTED = re.compile(r"(book/[\w-]+)\.md: Executed notebook in ([\d.]+) seconds")


@pytest.fixture(scope="module")
def executed(clean_build):
    """name -> (the chapter as the build executed it, each in a fresh kernel (myst-nb's
    ``_build/jupyter_execute``), seconds of execution from the build's log, or None)."""
    dest, result = clean_build
    log = result.stdout + result.stderr
    seconds = {name: float(t) for name, t in EXECUTED.findall(log)}

    def run(name: str):
        path = dest / "_build" / "jupyter_execute" / f"{name}.ipynb"
        assert path.exists(), f"the build did not execute {name}:\n{log[-3000:]}"
        return nbformat.read(path, as_version=4), seconds.get(name)

    return run


def _outputs(nb):
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_executes_in_a_fresh_kernel(executed, name):
    nb, seconds = executed(name)
    errors = [out for out in _outputs(nb) if out.output_type == "error"]
    assert not errors
    print(f"{name}: {seconds} s")


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_has_every_part_the_syllabus_asks_for(executed, name):
    nb, _ = executed(name)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert not template_problems(text, name), "the chapter template (README, For authors)"
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
            problems.append(
                f"{first_line!r}: {len(rich)} rich outputs; a figure cell must show "
                "only its image (end it with `;` or plt.show())"
            )
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
            other = [
                line
                for line in re.split(r"[\r\n]+", out.text)
                if line.strip() and not PROGRESS_TEXT.search(line)
            ]
            assert not other, f"stderr, hidden on the page, carries more than progress: {other}"
            continue
        text = out.get("text", "") + "".join(
            str(v) for k, v in out.get("data", {}).items() if k.startswith("text/")
        )
        assert not PROGRESS_TEXT.search(text), f"a progress bar on the page: {text[:200]!r}"
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    models = {m["model_name"] for m in state.get("state", {}).values()}
    assert not models & PROGRESS_WIDGETS, "a progress-bar widget is saved with the page"


# ---- the chapter template ------------------------------------------------------------------

FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})(.*)$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LIST_MARKER = re.compile(r"^([-+*]|\d+[.)])(\s|$)")


def markdown_text(name: str) -> str:
    """The markdown cells of a page, in order (code cells and their outputs left out)."""
    nb = jupytext.read(ROOT / f"{name}.md")
    return "\n\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


def _prose_lines(text: str, keep_directives: bool = True):
    """(line, inside_fence) for every line; fenced code and directive bodies flagged.

    With ``keep_directives`` the bodies of ``{exercise}``-like directives count as prose (they
    are); code blocks, ``{math}`` and ``{bibliography}`` never do."""
    fence = None
    for line in text.splitlines():
        m = FENCE.match(line)
        if fence is None and m:
            info = m.group(2).strip()
            prose = (
                keep_directives
                and info.startswith("{")
                and not info.startswith(("{math}", "{bibliography}", "{code"))
            )
            fence = (m.group(1)[0], len(m.group(1)), prose)
            yield line, True
            continue
        if (
            fence is not None
            and m
            and m.group(1)[0] == fence[0]
            and len(m.group(1)) >= fence[1]
            and not m.group(2).strip()
        ):
            fence = None
            yield line, True
            continue
        yield line, fence is not None and not fence[2]


def headings(text: str) -> list[tuple[int, str, int]]:
    """(level, text, line number) of every heading outside fenced blocks."""
    found = []
    for number, (line, fenced) in enumerate(_prose_lines(text, keep_directives=False)):
        m = HEADING.match(line)
        if m and not fenced:
            found.append((len(m.group(1)), m.group(2), number))
    return found


def template_problems(text: str, docname: str) -> list[str]:
    """What keeps a chapter's markdown from following the template; empty when it follows it."""
    problems = []
    lines = text.splitlines()
    heads = headings(text)
    if not heads or heads[0][0] != 1:
        return ["the page must start with a `# Title`"]
    level, title, at = heads[0]
    if re.match(r"^\d+(\.\d+)*\.?\s", title):
        problems.append(f"the title {title!r} carries a number (the toc numbers chapters)")
    before = [line.strip() for line in lines[:at] if line.strip()]
    label = re.fullmatch(r"\((\S+)\)=", before[-1]) if before else None
    if not label:
        problems.append("the title needs a label line `(subject)=` right above it")
    elif chapter_role.CHAPTERS.get(label.group(1), (None,))[0] != docname:
        problems.append(
            f"the title label {label.group(1)!r} is not this chapter's slug in "
            "book/_ext/chapters.py CHAPTERS"
        )
    sections = [(lvl, txt, n) for lvl, txt, n in heads if lvl == 2]
    names = [txt for _, txt, _ in sections]
    if not sections:
        return problems + ["no `##` sections"]
    opening = [line for line in lines[at + 1 : sections[0][2]] if line.strip()]
    if not opening:
        problems.append("an opening paragraph must come between the title and the objectives")
    if names[0] != "Learning objectives":
        problems.append(f"the first section must be `## Learning objectives`, not {names[0]!r}")
    if names[-2:] != ["Summary", "References"]:
        problems.append(f"the last two sections must be Summary and References, not {names[-2:]}")
    if names.count("Summary") != 1 or names.count("References") != 1:
        problems.append("one Summary and one References section")
    tries = [(lvl, n) for lvl, txt, n in heads if txt == "Try it yourself"]
    if len(tries) != 1 or tries[0][0] not in (2, 3):
        problems.append("the widget belongs in one `## Try it yourself` (or `###`) section")
    objectives = next((n for _, txt, n in sections if txt == "Learning objectives"), None)
    summary = next((n for _, txt, n in sections if txt == "Summary"), None)
    if (
        tries
        and objectives is not None
        and summary is not None
        and not objectives < tries[0][1] < summary
    ):
        problems.append("Try it yourself must come after the objectives and before the summary")
    for _, txt, _ in heads[1:]:
        if re.match(r"(explore|practice|exercises)\b", txt, re.I):
            problems.append(
                f"section {txt!r}: widgets go under 'Try it yourself', exercises after "
                "the section they practise"
            )
    # exercises follow the section they practise: no section may open with one (a collection)
    bounds = [n for _, _, n in heads[1:]] + [len(lines)]
    for (_lvl, txt, start), end in zip(heads[1:], bounds[1:]):
        body = [line for line in lines[start + 1 : end] if line.strip()]
        if body and body[0].startswith("```{exercise}"):
            problems.append(
                f"section {txt!r} opens with an exercise: put each exercise right "
                "after the section it practises"
            )
    exercise_lines = [n for n, line in enumerate(lines) if line.startswith("```{exercise}")]
    if (
        exercise_lines
        and objectives is not None
        and summary is not None
        and not all(objectives < n < summary for n in exercise_lines)
    ):
        problems.append("exercises belong between the objectives and the summary")
    return problems


def label_problems(name: str) -> list[str]:
    """Labels that do not start with the chapter's prefix (its bibliography key prefix)."""
    text = (ROOT / f"{name}.md").read_text()
    keyprefix = re.search(r":keyprefix: (\S+)", text)
    if not keyprefix or not re.fullmatch(r"[a-z]+-", keyprefix.group(1)):
        return ["the bibliography needs a subject prefix, e.g. `:keyprefix: gd-`"]
    prefix = keyprefix.group(1)
    slug = next((s for s, (doc, _) in chapter_role.CHAPTERS.items() if doc == name), None)
    labels = re.findall(r"^:(?:label|name): (\S+)", text, re.M)
    labels += re.findall(r"^\$\$ *\((\S+)\)", text, re.M)
    labels += [x for x in re.findall(r"^\((\S+)\)=", text, re.M) if x != slug]
    nb = jupytext.read(ROOT / f"{name}.md")
    figures = [c.metadata.get("mystnb", {}).get("figure", {}).get("name") for c in nb.cells]
    problems = [
        f"label {x!r} must start with {prefix!r}" for x in labels if not x.startswith(prefix)
    ]
    problems += [
        f"figure name {x!r} must start with 'fig-{prefix}'"
        for x in figures
        if x and not x.startswith(f"fig-{prefix}")
    ]
    cited = re.findall(r"\{cite:?[pt]?\}`([^`]+)`", text)
    keys = [k.strip() for group in cited for k in group.split(",")]
    problems += [
        f"citation {k!r} must use the key prefix {prefix!r}"
        for k in keys
        if not k.startswith(prefix)
    ]
    return problems


def plain_chapter_numbers(text: str) -> list[str]:
    """Sentences that cite a chapter of this book by number instead of with {chapter}."""
    prose = "\n".join(line for line, fenced in _prose_lines(text) if not fenced)
    prose = re.sub(r"`[^`\n]*`", "", prose)  # code spans and role targets
    return re.findall(r"\b[Cc]hapters? \d+\b(?! of\b)[^\n]{0,30}", prose)


def list_markers_inside_inline_math(text: str) -> list[str]:
    """Paragraph lines that start with a list marker while an inline `$...$` is still open:
    Markdown turns them into list items and breaks the formula."""
    found, dollars, display = [], 0, False
    for line, fenced in _prose_lines(text):
        if fenced or not line.strip():
            dollars = 0
            continue
        if line.strip().startswith("$$"):
            display = not display if line.strip().count("$$") == 1 else display
            dollars = 0
            continue
        if display:
            continue
        if dollars % 2 and LIST_MARKER.match(line.lstrip()):
            found.append(line)
        plain = re.sub(r"`[^`]*`", "", line).replace("\\$", "")
        dollars += plain.replace("$$", "").count("$")
    return found


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_follows_the_template(name):
    assert not template_problems(markdown_text(name), name)


@pytest.mark.parametrize("name", CHAPTERS)
def test_labels_citations_and_figures_carry_the_chapter_prefix(name):
    assert not label_problems(name)


@pytest.mark.parametrize("name", toc_files())
def test_chapters_are_linked_with_the_role_never_by_number(name):
    assert not plain_chapter_numbers(markdown_text(name)), "use {chapter}`slug`"


@pytest.mark.parametrize("name", toc_files())
def test_no_line_of_inline_math_starts_like_a_list_item(name):
    assert not list_markers_inside_inline_math(markdown_text(name))


GOOD_CHAPTER = """(gradient-descent)=
# Gradient descent

Opening.

## Learning objectives

- one

## Content

Text.

```{exercise}
:label: gd-one
Question?
```

## Try it yourself

Widget.

## Summary

## References
"""


def test_template_check_accepts_a_chapter_that_follows_it():
    assert template_problems(GOOD_CHAPTER, "book/03_gradient_descent") == []


@pytest.mark.parametrize(
    "broken, problem",
    [
        (GOOD_CHAPTER.replace("# Gradient descent", "# 3. Gradient descent"), "carries a number"),
        (GOOD_CHAPTER.replace("(gradient-descent)=\n", ""), "label line"),
        (GOOD_CHAPTER.replace("(gradient-descent)=", "(ch3)="), "not this chapter's slug"),
        (GOOD_CHAPTER.replace("Opening.\n", ""), "opening paragraph"),
        (GOOD_CHAPTER.replace("## Learning objectives\n\n- one\n\n", ""), "Learning objectives"),
        (
            GOOD_CHAPTER.replace("## Summary\n\n## References\n", "## References\n\n## Summary\n"),
            "Summary and References",
        ),
        (GOOD_CHAPTER.replace("## Try it yourself", "## Explore: a widget"), "Try it yourself"),
        (
            GOOD_CHAPTER.replace("Text.\n\n```{exercise}", "Text.\n\n## Practice\n\n```{exercise}"),
            "Practice",
        ),
        (
            GOOD_CHAPTER.replace(
                "Widget.\n\n## Summary",
                "Widget.\n\n## Summary\n\n```{exercise}\n:label: gd-late\nQ\n```",
            ),
            "between the objectives and the summary",
        ),
    ],
)
def test_template_check_rejects_a_chapter_that_breaks_it(broken, problem):
    problems = template_problems(broken, "book/03_gradient_descent")
    assert any(problem in p for p in problems), problems


def test_plain_chapter_numbers_are_found_and_roles_are_not():
    assert plain_chapter_numbers("As chapter 3 showed, and Chapter 7 will.") != []
    assert plain_chapter_numbers("As chapters 5 and 6 show.") != []
    assert plain_chapter_numbers("As {chapter}`gradient-descent` showed, in 3 chapters.") == []
    assert plain_chapter_numbers("See chapter 12 of {cite:t}`gd-zhang2023d2l`.") == []


def test_a_list_marker_inside_inline_math_is_found():
    wrapped = "the loss is $a w^2\n- b w + c$, a parabola"
    assert list_markers_inside_inline_math(wrapped) == ["- b w + c$, a parabola"]
    assert list_markers_inside_inline_math("the loss is $a w^2 -\nb w + c$") == []
    assert list_markers_inside_inline_math("$x$ and $y$\n- a real list item") == []
    assert list_markers_inside_inline_math("$$\na\n- b\n$$") == []


# ---- the {chapter} role --------------------------------------------------------------------


def test_every_written_chapter_is_in_the_table_with_its_title():
    for name in CHAPTERS:
        text = markdown_text(name)
        slug = next((s for s, (doc, _) in chapter_role.CHAPTERS.items() if doc == name), None)
        assert slug, f"{name} is missing from CHAPTERS in book/_ext/chapters.py"
        title = headings(text)[0][1]
        assert chapter_role.CHAPTERS[slug][1] == title
        assert f"({slug})=" in text


def test_the_introduction_announces_every_chapter_with_the_role():
    text = (ROOT / "book" / "intro.md").read_text()
    missing = [s for s in chapter_role.CHAPTERS if f"{{chapter}}`{s}`" not in text]
    assert not missing


def test_explicit_text_and_slug_are_split():
    assert chapter_role.split_title_and_slug("momentum") == (None, "momentum")
    assert chapter_role.split_title_and_slug("the next part <momentum>") == (
        "the next part",
        "momentum",
    )


def _sphinx_project(tmp_path: Path, index_body: str) -> Path:
    src = tmp_path / "src"
    (src / "book").mkdir(parents=True)
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        "extensions = ['chapters']\nproject = 'test'\n"
    )
    (src / "index.rst").write_text(
        "Book\n====\n\n.. toctree::\n   :numbered:\n\n   book/01_optimization_as_search\n"
        "   book/03_gradient_descent\n\n" + index_body + "\n"
    )
    (src / "book" / "01_optimization_as_search.rst").write_text("Search\n======\n\nText.\n")
    (src / "book" / "03_gradient_descent.rst").write_text(
        "Gradient descent\n================\n\nBack to :chapter:`optimization-as-search`.\n"
    )
    return src


def _build(src: Path):
    from io import StringIO

    from sphinx.application import Sphinx

    warnings = StringIO()
    app = Sphinx(
        str(src),
        str(src),
        str(src / "_out"),
        str(src / "_doctrees"),
        "html",
        status=None,
        warning=warnings,
        freshenv=True,
    )
    app.build()
    return warnings.getvalue(), (src / "_out" / "index.html").read_text()


def test_role_links_a_chapter_in_the_toc_with_its_number_and_title(tmp_path):
    src = _sphinx_project(
        tmp_path,
        "See :chapter:`gradient-descent` and :chapter:`that chapter <optimization-as-search>`.",
    )
    warnings, html = _build(src)
    assert "unknown chapter" not in warnings
    assert re.search(
        r'<a class="[^"]*chapter-link[^"]*" href="book/03_gradient_descent.html">'
        r"Chapter 2: Gradient descent</a>",
        html,
    ), html
    assert re.search(r'href="book/01_optimization_as_search.html">that chapter</a>', html)
    page = (src / "_out" / "book" / "03_gradient_descent.html").read_text()
    assert re.search(r'href="01_optimization_as_search.html">Chapter 1: Search</a>', page)


def test_role_names_a_planned_chapter_without_a_link(tmp_path):
    src = _sphinx_project(tmp_path, "Later: :chapter:`momentum` and :chapter:`second-order`.")
    warnings, html = _build(src)
    assert "unknown chapter" not in warnings
    assert re.search(r"Momentum <span[^>]*>\(in preparation\)</span>", html), html
    assert "Beyond first order" in html and "05_momentum" not in html


def test_role_rejects_an_unknown_chapter(tmp_path):
    src = _sphinx_project(tmp_path, "Broken: :chapter:`mommentum`.")
    warnings, _ = _build(src)
    assert "unknown chapter 'mommentum'" in warnings and "momentum" in warnings
    strict = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "-q",
            "-b",
            "html",
            str(src),
            str(tmp_path / "strict"),
        ],
        capture_output=True,
        text=True,
    )
    assert strict.returncode != 0 and "mommentum" in strict.stderr


def _clean_copy(dest: Path) -> None:
    """The files of a fresh clone: tracked plus untracked-but-not-ignored, nothing else."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def test_book_builds_with_warnings_as_errors_from_a_clean_copy(clean_build):
    dest, result = clean_build
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    html = dest / "_build" / "html"
    for name in toc_files():
        page = (html / f"{name}.html").read_text()
        assert "Traceback" not in page
    assert (html / "index.html").exists()
    # the JupyterLite site, built from the package registries only (book/_ext/jupyterlite_site.py)
    lite = html / "jupyterlite"
    assert list((lite / "pypi").glob("course_lib-*.whl")), "no course_lib wheel in jupyterlite/"
    assert (lite / "static" / "pyodide" / "pyodide.asm.wasm").exists(), "no Pyodide runtime"
    assert list((lite / "files" / "book").glob("*.ipynb")), "no chapter notebooks in jupyterlite/"
