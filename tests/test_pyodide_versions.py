"""tests/pyodide_versions.py: the pins of requirements-pyodide.txt against a Pyodide lock."""

import json

import pytest
from pyodide_versions import (
    PINS,
    PROJECT_PINS,
    check_declared,
    check_installed,
    check_pins,
    declared_pyodide,
    lock_versions,
    loose_requirements,
    read_pins,
)


def write(path, text):
    path.write_text(text)
    return path


@pytest.fixture
def lock(tmp_path):
    packages = {
        "numpy": {"name": "numpy", "version": "2.4.6"},
        "scipy": {"name": "scipy", "version": "1.18.0"},
        "scikit-learn": {"name": "scikit-learn", "version": "1.8.0"},
        "python-dateutil": {"name": "python-dateutil", "version": "2.9.0.post0"},
    }
    path = tmp_path / "pyodide-lock.json"
    path.write_text(json.dumps({"info": {"python": "3.14.2"}, "packages": packages}))
    return lock_versions(path)


def test_pins_equal_to_the_lock_or_written_down_differences_pass(tmp_path, lock):
    pins = read_pins(
        write(
            tmp_path / "pins.txt",
            "# comment\nnumpy==2.4.6\nScikit_Learn==1.8.0\npython-dateutil==2.9.0.post0\n"
            "scipy==1.17.1  # lock: 1.18.0 (scipy 1.18 requires Python >= 3.12)\n"
            "ipywidgets==8.1.9\n",
        )
    )
    project = read_pins(write(tmp_path / "req.txt", "ipywidgets==8.1.9\n-e .\n"))
    problems, differences = check_pins(pins, lock, project)
    assert problems == []
    assert differences == [
        "scipy 1.17.1 instead of the lock's 1.18.0: scipy 1.18 requires Python >= 3.12"
    ]


@pytest.mark.parametrize(
    "line, message",
    [
        ("numpy==2.4.5", "numpy==2.4.5: the Pyodide lock has 2.4.6"),
        ("scipy==1.17.1", "scipy==1.17.1: the Pyodide lock has 1.18.0"),
        ("scipy==1.17.1  # lock: 1.17.0 (old)", "the comment says the lock has 1.17.0, it has"),
        ("numpy==2.4.6  # lock: 2.4.6 (same)", "equals the lock; drop the '# lock:' comment"),
        ("ipywidgets==8.1.8", "must equal requirements.txt's 8.1.9"),
        ("tqdm==4.67.3", "tqdm==4.67.3: neither in the Pyodide lock nor in requirements.txt"),
    ],
)
def test_a_pin_that_left_the_lock_is_a_problem_naming_it(tmp_path, lock, line, message):
    pins = read_pins(write(tmp_path / "pins.txt", line + "\n"))
    project = read_pins(write(tmp_path / "req.txt", "ipywidgets==8.1.9\n"))
    problems, _ = check_pins(pins, lock, project)
    assert len(problems) == 1 and message in problems[0]


def test_loose_requirements_and_installed_versions_are_found(tmp_path):
    path = write(tmp_path / "pins.txt", "numpy>=2\n# numpy<3\n-e .\npytest==9.0.2\n")
    assert loose_requirements(path) == ["numpy>=2"]
    pins = read_pins(write(tmp_path / "installed.txt", "pytest==0.0.1\nno-such-dist==1.0\n"))
    problems = check_installed(pins)
    assert "pytest==0.0.1 is pinned but" in problems[0]
    assert "no-such-dist==1.0 is not installed" in problems[1]


def test_the_file_pins_exactly_what_the_widgets_need():
    """What can be checked without the lock: exact pins, the libraries the widgets import,
    and ipywidgets (not in the lock) at requirements.txt's version."""
    assert loose_requirements(PINS) == []
    pins, project = read_pins(PINS), read_pins(PROJECT_PINS)
    for name in ("numpy", "ipywidgets", "matplotlib", "scipy", "scikit-learn", "pytest"):
        assert name in pins, f"{name} is not pinned in {PINS.name}"
    assert pins["ipywidgets"].version == project["ipywidgets"].version


def test_once_the_book_pins_pyodide_its_lock_and_version_are_required(tmp_path):
    manifest = write(
        tmp_path / "package.json", json.dumps({"dependencies": {"pyodide": "314.0.6"}})
    )
    assert declared_pyodide(manifest) == "314.0.6"
    assert declared_pyodide(write(tmp_path / "none.json", '{"dependencies": {}}')) is None
    header = "# mirrors pyodide-lock.json of npm pyodide (Pyodide 314.0.6, Python 3.14.2)\n"
    assert check_declared(None, "", lock_present=False) == []  # not pinned yet: nothing to say
    assert check_declared("314.0.6", header, lock_present=True) == []
    moved = check_declared("315.0.0", header, lock_present=True)
    assert len(moved) == 1 and "does not say it mirrors Pyodide 315.0.0" in moved[0]
    missing = check_declared("314.0.6", header, lock_present=False)
    assert len(missing) == 1 and "run npm ci in book/_vendor" in missing[0]
