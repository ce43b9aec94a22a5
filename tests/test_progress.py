"""course_lib.progress: a text bar on stderr (shown live, dropped from the built book)."""

import sys

from course_lib.progress import progress


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
