"""Controls of the explorers: sliders, dropdowns and toggles with one look, and their layout.

Every factory takes the control's ``description`` first: it is the visible label, so every
control says what it sets. The controls fill the width of their cell in a responsive grid
(``control_grid``): as many columns of at least 260 px as fit, so on a phone the controls
stack in one column instead of running off the screen. ``stylesheet()`` widens the value
readouts so that values like ``1.2e-05`` are never clipped, whatever the theme's font.

A chapter passes its own controls to ``TrajectoryExplorer`` with these factories::

    from course_lib.widgets.controls import float_slider, log_slider
    controls = {"beta": float_slider("momentum β", 0.9, 0.0, 0.99, 0.01),
                "kappa": log_slider("condition number κ", 20.0, 1.0, 1000.0)}
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course_lib._checks import check

__all__ = [
    "log_slider",
    "float_slider",
    "int_slider",
    "dropdown",
    "toggle",
    "selection_slider",
    "set_range",
    "control_grid",
    "stylesheet",
    "CSS_CLASS",
]

_STYLE = {"description_width": "initial"}
MIN_COLUMN_WIDTH = 260  # px: a control narrower than this leaves too little slider to drag
_GAP = 16  # px between columns
CSS_CLASS = "course-lib-explorer"  # on the box of every explorer; scopes ``stylesheet``


def _described(description):
    check(
        isinstance(description, str) and description.strip() != "",
        "description",
        description,
        "a non-empty string (the control's visible label)",
    )
    return description


def _layout():
    """Fill the grid cell (the default is a fixed 300 px, wider than a phone's column)."""
    return widgets.Layout(width="100%", min_width="0")


def log_slider(description, value, low, high, continuous_update=False):
    """A ``FloatLogSlider`` from ``low`` to ``high`` (powers of ten, 20 steps per decade)."""
    return widgets.FloatLogSlider(
        value=value,
        base=10,
        min=np.log10(low),
        max=np.log10(high),
        step=0.05,
        description=_described(description),
        readout_format=".2g",
        continuous_update=continuous_update,
        style=_STYLE,
        layout=_layout(),
    )


def float_slider(description, value, low, high, step, continuous_update=False, fmt=".2f"):
    """A ``FloatSlider`` with a readable description and readout."""
    return widgets.FloatSlider(
        value=value,
        min=low,
        max=high,
        step=step,
        description=_described(description),
        readout_format=fmt,
        continuous_update=continuous_update,
        style=_STYLE,
        layout=_layout(),
    )


def int_slider(description, value, low, high, step=1, continuous_update=False):
    """An ``IntSlider`` with a readable description."""
    return widgets.IntSlider(
        value=value,
        min=low,
        max=high,
        step=step,
        description=_described(description),
        continuous_update=continuous_update,
        style=_STYLE,
        layout=_layout(),
    )


def dropdown(description, options, value):
    """A ``Dropdown`` with a readable description."""
    return widgets.Dropdown(
        options=options,
        value=value,
        description=_described(description),
        style=_STYLE,
        layout=_layout(),
    )


def toggle(description, options, value):
    """``ToggleButtons`` for a choice between a few options."""
    return widgets.ToggleButtons(
        options=options,
        value=value,
        description=_described(description),
        style={"description_width": "initial", "button_width": "auto"},
    )


def selection_slider(description, options, value, continuous_update=False):
    """A ``SelectionSlider`` over ``(label, value)`` options (a few distinct settings)."""
    return widgets.SelectionSlider(
        options=options,
        value=value,
        description=_described(description),
        continuous_update=continuous_update,
        style=_STYLE,
        layout=_layout(),
    )


def set_range(slider, low, high, value, step=None):
    """Give a slider a new range and value in an order ipywidgets accepts (min <= max always)."""
    with slider.hold_trait_notifications():
        slider.max = max(slider.max, high)  # widen first, so min <= max at every moment
        slider.min = min(slider.min, low)
        if step is not None:
            slider.step = step
        slider.value = value
        slider.min, slider.max = low, high


def control_grid(controls, columns=2):
    """A ``GridBox`` of ``controls``: at most ``columns`` per row, each at least 260 px wide,
    fewer columns (down to one) when the page is narrower (CSS grid ``auto-fit``)."""
    # the column is the wider of 260 px and an n-th of the row, so there are never more
    # than n columns; auto-fit drops columns that do not fit
    share = f"calc((100% - {columns - 1} * {_GAP}px) / {columns})"
    return widgets.GridBox(
        list(controls),
        layout=widgets.Layout(
            grid_template_columns=(
                f"repeat(auto-fit, minmax(max({MIN_COLUMN_WIDTH}px, {share}), 1fr))"
            ),
            grid_gap=f"2px {_GAP}px",
            width="100%",
        ),
    )


# ipywidgets draws a slider's readout in a box of fixed width range with overflow hidden
# (`.widget-readout`: min-width 69 px, max-width 146 px in ipywidgets 8.1), which clips
# values such as "1.2e-05" when a theme uses a larger or wider font (dark themes often do).
# Sized in `ch` (width of a digit), the box follows the font.
_CSS = f"""<style>
.{CSS_CLASS} .widget-readout, .{CSS_CLASS} .jupyter-widget-readout {{
  min-width: 8ch; max-width: none; overflow: visible; flex-shrink: 0;
}}
</style>"""


def stylesheet():
    """An ``HTML`` widget holding the explorers' CSS (it shows nothing itself). A ``<style>``
    element inside a widget's HTML applies to the page, in Jupyter and on the static site."""
    return widgets.HTML(_CSS, layout=widgets.Layout(display="none"))
