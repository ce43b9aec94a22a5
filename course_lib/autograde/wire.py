"""The plain-data channel between a grading worker and the sandboxed kernel.

Messages are length-prefixed JSON objects. Values are encoded as JSON with a few tagged forms,
so that what crosses the channel is *data*: numbers, strings, lists, tuples, dicts, named
tuples and NumPy arrays of numbers. Nothing is ever unpickled or evaluated. An object that is
not data (a function, a generator, an object of the student's class) crosses as a *handle*,
an integer naming the object on the side that owns it; using a handle is a request to that
side (see ``worker`` and ``kernel``).

The decoder is strict: it accepts only the forms below, checks every array's dtype, shape and
byte count, and refuses messages over ``MAX_MESSAGE`` bytes. The worker treats whatever comes
out of the sandbox as a claim made by the student's code, never as a verdict.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import signal
import struct
import threading
import time
from collections import namedtuple
from typing import Any, Callable, Optional

import numpy as np

MAX_MESSAGE = 64 * 1024 * 1024
"""Largest message accepted, in bytes (a larger one means the sandbox misbehaves)."""

_HEADER = struct.Struct(">Q")
_ARRAY_KINDS = "biufc"  # bool, signed and unsigned integers, floats, complex numbers
_MAX_ARRAY_BYTES = 32 * 1024 * 1024


class ChannelError(Exception):
    """The other side closed the channel, sent something that is not a valid message, or did
    not answer in time."""


class ChannelTimeout(ChannelError):
    """No message arrived before the deadline (nothing of the next message was read: the
    channel is still in step and may be read again)."""


class ChannelBroken(ChannelError):
    """The channel lost its message boundaries: a message was cut off part-way (a deadline
    or an interruption after some of its bytes were read or written). It cannot be used
    again. This is a failure of the grading machinery, not of the code on the other side."""


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------
class Handle:
    """An object that lives on the other side of the channel, named by an integer."""

    __slots__ = ("id",)

    def __init__(self, id: int):
        self.id = id

    def __repr__(self) -> str:
        return f"Handle({self.id})"


def encode(value: Any, to_handle: Callable[[Any], int], depth: int = 0) -> Any:
    """``value`` as JSON-ready data; objects that are not data become handles.

    ``to_handle(obj) -> int`` registers an object that must stay on this side.
    """
    if depth > 50:
        return {"__opaque__": "nested too deeply"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value) is int or type(value) is float:
        return value
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
        if arr.dtype.kind not in _ARRAY_KINDS or arr.nbytes > _MAX_ARRAY_BYTES:
            return {"__opaque__": f"array of {arr.dtype}"}
        arr = arr.copy(order="C")  # (np.ascontiguousarray would make a 0-d array 1-d)
        return {
            "__nd__": [
                arr.dtype.str,
                list(arr.shape),
                base64.b64encode(arr.tobytes()).decode("ascii"),
                isinstance(value, np.generic),
            ]
        }
    if isinstance(value, np.random.Generator):
        return {
            "__rng__": type(value.bit_generator).__name__,
            "state": encode(value.bit_generator.state, to_handle, depth + 1),
        }
    if isinstance(value, complex):
        return {"__complex__": [value.real, value.imag]}
    if isinstance(value, int):  # int subclasses (bool is handled above): the plain value
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {
            "__nt__": [
                type(value).__name__,
                [str(f) for f in value._fields],
                [encode(v, to_handle, depth + 1) for v in value],
            ]
        }
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, to_handle, depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, to_handle, depth + 1) for v in value]
    if isinstance(value, dict):
        return {
            "__dict__": [
                [encode(k, to_handle, depth + 1), encode(v, to_handle, depth + 1)]
                for k, v in value.items()
            ]
        }
    if isinstance(value, Handle):
        return {"__handle__": value.id, "mine": False}
    return {
        "__handle__": to_handle(value),
        "mine": True,
        "type": type(value).__name__[:100],
        "callable": callable(value),
    }


def decode(
    data: Any, from_handle: Callable[[dict], Any], named: Optional[dict] = None, depth: int = 0
) -> Any:
    """The value that :func:`encode` encoded on the other side.

    ``from_handle(tag) -> object`` turns the other side's handle into a local proxy (or, for
    a handle of ours sent back, ``tag["mine"]`` is False and the original object is expected).
    ``named`` maps a named tuple's type name to a trusted class with the same fields (e.g.
    ``course_lib.search.SearchResult``); other named tuples become plain named tuples.
    Raises ``ValueError`` on anything that is not a valid encoding.
    """
    if depth > 60:
        raise ValueError("value nested too deeply")
    if data is None or isinstance(data, (bool, str)):
        return data
    if type(data) is int or type(data) is float:
        return data
    if isinstance(data, list):
        return [decode(v, from_handle, named, depth + 1) for v in data]
    if not isinstance(data, dict) or len(data) == 0:
        raise ValueError(f"not a valid value: {type(data).__name__}")
    if "__nd__" in data:
        dtype_str, shape, payload, scalar = data["__nd__"]
        dtype = np.dtype(str(dtype_str))
        if dtype.kind not in _ARRAY_KINDS or dtype.hasobject:
            raise ValueError(f"arrays of {dtype} are not data")
        if not (
            isinstance(shape, list)
            and len(shape) <= 32
            and all(type(n) is int and n >= 0 for n in shape)
        ):
            raise ValueError("bad array shape")
        raw = base64.b64decode(str(payload), validate=True)
        if len(raw) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise ValueError("array size does not match its shape")
        arr = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return arr[()] if scalar and arr.ndim == 0 else arr
    if "__tuple__" in data:
        return tuple(decode(v, from_handle, named, depth + 1) for v in _list(data["__tuple__"]))
    if "__dict__" in data:
        out = {}
        for pair in _list(data["__dict__"]):
            key, val = _list(pair)
            key = decode(key, from_handle, named, depth + 1)
            if not isinstance(key, (str, int, float, bool, tuple, type(None))):
                raise ValueError("dict keys must be numbers or strings")
            out[key] = decode(val, from_handle, named, depth + 1)
        return out
    if "__nt__" in data:
        name, fields, values = _list(data["__nt__"])
        fields = [str(f) for f in _list(fields)]
        values = [decode(v, from_handle, named, depth + 1) for v in _list(values)]
        if len(fields) != len(values) or not all(
            f.isidentifier() and not f.startswith("_") for f in fields
        ):
            raise ValueError("bad named tuple")
        cls = (named or {}).get(str(name))
        if cls is not None and tuple(getattr(cls, "_fields", ())) == tuple(fields):
            return cls(*values)
        label = str(name) if str(name).isidentifier() else "Result"
        return namedtuple(label, fields)(*values)
    if "__complex__" in data:
        re, im = _list(data["__complex__"])
        return complex(float(re), float(im))
    if "__rng__" in data:
        kind = str(data["__rng__"])
        if kind not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
            raise ValueError(f"unknown bit generator {kind}")
        bitgen = getattr(np.random, kind)()
        bitgen.state = decode(data["state"], from_handle, named, depth + 1)
        return np.random.Generator(bitgen)
    if "__argref__" in data:  # an output array that shares memory with an input array
        if type(data["__argref__"]) is not int:
            raise ValueError("bad argument reference")
        return from_handle(data)
    if "__handle__" in data:
        if type(data["__handle__"]) is not int:
            raise ValueError("bad handle")
        return from_handle(data)
    if "__opaque__" in data:
        return Opaque(str(data["__opaque__"])[:100])
    raise ValueError("not a valid value: unknown tag")


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise ValueError("expected a list")
    return value


def write_back(given: Any, now: Any) -> None:
    """Make ``given``, an argument passed across the channel, look like the other side's copy
    ``now`` after the call (arrays, lists and dicts changed in place; random generators moved
    on), so that the caller sees what the callee did to its arguments."""
    if isinstance(given, np.ndarray):
        if isinstance(now, np.ndarray) and now.shape == given.shape and given.flags.writeable:
            with np.errstate(all="ignore"):
                np.copyto(given, now, casting="unsafe")
    elif isinstance(given, list) and isinstance(now, list):
        given[:] = now
    elif isinstance(given, dict) and isinstance(now, dict):
        given.clear()
        given.update(now)
    elif isinstance(given, tuple) and isinstance(now, tuple) and len(given) == len(now):
        for a, b in zip(given, now):
            write_back(a, b)
    elif isinstance(given, np.random.Generator) and isinstance(now, np.random.Generator):
        try:
            given.bit_generator.state = now.bit_generator.state
        except (TypeError, ValueError):
            pass


class Opaque:
    """Something the other side returned that is not data (its type name only)."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------
