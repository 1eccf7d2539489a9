"""Grading a class of test submissions through the real grading command, for every assignment.

Each ``tests/test_grading_<assignment>.py`` describes its class as ``{student: Student(...)}`` and
calls :func:`grade_class` once (in a module-scoped fixture). The solution notebook and the untouched
release are always added, as ``solution`` (full marks) and ``untouched`` (zero).

    CLASS = {"alt_einsum": Student(answers={"adain": ADAIN_EINSUM}, expected="full"),
             "wrong_axes": Student(answers={"adain": ADAIN_WRONG_AXES}, expected={"test_noise": 2})}

``expected`` is "full", 0, or ``{grade_id: points}`` for the parts that must score (all others 0).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tests.conftest import REPO, make_course, run, scores, student_notebook, submit


@dataclass
class Student:
    """One test submission: answer cells by grade_id, extra cells, an edit, and the expected score."""

    answers: dict[str, str] = field(default_factory=dict)
    extra_cells: list[tuple[int, str]] = field(default_factory=list)
    edit: Callable | None = None
    expected: str | int | dict = "full"
    raw_text: str | None = None  # submit this text instead of a notebook (e.g. invalid JSON)


@dataclass
class GradedClass:
    root: Path
    report: str
    seconds: float
    assignment: str
    points: dict[str, float]
    students: dict[str, Student]

    def scores(self) -> dict[str, dict[str, float]]:
        return scores(self.root, self.assignment)

    def expected(self, student: str) -> dict[str, float]:
        want = self.students[student].expected
        if want == "full":
            want = self.points
        elif want == 0:
            want = {}
        return {gid: float(want.get(gid, 0)) for gid in self.points}


def points_of(notebook: Path) -> dict[str, float]:
    """grade_id -> points of every autograded test cell in a source notebook."""
    nb = nbformat.read(notebook, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"]) for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


def answer_ids(notebook: Path) -> list[str]:
    """grade_ids of the cells a student writes code in (autograded answers)."""
    nb = nbformat.read(notebook, as_version=4)
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def grade_class(root: Path, assignment: str, notebook: str, students: dict[str, Student],
                cell_timeout: int = 60, student_timeout: int = 300) -> GradedClass:
    """Submit every student's notebook into a fresh course root and grade them with the grading command."""
    make_course(root, assignment)
    source = REPO / "solutions" / assignment / notebook
    release = REPO / "exercises" / assignment / notebook
    everyone = {"solution": Student(expected="full"), "untouched": Student(expected=0), **students}
    submit(root, assignment, "solution", student_notebook(source, {}), notebook)
    submit(root, assignment, "untouched", student_notebook(release, {}), notebook)
    for name, st in students.items():
        content = st.raw_text if st.raw_text is not None else student_notebook(release, st.answers, st.extra_cells,
                                                                                  st.edit)
        submit(root, assignment, name, content, notebook)
    start = time.perf_counter()
    proc = run([sys.executable, "-m", "autograder.grade", assignment, "--timeout", str(student_timeout)], root,
               timeout=student_timeout * (len(everyone) + 1), GANCOURSE_CELL_TIMEOUT=str(cell_timeout))
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(proc.stdout)
    return GradedClass(root, proc.stdout, seconds, assignment, points_of(source), everyone)


def report_time(graded: GradedClass) -> str:
    """A line for the measured-times printout (a benchmark, not a timed test)."""
    per = [float(line.split(" in ")[-1].rstrip(" s")) for line in graded.report.splitlines()
           if " points in " in line and not line.startswith(" ")]
    worst = max(per) if per else math.nan
    return (f"[measured] {graded.assignment}: class of {len(graded.students)} graded in {graded.seconds:.0f} s; "
            f"slowest student {worst:.1f} s, median {sorted(per)[len(per) // 2]:.1f} s")
