"""Argument checks shared by every course_lib module.

Each returns the cleaned value or raises ``ValueError`` with one message format:
``"<name> must be <allowed>, got <value>"``, so a student always learns which argument was
wrong and what it may be.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np


def check(ok: bool, name: str, value: Any, allowed: str) -> None:
    """Raise ``ValueError("<name> must be <allowed>, got <value>")`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def real(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A real number in [low, high] (ends open on request; infinite ends are always open, so
    inf and nan never pass). Bools and strings are refused."""
    low_open, high_open = low_open or low == -math.inf, high_open or high == math.inf
    is_number = isinstance(value, Real) and not isinstance(value, (bool, np.bool_))
    ok = (
        is_number
        and (low < value if low_open else low <= value)
        and (value < high if high_open else value <= high)
    )  # NaN fails both comparisons
    interval = f"{'(' if low_open else '['}{low:.12g}, {high:.12g}{')' if high_open else ']'}"
    check(ok, name, value, f"in {interval}")
    return float(value)


def nonnegative(name: str, value: Any) -> float:
    """A finite real number >= 0 (learning rates, eps, weight decay, momentum)."""
    return real(name, value, 0.0)


def unit_interval(name: str, value: Any, closed: bool = False) -> float:
    """A real number in [0, 1), or [0, 1] with ``closed=True`` (betas, alpha, rho, ...)."""
    return real(name, value, 0.0, 1.0, high_open=not closed)


def integer(name: str, value: Any, low: int = 0) -> int:
    """An int >= low (bools are refused: ``True`` is not a step count)."""
    ok = isinstance(value, Integral) and not isinstance(value, (bool, np.bool_)) and value >= low
    check(ok, name, value, f"an int >= {low}")
    return int(value)


def flag(name: str, value: Any) -> bool:
    """True or False (numpy bools too)."""
    check(isinstance(value, (bool, np.bool_)), name, value, "True or False")
    return bool(value)
