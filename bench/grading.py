"""Grading one student: seconds and peak memory through the grading command, and a class's speed-up with jobs.

    python bench/grading.py                       # every assignment 3 times, then a class of 20
    python bench/grading.py --assignments a3_dcgan --repeats 1 --class-size 6
    python bench/grading.py --json results/bench_grading.json     # what `make bench` runs
    python bench/grading.py --class-size 0                         # one student of each assignment only

It prints

* the seconds to grade one student (the solution) of every assignment, alone, and the peak memory
  of that grading worker: the nbgrader process with its sandboxed kernel and its judge, summed over
  the process tree and sampled every 0.1 s (budgets: 60 s and 2 GiB); medians over ``--repeats``;
* the wall time of one class of ``--class-size`` students (copies of the solution and of the
  untouched release, half each) graded one at a time and ``--jobs`` at a time, their ratio
  (budget: 1.8x with 2 jobs), and whether every grade is identical (it exits 1 if not).

``--json`` writes the figures for bench/update_readme.py (the README's benchmark table); the sizing
table of book/instructors.md is checked against them (tests/test_bench.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from autograder.grade import as_solved_by_a_student  # noqa: E402

GiB = 2**30


def course_env(root: Path) -> dict[str, str]:
    return dict(os.environ, GANCOURSE_COURSE_ROOT=str(root))


def make_course(root: Path, assignment: str) -> None:
    (root / "solutions").symlink_to(REPO / "solutions")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
                    "--log-level=WARN"], cwd=REPO, env=course_env(root), check=True)
    shutil.copy(root / "gradebook.db", root / "gradebook.clean")


def submit(root: Path, assignment: str, student: str, solved: bool) -> None:
    """A copy of the release folder; a solved one has the source notebooks as a student who solved them."""
    folder = root / "submitted" / student / assignment
    shutil.copytree(REPO / "exercises" / assignment, folder)
    if solved:
        for source in (REPO / "solutions" / assignment).glob("*.ipynb"):
            nbformat.write(as_solved_by_a_student(nbformat.read(source, as_version=4)), folder / source.name)


class PeakMemory:
    """The largest total memory of a process and all its descendants, sampled in a thread: each process's
    proportional set size, in which a page shared by several processes (the judge forked from its nbgrader
    process shares most of its pages) is split between them instead of counted in each."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.root, self.every, self.peak, self._stop = psutil.Process(pid), every, 0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0
            for proc in procs:
                try:
                    total += proc.memory_full_info().pss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def grade(root: Path, assignment: str, jobs: int, students: list[str] | None = None) -> tuple[float, int, str]:
    """Grade (all, or some) students from a clean gradebook: wall seconds, peak memory, the report."""
    for state in ("autograded", "grading_logs"):
        shutil.rmtree(root / state, ignore_errors=True)
    shutil.copy(root / "gradebook.clean", root / "gradebook.db")
    cmd = [sys.executable, "-m", "autograder.grade", assignment, "--jobs", str(jobs)]
    for student in students or []:
        cmd += ["--student", student]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=course_env(root), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    memory = PeakMemory(proc.pid)
    out, _ = proc.communicate()
    seconds = time.perf_counter() - start
    peak = memory.stop()
    if proc.returncode != 0:
        raise SystemExit(f"grading {assignment} failed:\n{out[-2000:]}")
    return seconds, peak, out


def grades(root: Path, assignment: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {sub.student_id: {g.name: g.score for nb in sub.notebooks for g in nb.grades}
                for sub in gb.assignment_submissions(assignment)}


def one_student(assignment: str) -> tuple[float, float, int, str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_course(root, assignment)
        submit(root, assignment, "solution", solved=True)
        wall, peak, report = grade(root, assignment, 1)
    own = re.search(r"points in ([0-9.]+) s", report)
    points = re.search(r"solution: ([0-9.]+/[0-9.]+) points", report)
    return float(own.group(1)) if own else wall, wall, peak, points.group(1) if points else "?"


def one_class(assignment: str, size: int, jobs: int) -> tuple[float, float, bool]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_course(root, assignment)
        for i in range(size):
            submit(root, assignment, f"student{i:02d}", solved=i % 2 == 0)
        serial, _, _ = grade(root, assignment, 1)
        first = grades(root, assignment)
        parallel, _, _ = grade(root, assignment, jobs)
        second = grades(root, assignment)
    return serial, parallel, first == second


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="*", default=sorted(p.name for p in (REPO / "solutions").iterdir()
                                                                    if p.is_dir()))
    parser.add_argument("--repeats", type=int, default=3, help="gradings of each assignment's student (median)")
    parser.add_argument("--class-assignment", default="a3_dcgan")
    parser.add_argument("--class-size", type=int, default=20, help="0: no class")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    print(f"{'assignment':<18} {'student s':>9} {'wall s':>7} {'peak GiB':>9} {'points':>8}")
    students = {}
    for assignment in args.assignments:
        runs = [one_student(assignment) for _ in range(args.repeats)]
        seconds, wall, peak = (statistics.median(run[i] for run in runs) for i in range(3))
        students[assignment] = {"seconds": [run[0] for run in runs], "wall": [run[1] for run in runs],
                                "peak": [run[2] for run in runs], "points": [run[3] for run in runs],
                                "median_seconds": seconds, "median_peak_gib": peak / GiB}
        print(f"{assignment:<18} {seconds:>9.1f} {wall:>7.1f} {peak / GiB:>9.2f} {runs[0][3]:>8}", flush=True)
    worst_seconds = max(s["median_seconds"] for s in students.values())
    worst_memory = max(s["median_peak_gib"] for s in students.values())
    print(f"[measured] grading one student (the solution), medians of {args.repeats}: slowest {worst_seconds:.1f} s "
          f"(budget 60 s); largest worker {worst_memory:.2f} GiB (budget 2 GiB)")
    one_class_figures, same = None, True
    if args.class_size > 0:
        serial, parallel, same = one_class(args.class_assignment, args.class_size, args.jobs)
        one_class_figures = {"assignment": args.class_assignment, "size": args.class_size, "jobs": args.jobs,
                             "serial": serial, "parallel": parallel, "identical": same}
        print(f"[measured] {args.class_assignment}, a class of {args.class_size}: one at a time {serial:.1f} s, "
              f"{args.jobs} at a time {parallel:.1f} s: {serial / parallel:.2f}x faster (budget 1.8x); "
              f"grades identical: {same}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"repeats": args.repeats, "cpus": os.cpu_count(), "students": students,
                                         "class": one_class_figures}, indent=1) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
