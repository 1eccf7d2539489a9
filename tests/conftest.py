"""Shared fixtures: a throw-away nbgrader course root, and students' notebooks made from the release."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def nbgrader_env(root: Path, **extra: str) -> dict[str, str]:
    """Environment for running nbgrader on a course root other than the repository."""
    return dict(os.environ, GANCOURSE_COURSE_ROOT=str(root),
                PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra)


def run(cmd: list[str], root: Path, timeout: float = 900, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, env=nbgrader_env(root, **extra), capture_output=True, text=True,
                          timeout=timeout)


def make_course(root: Path, assignment: str) -> Path:
    """A course root whose source is the repository's solutions/, with the assignment generated."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "solutions").symlink_to(REPO / "solutions")
    # A fixed grading secret (the salt of every probe input derives from it: autograder/executor.py), so that
    # the test classes are graded alike on every machine; a real course gets a random one on first grading.
    (root / ".grading_secret").write_text("tests-" + "5a1t" * 12 + "\n")
    proc = run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"], root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def student_notebook(release: Path, answers: dict[str, str], extra_cells: list[tuple[int, str]] = (),
                     edit=None) -> nbformat.NotebookNode:
    """The release notebook with answer cells filled in by grade_id, as a student would submit it."""
    nb = nbformat.read(release, as_version=4)  # a fresh object for every student
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid].strip("\n")
    for index, source in extra_cells:
        nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    if edit is not None:
        edit(nb)
    return nb


def submit(root: Path, assignment: str, student: str, nb_or_text, name: str,
           files: dict[str, str | bytes] | None = None, links: dict[str, str] | None = None) -> None:
    """Put a student's notebook (a notebook or raw text) and files into submitted/; ``links`` are
    symbolic links (name -> target) made last, in place of any file of that name."""
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for relative, content in (files or {}).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    if isinstance(nb_or_text, str):
        (folder / name).write_text(nb_or_text)
    else:
        nbformat.write(nb_or_text, folder / name)
    for relative, target in (links or {}).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        path.symlink_to(target)


def scores(root: Path, assignment: str) -> dict[str, dict[str, float]]:
    """student -> {grade_id: score} read straight from the gradebook."""
    from nbgrader.api import Gradebook

    out: dict[str, dict[str, float]] = {}
    from autograder.grade import gradebook_url

    with Gradebook(gradebook_url(root)) as gb:
        for sub in gb.assignment_submissions(assignment):
            out[sub.student_id] = {g.name: float(g.score or 0.0) for nb in sub.notebooks for g in nb.grades}
    return out


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The book built from scratch (execution included) into a temporary folder, once per session.

    Returns (html folder, build log, seconds).
    """
    out = tmp_path_factory.mktemp("book")
    start = time.perf_counter()
    proc = subprocess.run(["jupyter-book", "build", str(REPO), "-W", "-n", "--keep-going", "--path-output", str(out)],
                          cwd=REPO, env=nbgrader_env(out), capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return out / "_build" / "html", proc.stdout + proc.stderr, seconds
