"""How long the book takes: each chapter in a fresh kernel, a fresh full build, a cached rebuild.

    python benchmarks/bench_book.py

Targets (issue "The book, Part I"): a chapter <= 30 s, a fresh build <= 5 min, a cached
rebuild <= 30 s. Prints measurements; asserts nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jupytext
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_book import _clean_copy, toc_files  # noqa: E402  (one copy of the toc/clone logic)


def time_chapter(name: str) -> float:
    nb = jupytext.read(ROOT / f"{name}.md")
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "book")}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def time_build(workdir: Path) -> float:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    start = time.perf_counter()
    subprocess.run(
        [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"],
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main():
    print("page                                        seconds (fresh kernel, incl. kernel start)")
    for name in toc_files():
        print(f"{name:<44}{time_chapter(name):>8.1f}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="book-bench-"))
    try:
        _clean_copy(workdir)
        fresh = time_build(workdir)
        print(
            f"\nfresh build (clean copy, empty cache)       {fresh:>8.1f}   target <= 300",
            flush=True,
        )
        cached = time_build(workdir)
        print(f"cached rebuild (nothing changed)            {cached:>8.1f}   target <= 30")
        intro = workdir / "book" / "intro.md"
        intro.write_text(intro.read_text() + "\nOne more sentence of prose.\n")
        prose = time_build(workdir)
        print(f"rebuild after a prose-only edit             {prose:>8.1f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
