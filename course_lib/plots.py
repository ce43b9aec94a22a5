"""Plots of landscapes and optimizer runs: small functions that draw on a Matplotlib Axes.

Each function takes the Axes to draw on (so it works in a grid of subplots, in a widget's
figure or after ``fig, ax = plt.subplots()``) and returns the artist it made, so a caller can
update it later (``line.set_data(...)``) instead of drawing again::

    import matplotlib.pyplot as plt
    from course_lib.landscapes import Rosenbrock
    from course_lib.optim import SGD
    from course_lib.plots import plot_contours, plot_loss_curve, plot_path
    from course_lib.train import run

    f = Rosenbrock()
    traj = run(SGD(lr=1e-3), f, x0=[-1.5, 2.0], steps=500)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    plot_contours(ax1, f)
    plot_path(ax1, traj.path, label="gradient descent")
    plot_loss_curve(ax2, traj.losses, min_value=f.min_value)

Nothing here calls ``pyplot``: the functions only add artists to the Axes they are given.

The book's figure style (one place for every chapter): ``use_style()`` at the top of a chapter
sets a colour-blind-safe palette (Okabe and Ito's eight colours), text sizes that stay readable
when a figure is scaled to the page's text width, and light grids. Lines that must be told apart
should differ in more than colour: ``plot_loss_curve`` and ``plot_path`` give each further
curve on the same Axes its own colour, line style and marker, and ``line_styles(n)`` hands out
the same styles for a chapter's own ``ax.plot`` loops::

    plots.use_style()
    fig, ax = plt.subplots()
    for style, (name, losses) in zip(plots.line_styles(), curves.items()):
        ax.plot(losses, label=name, **style)

The default colour cycle holds only colours (``C0`` ... ``C5`` are the palette's): line styles
and markers are not put in Matplotlib's cycle, so figures that set a colour and expect a solid
line (the widgets' figures, for example) keep their look.
"""

from __future__ import annotations

import numpy as np

from course_lib._checks import check, integer

__all__ = [
    "OKABE_ITO",
    "PALETTE",
    "LINESTYLES",
    "MARKERS",
    "STYLE",
    "use_style",
    "line_styles",
    "contour_levels",
    "plot_contours",
    "mark_minima",
    "plot_path",
    "plot_loss_curve",
    "plot_1d",
    "plot_surface",
    "plot_rate_map",
]


# Okabe, M. and Ito, K. (2008), "Color Universal Design (CUD): how to make figures and
# presentations that are friendly to colorblind people", https://jfly.uni-koeln.de/color/ ;
# the eight colours stay distinct for the common forms of colour blindness.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}
#: The colour cycle (``C0`` ... ``C5``): the palette without black (kept for reference lines)
#: and yellow (too light for a thin line on white), in the order of Matplotlib's default hues
#: (C0 blue, C1 orange, C2 green, C3 red), so code that asks for ``"C3"`` to stand out still
#: gets a red (vermillion).
PALETTE = tuple(
    OKABE_ITO[name]
    for name in ("blue", "orange", "bluish green", "vermillion", "reddish purple", "sky blue")
)
#: Line styles and markers that go with the colours: the k-th curve differs from the others in
#: all three, so it can be told apart in grey print or without colour vision.
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P")

#: The rc settings of ``use_style`` (besides the colour cycle, ``PALETTE``). Text sizes are in
#: points at ``figure.dpi = 100``: a figure
#: at most 8 inches wide is shown at about its own size in the book's text column, so 10 pt tick
#: labels stay about 13 px high on the page.
STYLE = {
    "figure.dpi": 100,
    "figure.figsize": (6.4, 4.0),
    "figure.constrained_layout.use": True,
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9.5,
    "legend.framealpha": 0.9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "image.cmap": "viridis",
}


def use_style():
    """Apply the book's figure style (``STYLE``) to every figure made after the call.

    Call it once at the top of a chapter, after importing ``matplotlib.pyplot``.
    """
    import matplotlib
    from cycler import cycler

    matplotlib.rcParams.update(STYLE)
    matplotlib.rcParams["axes.prop_cycle"] = cycler(color=PALETTE)


