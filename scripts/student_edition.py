"""Make the student edition: the book, the exercises and the library, with no solution and no grader.

    python scripts/student_edition.py OUT                  # = make student-edition (OUT: _build/student-edition)
    python scripts/student_edition.py OUT --repository-url https://github.com/me/gan-course-students --branch main

This repository is the instructor's: solutions/ is nbgrader's source, whose solution regions and
hidden tests are the answers, and autograder/ holds the probes, the judges and the reference
artifacts the grader compares with. Students, Colab and nbgitpuller get the student edition instead,
which readers see published: every file git tracks here except

* solutions/, autograder/, tests/ (their fixtures are correct answers), .ci/, .github/ (the workflow that
  publishes this edition), hub/, the root nbgrader_config.py, this script, the tests' system-package check,
  the portfolio reference's measured runs (results/portfolio_*.json, which name its fix), and the scripts that
  import the grader;

with pyproject.toml packaging the library alone, a Makefile without the instructor's targets, a
README for students, and _config.yml and the chapter notebooks' Colab cell pointing at the student
edition's repository (``--repository-url``; default: the one _config.yml names).

Before it finishes, :func:`leaks` checks the result and the command fails on any finding: a path of
an instructor folder, a file identical to one of them, nbgrader's solution or hidden-test markers,
or any line of a hidden test.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
INSTRUCTOR_ONLY = ("solutions/", "autograder/", "tests/", ".ci/", ".github/", "hub/", "nbgrader_config.py",
                   "scripts/student_edition.py", "scripts/system_packages.sh",
                   # the portfolio reference's measured runs, which name its fix
                   "results/portfolio_runs.json", "results/portfolio_divergence.json",
                   # the grader's benchmark record (bench/grading.py, which imports the grader, is left out too)
                   "results/bench_grading.json")
MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS|BEGIN MARK SCHEME")
# Makefile targets that need the instructor's folders
INSTRUCTOR_TARGETS = ("test", "system", "exercises", "reference", "student-edition", "hub")

README = """# {title}: student edition

The book, the weekly exercises and the course library. It is generated from the instructors'
repository (`scripts/student_edition.py` there); do not send changes here.

* **Read the book** online, or build it here with `make book` (it creates `.venv` with everything,
  runs every chapter, and writes `_build/html/index.html`).
* **Do the exercises** in `exercises/<assignment>/`: each notebook says what to write, and its visible
  tests check the shapes and contracts. Your instructor releases the same notebooks through
  nbgrader and grades them with hidden checks; hand in what the Assignments tab fetched.
