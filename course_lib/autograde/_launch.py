"""Run one command in fresh Linux namespaces: the trusted half of the sandbox.

``Sandbox.popen`` starts ``python -I -S _launch.py`` with its configuration (JSON) in the
environment variable ``COURSE_SANDBOX_CONFIG``; ``python -m course_lib.autograde._launch CONFIG``
works too. This file uses only the standard library, because it runs before any student code,
under ``-S`` (no site-packages) to start fast.

Four processes, each waiting for the next (see user_namespaces(7), pid_namespaces(7),
mount_namespaces(7) and pivot_root(2)):

- *outer* (the caller's ``Popen``): when run as root, writes the child's uid/gid maps so that the
  student runs as an unprivileged host uid; waits for the child and exits with its status.
- *child*: unshares the user, mount, pid, network, IPC, UTS and cgroup namespaces, forks *init*
  and kills it when the control fd gets a byte or end-of-file, or at the wall-time limit.
- *init* (pid 1 of the new pid namespace): builds a new root on a tmpfs, pivots into it,
  detaches the host tree, forks *student* and reaps orphans until *student* ends, then exits;
  the kernel then kills every process left in the namespace.
- *student*: sets the resource limits, drops to uid/gid 1000 (no capabilities survive the exec),
  scrubs its file descriptors and execs the command with the given environment.

Exit status: the command's own, 128 + N if a signal N killed it, 137 if the sandbox was killed
(on request or at the wall-time limit) and 125 if the setup failed; a setup failure is reported
on stderr as ``sandbox setup failed at <step>: <reason>`` and no student code runs.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import stat
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, NoReturn

CONFIG_ENV = "COURSE_SANDBOX_CONFIG"
SETUP_FAILED = 125
KILLED = 128 + signal.SIGKILL
STUDENT_ID = 1000  # uid and gid of the student inside the sandbox
HOST_ID_BASE = 100_000  # as root, the sandbox's ids 0 and 1000 are host ids BASE + 2 pid (+ 1)
HOME = "/home/student"

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER = 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
NAMESPACES = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 1 << 10, 1 << 11, 1 << 12, 1 << 14
MS_PRIVATE, MS_RELATIME = 1 << 18, 1 << 21
MNT_DETACH = 2
# Flags the kernel locks on a mount seen from a user namespace; a remount must repeat them.
LOCKED_FLAGS = (
    (os.ST_RDONLY, MS_RDONLY),
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
ETC_COPIES = ("ld.so.cache", "ld.so.conf", "nsswitch.conf", "localtime")
ETC_BINDS = ("ld.so.conf.d", "fonts", "alternatives")
DEVICES = ("null", "zero", "full", "random", "urandom")
ETC_FILES = {
    "passwd": "root:x:0:0:root:/root:/usr/sbin/nologin\n"
    f"student:x:{STUDENT_ID}:{STUDENT_ID}:student:{HOME}:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    "group": f"root:x:0:\nstudent:x:{STUDENT_ID}:\nnogroup:x:65534:\n",
    "hostname": "sandbox\n",
    "hosts": "127.0.0.1 localhost\n::1 localhost\n",
}

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.unshare.argtypes = [ctypes.c_int]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


class SetupError(Exception):
    """A setup step failed; the message names the step."""


def _libc_call(what: str, result: int) -> None:
    """Raise ``OSError`` naming ``what`` if a libc call returned -1."""
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    """mount(2)."""
    _libc_call(
        f"mount {target}",
        libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)),
    )


def prctl(option: int, arg: int = 0) -> None:
    """prctl(2) with one argument."""
    _libc_call(f"prctl {option}", libc.prctl(option, arg, 0, 0, 0))


@contextmanager
def step(name: str) -> Iterator[None]:
    """Turn any error inside the block into a ``SetupError`` naming the step."""
    try:
        yield
    except SetupError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure of a setup step is fatal
        raise SetupError(f"{name}: {exc}") from exc


def guarded(body: Callable[[], object]) -> NoReturn:
    """Run a process's body; any error ends the process with ``SETUP_FAILED`` (never returns)."""
    try:
        body()
    except SetupError as exc:
        fail(str(exc))
    except BaseException as exc:  # noqa: BLE001 - a forked process must never unwind
        fail(f"launcher: {type(exc).__name__}: {exc}")
    fail("launcher: a process body returned")


