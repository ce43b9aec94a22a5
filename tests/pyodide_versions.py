"""Check requirements-pyodide.txt against Pyodide's lock file and the running environment.

The JupyterLite kernel runs numpy, matplotlib, scipy and scikit-learn as built for Pyodide, at
the versions of the lock file (``pyodide-lock.json``) of the npm package ``pyodide`` that the
book's site ships. ``make pyodide-check`` tests the widgets under CPython with those versions,
from requirements-pyodide.txt; this script keeps that file honest:

- every pin of a package that the lock has equals the lock's version, or differs from it with
  a comment ``# lock: <version> (<why>)`` whose version equals the lock's (a version that has
  no build for this CPython: the difference is written down and printed, and it fails once
  the lock moves);
- a package the lock does not have carries requirements.txt's version (what the site serves);
- with ``--installed``, the running Python has exactly the pinned versions (pip resolved
  nothing else for them).

The lock is at book/_vendor/node_modules/pyodide/ once ``npm ci`` has run there (``make book``
runs it). Once book/_vendor/package.json pins ``pyodide``, the lock must be there, and the
header of requirements-pyodide.txt must name that version; before, the comparison with the lock
is skipped, with a message.

    python tests/pyodide_versions.py [--lock PATH] [--installed]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / "requirements-pyodide.txt"
PROJECT_PINS = ROOT / "requirements.txt"
VENDOR = ROOT / "book" / "_vendor"
LOCK = VENDOR / "node_modules" / "pyodide" / "pyodide-lock.json"

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s#;]+)\s*(?:#\s*(.*))?$")
_LOCK_NOTE = re.compile(r"^lock:\s*(\S+)\s*\((.+)\)\s*$")


class Pin(NamedTuple):
    name: str  # normalised (PEP 503)
    version: str
    lock_note: tuple | None  # (lock version, why) from a "# lock: V (why)" comment
    line: int


def read_pins(path):
    """The ``name==version`` lines of a requirements file, as ``{name: Pin}``.

    Other requirement lines (``-e .``, options) are skipped; a pin of another form
    (``>=``, ``~=``) in requirements-pyodide.txt is an error, raised by ``check_pins``.
    """
    pins = {}
    for number, text in enumerate(Path(path).read_text().splitlines(), start=1):
        match = _PIN.match(text)
        if not match:
            continue
        name, version, comment = canonicalize_name(match[1]), match[2], match[3]
        note = _LOCK_NOTE.match(comment.strip()) if comment else None
        pins[name] = Pin(name, version, note.groups() if note else None, number)
    return pins


def loose_requirements(path):
    """Requirement lines that are not ``==`` pins (skipping comments, blanks and options)."""
    loose = []
    for text in Path(path).read_text().splitlines():
        line = text.split("#", 1)[0].strip()
        if line and not line.startswith("-") and not _PIN.match(text):
            loose.append(line)
    return loose


def lock_versions(path):
    """``{normalised name: version}`` of the packages of a Pyodide lock file."""
    try:
        packages = json.loads(Path(path).read_text())["packages"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path} is not a readable Pyodide lock file: {error}") from error
    return {
        canonicalize_name(entry.get("name", key)): entry["version"]
        for key, entry in packages.items()
    }


def check_pins(pins, lock, project_pins):
    """Problems (strings) of ``pins`` against the lock's and the project's versions, and the
    differences from the lock that are written down (strings, to report)."""
    problems, differences = [], []
    for pin in pins.values():
        where = f"{PINS.name}:{pin.line} {pin.name}=={pin.version}"
        if pin.name in lock:
            locked = lock[pin.name]
            if pin.lock_note is None:
                if pin.version != locked:
                    problems.append(f"{where}: the Pyodide lock has {locked}")
            elif pin.version == locked:
                problems.append(f"{where}: equals the lock; drop the '# lock:' comment")
            elif pin.lock_note[0] != locked:
                problems.append(
                    f"{where}: the comment says the lock has {pin.lock_note[0]}, it has {locked}"
                )
            else:
                differences.append(
                    f"{pin.name} {pin.version} instead of the lock's {locked}: {pin.lock_note[1]}"
                )
        elif pin.name in project_pins:
            if pin.version != project_pins[pin.name].version:
                problems.append(
                    f"{where}: not in the Pyodide lock, so it must equal requirements.txt's "
                    f"{project_pins[pin.name].version}"
                )
        else:
            problems.append(f"{where}: neither in the Pyodide lock nor in requirements.txt")
    return problems, differences


def check_installed(pins):
    """Problems: pinned distributions missing from the running Python or at another version."""
    problems = []
    for pin in pins.values():
        try:
            installed = metadata.version(pin.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{pin.name}=={pin.version} is not installed in {sys.prefix}")
            continue
        if installed != pin.version:
            problems.append(f"{pin.name}=={pin.version} is pinned but {installed} is installed")
    return problems


def declared_pyodide(package_json):
    """The version of npm ``pyodide`` that ``package_json`` depends on, or None."""
    try:
        manifest = json.loads(Path(package_json).read_text())
    except (OSError, ValueError):
        return None
    for section in ("dependencies", "devDependencies"):
        spec = manifest.get(section, {}).get("pyodide")
        if spec:
            return spec.lstrip("^~=v")
    return None


def check_declared(declared, pins_text, lock_present):
    """Problems when the book's npm manifest pins ``pyodide``: the pins must say they mirror
    that version, and its lock must be installed to compare with."""
    if declared is None:
        return []
    problems = []
    if f"Pyodide {declared}" not in pins_text:
        problems.append(
            f"{PINS.name} does not say it mirrors Pyodide {declared}, the version that "
            f"book/_vendor/package.json pins: update its pins and its header from that lock"
        )
    if not lock_present:
        problems.append(
            f"book/_vendor/package.json pins pyodide {declared} but its lock file is not "
            "installed: run npm ci in book/_vendor (make book does)"
        )
    return problems


def pyodide_release(lock_path):
    """``"Pyodide <version>, Python <version>"`` from the lock's npm package, when known."""
    try:
        version = json.loads((Path(lock_path).parent / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        version = "?"
    try:
        python = json.loads(Path(lock_path).read_text())["info"]["python"]
    except (OSError, ValueError, KeyError):
        python = "?"
    return f"Pyodide {version}, Python {python}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock", type=Path, default=LOCK, help="pyodide-lock.json to compare")
    parser.add_argument(
        "--installed", action="store_true", help="also check the running Python's versions"
    )
    args = parser.parse_args(argv)

    pins = read_pins(PINS)
    problems = [
        f"{PINS.name}: '{line}' is not an exact pin (name==version)"
        for line in loose_requirements(PINS)
    ]
    problems += check_declared(
        declared_pyodide(VENDOR / "package.json"), PINS.read_text(), args.lock.is_file()
    )
    if args.lock.is_file():
        lock = lock_versions(args.lock)
        found, differences = check_pins(pins, lock, read_pins(PROJECT_PINS))
        problems += found
        print(f"{PINS.name}: {len(pins)} pins against {args.lock} ({pyodide_release(args.lock)})")
        for difference in differences:
            print(f"  differs from the lock, as written down: {difference}")
    else:
        print(
            f"{args.lock} not found (npm ci in book/_vendor installs it; make book runs it): "
            "the pins are not compared with the Pyodide lock"
        )
    if args.installed:
        problems += check_installed(pins)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) with {PINS.name}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
