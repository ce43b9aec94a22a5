"""Trajectory explorer: any course_lib optimizers side by side on a landscape.

Left: each optimizer's path on the contour lines of a 2-D landscape (or on the graph of a 1-D
one), from the same start. Right: each one's loss against the step. The optimizers are told
apart by colour, line style and marker together (the Okabe-Ito palette, readable with every
common colour-vision deficiency: Okabe & Ito 2008, "Color Universal Design"; a reader who
cannot tell the colours apart still has the dashes and the markers), named in a legend below
the plots. A run that blows up stops where it was last finite, ends in a cross, and the
figure says so; nothing is raised. Every run is ``course_lib.train.run`` with the
optimizer (and schedule) built from the current control values.

A chapter-5 explorer in a few lines::

    from course_lib.landscapes import Quadratic
    from course_lib.optim import SGD
    from course_lib.widgets import TrajectoryExplorer
    from course_lib.widgets.controls import float_slider, log_slider

    TrajectoryExplorer(
        {"gradient descent": lambda lr: SGD(lr=lr),
         "momentum": lambda lr, beta: SGD(lr=lr, momentum=beta),
         "Nesterov": lambda lr, beta: SGD(lr=lr, momentum=beta, nesterov=True)},
        landscape=lambda kappa: Quadratic.bowl(condition_number=kappa, angle=0.3),
        controls={"lr": log_slider("learning rate", 0.05, 1e-3, 1.0),
                  "beta": float_slider("momentum β", 0.9, 0.05, 0.99, 0.01),
                  "kappa": log_slider("condition number κ", 20.0, 1.0, 1000.0)},
    )

A factory (a function or a class) is called with the current values of the controls its
parameters name (``lambda lr, beta: ...`` receives the "lr" and "beta" controls); a ready
optimizer such as ``Adam(lr=0.1)`` is used as it is.
"""

from __future__ import annotations

import html
import inspect
from dataclasses import replace
from typing import Callable, NamedTuple

import numpy as np
from matplotlib.lines import Line2D

from course_lib import landscapes
from course_lib._checks import check, integer
from course_lib.plots import OKABE_ITO, mark_minima, plot_1d, plot_contours
from course_lib.schedules import ReduceLROnPlateau, Schedule
from course_lib.train import run
from course_lib.widgets.controls import dropdown, float_slider, int_slider, set_range
from course_lib.widgets.explorer import Explorer
from course_lib.widgets.limits import linear_limits, log_limits, nice_ceil, symlog_limits

__all__ = ["TrajectoryExplorer", "PRESETS", "Preset", "STYLES", "BOUND_FACTOR"]


class Preset(NamedTuple):
    """A landscape of the dropdown with a learning rate (for plain gradient descent) and a
    start that show it well."""

    make: Callable
    lr: float
    start: tuple
    log_levels: bool = True  # geometric contour levels (see plots.contour_levels)
    loss_scale: str = "log"  # y axis of the loss plot: "log" (of f - f*), "linear", "symlog"


PRESETS = {
    "ill-conditioned bowl": Preset(
        lambda: landscapes.Quadratic.bowl(condition_number=20.0), 0.09, (-1.8, 1.2)
    ),
    "Rosenbrock": Preset(landscapes.Rosenbrock, 1e-3, (-1.2, 1.0)),
    "Himmelblau": Preset(landscapes.Himmelblau, 0.01, (0.0, 0.0)),
    "saddle": Preset(landscapes.Saddle, 0.05, (-1.8, 0.02), log_levels=False, loss_scale="symlog"),
    "Beale": Preset(landscapes.Beale, 0.01, (1.0, 1.5)),
    "parabola x² (1-D)": Preset(landscapes.Parabola, 0.3, (1.8,)),
    "x cos(cx) (1-D)": Preset(landscapes.XCos, 0.3, (10.0,), loss_scale="linear"),
}


class Style(NamedTuple):
    color: str
    linestyle: object
    marker: str


