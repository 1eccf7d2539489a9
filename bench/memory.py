"""Peak memory of training the course's DCGAN on CPU, float32 and bf16 autocast, each in a fresh process.

    python bench/memory.py                       # 30 rounds of batch 128, 3 repeats
    python bench/memory.py --json results/bench_memory.json

Each run starts a new Python process that imports the library, loads the 4,000 embedded digits and builds
the networks (the baseline), then trains with ``train.train_gan``; the process reports its peak resident
memory (``ru_maxrss``) at both points. The figure is the median peak over the repeats, and the training's
share is the peak minus the baseline. Grading one student is measured by bench/grading.py (the
nbgrader process, the sandboxed kernel and the judge together).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MiB = 2**20

CHILD = """
import json, resource, sys, torch
from gancourse import data, nets, train
steps, autocast = int(sys.argv[1]), sys.argv[2]
images = data.load_mnist_embedded()[0][:4000]
torch.manual_seed(0)
G, D = nets.DCGANGenerator(), nets.DCGANDiscriminator()
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
train.train_gan(G, D, images, steps=steps, batch_size=128, progress=False,
                autocast=torch.bfloat16 if autocast == "bf16" else None)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"baseline": baseline, "peak": peak}))
"""


def measure(steps: int, precision: str) -> dict[str, int]:
    result = subprocess.run([sys.executable, "-c", CHILD, str(steps), precision], cwd=ROOT, capture_output=True,
                            text=True, timeout=1200, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures = {"steps": args.steps, "batch": 128, "repeats": args.repeats, "runs": {}, "median_peak_mib": {},
               "median_training_mib": {}}
    for precision in ("float32", "bf16"):
        runs = [measure(args.steps, precision) for _ in range(args.repeats)]
        figures["runs"][precision] = runs
        figures["median_peak_mib"][precision] = statistics.median(r["peak"] for r in runs) / MiB
        figures["median_training_mib"][precision] = statistics.median(r["peak"] - r["baseline"] for r in runs) / MiB
    print(f"[measured] peak memory of DCGAN training on CPU, batch 128, {args.steps} rounds, medians of "
          f"{args.repeats} fresh processes: " + "; ".join(
              f"{p} {figures['median_peak_mib'][p]:.0f} MiB (training adds {figures['median_training_mib'][p]:.0f} MiB)"
              for p in ("float32", "bf16")))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