MESSAGE_GRACE = 10.0
"""Seconds a message that has begun to arrive gets to arrive in full, beyond the reader's
deadline. The writer sends a message in one go, so its rest normally follows at once; a
loaded machine (several grading runs at the same time) can delay it by a scheduling slice."""


def send(fd: int, message: dict) -> None:
    """Write one message (a JSON object) to the file descriptor ``fd``.

    Raises ``OSError`` when nothing could be written (the other side is gone) and
    :class:`ChannelBroken` when the message was cut off after part of it was written.
    """
    payload = json.dumps(message, separators=(",", ":")).encode("utf-8")
    data = _HEADER.pack(len(payload)) + payload
    view = memoryview(data)
    with _alarm_deferred():  # a time limit must not cut a message in half
        try:
            while view:
                written = os.write(fd, view)
                view = view[written:]
        except BaseException as exc:
            if len(view) == len(data):
                raise
            raise ChannelBroken(
                f"a message was cut off after {len(data) - len(view)} of "
                f"{len(data)} bytes ({type(exc).__name__}: {exc})"
            ) from exc


def receive(fd: int, deadline: Optional[float] = None, limit: int = MAX_MESSAGE) -> dict:
    """Read one whole message from ``fd``.

    Raises :class:`ChannelTimeout` when no message began to arrive before ``deadline`` (a
    ``time.monotonic()`` value); the channel is then still in step. A message that has begun
    to arrive is read to its end: it gets :data:`MESSAGE_GRACE` seconds beyond the deadline,
    and if it is still incomplete (or the read is interrupted) :class:`ChannelBroken` is
    raised and ``fd`` must not be read again (:class:`Channel` remembers that). Raises
    :class:`ChannelError` on EOF or invalid data.
    """
    _wait_readable(fd, deadline)  # a time limit may interrupt the wait, not the reading
    with _alarm_deferred():
        got = []
        try:
            first = _read_exactly(fd, 1, None, got)  # readable: returns at once
            rest_deadline = (
                None if deadline is None else max(deadline, time.monotonic() + MESSAGE_GRACE)
            )
            header = first + _read_exactly(fd, _HEADER.size - 1, rest_deadline, got)
            (size,) = _HEADER.unpack(header)
            if size > limit:
                raise ChannelError(f"a message of {size} bytes is over the limit of {limit}")
            body = _read_exactly(fd, size, rest_deadline, got)
        except BaseException as exc:
            # nothing of a message read: still in step; the other side closed the channel
            # or sent too much: its fault, and the channel is over anyway
            if not got or (isinstance(exc, ChannelError) and not isinstance(exc, ChannelTimeout)):
                raise
            raise ChannelBroken(
                f"a message was cut off after {sum(got)} bytes ({type(exc).__name__}: {exc})"
            ) from exc
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ChannelError(f"invalid message: {str(exc)[:200]}") from None
    if not isinstance(message, dict):
        raise ChannelError("invalid message: not an object")
    return message


