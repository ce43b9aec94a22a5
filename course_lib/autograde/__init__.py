"""Instructor tooling: grade a class's submissions in isolation, in parallel, with nbgrader.

Run from the course root::

    python -m course_lib.autograde ps01 --jobs 2

Student notebooks never import this package. How it works and what it defends against is in
docs/autograde.md. The modules, in the order a submission meets them:

- ``batch``: finds the submissions, repairs unreadable notebooks, drives nbgrader's own
  converter (the only code that writes gradebook.db) and a pool of clean workers.
- ``worker``: grades one submission in a clean process that never runs student code: it
  starts a ``sandbox`` running ``kernel``, executes the trusted test cells itself and asks
  the sandbox only for plain data (``wire``).
- ``sandbox``: Linux namespaces and resource limits around the student's code.
- ``kernel``: the student's side: executes cells with IPython, answers requests.
- ``similarity``: a report of similar submissions (copying cannot be detected by tests).
"""
