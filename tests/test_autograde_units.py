"""The parts of course_lib.autograde that need no sandbox: the data channel's encoding and the
reading of broken notebooks."""

import json
import os
import random
import threading
import time

import nbformat
import numpy as np
import pytest

from course_lib.autograde import wire
from course_lib.autograde.batch import Outcome, read_notebook
from course_lib.autograde.cli import format_table, parser
from course_lib.search import SearchResult


def roundtrip(value, named=None):
    kept = []
    data = json.loads(json.dumps(wire.encode(value, lambda obj: kept.append(obj) or len(kept))))
    return wire.decode(data, lambda tag: ("handle", tag["__handle__"]), named), kept


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -2.5,
        float("inf"),
        "text",
        [1, 2.5, "x"],
        (1, (2, 3)),
        {"a": 1, 2: [3]},
        1 + 2j,
    ],
)
def test_plain_values_survive_the_channel(value):
    assert roundtrip(value)[0] == value


def test_arrays_keep_dtype_shape_and_values_and_scalars_stay_scalars():
    for arr in (
        np.arange(12, dtype=np.int32).reshape(3, 4),
        np.array([[0.5, np.nan]]),
        np.zeros((0, 3)),
        np.array([True, False]),
        np.float64(0.25),
    ):
        back = roundtrip(arr)[0]
        assert type(back) is type(arr) and np.asarray(back).dtype == np.asarray(arr).dtype
        assert np.asarray(back).shape == np.asarray(arr).shape
        np.testing.assert_array_equal(back, arr)


def test_a_random_generator_crosses_with_its_state():
    rng = np.random.default_rng(5)
    rng.normal(size=3)
    back = roundtrip(rng)[0]
    assert back is not rng and back.normal() == rng.normal()


def test_named_tuples_are_rebuilt_as_the_trusted_class_only_if_the_fields_match():
    result = SearchResult(np.zeros(2), 0.0, np.zeros(3), np.zeros((3, 2)), np.zeros(3))
    back = roundtrip(result, {"SearchResult": SearchResult})[0]
    assert type(back) is SearchResult and back.best_value == 0.0
    from collections import namedtuple

    fake = namedtuple("SearchResult", ["best_x", "extra"])(1, 2)
    back = roundtrip(fake, {"SearchResult": SearchResult})[0]
    assert type(back) is not SearchResult and back.extra == 2


def test_objects_that_are_not_data_become_handles_not_copies():
    class Rigged(float):
        def __eq__(self, other):
            return True

    def student_function(x):
        return x

    back, kept = roundtrip([student_function, Rigged(1.5)])
    assert back[0] == ("handle", 1) and kept == [student_function]
    assert type(back[1]) is float and back[1] == 1.5 and back[1] != 2.0  # the rigging is gone


@pytest.mark.parametrize(
    "data, problem",
    [
        ({"__nd__": ["|O", [1], "AAAAAAAAAAA=", False]}, "not data"),
        ({"__nd__": ["<f8", [2], "AAAAAAAA4D8=", False]}, "does not match"),
        ({"__nd__": ["<f8", [-1], "", False]}, "shape"),
        ({"__weird__": 1}, "unknown tag"),
        ({"__nt__": ["X", ["__class__"], [1]]}, "named tuple"),
        ({"__rng__": "Evil", "state": {}}, "bit generator"),
        (object(), "not a valid value"),
    ],
)
def test_the_decoder_refuses_what_is_not_data(data, problem):
    with pytest.raises(ValueError, match=problem):
        wire.decode(data, lambda tag: None)


def test_messages_have_a_size_limit_and_end_cleanly():
    r, w = os.pipe()
    wire.send(w, {"op": "x", "value": [1, 2]})
    assert wire.receive(r) == {"op": "x", "value": [1, 2]}
    wire.send(w, {"big": "y" * 1000})
    with pytest.raises(wire.ChannelError, match="over the limit"):
        wire.receive(r, limit=100)
    os.close(w)
    r2, w2 = os.pipe()
    os.write(w2, b"\x00\x00\x00\x00\x00\x00\x00\x05[1,2")
    os.close(w2)
    with pytest.raises(wire.ChannelError, match="closed"):
        wire.receive(r2)
    r3, w3 = os.pipe()
    with pytest.raises(wire.ChannelTimeout):
        wire.receive(r3, deadline=0)


