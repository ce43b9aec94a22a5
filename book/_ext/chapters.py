"""The ``{chapter}`` role: one way to cite a chapter of the book, written or planned.

``{chapter}`momentum``` names a chapter by its subject (its *slug*), never by its number, so a
page keeps working when chapters are added or reordered. ``CHAPTERS`` below is the one table of
the book's chapters, written and planned: slug -> (document, title).

- A chapter whose document is in the table of contents renders as a link to it, with the number
  the toc gives it and its title as the page states it: "Chapter 5: Momentum".
- A planned chapter not yet in the toc renders as its title in plain text followed by a discreet
  "(in preparation)" in smaller, muted type (``chapters_static/chapters.css``). Once its file is
  added to ``_toc.yml`` the same role becomes a link, with no change to the pages that cite it.
- An unknown slug is an error: a warning naming the slug and the known ones, so a build with
  warnings as errors (``-W``) fails.

An explicit text replaces the default one: ``{chapter}`the adaptive methods <adaptive>```.
Register as a local extension in ``_config.yml`` (``sphinx.local_extensions``).
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

logger = logging.getLogger(__name__)

# slug -> (document without extension, title). The slug is also the label of the chapter's title.
CHAPTERS: dict[str, tuple[str, str]] = {
    "optimization-as-search": ("book/01_optimization_as_search", "Optimization as search"),
    "gradients": ("book/02_gradients", "Gradients and gradient checking"),
    "gradient-descent": ("book/03_gradient_descent", "Gradient descent"),
    "minibatch-sgd": ("book/04_sgd_minibatch", "Stochastic and minibatch gradient descent"),
    "momentum": ("book/05_momentum", "Momentum"),
    "nesterov": ("book/06_nesterov", "Nesterov's accelerated gradient"),
    "adaptive": ("book/07_adaptive", "Adaptive learning rates"),
    "schedules": ("book/08_schedules", "Learning-rate schedules and warmup"),
    "classifier": ("book/09_classifier", "Training a real classifier"),
    "second-order": ("book/appendix_second_order", "Beyond first order"),
}

PLANNED_NOTE = "(in preparation)"
STATIC = Path(__file__).with_name("chapters_static")  # the note's style, chapters.css


class chapter_reference(nodes.Inline, nodes.TextElement):
    """A citation of a chapter, resolved once every page is read (numbers come from the toc)."""


def split_title_and_slug(text: str) -> tuple[str | None, str]:
    """``"text <slug>"`` -> ``("text", "slug")``; ``"slug"`` -> ``(None, "slug")``."""
    text = text.strip()
    if text.endswith(">") and "<" in text:
        title, _, slug = text[:-1].rpartition("<")
        return title.strip() or None, slug.strip()
    return None, text


class ChapterRole(SphinxRole):
    def run(self):
        title, slug = split_title_and_slug(self.text)
        if slug not in CHAPTERS:
            known = ", ".join(sorted(CHAPTERS))
            logger.warning(
                "unknown chapter %r in {chapter}: the known chapters are %s",
                slug,
                known,
                location=self.get_location(),
                type="chapters",
                subtype="unknown",
            )
            return [nodes.literal(self.rawtext, self.text)], []
        node = chapter_reference(self.rawtext, "", slug=slug, explicit_title=title or "")
        self.set_source_info(node)
        return [node], []


def chapter_number(env, docname: str) -> str:
    """The toc's number of a page ("5"), or "" when its part is not numbered."""
    number = env.toc_secnumbers.get(docname, {}).get("")
    return ".".join(map(str, number)) if number else ""


def render(env, builder, fromdocname: str, slug: str, explicit_title: str = "") -> nodes.Node:
    """The node that replaces one ``{chapter}`` citation on the page ``fromdocname``."""
    docname, planned_title = CHAPTERS[slug]
    if docname not in env.all_docs:  # planned, or written but not yet listed in the toc
        text = explicit_title or planned_title
        return nodes.inline(
            "",
            "",
            nodes.Text(f"{text} "),
            nodes.inline("", PLANNED_NOTE, classes=["chapter-planned-note"]),
            classes=["chapter-planned"],
        )
    if explicit_title:
        text = explicit_title
    else:
        title = env.titles[docname].astext() if docname in env.titles else planned_title
        number = chapter_number(env, docname)
        text = f"Chapter {number}: {title}" if number else title
    uri = builder.get_relative_uri(fromdocname, docname)
    return nodes.reference("", text, internal=True, refuri=uri, classes=["chapter-link"])


def resolve_chapter_references(app, doctree, fromdocname):
    for node in list(doctree.findall(chapter_reference)):
        node.replace_self(
            render(app.env, app.builder, fromdocname, node["slug"], node.get("explicit_title", ""))
        )


def add_static_path(app):
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", add_static_path)
    app.add_css_file("chapters.css")
    app.add_node(chapter_reference)
    app.add_role("chapter", ChapterRole())
    app.connect("doctree-resolved", resolve_chapter_references)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
