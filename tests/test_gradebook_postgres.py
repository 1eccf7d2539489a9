"""The gradebook on a PostgreSQL server: the parallel grading command gives the same grades as with SQLite.

A real PostgreSQL server from Debian's package (``postgresql``, which .ci/run installs) is started inside the
test on loopback, in a temporary folder, and stopped afterwards. Part of a1's class (an answer in the PyTorch
tutorial's style, a wrong one, a submission that deletes its tests, the solution and the untouched release) is
graded with two jobs with ``GANCOURSE_DB_URL`` naming the server; the points per part and the grading command's
messages must be those of the same students in a1's whole class graded with the course's SQLite file (the class
of tests/test_grading_a1.py, graded once per session), and the server must hold the grades.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.grading_harness import grade_class, graded_once, student_report
from tests.test_grading_a1 import ASSIGNMENT, CLASS, NOTEBOOK

SERVER_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
pytestmark = pytest.mark.skipif(not SERVER_BINS, reason="PostgreSQL's server is missing: apt-get install "
                                                      "postgresql (.ci/run does)")
STUDENTS = {name: CLASS[name] for name in ("alt_pytorch_tutorial", "wrong_step", "deleted_tests")}


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root (CI), the server runs as Debian's ``postgres`` user."""
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *cmd]


@pytest.fixture(scope="module")
def postgres():
    bin_dir = Path(SERVER_BINS[-1])
    base = Path(tempfile.mkdtemp(prefix="gancourse-pg-"))
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chmod(base, 0o755)
        os.chown(sockets, user.pw_uid, user.pw_gid)
        os.chown(base, user.pw_uid, user.pw_gid)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = lambda *cmd: subprocess.run(_as_server_user(list(cmd)), capture_output=True, text=True, timeout=120)  # noqa: E731
    made = run(str(bin_dir / "initdb"), "-D", str(data), "-U", "gancourse", "--auth=trust", "-E", "UTF8")
    assert made.returncode == 0, made.stdout + made.stderr
    started = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-o",
                  f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets}", "start")
    assert started.returncode == 0, started.stdout + started.stderr + (base / "server.log").read_text()
    try:
        created = run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "gancourse", "gradebook")
        assert created.returncode == 0, created.stderr
        yield f"postgresql+psycopg2://gancourse@127.0.0.1:{port}/gradebook"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def test_a_class_graded_against_postgresql_gets_the_same_grades_as_with_sqlite(postgres, tmp_path, tmp_path_factory,
                                                                              monkeypatch):
    on_sqlite = graded_once(tmp_path_factory, ASSIGNMENT, NOTEBOOK, CLASS)  # a1's class, shared with its tests
    assert on_sqlite.root.joinpath("gradebook.db").stat().st_size > 0
    monkeypatch.setenv("GANCOURSE_DB_URL", postgres)
    monkeypatch.setenv("GANCOURSE_COURSE_ID", "gan101")  # a PostgreSQL gradebook records one course by its id
    on_postgres = grade_class(tmp_path / "postgres", ASSIGNMENT, NOTEBOOK, STUDENTS)
    assert not (tmp_path / "postgres" / "gradebook.db").exists()  # everything went to the server

    from nbgrader.api import Gradebook

    with Gradebook(postgres) as gb:
        held = {s.student_id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}
    assert set(held) == {"solution", "untouched", *STUDENTS}
    assert held["solution"] == sum(on_sqlite.points.values()) > 0 and held["untouched"] == 0

    monkeypatch.delenv("GANCOURSE_DB_URL")
    sqlite_scores = on_sqlite.scores()
    monkeypatch.setenv("GANCOURSE_DB_URL", postgres)
    assert on_postgres.scores() == {student: sqlite_scores[student] for student in on_postgres.students}
    for student in on_postgres.students:  # the grades of the class's design, and the same messages
        recorded = sqlite_scores.get(student, {})
        assert {gid: recorded.get(gid, 0.0) for gid in on_sqlite.points} == on_sqlite.expected(student), student
        assert student_report(on_postgres.report, student) == student_report(on_sqlite.report, student)
