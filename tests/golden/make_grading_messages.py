"""Write tests/golden/grading_messages.json: the grading messages of every wrong submission.

Run from the repository root:  python tests/golden/make_grading_messages.py

The messages come from the assignments' checkers as they are when the script runs (see
``tests/grading_messages.py`` for what is collected). Regenerate the file only when a message
is meant to change, and review the diff: ``tests/test_grading_messages.py`` fails on any
message that differs from it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grading_messages import main  # noqa: E402

if __name__ == "__main__":
    main()
