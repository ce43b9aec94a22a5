"""Grade one submission in a clean process that never runs the student's code.

:func:`grade` takes a self-contained :class:`Task` (the notebook as nbgrader sanitized it, the
student's files, the trusted test cells) and returns plain data: every code cell's outputs
and a status. It can run in a local process pool or on any ``concurrent.futures`` executor
(a Dask cluster, for example), because it needs no file of the course.

How a notebook runs here:

- The student's code cells (and the instructor's locked cells, which the student's code may
  need) run in the sandboxed kernel (``kernel``), in notebook order.
- Each autograded test cell runs *here*, in this clean interpreter, with the trusted source
  from the gradebook. A name the test cell does not define is looked up in the instructor's
  locked cells, also executed here, and only then in the student's namespace: numbers and
  arrays arrive as data, functions as proxies. Calling a proxy sends the arguments into the
  sandbox and brings back the result as data; a callable argument (the test objective) stays
  here and the sandbox calls back, so its counters are ours. The checkers of
  ``course_lib.grading`` compare with the reference here, where nothing of the student's
  can replace numpy, the checker or the comparison.
"""

from __future__ import annotations

import builtins
import contextlib
import glob
import importlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import nbformat
import numpy as np

from course_lib.autograde import wire
from course_lib.grading import decode_exception, encode_exception

_KEEP_MIME = ("text/plain", "image/png", "image/jpeg")
"""Output types kept from the sandbox: text and images. HTML, SVG and JavaScript are dropped,
so a submission's outputs cannot run script in the instructor's browser (formgrader)."""


@dataclass
class Task:
    """Everything needed to grade one notebook of one submission (plain, picklable data)."""

    student: str
    notebook: str
    nb_json: str
    files: dict = field(default_factory=dict)  # relative path -> bytes
    test_cells: dict = field(default_factory=dict)  # grade_id -> trusted source
    trusted_cells: dict = field(default_factory=dict)  # grade_id -> trusted source
    limits: Any = None  # sandbox.Limits
    cell_timeout: float = 60.0
    isolate: bool = True


GRADER_ERROR = "grader error"
"""The status of a notebook that could not be graded because the grading machinery failed
(the sandbox, the kernel's start, the channel): nothing is known about the student's work."""

STDERR_KEPT = 4000
"""Characters of the end of the sandboxed kernel's stderr kept for the instructor's log."""


class GradingStopped(BaseException):
    """The sandbox is gone (time, memory or a crash): the rest of the notebook cannot run.

    A BaseException, so that a checker's ``except Exception`` reports it as it is.
    """


