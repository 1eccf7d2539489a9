"""Regenerate the reference artifacts that the hidden tests use, on the best device available.

    python scripts/reference.py                  # everything (`make reference`)
    python scripts/reference.py --skip-notebooks # only the portfolio's statistics and thresholds
    python scripts/reference.py --only-notebooks # only run the solution notebooks

1. Held-out statistics: mean and covariance of the course classifier's 64-d features on the 1,000
   held-out embedded MNIST digits -> autograder/reference/portfolio_held_out_stats.npz.
2. Portfolio thresholds: the grader's small cGAN (autograder/probes/portfolio.py, the same networks
   and budget the hidden test's budget run uses) is trained with the reference loop
   (autograder/judges/portfolio.py) under exactly the grading budget, for every fix and every seed, and
   scored by the judge's own code; the thresholds are derived from the worst seed with a stated margin
   -> autograder/reference/portfolio.json (with device, seeds, versions and times).
3. Every solution notebook (solutions/*/*.ipynb) is executed from top to bottom with nbclient; the wall
   time and whether every graded cell passed are written to autograder/reference/solution_notebooks.json.
   On a GPU (or with --full-notebooks) they run as a student runs them, with their long training cells;
   on CPU they run in grading mode (NBGRADER_EXECUTION set, demo cells shrunk), which keeps this script
   at a few minutes. This step needs the thresholds of step 2.

Devices: pick_device() (cuda > mps > cpu, or $GANCOURSE_DEVICE). Grading itself runs on one CPU
thread; the thresholds' margin covers the difference between devices, and the file records which
device set them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.judges import portfolio  # noqa: E402
from autograder.probes.portfolio import BUDGET, FIXES  # noqa: E402
from gancourse.classifier import classifier_features, load_course_classifier  # noqa: E402
from gancourse.data import load_mnist_embedded, split_held_out  # noqa: E402
from gancourse.train import pick_device  # noqa: E402

# Margins measured over 20 runs (10 seeds x 2 fixes, 400 steps): the worst FID was 2.4 times the best and
# the accuracies spread over 0.2, so the limits sit well outside that spread; a generator blind to the
# label (accuracy ~0.1) or one that did not learn (FID in the thousands) stays far beyond them.
FID_MARGIN = 1.5
ACCURACY_MARGIN = 0.15
RULE = (f"fid_max = {FID_MARGIN} x the worst (largest) FID over all seeds and fixes; mean_accuracy_min = the "
        f"worst (smallest) mean per-class accuracy over all seeds and fixes - {ACCURACY_MARGIN}")


def write_held_out_statistics() -> None:
    _, (images, _) = split_held_out(*load_mnist_embedded())
    features = classifier_features(images, load_course_classifier("cpu")).double().numpy()
    portfolio.REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(portfolio.HELD_OUT_FILE, mu=features.mean(axis=0), sigma=np.cov(features, rowvar=False),
             n=np.array(len(features)))
    print(f"held-out statistics of {len(features)} digits -> {portfolio.HELD_OUT_FILE.relative_to(REPO)}")


def write_thresholds(seeds: list[int], device: torch.device) -> dict:
    if device.type == "cpu":
        torch.set_num_threads(1)  # as in grading
    runs = []
    start = time.perf_counter()
    for fix in FIXES:
        for seed in seeds:
            result = portfolio.reference_budget_run(fix, seed, str(device))
            runs.append({"fix": fix, "seed": seed, "fid": round(result["fid"], 3),
                         "mean_accuracy": round(result["mean_accuracy"], 4),
                         "per_class_accuracy": [round(a, 4) for a in result["per_class_accuracy"]],
                         "train_seconds": round(result["seconds"], 2)})
            print(f"  {fix:<9} seed {seed}: FID {result['fid']:7.1f}, mean per-class accuracy "
                  f"{result['mean_accuracy']:.2f} ({result['seconds']:.1f} s)", flush=True)
    worst_fid = max(r["fid"] for r in runs)
    worst_acc = min(r["mean_accuracy"] for r in runs)
    record = {
        "what": "thresholds of the portfolio's hidden training check (course-classifier FID of 500 samples, "
                "50 per class, against the held-out digits' statistics; mean of the ten per-class accuracies)",
        "budget": BUDGET, "evaluation": portfolio.EVAL,
        "fixes": "replay: the reference loop's replay store (half of D's fakes from the last 20 batches); minibatch: "
                 "the plain loop (the fix lives in the student's discriminator, which the budget run does not use)",
        "rule": RULE,
        "fid_margin": FID_MARGIN, "accuracy_margin": ACCURACY_MARGIN,
        "thresholds": {"fid_max": round(FID_MARGIN * worst_fid, 2),
                       "mean_accuracy_min": round(max(0.0, worst_acc - ACCURACY_MARGIN), 4)},
        "runs": runs,
        "device": str(device), "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__, "python": platform.python_version(), "numpy": np.__version__,
        "machine": platform.machine(), "wall_seconds": round(time.perf_counter() - start, 1),
    }
    portfolio.THRESHOLDS_FILE.write_text(json.dumps(record, indent=1) + "\n")
    print(f"thresholds {record['thresholds']} -> {portfolio.THRESHOLDS_FILE.relative_to(REPO)}")
    return record


def run_solution_notebooks(cell_timeout: int, full: bool) -> list[dict]:
    import nbclient
    import nbformat

    results = []
    env_before = os.environ.pop("NBGRADER_EXECUTION", None)
    if not full:
        os.environ["NBGRADER_EXECUTION"] = "autograde"  # grading mode: the demo cells shrink
    try:
        for path in sorted(REPO.glob("solutions/*/*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            client = nbclient.NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                                             resources={"metadata": {"path": str(path.parent)}})
            start = time.perf_counter()
            cpu_start = resource.getrusage(resource.RUSAGE_CHILDREN)
            error = None
            try:
                client.execute()
            except Exception as err:  # noqa: BLE001 - recorded, then the next notebook runs
                error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1][:300] if str(err) else ''}"
            seconds = time.perf_counter() - start
            cpu_end = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel, once it has exited
            cpu = (cpu_end.ru_utime + cpu_end.ru_stime) - (cpu_start.ru_utime + cpu_start.ru_stime)
            graded = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
            failed = [c.metadata["nbgrader"]["grade_id"] for c in graded
                      if not c.get("outputs") and c.get("execution_count") is None
                      or any(o.output_type == "error" for o in c.get("outputs", []))]
            results.append({"notebook": str(path.relative_to(REPO)), "seconds": round(seconds, 1),
                            "kernel_cpu_seconds": round(cpu, 1),
                            "mode": "full" if full else "grading (NBGRADER_EXECUTION set)",
                            "graded_cells": len(graded), "all_graded_cells_passed": error is None and not failed,
                            "failed": failed, "error": error})
            print(f"  {results[-1]['notebook']}: {seconds:.0f} s, graded cells passed: "
                  f"{results[-1]['all_graded_cells_passed']}", flush=True)
    finally:
        os.environ.pop("NBGRADER_EXECUTION", None)
        if env_before is not None:
            os.environ["NBGRADER_EXECUTION"] = env_before
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--skip-notebooks", action="store_true")
    parser.add_argument("--only-notebooks", action="store_true",
                        help="keep the committed statistics and thresholds; only run the solution notebooks")
    parser.add_argument("--full-notebooks", action="store_true",
                        help="run the solution notebooks' long training cells even on CPU")
    parser.add_argument("--cell-timeout", type=int, default=1800)
    args = parser.parse_args(argv)
    if len(args.seeds) < 5:
        parser.error("the thresholds need at least 5 seeds")
    device = pick_device(args.device)
    start = time.perf_counter()
    print(f"reference artifacts on {device}")
    if not args.only_notebooks:
        write_held_out_statistics()
        write_thresholds(args.seeds, device)
    if not args.skip_notebooks:
        record = {"device": str(device), "torch": torch.__version__, "python": platform.python_version(),
                  "notebooks": run_solution_notebooks(args.cell_timeout,
                                                        args.full_notebooks or device.type != "cpu")}
        out = portfolio.REFERENCE_DIR / "solution_notebooks.json"
        out.write_text(json.dumps(record, indent=1) + "\n")
        print(f"solution notebooks -> {out.relative_to(REPO)}")
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
