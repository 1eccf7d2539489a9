"""An instructor who follows book/instructors.md word for word, on a fresh copy of the repository.

The commands are read from the page itself (generate, autograde, feedback, export) and run in a copy
of the checkout with no virtual environment activated: PATH holds only the system's folders. The
submissions are put where `nbgrader collect` puts them (the exchange is not part of this test).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from autograder.grade import as_solved_by_a_student
from tests.conftest import REPO

PAGE = REPO / "book" / "instructors.md"


def documented(prefix: str) -> str:
    """The first command of the page's code blocks that starts with ``prefix`` (comments dropped)."""
    for block in re.findall(r"```bash\n(.*?)```", PAGE.read_text(), re.DOTALL):
        for line in block.splitlines():
            command = line.split("#")[0].strip()
            if command.startswith(prefix):
                return command
    raise AssertionError(f"book/instructors.md no longer shows a command starting with {prefix!r}")


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The repository's files as git knows them (committed or not), with the test run's environment."""
    target = tmp_path_factory.mktemp("course") / "gan-course"
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    for name in listed:
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(REPO / ".venv")
    return target


def sh(command: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    # make would reinstall the shared test environment if it thought it stale: it is not (-o keeps it).
    if command.startswith("make "):
        command = command.replace("make ", "make -o .venv/.installed ", 1)
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_documented_commands_generate_grade_give_feedback_and_export(clone):
    generate = documented("make exercises ASSIGNMENTS=")
    assignment = generate.split("=")[1]
    proc = sh(generate, clone)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (clone / "gradebook.db").exists(), "the generate step did not register the assignment"

    notebook = next((REPO / "solutions" / assignment).glob("*.ipynb")).name
    for student, source in (("ana", REPO / "solutions"), ("ben", clone / "exercises")):  # as `collect` leaves them
        folder = clone / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nb = nbformat.read(source / assignment / notebook, as_version=4)
        nbformat.write(as_solved_by_a_student(nb) if student == "ana" else nb, folder / notebook)

    grade = documented(f".venv/bin/python -m autograder.grade {assignment}")
    proc = sh(grade, clone)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    total = re.search(r"ana: ([0-9.]+)/([0-9.]+) points", proc.stdout)
    assert total and total.group(1) == total.group(2), proc.stdout
    assert re.search(r"ben: 0/[0-9.]+ points", proc.stdout), proc.stdout

    proc = sh(documented(f".venv/bin/nbgrader generate_feedback {assignment}"), clone)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for student in ("ana", "ben"):
        pages = sorted(p.name for p in (clone / "feedback" / student / assignment).iterdir())
        assert pages == [notebook.replace(".ipynb", ".html")]

    export = documented(".venv/bin/nbgrader export")
    proc = sh(export, clone)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = {r["student_id"]: r for r in csv.DictReader((clone / export.split("--to")[1].strip()).open())}
    assert float(rows["ana"]["score"]) == float(rows["ana"]["max_score"]) > 0
    assert float(rows["ben"]["score"]) == 0.0