def test_write_back_shows_the_caller_what_the_callee_did_to_its_arguments():
    x, items, rng = np.zeros(3), [1, 2], np.random.default_rng(0)
    moved = np.random.default_rng(0)
    moved.random()
    for given, now in ((x, np.ones(3)), (items, [3]), (rng, moved)):
        wire.write_back(given, now)
    assert x.tolist() == [1, 1, 1] and items == [3] and rng.random() == moved.random()


# --------------------------------------------------------------------------------------------
# Broken notebooks
# --------------------------------------------------------------------------------------------
def write(tmp_path, content: bytes):
    path = tmp_path / "ps01.ipynb"
    path.write_bytes(content)
    return str(path)


def good_notebook():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {
        "grade_id": "answer",
        "solution": True,
        "grade": False,
        "locked": False,
        "schema_version": 3,
    }
    nb.cells = [cell, nbformat.v4.new_markdown_cell("text")]
    return nb


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (bytes(range(256)) * 4, "binary"),
        (b'{"cells": [', "invalid JSON"),
        (b"[1, 2, 3]", "not an object"),
        (b"[" * 100000 + b"]" * 100000, "not a notebook"),
    ],
)
def test_unreadable_files_become_empty_notebooks_with_the_reason(tmp_path, content, problem):
    nb, found = read_notebook(write(tmp_path, content))
    assert problem in found and nb.cells == [] and nb.nbformat == 4


def test_a_good_notebook_is_read_without_a_problem(tmp_path):
    nb, problem = read_notebook(write(tmp_path, nbformat.writes(good_notebook()).encode()))
    assert problem is None and nb.cells[0].source == "x = 1"


def test_an_nbformat_3_notebook_is_converted_and_noted(tmp_path):
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {},
        "worksheets": [
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "input": "y = 2",
                        "language": "python",
                        "outputs": [],
                        "metadata": {},
                    }
                ],
                "metadata": {},
            }
        ],
    }
    nb, problem = read_notebook(write(tmp_path, json.dumps(v3).encode()))
    assert "nbformat 3" in problem and nb.cells[0].source == "y = 2"


def test_a_notebook_with_a_broken_structure_keeps_its_good_cells(tmp_path):
    data = json.loads(nbformat.writes(good_notebook()))
    data["cells"].append({"cell_type": "code", "source": 42})  # a bad cell
    data["cells"].append({"cell_type": "alien", "source": "?"})  # an unknown kind
    del data["metadata"]
    nb, problem = read_notebook(write(tmp_path, json.dumps(data).encode()))
    assert "structure is invalid" in problem and "2 cells were recovered" in problem
    assert nb.cells[0].metadata["nbgrader"]["grade_id"] == "answer"
    nbformat.validate(nb)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        (["ps01", "--jobs", "0"], "positive integer"),
        (["ps01", "--memory", "lots"], "positive integer"),
        (["ps01", "--wall-time", "-1"], "positive number"),
    ],
)
def test_bad_options_are_named(capsys, args, message):
    with pytest.raises(SystemExit):
        parser().parse_args(args)
    assert message in capsys.readouterr().err


def test_the_summary_table_has_one_row_per_student():
    text = format_table(
        [
            Outcome("alice", "graded", 9.0, 10.0),
            Outcome("bob", "malformed", 0.0, 10.0, ["ps01.ipynb: empty"]),
            Outcome("carol", "crashed"),
        ]
    )
    lines = text.splitlines()
    assert lines[0].split() == ["student", "score", "status", "notes"]
    assert "9 / 10" in lines[2] and "malformed" in lines[3] and "empty" in lines[3]
    assert lines[4].split()[:3] == ["carol", "-", "crashed"]


