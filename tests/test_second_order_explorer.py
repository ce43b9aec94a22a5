"""SecondOrderExplorer: its runs are train.run of the optimizers its controls describe."""

import numpy as np
import pytest

from course_lib.optim import SGD
from course_lib.second_order import BFGS, Newton
from course_lib.train import run
from course_lib.widgets import SecondOrderExplorer
from course_lib.widgets.adaptive import _GD_LRS, RACE_LANDSCAPES


@pytest.fixture(scope="module")
def explorer():
    return SecondOrderExplorer()


def _same(explorer, label, optimizer, landscape, steps):
    start = (explorer.value("x0"), explorer.value("y0"))
    traj = run(optimizer, RACE_LANDSCAPES[landscape].make(), x0=start, steps=steps)
    np.testing.assert_allclose(explorer.results[label].path, traj.path, atol=1e-12)


def test_every_control_reruns_what_it_describes(explorer):
    explorer.update(landscape="badly scaled bowl", steps=40)
    explorer.update(lr=0.02, damping=2.0, line_search="off")
    _same(explorer, "gradient descent", SGD(lr=explorer.value("lr")), "badly scaled bowl", 40)
    _same(explorer, "Newton", Newton(damping=2.0), "badly scaled bowl", 40)
    _same(explorer, "BFGS", BFGS(), "badly scaled bowl", 40)
    explorer.update(line_search="on", damping=0.0, x0=-1.0, y0=0.5, steps=20)
    _same(explorer, "Newton", Newton(line_search=True), "badly scaled bowl", 20)
    assert explorer.labels == ["gradient descent", "Newton", "BFGS"]


def test_choosing_a_landscape_resets_the_learning_rate_and_start(explorer):
    explorer.update(landscape="Beale")
    assert explorer.value("lr") == pytest.approx(_GD_LRS["Beale"][0], rel=0.07)
    assert (explorer.value("x0"), explorer.value("y0")) == pytest.approx(
        RACE_LANDSCAPES["Beale"].start, abs=0.02
    )


def test_newton_without_damping_lands_on_the_saddle_and_damping_escapes(explorer):
    explorer.update(landscape="saddle", line_search="off", damping=0.0, steps=5)
    assert np.allclose(explorer.results["Newton"].path[1], 0.0)
    explorer.update(damping=4.0, steps=10)  # y doubles each step
    assert abs(explorer.results["Newton"].path[-1][1]) > 1.0


def test_an_unknown_landscape_is_named():
    with pytest.raises(ValueError, match="^landscape must be one of"):
        SecondOrderExplorer(landscape="Himmelblau")
