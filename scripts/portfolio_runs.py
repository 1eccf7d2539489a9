"""Run the portfolio's reference solution from the top as a student would, time it, and keep what it measured.

    python scripts/portfolio_runs.py        # about 7 minutes on two CPU cores
    python scripts/portfolio_runs.py --out /tmp/runs.json --executed /tmp/portfolio.ipynb   # keep the figures

Executes solutions/portfolio_cgan/portfolio.ipynb with nbclient, outside grading (so its experiment cells
train at full size: three seeds of the healthy setting, three of the solution's ablation, one diverging run),
then reads the runs from the kernel and writes results/portfolio_runs.json: the wall time of the whole
notebook, and each run's losses, FID, per-class accuracy and seconds, with the interpolation figure's share
of images that kept their class. The notebook's time statement and the model answers of its report quote
that file; tests/test_portfolio_runs.py checks every number they quote against it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
SOLUTION = REPO / "solutions" / "portfolio_cgan" / "portfolio.ipynb"
OUT = REPO / "results" / "portfolio_runs.json"
WINDOW = 200  # the last steps of a run, summarised

COLLECT = f'''
import json as _json


def _summary(run):
    d, g = np.asarray(run["history"]["d_loss"]), np.asarray(run["history"]["g_loss"])
    return {{"seed": run["seed"], "fid": float(run["fid"]),
            "per_class_accuracy": [float(a) for a in run["per_class_accuracy"]],
            "mean_accuracy": float(np.mean(run["per_class_accuracy"])),
            "d_loss_last": float(d[-{WINDOW}:].mean()), "g_loss_last": float(g[-{WINDOW}:].mean()),
            "d_loss_min": float(d.min()), "g_loss_max": float(g.max()), "g_loss_max_step": int(g.argmax()),
            "seconds": float(run["seconds"])}}


with open(os.environ["PORTFOLIO_RUNS_OUT"], "w") as _out:
    _json.dump({{"steps": STEPS, "width": WIDTH, "n_eval_per_class": N_EVAL, "seeds": list(SEEDS), "fix": FIX,
                "healthy": HEALTHY, "ablation": ABLATION,
                "settings": {{name: [_summary(r) for r in runs] for name, runs in settings.items()}},
                "diverging": [_summary(r) for r in diverging],
                "interpolation": {{"kept": float(kept), "per_digit": [float(a) for a in kept_per_digit]}}}}, _out)
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the record goes (default: %(default)s)")
    parser.add_argument("--executed", type=Path, help="also write the executed notebook, figures included, here")
    args = parser.parse_args()
    nb = nbformat.read(SOLUTION, as_version=4)
    env_before = os.environ.pop("NBGRADER_EXECUTION", None)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "runs.json"
        os.environ["PORTFOLIO_RUNS_OUT"] = str(raw)
        client = NotebookClient(nb, timeout=3600, kernel_name="python3",
                                resources={"metadata": {"path": str(SOLUTION.parent)}})
        start = time.perf_counter()
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            seconds = time.perf_counter() - start
            collect = nbformat.v4.new_code_cell(COLLECT)
            nb.cells.append(collect)
            client.execute_cell(collect, len(nb.cells) - 1)
        record = json.loads(raw.read_text())
    if args.executed:
        nb.cells.pop()
        nbformat.write(nb, args.executed)
    if env_before is not None:
        os.environ["NBGRADER_EXECUTION"] = env_before
    record.update(notebook_seconds=round(seconds, 1), runs=sum(len(r) for r in record["settings"].values())
                  + len(record["diverging"]), device="cpu" if not torch.cuda.is_available() else "cuda",
                  threads=torch.get_num_threads(), cpus=os.cpu_count(), machine=platform.machine(),
                  torch=torch.__version__)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"the whole notebook: {seconds / 60:.1f} min ({record['runs']} training runs); written {args.out}")


if __name__ == "__main__":
    main()