def test_long_notes_wrap_under_the_notes_column_instead_of_widening_the_table():
    notes = [
        "ps03.ipynb: the notebook's structure is invalid (" + "x" * 250 + ")",
        "your code did not stop after 10 s",
    ]
    text = format_table(
        [Outcome("alice", "graded", 9.0, 10.0), Outcome("bob", "malformed", 0.0, 10.0, notes)],
        width=80,
    )
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    column = lines[0].index("notes")
    continued = lines[4:]
    assert len(continued) >= 4 and all(line[:column].strip() == "" for line in continued)
    assert "".join(line[column:] for line in lines[3:]).replace(" ", "").count("x") == 250
    assert "did not stop after 10 s" in text


def test_a_test_cell_without_a_result_fails_instead_of_passing():
    from course_lib.autograde.batch import InjectOutputs

    nb = good_notebook()
    test = nbformat.v4.new_code_cell("check(answer)")
    test.metadata["nbgrader"] = {
        "grade_id": "test",
        "grade": True,
        "solution": False,
        "locked": True,
        "points": 1,
        "schema_version": 3,
    }
    nb.cells.append(test)
    resources = {"nbgrader": {"student": "s", "notebook": "nb"}}
    InjectOutputs.results[("s", "nb")] = {
        "outputs": {0: [{"output_type": "stream", "name": "stdout", "text": "hi"}]},
        "reason": "the worker failed",
    }
    try:
        nb, _ = InjectOutputs().preprocess(nb, resources)
    finally:
        InjectOutputs.results.clear()
    assert nb.cells[0].outputs[0].text == "hi"
    (error,) = nb.cells[2].outputs
    assert error.output_type == "error" and "the worker failed" in error.evalue


# --------------------------------------------------------------------------------------------
# The channel stays in step
# --------------------------------------------------------------------------------------------
def _frame(message: dict) -> tuple:
    body = json.dumps(message, separators=(",", ":")).encode()
    return len(body).to_bytes(8, "big"), body


def test_a_deadline_between_header_and_body_does_not_desynchronise_the_channel():
    # the header arrives before the deadline, the body after it: the read must take the
    # whole message (and the next one whole), never the body's bytes for a header
    r, w = os.pipe()
    header, body = _frame({"op": "call", "value": 1})
    os.write(w, header)

    def late_body():
        time.sleep(0.4)
        os.write(w, body)
        wire.send(w, {"op": "call", "value": 2})

    writer = threading.Thread(target=late_body)
    writer.start()
    try:
        first = wire.receive(r, deadline=time.monotonic() + 0.1)
        second = wire.receive(r, deadline=time.monotonic() + 5)
    finally:
        writer.join()
    assert first == {"op": "call", "value": 1} and second == {"op": "call", "value": 2}


def test_a_message_cut_off_at_the_deadline_breaks_the_channel_for_good(monkeypatch):
    monkeypatch.setattr(wire, "MESSAGE_GRACE", 0.1)
    r, w = os.pipe()
    channel = wire.Channel(r, w)
    header, body = _frame({"op": "call", "value": 1})
    os.write(w, header + body[:3])
    with pytest.raises(wire.ChannelBroken, match="cut off after 11 bytes"):
        channel.receive(deadline=time.monotonic() + 0.05)
    os.write(w, body[3:])  # the rest arrives late: it must not be read as a new message
    wire.send(w, {"op": "next"})
    for use in (
        lambda: channel.receive(deadline=time.monotonic() + 1),
        lambda: channel.send({"op": "bye"}),
    ):
        with pytest.raises(wire.ChannelBroken, match="abandoned: a message was cut off"):
            use()


def test_a_timeout_before_any_byte_keeps_the_channel_usable():
    r, w = os.pipe()
    channel = wire.Channel(r, w)
    with pytest.raises(wire.ChannelTimeout):
        channel.receive(deadline=time.monotonic() + 0.05)
    channel.send({"op": "x"})
    assert channel.receive(deadline=time.monotonic() + 1) == {"op": "x"} and not channel.broken


