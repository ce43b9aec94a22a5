"""``python -m course_lib.autograde ASSIGNMENT [--jobs N] [--student ID ...]``."""

import sys

from course_lib.autograde.cli import main

sys.exit(main())
