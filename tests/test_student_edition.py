"""The student edition (scripts/student_edition.py): the book, the exercises and the library, and nothing a
student could grade themselves with. Built once here into a temporary folder, as `make student-edition` does."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO

URL = "https://github.com/example/gan-course-students"


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("student") / "edition"
    proc = subprocess.run([sys.executable, "scripts/student_edition.py", str(out), "--repository-url", URL,
                           "--branch", "students"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_no_solution_grader_test_or_hidden_check_is_in_it(edition):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from student_edition import leaks
    finally:
        sys.path.pop(0)
    assert leaks(edition) == []
    names = {p.relative_to(edition).as_posix() for p in edition.rglob("*") if p.is_file()}
    assert not {n for n in names if n.split("/")[0] in ("solutions", "autograder", "tests", ".ci", ".github", "hub")}
    assert "nbgrader_config.py" not in names
    text = "\n".join(p.read_text(errors="ignore") for p in edition.rglob("*") if p.is_file())
    for word in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "from autograder", "def judge_record"):
        assert word not in text, word
    # every file of solutions/ and of the grader is absent, by content as well as by name
    instructor = {p.read_bytes() for d in ("solutions", "autograder") for p in (REPO / d).rglob("*.*") if p.is_file()
                  and "__pycache__" not in p.parts}
    assert not [n for n in names if (edition / n).read_bytes() in instructor]


def test_it_holds_the_book_every_exercise_and_the_library(edition):
    toc = yaml.safe_load((edition / "_toc.yml").read_text())
    pages = [toc["root"]] + [e["file"] for part in toc["parts"] for e in part["chapters"]]
    assert all((edition / f"{page}.md").exists() or (edition / f"{page}.ipynb").exists() for page in pages), pages
    exercises = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "exercises").glob("*/*.ipynb"))
    assert len(exercises) == len(list((REPO / "solutions").glob("*/*.ipynb")))
    for name in exercises:
        assert (edition / name).read_bytes() == (REPO / name).read_bytes(), name
    proc = subprocess.run([sys.executable, "-c", "import gancourse.nets, gancourse.latent; print('ok')"],
                          cwd=edition, capture_output=True, text=True, env={"PYTHONPATH": str(edition)})
    assert proc.stdout.strip() == "ok", proc.stderr
    assert 'packages = ["gancourse"]' in (edition / "pyproject.toml").read_text()


def test_its_makefile_builds_the_book_and_has_no_instructor_targets(edition):
    proc = subprocess.run(["make", "-n", "-C", str(edition), "book"], capture_output=True, text=True)
    assert proc.returncode == 0 and "jupyter-book build" in proc.stdout, proc.stdout + proc.stderr
    proc = subprocess.run(["make", "-n", "-C", str(edition), "test"], capture_output=True, text=True)
    assert proc.returncode != 0 and "No rule to make target" in proc.stderr, proc.stdout
    makefile = (edition / "Makefile").read_text()
    assert not re.search(r"^(test|system|exercises|reference|student-edition|hub):", makefile, re.M)
    assert "autograder" not in makefile and "solutions" not in makefile and ".github" not in makefile
    # every script its recipes run is in the edition, or the recipe runs it only where it is (bench/grading.py,
    # which imports the grader, is left out: an unguarded line had failed the students' `make bench`)
    for line in makefile.splitlines():
        for script in re.findall(r"\$\(BIN\)/python (\S+\.py)", line):
            assert (edition / script).exists() or f"test ! -f {script} ||" in line, line
    assert not (edition / "bench" / "grading.py").exists() and (edition / "bench" / "throughput.py").exists()
    readme = (edition / "README.md").read_text()
    assert "<!-- bench:start -->" in readme and "<!-- bench:end -->" in readme  # where their `make bench` writes


def test_launch_buttons_and_colab_point_at_the_student_edition(edition):
    config = yaml.safe_load((edition / "_config.yml").read_text())
    assert config["repository"] == {"url": URL, "branch": "students"}
    for notebook in (edition / "book").glob("*.ipynb"):
        setup = "".join(json.loads(notebook.read_text())["cells"][0]["source"])
        assert f'"{URL}"' in setup and '"students"' in setup, notebook.name
    # the instructor's own copies are untouched
    assert URL not in (REPO / "_config.yml").read_text()


def test_the_check_finds_planted_instructor_material(edition, tmp_path):
    """leaks() can fail: a solution notebook, a judge under another name, or one hidden-test line is found."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from student_edition import hidden_test_lines, leaks
    finally:
        sys.path.pop(0)
    copy = tmp_path / "copy"
    shutil.copytree(edition, copy)
    shutil.copy(REPO / "solutions" / "a3_dcgan" / "dcgan.ipynb", copy / "exercises" / "a3_dcgan" / "answers.ipynb")
    shutil.copy(REPO / "autograder" / "judges" / "a3.py", copy / "gancourse" / "helpers.py")
    line = sorted(hidden_test_lines())[0]
    (copy / "book" / "notes.md").write_text(f"A note.\n\n    {line}\n")
    found = "\n".join(leaks(copy))
    assert "exercises/a3_dcgan/answers.ipynb" in found
    assert "gancourse/helpers.py: a copy of a file" in found
    assert "book/notes.md: a line of a hidden test" in found


def test_a_leaking_edition_fails_and_leaves_nothing_behind(tmp_path, monkeypatch):
    """Were solutions/ kept by mistake, the command fails with the reason and removes what it wrote."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import student_edition
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(student_edition, "kept", lambda name: not name.startswith(("tests/", ".ci/")))
    out = tmp_path / "edition"
    with pytest.raises(SystemExit, match="would give away instructor material"):
        student_edition.build(out)
    assert not out.exists()
