"""The grading command: autograde every submission of an assignment, one student at a time.

    python -m autograder.grade a1_two_networks                # every student in submitted/
    python -m autograder.grade a1_two_networks --student ana  # one student
    python -m autograder.grade a1_two_networks --jobs 4       # four students at a time

Each student is graded by nbgrader's own ``autograde`` in a separate process with a wall-clock
limit, so a submission that hangs, crashes its kernel or is not even valid JSON is reported and
scored zero while every other student is graded normally. The gradebook keeps all results; this
command prints a table of per-part scores with the reason for every lost point, and writes each
student's nbgrader log under ``grading_logs/``.

With ``--jobs N`` (default: one per CPU core) N students are graded at once. Every grading kernel
and every judge runs torch on one thread whatever N is (see sandbox.py and judge.py), so their
arithmetic, and so the grades, do not depend on N. A student whose grades could not be saved because
another process held the gradebook is graded again alone, so nothing is lost.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import re
import resource
import shutil
import signal
import stat
import sys
import tempfile
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from autograder.sandbox import MAX_DEPTH, MAX_ENTRIES, submission_paths  # noqa: F401 (the limits, named here too)

HERE = Path(__file__).resolve().parent


def course_root() -> Path:
    """The nbgrader course root: $GANCOURSE_COURSE_ROOT, else the repository root."""
    return Path(os.environ.get("GANCOURSE_COURSE_ROOT", HERE.parent)).resolve()


def gradebook_url(root: Path | None = None) -> str:
    """The gradebook's database: $GANCOURSE_DB_URL (a PostgreSQL server, say), else gradebook.db in the course
    root. nbgrader's configuration (nbgrader_config.py) and the grading command both use this."""
    return os.environ.get("GANCOURSE_DB_URL") or f"sqlite:///{(root or course_root()) / 'gradebook.db'}"


@functools.cache
def course_id() -> str:
    """The course id of nbgrader's configuration, as nbgrader finds it from the checkout (the site-wide
    nbgrader_config.py of hub/setup_exchange.py, or $GANCOURSE_COURSE_ID): '' when none is set."""
    from jupyter_core.application import JupyterApp
    from nbgrader.apps import NbGrader
    from nbgrader.coursedir import CourseDirectory

    # the site's files, then the checkout's as if run from its root (no chdir: the grading command's threads
    # share the working directory); quiet, where no site file exists
    app = NbGrader(load_cwd_config=False, log_level=40)
    app.load_config_file()
    super(JupyterApp, app).load_config_file(app.config_file_name, str(HERE.parent))
    return CourseDirectory(config=app.config).course_id


def open_gradebook():
    """nbgrader's gradebook of the course, as nbgrader's own commands open it (same database, same course)."""
    from nbgrader.api import Gradebook

    url = gradebook_url()
    if not url.startswith("sqlite") and not course_id():
        raise SystemExit(f"the gradebook {_shown(url)} needs a course id (nbgrader records every assignment under "
                         "one): set it with hub/setup_exchange.py --course-id, or $GANCOURSE_COURSE_ID")
    return Gradebook(url, course_id())


@dataclass
class Result:
    """What grading one student produced: scores per graded part, and why points were lost."""

    student: str
    seconds: float = 0.0
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    locked_out: bool = False  # the gradebook was busy when nbgrader tried to save: grade again
    pending: list[str] = field(default_factory=list)  # written answers still to grade in formgrader

    @property
    def total(self) -> float:
        return sum(s for s, _ in self.scores.values())

    @property
    def max_total(self) -> float:
        return sum(m for _, m in self.scores.values())


INSPECT_MB, INSPECT_SECONDS = 1024, 60  # what reading one submitted notebook may take, in a child process