def fail(message: str, status: int = SETUP_FAILED) -> NoReturn:
    """Report ``message`` on stderr and leave at once (no cleanup: we may be a fork)."""
    try:
        os.write(2, f"sandbox setup failed at {message}\n".encode())
    finally:
        os._exit(status)


def exit_code(status: int) -> int:
    """A wait status as a shell-style exit code (signal N -> 128 + N)."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def die_with_parent(parent_alive: int | None = None, parent_pid: int | None = None) -> None:
    """SIGKILL us when our parent dies; leave now if it already died."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    gone = (parent_pid is not None and os.getppid() != parent_pid) or (
        parent_alive is not None and select.select([parent_alive], [], [], 0)[0]
    )
    if gone:
        os._exit(KILLED)


# --- outer -----------------------------------------------------------------------------------


def host_ids(outer_pid: int) -> tuple[int, int] | None:
    """Host ids of the sandbox's root and student when we run as root, else None."""
    if os.geteuid() != 0:
        return None
    root = HOST_ID_BASE + 2 * outer_pid
    return root, root + 1


def give_workdir(workdir: str, owner: int) -> None:
    """Make every file of the workdir belong to the student's host id (never following links)."""
    os.lchown(workdir, owner, owner)
    for top, dirs, files in os.walk(workdir):
        for name in dirs + files:
            os.lchown(os.path.join(top, name), owner, owner)


def write_id_maps(pid: int, ids: tuple[int, int]) -> None:
    """Map the sandbox's 0 and 1000 to two unprivileged host ids (uids and gids alike)."""
    lines = f"0 {ids[0]} 1\n{STUDENT_ID} {ids[1]} 1\n"
    for name in ("uid_map", "gid_map"):
        try:
            with open(f"/proc/{pid}/{name}", "w") as handle:
                handle.write(lines)
        except OSError as exc:
            raise OSError(
                f"cannot map the sandbox to host ids {ids[0]} and {ids[1]} ({exc}); "
                "if this root is itself inside a user namespace, run the grader as "
                "an ordinary user instead"
            ) from exc


def outer(config: dict[str, Any]) -> int:
    """Fork the child, give it its id maps when we are root; the child's exit code."""
    ids = host_ids(os.getpid())
    if ids is not None:
        with step("chown workdir"):
            give_workdir(config["workdir"], ids[1])
    from_outer, to_child = os.pipe()
    from_child, to_outer = os.pipe()
    me = os.getpid()
    pid = os.fork()
    if pid == 0:
        os.close(to_child)
        os.close(from_child)
        guarded(lambda: os._exit(run_child(config, me, ids, from_outer, to_outer)))
    os.close(from_outer)
    os.close(to_outer)
    for fd in (*config["keep_fds"], config["control_fd"]):
        os.close(fd)
    if ids is not None and os.read(from_child, 1) == b"u":
        try:
            with step("uid/gid maps"):
                write_id_maps(pid, ids)
        except BaseException:
            os.kill(pid, signal.SIGKILL)  # unreaped child: the pid is still ours
            os.waitpid(pid, 0)
            raise
        os.write(to_child, b"m")
    return exit_code(os.waitpid(pid, 0)[1])


# --- child -----------------------------------------------------------------------------------


def unshare_namespaces() -> None:
    """unshare(2) every namespace we use (the cgroup one only where the kernel has it)."""
    if libc.unshare(NAMESPACES | CLONE_NEWCGROUP) == -1:
        _libc_call("unshare", libc.unshare(NAMESPACES))


