"""exercises/ is exactly what `nbgrader generate_assignment` makes from solutions/: nobody edits it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, generated_course

ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
# Metadata that may legitimately differ between two generations of the same source.
VOLATILE_NOTEBOOK_KEYS = {"widgets", "toc", "varInspector"}


def normalised(path: Path) -> dict:
    nb = json.loads(path.read_text())
    for key in VOLATILE_NOTEBOOK_KEYS:
        nb["metadata"].pop(key, None)
    for cell in nb["cells"]:
        cell.pop("execution_count", None)
        cell.get("metadata", {}).pop("execution", None)
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return nb


def test_every_assignment_has_a_release():
    assert ASSIGNMENTS, "solutions/ holds no assignment"
    for assignment in ASSIGNMENTS:
        assert sorted(p.name for p in (REPO / "exercises" / assignment).glob("*.ipynb")) == \
            sorted(p.name for p in (REPO / "solutions" / assignment).glob("*.ipynb"))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_match_generate_assignment(assignment):
    root = generated_course(assignment)  # nbgrader generate_assignment, into root/exercises
    notebooks = sorted((root / "exercises" / assignment).glob("*.ipynb"))
    assert notebooks, f"nbgrader generated no notebook of {assignment}"
    for generated in notebooks:
        committed = REPO / "exercises" / assignment / generated.name
        assert committed.exists(), f"{committed} is missing: run `make exercises`"
        assert normalised(committed) == normalised(generated), (
            f"{committed.relative_to(REPO)} differs from what nbgrader generates from solutions/: "
            "run `make exercises` (never edit exercises/ by hand)")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_solutions_or_hidden_tests(assignment):
    for nb_path in (REPO / "exercises" / assignment).glob("*.ipynb"):
        text = nb_path.read_text()
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "autograder.probes", "autograder.judges"):
            assert marker not in text, f"{nb_path.name} contains {marker!r}"
        assert "raise NotImplementedError()" in text