@functools.lru_cache(maxsize=256)
def _inspected(path: str, mtime_ns: int, size: int) -> dict:
    """One notebook read and checked by ``autograder.notebook_check`` in a child process held to ``INSPECT_MB`` of
    memory and ``INSPECT_SECONDS`` (see there); what it could not read within them is said so."""
    import json
    import subprocess

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(HERE.parent), os.environ.get("PYTHONPATH"))
                                                      if p))
    try:
        done = subprocess.run([sys.executable, "-m", "autograder.notebook_check", path, str(INSPECT_MB)],
                              capture_output=True, text=True, timeout=INSPECT_SECONDS, env=env)
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        return {"unreadable": f"it could not be read within the grader's limits ({INSPECT_MB} MB of memory, "
                              f"{INSPECT_SECONDS} s)", "invalid": None, "markers": False, "failures": {}}


def inspect_notebook(path: Path) -> dict:
    info = path.stat()
    return _inspected(str(path), info.st_mtime_ns, info.st_size)


def check_notebooks(folder: Path) -> tuple[list[str], list[str]]:
    """Problems with the submitted notebooks, each as a sentence for the student: those nbgrader cannot read (not
    run), and those it reads though they break the notebook format (a NaN execution count, say), whose ending
    depends on whether nbgrader then graded them (``finish_invalid``)."""
    unreadable, invalid = [], []
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        unreadable.append(f"no notebook was submitted in {folder.name}/")
    for path in notebooks:
        found = inspect_notebook(path)
        if found["unreadable"]:
            unreadable.append(f"{path.name} is not a valid notebook file ({found['unreadable']}); it was not run")
        elif found["invalid"]:
            invalid.append(f"{path.name} is not a valid notebook ({found['invalid']})")
    return unreadable, invalid


def finish_invalid(invalid: list[str], graded: bool) -> list[str]:
    """The sentences of ``check_notebooks``' invalid notebooks, saying what became of them. Before, each said "it was
    not run" beside the points nbgrader gave it (an outside tester's eighth pass)."""
    then = ("nbgrader read it, cleared its outputs and graded it" if graded
            else "nbgrader could not grade it: open it in Jupyter, save it and submit it again")
    return [f"{problem}; {then}" for problem in invalid]


def failure_messages(notebook: Path) -> dict[str, str]:
    """grade_id -> first line of the error a graded test cell raised, from the autograded notebook. One larger than a
    submitted notebook may be with the output the grader keeps is not read: this process runs the whole class (an
    outside tester's 300 MB notebook, from before the execute reply's error was bounded, took it to 1 GB)."""
    try:
        if notebook.stat().st_size > (MAX_NOTEBOOK_MB + 8) * 2**20:
            return {}
        return dict(inspect_notebook(notebook)["failures"])  # in a bounded child process, as the submitted ones
    except OSError:  # nothing to read for a notebook nbgrader could not process
        return {}


MAX_NOTEBOOK_MB = int(os.environ.get("GANCOURSE_MAX_NOTEBOOK_MB", "50"))
# all the files beside the notebooks together, by their apparent size: nbgrader copies each one in full into
# autograded/ (a 300 MB sparse file took 301 MB of the grader's disk there), before the sandbox's own limit
MAX_FILES_MB = int(os.environ.get("GANCOURSE_MAX_FILES_MB", "100"))


