"""The student's side of grading: runs inside the sandbox, executes cells, answers requests.

Started by the worker as ``python -m course_lib.autograde.kernel IN_FD OUT_FD`` inside the
sandbox. It reads requests from ``IN_FD`` and writes replies to ``OUT_FD`` (see ``wire``):

- ``exec``: run a notebook cell with IPython (magics, display, Jupyter-style tracebacks) and
  reply with the cell's outputs in nbformat's form, capped in size;
- ``lookup``: the value of a name in the student's namespace, as data or as a handle;
- ``call``: call a student's object (a handle) on the given arguments and reply with its
  result, or the exception it raised; arguments that are the worker's objects (the test
  objective, for example) are proxies that call back into the worker;
- ``getattr``: an attribute of a student's object; ``bye``: exit.

Nothing in this process is trusted: the student's code runs here and may change any of it.
The worker therefore only ever reads data from this side; the verdicts are made over there.
"""

from __future__ import annotations

import base64
import io
import os
import sys
import time
from typing import Any

import numpy as np

from course_lib.autograde import wire
from course_lib.grading import arrays_in, decode_exception, encode_exception, time_limit

OUTPUT_LIMIT = 1 << 20
"""Bytes of text and images kept per cell; the rest is replaced by a note."""


class CellTimeout(BaseException):
    """The cell (or the call) ran out of time."""


class _CappedStream(io.TextIOBase):
    """A text stream that records what is written, up to a shared budget."""

    def __init__(self, name: str, sink: "_Outputs"):
        self.name, self.sink = name, sink

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.sink.stream(self.name, str(text))
        return len(text)

    def flush(self) -> None:
        pass


class _Outputs:
    """The outputs of one cell, in nbformat's form, capped at OUTPUT_LIMIT bytes."""

    def __init__(self):
        self.items: list[dict] = []
        self.used = 0
        self.dropped = 0

    def _room(self, size: int) -> bool:
        if self.used + size > OUTPUT_LIMIT:
            self.dropped += size
            return False
        self.used += size
        return True

    def stream(self, name: str, text: str) -> None:
        if not text or not self._room(len(text)):
            return
        last = self.items[-1] if self.items else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.items.append({"output_type": "stream", "name": name, "text": text})

    def display(self, data: dict, metadata: dict) -> None:
        data = {
            str(k): v if isinstance(v, str) else repr(v)
            for k, v in dict(data).items()
            if isinstance(k, str)
        }
        if self._room(sum(len(v) for v in data.values())):
            self.items.append({"output_type": "display_data", "data": data, "metadata": {}})

    def finish(self) -> list[dict]:
        if self.dropped:
            self.items.append(
                {
                    "output_type": "stream",
                    "name": "stderr",
                    "text": f"\n[grading: {self.dropped} more bytes of output "
                    f"were dropped; the limit is {OUTPUT_LIMIT} per cell]\n",
                }
            )
        return self.items


def _make_shell():
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class Publisher(DisplayPublisher):
        def publish(
            self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs
        ):
            kernel.outputs.display(data, metadata or {})

        def clear_output(self, wait=False):
            pass

    class Shell(InteractiveShell):
        def _showtraceback(self, etype, evalue, stb):
            # the same hook ipykernel overrides: the error becomes an output, not text
            kernel.error = {
                "output_type": "error",
                "ename": getattr(etype, "__name__", "Error"),
                "evalue": str(evalue)[:10000],
                "traceback": [str(line)[:10000] for line in stb][:200],
            }

    shell = Shell.instance(colors="NoColor", display_pub_class=Publisher, history_length=0)
    shell.history_manager.enabled = False
    return shell


