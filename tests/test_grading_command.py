"""The grading command when a student's grading does not finish: nothing of an earlier grading stands for it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.grade import as_solved_by_a_student
from tests.conftest import REPO, make_course, run, scores, submit

ASSIGNMENT, NOTEBOOK = "a1_two_networks", "two_networks.ipynb"


def test_a_notebook_handed_in_again_broken_scores_zero_not_the_earlier_gradings_points(tmp_path):
    """Before, the report and the gradebook kept 12/12 beside "not a valid notebook" (an outside tester's find)."""
    root = make_course(tmp_path / "course", ASSIGNMENT)
    solved = as_solved_by_a_student(nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4))
    submit(root, ASSIGNMENT, "ana", solved, NOTEBOOK)
    grade = [sys.executable, "-m", "autograder.grade", ASSIGNMENT, "--jobs", "1"]
    assert run(grade, root).returncode == 0 and sum(scores(root, ASSIGNMENT)["ana"].values()) == 12
    submit(root, ASSIGNMENT, "ana", "{this is not a notebook", NOTEBOOK)
    again = run(grade, root)
    assert "ana: 0/12 points" in again.stdout and "is not a valid notebook" in again.stdout, again.stdout[-2000:]
    assert sum(scores(root, ASSIGNMENT).get("ana", {}).values()) == 0


def test_a_nan_execution_count_or_a_file_name_that_is_not_utf8_is_graded_and_said_truly(tmp_path):
    """An outside tester's eighth pass: a file beside the notebook whose name is not UTF-8 raised in the grader's salt
    and zeroed an honest notebook behind a generic nbgrader error; a NaN execution count was reported as "not run"
    beside the 12 points nbgrader gave it."""
    root = make_course(tmp_path / "course", ASSIGNMENT)
    solved = as_solved_by_a_student(nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4))
    submit(root, ASSIGNMENT, "odd_name", solved, NOTEBOOK)
    folder = os.fsencode(root / "submitted" / "odd_name" / ASSIGNMENT)
    with open(os.path.join(folder, b"notes-\xff.txt"), "wb") as handle:
        handle.write(b"latin-1 notes")
    raw = json.loads(nbformat.writes(solved))
    next(c for c in raw["cells"] if c["cell_type"] == "code")["execution_count"] = float("nan")
    submit(root, ASSIGNMENT, "nan_count", json.dumps(raw), NOTEBOOK)
    graded = run([sys.executable, "-m", "autograder.grade", ASSIGNMENT, "--jobs", "1"], root)
    got = {student: sum(points.values()) for student, points in scores(root, ASSIGNMENT).items()}
    assert got == {"odd_name": 12, "nan_count": 12}, graded.stdout[-3000:]
    report = graded.stdout
    assert "nbgrader could not finish" not in report, report[-3000:]
    assert re.search(r"two_networks.ipynb is not a valid notebook \(.*nan.*\); nbgrader read it, cleared its outputs "
                     r"and graded it", report), report[-3000:]
    assert "not run" not in report, report[-3000:]


def test_a_course_root_outside_the_checkout_needs_no_copy_of_the_solutions(tmp_path):
    """instructors.md: set $GANCOURSE_COURSE_ROOT to keep the run-time state outside the checkout. An empty folder is
    enough: `make exercises` generates from the checkout's solutions/ (an outside tester had to link them in by hand)
    into that folder's exercises/, where release_assignment looks (an instructor on a hub found the Makefile had
    written into the checkout's)."""
    root = tmp_path / "elsewhere"
    root.mkdir()
    (root / ".grading_secret").write_text("tests-" + "5a1t" * 12 + "\n")
    ours = REPO / "exercises" / ASSIGNMENT / NOTEBOOK
    before = ours.stat().st_mtime_ns
    generated = subprocess.run(["make", "-s", "exercises", f"ASSIGNMENTS={ASSIGNMENT}"], cwd=REPO, capture_output=True,
                               text=True, env=dict(os.environ, GANCOURSE_COURSE_ROOT=str(root)), timeout=300)
    assert generated.returncode == 0, generated.stdout[-2000:] + generated.stderr[-2000:]
    assert (root / "exercises" / ASSIGNMENT / NOTEBOOK).exists() and not (root / "solutions").exists()
    assert ours.stat().st_mtime_ns == before, "the checkout's exercises/ was left as it was"
    solved = as_solved_by_a_student(nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4))
    submit(root, ASSIGNMENT, "ana", solved, NOTEBOOK)
    graded = run([sys.executable, "-m", "autograder.grade", ASSIGNMENT, "--jobs", "1"], root)
    assert "ana: 12/12 points" in graded.stdout, graded.stdout[-2000:] + graded.stderr[-2000:]