def refusals(submitted: Path) -> list[str]:
    """Reasons not to run a submission at all, each as a sentence for the student (empty: grade it).

    A symbolic link, anywhere in the submission, could point at any file on the grader's disk (the
    instructor's solutions included), and nbgrader follows links when it copies and grades; a
    notebook that still holds nbgrader's solution or hidden-test regions is the instructor's source
    version, not a student's work.
    """
    reasons = []
    inside = submission_paths(submitted) if submitted.is_dir() and not submitted.is_symlink() else []
    if isinstance(inside, str):
        return [f"{submitted.relative_to(submitted.parent.parent)}: {inside}"]
    for path in [submitted, submitted.parent, *inside]:
        name = path.relative_to(submitted.parent.parent)
        if path.is_symlink():
            reasons.append(f"{name} is a symbolic link; links are not graded: submit the files themselves")
        elif path.exists() and not stat.S_ISREG(path.stat().st_mode) and not path.is_dir():
            # a named pipe or a device would block whoever reads it (this process first)
            reasons.append(f"{name} is not a regular file (a pipe, socket or device); it was not graded")
        elif path.suffix == ".ipynb" and path.is_file() and path.stat().st_size > MAX_NOTEBOOK_MB * 2**20:
            # nbgrader parses the notebook outside the sandbox, at about twice its size in memory
            reasons.append(f"{name} is {path.stat().st_size / 2**20:.0f} MB, over the limit of {MAX_NOTEBOOK_MB} "
                           "MB for a submitted notebook (clear its outputs and submit it again); it was not graded")
    notebooks = sum(path.stat().st_size for path in inside if path.is_file() and path.suffix == ".ipynb")
    if notebooks > MAX_NOTEBOOK_MB * 2**20 and not reasons:
        reasons.append(f"{submitted.relative_to(submitted.parent.parent)}: its notebooks take "
                       f"{notebooks / 2**20:.0f} MB together, over the limit of {MAX_NOTEBOOK_MB} MB (submit the "
                       "assignment's notebook alone, its outputs cleared); it was not graded")
    files = sum(path.stat().st_size for path in inside if path.is_file() and path.suffix != ".ipynb")
    if files > MAX_FILES_MB * 2**20:
        reasons.append(f"{submitted.relative_to(submitted.parent.parent)}: the files beside the notebook take "
                       f"{files / 2**20:.0f} MB together, over the limit of {MAX_FILES_MB} MB (leave out data and "
                       "weights the notebook can make again); it was not graded")
    if reasons:
        return reasons
    for path in sorted(submitted.glob("*.ipynb")):  # an unreadable notebook is reported by check_notebooks
        if inspect_notebook(path)["markers"]:
            reasons.append(f"{path.name} holds the instructor's solution or hidden-test regions; it was not graded")
    return reasons


def as_solved_by_a_student(nb):
    """The instructor's source notebook as a student who solved every part would submit it: the hidden
    test regions removed and the solution markers dropped (the graded cells keep the solution code).
    Tests and benchmarks submit this; the source notebook itself is refused (see ``refusals``)."""
    hidden = re.compile(r"^[ \t]*#+\s*BEGIN HIDDEN TESTS.*?^[ \t]*#+\s*END HIDDEN TESTS[^\n]*\n?", re.M | re.S)
    marker = re.compile(r"^[ \t]*#+\s*(BEGIN|END) SOLUTION[^\n]*\n?", re.M)
    for cell in nb.cells:
        cell.source = marker.sub("", hidden.sub("", cell.source)).rstrip("\n")
    return nb


def _forget(assignment: str, student: str) -> None:
    """Remove an earlier grading of this student's assignment, so that a refused submission, or one whose grading
    was stopped, scores zero."""
    from nbgrader.api import MissingEntry

    root = course_root()
    shutil.rmtree(root / "autograded" / student / assignment, ignore_errors=True)
    for attempt in range(20):  # other students' nbgrader processes may hold the gradebook for a moment
        try:
            with open_gradebook() as gb:
                try:
                    gb.remove_submission(assignment, student)
                except MissingEntry:
                    pass
            return
        except Exception as err:  # noqa: BLE001 - sqlite's "database is locked"
            if LOCKED not in str(err) or attempt == 19:
                raise
            time.sleep(0.5)


LOCKED = "database is locked"


def _shown(url: str) -> str:
    """A database URL as messages show it: without its password."""
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)


LOG_READ_BYTES = 16 * 2**20  # of a student's grading log, read back by the grading command
LOG_LINE_CHARS = 20_000  # of one line nbgrader's process logs


