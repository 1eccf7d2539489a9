"""Grading a class of test submissions through the real grading command, for every assignment.

Each ``tests/test_grading_<assignment>.py`` describes its class as ``{student: Student(...)}`` and
calls :func:`grade_class` once (in a module-scoped fixture). The solution notebook and the untouched
release are always added, as ``solution`` (full marks) and ``untouched`` (zero).

    CLASS = {"alt_einsum": Student(answers={"adain": ADAIN_EINSUM}, expected="full"),
             "wrong_axes": Student(answers={"adain": ADAIN_WRONG_AXES}, expected={"test_noise": 2})}

``expected`` is "full", 0, or ``{grade_id: points}`` for the parts that must score (all others 0).

The tests every assignment shares come from two factories, so that each test file only states what
is particular to its assignment:

    globals().update(judged_answer_tests(ASSIGNMENT, CORRECT, WRONG, define))  # probes and judges, in-process
    globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))     # a class through nbgrader

A class is graded once per session (:func:`graded_once`): another test module that needs the same
class's grades (the reruns, the PostgreSQL gradebook) gets the same graded course root.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from autograder.grade import as_solved_by_a_student
from tests.conftest import REPO, make_course, run, scores, student_notebook, submit


@dataclass
class Student:
    """One test submission: answer cells by grade_id, extra cells, an edit, and the expected score."""

    answers: dict[str, str] = field(default_factory=dict)
    extra_cells: list[tuple[int, str]] = field(default_factory=list)
    edit: Callable | None = None
    expected: str | int | dict = "full"
    raw_text: str | None = None  # submit this text instead of a notebook (e.g. invalid JSON)
    files: dict[str, str | bytes] = field(default_factory=dict)  # shipped beside the notebook
    links: dict[str, str] = field(default_factory=dict)  # symbolic links in the submission: name -> target


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

    def of(self, student: str) -> str:
        """One student's part of the report and the end of their grading log: a failure message that still
        says what happened when a CI log keeps only its last few kB."""
        block = _report_block(self.report, student)
        log = self.root / "grading_logs" / self.assignment / f"{student}.log"
        text = log.read_text(errors="replace") if log.is_file() else "(no grading log)"
        bounds = [line for line in text.splitlines() if "memory" in line and "cgroup" in line][:2]
        return "\n".join([block.group(0) if block else f"{student} is not in the report", *bounds,
                          "--- its grading log ends:", text[-2500:]])


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
                cell_timeout: int = 60, student_timeout: int = 300,
                env: tuple[tuple[str, str], ...] = ()) -> GradedClass:
    """Submit every student's notebook into a fresh course root and grade them with the grading command."""
    make_course(root, assignment)
    source = REPO / "solutions" / assignment / notebook
    release = REPO / "exercises" / assignment / notebook
    everyone = {"solution": Student(expected="full"), "untouched": Student(expected=0), **students}
    submit(root, assignment, "solution", as_solved_by_a_student(student_notebook(source, {})), notebook)
    submit(root, assignment, "untouched", student_notebook(release, {}), notebook)
    for name, st in students.items():
        content = st.raw_text if st.raw_text is not None else student_notebook(release, st.answers, st.extra_cells,
                                                                                  st.edit)
        submit(root, assignment, name, content, notebook, st.files, st.links)
    start = time.perf_counter()
    proc = run([sys.executable, "-m", "autograder.grade", assignment, "--timeout", str(student_timeout)], root,
               timeout=student_timeout * (len(everyone) + 1), GANCOURSE_CELL_TIMEOUT=str(cell_timeout), **dict(env))
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(proc.stdout)
    return GradedClass(root, proc.stdout, seconds, assignment, points_of(source), everyone)


_GRADED: dict[tuple, GradedClass] = {}


def graded_once(tmp_path_factory, assignment: str, notebook: str, students: dict[str, Student],
                **grade_options) -> GradedClass:
    """:func:`grade_class`, once per session for the same class: the graded course root is shared, read only."""
    key = (assignment, notebook, tuple(sorted(students)), tuple(sorted(grade_options.items())))
    if key not in _GRADED:
        _GRADED[key] = grade_class(tmp_path_factory.mktemp(assignment), assignment, notebook, students,
                                   **grade_options)
    return _GRADED[key]


