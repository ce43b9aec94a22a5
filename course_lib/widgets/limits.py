"""Axis limits rounded outwards to a few "nice" values.

Limits that follow the data but take few distinct values: an explorer caches the static
pixels of a plot (which include its tick labels) per set of limits, so few distinct limits
mean few redraws.
"""

from __future__ import annotations

import numpy as np

__all__ = ["nice_ceil", "log_limits", "linear_limits", "symlog_limits"]

_MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_ceil(value):
    """The smallest ``m * 10^k >= value`` with m in 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (> 0)."""
    value = max(float(value), 1e-300)
    decade = 10.0 ** np.floor(np.log10(value))
    return next(m * decade for m in _MANTISSAS if m * decade >= value * (1 - 1e-12))


def log_limits(low, high):
    """Whole decades around ``[low, high]`` (both > 0), at least one decade apart."""
    a, b = np.floor(np.log10(low)), np.ceil(np.log10(high))
    return 10.0**a, 10.0 ** max(b, a + 1)


def linear_limits(low, high):
    """Round ``[low, high]`` outwards to multiples of a 1-2-5 step (about five steps)."""
    span = high - low
    if not span > 0:
        span = max(abs(low), 1.0)
        low, high = low - 0.5 * span, high + 0.5 * span
    step = 10.0 ** np.floor(np.log10(span / 5))
    step = next(m * step for m in (1, 2, 5, 10) if span / (m * step) <= 6)
    return step * np.floor(low / step), step * np.ceil(high / step)


def symlog_limits(low, high, linthresh=1.0):
    """Round ``[low, high]`` outwards to signed decades (or +-linthresh) for a symlog axis."""

    def out(v, up):
        if abs(v) <= linthresh:
            return linthresh if up else -linthresh
        exponent = np.log10(abs(v))
        magnitude = 10.0 ** (np.ceil(exponent) if (v > 0) == up else np.floor(exponent))
        return float(np.copysign(magnitude, v))

    return out(low, False), out(high, True)
