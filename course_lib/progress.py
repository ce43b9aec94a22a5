"""Progress bars for long loops: live in Jupyter and a terminal, absent from the built book.

``progress`` is tqdm's plain text bar written to standard error. Jupyter redraws it in place
while a cell runs, so a reader sees how far a long loop has got. The book is configured to drop
standard error from the pages it builds (``nb_output_stderr: remove`` in ``_config.yml``), so
the bar leaves no trace on the static site; tqdm's notebook bar (``tqdm.auto``) is a widget
instead, which would be saved with the page.

    from course_lib.progress import progress

    for d in progress(dims, desc="dimensions"):
        ...

In the browser (JupyterLite's Pyodide kernel) no thread can start, so tqdm's monitor thread is
turned off there instead of failing with a warning; where tqdm is not installed, the loop runs
without a bar.
"""

from __future__ import annotations

import sys

__all__ = ["progress"]

# CPython builds for WebAssembly cannot start threads (sys.platform of Pyodide and WASI)
_NO_THREADS = ("emscripten", "wasi")


def progress(iterable=None, total=None, desc=None, unit="it", **kwargs):
    """A text progress bar over ``iterable`` (or one updated by hand when it is None).

    Args:
      iterable: what to loop over; None for a bar advanced with ``bar.update(n)``.
      total: number of items (default ``len(iterable)`` when it has one).
      desc: a label in front of the bar.
      unit: what one item is called ("epoch", "run", ...).
      **kwargs: passed to ``tqdm.tqdm`` (e.g. ``leave=False``).

    Returns:
      A ``tqdm.tqdm`` writing to ``sys.stderr``: iterate over it, or call ``update`` and
      ``close`` (it is also a context manager). Without tqdm, an object with the same uses
      that shows nothing.
    """
    try:
        from tqdm import tqdm  # the text bar, whatever the front end: never the widget bar
    except ImportError:
        return _NoBar(iterable)
    if sys.platform in _NO_THREADS:
        # tqdm's monitor (a thread that checks stalled bars) cannot start: do not try
        tqdm.monitor_interval = 0
    kwargs.setdefault("file", sys.stderr)
    return tqdm(iterable, total=total, desc=desc, unit=unit, **kwargs)


class _NoBar:
    """The uses of a tqdm bar that course_lib and the chapters make, showing nothing."""

    def __init__(self, iterable=None):
        self.iterable = iterable

    def __iter__(self):
        return iter(() if self.iterable is None else self.iterable)

    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