def map_own_ids() -> None:
    """Unprivileged: map the sandbox's 1000 to our own uid/gid (groups cannot be changed)."""
    uid, gid = os.geteuid(), os.getegid()
    for name, text in (
        ("setgroups", "deny"),
        ("uid_map", f"{STUDENT_ID} {uid} 1\n"),
        ("gid_map", f"{STUDENT_ID} {gid} 1\n"),
    ):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)


def run_child(
    config: dict[str, Any],
    outer_pid: int,
    ids: tuple[int, int] | None,
    from_outer: int,
    to_outer: int,
) -> int:
    """Unshare, get id maps, fork init and supervise it; init's exit code."""
    die_with_parent(parent_pid=outer_pid)
    with step("unshare namespaces (are user namespaces enabled?)"):
        unshare_namespaces()
    if ids is None:
        with step("uid/gid maps"):
            map_own_ids()
    else:
        os.write(to_outer, b"u")
        if os.read(from_outer, 1) != b"m":
            os._exit(SETUP_FAILED)  # the outer process has reported why
    os.close(from_outer)
    os.close(to_outer)
    alive, alive_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(alive_write)
        guarded(lambda: run_init(config, ids, alive))
    os.close(alive)
    for fd in config["keep_fds"]:
        os.close(fd)
    return supervise(pid, config["control_fd"], config["limits"]["wall_time"])


def supervise(init: int, control: int, wall_time: float) -> int:
    """Wait for init; kill it on a control byte/EOF or at the wall-time limit. Exit code."""
    pidfd = os.pidfd_open(init)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(control, select.POLLIN)
    deadline = time.monotonic() + wall_time
    while (left := deadline - time.monotonic()) > 0:
        ready = {fd for fd, _ in poller.poll(left * 1000 + 1)}
        if pidfd in ready:
            return exit_code(os.waitpid(init, 0)[1])
        if control in ready:
            break
    else:
        os.write(2, f"sandbox: wall time limit of {wall_time:g} s reached\n".encode())
    os.kill(init, signal.SIGKILL)  # init is our unreaped child: its pid cannot be reused
    os.waitpid(init, 0)  # returns once the kernel has killed the whole pid namespace
    return KILLED


# --- init: the new root ----------------------------------------------------------------------


class RootPlan:
    """What the new root holds, gathered while we can still read the host tree."""

    def __init__(self) -> None:
        self.links: dict[str, str] = {}
        self.files: dict[str, bytes] = {}
        self.mounts: list[tuple[str, str, Any]] = []  # (target, kind, detail)
        self.fds: list[int] = []

    def bind(self, source: str, target: str, kind: str) -> None:
        """Bind ``source`` at ``target``; kind is "ro", "rw" or "dev"."""
        fd = os.open(source, os.O_PATH | os.O_CLOEXEC)
        self.fds.append(fd)
        locked = 0
        if kind != "dev":
            flags = os.statvfs(source).f_flag
            locked = sum(ms for st, ms in LOCKED_FLAGS if flags & st)
        self.mounts.append((target, kind, (fd, os.path.isdir(source), locked)))

    def covered(self, path: str) -> bool:
        """Whether ``path`` already shows through a read-only bind or a recreated link."""
        parents = [t for t, kind, _ in self.mounts if kind == "ro"] + list(self.links)
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in parents)


def plan_root(config: dict[str, Any]) -> RootPlan:
    """Gather the sources of the new root (opened as O_PATH fds) and its small files."""
    plan = RootPlan()
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            plan.links[path] = os.readlink(path)
        elif os.path.isdir(path):
            plan.bind(path, path, "ro")
    for name in ETC_COPIES:
        path = "/etc/" + name
        if os.path.islink(path):
            plan.links[path] = os.readlink(path)
        elif os.path.isfile(path):
            with open(path, "rb") as handle:
                plan.files[path] = handle.read()
    for name in ETC_BINDS:
        if os.path.isdir("/etc/" + name):
            plan.bind("/etc/" + name, "/etc/" + name, "ro")
    plan.files.update({"/etc/" + name: text.encode() for name, text in ETC_FILES.items()})
    for name in DEVICES:
        plan.bind("/dev/" + name, "/dev/" + name, "dev")
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        plan.links["/dev/" + name] = target
    size = config["limits"]["tmp_size"]
    for target in ("/tmp", "/dev/shm"):
        plan.mounts.append((target, "tmpfs", f"mode=1777,size={size},nr_inodes=65536"))
    plan.mounts.append(("/proc", "proc", None))
    plan.bind(config["workdir"], HOME, "rw")
    for path in sorted(config["readonly"], key=len):
        real = os.path.realpath(path)
        if not plan.covered(real):
            plan.bind(real, real, "ro")
        if path != real and not plan.covered(path):
            plan.links[path] = real
    return plan