def _report_block(report: str, student: str) -> re.Match | None:
    """One student's lines of the grading command's report, from their name to the next student's."""
    return re.search(rf"^{re.escape(student)}: .*?(?=^\S|\Z)", report, re.MULTILINE | re.DOTALL)


def student_report(report: str, student: str) -> list[str]:
    """One student's lines of the grading command's report (points, messages), without their name or time."""
    block = _report_block(report, student)
    assert block, f"{student} is not in the report:\n{report}"
    lines = block.group(0).rstrip("\n").splitlines()
    return [re.sub(r" in \d+(\.\d+)? s$", "", lines[0].removeprefix(f"{student}: "))] + \
        [line.strip() for line in lines[1:]]


def report_time(graded: GradedClass) -> str:
    """A line for the measured-times printout (a benchmark, not a timed test)."""
    per = [float(line.split(" in ")[-1].rstrip(" s")) for line in graded.report.splitlines()
           if " points in " in line and not line.startswith(" ")]
    worst = max(per) if per else math.nan
    return (f"[measured] {graded.assignment}: class of {len(graded.students)} graded in {graded.seconds:.0f} s; "
            f"slowest student {worst:.1f} s, median {sorted(per)[len(per) // 2]:.1f} s")


def judged(assignment: str, part: str, *answers):
    """The verdict on one part, probed in this process and judged: the same data path as in the sandbox."""
    from autograder.judges import judge_record
    from autograder.probes.record import Record, probe

    return judge_record(assignment, part, Record.decode(probe(assignment, part, *answers).encode()))


def judged_answer_tests(assignment: str, correct: dict[str, dict[str, str]], wrong: dict[str, dict[str, str]],
                        define: Callable) -> dict[str, Callable]:
    """The in-process tests of one assignment's probes and judges, to put into the test module's globals.

    ``correct`` maps variant -> part -> source (answers written differently that must all pass),
    ``wrong`` maps part -> mistake -> source; ``define(part, source)`` runs a source the way the
    notebook would and returns the object it defines.
    """

    @pytest.mark.parametrize("variant", sorted(correct))
    @pytest.mark.parametrize("part", sorted(next(iter(correct.values()))))
    def test_correct_answers_written_differently_pass_every_hidden_check(part, variant):
        verdict = judged(assignment, part, define(part, correct[variant][part]))
        assert verdict.passed, verdict.message

    @pytest.mark.parametrize("part,mistake", [(p, m) for p in wrong for m in wrong[p]])
    def test_each_usual_mistake_fails_its_hidden_check(part, mistake):
        verdict = judged(assignment, part, define(part, wrong[part][mistake]))
        assert not verdict.passed, f"{mistake} passed"

    return {f.__name__: f for f in (test_correct_answers_written_differently_pass_every_hidden_check,
                                    test_each_usual_mistake_fails_its_hidden_check)}


def class_tests(assignment: str, notebook: str, students: dict[str, Student], points: dict[str, float],
                **grade_options) -> dict[str, Callable]:
    """The tests that grade one assignment's class through nbgrader, to put into the module's globals.

    One fixture grades the class (plus ``solution`` and ``untouched``) once (:func:`graded_once`); the tests
    then check the points the notebook awards, each student's exact score, and print the time taken.
    """

    @pytest.fixture(scope="module")
    def graded(tmp_path_factory):
        return graded_once(tmp_path_factory, assignment, notebook, students, **grade_options)

    def test_the_notebook_awards_the_points_of_the_design(graded):
        assert graded.points == {gid: float(p) for gid, p in points.items()}

    @pytest.mark.parametrize("student", ["solution", "untouched", *sorted(students)])
    def test_each_submission_gets_exactly_the_points_it_deserves(graded, student):
        # a submission the grading command refused to run has no grades in the gradebook: zero everywhere
        recorded = graded.scores().get(student, {})
        got = {gid: recorded.get(gid, 0.0) for gid in graded.points}
        assert got == graded.expected(student), graded.of(student)

    def test_grading_the_class_reports_its_time(graded, measured):
        """Not a timed test: the measured time is printed for the README (budget: 60 s a student)."""
        measured(report_time(graded))

    return {f.__name__: f for f in (graded, test_the_notebook_awards_the_points_of_the_design,
                                    test_each_submission_gets_exactly_the_points_it_deserves,
                                    test_grading_the_class_reports_its_time)}
