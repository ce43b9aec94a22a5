"""The fixes that book/_ext/site_fixes.py applies to the written pages, on small pieces of HTML
shaped like the ones Jupyter Book writes (the browser test checks the built book itself)."""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "site_fixes", ROOT / "book" / "_ext" / "site_fixes.py"
)
site_fixes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_fixes)

PNG = b"\x89PNG\r\n\x1a\nnot really an image"


def _state(with_image=True, tooltip=None):
    image = {
        "model_name": "ImageModel",
        "state": {"format": "png", "tooltip": tooltip},
        "buffers": [
            {"path": ["value"], "encoding": "base64", "data": base64.b64encode(PNG).decode()}
        ],
    }
    state = {
        "box": {
            "model_name": "VBoxModel",
            "state": {"children": ["IPY_MODEL_grid", "IPY_MODEL_image"]},
        },
        "grid": {
            "model_name": "GridBoxModel",
            "state": {"children": ["IPY_MODEL_lr", "IPY_MODEL_land"]},
        },
        "lr": {
            "model_name": "FloatLogSliderModel",
            "state": {"description": "learning rate $\\eta$", "value": 0.09},
        },
        "land": {
            "model_name": "DropdownModel",
            "state": {
                "description": "landscape",
                "index": 1,
                "_options_labels": ["bowl", "Rosenbrock"],
            },
        },
        "bar": {"model_name": "FloatProgressModel", "state": {"description": "", "value": 3}},
    }
    if with_image:
        state["image"] = image
    return state


def _page(state, *views):
    scripts = "".join(
        f'<div class="output"><script type="application/vnd.jupyter.widget-view+json">'
        f"{json.dumps({'model_id': v, 'version_major': 2, 'version_minor': 0})}</script></div>"
        for v in views
    )
    return (
        '<head><script type="application/vnd.jupyter.widget-state+json">'
        f"{json.dumps({'state': state, 'version_major': 2, 'version_minor': 0})}</script>"
        f"</head><body>{scripts}</body>"
    )


def test_a_widget_figure_is_written_and_shown_before_the_view(tmp_path):
    page = site_fixes.fix_page(_page(_state(), "box"), tmp_path, "../_images")
    assert (tmp_path / "widget-box.png").read_bytes() == PNG
    img = page.split('<img class="jupyter-widget" ', 1)[1].split(">", 1)[0]
    assert 'src="../_images/widget-box.png"' in img
    # the manager replaces an img.jupyter-widget that is the view script's previous sibling
    assert page.count('<img class="jupyter-widget"') == 1
    assert '"><script type="application/vnd.jupyter.widget-view+json">' in page
    assert "learning rate \\eta 0.09" not in img and "learning rate eta 0.09" in img
    assert "landscape Rosenbrock" in img


def test_the_image_widgets_own_tooltip_is_the_alt_text(tmp_path):
    page = site_fixes.fix_page(_page(_state(tooltip="Paths of gradient descent"), "box"), tmp_path)
    assert 'alt="Paths of gradient descent"' in page


def test_widgets_without_a_figure_are_left_alone(tmp_path):
    for state, view in [
        (_state(), "bar"),
        (_state(with_image=False), "box"),
        (_state(), "no-such-model"),
    ]:
        original = _page(state, view)
        assert site_fixes.fix_page(original, tmp_path) == original
    assert not list(tmp_path.iterdir())


def test_fixing_twice_changes_nothing(tmp_path):
    page = (
        _page(_state(), "box", "bar")
        + '<div role="list" class="citation-list"><div class="citation" id="id4" '
        'role="doc-biblioentry"></div></div>'
        + '<button class="btn search-button-field search-button__button pst-js-only" '
        'title="Search" aria-label="Search" data-bs-placement="bottom">'
        + '<summary aria-label="Toggle hidden content"><p>Show code cell source</p></summary>'
        + '<i class="theme-switch fa-solid fa-sun fa-lg" data-mode="light" title="Light"></i>'
        + '<tr class="row-odd"><th class="head"><p></p></th><th class="head"><p>B</p></th>'
    )
    once = site_fixes.fix_page(page, tmp_path)
    assert site_fixes.fix_page(once, tmp_path) == once
    assert 'role="listitem"' in once and "doc-biblioentry" not in once
    assert 'aria-label="Search"' not in once and 'title="Search"' in once
    assert "<summary><p>Show code cell source</p></summary>" in once
    assert 'data-mode="light" aria-hidden="true"' in once and 'title="Light"' not in once
    assert '<td class="head"></td><th class="head"><p>B</p></th>' in once


@pytest.mark.parametrize("bad", ['<th class="head"><p>x</p></th>', "<th>y</th>"])
def test_header_cells_with_text_stay_headers(tmp_path, bad):
    assert site_fixes.fix_page(bad, tmp_path) == bad


def test_bibliography_labels_that_two_entries_share_get_letters_across_the_whole_book(tmp_path):
    """Each page has its own bibliography, but labels must be unique in the book: two entries of
    the same authors and year get 2025a and 2025b everywhere, whichever page lists them."""
    from types import SimpleNamespace

    from pybtex.database import parse_string

    spec = importlib.util.spec_from_file_location(
        "author_year_labels", ROOT / "book" / "_ext" / "author_year_labels.py"
    )
    labels = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(labels)

    bib = """
    @misc{one, author = {{PyTorch contributors}}, title = {torch.optim}, year = {2025}}
    @misc{two, author = {{PyTorch contributors}}, title = {torch.optim.SGD}, year = {2025}}
    @misc{alone, author = {Kingma, Diederik and Ba, Jimmy}, title = {Adam}, year = {2015}}
    """
    (tmp_path / "refs.bib").write_text(bib)
    labels._find_shared_labels(
        SimpleNamespace(srcdir=str(tmp_path), config=SimpleNamespace(bibtex_bibfiles=["refs.bib"]))
    )
    entries = parse_string(bib, "bibtex").entries
    style = labels.AuthorYearLabelStyle()
    on_page = lambda *keys: list(style.format_labels([entries[k] for k in keys]))  # noqa: E731
    assert on_page("two") == ["PyTorch contributors, 2025b"]  # alone on its page, still "b"
    assert on_page("one", "alone") == ["PyTorch contributors, 2025a", "Kingma and Ba, 2015"]
