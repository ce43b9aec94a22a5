"""Bibliography labels in the author-year form of the citations (a local Sphinx extension).

The text cites "(Kingma and Ba, 2015)" (``bibtex_reference_style: author_year``), but
sphinxcontrib-bibtex's default bibliography style, ``alpha``, labels the list "[KB15]",
"[DPG+14]", "[PyTorchcontributors25]". This registers a pybtex formatting style ``authoryear``
(``bibtex_default_style`` in ``_config.yml``): pybtex's ``alpha`` style (entries sorted by
author, year, title) with labels made by the same templates that write the in-text citations,
so a reader finds "Dauphin et al., 2014" in the list under "Dauphin et al., 2014". Two entries
of the bibliography files that would share a label get "a", "b", ... after the year, in the
order of their titles. Labels must be unique across the whole book (each page has its own
bibliography), so the letters are given over every entry of the files, not per page.

See https://sphinxcontrib-bibtex.readthedocs.io/en/latest/usage.html#custom-formatting-sorting-and-labelling
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pybtex.plugin
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels import BaseLabelStyle
from sphinxcontrib.bibtex.style.referencing import PersonStyle
from sphinxcontrib.bibtex.style.template import join, year

NAME = "authoryear"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Author, year", "Author and Other, year", "Author et al., year"."""

    # the in-text citations' own defaults (sphinxcontrib-bibtex's author_year style)
    person = PersonStyle()
    separator = ", "

    def format_label(self, entry) -> str:
        template = join(sep=self.separator)[self.person.author_or_editor_or_title(full=False), year]
        text = template.format_data({"entry": entry, "style": SimpleNamespace(person=self.person)})
        return text.render_as("text")

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            label = self.format_label(entry)
            titles = _SHARED.get(label, [])
            title = str(entry.fields.get("title", ""))
            if len(titles) > 1 and title in titles:
                yield label + chr(ord("a") + titles.index(title))
            else:
                yield label


# base label -> sorted titles of the entries of the bibliography files that share it
_SHARED: dict[str, list[str]] = {}


def _find_shared_labels(app):
    from pybtex.database import parse_file

    style = AuthorYearLabelStyle()
    titles: dict[str, set[str]] = {}
    for name in app.config.bibtex_bibfiles:
        for entry in parse_file(str(Path(app.srcdir) / name)).entries.values():
            titles.setdefault(style.format_label(entry), set()).add(
                str(entry.fields.get("title", ""))
            )
    _SHARED.clear()
    _SHARED.update({label: sorted(t) for label, t in titles.items() if len(t) > 1})


class AuthorYearStyle(AlphaStyle):
    default_label_style = AuthorYearLabelStyle


def setup(app):
    pybtex.plugin.register_plugin("pybtex.style.formatting", NAME, AuthorYearStyle, force=True)
    app.connect("builder-inited", _find_shared_labels)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
