"""The base class of every explorer: controls, a figure drawn once, fast re-rendering to PNG.

An explorer builds one Matplotlib ``Figure`` (with the Agg canvas, not pyplot, so a notebook
never shows it twice) and shows it as PNG bytes in an ``ipywidgets.Image``. On a control
change it updates the data of a few artists and renders again. Rendering is fast because of
the classic Matplotlib blitting recipe: what does not change with the controls (contour lines,
axes, ticks, labels) is drawn once and its pixels are cached; an update restores them and
draws only the "animated" artists (paths, curves, markers) on top, then encodes the pixels.
The figure is cut into vertical strips, one per column of axes ("panels"); each panel's static
pixels are cached per state (landscape shown, axes limits), so a change that only rescales one
plot redraws only that plot; a panel whose axes stay while what is drawn in them changes (a
landscape chosen by a slider) caches the axes too and draws only that on top of them
(``_panel_layers``). Axis limits are rounded outwards to a few "nice" values
(``course_lib.widgets.limits``) to keep the number of states small.

The PNG is part of the widget's state, so a page built without a kernel still shows the
figure at the initial values. ipywidgets 8.1's ``Image`` has no ``alt`` attribute; its
``tooltip`` becomes the ``title`` attribute of the ``<img>``, which browsers give to assistive
technology as the image's name when there is no ``alt`` (HTML-AAM, "img Element Accessible
Name Computation"). Each explorer sets it to a sentence describing what the figure shows
(see ``FigureImage`` for why a plain ``Image`` cannot carry a tooltip).
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from traitlets import Unicode

from course_lib.widgets.controls import CSS_CLASS, control_grid, stylesheet
from course_lib.widgets.png import png_bytes

__all__ = ["Explorer", "FigureImage"]


class FigureImage(widgets.Image):
    """An ``Image`` whose ``tooltip`` works: it becomes the ``<img>``'s ``title``.

    ipywidgets 8.1's front end decides whether to show a tooltip with
    ``this.model.get('description').length === 0``; an ``Image`` has no ``description``, so
    setting its tooltip throws there and the image is not shown at all, in JupyterLab and on
    the static site alike (fixed upstream in jupyter-widgets/ipywidgets pull request 3921, not
    released in 8.1). An empty synchronised ``description`` lets the check pass.
    """

    description = Unicode("", help="empty: lets the front end show the tooltip").tag(sync=True)


class Explorer:
    """Base class of the explorers.

    A subclass sets ``figsize`` and writes:

    - ``_make_controls() -> dict``: name -> ipywidgets control (the order is the layout's).
    - ``_build()``: the axes and artists on ``self.figure``. Artists that change with the
      controls (lines, markers, status texts) are registered with ``self._animate(artist)``.
    - ``_draw()``: read ``self.value(name)`` and update the artists' data and the axes'
      limits.
    - ``_panel_key(i)``: a hashable description of the static content of panel ``i``
      (landscape shown, axes limits, ...). Panels are the figure's columns of axes, left
      to right (``_panels()``). A panel's static pixels (contour lines, ticks, labels) are
      drawn once per key and cached; only a panel whose key changed is drawn again.
    - optionally ``_on_control(name)``: side effects of a control change that must happen
      before other controls are read (e.g. a new landscape resets the start point).

    Attributes:
      controls: dict name -> ipywidgets control.
      figure: the Matplotlib Figure.
      image: the ``ipywidgets.Image`` showing the figure.
      info: an ``ipywidgets.HTML`` line of numbers (shown if the class sets ``has_info``).
      box: the whole widget (controls, info line, image, and an invisible stylesheet).
    """

    figsize = (8.0, 3.3)
    dpi = 96
    columns = 2  # controls per row, at most (fewer on a narrow screen)
    alt = "An interactive figure"  # see ``alt_text``
    cache_size = 16  # cached backgrounds per panel
    has_info = False  # show ``self.info`` (an HTML line) between the controls and the figure
    _first_controls: tuple = ()  # controls applied first by update()

    def __init__(self, **values):
        self.controls = self._make_controls()
        self._holding = True  # no drawing until the figure exists
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self._set_controls(values)
        # numbers that change on every update are shown as HTML by the browser: drawing
        # text is the slowest part of rendering a figure
        self.info = widgets.HTML(layout=widgets.Layout(margin="2px 0 0 8px"))
        self.figure = Figure(figsize=self.figsize, dpi=self.dpi, layout="constrained")
        FigureCanvasAgg(self.figure)
        self._animated = []
        self._build()
        self._draw()
        self._freeze_layout()
        self.image = FigureImage(
            format="png", layout=widgets.Layout(max_width="100%", height="auto")
        )
        self._render()
        grid = control_grid(self.controls.values(), self.columns)
        children = [grid, self.info, self.image] if self.has_info else [grid, self.image]
        self.box = widgets.VBox(children + [stylesheet()])
        self.box.add_class(CSS_CLASS)
        self._holding = False

    # -- for subclasses ----------------------------------------------------------------------
    def value(self, name):
        """The current value of control ``name``."""
        return self.controls[name].value

    def _animate(self, artist):
        self._animated.append(artist)
        return artist

    def alt_text(self):
        """A sentence saying what the figure shows now (the image's accessible name; also
        shown on hover). Default: the class's ``alt`` with ``{name}`` replaced by control
        values, e.g. ``alt = "Loss against step for learning rate {lr:.2g}"``."""
        values = {name: control.value for name, control in self.controls.items()}
        return self.alt.format(**values)

    def _panels(self):
        """Columns of axes, left to right (default: each axes on its own)."""
        return [[ax] for ax in sorted(self.figure.axes, key=lambda a: a.get_position().x0)]

    def _panel_key(self, i):
        return None

    def _panel_layers(self, i):
        """Optional: ``(frame_key, artists)`` when the static content of panel ``i`` is a
        frame (axes, ticks, labels), described by the hashable ``frame_key``, under a few
        ``artists`` that change more often than it (a landscape's contour lines, a title).
        A new panel key then draws only those artists over the frame's cached pixels, not
        the whole panel. They must not overlap anything of the frame drawn above them (tick
        labels lie outside the axes, contour lines inside); include the spines, which are
        drawn over the axes' content. A title among them needs a fixed place
        (``set_title(..., y=1.0)``): matplotlib places a title only when its axes draw.
        Default None: the whole panel is drawn."""
        return None

    def _on_control(self, name):
        pass

    def _before_layout(self):
        """Hook: e.g. set the limits that give the widest tick labels, to lay out for them."""

    def _after_layout(self):
        """Hook: e.g. undo ``_before_layout``, place axes that share a slot."""

    # -- layout and drawing ------------------------------------------------------------------
    def _freeze_layout(self):
        """Lay the figure out once (constrained layout, with the default data drawn), then
        fix the axes' positions and cut the figure into one vertical strip per panel."""
        canvas = self.figure.canvas
        self._before_layout()
        canvas.draw()
        self.figure.set_layout_engine("none")
        self._after_layout()
        for artist in self._animated:
            artist.set_animated(True)
        panels = self._panels()
        width, height = canvas.get_width_height()
        # each cut halfway between a panel's decorations (tick labels, axis labels) and the
        # next panel's: a cut through a tick label would clip it once restored from the cache
        extents = [self._extent(panel) for panel in panels]
        edges = (
            [0.0]
            + [(left[1] + right[0]) / 2 for left, right in zip(extents[:-1], extents[1:])]
            + [float(width)]
        )
        self._strips = [
            Bbox.from_extents(edges[i], 0, edges[i + 1], height) for i in range(len(panels))
        ]
        # the empty figure (face colour, figure-level texts), to clear a strip before drawing
        visible = [ax.get_visible() for ax in self.figure.axes]
        for ax in self.figure.axes:
            ax.set_visible(False)
        canvas.draw()
        self._blanks = [canvas.copy_from_bbox(strip) for strip in self._strips]
        for ax, was_visible in zip(self.figure.axes, visible):
            ax.set_visible(was_visible)
        self._caches = [{} for _ in panels]  # per panel: key -> pixels, least recent first
        self._frames = [{} for _ in panels]  # the same for frames (see _panel_layers)

    def _extent(self, panel):
        """``(x0, x1)`` in pixels of a panel: the frames of its axes (shown or not) and what
        its visible axes draw around them (tick and axis labels)."""
        renderer = self.figure.canvas.get_renderer()
        boxes = [ax.get_window_extent() for ax in panel]
        boxes += [ax.get_tightbbox(renderer) for ax in panel if ax.get_visible()]
        boxes = [box for box in boxes if box is not None]
        return min(box.x0 for box in boxes), max(box.x1 for box in boxes)

    def _refresh(self):
        self._draw()
        self._render()

    def _render(self):
        """Restore (or draw, when not cached) each panel's static pixels, draw the animated
        artists on top, and store the PNG bytes in the image."""
        canvas = self.figure.canvas
        for i, panel in enumerate(self._panels()):
            key, cache = self._panel_key(i), self._caches[i]
            pixels = cache.pop(key, None)
            if pixels is None:
                pixels = self._draw_panel(i, panel)
            else:
                canvas.restore_region(pixels)
            cache[key] = pixels  # now the most recently used
            while len(cache) > self.cache_size:
                cache.pop(next(iter(cache)))
        for artist in self._animated:
            axes_visible = artist.axes is None or artist.axes.get_visible()
            if artist.get_visible() and axes_visible:
                self.figure.draw_artist(artist)
        self.image.value = self.png()
        alt = self.alt_text()
        if self.image.tooltip != alt:
            self.image.tooltip = alt

    def _draw_panel(self, i, panel):
        """Draw the static content of panel ``i`` (over its cached frame, if it has one) and
        return its pixels."""
        canvas = self.figure.canvas
        layers = self._panel_layers(i)
        artists = [] if layers is None else sorted(layers[1], key=lambda a: a.get_zorder())
        frame = None if layers is None else self._frames[i].pop(layers[0], None)
        if frame is None:
            shown = [artist.get_visible() for artist in artists]
            for artist in artists:
                artist.set_visible(False)
            canvas.restore_region(self._blanks[i])
            for ax in panel:
                if ax.get_visible():
                    self.figure.draw_artist(ax)  # everything in it that is not animated
            for artist, visible in zip(artists, shown):
                artist.set_visible(visible)
            frame = canvas.copy_from_bbox(self._strips[i])
        if layers is None:
            return frame
        frames = self._frames[i]
        frames[layers[0]] = frame  # the most recently used last
        while len(frames) > self.cache_size:
            frames.pop(next(iter(frames)))
        canvas.restore_region(frame)
        for artist in artists:
            if artist.get_visible() and (artist.axes is None or artist.axes.get_visible()):
                self.figure.draw_artist(artist)
        return canvas.copy_from_bbox(self._strips[i])

    def png(self):
        """The figure as it is now shown, as PNG bytes."""
        canvas = self.figure.canvas
        width, height = canvas.get_width_height()
        rgba = np.asarray(canvas.buffer_rgba()).reshape(height, width, 4)
        return png_bytes(rgba)

    # -- updates -----------------------------------------------------------------------------
    def update(self, **values):
        """Set several controls at once, then redraw once. Example: ``ex.update(lr=0.05)``.

        Values outside a slider's range are clipped to it, as when the slider is dragged.
        Controls are set in the order given, except that a change of landscape or function
        (which resets other controls to values that suit it) is applied first.
        """
        self._set_controls(values)
        self._refresh()

    def _set_controls(self, values):
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(
                f"unknown control(s) {unknown}; the controls are {list(self.controls)}"
            )
        first = [k for k in values if k in self._first_controls]
        held, self._holding = self._holding, True
        try:
            for name in first + [k for k in values if k not in first]:
                self.controls[name].value = values[name]
        finally:
            self._holding = held

    def _changed(self, change):
        name = next(k for k, c in self.controls.items() if c is change["owner"])
        held, self._holding = self._holding, True
        try:
            self._on_control(name)
        finally:
            self._holding = held
        if not self._holding:
            self._refresh()

    # -- display -----------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        bundle = self.box._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self):
        values = ", ".join(f"{k}={c.value!r}" for k, c in self.controls.items())
        return f"{type(self).__name__}({values})"
