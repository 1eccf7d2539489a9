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