def _stream(fd: int, seed: int, count: int, inherited: list) -> None:
    """Send ``count`` messages of random sizes (some larger than a pipe's buffer, so that they
    arrive in pieces) with random pauses, as a kernel under load does."""
    for other in inherited:  # the read ends (this one's too): a reader that stops means EPIPE
        os.close(other)
    rng = random.Random(seed)
    for n in range(count):
        size = rng.choice([10, 1000, 70_000, 300_000])
        if rng.random() < 0.3:
            time.sleep(rng.uniform(0, 0.004))
        wire.send(fd, {"op": "call", "n": n, "pad": "x" * size})
    os.close(fd)


def _read_stream(fd: int, count: int, tight: float) -> tuple:
    """Read with a tight deadline, retrying after a timeout as a caller that abandoned a reply
    would; ``(in order and whole, broken)``: the messages read are 0, 1, 2, ... exactly."""
    n = 0
    while n < count:
        try:
            message = wire.receive(fd, deadline=time.monotonic() + tight)
        except wire.ChannelTimeout:
            continue
        except wire.ChannelBroken:
            return n, True
        if message.get("n") != n:
            return n, False
        n += 1
    return n, False


@pytest.mark.parametrize("grace", [None, 0.001])
def test_many_channels_under_tight_deadlines_deliver_whole_messages_or_break(monkeypatch, grace):
    # 8 channels at once, each written by its own process, read in threads with deadlines
    # of 1 ms: every message read is the next one, whole; a channel whose message is cut
    # off (only with a tiny grace) is abandoned, never read out of step
    import multiprocessing

    if grace is not None:
        monkeypatch.setattr(wire, "MESSAGE_GRACE", grace)
    context = multiprocessing.get_context("fork")
    channels, writers = [], []
    for seed in range(8):
        r, w = os.pipe()
        writer = context.Process(target=_stream, args=(w, seed, 60, [*channels, r]))
        writer.start()
        os.close(w)
        channels.append(r)
        writers.append(writer)
    results = [None] * len(channels)

    def read(k):
        results[k] = _read_stream(channels[k], 60, 0.001)

    threads = [threading.Thread(target=read, args=(k,)) for k in range(len(channels))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for writer, fd in zip(writers, channels):
        os.close(fd)  # a writer still sending gets EPIPE and ends
        writer.join(10)
    for received, broken in results:
        assert received == 60 or broken, results
    if grace is None:
        assert all(received == 60 for received, _ in results), results


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "files, meant",
    [
        (["ps03 (1).ipynb"], "ps03 (1).ipynb"),
        (["PS03-2.ipynb"], "PS03-2.ipynb"),
        (["doejane_123_456_ps03.ipynb"], "doejane_123_456_ps03.ipynb"),
        (["Copy of ps03.ipynb", "notes.ipynb"], "Copy of ps03.ipynb"),
        (["homework.ipynb"], "homework.ipynb"),
        (["a.ipynb", "b.ipynb"], None),
        (["ps03 (1).ipynb", "ps03 (2).ipynb"], None),
        (["data.csv"], None),
    ],
)
def test_a_misnamed_notebook_is_found_unless_it_is_ambiguous(tmp_path, files, meant):
    from course_lib.autograde.batch import misnamed_notebook

    for name in files:
        (tmp_path / name).write_text("{}")
    assert misnamed_notebook(str(tmp_path), "ps03", ["ps03"]) == meant


def test_a_mistyped_assignment_name_suggests_the_closest_one():
    from course_lib.autograde.batch import unknown_assignment

    known = ["ps01", "ps02", "ps03", "ps04"]
    assert "did you mean 'ps03'?" in unknown_assignment("ps3", known)
    assert "did you mean 'ps03'?" in unknown_assignment("PS03", known)
    new = unknown_assignment("project", known)
    assert "did you mean" not in new and "generate_assignment project" in new
