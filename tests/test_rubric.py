"""The rubric and model answer of each written answer appear after the student's answer for the grader, and
never in the feedback (autograder/rubric.py). Through nbgrader: tests/test_hub_live.py (formgrader's page, and
the feedback a student fetches)."""

from __future__ import annotations

import nbformat
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config, LoggingConfigurable

from autograder.rubric import RUBRIC_TAG, HideRubric, ShowRubric, written_answers
from tests.conftest import REPO, student_notebook

ASSIGNMENT, NOTEBOOK = "portfolio_cgan", "portfolio"
SOURCE = REPO / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
RELEASE = REPO / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"


class Converter(LoggingConfigurable):
    """Stands in for nbgrader's converter, which owns the course directory (the preprocessors' grandparent)."""

    def __init__(self):
        super().__init__()
        self.coursedir = CourseDirectory(config=Config({"CourseDirectory": {"root": str(REPO),
                                                                             "source_directory": "solutions"}}))


def answered() -> nbformat.NotebookNode:
    nb = student_notebook(RELEASE, {gid: f"My own answer to {gid}." for gid in written_answers(
        nbformat.read(SOURCE, as_version=4))})
    nb.cells.append(nbformat.v4.new_markdown_cell("a cell of mine, tagged", metadata={"tags": [RUBRIC_TAG]}))
    return nb


def shown(nb):
    resources = {"nbgrader": {"assignment": ASSIGNMENT, "notebook": NOTEBOOK, "student": "ana"}}
    return ShowRubric(parent=Converter()).preprocess(nb, resources)[0]


WRITTEN = ["diverging_run", "reading_loss_curves", "seeds_and_error_bars", "summary", "within_class_interpolation",
           "your_ablation"]


def test_the_portfolio_report_has_six_written_answers_each_with_a_rubric():
    rubrics = written_answers(nbformat.read(SOURCE, as_version=4))
    assert sorted(rubrics) == WRITTEN
    assert all(text.startswith("*Rubric (") and "*Model answer.*" in text for text in rubrics.values())
    assert not written_answers(nbformat.read(RELEASE, as_version=4))  # the release holds none of them


def test_each_rubric_follows_its_answer_for_the_grader_and_leaves_with_the_feedback():
    rubrics = written_answers(nbformat.read(SOURCE, as_version=4))
    nb = shown(answered())
    for gid, text in rubrics.items():
        at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
        assert f"My own answer to {gid}." in nb.cells[at].source
        follower = nb.cells[at + 1]
        assert follower.cell_type == "markdown" and follower.metadata["tags"] == [RUBRIC_TAG]
        assert text in follower.source and "nbgrader" not in follower.metadata
    assert sum(RUBRIC_TAG in c.metadata.get("tags", []) for c in nb.cells) == len(WRITTEN)  # the student's tag is gone

    back = HideRubric().preprocess(nb, {})[0]
    text = "\n".join(c.source for c in back.cells)
    assert not any(rubric[:200] in text for rubric in rubrics.values())
    assert "a cell of mine, tagged" in text and all(f"My own answer to {gid}." in text for gid in rubrics)


def test_without_the_instructors_version_nothing_is_added():
    nb = answered()
    count = len(nb.cells)
    resources = {"nbgrader": {"assignment": "no_such_assignment", "notebook": NOTEBOOK, "student": "ana"}}
    assert len(ShowRubric(parent=Converter()).preprocess(nb, resources)[0].cells) == count
