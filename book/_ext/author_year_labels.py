"""Bibliography labels in the author-year form of the citations (a local Sphinx extension).

The text cites "(Kingma and Ba, 2015)" (``bibtex_reference_style: author_year``), but
sphinxcontrib-bibtex's default bibliography style, ``alpha``, labels the list "[KB15]",
"[DPG+14]", "[PyTorchcontributors25]". This registers a pybtex formatting style ``authoryear``
(``bibtex_default_style`` in ``_config.yml``): pybtex's ``alpha`` style (entries sorted by
author, year, title) with labels made by the same templates that write the in-text citations,
so a reader finds "Dauphin et al., 2014" in the list under "Dauphin et al., 2014". Two entries
that would share a label get "a", "b", ... after the year.

See https://sphinxcontrib-bibtex.readthedocs.io/en/latest/usage.html#custom-formatting-sorting-and-labelling
"""

from __future__ import annotations

from collections import Counter
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
        template = join(sep=self.separator)[self.person.author_or_editor_or_title(full=False),
                                            year]
        text = template.format_data({"entry": entry, "style": SimpleNamespace(person=self.person)})
        return text.render_as("text")

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [self.format_label(entry) for entry in entries]
        counts, seen = Counter(labels), Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                yield label + chr(ord("a") + seen[label] - 1)
            else:
                yield label


class AuthorYearStyle(AlphaStyle):
    default_label_style = AuthorYearLabelStyle


def setup(app):
    pybtex.plugin.register_plugin("pybtex.style.formatting", NAME, AuthorYearStyle, force=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