class Channel:
    """Both directions of a connection, which stops for good once a message is cut off.

    After :class:`ChannelBroken` (from this channel's :meth:`send` or :meth:`receive`),
    every later use raises :class:`ChannelBroken` with the first reason: reading on would
    take the rest of a message for the start of the next one. The same holds after the other
    side closed the channel or sent a message that cannot be read.
    """

    def __init__(self, fd_in: int, fd_out: int):
        self.fd_in, self.fd_out = fd_in, fd_out
        self.broken: Optional[str] = None

    def _check(self) -> None:
        if self.broken is not None:
            raise ChannelBroken(f"the channel is out of step and was abandoned: {self.broken}")

    def send(self, message: dict) -> None:
        self._check()
        try:
            send(self.fd_out, message)
        except ChannelBroken as exc:
            self.broken = str(exc)
            raise

    def receive(self, deadline: Optional[float] = None, limit: int = MAX_MESSAGE) -> dict:
        self._check()
        try:
            return receive(self.fd_in, deadline, limit)
        except ChannelTimeout:
            raise  # nothing was read: still in step
        except ChannelError as exc:  # broken, closed, or a message that cannot be read
            self.broken = str(exc)
            raise


@contextlib.contextmanager
def _alarm_deferred():
    """Hold SIGALRM (the time limits' signal) until the block ends: an exception raised by
    the alarm halfway through a message would leave the channel out of step."""
    usable = (
        hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _wait_readable(fd: int, deadline: Optional[float]) -> None:
    while True:
        wait = None if deadline is None else deadline - time.monotonic()
        if wait is not None and wait <= 0:
            raise ChannelTimeout("no answer before the deadline")
        if select.select([fd], [], [], wait)[0]:
            return


def _read_exactly(fd: int, size: int, deadline: Optional[float], got: list) -> bytes:
    """``size`` bytes from ``fd``; each chunk's length is appended to ``got``."""
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise ChannelTimeout(f"{left} of {size} bytes still missing at the deadline")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ChannelError("the other side closed the channel")
        chunks.append(chunk)
        got.append(len(chunk))
        left -= len(chunk)
    return b"".join(chunks)