# --------------------------------------------------------------------------------------------
# The session with the sandboxed kernel
# --------------------------------------------------------------------------------------------
class Session:
    """The channel to one sandboxed kernel, with the handles of both sides."""

    GRACE = 5.0  # seconds the kernel gets beyond a time limit before it is killed

    def __init__(self, task: Task, workdir: str):
        self.task = task
        self.workdir = workdir
        self.handles: dict[int, Any] = {}
        self.next_id = 0
        self.pending: Optional[int] = None
        self.dead: Optional[str] = None
        self.status = "graded"
        self.sandbox = None
        self.deadline = time.monotonic() + float(task.limits.wall_time)
        self.startup = None
        self.channel: Optional[wire.Channel] = None
        self.stderr_path = os.path.join(os.path.dirname(workdir), "kernel-stderr.txt")

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        to_kernel_r, to_kernel_w = os.pipe()
        from_kernel_r, from_kernel_w = os.pipe()
        argv = [
            sys.executable,
            "-m",
            "course_lib.autograde.kernel",
            str(to_kernel_r),
            str(from_kernel_w),
        ]
        package_dir = os.path.dirname(os.path.dirname(os.path.abspath(wire.__file__)))
        # the kernel imports the course_lib this process runs (the one shown in the sandbox),
        # whatever the environment's own installation of course_lib points at
        env = {
            "MPLCONFIGDIR": "/home/student/.matplotlib",
            "IPYTHONDIR": "/tmp/.ipython",
            "PYTHONPATH": os.path.dirname(package_dir),
        }
        # the kernel's stderr goes to a file beside (not in) the student's directory: the
        # instructor's log gets its end when the kernel fails
        stderr = os.open(self.stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if self.task.isolate:
                from course_lib.autograde import sandbox

                self.sandbox = sandbox.Sandbox(
                    self.workdir, self.task.limits, readonly_paths=[package_dir], env=env
                )
            else:
                self.sandbox = _Unisolated(self.workdir, self.task.limits, env)
            self.sandbox.popen(
                argv,
                pass_fds=(to_kernel_r, from_kernel_w),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        except Exception as exc:  # the sandbox could not be started: not the student's doing
            for fd in (to_kernel_r, from_kernel_w, to_kernel_w, from_kernel_r):
                os.close(fd)
            self.sandbox = None
            self._die(
                f"the sandbox could not be started ({type(exc).__name__}: {exc})", GRADER_ERROR
            )
        finally:
            os.close(stderr)
        os.close(to_kernel_r)
        os.close(from_kernel_w)
        self.fd_out, self.fd_in = to_kernel_w, from_kernel_r
        self.channel = wire.Channel(from_kernel_r, to_kernel_w)
        try:
            ready = self.channel.receive(deadline=min(self.deadline, time.monotonic() + 120))
            self.startup = float(ready.get("startup", 0))
        except wire.ChannelError as exc:
            self._die(f"the sandboxed kernel did not start ({exc})", GRADER_ERROR)

    def stderr_tail(self) -> str:
        """The end of what the sandboxed kernel (and the sandbox's setup) wrote to stderr."""
        try:
            with open(self.stderr_path, "rb") as handle:
                handle.seek(max(0, os.path.getsize(self.stderr_path) - STDERR_KEPT))
                return handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        if self.sandbox is not None and self.dead is None:
            with contextlib.suppress(OSError, wire.ChannelError):
                self.channel.send({"op": "bye"})
            self.sandbox.wait(timeout=2)
        if self.sandbox is not None:
            self.sandbox.kill()
        for fd in (getattr(self, "fd_in", None), getattr(self, "fd_out", None)):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _die(self, reason: str, status: str = "crashed") -> None:
        """Stop the sandbox for good and remember why. ``status`` is ``GRADER_ERROR`` when
        the grading machinery failed rather than the student's code."""
        if self.dead is None:
            code = None
            if self.sandbox is not None:
                code = self.sandbox.wait(timeout=0.5)
                self.sandbox.kill()
            if code is not None and code - 128 == getattr(signal, "SIGXCPU", -1):
                reason, status = "the CPU time limit was reached", "timed out"
            elif code is not None and status != "timed out" and code != 0:
                reason += f" (exit status {code})"
            self.dead = reason
            if (
                self.status == "graded"
                or status in ("timed out", GRADER_ERROR)
                and (self.status != GRADER_ERROR)
            ):
                self.status = status
        raise GradingStopped(self.dead)

    # -- requests -------------------------------------------------------------------------
    def request(self, message: dict, seconds: float) -> dict:
        if self.dead is not None:
            raise GradingStopped(self.dead)
        if self.pending is not None:  # a call that we stopped waiting for: its reply is stale
            self._wait(
                self.pending,
                time.monotonic() + self.GRACE,
                "your code did not stop when its time was up",
            )
            self.pending = None
        self.next_id += 1
        message["id"] = rid = self.next_id
        try:
            self.channel.send(message)
        except wire.ChannelBroken as exc:
            self._die(f"the channel to the sandbox broke ({exc})", GRADER_ERROR)
        except OSError:
            self._die("the sandboxed kernel stopped")
        self.pending = rid
        reply = self._wait(
            rid,
            time.monotonic() + seconds + self.GRACE,
            f"your code did not stop after {seconds:g} s",
        )
        self.pending = None
        return reply

    def _wait(self, rid: int, deadline: float, why: str) -> dict:
        while True:
            wall = deadline >= self.deadline
            try:
                message = self.channel.receive(deadline=min(deadline, self.deadline))
            except wire.ChannelBroken as exc:
                self._die(f"the channel to the sandbox broke ({exc})", GRADER_ERROR)
            except wire.ChannelTimeout:
                if wall:
                    self._die(
                        "the submission's time limit "
                        f"({self.task.limits.wall_time:g} s) was reached",
                        "timed out",
                    )
                self._die(why, "timed out")
            except wire.ChannelError as exc:
                self._die(f"the sandboxed kernel stopped ({exc})")
            if message.get("op") in ("callback", "getattr") and "cid" in message:
                self._serve(message)
            elif message.get("id") == rid:
                return message

    def _serve(self, message: dict) -> None:
        """Run a callback of the student's code on one of our objects (e.g. the objective)."""
        try:
            target = self.handles[int(message["handle"])]
            if message["op"] == "callback":
                args = self.decode(message.get("args", []))
                kwargs = self.decode(message.get("kwargs", {}))
                if (
                    not isinstance(args, list)
                    or not isinstance(kwargs, dict)
                    or not all(isinstance(k, str) for k in kwargs)
                ):
                    raise TypeError("bad arguments")
                before = self.encode(args)
                value = target(*args, **kwargs)
                after = self.encode(args)
            else:
                name = str(message.get("name", ""))
                if name.startswith("_"):
                    raise AttributeError(f"{name} is not available")
                value = getattr(target, name)
                if isinstance(value, type) or type(value).__name__ in ("module", "function"):
                    raise AttributeError(f"{name} is not available")
            reply = {"cid": message["cid"], "value": self.encode(value)}
            if message["op"] == "callback" and after != before:
                reply["args_after"] = after
        except Exception as exc:  # an error of ours, caused by the student's arguments
            # (a time limit, a BaseException, goes on up: the sandbox gets no reply and its
            # own time limit stops the call)
            reply = {
                "cid": message.get("cid"),
                "raise": encode_exception(exc, limit=500, frame=False),
            }
        try:
            self.channel.send(reply)
        except wire.ChannelBroken as exc:
            self._die(f"the channel to the sandbox broke ({exc})", GRADER_ERROR)
        except OSError:
            self._die("the sandboxed kernel stopped")

    # -- values ---------------------------------------------------------------------------
    def to_handle(self, obj: Any) -> int:
        hid = len(self.handles) + 1
        self.handles[hid] = obj
        return hid

    def encode(self, value: Any) -> Any:
        return wire.encode(value, self.to_handle)

    def decode(self, data: Any, arg_arrays: Optional[list] = None) -> Any:
        def from_handle(tag: dict) -> Any:
            if "__argref__" in tag:
                value = wire.decode(tag.get("value"), from_handle, _NAMED)
                k = tag["__argref__"]
                if (
                    arg_arrays is not None
                    and 0 <= k < len(arg_arrays)
                    and isinstance(value, np.ndarray)
                    and arg_arrays[k].shape == value.shape
                ):
                    return arg_arrays[k]
                return value
            if not tag.get("mine", True):  # one of our objects, given back
                obj = self.handles.get(tag["__handle__"])
                if obj is None:
                    raise ValueError("unknown handle")
                return obj
            cls = RemoteFunction if tag.get("callable") else RemoteObject
            return cls(self, tag["__handle__"], str(tag.get("type", "object"))[:100])

        return wire.decode(data, from_handle, _NAMED)

    # -- operations -----------------------------------------------------------------------
    def lookup(self, name: str) -> Any:
        reply = self.request({"op": "lookup", "name": name}, 30)
        if reply.get("missing"):
            raise KeyError(name)
        if "module" in reply:
            module = str(reply["module"])
            if not all(part.isidentifier() for part in module.split(".")):
                raise KeyError(name)
            try:
                return importlib.import_module(module)
            except Exception:
                raise KeyError(name) from None
        value = self.decode(reply.get("value"))
        if isinstance(value, RemoteObject):
            object.__setattr__(value, "__name__", name)
        return value

    def call(self, hid: int, args: tuple, kwargs: dict) -> Any:
        from course_lib.grading import TIME_LIMIT, arrays_in

        given = list(args)
        arrays = list(arrays_in(given))

        # the checker's own time limit, if it set one (an alarm, in the main thread); else the
        # checkers' default, enforced by the kernel and by our deadline (e.g. in Dask's threads)
        remaining = signal.getitimer(signal.ITIMER_REAL)[0] if hasattr(signal, "getitimer") else 0
        limit = remaining if remaining > 0 else min(TIME_LIMIT, self.task.cell_timeout)
        reply = self.request(
            {
                "op": "call",
                "handle": hid,
                "args": self.encode(given),
                "kwargs": self.encode(dict(kwargs)),
                "time_limit": limit,
            },
            limit,
        )
        if "timeout" in reply:
            raise TimeoutError(f"did not return within {limit:g} s")
        if "raise" in reply:
            raise decode_exception(reply["raise"])
        if "args_after" in reply:  # the call changed its arguments: show it to the checker
            try:
                after = self.decode(reply["args_after"])
            except ValueError:
                after = None
            if isinstance(after, list) and len(after) == len(given):
                for before, now in zip(given, after):
                    wire.write_back(before, now)
        try:
            return self.decode(reply.get("value"), arrays)
        except ValueError as exc:
            return wire.Opaque(f"invalid data ({exc})")

    def getattr(self, hid: int, name: str) -> Any:
        reply = self.request({"op": "getattr", "handle": hid, "name": name}, 30)
        if "raise" in reply:
            raise AttributeError(name)
        return self.decode(reply.get("value"))

    def execute(self, source: str) -> list:
        reply = self.request(
            {"op": "exec", "source": source, "time_limit": self.task.cell_timeout},
            self.task.cell_timeout,
        )
        outputs = _clean_outputs(reply.get("outputs"))
        if any(o.get("ename") == "MemoryError" for o in outputs) and self.status == "graded":
            self.status = "memory limit"
        if (
            any(
                o.get("ename") == "TimeoutError" and "did not finish within" in o.get("evalue", "")
                for o in outputs
            )
            and self.status == "graded"
        ):
            self.status = "timed out"
        return outputs


_NAMED: dict = {}


def _named_types() -> dict:
    """course_lib's named tuples, rebuilt as themselves when a student returns one."""
    if not _NAMED:
        from course_lib import data, models, search, train

        for module in (search, data, models, train):
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, tuple)
                    and hasattr(value, "_fields")
                ):
                    _NAMED[value.__name__] = value
    return _NAMED


