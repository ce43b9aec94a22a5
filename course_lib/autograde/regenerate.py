"""Regenerate a student version safely: ``python -m course_lib.autograde.regenerate ASSIGNMENT``.

``nbgrader generate_assignment ASSIGNMENT --force`` first deletes ``exercises/ASSIGNMENT/`` and
then rebuilds it. Once the gradebook holds submissions of the assignment, nbgrader refuses to
add or remove its cells ("Cannot add or remove cells ... because there are submissions"), so
an edit of the solution notebook leaves the release directory deleted and nothing in its
place. This command checks first: with submissions in the gradebook it refuses (exit status
2) and changes nothing; otherwise it runs that nbgrader command. Run it from the course root.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Optional, Sequence


def submissions(assignment: str, course_dir: str = ".") -> list:
    """The students with a submission of ``assignment`` in the course's gradebook."""
    import os

    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    root = os.path.abspath(course_dir)
    config = PyFileConfigLoader("nbgrader_config.py", path=root).load_config()
    coursedir = CourseDirectory(config=config, root=root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            return []
        return sorted(sub.student_id for sub in found.submissions)


def _find_alembic_beside_python() -> None:
    """nbgrader runs `alembic` by name to create or upgrade a gradebook: put this Python's
    scripts folder first on PATH, so that it is found when the environment is not activated."""
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


def main(argv: Optional[Sequence[str]] = None) -> int:
    _find_alembic_beside_python()
    p = argparse.ArgumentParser(
        prog="python -m course_lib.autograde.regenerate",
        description="Regenerate exercises/ASSIGNMENT from solutions/ with nbgrader, unless "
        "the gradebook already holds submissions of it.",
    )
    p.add_argument("assignment", help="the assignment's name, e.g. ps01")
    p.add_argument("--course-dir", default=".", help="the course's root directory (default: .)")
    args = p.parse_args(argv)
    handed_in = submissions(args.assignment, args.course_dir)
    if handed_in:
        print(
            f"error: refusing to regenerate {args.assignment}: the gradebook holds "
            f"{len(handed_in)} submission(s) of it ({', '.join(handed_in[:5])}"
            f"{', ...' if len(handed_in) > 5 else ''}). nbgrader would delete "
            f"exercises/{args.assignment}/ and then fail to rebuild it. Students were graded "
            "against the released version: leave it as it is (see docs/grading.md).",
            file=sys.stderr,
        )
        return 2
    return subprocess.call(
        [sys.executable, "-m", "nbgrader", "generate_assignment", args.assignment, "--force"],
        cwd=args.course_dir,
    )


if __name__ == "__main__":
    sys.exit(main())