# Okabe-Ito colours, ordered to stand out on viridis contour lines, each with its own dash
# pattern and marker
STYLES = tuple(
    Style(OKABE_ITO[colour], dashes, marker)
    for colour, dashes, marker in (
        ("vermillion", "-", "o"),
        ("blue", "--", "s"),
        ("black", ":", "^"),
        ("reddish purple", "-.", "D"),
        ("orange", (0, (6, 2)), "v"),
        ("sky blue", (0, (4, 1, 1, 1, 1, 1)), "P"),
        ("bluish green", (0, (1, 3)), "X"),
    )
)

BOUND_FACTOR = 1e3  # an iterate farther than this many window sizes counts as diverged
_LOSS_FLOOR = 1e-30  # smallest value drawn on the log loss axis
_BUILT_IN = ("landscape", "steps", "x0", "y0")
_UNNAMED = "landscape"  # the label of a landscape factory not named: titled by f.name


def custom_preset(f):
    """A preset for a landscape object: start inside its window, lr from the curvature there
    (half the stable step of the local quadratic model)."""
    if getattr(f, "dim", None) not in (1, 2) or getattr(f, "bounds", None) is None:
        raise ValueError(f"landscape must be a 1-D or 2-D landscape with bounds, got {f!r}")
    lows, highs = np.array(f.bounds, dtype=float).reshape(-1, 2).T
    start = lows + 0.15 * (highs - lows)
    with np.errstate(all="ignore"):
        h = np.atleast_2d(f.hessian(start if f.dim == 2 else start[0]))
        curvature = float(np.max(np.abs(np.linalg.eigvalsh(h))))
    lr = 0.01
    if np.isfinite(curvature) and curvature > 0:
        lr = float(np.clip(1.0 / curvature, 1e-4, 1.0))
    return Preset(
        lambda: f,
        lr,
        tuple(float(s) for s in start),
        loss_scale="log" if f.min_value is not None else "symlog",
    )


# -- what the caller passes: ready objects or factories of control values ---------------------
class _Factory(NamedTuple):
    """``make(values) -> object``, reading the controls named in ``uses``."""

    make: Callable
    uses: tuple

    def key(self, values):
        return tuple(values[name] for name in self.uses)


def _ready(obj):
    return _Factory(lambda values: obj, ())


