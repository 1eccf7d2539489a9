"""Grading runs one copy of the course's code: the checkout the grading command comes from.

Another copy of ``autograder`` and ``gancourse`` may be installed (a non-editable ``pip install .`` of an
older checkout) or on ``$PYTHONPATH``. Here such a copy fails on import, and it is on the path of the grading
command, which runs from the checkout with the course root elsewhere (where nbgrader starts the judge).
The solution must still get full marks: no process of grading imported that copy.
"""

from __future__ import annotations

import shutil
import sys

import nbformat

from autograder.grade import as_solved_by_a_student
from tests.conftest import REPO, make_course, run, scores, submit

ASSIGNMENT, NOTEBOOK = "a1_two_networks", "two_networks.ipynb"


def test_a_stale_copy_on_the_path_is_never_imported_while_grading(tmp_path):
    stale = tmp_path / "stale"
    for package in ("autograder", "gancourse"):
        (stale / package).mkdir(parents=True)
        (stale / package / "__init__.py").write_text(f"raise ImportError('the stale copy of {package} was imported')\n")
    shutil.copytree(REPO / "autograder" / "judges", stale / "autograder" / "judges")
    root = make_course(tmp_path / "course", ASSIGNMENT)
    solved = as_solved_by_a_student(nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4))
    submit(root, ASSIGNMENT, "ana", solved, NOTEBOOK)
    proc = run([sys.executable, "-m", "autograder.grade", ASSIGNMENT], root, PYTHONPATH=str(stale))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    got = scores(root, ASSIGNMENT)["ana"]
    assert got and all(score > 0 for score in got.values()), proc.stdout[-3000:]
    assert "stale copy" not in proc.stdout + proc.stderr
