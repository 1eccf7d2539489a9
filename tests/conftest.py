"""Shared fixtures: a throw-away nbgrader course root, and students' notebooks made from the release."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two workers already keep both cores busy: a second OpenMP thread per process (the book's kernels, the
    # classes' sandboxes, the training tests) only spins against the other worker's processes. Inherited by
    # every process a test starts.
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


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


# `make test` runs the suite on two pytest-xdist workers. Every test module is one unit of work, so that a module's
# fixtures (a class graded once, a live hub) run on one worker only; these share a unit more:
BOOK_MODULES = ("test_book.py", "test_browser.py")  # the book built once (built_book), then read
SHARED_GROUP = {"test_gradebook_postgres.py": "test_grading_a1.py"}  # grades a1's class (graded_once) again
# The groups in the order they are handed out, the longest first (seconds on 2 cores, from --durations), so that
# the workers end together; every other module follows in the order of collection. The live hub comes first: it
# holds the checkout alone (CHANGES_THE_CHECKOUT) while the other worker builds the book, which does not need it.
LONGEST_FIRST = ("test_hub_live.py", "book", "test_grading_attacks.py", "test_grading_portfolio.py",
                 "test_grading_a1.py", "test_grading_a6.py", "test_grading_a3.py", "test_grading_a7.py",
                 "test_grading_a2.py", "test_grading_a5.py", "test_grading_a4.py")


def group_of(module: str) -> str:
    """The unit of work of a test module (its file name): its own, "book", or a module it shares with."""
    return "book" if module in BOOK_MODULES else SHARED_GROUP.get(module, module)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's scheduling by scope, with this suite's groups as the scopes (its own loadgroup, which renames the
    tests, has no effect with pytest 9's node ids); the units go out in the order of collection."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid.split("::", 1)[0].rsplit("/", 1)[-1])

    return ModuleGroups(config, log)


def pytest_collection_modifyitems(session, config, items):
    rank = {group: i for i, group in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(group_of(item.path.name), len(rank)))  # stable: collection order otherwise


def lock_folder(run_id: str) -> Path:
    """Where the workers of one parallel run keep the checkout lock's files."""
    return Path(tempfile.gettempdir()) / f"gancourse-pytest-{run_id}"


def pytest_configure(config):
    """The controller of a parallel run names the run itself (xdist hands the name to its workers), so that it
    can remove the run's lock folder at the end (``pytest_sessionfinish``); each run had left one in /tmp."""
    if not hasattr(config, "workerinput") and getattr(config.option, "numprocesses", None) \
            and hasattr(config.option, "testrunuid") and not config.option.testrunuid:
        config.option.testrunuid = uuid.uuid4().hex


def pytest_sessionfinish(session):
    run_id = getattr(session.config.option, "testrunuid", None)
    if run_id and not hasattr(session.config, "workerinput"):  # the controller: every worker has finished
        shutil.rmtree(lock_folder(run_id), ignore_errors=True)


@contextlib.contextmanager
def checkout_lock(config, exclusive: bool):
    """Between xdist workers: held shared by every test module, and alone by a module that changes the
    checkout's modes while it runs (the live hub gives the grader account the private folders, which the
    sandboxed kernels of the other worker's grading could then not read). Fair: a waiting exclusive holder
    (the turnstile) keeps new shared holders out. Nothing to hold in a run without workers."""
    run_id = getattr(config, "workerinput", {}).get("testrunuid")
    if run_id is None:
        yield
        return
    base = lock_folder(run_id)
    base.mkdir(exist_ok=True)
    with open(base / "turnstile", "a") as turnstile, open(base / "checkout", "a") as lock:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if not exclusive:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        yield  # closing the files releases both


@pytest.fixture(scope="module", autouse=True)
def _beside_the_other_worker(request):
    """The checkout lock for the whole module (its module fixtures included); the book's tests do not take it:
    the build and the browser read a copy in a temporary folder, as this process's user."""
    if request.path.name in BOOK_MODULES:
        yield
        return
    with checkout_lock(request.config, exclusive=getattr(request.module, "CHANGES_THE_CHECKOUT", False)):
        yield


@pytest.fixture
def measured(request):
    """Records a measured figure (a benchmark, not a timed test); the run prints them all at its end, from
    parallel workers too (pytest_terminal_summary)."""
    return lambda text: request.node.user_properties.append(("measured", text))


def pytest_terminal_summary(terminalreporter):
    lines = [value for report in terminalreporter.stats.get("passed", [])
             for name, value in getattr(report, "user_properties", ()) if name == "measured"]
    if lines:
        terminalreporter.section("measured (benchmarks, not timed tests)")
        for line in lines:
            terminalreporter.write_line(line)


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
    first test that reads it runs.

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
