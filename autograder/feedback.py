"""Feedback that tells students why they lost points without showing the hidden tests.

nbgrader's feedback is the autograded notebook rendered to HTML, hidden test code and grader
tracebacks included. This preprocessor, run by ``nbgrader generate_feedback`` (see
nbgrader_config.py), removes the hidden-test regions from test cells and shortens the error of a
graded cell to its last line: the check's message, which says what was observed.
"""

from __future__ import annotations

from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.utils import is_grade


class HideHiddenTests(ClearHiddenTests):
    """Strip hidden tests and grader tracebacks from graded cells before rendering feedback."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not is_grade(cell):
            return cell, resources
        if self._remove_hidden_test_region(cell):
            cell.source = cell.source.rstrip("\n") + "\n# (hidden tests ran here)"
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
