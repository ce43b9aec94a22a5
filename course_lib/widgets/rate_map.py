"""Rate map: the convergence rate of heavy-ball momentum and of Nesterov's method over
``(lr * lambda, beta)``, side by side, with the current setting marked.

Each map is ``course_lib.plots.plot_rate_map``: the spectral radius of the method's 2x2
iteration matrix (``course_lib.analysis``) for one eigen-direction, with the stability edge,
the critical-damping curves and the unstable region hatched. The maps are drawn once; moving a
slider only moves the two markers and rewrites the line of numbers above the figure (both
rates, the roots' kind, and whether the direction converges), so an update costs one blit and
one PNG encoding.
"""

from __future__ import annotations

import html

import numpy as np

from course_lib import analysis
from course_lib.plots import plot_rate_map
from course_lib.widgets.controls import float_slider
from course_lib.widgets.explorer import Explorer

__all__ = ["RateMap", "describe"]

H_MAX = 4.2
BETA_MAX = 0.99
_METHODS = {"momentum": "momentum", "nesterov": "Nesterov"}


def describe(method, h, beta):
    """``(rate, words)`` for ``method`` ("momentum" or "nesterov") at ``h = lr * lambda`` and
    ``beta``: the spectral radius and a few words on the roots ("complex roots: the error
    oscillates", "real roots", "diverges: a root at -1.297")."""
    roots = {"momentum": analysis.momentum_roots, "nesterov": analysis.nesterov_roots}[method]
    z = roots(h, beta)
    rate = float(np.abs(z[0]))
    if rate >= 1:
        return rate, f"diverges: a root at {z[0].real:.3f}"
    if abs(z[0].imag) > 1e-12:
        return rate, "complex roots: the error oscillates as it shrinks"
    return rate, "real roots"


class RateMap(Explorer):
    """The rate per step of momentum (left) and Nesterov (right) over ``(lr * lambda, beta)``.

    Controls: ``h`` (the learning rate times the curvature, 0.01 to 4.2) and ``beta`` (the
    momentum, 0 to 0.99); a marker shows the setting on both maps, and the line above them
    gives both rates.

    Args:
      **values: initial control values, e.g. ``RateMap(h=1.5, beta=0.9)`` (the defaults).

    Attributes (besides ``Explorer``'s): ``rates`` (dict "momentum" / "Nesterov" -> the rate
    at the current setting), ``markers`` (the two marker artists), ``axes`` (the two maps).
    """

    figsize = (8.0, 3.6)
    has_info = True

    def _make_controls(self):
        return {
            "h": float_slider("ηλ (learning rate × curvature)", 1.5, 0.01, H_MAX, 0.01, True),
            "beta": float_slider("momentum β", 0.9, 0.0, BETA_MAX, 0.01, True),
        }

    def _build(self):
        self.axes = self.figure.subplots(1, 2, sharey=True)
        self.markers = []
        for ax, method in zip(self.axes, _METHODS):
            filled = plot_rate_map(ax, method, h_max=H_MAX, beta_max=BETA_MAX, n=(300, 200))
            (marker,) = ax.plot(
                [], [], "o", ms=9, mfc="white", mec="black", mew=2, zorder=5, label="setting"
            )
            self.markers.append(self._animate(marker))
        self.axes[1].set_ylabel("")
        self.axes[1].legend(loc="lower right", fontsize=8, framealpha=1)  # on the hatching
        self.figure.colorbar(filled, ax=list(self.axes), label="rate per step", shrink=0.9)
        self.rates = {}

    def _draw(self):
        h, beta = float(self.value("h")), float(self.value("beta"))
        parts = []
        for marker, (method, label) in zip(self.markers, _METHODS.items()):
            marker.set_data([h], [beta])
            rate, words = describe(method, h, beta)
            self.rates[label] = rate
            parts.append(f"<b>{label}</b>: rate {rate:.4f} ({html.escape(words)})")
        limits = ", ".join(
            f"{label} below {analysis.stability_limit(method, beta):.3f}"
            for method, label in _METHODS.items()
        )
        parts.append(f"stable for ηλ: {limits}")
        self.info.value = " &nbsp;·&nbsp; ".join(parts)

    def _panels(self):
        return [list(self.figure.axes)]  # one strip: the maps and the colour bar never change

    def alt_text(self):
        h, beta = self.value("h"), self.value("beta")
        verdicts = ", ".join(
            f"{label} {rate:.3f}{' (diverges)' if rate >= 1 else ''}"
            for label, rate in self.rates.items()
        )
        return (
            f"Two maps of the rate per step over eta times lambda from 0 to {H_MAX} and beta "
            f"from 0 to {BETA_MAX}: heavy-ball momentum, stable left of the line 2 + 2 beta, and "
            f"Nesterov, stable left of (2 + 2 beta) / (1 + 2 beta); the unstable region is "
            f"hatched. A marker at eta lambda = {h:.2f}, beta = {beta:.2f}: rates {verdicts}."
        )
