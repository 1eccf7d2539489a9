"""bench/: the scripts run, write what they measured, and the README table is filled from it (no timing asserted)."""

import json
import subprocess
import sys

from tests.conftest import REPO


def test_throughput_bench_measures_every_loop_and_fills_the_readme_table(tmp_path):
    out = tmp_path / "bench_throughput.json"
    result = subprocess.run([sys.executable, "bench/throughput.py", "--steps", "2", "--repeats", "1",
                             "--json", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[measured] DCGAN training on cpu" in result.stdout
    figures = json.loads(out.read_text())
    loops = ["tutorial", "library", "library, bf16 autocast", "library, shared fakes",
             "library, shared fakes, bf16 autocast", "library, shared fakes, bf16 autocast, fused Adam"]
    assert list(figures["median"]) == loops
    assert all(rate > 0 for rate in figures["median"].values()) and figures["ratio"]["tutorial"] == 1.0
    assert all(len(figures["images_per_second"][name]) == 1 for name in loops)

    sys.path.insert(0, str(REPO / "bench"))
    try:
        import update_readme
    finally:
        sys.path.remove(str(REPO / "bench"))
    rows = update_readme.throughput_rows(figures)
    assert len(rows) == 6 and all(row.startswith("| DCGAN training, batch 128") for row in rows)
    assert f"{figures['ratio']['library']:.2f}x" in rows[1]


def test_memory_bench_reports_a_peak_above_its_baseline(tmp_path):
    out = tmp_path / "bench_memory.json"
    result = subprocess.run([sys.executable, "bench/memory.py", "--steps", "2", "--repeats", "1", "--json", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[measured] peak memory of DCGAN training" in result.stdout
    figures = json.loads(out.read_text())
    for precision in ("float32", "bf16"):
        (run,) = figures["runs"][precision]
        assert run["peak"] >= run["baseline"] > 100 * 2**20  # torch alone takes more than 100 MiB


def test_readable_bench_scores_every_recipe_and_reports_a_miss_as_a_miss(tmp_path):
    out = tmp_path / "bench_readable.json"
    result = subprocess.run([sys.executable, "bench/readable.py", "--budget", "1", "--every", "0.5", "--chunk", "1",
                             "--json", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert list(figures["results"]) == ["tutorial", "library", "library, bf16 autocast",
                                         "library, shared fakes, bf16 autocast"]
    for name, run in figures["results"].items():
        # a second of training cannot make readable digits: the run is a miss, with its scores kept
        assert run["seconds"] is None and run["checks"], name
        assert all(0.0 <= c["confident"] <= 1.0 and 0 <= c["classes"] <= 10 for c in run["checks"])
    assert "tutorial not within 1 s" in result.stdout

    sys.path.insert(0, str(REPO / "bench"))
    try:
        import update_readme
    finally:
        sys.path.remove(str(REPO / "bench"))
    rows = update_readme.readable_rows(figures)
    assert len(rows) == 4 and all("not within 1 s" in row for row in rows)


def test_a_miss_reports_the_scoring_closest_to_the_bar():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import readable
    finally:
        sys.path.remove(str(REPO / "bench"))
    untrained = {"confident": 1.0, "classes": 1}  # an untrained G: one confident class
    nearer = {"confident": 0.5, "classes": 10}
    assert readable.best_check([untrained, nearer, {"confident": 0.4, "classes": 9}]) == nearer


def test_grading_bench_grades_one_student_and_fills_the_readme_table(tmp_path):
    out = tmp_path / "bench_grading.json"
    result = subprocess.run([sys.executable, "bench/grading.py", "--assignments", "a2_troubles", "--repeats", "1",
                             "--class-size", "0", "--json", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "[measured] grading one student (the solution), medians of 1" in result.stdout
    figures = json.loads(out.read_text())
    (run,) = [figures["students"]["a2_troubles"]]
    points = run["points"][0].split("/")
    assert points[0] == points[1] and float(points[1]) > 0, run["points"]  # the solution gets every point
    assert 0 < run["median_seconds"] <= run["wall"][0]
    assert run["peak"][0] > 2**28  # nbgrader, a kernel with torch and a judge: well over 256 MiB
    assert figures["class"] is None

    sys.path.insert(0, str(REPO / "bench"))
    try:
        import update_readme
    finally:
        sys.path.remove(str(REPO / "bench"))
    (row,) = update_readme.grading_rows(figures)
    assert f"a2_troubles (median of 1; bench/grading.py) | {run['median_seconds']:.1f} s, peak" in row
    figures["class"] = {"assignment": "a3_dcgan", "size": 20, "jobs": 2, "serial": 198.5, "parallel": 109.6,
                        "identical": True}
    assert update_readme.grading_rows(figures)[-1].endswith("| 198 s, then 110 s; grades identical: True | 1.81x |")


def test_the_instructors_sizing_is_what_the_grading_bench_measured():
    """book/instructors.md sizes a term from results/bench_grading.json: its figures are the record's, and its table's
    arithmetic follows from them (a new `make bench` that moves a figure fails here until the page is updated)."""
    import re

    figures = json.loads((REPO / "results" / "bench_grading.json").read_text())
    page = (REPO / "book" / "instructors.md").read_text()
    sizing = page[page.index("**Sizing.**"):page.index("## Two repositories")]
    weekly = [run["median_seconds"] for name, run in figures["students"].items() if re.match(r"a\d_", name)]
    assert len(weekly) == 7
    portfolio = figures["students"]["portfolio_cgan"]["median_seconds"]
    peaks = [run["median_peak_gib"] for run in figures["students"].values()]
    one_class = figures["class"]
    stated = re.search(r"one student takes ([\d.]+) to ([\d.]+) s to grade\s+for assignments 1 to 7, and ([\d.]+) s "
                       r"for the portfolio; a grading worker .*? peaks at ([\d.]+) to ([\d.]+) GiB.*?`--jobs (\d)` on "
                       r"\d cores\s+graded ([\d.]+) times as fast as one job\..*? a student costs (\d) / ([\d.]+) = "
                       r"([\d.]+) times", sizing, re.S)
    assert stated, "the sizing paragraph no longer states the measured figures in the form this test reads"
    speedup = one_class["serial"] / one_class["parallel"]
    cores = one_class["jobs"] / speedup  # what one student graded alone keeps busy
    assert stated.groups() == (f"{min(weekly):.1f}", f"{max(weekly):.1f}", f"{portfolio:.1f}", f"{min(peaks):.2f}",
                               f"{max(peaks):.2f}", str(one_class["jobs"]), f"{speedup:.2f}", str(one_class["jobs"]),
                               f"{speedup:.2f}", f"{cores:.2f}")

    def number(text):
        return float(text.replace(",", ""))

    for kind, per_student in (("grading one weekly assignment", sum(weekly) / 7), ("grading the portfolio", portfolio)):
        row = re.search(rf"\| {kind} \(about (\d+) core-seconds a student\): core-seconds \| ([\d,]+) \| ([\d,]+) \|\n"
                        rf"\| \.\.\. on one 8-core[^|]*\| ([^|]+) \| ([^|]+) \|", sizing)
        assert row, kind
        seconds = int(row.group(1))
        assert seconds == round(per_student * cores), (kind, per_student, cores)
        assert (number(row.group(2)), number(row.group(3))) == (60 * seconds, 600 * seconds)
        for cell, students in ((row.group(4), 60), (row.group(5), 600)):
            for machines, minutes in zip((1, 4), re.findall(r"about ([\d.]+) min|/ ([\d.]+) min", cell)):
                minutes = float(next(m for m in minutes if m))
                expected = students * seconds / (8 * machines) / 60
                assert abs(minutes - expected) <= 0.1 * expected + 0.05, (kind, students, machines, minutes)
