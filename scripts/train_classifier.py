"""Train the course's MNIST classifier and write its weights and a record of the run.

    python scripts/train_classifier.py                 # writes gancourse/weights/mnist_classifier.{pt,json}
    python scripts/train_classifier.py --steps 5 --out /tmp/clf   # a quick smoke run elsewhere

It trains on the 4,000 training digits of the embedded MNIST set (the other 1,000 are held out and
only measured), with small random affine jitter, on the best device (GANCOURSE_DEVICE overrides).
The JSON file records held-out accuracy (overall and per class), device, seed, versions, wall time
and the command, so that chapter 6 can quote them and the tests can check them.
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
import torchvision
from torch import nn
from torchvision.transforms import v2
from tqdm.auto import tqdm

from gancourse import data, train
from gancourse.classifier import WEIGHTS_DIR, MNISTClassifier, per_class_accuracy

STEPS, BATCH_SIZE, LR, SEED = 800, 128, 2e-3, 0


def jitter(images: torch.Tensor, augment: v2.Transform, chunks: int = 8) -> torch.Tensor:
    """Apply a random affine transform per chunk of the batch (v2 draws one transform per call)."""
    return torch.cat([augment(part) for part in images.chunk(chunks)])


def train_classifier(
    steps: int = STEPS, batch_size: int = BATCH_SIZE, lr: float = LR, seed: int = SEED,
    device: str | None = None, progress: bool = True,
) -> tuple[MNISTClassifier, dict]:
    """Train a fresh classifier; returns it (eval mode, on the CPU) and the record of the run."""
    start = time.perf_counter()
    dev = train.pick_device(device)
    rng = train.seed_everything(seed)
    (x_train, y_train), (x_held, y_held) = data.split_held_out(*data.load_mnist_embedded())
    x_train, y_train = x_train.to(dev), y_train.to(dev)
    net = MNISTClassifier().to(dev).train()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1))
    augment = v2.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1), fill=-1.0)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.empty(0, dtype=torch.long)
    bar = tqdm(range(steps), desc="classifier", disable=not progress, mininterval=0.5)
    for step in bar:
        if len(order) < batch_size:  # a new epoch: reshuffle (the generator keeps runs repeatable)
            order = torch.randperm(len(y_train), generator=rng)
        idx, order = order[:batch_size].to(dev), order[batch_size:]
        loss = loss_fn(net(jitter(x_train[idx], augment)), y_train[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        if step % 50 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    net = net.cpu().eval()
    overall, per_class = per_class_accuracy(x_held, y_held, net)
    record = {
        "what": "the course's MNIST classifier (gancourse.classifier.MNISTClassifier); its 64-d bottleneck features "
                "give course-classifier FID, not comparable with Inception FID",
        "held_out_accuracy": round(overall, 4),
        "per_class_accuracy": [round(float(a), 4) for a in per_class],
        "n_train": len(y_train), "n_held_out": len(y_held),
        "data": "gancourse.data.split_held_out(*gancourse.data.load_mnist_embedded())",
        "feature_dim": MNISTClassifier.feature_dim,
        "steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed,
        "device": str(dev), "cpu_threads": torch.get_num_threads(),
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "command": "python " + shlex.join(sys.argv) if sys.argv and sys.argv[0].endswith(".py") else None,
    }
    return net, record


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="folder for mnist_classifier.{pt,json}")
    args = parser.parse_args(argv)
    net, record = train_classifier(args.steps, args.batch_size, args.lr, args.seed, args.device)
    if argv is not None:  # called from Python (e.g. the tests): record the equivalent command line
        record["command"] = "python scripts/train_classifier.py " + shlex.join(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), args.out / "mnist_classifier.pt")
    (args.out / "mnist_classifier.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"held-out accuracy {record['held_out_accuracy']:.4f} after {record['wall_seconds']} s "
          f"on {record['device']}; wrote {args.out / 'mnist_classifier.pt'}")
    return record


if __name__ == "__main__":
    main()