class Kernel:
    def __init__(self, fd_in: int, fd_out: int):
        self.fd_in, self.fd_out = fd_in, fd_out
        self.handles: dict[int, Any] = {}
        self.outputs = _Outputs()
        self.error = None
        self.shell = None
        self.callback_id = 0

    # -- values ---------------------------------------------------------------------------
    def to_handle(self, obj: Any) -> int:
        hid = len(self.handles) + 1
        self.handles[hid] = obj
        return hid

    def from_handle(self, tag: dict) -> Any:
        if not tag.get("mine", True):  # one of ours, sent back
            return self.handles[tag["__handle__"]]
        return _Remote(self, tag["__handle__"], bool(tag.get("callable", True)))

    def encode(self, value: Any) -> Any:
        return wire.encode(value, self.to_handle)

    def decode(self, data: Any) -> Any:
        return wire.decode(data, self.from_handle)

    def send(self, message: dict) -> None:
        wire.send(self.fd_out, message)

    # -- requests -------------------------------------------------------------------------
    def serve(self) -> None:
        while True:
            request = wire.receive(self.fd_in)
            op = request.get("op")
            if op == "bye":
                return
            handler = {
                "exec": self.do_exec,
                "lookup": self.do_lookup,
                "call": self.do_call,
                "getattr": self.do_getattr,
            }.get(op)
            try:
                reply = (
                    handler(request)
                    if handler
                    else {"raise": encode_exception(ValueError(f"unknown request {op!r}"))}
                )
            except MemoryError:
                reply = {"raise": {"type": "MemoryError", "message": "out of memory", "frame": ""}}
            reply["id"] = request.get("id")
            self.send(reply)

    def do_exec(self, request: dict) -> dict:
        self.outputs, self.error = _Outputs(), None
        saved = sys.stdout, sys.stderr
        sys.stdout = _CappedStream("stdout", self.outputs)
        sys.stderr = _CappedStream("stderr", self.outputs)
        try:
            with time_limit(float(request.get("time_limit") or 60), CellTimeout):
                self.shell.run_cell(str(request["source"]), store_history=False)
                _flush_figures(self.outputs)
        except CellTimeout:  # the alarm arrived outside the cell's own code
            self.error = _timeout_error(request)
        finally:
            sys.stdout, sys.stderr = saved
        if self.error is not None and self.error["ename"] == "CellTimeout":
            self.error = _timeout_error(request)
        outputs = self.outputs.finish()
        if self.error is not None:
            outputs.append(self.error)
        return {"outputs": outputs}

    def do_lookup(self, request: dict) -> dict:
        name = str(request["name"])
        namespace = self.shell.user_ns
        if name not in namespace:
            return {"missing": True}
        value = namespace[name]
        if type(value).__name__ == "module":
            return {"module": getattr(value, "__name__", name)}
        return {"value": self.encode(value), "name": name}

    def do_call(self, request: dict) -> dict:
        target = self.handles[int(request["handle"])]
        args = self.decode(request["args"])
        kwargs = self.decode(request["kwargs"])
        before = request["args"]
        arg_arrays = list(arrays_in(args))
        limit = float(request.get("time_limit") or 60)
        try:
            with _quiet_call(), time_limit(limit, CellTimeout):
                result = target(*args, **kwargs)
                encoded = self._encode_result(result, arg_arrays)
        except CellTimeout:
            return {"timeout": limit}
        except BaseException as exc:  # the student's error is a reply, not our crash
            return {"raise": encode_exception(exc)}
        after = self.encode(list(args))
        reply = {"value": encoded}
        if after != before:
            reply["args_after"] = after
        return reply

    def _encode_result(self, result: Any, arg_arrays: list) -> Any:
        def to_handle(obj):
            return self.to_handle(obj)

        def walk(value, depth=0):
            if isinstance(value, np.ndarray):
                for k, arr in enumerate(arg_arrays):
                    if np.shares_memory(value, arr):
                        return {"__argref__": k, "value": wire.encode(value, to_handle)}
            if depth < 3 and isinstance(value, tuple) and not hasattr(value, "_fields"):
                return {"__tuple__": [walk(v, depth + 1) for v in value]}
            if depth < 3 and isinstance(value, list):
                return [walk(v, depth + 1) for v in value]
            return wire.encode(value, to_handle)

        return walk(result)

    def do_getattr(self, request: dict) -> dict:
        target = self.handles[int(request["handle"])]
        try:
            return {"value": self.encode(getattr(target, str(request["name"])))}
        except BaseException as exc:
            return {"raise": encode_exception(exc)}

    # -- calls into the worker --------------------------------------------------------------
    def callback(self, op: str, handle: int, given: Any = None, **fields) -> Any:
        self.callback_id += 1
        cid = self.callback_id
        self.send({"op": op, "cid": cid, "handle": handle, **fields})
        while True:
            reply = wire.receive(self.fd_in)
            if reply.get("cid") == cid:
                break
        if "raise" in reply:
            raise decode_exception(reply["raise"], qualify=False)
        if "args_after" in reply and isinstance(given, list):
            after = self.decode(reply["args_after"])
            if isinstance(after, list) and len(after) == len(given):
                for before, now in zip(given, after):
                    wire.write_back(before, now)
        return self.decode(reply.get("value"))


class _Remote(wire.Handle):
    """A worker's object given to the student's function (e.g. the test objective)."""

    __slots__ = ("_kernel", "_callable")

    def __init__(self, kernel: Kernel, hid: int, is_callable: bool):
        super().__init__(hid)
        self._kernel, self._callable = kernel, is_callable

    def __call__(self, *args, **kwargs):
        if not self._callable:
            raise TypeError("this object is not callable")
        return self._kernel.callback(
            "callback",
            self.id,
            given=list(args),
            args=self._kernel.encode(list(args)),
            kwargs=self._kernel.encode(kwargs),
        )

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._kernel.callback("getattr", self.id, name=name)


def _timeout_error(request: dict) -> dict:
    limit = float(request.get("time_limit") or 60)
    text = f"the cell did not finish within {limit:g} s and was stopped"
    return {
        "output_type": "error",
        "ename": "TimeoutError",
        "evalue": text,
        "traceback": [f"TimeoutError: {text}"],
    }


class _quiet_call:
    """Send a called function's prints nowhere (the worker reports what matters)."""

    def __enter__(self):
        self.saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = io.StringIO()

    def __exit__(self, *exc):
        sys.stdout, sys.stderr = self.saved
        return False


def _flush_figures(outputs: _Outputs) -> None:
    """Show the figures the cell left open as PNG images, as the inline backend does."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    for number in plt.get_fignums():
        figure = plt.figure(number)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        outputs.display(
            {
                "image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                "text/plain": repr(figure),
            },
            {},
        )
    plt.close("all")


kernel: Kernel


def main(argv: list[str]) -> int:
    global kernel
    fd_in, fd_out = int(argv[1]), int(argv[2])
    os.set_inheritable(fd_in, False)
    os.set_inheritable(fd_out, False)
    kernel = Kernel(fd_in, fd_out)
    started = time.monotonic()
    kernel.shell = _make_shell()
    kernel.send({"op": "ready", "startup": time.monotonic() - started})
    try:
        kernel.serve()
    except wire.ChannelError:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