def read_log(path: Path) -> str:
    """A student's grading log, at most ``LOG_READ_BYTES`` of it (its start and its end where it is longer), read
    as UTF-8 whatever it holds: the grading command serves the whole batch, and a kernel had grown one student's
    log to 100 MB with the names of messages nbclient logs whole (a twelfth outside pass)."""
    with path.open("rb") as log:
        size = log.seek(0, os.SEEK_END)
        log.seek(0)
        if size <= LOG_READ_BYTES:
            data = log.read()
        else:
            head = log.read(LOG_READ_BYTES // 2)
            log.seek(size - LOG_READ_BYTES // 2)
            data = head + f"\n... {size - LOG_READ_BYTES:,} bytes of this log not read ...\n".encode() + log.read()
    return data.decode("utf-8", errors="replace")


def _bound_log_lines() -> None:
    """Cut every line nbgrader's process logs to ``LOG_LINE_CHARS``: what the libraries log of a kernel's messages
    is the kernel's to choose."""
    make = logging.getLogRecordFactory()

    def record(*args, **kwargs):
        made = make(*args, **kwargs)
        try:
            text = made.getMessage()
        except Exception:  # noqa: BLE001 - logging reports a bad format itself, when the line is written
            return made
        if len(text) > LOG_LINE_CHARS:
            made.msg = f"{text[:LOG_LINE_CHARS]} ... ({len(text) - LOG_LINE_CHARS:,} more characters not logged)"
            made.args = ()
        return made
    logging.setLogRecordFactory(record)


KERNEL_OUTPUT = "kernel output: "  # how the grading log marks what a sandboxed kernel printed (executor.py)
LOG_LINE = re.compile(r"\[[^\]\n]* \| (?P<level>[A-Z]+)\] (?P<text>.*)")


def grader_lines(log: str) -> list[tuple[str, str]]:
    """(level, text) of the lines the grader logged, not those relaying a student's kernel: a kernel's output
    is logged on lines marked KERNEL_OUTPUT, as one repr each, so none of it can pass for the grader's."""
    found = [LOG_LINE.match(line) for line in log.splitlines()]
    return [(m["level"], m["text"]) for m in found if m and not m["text"].startswith(KERNEL_OUTPUT)]


def nbgrader_error(log: str) -> str:
    """The first error nbgrader logged in words (a notebook whose nbgrader metadata a student changed, say),
    without its traceback; empty when there is none."""
    for level, text in grader_lines(log):
        if level == "ERROR":
            text = text.strip()
            if text and not text.startswith("Traceback") and not text.startswith("There was an error"):
                return text[:200]
    return ""


def _bound_own_memory() -> None:
    """Hold this grading process to what it has now plus twice the sandbox's ``received_mb``, and write no core file.

    The sandbox's watch (autograder/sandbox.py) stops a kernel whose messages take up more than ``received_mb`` in
    this process; the bound is a backstop for what arrives between two of its polls. It is the soft limit only: the
    sandbox and the judge set limits of their own below the hard one."""
    from autograder.sandbox import Limits, own_data_mb

    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    soft = int((own_data_mb() + 2 * Limits.from_env().received_mb) * 2**20)
    resource.setrlimit(resource.RLIMIT_DATA, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))


def _nbgrader_here(argv: list[str], env: dict[str, str], log: str) -> None:
    """``nbgrader <argv>`` in this process, a fresh child of the grading command's fork server: in its own
    session, in the checkout (nbgrader reads its configuration from the working directory: the repository
    root's nbgrader_config.py, which finds the course root in $GANCOURSE_COURSE_ROOT), with ``env`` only,
    everything it prints going to ``log``."""
    os.setsid()
    os.chdir(HERE.parent)
    os.environ.clear()
    os.environ.update(env)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    _bound_own_memory()
    _bound_log_lines()
    from nbgrader.apps.nbgraderapp import NbGraderApp

    sys.argv = ["nbgrader", *argv]
    try:
        NbGraderApp.launch_instance(argv=argv)
        code = 0
    except SystemExit as end:
        code = end.code if isinstance(end.code, int) else int(end.code is not None)
    # nbgrader is done and has saved everything: leave at once. A normal exit waits for every thread still running
    # in this process; one left behind (by a library, or a configuration file on the Jupyter path) had the finished
    # grading stopped at the time limit and counted as nothing.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@functools.cache
def _fork_server():
    """Processes forked from one server that has imported nbgrader, torch and the judges (1-3 s each, of every
    student's grading otherwise; the judge is then forked from the student's process: autograder/judge.py).
    Each student's grading is still a process of its own, which dies with its state when that student is done."""
    import multiprocessing

    if sys.path[0] != str(HERE.parent):  # the children import this module (their target) from this checkout
        sys.path.insert(0, str(HERE.parent))
    from autograder.sandbox import short_temporary_folder

    # the fork server listens on a Unix socket in the temporary folder: a long $TMPDIR (a cluster's per-job folder)
    # made it fail to start, and with it every grading
    tempfile.tempdir = short_temporary_folder()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["nbgrader.apps.nbgraderapp", "autograder.judges.preload"])
    return context