def staging_dir() -> str:
    """A host directory to mount the new root on (hidden only inside our mount namespace)."""
    for path in ("/tmp", "/mnt", "/run", "/var/tmp"):
        if os.path.isdir(path) and not os.path.islink(path):
            return path
    raise SetupError("staging: no directory to mount the new root on (/tmp, /mnt, /run)")


def make_parent(path: str) -> None:
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)


def mount_one(root: str, target: str, kind: str, detail: Any) -> None:
    """Create the mount point ``root + target`` and mount there."""
    where = root + target
    make_parent(where)
    if kind in ("tmpfs", "proc"):
        os.makedirs(where, mode=0o755, exist_ok=True)
        flags = MS_NOSUID | MS_NODEV | (MS_NOEXEC if kind == "proc" else 0)
        mount(kind, where, kind, flags, detail)
        return
    fd, is_dir, locked = detail
    if is_dir:
        os.makedirs(where, mode=0o755, exist_ok=True)
    else:
        os.close(os.open(where, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    mount(f"/proc/self/fd/{fd}", where, None, MS_BIND)
    if kind == "ro":
        mount(None, where, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | locked)
    elif kind == "rw":
        mount(None, where, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | locked)


def pivot_root(new_root: str) -> None:
    """Make ``new_root`` the root and detach the host tree (pivot_root(2), ". ." idiom)."""
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(f"pivot_root: unknown syscall number on {os.uname().machine}")
    os.chdir(new_root)
    _libc_call("pivot_root", libc.syscall(number, b".", b"."))
    _libc_call("umount old root", libc.umount2(b".", MNT_DETACH))
    os.chdir("/")


def become_sandbox_root(ids: tuple[int, int] | None) -> None:
    """As root: become the sandbox's uid 0 (an unprivileged host id), without groups."""
    if ids is not None:
        os.setgroups([])
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)


def build_root(config: dict[str, Any], ids: tuple[int, int] | None) -> None:
    """Build the new root on a tmpfs, pivot into it and make it read-only."""
    with step("make mounts private"):
        mount(None, "/", None, MS_REC | MS_PRIVATE)
    with step("open host paths"):
        plan = plan_root(config)
    with step("switch to the sandbox's root id"):
        become_sandbox_root(ids)
    root = staging_dir()
    with step("mount root tmpfs"):
        mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m,nr_inodes=4096")
    with step("write /etc and links"):
        for path, data in plan.files.items():
            make_parent(root + path)
            with open(root + path, "wb") as handle:
                handle.write(data)
        for path, target in plan.links.items():
            make_parent(root + path)
            os.symlink(target, root + path)
    for target, kind, detail in sorted(plan.mounts, key=lambda m: (m[0].count("/"), m[0])):
        with step(f"mount {target}"):
            mount_one(root, target, kind, detail)
    with step("pivot_root"):
        pivot_root(root)
    with step("remount / read-only"):
        mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for fd in plan.fds:
        os.close(fd)
    with step("hostname"):
        _libc_call("sethostname", libc.sethostname(b"sandbox", 7))
    forbid_nested_namespaces()


def forbid_nested_namespaces() -> None:
    """Let no process of the sandbox create a user namespace (less kernel to attack).

    The limit is per user namespace (sysctl user.max_user_namespaces, namespaces(7)); where the
    kernel refuses, nested namespaces stay possible, which the mount locks make harmless.
    """
    try:
        with open("/proc/sys/user/max_user_namespaces", "w") as handle:
            handle.write("0\n")
    except OSError:
        pass


def run_init(config: dict[str, Any], ids: tuple[int, int] | None, parent_alive: int) -> NoReturn:
    """Pid 1: build the root, start the student process, reap until it ends."""
    with step("init"):
        os.close(config["control_fd"])
        die_with_parent(parent_alive=parent_alive)
        os.close(parent_alive)
        prctl(PR_SET_DUMPABLE, 0)  # no ptrace, no /proc/1/{environ,root,fd} for the student
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # pid 1 ignores unhandled signals
        os.umask(0o022)
    build_root(config, ids)
    student = os.fork()
    if student == 0:
        guarded(lambda: run_student(config, ids))
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, 2**31 - 1)  # the caller's pipes must see EOF when the student is gone
    while True:
        pid, status = os.wait()
        if pid == student:
            os._exit(exit_code(status))


