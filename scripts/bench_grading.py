"""Benchmark: grade one class one student at a time, then with every core, and compare.

    python scripts/bench_grading.py a1_two_networks --students 8

The class is made of copies of the solution and of the untouched release (half each), submitted
into a throw-away course root. The script prints both wall times, their ratio, and whether every
grade is identical (it exits 1 if not). A benchmark, not a test: the numbers go into the README.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def course_env(root: Path) -> dict[str, str]:
    """nbgrader needs the course root, and its helper tools (alembic) from this Python's folder."""
    return dict(os.environ, GANCOURSE_COURSE_ROOT=str(root),
                PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def grade(root: Path, assignment: str, jobs: int) -> float:
    env = course_env(root)
    for state in ("autograded", "grading_logs"):
        shutil.rmtree(root / state, ignore_errors=True)
    shutil.copy(root / "gradebook.clean", root / "gradebook.db")  # the assignment, no grades yet
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder.grade", assignment, "--jobs", str(jobs)], cwd=REPO, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def grades(root: Path, assignment: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {sub.student_id: {g.name: g.score for nb in sub.notebooks for g in nb.grades}
                for sub in gb.assignment_submissions(assignment)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "solutions").symlink_to(REPO / "solutions")
        for i in range(args.students):
            source = REPO / ("solutions" if i % 2 == 0 else "exercises") / args.assignment
            shutil.copytree(source, root / "submitted" / f"student{i:02d}" / args.assignment)
        env = course_env(root)
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", args.assignment, "--force",
                        "--log-level=WARN"], cwd=REPO, env=env, check=True)
        shutil.copy(root / "gradebook.db", root / "gradebook.clean")
        serial = grade(root, args.assignment, 1)
        first = grades(root, args.assignment)
        parallel = grade(root, args.assignment, args.jobs)
        second = grades(root, args.assignment)
    same = first == second
    print(f"{args.assignment}: {args.students} students; one at a time {serial:.1f} s, "
          f"{args.jobs} at a time {parallel:.1f} s: {serial / parallel:.2f}x faster; "
          f"grades identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