def test_a_course_root_that_does_not_exist_yet_is_made_by_the_first_nbgrader_command(tmp_path):
    root = tmp_path / "terms" / "autumn"
    made = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force",
                           "--log-level=WARN"], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, GANCOURSE_COURSE_ROOT=str(root)))
    assert made.returncode == 0, made.stderr[-2000:]
    assert (root / "exercises" / ASSIGNMENT / NOTEBOOK).exists() and (root / "gradebook.db").exists()


def test_a_grading_that_finished_counts_though_a_thread_outlives_it(tmp_path, monkeypatch):
    """nbgrader had saved the grades, but a thread still running in its process (here started by a configuration file
    on the Jupyter path) kept that process from exiting: the grading was stopped at the time limit and counted as
    nothing. A finished grading now leaves at once."""
    config = tmp_path / "jupyter_config"
    config.mkdir()
    (config / "nbgrader_config.py").write_text(
        "import sys, threading, time\n"
        "if sys.argv[0] == 'nbgrader':  # the grading of one student, not the grading command around it\n"
        "    threading.Thread(target=time.sleep, args=(600,), name='left-running').start()\n")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config))
    root = make_course(tmp_path / "course", ASSIGNMENT)
    solved = as_solved_by_a_student(nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4))
    submit(root, ASSIGNMENT, "ana", solved, NOTEBOOK)
    graded = run([sys.executable, "-m", "autograder.grade", ASSIGNMENT, "--jobs", "1", "--timeout", "60"], root,
                 timeout=300)
    assert "ana: 12/12 points" in graded.stdout and "was stopped" not in graded.stdout, graded.stdout[-2000:]
    assert sum(scores(root, ASSIGNMENT)["ana"].values()) == 12


def test_a_grading_that_is_stopped_scores_zero_and_leaves_no_sandbox_behind(tmp_path, monkeypatch):
    """Graded once (12/12), then handed in again with a cell that outlasts the time limit.

    Before, the report and the gradebook still gave the first grading's 12/12 beside "was stopped". And the grading
    process, killed at the limit before its sandbox could clean up, left the sandbox's folder and a cgroup of each kind
    behind for the rest of the term; the grading command now removes them. The temporary folder is long here: the
    sandbox still goes where its kernel's sockets fit (such a $TMPDIR had failed every grading)."""
    temporary = tmp_path / "a-temporary-folder-whose-path-is-long"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    root = make_course(tmp_path / "course", ASSIGNMENT)
    solved = as_solved_by_a_student(nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4))
    submit(root, ASSIGNMENT, "ana", solved, NOTEBOOK)
    grade = [sys.executable, "-m", "autograder.grade", ASSIGNMENT, "--jobs", "1", "--timeout", "25"]
    first = run(grade, root)
    assert first.returncode == 0 and sum(scores(root, ASSIGNMENT)["ana"].values()) == 12, first.stdout[-2000:]
    solved.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(120)"))
    submit(root, ASSIGNMENT, "ana", solved, NOTEBOOK)
    again = run(grade, root, timeout=300)
    assert "ana: 0/12 points" in again.stdout and "grading took longer than 25 s and was stopped" in again.stdout, \
        again.stdout[-2000:]
    assert sum(scores(root, ASSIGNMENT).get("ana", {}).values()) == 0
    log = (root / "grading_logs" / ASSIGNMENT / "ana.log").read_text()
    box = re.search(r"The kernel runs in the sandbox (\S+)", log)
    assert box, log[-2000:]  # the kernel had started before the grading was stopped
    groups = re.findall(r"cgroup v\d at (/sys/fs/cgroup/\S+)", log)
    assert all(Path(group).name == Path(box.group(1)).name for group in groups), groups
    assert not Path(box.group(1)).exists() and not Path(box.group(1)).parent.exists(), box.group(1)
    assert not any(Path(group).exists() for group in groups), groups


def test_the_report_shows_a_submissions_control_characters_as_text():
    """A student's error message of terminal escape codes (cursor up, erase the line, conceal) rewrote the grading
    command's report on the instructor's terminal to show 9/9 for a 3/9 notebook (an outside gaming pass); so could
    a folder name. Everything the report prints shows them as escapes, and ordinary text, accents included, as is."""
    from autograder.grade import Result, report

    result = Result("ana\x1b[2K")
    result.scores = {"test_compose": (0.0, 3.0)}
    result.problems = ["test_compose: ValueError: \x1b[1A\r\x1b[2K\x1b[8mcompose: 3/3\u202e", "déjà vu: écrit"]
    text = report([result])
    assert not any(ch in text for ch in "\x1b\r\u202e"), repr(text)
    assert "\\x1b[1A\\r\\x1b[2K" in text and "\\u202e" in text and "ana\\x1b[2K: 0/3 points" in text
    assert "déjà vu: écrit" in text and text.count("\n") == 3
