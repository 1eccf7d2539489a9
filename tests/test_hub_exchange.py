"""A term on one shared machine, with real user ids: the exchange hub/setup_exchange.py makes, used by nbgrader.

An instructor and two students, each a separate Unix user id with their own home, run nbgrader's own
commands as book/instructors.md gives them, with no ``--course`` flag (the course id and the exchange come
from the site-wide configuration the script writes): release, fetch, submit (one student the reference
answer, one the untouched notebook), collect, grade with the course's grading command, feedback released and
fetched, grades exported. On the way, a student tries to reach the other's submission and to change the
release. The three are real local users, made with ``useradd`` and removed afterwards; making them and
switching between them needs root, as on a hub's machine: CI runs as root.
"""

from __future__ import annotations

import contextlib
import csv
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder.grade import as_solved_by_a_student
from tests.conftest import REPO, make_course

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not (shutil.which("setpriv") and shutil.which("useradd")),
                                reason="the users of a term are made with useradd and switched to with setpriv, "
                                       "as root (CI runs as root)")

ASSIGNMENT, NOTEBOOK = "a1_two_networks", "two_networks.ipynb"
COURSE = "gan101"
USERS = {"teacher": "gcteacher", "ana": "gcana", "ben": "gcben"}  # role -> login name


def unreachable_folders(path: Path) -> list[Path]:
    """The folders on the way to ``path`` that other users cannot pass through."""
    return [p for p in path.resolve().parents if not p.stat().st_mode & stat.S_IXOTH]


@contextlib.contextmanager
def interpreter_reachable_by_everyone():
    """On a hub the course's environment lies where every user can run it (/opt, say). This machine's Python
    may be a pyenv build under /root (mode 700): for the duration of the term, other users may pass through
    those folders (search only, no listing), and the modes are put back afterwards."""
    closed = {p: stat.S_IMODE(p.stat().st_mode) for p in unreachable_folders(Path(sys.executable))}
    try:
        for p, mode in closed.items():
            os.chmod(p, mode | stat.S_IXOTH)
        yield
    finally:
        for p, mode in closed.items():
            os.chmod(p, mode)


