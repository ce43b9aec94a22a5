"""The training dashboard: what it draws is the training run its controls describe
(``train_minibatch`` of an MLP on the digits), and every control redraws."""

import numpy as np
import pytest
from test_widgets import (  # noqa: F401  (warnings_are_errors: autouse fixture)
    assert_change_redraws,
    assert_displays_itself,
    check_image,
    drive,
    warnings_are_errors,
)

from course_lib.data import load_digits_split
from course_lib.models import MLP
from course_lib.optim import SGD
from course_lib.schedules import CosineAnnealingLR
from course_lib.train import train_minibatch
from course_lib.widgets import TrainingDashboard
from course_lib.widgets.classifier import HIDDEN, SHOWN


@pytest.fixture(scope="module")
def dashboard():
    return TrainingDashboard(epochs=2)


def test_builds_with_defaults_and_displays_itself(dashboard):
    assert_displays_itself(dashboard)
    check_image(dashboard)
    assert "validation accuracy" in dashboard.info.value
    assert "Adam" in dashboard.image.tooltip


def test_curves_are_the_run_the_controls_describe(dashboard):
    dashboard.update(optimizer="momentum", lr=0.02, batch_size=128, schedule="cosine", epochs=3)
    d = load_digits_split()
    mlp = MLP((64, HIDDEN, 10), seed=0)
    per_epoch = -(-len(d.X_train) // 128)
    expected = train_minibatch(
        mlp.loss_and_grad,
        mlp.init(),
        d.X_train,
        d.y_train,
        SGD(lr=0.02, momentum=0.9),
        128,
        3,
        rng=0,
        schedule=CosineAnnealingLR(0.02, T_max=3 * per_epoch),
        X_val=d.X_val,
        y_val=d.y_val,
        metric=mlp.accuracy,
    )
    lines = dashboard.lines
    np.testing.assert_allclose(lines["loss", "train"].get_ydata(), expected.train_losses)
    np.testing.assert_allclose(lines["loss", "val"].get_ydata(), expected.val_losses)
    np.testing.assert_allclose(lines["acc", "val"].get_ydata(), expected.val_metrics)
    predicted = mlp.predict(expected.params, d.X_test[:SHOWN])
    shown = [int(text.get_text().split()[0]) for text in dashboard.labels]
    assert shown == list(predicted)
    marks = [text.get_text().split()[1] for text in dashboard.labels]
    assert marks == ["✓" if p == y else "✗" for p, y in zip(predicted, d.y_test[:SHOWN])]


@pytest.mark.parametrize(
    "name,value",
    [("optimizer", "SGD"), ("lr", 0.05), ("batch_size", 32), ("schedule", "cosine"), ("seed", 3)],
)
def test_moving_a_control_redraws(dashboard, name, value):
    dashboard.update(optimizer="Adam", lr=3e-3, batch_size=64, schedule="constant", epochs=2)
    dashboard.update(seed=0)
    assert_change_redraws(dashboard, name, value)


def test_every_option_and_extreme_renders(dashboard):
    dashboard.update(epochs=1, batch_size=256, lr=1e-3)
    for name in ("optimizer", "schedule"):
        drive(dashboard, name)
    dashboard.update(optimizer="SGD", lr=1.0, epochs=2, batch_size=16)  # may blow up: no error
    check_image(dashboard)


def test_runs_are_cached(dashboard):
    dashboard.update(optimizer="Adam", lr=3e-3, batch_size=256, schedule="constant", epochs=1)
    key = ("Adam", 3e-3, 256, "constant", 1, 0)
    first = dashboard.train(*key)
    assert dashboard.train(*key) is first


def test_a_new_setting_shows_live_frames_and_a_cached_one_a_single_image(dashboard, monkeypatch):
    from course_lib.widgets import classifier

    monkeypatch.setattr(classifier, "FRAME_INTERVAL", 0.0)  # a frame after every epoch
    dashboard.update(
        optimizer="RMSProp", lr=1e-3, batch_size=128, schedule="constant", epochs=3, seed=0
    )
    infos, images = [], []

    def record(change):
        images.append(change["new"])
        infos.append(dashboard.info.value)

    dashboard.image.observe(record, names="value")
    try:
        dashboard.update(seed=7)  # not trained yet: epochs 1 and 2 live, then the final image
        assert [i.split(";")[0] for i in infos[:2]] == [
            "training: epoch 1 of 3",
            "training: epoch 2 of 3",
        ]
        assert len(images) == 3 and len(set(images)) == 3
        assert not infos[-1].startswith("training")
        del images[:], infos[:]
        dashboard.update(seed=0)
        dashboard.update(seed=7)  # trained before: one image, the same as the final one above
        assert len(images) == 2 and not any(i.startswith("training") for i in infos)
    finally:
        dashboard.image.unobserve(record, names="value")
