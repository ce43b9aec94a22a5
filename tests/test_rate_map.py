"""RateMap (Nesterov chapter): its rates are course_lib.analysis's, its markers sit at the
controls' setting, and moving a control redraws the markers and the numbers only."""

import numpy as np
import pytest

from course_lib import analysis
from course_lib.widgets import RateMap
from course_lib.widgets.rate_map import describe


@pytest.fixture(scope="module")
def rate_map():
    return RateMap()


def test_default_setting_is_where_momentum_converges_and_nesterov_diverges(rate_map):
    rate_map.update(h=1.5, beta=0.9)
    assert rate_map.rates["momentum"] == pytest.approx(np.sqrt(0.9))
    assert rate_map.rates["Nesterov"] == pytest.approx(analysis.nesterov_rate(1.5, 0.9))
    assert rate_map.rates["Nesterov"] > 1
    assert "Nesterov</b>: rate 1.2970 (diverges: a root at -1.297)" in rate_map.info.value
    assert "Nesterov below 1.357" in rate_map.info.value
    assert "momentum below 3.800" in rate_map.info.value
    assert "Nesterov 1.297 (diverges)" in rate_map.image.tooltip


@pytest.mark.parametrize("h, beta", [(0.3, 0.5), (1.0, 0.2), (2.5, 0.7), (0.05, 0.99)])
def test_markers_and_rates_follow_the_controls(rate_map, h, beta):
    rate_map.update(h=h, beta=beta)
    for marker in rate_map.markers:
        np.testing.assert_allclose(marker.get_xydata(), [[h, beta]])
    assert rate_map.rates["momentum"] == pytest.approx(analysis.momentum_rate(h, beta))
    assert rate_map.rates["Nesterov"] == pytest.approx(analysis.nesterov_rate(h, beta))


def test_the_stability_edge_is_where_the_verdict_changes():
    beta = 0.6
    limit = analysis.stability_limit("nesterov", beta)
    assert "diverges" not in describe("nesterov", limit - 1e-3, beta)[1]
    assert "diverges" in describe("nesterov", limit + 1e-3, beta)[1]
    low, high = analysis.critical_damping("nesterov", beta)
    assert "complex" in describe("nesterov", (low + high) / 2, beta)[1]
    assert describe("nesterov", high + 0.05, beta)[1] == "real roots"


def test_every_control_through_its_range_redraws_the_markers_only():
    from test_widgets import assert_change_redraws, assert_displays_itself, drive

    rm = RateMap(h=0.8, beta=0.3)
    assert_displays_itself(rm)
    for name in rm.controls:
        drive(rm, name, n_between=2)
        assert all(np.isfinite(rate) and rate >= 0 for rate in rm.rates.values())
    rm.update(h=0.8, beta=0.3)
    for name, value in [("h", 2.2), ("beta", 0.95)]:
        assert_change_redraws(rm, name, value)
    assert len(rm._caches[0]) == 1  # the maps were drawn once and reused


def test_initial_values_and_unknown_controls():
    rm = RateMap(h=2.0, beta=0.5)
    assert rm.rates["momentum"] < 1 < rm.rates["Nesterov"]
    with pytest.raises(ValueError, match="unknown control"):
        RateMap(lr=0.1)
