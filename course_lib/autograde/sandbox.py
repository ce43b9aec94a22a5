"""Run one student's code in isolation: Linux namespaces, resource limits, a scrubbed environment.

Inside a sandbox the code runs as uid/gid 1000 ("student") with no capabilities, in a new root
that holds only the system's ``/usr`` (and its ``/bin``, ``/lib`` links), a few files of
``/etc``, the Python installation, the read-only paths the caller asks for, device nodes, a
fresh ``/proc``, small ``/tmp`` and ``/dev/shm`` tmpfs and the student's own directory at
``/home/student``. The host tree is detached (pivot_root(2)), so no path leads to the
gradebook, the solutions, other students' files or the instructor's home. There is no network
(a new network namespace with no interface up) and the pid namespace dies with the sandbox,
taking every process the code started with it.

The trusted launcher (``_launch.py``) does the work; this module starts it and controls it::

    with Sandbox(workdir, Limits(cpu_time=60)) as box:
        proc = box.popen([sys.executable, "-c", "print('hi')"], stdout=subprocess.PIPE)
        status = box.wait(timeout=10)   # None if still running; kill() ends it

Limits (setrlimit(2)) count per process, except ``processes`` (every process and thread of
the sandbox's student user), ``tmp_size`` (each tmpfs) and ``wall_time`` (the whole sandbox).
See namespaces(7), user_namespaces(7), pid_namespaces(7) and setrlimit(2) for the mechanisms.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import weakref
from dataclasses import dataclass
from numbers import Integral, Real
from typing import IO, Any, Mapping, Sequence

from course_lib._checks import check

from . import _launch

__all__ = [
    "Limits",
    "Sandbox",
    "SandboxUnavailable",
    "check_available",
    "BASE_ENV",
    "SETUP_FAILED",
    "KILLED",
]

SETUP_FAILED = _launch.SETUP_FAILED  # exit status when the sandbox could not be set up
KILLED = _launch.KILLED  # exit status when the sandbox was killed (kill() or wall time)
KILL_GRACE = 10.0  # seconds kill() waits for the launcher before killing its process group

BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": _launch.HOME,
    "USER": "student",
    "LOGNAME": "student",
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
    "PYTHONNOUSERSITE": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "MPLBACKEND": "Agg",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}

_NAMESPACE_HINT = (
    "The sandbox needs unprivileged user namespaces: check the sysctls "
    "user.max_user_namespaces (must be > 0), kernel.unprivileged_userns_clone (Debian/Ubuntu, "
    "must be 1) and kernel.apparmor_restrict_unprivileged_userns (Ubuntu 24.04+, must be 0), "
    "or run the grader in a VM or container that allows them (Docker: --privileged or a "
    "seccomp profile that allows unshare and mount)."
)
_SETUP_HINT = "The message names the setup step that failed; fix that step or grade elsewhere."


class SandboxUnavailable(RuntimeError):
    """This machine cannot isolate student code; the message says why and what to do."""


def _positive_int(name: str, value: Any, unit: str) -> None:
    ok = isinstance(value, Integral) and not isinstance(value, bool) and value > 0
    check(ok, name, value, f"a positive integer number of {unit}")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox.

    Args:
        wall_time: seconds the whole sandbox may live; the launcher kills it then (the caller
            usually stops it earlier with ``Sandbox.wait(timeout)`` and ``Sandbox.kill``).
        cpu_time: CPU seconds per process (RLIMIT_CPU): SIGXCPU, then SIGKILL a second later.
        memory: bytes of address space per process (RLIMIT_AS): allocations beyond fail.
        processes: processes and threads of the student user in this sandbox (RLIMIT_NPROC;
            when the grader is not root, the launcher's two processes inside count too): fork
            and thread creation fail beyond.
        file_size: bytes per file written (RLIMIT_FSIZE): writes beyond fail with EFBIG.
        open_files: file descriptors per process (RLIMIT_NOFILE).
        tmp_size: bytes of each of the tmpfs at ``/tmp`` and ``/dev/shm``.
    """

    wall_time: float = 300.0
    cpu_time: int = 120
    memory: int = 2 * 1024**3
    processes: int = 32
    file_size: int = 64 * 1024**2
    open_files: int = 256
    tmp_size: int = 64 * 1024**2

    def __post_init__(self) -> None:
        ok = (
            isinstance(self.wall_time, Real)
            and not isinstance(self.wall_time, bool)
            and (0 < self.wall_time < float("inf"))
        )
        check(ok, "wall_time", self.wall_time, "a positive finite number of seconds")
        _positive_int("cpu_time", self.cpu_time, "seconds")
        _positive_int("memory", self.memory, "bytes")
        _positive_int("processes", self.processes, "processes")
        _positive_int("file_size", self.file_size, "bytes")
        _positive_int("open_files", self.open_files, "file descriptors")
        _positive_int("tmp_size", self.tmp_size, "bytes")

    def as_dict(self) -> dict[str, float | int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _contains(parent: str, path: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _workdir(workdir: str) -> str:
    real = os.path.realpath(workdir)
    check(
        os.path.isdir(real) and real != "/",
        "workdir",
        workdir,
        "an existing directory other than /",
    )
    return real


def _readonly(path: str, workdir: str) -> str:
    """An absolute existing path that does not expose the workdir's surroundings."""
    check(isinstance(path, str) and os.path.exists(path), "readonly_paths", path, "existing paths")
    absolute = os.path.abspath(path)
    check(
        not _contains(os.path.realpath(absolute), workdir),
        "readonly_paths",
        path,
        "paths that do not contain the workdir (that would show other students' files)",
    )
    return absolute


def _python_paths() -> list[str]:
    """The running interpreter's installation (a venv is bound alone, not its parent)."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    return list(dict.fromkeys(os.path.abspath(p) for p in paths))


def _env(env: Mapping[str, str] | None) -> dict[str, str]:
    extra = dict(env or {})
    for key, value in extra.items():
        check(
            isinstance(key, str) and isinstance(value, str) and "=" not in key and key != "",
            "env",
            {key: value},
            "a mapping of variable names to strings",
        )
    return {**BASE_ENV, **extra}


class Sandbox:
    """One isolated run of a command over one student's directory.

    Args:
        workdir: host directory holding only this student's files; it is the sandbox's
            ``/home/student`` (read-write), the working directory and ``HOME``. When the
            grader runs as root, its files are handed to the unprivileged host id the student
            runs as.
        limits: resource limits, see ``Limits``.
        readonly_paths: extra host paths shown read-only at the same path (e.g. the
            course_lib package directory, a prepared matplotlib cache).
        env: variables added to the scrubbed environment ``BASE_ENV``.

    Keep the object while the command runs: dropping it kills the sandbox.
    """

    def __init__(
        self,
        workdir: str,
        limits: Limits = Limits(),
        readonly_paths: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        check(isinstance(limits, Limits), "limits", limits, "a Limits")
        self.workdir = _workdir(workdir)
        self.limits = limits
        self.readonly_paths = tuple(_readonly(p, self.workdir) for p in readonly_paths)
        self.env = _env(env)
        self._proc: subprocess.Popen | None = None
        self._control = -1
        self._close_control: weakref.finalize | None = None

    def _config(self, argv: list[str], pass_fds: list[int], control: int) -> str:
        return json.dumps(
            {
                "argv": argv,
                "env": self.env,
                "workdir": self.workdir,
                "readonly": _python_paths() + list(self.readonly_paths),
                "limits": self.limits.as_dict(),
                "keep_fds": pass_fds,
                "control_fd": control,
            }
        )

    def popen(
        self,
        argv: Sequence[str],
        pass_fds: Sequence[int] = (),
        stdin: int | IO[Any] | None = None,
        stdout: int | IO[Any] | None = None,
        stderr: int | IO[Any] | None = None,
    ) -> subprocess.Popen:
        """Start ``argv`` inside the sandbox; ``pass_fds`` keep their numbers inside.

        stdin/stdout/stderr are as for ``subprocess.Popen`` (use pipes or DEVNULL: a file
        descriptor of a host file lets the code read or write that file). The returned
        ``Popen`` is the launcher outside; its status is the command's (128 + N for a
        signal N, ``KILLED`` after ``kill()`` or at the wall-time limit, ``SETUP_FAILED``
        with the failed step on stderr).
        """
        if self._proc is not None:
            raise RuntimeError("a Sandbox runs one command and this one was already started")
        argv = list(argv)
        check(
            bool(argv) and all(isinstance(a, str) for a in argv),
            "argv",
            argv,
            "a non-empty sequence of strings",
        )
        fds = list(pass_fds)
        check(
            all(isinstance(fd, int) and fd > 2 for fd in fds),
            "pass_fds",
            fds,
            "file descriptors > 2",
        )
        control, self._control = os.pipe()
        self._close_control = weakref.finalize(self, os.close, self._control)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", _launch.__file__],
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                pass_fds=(*fds, control),
                start_new_session=True,
                env={_launch.CONFIG_ENV: self._config(argv, fds, control)},
            )
        except BaseException:
            self._close_control()
            raise
        finally:
            os.close(control)
        return self._proc

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status of the command (see ``popen``), or None if ``timeout`` passed."""
        if self._proc is None:
            raise RuntimeError("wait() needs a command started with popen()")
        try:
            status = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._close_control()
        return 128 - status if status < 0 else status  # the launcher itself was killed

    def kill(self) -> None:
        """End every process of the sandbox; they are all gone when this returns."""
        proc = self._proc
        if proc is None or self._close_control is None:
            return
        if proc.poll() is None:
            try:
                os.write(self._control, b"k")  # the launcher kills pid 1, the kernel the rest
            except OSError:
                pass  # the launcher is already gone or going
            try:
                proc.wait(KILL_GRACE)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # unreaped, so the group id is still ours
                proc.wait()
        self._close_control()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()


_unavailable: list[str] = []  # the reason, once probed (empty string: available)


def _probe() -> str:
    """Why the sandbox cannot work here, or "" if a tiny launch succeeds."""
    if not sys.platform.startswith("linux"):
        return f"it needs Linux namespaces and this system is {sys.platform}"
    if not hasattr(os, "pidfd_open"):
        return "it needs os.pidfd_open (Python >= 3.9 on Linux >= 5.3)"
    sysctls = {
        "/proc/sys/user/max_user_namespaces": "0",
        "/proc/sys/kernel/unprivileged_userns_clone": "0",
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1",
    }
    for path, bad in sysctls.items():
        try:
            with open(path) as handle:
                value = handle.read().strip()
        except OSError:
            continue
        if value == bad and (path.endswith("max_user_namespaces") or os.geteuid() != 0):
            return f"user namespaces are disabled ({path} is {value})"
    with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as workdir:
        with Sandbox(workdir, Limits(wall_time=60)) as box:
            proc = box.popen(
                [sys.executable, "-c", "pass"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                return "a test launch did not finish within 30 s"
    if proc.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines() or ["(no message)"]
        return f"a test launch failed with status {proc.returncode}: {lines[-1]}"
    return ""


def check_available() -> None:
    """Raise ``SandboxUnavailable`` (with the reason) unless sandboxes work here. Cached."""
    if not _unavailable:
        _unavailable.append(_probe())
    reason = _unavailable[0]
    if reason:
        namespaces = any(word in reason for word in ("namespace", "unshare", "uid/gid", "mount"))
        hint = _NAMESPACE_HINT if namespaces else _SETUP_HINT
        raise SandboxUnavailable(f"cannot isolate student code: {reason}. {hint}")