class Term:
    def __init__(self, base: Path):
        self.base = base
        self.exchange = base / "srv" / "exchange"
        self.site = base / "etc" / "jupyter"
        self.course = base / "home" / "teacher" / "course"
        self.homes = {role: base / "home" / role for role in USERS}
        self.uid: dict[str, int] = {}

    def run(self, user: str, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """A command as the user of role ``user``: their user id, groups, home and login name."""
        name, home = USERS[user], self.homes[user]
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home), "USER": name,
               "LOGNAME": name, "JUPYTER_CONFIG_PATH": str(self.site), "LANG": "C.UTF-8"}
        if user == "teacher":
            env["GANCOURSE_COURSE_ROOT"] = str(self.course)
        proc = subprocess.run(["setpriv", f"--reuid={name}", f"--regid={name}", "--init-groups", "--", *args],
                              cwd=cwd or home, env=env, capture_output=True, text=True, timeout=900)
        if check:
            assert proc.returncode == 0, f"{user}: {' '.join(args)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc

    def nbgrader(self, user: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cwd = self.course if user == "teacher" else None
        return self.run(user, sys.executable, "-m", "nbgrader", *args, cwd=cwd, check=check)

    def setup_exchange(self, course_id: str) -> subprocess.CompletedProcess:
        """hub/setup_exchange.py, as root, into this term's folders."""
        return subprocess.run([sys.executable, str(REPO / "hub" / "setup_exchange.py"), "--course-id", course_id,
                               "--instructor", USERS["teacher"], "--exchange", str(self.exchange),
                               "--config-dir", str(self.site)], capture_output=True, text=True)

    def python(self, user: str, code: str) -> str:
        return self.run(user, sys.executable, "-c", code).stdout.strip()


@pytest.fixture(scope="module")
def term():
    base = Path(tempfile.mkdtemp(prefix="gancourse-term-"))
    os.chmod(base, 0o755)  # the users must reach their homes through it
    t = Term(base)
    with interpreter_reachable_by_everyone():
        yield from _term(t, base)


def _term(t: Term, base: Path):
    for role, name in USERS.items():
        subprocess.run(["userdel", name], capture_output=True)  # left by an interrupted run
        subprocess.run(["useradd", "--user-group", "--home-dir", str(t.homes[role]), "--create-home",
                        "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
        t.uid[role] = pwd.getpwnam(name).pw_uid
        os.chmod(t.homes[role], 0o700)
    # the instructor's course root: the repository's configuration and grader, by links, as a checkout would have
    make_course(t.course, ASSIGNMENT)
    for name in ("nbgrader_config.py", "autograder"):
        (t.course / name).symlink_to(REPO / name)
    for path in [t.course, *t.course.rglob("*")]:
        os.lchown(path, t.uid["teacher"], pwd.getpwnam(USERS["teacher"]).pw_gid)
    setup = t.setup_exchange(COURSE)
    assert setup.returncode == 0, setup.stderr
    yield t
    if os.environ.get("GANCOURSE_KEEP_TERM"):  # to look into a failure: the folder and the users stay
        print(f"\nthe term is kept in {base}")
        return
    for name in USERS.values():
        subprocess.run(["userdel", name], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def test_the_script_makes_the_exchange_and_the_site_configuration_and_is_idempotent(term):
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in (term.exchange, term.exchange / COURSE / "inbound",
                                                         term.exchange / COURSE / "outbound")}
    assert list(modes.values()) == [0o1777, 0o2733, 0o755]
    assert (term.exchange / COURSE / "inbound").stat().st_uid == term.uid["teacher"]
    assert f"course_id = '{COURSE}'" in (term.site / "nbgrader_config.py").read_text()
    again = term.setup_exchange(COURSE)
    assert again.returncode == 0 and again.stdout.startswith("nothing to change"), again.stdout + again.stderr
    bad = term.setup_exchange("gan 101")
    assert bad.returncode != 0 and "course id" in bad.stderr


def test_a_whole_term_through_the_exchange_with_the_course_from_the_site_configuration(term):
    term.nbgrader("teacher", "release_assignment", ASSIGNMENT)

    for student in ("ana", "ben"):
        term.nbgrader(student, "fetch_assignment", ASSIGNMENT)
        assert (term.homes[student] / ASSIGNMENT / NOTEBOOK).is_file()
        assert not list(term.homes[student].rglob("solutions"))  # the release only
    solved = as_solved_by_a_student(nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4))
    nbformat.write(solved, term.homes["ana"] / ASSIGNMENT / NOTEBOOK)
    os.chown(term.homes["ana"] / ASSIGNMENT / NOTEBOOK, term.uid["ana"], pwd.getpwnam(USERS["ana"]).pw_gid)
    for student in ("ana", "ben"):
        term.nbgrader(student, "submit", ASSIGNMENT)

    # ben can neither list the submissions nor change the release
    inbound, outbound = term.exchange / COURSE / "inbound", term.exchange / COURSE / "outbound" / ASSIGNMENT
    probe = (f"import os\n"
             f"try:\n    print('listed', os.listdir('{inbound}'))\nexcept PermissionError:\n    print('refused')\n"
             f"try:\n    open('{outbound / NOTEBOOK}', 'a').close(); print('changed the release')\n"
             f"except PermissionError:\n    print('refused')\n")
    assert term.python("ben", probe).split() == ["refused", "refused"]
    assert len(os.listdir(inbound)) == 2  # both are there: the instructor lists them

    term.nbgrader("teacher", "collect", ASSIGNMENT)
    for student in ("ana", "ben"):
        assert (term.course / "submitted" / USERS[student] / ASSIGNMENT / NOTEBOOK).is_file()
    grading = term.run("teacher", sys.executable, "-m", "autograder.grade", ASSIGNMENT, cwd=term.course)
    logs = "\n".join(p.read_text()[-2000:] for p in (term.course / "grading_logs").rglob("*.log"))
    for student in ("ana", "ben"):
        assert (term.course / "autograded" / USERS[student] / ASSIGNMENT / NOTEBOOK).is_file(), grading.stdout + logs
    assert "SAWarning" not in logs and "has changed" not in logs and "changed the locked cell" not in logs, logs
    term.nbgrader("teacher", "generate_feedback", ASSIGNMENT)
    term.nbgrader("teacher", "release_feedback", ASSIGNMENT)
    for student in ("ana", "ben"):
        term.nbgrader(student, "fetch_feedback", ASSIGNMENT)
        pages = list((term.homes[student] / ASSIGNMENT / "feedback").rglob("*.html"))
        assert len(pages) == 1, pages
    term.nbgrader("teacher", "export")
    with open(term.course / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f) if row["assignment"] == ASSIGNMENT}
    ana, ben = rows[USERS["ana"]], rows[USERS["ben"]]
    assert float(ana["score"]) == float(ana["max_score"]) > 0
    assert float(ben["score"]) == 0.0