class RemoteObject:
    """A student's object: its public attributes are fetched from the sandbox as data."""

    def __init__(self, session: Session, hid: int, type_name: str):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_hid", hid)
        object.__setattr__(self, "_type", type_name)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._session.getattr(self._hid, name)

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self

    def __repr__(self) -> str:
        return f"<{self._type} object>"


class RemoteFunction(RemoteObject):
    """A student's function: calling it runs it in the sandbox."""

    def __call__(self, *args, **kwargs):
        return self._session.call(self._hid, args, kwargs)


def _clean_outputs(outputs: Any, limit: int = 2 << 20) -> list:
    """Keep only well-formed outputs of the kinds a notebook may show, within ``limit``."""
    clean, used = [], 0
    for out in outputs if isinstance(outputs, list) else []:
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") in ("stdout", "stderr"):
            item = nbformat.v4.new_output("stream", name=out["name"], text=str(out.get("text")))
            size = len(item.text)
        elif kind == "display_data" and isinstance(out.get("data"), dict):
            data = {k: str(v) for k, v in out["data"].items() if k in _KEEP_MIME}
            if not data:
                continue
            item = nbformat.v4.new_output("display_data", data=data)
            size = sum(len(v) for v in data.values())
        elif kind == "error":
            tb = out.get("traceback")
            tb = [str(x)[:5000] for x in tb[:100]] if isinstance(tb, list) else []
            item = nbformat.v4.new_output(
                "error",
                ename=str(out.get("ename"))[:200],
                evalue=str(out.get("evalue"))[:5000],
                traceback=tb,
            )
            size = sum(len(x) for x in tb)
        else:
            continue
        if used + size > limit:
            clean.append(
                nbformat.v4.new_output(
                    "stream", name="stderr", text="[grading: further output dropped]\n"
                )
            )
            break
        used += size
        clean.append(item)
    return clean


