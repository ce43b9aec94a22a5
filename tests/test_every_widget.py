"""Every explorer that course_lib.widgets exports, every one of its controls moved once.

Parametrised over ``course_lib.widgets.__all__``, so an explorer is covered as soon as it is
exported. Each is built with its defaults (``TrajectoryExplorer``, which needs optimizers, with
the chapter-5 configuration of test_widgets.py) and shows a valid PNG of its figure; then each
control in turn, from the default values (with an option changed if the control only applies
to another choice), is moved as a reader would move it, and each move must render a new valid
image with no warning. ``make pyodide-check`` runs this file, with the other widget tests,
on the JupyterLite kernel's versions of numpy and matplotlib.
"""

import pytest
from test_widgets import (  # noqa: F401  (warnings_are_errors: autouse fixture)
    assert_displays_itself,
    chapter5_explorer,
    check_image,
    control_values,
    warnings_are_errors,
)

import course_lib.widgets

FACTORIES = {"TrajectoryExplorer": chapter5_explorer}


def build(name):
    return FACTORIES.get(name, getattr(course_lib.widgets, name))()


def another_value(control):
    """A value of ``control`` other than its current one: the next option, or the value a
    quarter, half or three quarters along a slider farthest from the current one."""
    current = control.value
    if hasattr(control, "options"):
        values = control_values(control)
        return values[(values.index(current) + 1) % len(values)]
    between = [v for v in control_values(control, n_between=3)[2:] if v != current]
    return max(between, key=lambda v: abs(v - current))


def where_enabled(explorer, name, defaults):
    """Control values, the defaults or the defaults with one option changed, at which control
    ``name`` is enabled (a control that does not apply, such as a step size that only local
    search has, is disabled until a choice makes it apply)."""
    explorer.update(**defaults)
    if not explorer.controls[name].disabled:
        return defaults
    for other, control in explorer.controls.items():
        for option in control_values(control) if hasattr(control, "options") else []:
            explorer.update(**{**defaults, other: option})
            if not explorer.controls[name].disabled:
                return {**defaults, other: option}
    raise AssertionError(f"no choice of one option enables control {name!r}")


@pytest.mark.parametrize("name", course_lib.widgets.__all__)
def test_every_control_of_every_explorer_renders_a_new_image(name):
    explorer = build(name)
    assert_displays_itself(explorer)
    first_png = check_image(explorer)
    defaults = {k: c.value for k, c in explorer.controls.items()}
    assert defaults, f"{name} has no controls"
    for control_name, control in explorer.controls.items():
        values = where_enabled(explorer, control_name, defaults)
        explorer.update(**values)
        default_png = check_image(explorer)
        if values == defaults:  # drawn from the cached panels: the very image drawn first
            assert default_png == first_png, f"{name}: back at the defaults, another image"
        value = another_value(control)
        control.value = value  # as a reader moving the control would
        assert check_image(explorer) != default_png, (
            f"{name}: moving {control_name} from {defaults[control_name]!r} to {value!r} "
            "changed no pixel"
        )
