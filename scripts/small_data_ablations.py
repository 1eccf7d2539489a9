"""Chapter 6's ablations: four additions for training on 4,000 digits, each alone against the plain DCGAN.

    python scripts/small_data_ablations.py                         # every variant, 3 seeds, 1,500 steps
    python scripts/small_data_ablations.py --steps 40 --seeds 0 --every 20 --out /tmp/abl   # a quick check

Every run trains the course's DCGAN (the chapters' G and D, batch 64, Adam 2e-4, betas 0.5 / 0.999) on the
4,000 training digits with one change (``VARIANTS``), and keeps an exponential moving average of G's weights
beside G in every run (``small_data.ema_of``), so that EMA is measured against G on the same runs. Every
``--every`` steps, ``--samples`` (2,000) samples of G and of its average (fixed latents) are scored by the course
classifier: the share it reads confidently (top class > 0.9), the classes over 5 % of the samples, and the
course-classifier FID against the 1,000 held-out digits. Runs go ``--jobs`` at a time, one torch thread
each; each run is written to ``<out>/runs/<variant>_seed<k>.json`` as it ends, and an existing one is kept
(the study resumes; ``runs/`` is not committed). ``<out>/summary.json`` gathers every run's scores, which
chapter 6 reads; ``<out>/samples.npz`` holds 64 samples of every run (last step, G and average, uint8).
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gancourse import classifier, data, metrics, nets, small_data, train  # noqa: E402

VARIANTS = {
    "plain": "the chapters' DCGAN recipe",
    "ttur": "two time-scale update rule: Adam 1e-4 for G, 4e-4 for D",
    "spectral_norm": "spectral normalisation on every layer of D",
    "diffaugment": "DiffAugment (translation by up to 1/8 of the side, a cutout of half the side) before D",
    "translation": "DiffAugment's translation alone (up to 1/8 of the side, no cutout) before D",
}
SAMPLES, EMA_DECAY = 2000, 0.995


def build(variant: str, seed: int) -> tuple[nn.Module, nn.Module, torch.optim.Optimizer, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    G, D = nets.DCGANGenerator(), nets.DCGANDiscriminator()
    if variant == "spectral_norm":
        D = small_data.with_spectral_norm(D)
    if variant in ("diffaugment", "translation"):
        augment = small_data.DiffAugment(cutout=0.5 if variant == "diffaugment" else 0.0,
                                         generator=torch.Generator().manual_seed(10_000 + seed))
        D = nn.Sequential(augment, D)
    if variant == "ttur":
        g_opt, d_opt = small_data.ttur_optimizers(G, D)
    else:
        g_opt, d_opt = (torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999)) for net in (G, D))
    return G, D, g_opt, d_opt


def score(G: nn.Module, judge: nn.Module, held_out_features: torch.Tensor, samples: int = SAMPLES) -> dict:
    fake = train.sample(G, samples, seed=123).clamp(-1, 1)  # the same latents at every check
    read = classifier.readability(fake, judge)
    return {"confident": round(read["confident"], 4), "classes": read["classes"],
            "fid": round(metrics.frechet_distance_from_features(held_out_features,
                                                                classifier.classifier_features(fake, judge)), 2)}


def run(variant: str, seed: int, steps: int, every: int, out: Path, samples: int = SAMPLES) -> dict:
    torch.set_num_threads(1)
    path = out / "runs" / f"{variant}_seed{seed}.json"
    if path.exists():
        return json.loads(path.read_text())
    (real_train, _), (held_out, _) = data.split_held_out(*data.load_mnist_embedded())
    judge = classifier.load_course_classifier("cpu")
    held_out_features = classifier.classifier_features(held_out, judge)  # once: the same at every check
    G, D, g_opt, d_opt = build(variant, seed)
    ema = small_data.ema_of(G, EMA_DECAY)
    checks, seconds = [], 0.0
    for done in range(every, steps + every, every):
        history = train.train_gan(G, D, real_train, steps=every, g_opt=g_opt, d_opt=d_opt, device="cpu",
                                  seed=seed * 100_000 + done, progress=False,
                                  callback=lambda step, record: ema.update_parameters(G))
        seconds += history.seconds
        checks.append({"step": done, "seconds": round(seconds, 1), "G": score(G, judge, held_out_features, samples),
                       "EMA": score(ema.module, judge, held_out_features, samples)})
        print(f"{variant} seed {seed} step {done}: G {checks[-1]['G']}, EMA {checks[-1]['EMA']}", flush=True)
    pictures = {}
    for name, net in (("G", G), ("EMA", ema.module)):
        pictures[name] = ((train.sample(net, 64, seed=1234).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).tolist()
    record = {"variant": variant, "seed": seed, "steps": steps, "checks": checks, "samples": pictures}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record) + "\n")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/small_data"))
    parser.add_argument("--samples", type=int, default=SAMPLES, help="samples scored per net at each check")
    args = parser.parse_args(argv)
    if args.steps % args.every:
        parser.error(f"--steps ({args.steps}) must be a multiple of --every ({args.every})")
    start = time.perf_counter()
    jobs = [(v, s) for v in args.variants for s in args.seeds]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        records = list(pool.map(run, *zip(*jobs), *([x] * len(jobs) for x in
                                                    (args.steps, args.every, args.out, args.samples))))
    summary = {"what": "chapter 6's small-data ablations: the course's DCGAN on 4,000 digits, one change per "
                       "variant, G and its weight average (EMA) scored by the course classifier on "
                       f"{args.samples:,} samples",
               "variants": {v: VARIANTS[v] for v in args.variants}, "ema_decay": EMA_DECAY,
               "steps": args.steps, "batch_size": 64, "seeds": args.seeds, "samples": args.samples,
               "runs": [{"variant": r["variant"], "seed": r["seed"], "checks": r["checks"]} for r in records],
               "torch": torch.__version__, "python": platform.python_version(), "threads_per_run": 1,
               "wall_seconds_of_this_call": round(time.perf_counter() - start, 1),
               "command": "python " + " ".join(shlex.quote(a) for a in sys.argv)}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    np.savez_compressed(args.out / "samples.npz", **{
        f"{r['variant']}_seed{r['seed']}_{name}": np.array(r["samples"][name], dtype=np.uint8)
        for r in records for name in ("G", "EMA")})
    final = {(r["variant"], r["seed"]): r["checks"][-1] for r in records}
    for v in args.variants:
        rows = [final[v, s] for s in args.seeds]
        for net in ("G", "EMA"):
            conf = [r[net]["confident"] for r in rows]
            fid = [r[net]["fid"] for r in rows]
            print(f"{v:>14} {net:>3}: confident {np.mean(conf):.1%} ± {np.std(conf):.1%}, FID {np.mean(fid):.1f} "
                  f"± {np.std(fid):.1f}, classes {[r[net]['classes'] for r in rows]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
