"""nbgrader's ``OverwriteCells``, reporting only what a student really changed.

Before grading, nbgrader puts back every locked cell (the setup cells and the test cells) from the
gradebook, and warns for each one whose text differs. A student's test cells always differ: they are
the release's, without the hidden tests. This subclass still restores every cell, but warns only where
the student changed the release's text (with its message saying so), and never for the hidden tests the
release never had. SQLAlchemy's warnings about nbgrader's own session handling are silenced in
``nbgrader_config.py``.
"""

from __future__ import annotations

from nbgrader.preprocessors import OverwriteCells

from autograder.feedback import HIDDEN


def released_text(source: str) -> str:
    """A locked cell's text as the release has it (hidden tests removed), for comparison."""
    return "\n".join(line.rstrip() for line in HIDDEN.sub("", source).strip().splitlines())


class RestoreLockedCells(OverwriteCells):
    def preprocess_cell(self, cell, resources, cell_index):
        self._student_text = cell.source
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new) -> None:
        if attr != "checksum":
            super().report_change(name, attr, old, new)
            return
        source = self.gradebook.find_source_cell(name, self.notebook_id, self.assignment_id).source
        if released_text(source) != released_text(self._student_text):
            self.log.warning("The student changed the locked cell %s; it is restored from the source notebook.",
                             name)