# --------------------------------------------------------------------------------------------
# Test cells, run here
# --------------------------------------------------------------------------------------------
class _Namespace(dict):
    """The names a test cell sees: its own, then the instructor's, then the student's."""

    def __init__(self, trusted: dict, session: Session):
        super().__init__()
        self.trusted, self.session = trusted, session

    def __getitem__(self, name: str) -> Any:
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        if name in self.trusted:
            return self.trusted[name]
        if name.startswith("__"):
            raise KeyError(name)
        return self.session.lookup(name)


def _error_output(exc: BaseException) -> dict:
    if hasattr(exc, "_render_traceback_"):
        traceback = exc._render_traceback_()
    else:
        traceback = [f"\x1b[0;31m{type(exc).__name__}\x1b[0m: {exc}"]
    return nbformat.v4.new_output(
        "error", ename=type(exc).__name__, evalue=str(exc), traceback=traceback
    )


class _TestTimeout(BaseException):
    pass


def run_test_cell(source: str, name: str, namespace: _Namespace, timeout: float) -> list:
    """Execute a trusted test cell here; its outputs in nbformat's form."""
    from course_lib.grading import time_limit

    sink = io.StringIO()
    outputs = []
    try:
        code = compile(source, f"<test cell {name}>", "exec")
        with (
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
            time_limit(timeout, _TestTimeout),
        ):
            exec(code, {"__builtins__": builtins, "__name__": "__main__"}, namespace)
    except _TestTimeout:
        outputs.append(
            nbformat.v4.new_output(
                "error",
                ename="TimeoutError",
                evalue=f"the tests did not finish within {timeout:g} s",
                traceback=[f"TimeoutError: the tests did not finish within {timeout:g} s"],
            )
        )
    except GradingStopped as exc:
        outputs.append(
            nbformat.v4.new_output(
                "error",
                ename="GradingStopped",
                evalue=f"your notebook could not be run to the end: {exc}",
                traceback=[f"GradingStopped: your notebook could not be run to the end: {exc}"],
            )
        )
    except BaseException as exc:  # a failed test: the verdict
        outputs.append(_error_output(exc))
    text = sink.getvalue()
    if text:
        outputs.insert(0, nbformat.v4.new_output("stream", name="stdout", text=text[:100000]))
    return outputs