def line_styles(n=None):
    """Styles for curves that must be told apart: ``{"color", "linestyle", "marker"}`` dicts.

    The k-th style has the k-th colour of ``PALETTE``, line style of ``LINESTYLES`` and marker
    of ``MARKERS``, so any two of the first six differ in all three (the seventh repeats the
    first). Pass a style to ``ax.plot(x, y, **style)``; for a curve of many points add
    ``markevery`` so that the markers do not merge into a thick band.

    Args:
      n: how many styles, an int >= 0; None (default) gives an endless iterator.

    Returns:
      A list of ``n`` dicts, or an iterator when ``n`` is None.
    """

    def style(k):
        k %= len(PALETTE)
        return {"color": PALETTE[k], "linestyle": LINESTYLES[k], "marker": MARKERS[k]}

    if n is None:
        import itertools

        return (style(k) for k in itertools.count())
    return [style(k) for k in range(integer("n", n, low=0))]


_CURVE = "course_lib.plots.curve"  # gid of the curves that take the next style on their Axes


def _next_style(ax, kwargs, dense=0):
    """The style of the next ``plot_loss_curve``/``plot_path`` curve on ``ax``: the k-th of
    ``line_styles`` (k = curves already drawn there), overridden by what the caller gave. A
    curve of ``dense`` points (0: few) gets a marker on every ``dense // 10``-th point."""
    from matplotlib.cbook import normalize_kwargs
    from matplotlib.lines import Line2D

    kwargs = normalize_kwargs(kwargs, Line2D)  # "ls" -> "linestyle", "c" -> "color", ...
    k = sum(1 for line in ax.get_lines() if line.get_gid() == _CURVE)
    style = line_styles(k + 1)[k]
    if "color" in kwargs:  # the caller's colour wins; line style and marker still differ
        style = {"linestyle": style["linestyle"], "marker": style["marker"]}
    if dense:
        style["markevery"] = max(1, dense // 10)  # about ten markers along the curve
    style.update(kwargs)
    style.setdefault("gid", _CURVE)
    return style


def contour_levels(Z, n=20, log=True):
    """``n`` increasing contour levels for the values ``Z`` (NaN and inf are ignored).

    With ``log=True`` the levels are ``min(Z) + d`` with ``d`` spaced geometrically from a
    small height above the minimum up to ``max(Z) - min(Z)``: valleys get as many lines as
    steep walls (loss surfaces span many orders of magnitude). With ``log=False`` they are
    evenly spaced strictly between the minimum and the maximum.

    Args:
      Z: array of values (e.g. from ``landscape.grid``).
      n: number of levels, an int >= 1.
      log: geometric (True) or even (False) spacing.

    Returns:
      A 1-D array of ``n`` increasing levels (fewer only if Z is constant: then one level).
    """
    n = integer("n", n, low=1)
    z = np.asarray(Z, dtype=float)
    z = z[np.isfinite(z)]
    check(z.size > 0, "Z", "no finite value", "an array with finite values")
    low, high = float(z.min()), float(z.max())
    span = high - low
    if not span > 0:
        return np.array([low])
    if not log:
        return np.linspace(low, high, n + 2)[1:-1]
    above = z[z > low] - low
    # the bottom level: just above the lowest 0.2% of the grid (no tiny rings around a point)
    bottom = max(float(np.quantile(above, 0.002)), span * 1e-9)
    return low + np.geomspace(bottom, span, n)


def plot_contours(
    ax,
    landscape,
    bounds=None,
    levels=20,
    log=True,
    n=200,
    filled=False,
    cmap="viridis",
    minima=True,
    **kwargs,
):
    """Contour lines of a 2-D landscape, with its known minima marked.

    Sets the axes limits to ``bounds`` and labels the axes ``x_1``, ``x_2`` (unless they
    already have labels).

    Args:
      ax: a Matplotlib Axes.
      landscape: a 2-D landscape (``landscape.grid`` and ``landscape.bounds``).
      bounds: ``((xmin, xmax), (ymin, ymax))``; default ``landscape.bounds``.
      levels: number of levels (int, spaced by ``contour_levels``) or a sequence of levels.
      log: space the levels geometrically above the minimum (see ``contour_levels``).
      n: grid points per axis.
      filled: filled contours (``contourf``) instead of lines.
      cmap: colormap name.
      minima: mark ``landscape.minima`` with stars (see ``mark_minima``).
      **kwargs: passed to ``ax.contour`` / ``ax.contourf`` (e.g. ``linewidths``, ``alpha``).

    Returns:
      The ``ContourSet``.
    """
    check(getattr(landscape, "dim", None) == 2, "landscape", landscape, "a 2-D landscape")
    bounds = landscape.bounds if bounds is None else bounds
    (xmin, xmax), (ymin, ymax) = bounds
    X, Y, Z = landscape.grid(integer("n", n, low=2), bounds=bounds)
    if np.ndim(levels) == 0:
        levels = contour_levels(Z, levels, log=log)
    draw = ax.contourf if filled else ax.contour
    if not filled:
        kwargs.setdefault("linewidths", 0.8)
    with np.errstate(all="ignore"):  # inf/NaN cells are left blank, silently
        contours = draw(X, Y, np.ma.masked_invalid(Z), levels=levels, cmap=cmap, **kwargs)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    if not ax.get_xlabel():
        ax.set_xlabel("$x_1$")
    if not ax.get_ylabel():
        ax.set_ylabel("$x_2$")
    if minima:
        mark_minima(ax, landscape)
    return contours


def mark_minima(ax, landscape, **kwargs):
    """Mark the known minimisers ``landscape.minima`` (2-D) with stars.

    Args:
      ax: a Matplotlib Axes.
      landscape: a 2-D landscape.
      **kwargs: passed to ``ax.plot`` (defaults: a white-edged black star, label "minimum").

    Returns:
      The ``Line2D`` of the markers (with no data if the landscape lists no minimum).
    """
    points = np.array([np.asarray(m, dtype=float) for m in landscape.minima]).reshape(-1, 2)
    style = dict(
        linestyle="none",
        marker="*",
        markersize=11,
        color="black",
        markeredgecolor="white",
        markeredgewidth=0.6,
        label="minimum",
        zorder=4,
    )
    style.update(kwargs)
    if not len(points):
        style["label"] = "_nolegend_"  # nothing to mark: no legend entry either
    (line,) = ax.plot(points[:, 0], points[:, 1], scalex=False, scaley=False, **style)
    return line


def plot_path(ax, path, label=None, color=None, marker=None, markersize=3, start=True, **kwargs):
    """The iterates of a 2-D optimizer run, joined in order.

    The axes limits are not changed: a path that leaves the plotted window (a diverging run)
    is clipped at the edge. Each path drawn on the same Axes takes the next colour and marker
    of ``line_styles`` (a solid line), so several runs stay apart without colour.

    Args:
      ax: a Matplotlib Axes (usually with ``plot_contours`` already on it).
      path: array of shape ``(k, 2)``, the first row the starting point (``Trajectory.path``).
      label: legend label.
      color: line colour (default: the next of ``line_styles`` on this Axes).
      marker: marker at every iterate (default: the next of ``line_styles``; "" for none).
      markersize: size of those markers.
      start: also mark the starting point with a larger square.
      **kwargs: passed to ``ax.plot``.

    Returns:
      The ``Line2D`` of the path.
    """
    path = np.asarray(path, dtype=float).reshape(-1, 2)
    given = {
        key: value for key, value in (("color", color), ("marker", marker)) if value is not None
    }
    from matplotlib.cbook import normalize_kwargs
    from matplotlib.lines import Line2D

    kwargs = normalize_kwargs(kwargs, Line2D)  # "ls" -> "linestyle": one name per property
    style = _next_style(ax, {"linestyle": "-", **given, **kwargs})
    (line,) = ax.plot(
        path[:, 0],
        path[:, 1],
        markersize=markersize,
        label=label,
        linewidth=1.2,
        scalex=False,
        scaley=False,
        zorder=3,
        **style,
    )
    if start and len(path):
        ax.plot(
            path[:1, 0],
            path[:1, 1],
            marker="s",
            markersize=6,
            color=line.get_color(),
            linestyle="none",
            scalex=False,
            scaley=False,
            zorder=3,
        )
    return line


def plot_loss_curve(
    ax,
    losses,
    steps=None,
    log=True,
    min_value=None,
    label=None,
    xlabel="step",
    ylabel=None,
    **kwargs,
):
    """A loss curve: loss (or suboptimality ``loss - min_value``) against steps.

    Each curve drawn on the same Axes takes the next style of ``line_styles`` (colour, line
    style and marker; a curve of more than 30 points gets about ten markers), so curves stay
    apart without colour; keyword arguments override the style.

    On a log axis, values <= 0 cannot be drawn: they are left out (a gap in the line), as
    are NaN and inf. Use ``min_value`` to plot the distance to the optimum, which turns linear
    convergence into a straight line on the log axis.

    Args:
      ax: a Matplotlib Axes.
      losses: 1-D array of losses.
      steps: x values (default ``0, 1, ..., len(losses) - 1``), e.g. epochs or seconds.
      log: logarithmic y axis.
      min_value: subtract this (the optimal value ``f*``) before plotting.
      label: legend label.
      xlabel: x-axis label ("step" by default; None leaves it alone).
      ylabel: y-axis label (default "loss", or "loss − f*" when ``min_value`` is given).
      **kwargs: passed to ``ax.plot`` (e.g. ``color``, ``linestyle``, ``marker``).

    Returns:
      The ``Line2D``.
    """
    y = np.asarray(losses, dtype=float).ravel()
    x = np.arange(len(y)) if steps is None else np.asarray(steps, dtype=float).ravel()
    check(len(x) == len(y), "steps", f"length {len(x)}", f"of length len(losses) = {len(y)}")
    if min_value is not None:
        y = y - float(min_value)
    if log:
        y = np.where(y > 0, y, np.nan)
        ax.set_yscale("log")
    style = _next_style(ax, kwargs, dense=len(y) if len(y) > 30 else 0)
    (line,) = ax.plot(x, y, label=label, **style)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is None:
        ylabel = "loss" if min_value is None else "loss − f*"
    ax.set_ylabel(ylabel)
    return line


def plot_1d(ax, landscape, bounds=None, n=400, path=None, label=None, **kwargs):
    """The graph of a 1-D landscape, optionally with iterates ``(x_t, f(x_t))`` on it.

    Args:
      ax: a Matplotlib Axes.
      landscape: a 1-D landscape (elementwise ``value``, ``bounds = (xmin, xmax)``).
      bounds: ``(xmin, xmax)``; default ``landscape.bounds``.
      n: number of points on the curve.
      path: optional 1-D array of iterates (``Trajectory.path``), drawn as joined markers.
      label: legend label of the curve.
      **kwargs: passed to ``ax.plot`` for the curve.

    Returns:
      The ``Line2D`` of the curve (the iterates, if any, are a second line on ``ax``).
    """
    check(getattr(landscape, "dim", None) == 1, "landscape", landscape, "a 1-D landscape")
    xmin, xmax = landscape.bounds if bounds is None else bounds
    x = np.linspace(xmin, xmax, integer("n", n, low=2))
    kwargs.setdefault("color", "0.3")
    (curve,) = ax.plot(x, landscape.value(x), label=label, **kwargs)
    ax.set_xlim(xmin, xmax)
    if path is not None:
        p = np.asarray(path, dtype=float).ravel()
        with np.errstate(all="ignore"):
            ax.plot(
                p,
                landscape.value(p),
                "o-",
                markersize=4,
                linewidth=1,
                scalex=False,
                scaley=False,
                zorder=3,
            )
    if not ax.get_xlabel():
        ax.set_xlabel("$x$")
    if not ax.get_ylabel():
        ax.set_ylabel("$f(x)$")
    return curve


def plot_surface(ax, landscape, bounds=None, n=60, cmap="viridis", **kwargs):
    """A 3-D surface view of a 2-D landscape.

    Args:
      ax: a 3-D Axes (``fig.add_subplot(projection="3d")``).
      landscape: a 2-D landscape.
      bounds: ``((xmin, xmax), (ymin, ymax))``; default ``landscape.bounds``.
      n: grid points per axis (the surface has ``(n - 1)^2`` faces).
      cmap: colormap name.
      **kwargs: passed to ``ax.plot_surface`` (e.g. ``alpha``).

    Returns:
      The ``Poly3DCollection``.
    """
    check(hasattr(ax, "plot_surface"), "ax", ax, "a 3-D Axes (projection='3d')")
    check(getattr(landscape, "dim", None) == 2, "landscape", landscape, "a 2-D landscape")
    X, Y, Z = landscape.grid(integer("n", n, low=2), bounds=bounds)
    kwargs.setdefault("linewidth", 0)
    kwargs.setdefault("antialiased", True)
    surface = ax.plot_surface(X, Y, Z, cmap=cmap, **kwargs)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_zlabel("$f(x)$")
    return surface


_RATE_METHODS = {"momentum": "heavy-ball momentum", "nesterov": "Nesterov"}


def plot_rate_map(ax, method, h_max=4.2, beta_max=0.99, n=(360, 240), cmap="cividis"):
    """The rate per step (spectral radius) of ``method`` over ``(lr * lambda, beta)``.

    Filled contours of the rate where it is below 1, in a sequential colour-blind-safe map
    (``cividis`` by default), with labelled contour lines at 0.5, 0.8, 0.9 and 0.95; the
    unstable region (rate >= 1) hatched, so that it does not depend on colour; the stability
    edge ``analysis.stability_limit`` as a solid black line and the two critical-damping
    curves ``analysis.critical_damping`` (complex roots between them) as dashed lines.

    Args:
      ax: a Matplotlib Axes.
      method: "momentum" or "nesterov".
      h_max: the largest ``lr * lambda`` shown (> 0).
      beta_max: the largest momentum shown, in (0, 1).
      n: grid points along ``lr * lambda`` and along ``beta``.
      cmap: colormap name.

    Returns:
      The filled ``ContourSet`` (for a colour bar: ``fig.colorbar(cs, ax=...)``).
    """
    from course_lib import analysis
    from course_lib._checks import real

    check(method in _RATE_METHODS, "method", method, f"one of {list(_RATE_METHODS)}")
    h_max = real("h_max", h_max, 0.0, low_open=True)
    beta_max = real("beta_max", beta_max, 0.0, 1.0, low_open=True, high_open=True)
    n_h, n_beta = (integer("n", k, low=2) for k in n)
    h = np.linspace(h_max / n_h / 10, h_max, n_h)
    beta = np.linspace(0.0, beta_max, n_beta)
    rate_of = {"momentum": analysis.momentum_rate, "nesterov": analysis.nesterov_rate}[method]
    rate = rate_of(h[None, :], beta[:, None])
    stable = np.where(rate < 1, rate, np.nan)
    filled = ax.contourf(h, beta, stable, levels=np.linspace(0, 1, 11), cmap=cmap)
    lines = ax.contour(h, beta, stable, levels=[0.5, 0.8, 0.9, 0.95], colors="0.1", linewidths=0.6)
    ax.clabel(lines, fmt="%.2f", fontsize=8)
    ax.contourf(
        h, beta, (rate >= 1).astype(float), levels=[0.5, 1.5], colors="none", hatches=["//"]
    )
    edge = [analysis.stability_limit(method, b) for b in beta]
    ax.plot(edge, beta, "k-", lw=2, label="stability edge")
    damping = np.array([analysis.critical_damping(method, b) for b in beta])
    ax.plot(damping[:, 0], beta, "k--", lw=1.2, label="critical damping")
    ax.plot(damping[:, 1], beta, "k--", lw=1.2)
    ax.set(
        xlim=(0, h_max),
        ylim=(0, beta_max),
        xlabel=r"$\eta\lambda$",
        ylabel=r"momentum $\beta$",
        title=_RATE_METHODS[method],
    )
    ax.grid(False)
    return filled
