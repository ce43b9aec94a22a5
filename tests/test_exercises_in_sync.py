"""The committed student versions (exercises/) are what nbgrader generates from solutions/.

If this fails, regenerate from the repository root (see docs/grading.md):

    nbgrader generate_assignment <assignment> --force
"""

import re
from pathlib import Path

import nbformat
from nbgrader_course import REPO, Course

IGNORED = {".ipynb_checkpoints", "__pycache__"}


def assignments(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in IGNORED)


def files(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and not IGNORED & set(p.relative_to(folder).parts)
    }


def essence(path: Path) -> dict:
    """What students receive, without metadata that Jupyter changes on every save (cell ids,
    execution counts, language versions, widget state, trust)."""
    nb = nbformat.read(path, as_version=4)
    return {
        "kernel": nb.metadata.get("kernelspec", {}).get("name"),
        "cells": [
            {
                "type": c.cell_type,
                "source": c.source,
                "nbgrader": c.metadata.get("nbgrader"),
                "outputs": c.get("outputs"),
                "attachments": c.get("attachments"),
            }
            for c in nb.cells
        ],
    }


def test_every_assignment_has_a_committed_student_version():
    assert assignments(REPO / "solutions") == assignments(REPO / "exercises")


def test_exercises_match_a_fresh_generation(tmp_path):
    names = assignments(REPO / "solutions")
    course = Course.create(tmp_path, names)
    for name in names:
        fresh, committed = tmp_path / "exercises" / name, REPO / "exercises" / name
        hint = (
            f"exercises/{name} is out of date: regenerate it from the repository root with "
            f"`nbgrader generate_assignment {name} --force`"
        )
        assert files(fresh) == files(committed), hint
        for rel in sorted(files(fresh)):
            if rel.endswith(".ipynb"):
                assert essence(fresh / rel) == essence(committed / rel), f"{rel}: {hint}"
            else:
                assert (fresh / rel).read_bytes() == (committed / rel).read_bytes(), hint
    assert course.timings  # generate_assignment really ran


# Sub-parts of a written question, "a." / "(a)" / "**(a)**" at the start of a line.
_SUB_PART = re.compile(r"(?m)^\s*(?:\*\*)?\(?([a-h])[.)]")


def run_on_sub_parts(markdown: str) -> list[str]:
    """The paragraphs of ``markdown``, as CommonMark renders it, that hold more than one
    sub-part ("a. ...", "b. ..." on consecutive lines is one paragraph: "a." starts no list)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(markdown)
    return [
        tok.content
        for before, tok in zip(tokens, tokens[1:])
        if before.type == "paragraph_open"
        and tok.type == "inline"
        and len(_SUB_PART.findall(tok.content)) > 1
    ]


def test_the_run_on_check_tells_a_list_from_a_paragraph():
    assert run_on_sub_parts("Answer.\n\na. First part\n   goes on. (1 point)\nb. Second.\n")
    assert not run_on_sub_parts("Answer.\n\n- **(a)** First part\n   goes on.\n- **(b)** Second.\n")


def test_written_questions_render_their_sub_parts_as_a_list():
    for kind in ("solutions", "exercises"):
        for a in assignments(REPO / kind):
            for path in sorted((REPO / kind / a).glob("*.ipynb")):
                for cell in nbformat.read(path, as_version=4).cells:
                    if cell.cell_type == "markdown":
                        assert run_on_sub_parts(cell.source) == [], (str(path), cell.source[:80])
