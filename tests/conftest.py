"""Shared fixtures: a throw-away nbgrader course root, and students' notebooks made from the release."""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
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
    """A course root whose source is the repository's solutions/, with the assignment generated.

    ``nbgrader generate_assignment`` runs once per assignment and session (:func:`generated_course`), and each
    caller gets its own copy of that course root (release and gradebook); with a gradebook on a server
    (``GANCOURSE_DB_URL``) it runs in ``root`` itself, which registers the assignment there.
    """
    root.mkdir(parents=True, exist_ok=True)
    if os.environ.get("GANCOURSE_DB_URL"):
        return _generate(root, assignment)
    shutil.copytree(generated_course(assignment), root, symlinks=True, dirs_exist_ok=True)
    return root


@functools.cache
def generated_course(assignment: str) -> Path:
    """A course root in which nbgrader generated ``assignment`` (made once per session; never modify it)."""
    root = Path(tempfile.mkdtemp(prefix=f"gancourse-{assignment}-"))
    root.chmod(0o755)  # copies take this mode: a course root made by mkdir, as before
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return _generate(root, assignment)


def _generate(root: Path, assignment: str) -> Path:
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


_BOOK: dict = {}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """The tests that read the built book run last, when the grading tests are done: the build executes every
    chapter (about 4 minutes alone), and started beside the grading classes it failed on CI at stop 23 with
    one chapter not executed (the two warnings myst-nb writes per failed notebook), not reproduced alone."""
    reads_book = [item for item in items if "built_book" in getattr(item, "fixturenames", ())]
    if reads_book:
        later = {id(item) for item in reads_book}
        items[:] = [item for item in items if id(item) not in later] + reads_book


def _start_book_build() -> None:
    if _BOOK:
        return
    models = REPO / "book" / "_static" / "models"
    if not (models / "manifest.json").exists():  # `make book` and `make test` export them; plain pytest does here
        subprocess.run([sys.executable, "scripts/export_onnx.py", "--out", str(models)], cwd=REPO, check=True,
                       capture_output=True, timeout=600)
    out = Path(tempfile.mkdtemp(prefix="gancourse-book-"))
    log = open(out / "build.log", "w")  # noqa: SIM115 - closed when the build is collected
    proc = subprocess.Popen(["jupyter-book", "build", str(REPO), "-W", "-n", "--keep-going", "--path-output",
                             str(out)], cwd=REPO, env=nbgrader_env(out), stdout=log, stderr=subprocess.STDOUT)

    def stop() -> None:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(out, ignore_errors=True)

    def finished() -> None:  # when the build ended, not when a test first asked for it
        proc.wait()
        _BOOK["end"] = time.perf_counter()

    atexit.register(stop)
    _BOOK.update(out=out, proc=proc, log=log, start=time.perf_counter(),
                 waiter=threading.Thread(target=finished, daemon=True))
    _BOOK["waiter"].start()


@pytest.fixture(scope="session")
def built_book():
    """The book built from scratch (execution included) into a temporary folder, once per session, when the
    first test that reads it runs (pytest_collection_modifyitems puts those tests last).

    Returns (html folder, build log, seconds from the start of the build to its end).
    """
    _start_book_build()
    proc = _BOOK["proc"]
    _BOOK["waiter"].join(timeout=1800)  # the thread that waits for the build records when it ended
    assert "end" in _BOOK, "the book build ran for more than 30 minutes"
    seconds = _BOOK["end"] - _BOOK["start"]
    _BOOK["log"].flush()
    log = (_BOOK["out"] / "build.log").read_text()
    if proc.returncode != 0:  # the warnings and tracebacks first: the log's tail is only the list of copied images
        causes = [line for line in log.splitlines() if re.search(r"WARNING|ERROR|Error|Traceback|Exception", line)]
        tracebacks = [f"--- {report.name}:\n{report.read_text()[-6000:]}"  # myst-nb's record of a failed chapter
                      for report in sorted((_BOOK["out"] / "_build" / "html" / "reports").rglob("*.err.log"))]
        pytest.fail("the book build failed:\n" + "\n".join(causes[:80]) + "\n" + "\n".join(tracebacks)
                    + "\n...\n" + log[-3000:])
    return _BOOK["out"] / "_build" / "html", log, seconds