def _factory(fn, what, controls):
    """A ``_Factory`` calling ``fn`` with the controls its parameters name."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a function of control values, got {fn!r}") from None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        uses = tuple(controls)
    else:
        uses = []
        for p in parameters:
            if p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY):
                continue
            if p.name in controls:
                uses.append(p.name)
            elif p.default is p.empty:
                raise ValueError(
                    f"{what} asks for {p.name!r}, which is not a control; the "
                    f"controls are {list(controls)}"
                )
        uses = tuple(uses)
    return _Factory(lambda values: fn(**{name: values[name] for name in uses}), uses)


def is_optimizer(obj):
    """True for an optimizer object (with ``init`` and ``step``), not a class or factory."""
    return (
        not isinstance(obj, type)
        and callable(getattr(obj, "init", None))
        and callable(getattr(obj, "step", None))
    )


def _is_landscape(obj):
    return not isinstance(obj, type) and all(hasattr(obj, a) for a in ("value", "grad", "dim"))


def optimizer_label(optimizer):
    """``SGD(lr=0.1, momentum=0.9)``: the class, lr and the arguments not at their default."""
    cls = type(optimizer)
    try:
        defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items()}
    except (TypeError, ValueError):
        return repr(optimizer)
    changed = [
        f"{k}={v!r}"
        for k, v in vars(optimizer).items()
        if k in defaults and (k == "lr" or defaults[k] != v)
    ]
    return f"{cls.__name__}({', '.join(changed)})"


class _Entry(NamedTuple):
    label: str
    optimizer: _Factory
    schedule: _Factory | None


class _View(NamedTuple):
    """A landscape as shown: the object, its dropdown label and how to draw it."""

    key: object
    label: str
    f: object
    preset: Preset


class TrajectoryExplorer(Explorer):
    """Several optimizers from one start on one landscape: paths and loss curves.

    Controls: ``landscape`` (a dropdown, when there are several; choosing one resets the
    start to suit it), the ``controls`` you pass (in their order), ``steps`` (1 to
    ``max_steps``), ``x0``, ``y0`` (the start; ``y0`` is disabled on a 1-D landscape).

    Args:
      optimizers: the optimizers to compare (at most 7), as a list or as a dict label ->
        entry. An entry is a course_lib optimizer (anything with ``init`` and ``step``), or a
        factory: a function or class called with the values of the controls its parameters
        name, returning one (``lambda lr, beta: SGD(lr=lr, momentum=beta)``), or a pair
        ``(optimizer or factory, schedule or factory)`` to give that optimizer its own
        schedule. A list labels ready optimizers by their arguments (``SGD(lr=0.1)``).
      landscape: a name of ``PRESETS``, a 1-D or 2-D landscape object with ``bounds``, a
        factory of control values returning one (``lambda kappa: Quadratic.bowl(kappa)``),
        or a list (or dict label -> any of these) for a dropdown. Default: every preset.
      schedule: a ``course_lib.schedules`` schedule (or a factory returning one) used by
        every optimizer without its own: step t runs with ``lr = schedule(t)``.
      controls: dict name -> ipywidgets control (``course_lib.widgets.controls``) whose
        values the factories read.
      selected: the label of the landscape shown first (default: the first).
      max_steps: the largest number of steps (the ``steps`` slider's maximum).
      **values: initial control values, e.g. ``steps=300, lr=0.05``.

    Raises:
      ValueError: naming the argument, for an empty or too long optimizer list, an entry that
        is neither an optimizer nor a factory, an unknown landscape, a factory asking for a
        control that does not exist, or a control name used twice.

    Attributes (besides ``Explorer``'s): ``labels`` (the optimizers' names), ``paths2``,
    ``paths1``, ``loss_lines``, ``ends`` (one artist per optimizer: 2-D path, 1-D path, loss
    curve, the cross where a run diverged), ``status`` (the message above the loss plot),
    ``results`` (label -> the last ``Trajectory`` drawn, sliced to ``steps``, or the text
    of the error that prevented the run).
    """

    figsize = (8.4, 3.4)
    _first_controls = ("landscape",)

    def __init__(
        self,
        optimizers,
        landscape=None,
        schedule=None,
        controls=None,
        *,
        selected=None,
        max_steps=1000,
        **values,
    ):
        self.max_steps = integer("max_steps", max_steps, 1)
        extra = {} if controls is None else controls
        check(isinstance(extra, dict), "controls", controls, "a dict name -> ipywidgets control")
        for name, control in extra.items():
            check(
                name not in _BUILT_IN,
                "controls",
                name,
                f"named otherwise than the built-in controls {list(_BUILT_IN)}",
            )
            check(
                hasattr(control, "value") and hasattr(control, "observe"),
                f"controls[{name!r}]",
                control,
                "an ipywidgets control (with a value)",
            )
        self._extra = dict(extra)
        names = list(_BUILT_IN) + list(extra)
        self._entries = self._parse_optimizers(optimizers, schedule, names)
        self.labels = [entry.label for entry in self._entries]
        self._specs = self._parse_landscapes(landscape, names)
        if selected is None:
            selected = next(iter(self._specs))
        check(selected in self._specs, "selected", selected, f"one of {list(self._specs)}")
        self._selected = selected
        self.has_info = len(self._entries) > 1
        if self.has_info:
            self.figsize = (self.figsize[0], self.figsize[1] + 0.4)  # and a legend below
        self._made = {}  # landscape key -> _View
        self._views = {}  # landscape key -> static artists (made on first use)
        self._ylims = {}  # landscape key -> y limits of a 1-D landscape's graph
        self._runs = {}  # (entry, factory values, landscape key, start) -> longest Trajectory
        self._shown = None  # key of the landscape whose static artists are visible
        self.results = {}
        super().__init__(**values)

    # -- arguments -----------------------------------------------------------------------------
    @staticmethod
    def _parse_optimizers(optimizers, schedule, names):
        if isinstance(optimizers, dict):
            items = [(str(k), v, f"optimizers[{k!r}]") for k, v in optimizers.items()]
        elif isinstance(optimizers, (list, tuple)):
            items = [(None, v, f"optimizers[{i}]") for i, v in enumerate(optimizers)]
        else:
            raise ValueError(
                f"optimizers must be a list or a dict label -> optimizer, got {optimizers!r}"
            )
        check(
            1 <= len(items) <= len(STYLES),
            "optimizers",
            f"{len(items)} optimizers",
            f"1 to {len(STYLES)} optimizers (one style each)",
        )
        shared = None if schedule is None else _as_schedule(schedule, "schedule", names)
        entries, seen = [], set()
        for label, entry, what in items:
            own = None
            if isinstance(entry, tuple):
                check(len(entry) == 2, what, entry, "a pair (optimizer, schedule)")
                entry, own = entry
                own = _as_schedule(own, f"{what}[1]", names)
            if is_optimizer(entry):
                factory = _ready(entry)
                default = optimizer_label(entry)
            elif callable(entry):
                factory = _factory(entry, what, names)
                default = getattr(entry, "__name__", "")
                default = (
                    f"optimizer {len(entries) + 1}" if default in ("", "<lambda>") else default
                )
            else:
                raise ValueError(
                    f"{what} must be a course_lib optimizer (an object with init "
                    f"and step, e.g. SGD(lr=0.1)) or a function of control "
                    f"values returning one, got {entry!r}"
                )
            label = default if label is None else label
            while label in seen:
                label += "′"
            seen.add(label)
            entries.append(_Entry(label, factory, own if own is not None else shared))
        return entries

    @staticmethod
    def _parse_landscapes(landscape, names):
        """dict label -> (factory of the landscape object, preset or None)."""
        if landscape is None:
            landscape = list(PRESETS)
        if isinstance(landscape, dict):
            items = list(landscape.items())
        elif isinstance(landscape, (list, tuple)):
            check(len(landscape) > 0, "landscape", landscape, "a non-empty list")
            items = [(None, item) for item in landscape]
        else:
            items = [(None, landscape)]
        specs = {}
        for label, item in items:
            if isinstance(item, str) and item in PRESETS:
                preset = PRESETS[item]
                spec = (_Factory(lambda values, make=preset.make: make(), ()), preset)
                label = item if label is None else label
            elif isinstance(item, Preset):
                spec = (_Factory(lambda values, make=item.make: make(), ()), item)
            elif _is_landscape(item):
                spec = (_ready(item), custom_preset(item))
                label = getattr(item, "name", type(item).__name__) if label is None else label
            elif callable(item) and not isinstance(item, str):
                spec = (_factory(item, "landscape", names), None)
                label = getattr(item, "__name__", "") if label is None else label
                label = _UNNAMED if label in ("", "<lambda>") else label
            else:
                raise ValueError(
                    f"landscape must be one of {list(PRESETS)}, a landscape "
                    f"object or a function of control values returning one, "
                    f"got {item!r}"
                )
            check(
                label is not None and label not in specs,
                "landscape",
                label,
                "a list of distinct landscapes (give a dict label -> landscape)",
            )
            specs[str(label)] = spec
        return specs

    # -- controls ------------------------------------------------------------------------------
    def _make_controls(self):
        controls = {}
        if len(self._specs) > 1:
            controls["landscape"] = dropdown("landscape", list(self._specs), self._selected)
        controls.update(self._extra)
        controls["steps"] = int_slider(
            "steps", min(100, self.max_steps), 1, self.max_steps, continuous_update=True
        )
        controls["x0"] = float_slider("start x₁", 0.0, -1.0, 1.0, 0.01)
        controls["y0"] = float_slider("start x₂", 0.0, -1.0, 1.0, 0.01)
        self.controls = controls
        self._reset_to_preset()  # start and slider ranges of the first landscape
        return controls

    def _values(self):
        return {name: control.value for name, control in self.controls.items()}

    def _landscape_label(self):
        return self.value("landscape") if "landscape" in self.controls else self._selected

    def _on_control(self, name):
        if name == "landscape":
            self._reset_to_preset()
        elif name in self._specs[self._landscape_label()][0].uses:
            self._fit_start_ranges(self._view(), reset=False)

    def _reset_to_preset(self):
        """A new landscape: the start sliders span its window, at its preset start."""
        self._fit_start_ranges(self._view(), reset=True)

    def _fit_start_ranges(self, view, reset):
        f = view.f
        lows, highs = np.array(f.bounds, dtype=float).reshape(-1, 2).T
        for key, low, high, start in zip(("x0", "y0"), lows, highs, view.preset.start):
            slider = self.controls[key]
            if reset or (slider.min, slider.max) != (low, high):
                value = start if reset else float(np.clip(slider.value, low, high))
                set_range(slider, low, high, value, step=(high - low) / 400)
        self.controls["y0"].disabled = f.dim == 1

    def _view(self):
        """The landscape chosen by the controls, made on first use."""
        label = self._landscape_label()
        factory, preset = self._specs[label]
        values = self._values()
        key = label if not factory.uses else (label,) + factory.key(values)
        if key not in self._made:
            f = factory.make(values)
            if preset is None:  # made by a factory of the controls: checked here
                preset = custom_preset(f)
            if len(self._made) > 32:
                self._forget(next(iter(self._made)))
            self._made[key] = _View(key, label, f, preset)
        return self._made[key]

    def _forget(self, key):
        """Drop a landscape made by a factory, and its contours, from the caches."""
        self._made.pop(key)
        for artist in self._views.pop(key, []):
            artist.remove()
        if self._shown == key:
            self._shown = None

    # -- figure --------------------------------------------------------------------------------
    def _build(self):
        values = self._values()
        for entry in self._entries:  # a factory that fails now is the author's mistake
            optimizer = entry.optimizer.make(values)
            check(
                is_optimizer(optimizer),
                f"the optimizer {entry.label!r}",
                optimizer,
                "an object with init and step",
            )
        several = len(self._entries) > 1
        grid = self.figure.add_gridspec(1, 2, width_ratios=(1.0, 1.15))
        self.ax2 = self.figure.add_subplot(grid[0])
        self.ax1 = self.figure.add_subplot(grid[0])  # the 1-D view, in the same place
        self.ax_loss = self.figure.add_subplot(grid[1])
        self.paths2, self.paths1, self.loss_lines, self.ends = [], [], [], []
        no_scale = dict(scalex=False, scaley=False)
        for style in STYLES[: len(self._entries)]:
            path = dict(
                color=style.color,
                linestyle=style.linestyle,
                marker=style.marker,
                markersize=3.5 if several else 2.5,
                linewidth=1.3 if several else 1.1,
                zorder=3,
                **no_scale,
            )
            self.paths2.append(self.ax2.plot([], [], **path)[0])
            self.paths1.append(self.ax1.plot([], [], **path)[0])
            loss = dict(path, markersize=4.5, linewidth=1.4, zorder=2)
            if not several:
                loss.update(color="C0", marker="none")
            self.loss_lines.append(self.ax_loss.plot([], [], **loss)[0])
            end = dict(
                color=style.color,
                marker="X",
                markersize=10,
                markeredgecolor="white",
                markeredgewidth=0.8,
                linestyle="none",
                zorder=5,
                **no_scale,
            )
            self.ends.append((self.ax2.plot([], [], **end)[0], self.ax1.plot([], [], **end)[0]))
        start = dict(
            color="black" if several else STYLES[0].color,
            marker="s",
            markersize=6,
            linestyle="none",
            zorder=4,
            **no_scale,
        )
        (self.start2,) = self.ax2.plot([], [], **start)
        (self.start1,) = self.ax1.plot([], [], **start)
        for artist in (*self.paths2, *self.paths1, *self.loss_lines, self.start2, self.start1):
            self._animate(artist)
        for pair in self.ends:
            for artist in pair:
                self._animate(artist)
        self.status = self.ax_loss.text(
            0.5, 1.03, "", transform=self.ax_loss.transAxes, ha="center", va="bottom", fontsize=9.5
        )
        self._animate(self.status)
        self.ax_loss.set_xlabel("step t")
        self.ax_loss.grid(True, which="major", alpha=0.3)
        self._loss_limits = None
        if several:  # below the plots, in the never-redrawn background: it covers no data
            handles = [
                Line2D(
                    [],
                    [],
                    color=s.color,
                    linestyle=s.linestyle,
                    marker=s.marker,
                    markersize=5,
                    linewidth=1.4,
                )
                for s in STYLES
            ]
            self.figure.legend(
                handles[: len(self.labels)],
                self.labels,
                loc="outside lower center",
                ncols=min(len(self.labels), 4),
                fontsize=8.5,
                frameon=False,
                handlelength=3.0,
            )

    def _after_layout(self):
        self.ax1.set_position(self.ax2.get_position())

    def _title(self, view):
        """The title of the landscape plot (static: part of the cached background)."""
        label = getattr(view.f, "name", view.label) if view.label == _UNNAMED else view.label
        kappa = getattr(view.f, "condition_number", None)
        if view.key != view.label and kappa is not None and np.isfinite(kappa):
            return f"{label}: condition number κ = {kappa:.3g}"
        return label

    def _show_landscape(self, view):
        """Make the static artists of ``view`` the visible ones."""
        if self._shown == view.key:
            return
        for artists in self._views.values():
            for artist in artists:
                artist.set_visible(False)
        f = view.f
        if view.key not in self._views:
            self._views[view.key] = self._make_view(view)
        for artist in self._views[view.key]:
            artist.set_visible(True)
        ax = self.ax1 if f.dim == 1 else self.ax2
        self.ax1.set_visible(f.dim == 1)
        self.ax2.set_visible(f.dim == 2)
        if f.dim == 2:
            ax.set_xlim(*f.bounds[0])
            ax.set_ylim(*f.bounds[1])
        else:
            ax.set_xlim(*f.bounds)
            ax.set_ylim(*self._ylims[view.key])
        # at a fixed height (where matplotlib puts it: no ticks above), not placed when the
        # axes draw: the title is drawn alone over the cached axes (_panel_layers)
        ax.set_title(self._title(view), fontsize=10, y=1.0)
        scale = view.preset.loss_scale
        if scale == "symlog":
            self.ax_loss.set_yscale("symlog", linthresh=1.0)
        else:
            self.ax_loss.set_yscale(scale)
        self.ax_loss.set_ylabel("f(xₜ) − f*" if scale == "log" else "f(xₜ)")
        self._shown = view.key

    def _make_view(self, view):
        f = view.f
        if f.dim == 2:
            contours = plot_contours(
                self.ax2, f, n=160, levels=18, log=view.preset.log_levels, minima=False
            )
            return [contours, mark_minima(self.ax2, f)]
        curve = plot_1d(self.ax1, f, n=400)
        values = curve.get_ydata()
        pad = 0.05 * (values.max() - values.min())
        self._ylims[view.key] = (values.min() - pad, values.max() + pad)
        return [curve]

    # -- runs ----------------------------------------------------------------------------------
    def _trajectory(self, i, view, start, steps, values):
        """``train.run`` of optimizer ``i`` from ``start``: a Trajectory of at least ``steps``
        steps (or fewer if it diverged), or the text of the error that stopped it."""
        entry = self._entries[i]
        uses = entry.optimizer.key(values), entry.schedule and entry.schedule.key(values)
        # without a schedule, run longer than asked (twice the last run, at least 100 steps):
        # dragging the steps slider then only slices the cached run. A schedule may depend
        # on the number of steps (or stop at it, as OneCycleLR): then run exactly that.
        exact = entry.schedule is not None
        key = (i, uses, view.key, start) + ((steps,) if exact else ())
        traj = self._runs.get(key)
        if isinstance(traj, str):  # these values cannot make the optimizer: no longer run helps
            return traj
        if traj is None or (traj.steps_taken < steps and not traj.diverged):
            f = view.f
            bound = BOUND_FACTOR * float(np.max(np.abs(f.bounds)))
            longer = (
                steps
                if exact
                else min(max(steps, 100, 2 * (traj.steps_taken if traj else 0)), self.max_steps)
            )
            try:
                optimizer = entry.optimizer.make(values)
                schedule = None if entry.schedule is None else entry.schedule.make(values)
                traj = run(
                    optimizer,
                    f,
                    start if f.dim == 2 else start[0],
                    longer,
                    schedule=schedule,
                    bound=bound,
                    rng=0,
                )
            except (ValueError, TypeError, AttributeError) as error:
                traj = f"{type(error).__name__}: {error}"
            if len(self._runs) > 64 * len(self._entries):
                self._runs.pop(next(iter(self._runs)))
            self._runs[key] = traj
        return traj

    def _draw(self):
        view = self._view()
        self._show_landscape(view)
        f = view.f
        values = self._values()
        steps = int(values["steps"])
        start = (float(values["x0"]), float(values["y0"]))[: f.dim]
        self.results, curves = {}, []
        for i, label in enumerate(self.labels):
            traj = self._trajectory(i, view, start, steps, values)
            self.results[label] = traj if isinstance(traj, str) else _sliced(traj, steps)
            curves.append(self._draw_run(i, f, self.results[label]))
        if f.dim == 2:
            self.start2.set_data(start[:1], start[1:])
        else:
            self.start1.set_data(start, [f.value(start[0])])
        self._draw_losses(view, curves, steps)
        self._set_status(f, steps)

    def _draw_run(self, i, f, traj):
        """Set the artists of optimizer ``i``; return its loss curve's y values."""
        end2, end1 = self.ends[i]
        if isinstance(traj, str):  # no run: nothing drawn, the message says why
            for artist in (self.paths2[i], self.paths1[i], self.loss_lines[i], end2, end1):
                artist.set_data([], [])
            return None
        path, losses = traj.path, traj.losses
        line, end = (self.paths2[i], end2) if f.dim == 2 else (self.paths1[i], end1)
        if f.dim == 2:
            line.set_data(path[:, 0], path[:, 1])
            self.paths1[i].set_data([], [])
        else:
            line.set_data(path, losses)
            self.paths2[i].set_data([], [])
        if len(self.labels) > 1:  # markers every iterate while they can be told apart
            line.set_markevery(max(1, len(path) // 40))
        for other in (end2, end1):
            other.set_data([], [])
        if traj.diverged and f.dim == 2:
            end.set_data(path[-1:, 0], path[-1:, 1])
        elif traj.diverged:
            end.set_data(path[-1:], losses[-1:])
        return losses

    def _draw_losses(self, view, curves, steps):
        scale, f = view.preset.loss_scale, view.f
        shown = []
        for i, losses in enumerate(curves):
            if losses is None:
                continue
            y = np.maximum(losses - f.min_value, _LOSS_FLOOR) if scale == "log" else losses
            self.loss_lines[i].set_data(np.arange(len(y)), y)
            if len(self.labels) > 1:  # about 8 markers a curve, offset between curves
                every = max(1, steps // 8)
                self.loss_lines[i].set_markevery((i * every // len(self.labels), every))
            shown.append(y)
        if shown:
            y = np.concatenate(shown)
            low, high = float(y.min()), float(y.max())
        else:
            low, high = (1e-3, 1.0) if scale == "log" else (0.0, 1.0)
        limits = {"log": log_limits, "symlog": symlog_limits, "linear": linear_limits}[scale]
        ylim = limits(low, high)
        self._loss_limits = ((0, nice_ceil(steps)), ylim)
        self.ax_loss.set_xlim(*self._loss_limits[0])
        self.ax_loss.set_ylim(*ylim)

    def _panels(self):
        return [[self.ax2, self.ax1], [self.ax_loss]]

    def _panel_key(self, i):
        if i == 0:
            return self._shown
        return self._made[self._shown].preset.loss_scale, self._loss_limits

    def _panel_layers(self, i):
        """The landscape panel: a landscape of a slider (the ravine of a condition number)
        changes its contour lines and title, not its axes: those are drawn over the axes'
        cached pixels."""
        if i != 0:
            return None
        ax = self.ax2 if self.ax2.get_visible() else self.ax1
        layers = [*self._views[self._shown], ax.title, *ax.spines.values()]
        return (ax is self.ax2, ax.get_xlim(), ax.get_ylim()), layers

    # -- messages ------------------------------------------------------------------------------
    def outcome(self, label, f=None):
        """``(message, kind)`` for the run of optimizer ``label`` as last drawn; kind is
        "diverged", "error", "left" (the plotted window) or "ok"."""
        f = self._view().f if f is None else f
        traj = self.results[label]
        if isinstance(traj, str):
            return f"could not run: {traj}", "error"
        k = traj.steps_taken
        if traj.diverged and f.min_value is not None:
            return (
                f"diverged at step {traj.diverged_at}: lr too large for this curvature",
                "diverged",
            )
        if traj.diverged:
            return f"ran off to infinity at step {traj.diverged_at}: f has no minimum", "diverged"
        lows, highs = np.array(f.bounds, dtype=float).reshape(-1, 2).T
        points = traj.path.reshape(len(traj.path), -1)
        outside = np.flatnonzero(np.any((points < lows) | (points > highs), axis=1))
        if outside.size:
            return f"left the plotted window at step {outside[0]}", "left"
        if f.min_value is not None:
            return f"after {k} steps: f − f* = {traj.losses[k] - f.min_value:.2e}", "ok"
        return f"after {k} steps: f = {traj.losses[k]:.3g}", "ok"

    def _set_status(self, f, steps):
        colors = {
            "diverged": STYLES[0].color,
            "error": STYLES[0].color,
            "left": OKABE_ITO["orange"],
            "ok": "black",
        }
        outcomes = {label: self.outcome(label, f) for label in self.labels}
        if len(self.labels) == 1:
            message, kind = outcomes[self.labels[0]]
        else:
            bad = [label for label in self.labels if outcomes[label][1] in ("diverged", "error")]
            runs = [self.results[label] for label in self.labels if label not in bad]
            if bad:
                message, kind = self._failures(bad), "diverged"
            elif f.min_value is not None:
                best = min(range(len(runs)), key=lambda j: runs[j].losses[-1])
                gap = runs[best].losses[-1] - f.min_value
                message, kind = f"after {steps} steps: best f − f* = {gap:.2e}", "ok"
            else:
                message, kind = f"after {steps} steps", "ok"
            self.info.value = " &nbsp;·&nbsp; ".join(
                f"<b>{html.escape(label)}</b>: {html.escape(outcomes[label][0])}"
                for label in self.labels
            )
        self.status.set_text(message)
        self.status.set_color(colors[kind])

    def _failures(self, bad):
        parts = []
        for label in bad:
            traj = self.results[label]
            parts.append(
                f"{label} (no run)"
                if isinstance(traj, str)
                else f"{label} (step {traj.diverged_at})"
            )
        return "diverged: " + ", ".join(parts)

    def alt_text(self):
        view = self._view()
        where = "graph" if view.f.dim == 1 else "contour lines"
        start = tuple(round(float(self.value(k)), 3) for k in ("x0", "y0")[: view.f.dim])
        return (
            f"Left: the path of {', '.join(self.labels)} on the {where} of "
            f"{self._title(view)}, from the start {start}. Right: the loss against the "
            f"step. {self.status.get_text()}."
        )


def _sliced(traj, steps):
    """The Trajectory ``run`` returns for ``steps`` steps, from a run of at least as many
    (without its ``final_state``, which only the longer run knows)."""
    if traj.steps_taken < steps or (traj.steps_taken == steps and not traj.diverged):
        return traj  # what run(..., steps) returns: it diverged before `steps`, or is exact
    k = steps  # it went on past `steps` (or failed at step t = steps, which is not run)
    return replace(
        traj,
        path=traj.path[: k + 1],
        losses=traj.losses[: k + 1],
        lrs=traj.lrs[:k],
        diverged=False,
        diverged_at=None,
        steps_taken=k,
        final_state=None,
        states=None if traj.states is None else traj.states[: k + 1],
    )


def _as_schedule(schedule, what, names):
    """A ``_Factory`` for a schedule: a ready ``course_lib.schedules`` object or a factory."""
    if isinstance(schedule, ReduceLROnPlateau):
        raise ValueError(
            f"{what} must be a function of the step t; ReduceLROnPlateau "
            f"follows a validation metric, which a landscape run does not have"
        )
    if isinstance(schedule, Schedule):
        return _ready(schedule)
    if callable(schedule):
        return _factory(schedule, what, names)
    raise ValueError(
        f"{what} must be a course_lib.schedules schedule or a function of "
        f"control values returning one, got {schedule!r}"
    )
