"""course_lib.progress: a text bar on stderr (shown live, dropped from the built book)."""

import sys
import warnings

import numpy as np

from course_lib.models import linear_regression_loss
from course_lib.optim import SGD
from course_lib.progress import progress
from course_lib.train import train_minibatch


def test_progress_bar_goes_to_stderr_and_counts_the_items(capsys):
    seen = [x for x in progress(range(7), desc="dims", mininterval=0)]
    out, err = capsys.readouterr()
    assert seen == list(range(7))
    assert out == ""
    assert "dims" in err and "7/7" in err and "100%" in err


def test_progress_bar_by_hand_and_its_file_can_be_changed(capsys):
    with progress(total=3, unit="epoch", file=sys.stdout, mininterval=0) as bar:
        bar.update(2)
        bar.update(1)
    out, err = capsys.readouterr()
    assert "3/3" in out and "epoch" in out and err == ""


def test_without_tqdm_the_loop_runs_with_no_bar(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `import tqdm` now raises ImportError
    assert list(progress(range(4), desc="dims")) == [0, 1, 2, 3]
    with progress(total=2, unit="epoch") as bar:
        bar.update(1)
        bar.set_postfix(loss="0.5")
    assert list(progress()) == []
    X, y = np.ones((8, 2)), np.ones(8)
    losses = [
        train_minibatch(
            linear_regression_loss, np.zeros(2), X, y, SGD(lr=0.1), 4, 2, rng=0, progress=shown
        ).train_losses
        for shown in (True, False)
    ]
    np.testing.assert_array_equal(losses[0], losses[1])
    assert capsys.readouterr() == ("", "")


def test_where_no_thread_can_start_the_bar_does_not_try_one(monkeypatch, capsys):
    """Pyodide (sys.platform "emscripten") cannot start threads; tqdm's monitor thread would
    fail there with a TqdmMonitorWarning in the reader's output."""
    import threading

    import tqdm

    def no_thread(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(sys, "platform", "emscripten")
    monkeypatch.setattr(threading.Thread, "start", no_thread)
    monkeypatch.setattr(tqdm.tqdm, "monitor", None)
    monkeypatch.setattr(tqdm.tqdm, "monitor_interval", 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(progress(range(3), desc="runs", mininterval=0)) == [0, 1, 2]
    assert "3/3" in capsys.readouterr().err
