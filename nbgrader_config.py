"""nbgrader configuration of the course (run every nbgrader command from the repository root).

Layout: nbgrader's "source" directory is solutions/ (instructor notebooks: solutions, hidden
tests, mark schemes) and its "release" directory is exercises/ (the student versions,
generated with `nbgrader generate_assignment`, committed). Everything nbgrader creates from
students' work (submitted/, autograded/, feedback/, downloaded/, gradebook.db) is student
data and stays out of git. The workflows are described in docs/grading.md.
"""

import nbformat
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    ClearHiddenTests,
    ClearMarkScheme,
    GetGrades,
    NbGraderPreprocessor,
)
from traitlets import List

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

c.CourseDirectory.course_id = "optimization-for-deep-learning"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# Autograding. Each cell may run for at most `timeout` seconds; a cell that takes longer is
# interrupted, gets an error (0 points if it is a test cell) and grading goes on with the next
# cell and the next student. The checkers stop a single call of a student's function sooner
# (course_lib.grading.TIME_LIMIT) with a clearer message.
c.Execute.timeout = 60
# A test cell that a student deleted is put back (and run) instead of silently scoring 0.
# Edited test cells are always restored from the gradebook.
c.OverwriteCells.add_missing_cells = True


class SanitizeFeedback(NbGraderPreprocessor):
    """Remove from feedback what students must not see: hidden tests and mark schemes.

    The autograded notebook, from which feedback is made, holds the hidden tests (restored
    from the gradebook to run them) and the task cells' mark schemes, and nbgrader's default
    feedback shows both. This removes the hidden-test and mark-scheme regions from the cell
    sources (with nbgrader's own ClearHiddenTests and ClearMarkScheme) and, in cells that hold
    hidden tests, every output except the error's name and message: a traceback would print
    the lines around the failing one, hidden lines included, and a test could print values.
    A GradingError's message says what is wrong without revealing the test.
    """

    display_data_priority = List(config=True)  # accepted (as nbconvert sets it), unused

    def preprocess(self, nb, resources):
        hidden_tests, mark_scheme = ClearHiddenTests(), ClearMarkScheme()
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and hidden_tests.begin_test_delimeter in cell.source:
                cell.outputs = [
                    nbformat.v4.new_output(
                        "error",
                        ename=out.ename,
                        evalue=out.evalue,
                        traceback=[f"\x1b[0;31m{out.ename}\x1b[0m: {out.evalue}"],
                    )
                    for out in cell.outputs
                    if out.output_type == "error"
                ]
            hidden_tests.preprocess_cell(cell, resources, index)
            mark_scheme.preprocess_cell(cell, resources, index)
        return nb, resources


# Feedback (the HTML students receive) shows scores, comments, the student's own code and the
# visible tests, but no hidden test (neither its source nor its output) and no mark scheme.
c.GenerateFeedback.preprocessors = [GetGrades, SanitizeFeedback, CSSHTMLHeaderPreprocessor]

# Submissions downloaded from a learning management system, for `nbgrader zip_collect`:
# put the export (a zip, or the files) in downloaded/<assignment>/archive/. The pattern
# below reads Canvas file names, "<login>_<user id>_<submission id>_<file name>" (with
# "_LATE" after the login for late work, and "-1", "-2" added by Canvas to resubmissions),
# e.g. "doejane_LATE_123456_7890123_ps01-1.ipynb" -> student "doejane", notebook ps01.ipynb.
# For another system, change the pattern so that it captures student_id and file_id.
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[\w.\-]+?)(?:_LATE)?_\d+_\d+_(?P<file_id>\w+?)(?:-\d+)?\.ipynb$"
)