def _run_trusted(source: str, namespace: dict) -> None:
    """An instructor's locked cell, run here for its constants; errors are not ours to judge."""
    sink = io.StringIO()
    with (
        contextlib.suppress(BaseException),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        exec(compile(source, "<locked cell>", "exec"), namespace)
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


# --------------------------------------------------------------------------------------------
# One submission
# --------------------------------------------------------------------------------------------
def grade(task: Task) -> dict:
    """Run ``task``'s notebook and its tests; return outputs per code cell and a status."""
    import matplotlib

    matplotlib.use("Agg")
    _named_types()
    started = time.monotonic()
    result = {
        "student": task.student,
        "notebook": task.notebook,
        "status": "graded",
        "reason": "",
        "outputs": {},
        "kernel_startup": None,
    }
    nb = nbformat.reads(task.nb_json, as_version=4)
    with tempfile.TemporaryDirectory(prefix="grading-") as scratch:
        workdir = os.path.join(scratch, "home")
        os.mkdir(workdir)
        _write_files(workdir, task.files)
        _copy_font_cache(workdir)
        session = Session(task, workdir)
        trusted: dict = {"__builtins__": builtins, "__name__": "__main__"}
        namespace = _Namespace(trusted, session)
        try:
            session.start()
        except GradingStopped:
            pass
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                meta = cell.metadata.get("nbgrader", {})
                grade_id = meta.get("grade_id")
                if (
                    meta.get("grade")
                    and not meta.get("solution")
                    and task.test_cells.get(grade_id) == cell.source
                ):
                    outputs = run_test_cell(cell.source, grade_id, namespace, task.cell_timeout)
                else:
                    outputs = _run_in_sandbox(session, cell.source)
                    if (
                        meta.get("locked")
                        and not meta.get("solution")
                        and not meta.get("grade")
                        and task.trusted_cells.get(grade_id) == cell.source
                    ):
                        _run_trusted(cell.source, trusted)
                result["outputs"][index] = [dict(o) for o in outputs]
        finally:
            session.close()
            result["status"] = session.status
            result["reason"] = session.dead or ""
            if session.status != "graded":
                result["kernel_stderr"] = session.stderr_tail()
    result["kernel_startup"] = session.startup
    result["seconds"] = time.monotonic() - started
    return result


def _run_in_sandbox(session: Session, source: str) -> list:
    if session.dead is not None:
        return [
            nbformat.v4.new_output(
                "error",
                ename="GradingStopped",
                evalue=f"not run: {session.dead}",
                traceback=[f"GradingStopped: not run: {session.dead}"],
            )
        ]
    try:
        return session.execute(source)
    except GradingStopped as exc:
        return [
            nbformat.v4.new_output(
                "error",
                ename="GradingStopped",
                evalue=str(exc),
                traceback=[f"GradingStopped: {exc}"],
            )
        ]


def _write_files(workdir: str, files: dict) -> None:
    root = os.path.realpath(workdir)
    for relpath, content in files.items():
        path = os.path.realpath(os.path.join(root, relpath))
        if not path.startswith(root + os.sep):
            raise ValueError(f"file name outside the submission: {relpath!r}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content)


def _copy_font_cache(workdir: str) -> None:
    """Give matplotlib in the sandbox our font list, so that it does not rebuild it."""
    import matplotlib

    target = os.path.join(workdir, ".matplotlib")
    os.makedirs(target, exist_ok=True)
    for path in glob.glob(os.path.join(matplotlib.get_cachedir(), "fontlist-*.json")):
        shutil.copy(path, target)


class _Unisolated:
    """``--no-sandbox``: the kernel runs as a plain subprocess with resource limits only.

    For machines without user namespaces. It does NOT keep the student's code away from the
    course's files; the verdicts are still made outside the student's process.
    """

    def __init__(self, workdir: str, limits: Any, env: dict):
        from course_lib.autograde.sandbox import BASE_ENV

        self.workdir, self.limits = workdir, limits
        self.env = {
            k: v.replace("/home/student", workdir).replace("/tmp", workdir)
            for k, v in {**BASE_ENV, **env}.items()
        }
        self.env["PATH"] = os.environ.get("PATH", BASE_ENV["PATH"])
        self.process = None

    def popen(self, argv, pass_fds=(), stdin=None, stdout=None, stderr=None):
        import resource

        limits = self.limits

        def limit():
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_time, limits.cpu_time))
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))

        self.process = subprocess.Popen(
            argv,
            pass_fds=pass_fds,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            cwd=self.workdir,
            env=self.env,
            start_new_session=True,
            preexec_fn=limit,
        )
        return self.process

    def wait(self, timeout=None):
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return 128 - code if code < 0 else code

    def kill(self):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
