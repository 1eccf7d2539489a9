"""Chapter 3's ablations: break one DCGAN guideline at a time and measure what it costs.

    python scripts/dcgan_ablations.py                     # every variant, default budget
    python scripts/dcgan_ablations.py --steps 20 --seeds 0 --out /tmp/abl   # a quick check

Every variant trains the same half-width DCGAN (channels 128-64-32 in G, 32-64 in D, so that the
whole study fits a laptop CPU) for the same number of steps with the same seeds; only the switch
named in the table differs. Quality is the course-classifier FID of 1,000 samples against the
1,000 held-out real digits (lower is better; not comparable with Inception FID). Writes runs.csv,
samples.npz (64 samples per variant, seed 0, uint8) and meta.json to --out.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torchvision

from gancourse import classifier, data, nets, train

# name -> (what it breaks or changes, generator switches, discriminator switches)
VARIANTS: dict[str, tuple[str, dict, dict]] = {
    "guidelines": ("all guidelines followed", {}, {}),
    "bn_g_output": ("BatchNorm on G's output layer", {"output_batchnorm": True}, {}),
    "bn_d_input": ("BatchNorm on D's input", {}, {"input_batchnorm": True}),
    "bn_d_hidden": ("BatchNorm on D's inner convolution (guideline 2 in full; the lectures' D has none)", {},
                    {"hidden_batchnorm": True}),
    "pooling": ("max-pooling instead of strided convolutions in D", {}, {"downsample": "pool"}),
    "no_tanh": ("no tanh at G's output (linear)", {"output": "linear"}, {}),
    "relu_d": ("ReLU instead of LeakyReLU in D", {}, {"activation": "relu"}),
    "resize_conv": ("resize-convolution instead of strided transposed convolution in G",
                    {"upsample": "resize"}, {}),
}
G_WIDTH, D_WIDTH = 128, 32


def run_variant(name: str, steps: int, seed: int, device: torch.device, real_train, held_out, judge) -> dict:
    _, g_kwargs, d_kwargs = VARIANTS[name]
    torch.manual_seed(seed)
    G = nets.DCGANGenerator(width=G_WIDTH, **g_kwargs)
    D = nets.DCGANDiscriminator(width=D_WIDTH, **d_kwargs)
    G.apply(nets.dcgan_weights_init)
    D.apply(nets.dcgan_weights_init)
    history = train.train_gan(G, D, real_train, steps=steps, batch_size=64, device=device, seed=seed,
                              progress=True)
    fake = train.sample(G, len(held_out), seed=10_000 + seed).clamp(-1, 1)
    finite = bool(torch.isfinite(fake).all())
    fid = classifier.classifier_fid(held_out, fake, judge) if finite else float("nan")
    tail = max(1, steps // 10)
    return {
        "variant": name, "seed": seed, "steps": steps,
        "fid_course_classifier": round(fid, 2),
        "d_loss_last10pct": round(float(np.mean(history.d_loss[-tail:])), 3),
        "d_real_last10pct": round(float(np.mean(history.d_real[-tail:])), 3),
        "d_fake_last10pct": round(float(np.mean(history.d_fake[-tail:])), 3),
        "seconds": round(history.seconds, 1),
        "_samples": ((train.sample(G, 64, seed=1234).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", type=Path, default=Path("results/dcgan_ablations"))
    args = parser.parse_args(argv)
    device = train.pick_device(args.device)
    (real_train, _), (held_out, _) = data.split_held_out(*data.load_mnist_embedded())
    judge = classifier.load_course_classifier()
    args.out.mkdir(parents=True, exist_ok=True)
    rows, samples, start = [], {}, time.perf_counter()
    for name in args.variants:
        for seed in args.seeds:
            row = run_variant(name, args.steps, seed, device, real_train, held_out, judge)
            picture = row.pop("_samples")
            if seed == args.seeds[0]:
                samples[name] = picture
            rows.append(row)
            print(f"{name} seed {seed}: course-classifier FID {row['fid_course_classifier']} ({row['seconds']} s)")
    with open(args.out / "runs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    np.savez_compressed(args.out / "samples.npz", **samples)
    meta = {
        "what": "DCGAN guideline ablations (chapter 3); FID is course-classifier FID, 1,000 vs 1,000 held-out",
        "variants": {name: VARIANTS[name][0] for name in args.variants},
        "generator_width": G_WIDTH, "discriminator_width": D_WIDTH,
        "steps": args.steps, "batch_size": 64, "seeds": args.seeds,
        "device": str(device), "torch": torch.__version__, "torchvision": torchvision.__version__,
        "python": platform.python_version(), "wall_seconds": round(time.perf_counter() - start, 1),
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
    }
    (args.out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