def run_autograde(argv: list[str], env: dict[str, str], log: Path, timeout: float) -> int | None:
    """``nbgrader <argv>`` in a process of its own; its exit code, or None when it ran past ``timeout`` seconds
    and was stopped with everything it started."""
    child = _fork_server().Process(target=_nbgrader_here, args=(argv, env, str(log)), daemon=False)
    child.start()
    child.join(timeout)
    if child.exitcode is None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:  # not yet in a session of its own
            child.kill()
        child.join()
        return None
    return child.exitcode


def grade_student(assignment: str, student: str, timeout: float) -> Result:
    """Autograde one student's submission with nbgrader in its own process."""
    root = course_root()
    result = Result(student)
    submitted = root / "submitted" / student / assignment
    refused = refusals(submitted)
    if refused:
        _forget(assignment, student)
        result.problems += refused
        return result
    unreadable, invalid = check_notebooks(submitted)
    result.problems += unreadable
    log_dir = root / "grading_logs" / assignment
    log_dir.mkdir(parents=True, exist_ok=True)
    # Every process of grading (nbgrader, the judge it starts) imports autograder and gancourse from this
    # checkout, whatever other copy is installed or on the path: one version grades.
    env = dict(os.environ, GANCOURSE_COURSE_ROOT=str(root),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=os.pathsep.join(p for p in (str(HERE.parent), os.environ.get("PYTHONPATH")) if p))
    from autograder.sandbox import SANDBOXES, remove_leftovers, short_temporary_folder

    sandboxes = Path(tempfile.mkdtemp(prefix="gancourse-", dir=short_temporary_folder()))
    env[SANDBOXES] = str(sandboxes)
    start = time.perf_counter()
    try:
        returncode = run_autograde(["autograde", assignment, "--student", student, "--force"], env,
                                   log_dir / f"{student}.log", timeout)
    finally:
        remove_leftovers(sandboxes)
    log_text = read_log(log_dir / f"{student}.log")
    if "No nbgrader_config.py file found" in log_text:
        raise RuntimeError("nbgrader ran without the course configuration; run the grading command from "
                           "an installed checkout of the course")
    result.locked_out = any(LOCKED in text for _, text in grader_lines(log_text))
    if returncode != 0 and not result.locked_out:
        # stopped, or nbgrader failed, before it saved anything: an earlier grading's scores (of what may be another
        # notebook) must not stand for this one. They had been reported beside "was stopped", and beside "not a
        # valid notebook" for a notebook handed in again broken (an outside tester's find)
        _forget(assignment, student)
    result.problems += finish_invalid(invalid, graded=returncode == 0)
    if returncode is None:
        result.problems.append(f"grading took longer than {timeout:.0f} s and was stopped")
    elif returncode != 0 and not result.problems:
        why = nbgrader_error(log_text)
        result.problems.append(f"nbgrader could not finish grading (exit code {returncode}"
                               f"{': ' + why if why else ''}); see grading_logs/{assignment}/{student}.log")
    result.seconds = time.perf_counter() - start
    return result


def _read_scores(assignment: str, result: Result) -> None:
    from nbgrader.api import MissingEntry

    root = course_root()
    with open_gradebook() as gb:
        try:
            sub = gb.find_submission(assignment, result.student)
        except MissingEntry:
            try:
                source = gb.find_assignment(assignment)
            except MissingEntry:
                raise SystemExit(f"{assignment} is not in the gradebook {_shown(gradebook_url())}: generate it "
                                 f"first (`nbgrader generate_assignment {assignment}`)") from None
            for nb in source.notebooks:
                for cell in nb.grade_cells:
                    result.scores[cell.name] = (0.0, float(cell.max_score))
            result.problems.append("no grades were recorded; every part counts as zero")
            return
        for nb in sub.notebooks:
            messages = failure_messages(root / "autograded" / result.student / assignment / f"{nb.name}.ipynb")
            for grade in nb.grades:
                score = grade.score or 0.0  # nbgrader: manual score if set, else auto score, else 0
                result.scores[grade.name] = (float(score), float(grade.max_score))
                if grade.name in messages and (score or 0.0) < grade.max_score:
                    result.problems.append(f"{grade.name}: {messages[grade.name]}")
                elif grade.cell_type != "code":  # a written answer: graded by hand in formgrader
                    if grade.manual_score is None:
                        result.pending.append(grade.name)
                elif grade.auto_score is None and grade.manual_score is None and not result.problems:
                    result.problems.append(f"{grade.name}: the test cell was missing or not run")


