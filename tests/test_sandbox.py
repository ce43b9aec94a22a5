"""The sandbox that runs a student's code: real processes trying real ways out.

Each test runs a small Python script inside a ``Sandbox`` over a scratch directory laid out like
a course (gradebook, solutions, other students, the instructor's home) and checks what the
script could and could not do.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from course_lib.autograde.sandbox import (
    BASE_ENV,
    KILLED,
    SETUP_FAILED,
    Limits,
    Sandbox,
    SandboxUnavailable,
    check_available,
)


def user_namespaces_work() -> bool:
    """Whether a process may create a user namespace here (the sandbox's one precondition)."""
    if not sys.platform.startswith("linux"):
        return False
    pid = os.fork()
    if pid == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        os._exit(0 if libc.unshare(0x10000000) == 0 else 1)  # CLONE_NEWUSER
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


# Skip only when the machine cannot have sandboxes; a broken sandbox must fail the tests.
needs_sandbox = pytest.mark.skipif(
    not user_namespaces_work(), reason="user namespaces are not available here"
)
IS_ROOT = os.geteuid() == 0
FAST = Limits(wall_time=20)


def run(workdir, code: str, limits: Limits = FAST, args=(), **options) -> SimpleNamespace:
    """Run ``python -c code *args`` in a sandbox; its status, stdout and stderr."""
    with Sandbox(str(workdir), limits, **options) as box:
        proc = box.popen(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = proc.communicate(timeout=30)
        return SimpleNamespace(status=box.wait(), out=out.decode(), err=err.decode())


def processes_with(marker: str) -> list[int]:
    """Host pids whose command line contains ``marker``."""
    found = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                if marker.encode() in handle.read():
                    found.append(int(name))
        except (OSError, ValueError):
            continue
    return found


@pytest.fixture
def course(tmp_path):
    """A course tree; the sandbox gets alice's submission only. Secret names carry a token."""
    token = secrets.token_hex(8)
    root = tmp_path / "course"
    alice = root / "submitted" / "alice" / "ps01"
    alice.mkdir(parents=True)
    (alice / "answer.py").write_text("ANSWER = 42\n")
    secrets_on_host = {
        "gradebook": root / f"gradebook-{token}.db",
        "solution": root / "solutions" / f"ps01-{token}.ipynb",
        "bob": root / "submitted" / "bob" / "ps01" / f"bob-{token}.ipynb",
        "root_only": root / f"root-only-{token}.txt",
    }
    for path in secrets_on_host.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"secret {token}\n")
    secrets_on_host["root_only"].chmod(0o600)
    home = Path(os.path.expanduser("~"))
    home_file = home / f".sandbox-test-{token}"
    try:
        home_file.write_text(f"secret {token}\n")
        secrets_on_host["home"] = home_file
    except OSError:
        pass  # an unwritable home cannot leak a file we could not write
    yield SimpleNamespace(root=root, workdir=alice, token=token, secrets=secrets_on_host)
    home_file.unlink(missing_ok=True)


# --- arguments -------------------------------------------------------------------------------


def test_limits_are_validated():
    with pytest.raises(
        ValueError, match="memory must be a positive integer number of bytes, got -1"
    ):
        Limits(memory=-1)
    with pytest.raises(ValueError, match="cpu_time must be a positive integer"):
        Limits(cpu_time=True)
    with pytest.raises(ValueError, match="wall_time must be a positive finite number"):
        Limits(wall_time=float("inf"))


def test_sandbox_arguments_are_validated(course):
    with pytest.raises(ValueError, match="workdir must be an existing directory"):
        Sandbox(str(course.root / "missing"))
    with pytest.raises(ValueError, match="readonly_paths must be paths that do not contain"):
        Sandbox(str(course.workdir), readonly_paths=[str(course.root)])
    with pytest.raises(ValueError, match="readonly_paths must be existing paths"):
        Sandbox(str(course.workdir), readonly_paths=[str(course.root / "missing")])


@needs_sandbox
def test_check_available_passes_where_namespaces_work():
    check_available()
    check_available()  # cached


def test_unavailable_is_a_runtime_error():
    assert issubclass(SandboxUnavailable, RuntimeError)


# --- files -----------------------------------------------------------------------------------


@needs_sandbox
def test_own_files_are_readable_and_writable(course):
    scratch = f"/tmp/scratch-{course.token}.txt"
    result = run(
        course.workdir,
        f"""
        import os
        from answer import ANSWER
        with open("answer.py", "a") as handle:
            handle.write("MORE = 1\\n")
        with open("/home/student/new.txt", "w") as handle:
            handle.write(str(ANSWER))
        with open("{scratch}", "w") as handle:
            handle.write("the sandbox's /tmp is its own")
        print(os.getcwd(), os.environ["HOME"])
    """,
    )
    assert result.status == 0, result.err
    assert result.out.split() == ["/home/student", "/home/student"]
    assert (course.workdir / "new.txt").read_text() == "42"
    assert (course.workdir / "answer.py").read_text() == "ANSWER = 42\nMORE = 1\n"
    assert not os.path.exists(scratch)


@needs_sandbox
def test_course_files_are_unreachable(course):
    host_paths = [str(p) for p in course.secrets.values()]
    relative = [
        "../../bob/ps01/" + course.secrets["bob"].name,
        "../../../" + course.secrets["gradebook"].name,
        "/home/student/../../../" + course.secrets["gradebook"].name,
    ]
    tries = (
        host_paths
        + relative
        + [
            prefix + p
            for p in host_paths
            for prefix in ("/proc/1/root", "/proc/self/root", "/proc/1/cwd/../..")
        ]
    )
    result = run(
        course.workdir,
        """
        import json, os, sys
        token, tries = sys.argv[1], json.loads(sys.argv[2])
        opened = []
        for path in tries:
            try:
                with open(path) as handle:
                    opened.append((path, handle.read()))
            except OSError:
                pass
        seen = [os.path.join(top, name)
                for top, dirs, files in os.walk("/")
                for name in dirs + files if token in name]
        roots = [line.split()[4:] for line in open("/proc/self/mountinfo")
                 if line.split()[4] == "/"]
        print(json.dumps({"opened": opened, "seen": seen, "root": sorted(os.listdir("/")),
                          "roots": roots}))
    """,
        args=[course.token, json.dumps(tries)],
    )
    assert result.status == 0, result.err
    report = json.loads(result.out)
    assert report["opened"] == []
    assert report["seen"] == []
    (mount,) = report["roots"]  # one mount at "/": the host's root is detached, not stacked
    assert mount[mount.index("-") + 1] == "tmpfs"
    assert set(report["root"]) <= {
        "bin",
        "dev",
        "etc",
        "home",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "proc",
        "sbin",
        "tmp",
        "usr",
        *(p.split("/")[1] for p in (sys.prefix, sys.base_prefix)),
    }


@needs_sandbox
@pytest.mark.skipif(not IS_ROOT, reason="only a root grader maps the student to another uid")
def test_root_only_file_is_unreadable_even_when_shown(course, tmp_path):
    shown = tmp_path / "shown"
    shown.mkdir()
    (shown / "public.txt").write_text("public")
    (shown / "private.txt").write_text("private")
    (shown / "private.txt").chmod(0o600)
    result = run(
        course.workdir,
        f"""
        print(open("{shown}/public.txt").read())
        try:
            open("{shown}/private.txt").read()
        except PermissionError:
            print("denied")
    """,
        readonly_paths=[str(shown)],
    )
    assert result.out.split() == ["public", "denied"], result.err


@needs_sandbox
def test_system_python_and_shown_paths_are_read_only(course, tmp_path):
    shown = tmp_path / "shown"
    shown.mkdir()
    (shown / "module.py").write_text("X = 1\n")
    (shown / "module.py").chmod(0o666)  # only the read-only mount protects these two
    shown.chmod(0o777)
    targets = [
        str(shown / "new.py"),
        "/usr/evil.txt",
        os.path.join(sys.prefix, "evil.txt"),
        os.path.join(sys.prefix, "pyvenv.cfg")
        if sys.prefix != sys.base_prefix
        else os.path.join(sys.base_prefix, "evil2.txt"),
        str(shown / "module.py"),
        "/etc/passwd",
        "/evil.txt",
        "/bin/evil",
    ]
    result = run(
        course.workdir,
        """
        import json, os, sys
        written = []
        for path in json.loads(sys.argv[1]):
            try:
                with open(path, "a") as handle:
                    handle.write("evil")
                written.append(path)
            except OSError:
                pass
            try:
                os.chmod(path, 0o777)
                written.append("chmod " + path)
            except OSError:
                pass
        print(json.dumps(written))
    """,
        args=[json.dumps(targets)],
        readonly_paths=[str(shown)],
    )
    assert result.status == 0, result.err
    assert json.loads(result.out) == []
    assert not os.path.exists("/usr/evil.txt")
    assert (shown / "module.py").read_text() == "X = 1\n"
    assert sorted(os.listdir(shown)) == ["module.py"]


# --- privileges ------------------------------------------------------------------------------


@needs_sandbox
def test_student_has_no_privileges_and_cannot_remount(course):
    result = run(
        course.workdir,
        """
        import ctypes, json, os
        libc = ctypes.CDLL(None, use_errno=True)
        MS_RDONLY, MS_REMOUNT, MS_BIND = 1, 32, 4096
        status = dict(line.split(":\\t") for line in open("/proc/self/status").read().splitlines()
                      if line.startswith(("Cap", "NoNewPrivs")))
        attempts = {
            "remount /usr rw": libc.mount(None, b"/usr", None, MS_REMOUNT | MS_BIND, None),
            "remount / rw": libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND, None),
            "tmpfs over home": libc.mount(b"x", b"/home/student", b"tmpfs", 0, None),
            "umount /usr": libc.umount2(b"/usr", 2),
            "new user namespace": libc.unshare(0x10000000 | 0x00020000),
        }
        print(json.dumps({"ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid()],
                          "groups": os.getgroups(), "status": status, "attempts": attempts}))
    """,
    )
    assert result.status == 0, result.err
    report = json.loads(result.out)
    assert report["ids"] == [1000, 1000, 1000, 1000]
    if IS_ROOT:
        assert report["groups"] == []
    for cap in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert int(report["status"][cap], 16) == 0
    assert report["status"]["NoNewPrivs"].strip() == "1"
    assert all(code == -1 for code in report["attempts"].values()), report["attempts"]


@needs_sandbox
def test_environment_is_scrubbed(course, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", course.token)
    result = run(
        course.workdir, "import json, os; print(json.dumps(dict(os.environ)))", env={"EXTRA": "yes"}
    )
    env = json.loads(result.out)
    assert course.token not in result.out
    assert env == {**BASE_ENV, "EXTRA": "yes"}


@needs_sandbox
def test_no_network(course):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = run(
            course.workdir,
            """
            import socket, sys
            for address in [("127.0.0.1", int(sys.argv[1])), ("1.1.1.1", 53), ("::1", 22)]:
                try:
                    socket.create_connection(address, timeout=2).close()
                    print("connected", address)
                except OSError:
                    pass
            print([name for _, name in socket.if_nameindex()])
        """,
            args=[str(port)],
        )
    assert result.status == 0, result.err
    assert result.out.split() == ["['lo']"]


@needs_sandbox
def test_passed_fds_are_a_private_channel(course):
    to_box_r, to_box_w = os.pipe()
    from_box_r, from_box_w = os.pipe()
    with Sandbox(str(course.workdir), FAST) as box:
        box.popen(
            [
                sys.executable,
                "-c",
                "import os, sys; r, w = map(int, sys.argv[1:]); "
                "os.write(w, os.read(r, 100).upper())",
                str(to_box_r),
                str(from_box_w),
            ],
            pass_fds=[to_box_r, from_box_w],
        )
        os.close(to_box_r)
        os.close(from_box_w)
        os.write(to_box_w, b"ping")
        assert os.read(from_box_r, 100) == b"PING"
        assert box.wait(20) == 0
    os.close(to_box_w)
    os.close(from_box_r)


# --- limits ----------------------------------------------------------------------------------


@needs_sandbox
def test_memory_limit_raises_memory_error(course):
    limit = 512 * 1024**2
    result = run(
        course.workdir,
        f"""
        try:
            block = bytearray({3 * limit})
            print("allocated")
        except MemoryError:
            print("MemoryError")
    """,
        limits=Limits(wall_time=20, memory=limit),
    )
    assert result.status == 0, result.err
    assert result.out.strip() == "MemoryError"


@needs_sandbox
def test_cpu_limit_kills_a_busy_loop(course):
    result = run(course.workdir, "while True: pass", limits=Limits(wall_time=20, cpu_time=1))
    assert result.status == 128 + signal.SIGXCPU


@needs_sandbox
def test_process_limit_stops_a_fork_bomb(course):
    marker = "fork-bomb-" + secrets.token_hex(8)
    result = run(
        course.workdir,
        """
        import os, time
        started = 0
        for _ in range(100):
            try:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                started += 1
            except OSError as exc:
                print("refused", exc.errno)
                break
        print("started", started)
    """,
        limits=Limits(wall_time=20, processes=8),
        args=[marker],
    )
    lines = result.out.splitlines()
    assert lines[0] == f"refused {errno.EAGAIN}", result.err
    started = int(lines[1].split()[1])
    assert 1 <= started <= 7  # 8 processes of the student user, the script included
    assert processes_with(marker) == []  # the sleepers died with the sandbox


@needs_sandbox
def test_file_size_limit(course):
    result = run(
        course.workdir,
        """
        try:
            with open("big.bin", "wb") as handle:
                handle.write(bytes(2 * 1024**2))
        except OSError as exc:
            print("refused", exc.errno)
    """,
        limits=Limits(wall_time=20, file_size=1024**2),
    )
    assert result.out.strip() == f"refused {errno.EFBIG}", result.err
    assert (course.workdir / "big.bin").stat().st_size <= 1024**2


@needs_sandbox
def test_wall_time_limit_is_enforced_by_the_launcher(course):
    result = run(course.workdir, "import time; time.sleep(60)", limits=Limits(wall_time=1))
    assert result.status == KILLED
    assert "wall time limit of 1 s reached" in result.err


# --- every process ends ----------------------------------------------------------------------

DAEMON = """
    import os, signal, sys, time
    marker = sys.argv[1]
    ready, up = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.set_inheritable(up, True)
            code = ("import os, signal, time; "
                    "[signal.signal(s, signal.SIG_IGN) for s in (signal.SIGTERM, signal.SIGHUP)]; "
                    f"os.write({up}, b'up'); time.sleep(1000)")
            os.execv(sys.executable, [sys.executable, "-c", code, marker])
        os._exit(0)
    os.close(up)
    os.wait()
    assert os.read(ready, 2) == b"up"
    print("daemon up", flush=True)
"""


def start_daemon(box: Sandbox, marker: str, then: str) -> subprocess.Popen:
    """Start a double-forked daemon tagged ``marker``; wait until it runs."""
    code = textwrap.dedent(DAEMON) + then
    proc = box.popen(
        [sys.executable, "-c", code, marker],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.readline() == b"daemon up\n", proc.stderr.read()
    return proc


@needs_sandbox
def test_kill_ends_a_daemon(course):
    marker = "daemon-" + secrets.token_hex(8)
    with Sandbox(str(course.workdir), FAST) as box:
        start_daemon(box, marker, "time.sleep(1000)\n")
        assert processes_with(marker)  # the daemon is really running on the host
        box.kill()
        assert processes_with(marker) == []
        box.kill()  # idempotent


@needs_sandbox
def test_normal_exit_leaves_no_process(course):
    marker = "daemon-" + secrets.token_hex(8)
    with Sandbox(str(course.workdir), FAST) as box:
        proc = start_daemon(box, marker, "print('bye', flush=True)\n")
        assert box.wait(20) == 0
        assert proc.stdout.read() == b"bye\n"
        assert processes_with(marker) == []


@needs_sandbox
def test_wait_times_out_and_kill_ends_an_endless_loop(course):
    marker = "loop-" + secrets.token_hex(8)
    with Sandbox(str(course.workdir), FAST) as box:
        proc = box.popen([sys.executable, "-c", "while True: pass", marker])
        assert box.wait(timeout=0.5) is None
        box.kill()
        assert proc.returncode == KILLED
        assert box.wait() == KILLED
        assert processes_with(marker) == []


@needs_sandbox
def test_context_exit_kills(course):
    marker = "loop-" + secrets.token_hex(8)
    with Sandbox(str(course.workdir), FAST) as box:
        box.popen([sys.executable, "-c", "import time; time.sleep(60)", marker])
    assert processes_with(marker) == []


# --- setup failures --------------------------------------------------------------------------


@needs_sandbox
def test_missing_program_is_a_setup_failure(course):
    with Sandbox(str(course.workdir), FAST) as box:
        proc = box.popen(["/no/such/program"], stderr=subprocess.PIPE)
        err = proc.communicate(timeout=20)[1].decode()
        assert box.wait() == SETUP_FAILED
    assert "sandbox setup failed at exec /no/such/program" in err


@needs_sandbox
def test_vanished_readonly_path_is_a_setup_failure(course, tmp_path):
    shown = tmp_path / "vanishing"
    shown.mkdir()
    marker = "never-" + secrets.token_hex(8)
    with Sandbox(str(course.workdir), FAST, readonly_paths=[str(shown)]) as box:
        shown.rmdir()
        proc = box.popen(
            [sys.executable, "-c", "print('ran')", marker],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = proc.communicate(timeout=20)
        assert box.wait() == SETUP_FAILED
    assert out == b""
    assert "sandbox setup failed at open host paths" in err.decode()
    assert str(shown) in err.decode()