* **Run a chapter live** with the launch buttons at the top of each page (Colab, Binder or your
  course's JupyterHub), or open `book/<chapter>.ipynb` here.

The library (`gancourse/`) is the code the chapters use. The grader runs your notebook without the
library's versions of the parts you are asked to write, so write them yourself.

## Benchmarks on your machine

`make bench` times the library's training against a tutorial-style loop (chapter 3, "Faster rounds on
a CPU"), its peak memory and its time to readable digits, and writes what it measured here.

<!-- bench:start -->
<!-- bench:end -->
"""


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def imports_the_grader(path: Path) -> bool:
    return path.suffix == ".py" and re.search(r"^\s*(from|import)\s+autograder\b", path.read_text(), re.M) is not None


def kept(name: str) -> bool:
    if name.startswith(INSTRUCTOR_ONLY) or name in INSTRUCTOR_ONLY:
        return False
    return not imports_the_grader(REPO / name)  # scripts/ and bench/ hold a few


def student_makefile(text: str) -> str:
    """The Makefile without the targets that need solutions/, tests/ or the grader (blocks between blank lines)."""
    blocks = text.split("\n\n")
    drop = re.compile(rf"^({'|'.join(INSTRUCTOR_TARGETS)}):", re.M)
    blocks = [b for b in blocks if not drop.search(b)]
    text = "\n\n".join(blocks).replace(", gancourse, autograder\"", ", gancourse\"")
    text = re.sub(r"^ASSIGNMENTS :=.*\n", "", text, flags=re.M)
    text = re.sub(r"^(\.PHONY:.*)$", lambda m: " ".join(w for w in m.group(1).split()
                                                         if w not in INSTRUCTOR_TARGETS), text, flags=re.M)
    return text.replace("`make test` runs the test suite", "`make notebooks` rewrites the chapter notebooks")


def student_pyproject(text: str) -> str:
    return re.sub(r"^packages = \[.*\]$", 'packages = ["gancourse"]', text, flags=re.M)


def hidden_test_lines() -> set[str]:
    """Every line of the hidden-test regions of the solutions (stripped, at least 12 characters)."""
    lines: set[str] = set()
    for notebook in (REPO / "solutions").glob("*/*.ipynb"):
        for cell in json.loads(notebook.read_text())["cells"]:
            inside = False
            for line in "".join(cell["source"]).splitlines():
                if "BEGIN HIDDEN TESTS" in line:
                    inside = True
                elif "END HIDDEN TESTS" in line:
                    inside = False
                elif inside and len(line.strip()) >= 12:
                    lines.add(line.strip())
    return lines


def leaks(out: Path) -> list[str]:
    """What in ``out`` a student must not get; an empty list when nothing."""
    found = []
    instructor = {p.read_bytes() for folder in ("solutions", "autograder") for p in (REPO / folder).rglob("*")
                  if p.is_file() and p.stat().st_size > 64 and "__pycache__" not in p.parts}
    hidden = hidden_test_lines()
    for path in sorted(out.rglob("*")):
        if not path.is_file() or ".git" in path.relative_to(out).parts:
            continue
        name = path.relative_to(out).as_posix()
        if name.startswith(INSTRUCTOR_ONLY):
            found.append(f"{name}: an instructor's file")
        data = path.read_bytes()
        if data in instructor:
            found.append(f"{name}: a copy of a file of solutions/ or autograder/")
        text = data.decode("utf-8", errors="ignore")
        if MARKERS.search(text):
            found.append(f"{name}: nbgrader's solution or hidden-test markers")
        for line in hidden:
            if line in text:
                found.append(f"{name}: a line of a hidden test: {line[:60]}")
                break
    return found


def build(out: Path, url: str | None = None, branch: str | None = None) -> None:
    if out.exists():
        shutil.rmtree(out)
    for name in tracked_files():
        if kept(name) and (REPO / name).is_file():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, out / name)
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    (out / "README.md").write_text(README.format(title=config["title"]))
    (out / "Makefile").write_text(student_makefile((REPO / "Makefile").read_text()))
    (out / "pyproject.toml").write_text(student_pyproject((REPO / "pyproject.toml").read_text()))
    text = (out / "_config.yml").read_text()
    if url:
        text = re.sub(r"(^repository:\n  url: ).*$", rf"\g<1>{url}", text, flags=re.M)
    if branch:
        text = re.sub(r"(^repository:\n  url: .*\n  branch: ).*$", rf"\g<1>{branch}", text, flags=re.M)
    (out / "_config.yml").write_text(text)
    if url or branch:  # the chapter notebooks' Colab cell clones the repository _config.yml names
        subprocess.run([sys.executable, str(out / "scripts" / "chapter_notebooks.py")], cwd=out, check=True,
                       capture_output=True)
    problems = leaks(out)
    if problems:
        shutil.rmtree(out)  # nothing is left that could be published by mistake
        raise SystemExit("The student edition would give away instructor material:\n  " + "\n  ".join(problems))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the folder to write (replaced if it exists)")
    parser.add_argument("--repository-url", help="the student edition's repository, for launch buttons and Colab")
    parser.add_argument("--branch", help="its branch")
    args = parser.parse_args()
    if args.out.resolve() == REPO or REPO in args.out.resolve().parents and args.out.resolve().parts[
            len(REPO.parts)] != "_build":
        raise SystemExit("write the student edition outside the repository, or under _build/")
    build(args.out.resolve(), args.repository_url, args.branch)
    print(f"Student edition written to {args.out} ({sum(1 for p in args.out.rglob('*') if p.is_file())} files)")


if __name__ == "__main__":
    main()