def grade_class(assignment: str, students: list[str], timeout: float, jobs: int = 1, progress=None) -> list[Result]:
    """Grade many students, ``jobs`` at a time (each grading kernel runs torch on one thread)."""
    bar = progress(total=len(students), desc="grading") if progress else None
    results: dict[str, Result] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # threads only wait on nbgrader processes
        futures = {pool.submit(grade_student, assignment, s, timeout): s for s in students}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    for student, result in results.items():
        if result.locked_out:  # nothing is lost: grade that student again, alone
            results[student] = grade_student(assignment, student, timeout)
    ordered = [results[s] for s in students]
    for result in ordered:
        _read_scores(assignment, result)
    return ordered


def assignment_known(assignment: str) -> bool:
    """Whether nbgrader knows the assignment (generate_assignment records it in the gradebook)."""
    from nbgrader.api import MissingEntry

    with open_gradebook() as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            return False
    return True


def list_students(assignment: str) -> list[str]:
    submitted = course_root() / "submitted"
    return sorted(p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir())


_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def printable(text: str) -> str:
    """``text`` with its control characters (and the bidirectional overrides) written out as escapes: a student's
    error message of terminal escape codes moved the cursor over the grading command's report and showed 9/9 for
    a notebook that had 3/9 (an outside gaming pass)."""
    return "".join(ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) == "Cc" or ch in _BIDI
                   else ch for ch in text)


def report(results: list[Result]) -> str:
    """The grading command's report: one block per student, everything a submission could have put into it (the
    student's folder name, its error messages) shown with its control characters escaped."""
    lines = []
    for r in results:
        lines.append(f"{r.student}: {r.total:g}/{r.max_total:g} points in {r.seconds:.1f} s")
        for name, (score, max_score) in r.scores.items():
            lines.append(f"    {name:<40} {score:g}/{max_score:g}")
        for problem in r.problems:
            lines.append(f"    ! {problem}")
        if r.pending:
            lines.append(f"    (to grade by hand in formgrader: {', '.join(r.pending)})")
    return "\n".join(printable(line) for line in lines)


def main(argv: list[str] | None = None) -> int:
    # nbgrader runs the `alembic` command of its own environment when it opens a new gradebook: find it
    # there even when that environment is not activated.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="wall-clock seconds allowed for one student (default 900)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="students graded at once (default: one per CPU core)")
    args = parser.parse_args(argv)
    students = args.student or list_students(args.assignment)
    if not students:
        print(f"No submissions of {args.assignment} under {course_root() / 'submitted'}.", file=sys.stderr)
        return 1
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        def tqdm(x, **_):
            return x
    from autograder.probes import sandboxed
    from autograder.sandbox import available

    if sandboxed(args.assignment) and available() is not None:
        print(f"Cannot grade {args.assignment}: the grading sandbox needs {available()}.", file=sys.stderr)
        return 2
    if not assignment_known(args.assignment):
        print(f"{args.assignment} is not in the gradebook {_shown(gradebook_url())}: generate it first, which "
              f"registers it: `nbgrader generate_assignment {args.assignment}` (formgrader's Generate button, or "
              f"`make exercises ASSIGNMENTS={args.assignment}` in your checkout).", file=sys.stderr)
        return 2
    start = time.perf_counter()
    results = grade_class(args.assignment, students, args.timeout, args.jobs, tqdm)
    print(report(results))
    print(f"graded {len(results)} submission(s) in {time.perf_counter() - start:.1f} s with {args.jobs} job(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