# --- student ---------------------------------------------------------------------------------


def set_limits(limits: dict[str, int]) -> None:
    """Per-process resource limits (setrlimit(2)); the soft CPU limit sends SIGXCPU."""
    cpu = limits["cpu_time"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    for name, value in (
        ("RLIMIT_AS", limits["memory"]),
        ("RLIMIT_NPROC", limits["processes"]),
        ("RLIMIT_FSIZE", limits["file_size"]),
        ("RLIMIT_CORE", 0),
        ("RLIMIT_NOFILE", limits["open_files"]),
    ):
        resource.setrlimit(getattr(resource, name), (value, value))


def drop_privileges(ids: tuple[int, int] | None) -> None:
    """Become uid/gid 1000 with no groups; no capability survives the exec."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    if ids is not None:
        os.setgroups([])  # as root we mapped the ids ourselves, groups can be cleared
    os.setresgid(STUDENT_ID, STUDENT_ID, STUDENT_ID)
    os.setresuid(STUDENT_ID, STUDENT_ID, STUDENT_ID)
    if os.getresuid() != (STUDENT_ID,) * 3 or os.getresgid() != (STUDENT_ID,) * 3:
        raise OSError("still not uid/gid 1000")


def keep_only(fds: list[int]) -> None:
    """Close every fd but 0, 1, 2 and ``fds``; refuse directories (they lead out of the root)."""
    keep = sorted({0, 1, 2, *fds})
    for fd in keep:
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue  # not open: nothing to pass on
        if stat.S_ISDIR(mode):
            raise OSError(f"fd {fd} is a directory, which would lead out of the sandbox")
        os.set_inheritable(fd, True)
    low = 0
    for fd in keep:
        if low < fd:  # closerange(n, n) would close everything (close_range(n, UINT_MAX))
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 2**31 - 1)


def run_student(config: dict[str, Any], ids: tuple[int, int] | None) -> NoReturn:
    """Limits, identity, fds, environment, exec. Never returns."""
    with step("session and signals"):
        os.setsid()
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
    with step("resource limits"):
        set_limits(config["limits"])
    with step("drop privileges"):
        drop_privileges(ids)
    with step("working directory"):
        os.chdir(HOME)
    with step("file descriptors"):
        keep_only(config["keep_fds"])
    argv = config["argv"]
    with step(f"exec {argv[0]}"):
        os.execvpe(argv[0], argv, config["env"])


def load_config(argv: list[str]) -> dict[str, Any]:
    """The configuration from argv[1] or the environment."""
    text = argv[1] if len(argv) > 1 else os.environ.get(CONFIG_ENV)
    if not text:
        fail(f"configuration: pass it as the first argument or in ${CONFIG_ENV}")
    return json.loads(text)


def main(argv: list[str]) -> NoReturn:
    """Run the outer process; its exit code is the sandboxed command's (see above)."""
    guarded(lambda: os._exit(outer(load_config(argv))))


if __name__ == "__main__":
    main(sys.argv)
