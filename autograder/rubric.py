"""The rubric and model answer of each written answer, beside the student's answer in formgrader, never in feedback.

The instructor's version of a written answer (a markdown cell nbgrader grades by hand) holds the rubric and
a model answer in its solution region; the students' release replaces that region. While autograding,
``ShowRubric`` copies each region from the instructor's version (``solutions/`` of the course root) into a
new markdown cell right after the student's answer in the autograded notebook, the one formgrader shows
for manual grading. The cell carries the tag ``RUBRIC_TAG`` and no nbgrader metadata, so it is neither
graded nor checked. ``HideRubric``, the first step of generating feedback, removes every cell with that
tag, so the page a student gets back holds their own answer only.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

RUBRIC_TAG = "gancourse-rubric"
SOLUTION = re.compile(r"### BEGIN SOLUTION\n?(.*?)### END SOLUTION", re.DOTALL)
HEADING = "**For the grader: the rubric and a model answer** (from the instructor's version; not in the feedback)"


def written_answers(nb) -> dict[str, str]:
    """grade_id -> the solution region of each written answer (a graded markdown cell) of a notebook."""
    regions = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown" and is_grade(cell) and is_solution(cell):
            found = SOLUTION.search(cell.source)
            if found and found.group(1).strip():
                regions[cell.metadata["nbgrader"]["grade_id"]] = found.group(1).strip()
    return regions


def _course_directory(preprocessor):
    owner = preprocessor
    while owner is not None and not hasattr(owner, "coursedir"):
        owner = getattr(owner, "parent", None)
    return None if owner is None else owner.coursedir


class ShowRubric(NbGraderPreprocessor):
    """Put each written answer's rubric and model answer after the student's answer (for formgrader)."""

    def preprocess(self, nb, resources):
        coursedir = _course_directory(self)
        info = resources.get("nbgrader", {})
        if coursedir is None or "assignment" not in info:
            return nb, resources
        source = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"])) \
            / f"{info['notebook']}.ipynb"
        if not source.is_file():
            self.log.warning("no instructor's version at %s: formgrader shows no rubric", source)
            return nb, resources
        rubrics = written_answers(nbformat.read(source, as_version=4))
        cells = []
        for cell in nb.cells:
            tags = cell.metadata.get("tags", [])
            if RUBRIC_TAG in tags:  # a student's cell keeps showing, and in the feedback too
                cell.metadata["tags"] = [t for t in tags if t != RUBRIC_TAG]
            cells.append(cell)
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "markdown" and is_grade(cell) and grade_id in rubrics:
                cells.append(nbformat.v4.new_markdown_cell(f"{HEADING}\n\n{rubrics[grade_id]}",
                                                           metadata={"tags": [RUBRIC_TAG]}))
        nb.cells = cells
        return nb, resources


class HideRubric(NbGraderPreprocessor):
    """Remove the rubric cells ``ShowRubric`` added: feedback shows the student's own answers only."""

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if RUBRIC_TAG not in cell.metadata.get("tags", [])]
        return nb, resources
