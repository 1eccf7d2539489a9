"""Measure what the portfolio's "make it diverge" settings do, for the model answer of its part 7.

    python scripts/portfolio_divergence.py        # about 10 minutes on two CPU cores

Runs the reference solution's own cells (solutions/portfolio_cgan/portfolio.ipynb: its set-up, networks,
`train_cgan` and `evaluate`) at the budget a student gets on a CPU (the notebook's STEPS and WIDTH when not
grading), once with the healthy setting of its "Train it" cell and once per diverging setting, and writes
the losses, FID and per-class accuracy of each run to results/portfolio_divergence.json. The model answer
quotes that file, and tests/test_portfolio_divergence.py checks that every number it quotes is there.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import nbformat
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
SOLUTION = REPO / "solutions" / "portfolio_cgan" / "portfolio.ipynb"
OUT = REPO / "results" / "portfolio_divergence.json"
STEPS, WIDTH, N_EVAL, WINDOW = 1000, 32, 100, 200  # the notebook's CPU budget; WINDOW: the last steps summarised

# name -> (fix, seed, batch size, learning rate): the healthy run of "Train it", then the pre-filled setting of
# "Make it diverge" (lr 2e-2) with two more seeds, then the notebook's second suggestion (no fix, a tiny batch)
RUNS = {
    "healthy: lr 1e-3, seed 0": ("replay", 0, 64, 1e-3),
    "lr 2e-2, seed 1": ("replay", 1, 64, 2e-2),
    "lr 2e-2, seed 2": ("replay", 2, 64, 2e-2),
    "lr 2e-2, seed 3": ("replay", 3, 64, 2e-2),
    "no fix, batch 8, seed 1": (None, 1, 8, 1e-3),
}


def solution_namespace() -> dict:
    """The solution notebook's code cells up to `evaluate`, run as a student runs them (not in grading mode)."""
    os.environ.pop("NBGRADER_EXECUTION", None)
    namespace: dict = {}
    for cell in nbformat.read(SOLUTION, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.cell_type != "code" or grade_id.startswith("test_") or not grade_id:
            continue
        exec(compile(cell.source, f"{SOLUTION.name}:{grade_id}", "exec"), namespace)  # noqa: S102 - our own solution
        if grade_id == "evaluate":
            return namespace
    raise RuntimeError("the solution notebook has no cell with grade_id 'evaluate'")


def summarise(history: dict, scores: dict, seconds: float) -> dict:
    d, g = np.asarray(history["d_loss"]), np.asarray(history["g_loss"])
    accuracy = np.asarray(scores["per_class_accuracy"])
    return {
        "d_loss_last": float(d[-WINDOW:].mean()), "g_loss_last": float(g[-WINDOW:].mean()),
        "d_loss_min": float(d.min()), "g_loss_max": float(g.max()),
        "d_loss_std_last": float(d[-WINDOW:].std()), "g_loss_std_last": float(g[-WINDOW:].std()),
        "fid": scores["fid"], "mean_accuracy": float(accuracy.mean()),
        "per_class_accuracy": [round(float(a), 3) for a in accuracy], "seconds": seconds,
    }


def main() -> None:
    ns = solution_namespace()
    records = {}
    for name, (fix, seed, batch_size, lr) in RUNS.items():
        torch.manual_seed(seed)  # as the notebook's make_pair does
        G = ns["ConditionalGenerator"](latent_dim=32, width=WIDTH)
        D = ns["ConditionalDiscriminator"](width=WIDTH, minibatch=fix == "minibatch")
        start = time.perf_counter()
        history = ns["train_cgan"](G, D, ns["train_images"], ns["train_labels"], steps=STEPS, batch_size=batch_size,
                                   fix=fix, seed=seed, device=ns["device"], lr=lr)
        scores = ns["evaluate"](G, N_EVAL, ns["held_images"])
        records[name] = summarise(history, scores, time.perf_counter() - start)
        print(name, {k: round(v, 3) for k, v in records[name].items() if isinstance(v, float)}, flush=True)
    OUT.write_text(json.dumps({
        "steps": STEPS, "width": WIDTH, "n_eval_per_class": N_EVAL, "window": WINDOW, "device": str(ns["device"]),
        "torch": torch.__version__, "machine": platform.machine(), "threads": torch.get_num_threads(),
        "runs": records,
    }, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
