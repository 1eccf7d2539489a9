"""Training throughput: images/s of the library's DCGAN training against the PyTorch tutorial's recipe.

    python bench/throughput.py                 # CPU, 3 repeats of 40 rounds each
    python bench/throughput.py --device cuda --steps 200 --json results/bench_throughput.json

Both loops train the same networks (``nets.DCGANGenerator`` and ``nets.DCGANDiscriminator``, the lectures'
DCGAN), on the same 4,000 embedded digits, with batch 128 and Adam(2e-4, betas (0.5, 0.999)). The tutorial
loop is written here as the PyTorch DCGAN tutorial writes it: a ``DataLoader`` over a ``TensorDataset``,
``nn.BCEWithLogitsLoss`` against label tensors, real and fake passes of D, and the losses read with
``.item()`` every step for the plot. The library loop is ``train.train_gan`` as the chapters call it (float32,
fresh latents for G's update), with ``autocast=torch.bfloat16``, and with ``shared_fakes=True`` (one batch of
fakes for both updates, as the tutorial plays a round) alone, with bf16, and with bf16 and Adam's fused kernel.
Each is timed after a few warm-up rounds; the script prints the median images/s of each over the repeats, and
the ratios of the medians, all measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gancourse import data, nets, train  # noqa: E402

BATCH, LR, BETAS, LATENT = 128, 2e-4, (0.5, 0.999), 100
WARMUP = 3


def digits() -> torch.Tensor:
    images, _ = data.load_mnist_embedded()
    return images[:4000]


class TutorialRecipe:
    """The PyTorch DCGAN tutorial's training recipe, one round at a time (``round()``)."""

    def __init__(self, images: torch.Tensor, device: torch.device, seed: int, batch: int = BATCH) -> None:
        torch.manual_seed(seed)
        self.device = device
        self.G, self.D = nets.DCGANGenerator().to(device), nets.DCGANDiscriminator().to(device)
        self.criterion = nn.BCEWithLogitsLoss()
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=LR, betas=BETAS)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=LR, betas=BETAS)
        self.loader = DataLoader(TensorDataset(images), batch_size=batch, shuffle=True, drop_last=True)
        self.batches = iter(())
        self.g_losses, self.d_losses = [], []

    def round(self) -> None:
        try:
            (real,) = next(self.batches)
        except StopIteration:  # a new epoch
            self.batches = iter(self.loader)
            (real,) = next(self.batches)
        G, D, criterion, device = self.G, self.D, self.criterion, self.device
        real = real.to(device)
        n = real.size(0)
        # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
        D.zero_grad()
        err_real = criterion(D(real).view(-1), torch.full((n,), 1.0, device=device))
        err_real.backward()
        fake = G(torch.randn(n, LATENT, device=device))
        err_fake = criterion(D(fake.detach()).view(-1), torch.full((n,), 0.0, device=device))
        err_fake.backward()
        self.opt_d.step()
        # (2) update G: maximize log(D(G(z)))
        G.zero_grad()
        err_g = criterion(D(fake).view(-1), torch.full((n,), 1.0, device=device))
        err_g.backward()
        self.opt_g.step()
        self.g_losses.append(err_g.item())
        self.d_losses.append((err_real + err_fake).item())


def tutorial_loop(images: torch.Tensor, steps: int, device: torch.device, seed: int) -> float:
    """images/s of the tutorial's recipe over `steps` rounds after WARMUP rounds."""
    recipe = TutorialRecipe(images, device, seed)
    for _ in range(WARMUP):
        recipe.round()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        recipe.round()
    _sync(device)
    return steps * BATCH / (time.perf_counter() - start)


def library_loop(images: torch.Tensor, steps: int, device: torch.device, seed: int, **options) -> float:
    """images/s of train.train_gan over `steps` rounds after WARMUP rounds (timed by a callback)."""
    torch.manual_seed(seed)
    G, D = nets.DCGANGenerator(), nets.DCGANDiscriminator()
    if options.pop("fused", False):  # Adam's fused kernel instead of its per-parameter loop
        options["g_opt"] = torch.optim.Adam(G.to(device).parameters(), lr=LR, betas=BETAS, fused=True)
        options["d_opt"] = torch.optim.Adam(D.to(device).parameters(), lr=LR, betas=BETAS, fused=True)
    marks = {}

    def mark(step: int, _record) -> None:
        if step == WARMUP - 1:
            _sync(device)
            marks["start"] = time.perf_counter()

    train.train_gan(G, D, images, steps=steps + WARMUP, batch_size=BATCH, lr=LR, betas=BETAS, device=device,
                    seed=seed, progress=False, callback=mark, **options)
    _sync(device)
    return steps * BATCH / (time.perf_counter() - marks["start"])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=40, help="timed rounds per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    images = digits()
    loops = {"tutorial": lambda seed: tutorial_loop(images, args.steps, device, seed),
             "library": lambda seed: library_loop(images, args.steps, device, seed),
             "library, bf16 autocast": lambda seed: library_loop(images, args.steps, device, seed,
                                                                 autocast=torch.bfloat16),
             "library, shared fakes": lambda seed: library_loop(images, args.steps, device, seed, shared_fakes=True),
             "library, shared fakes, bf16 autocast": lambda seed: library_loop(
                 images, args.steps, device, seed, shared_fakes=True, autocast=torch.bfloat16),
             "library, shared fakes, bf16 autocast, fused Adam": lambda seed: library_loop(
                 images, args.steps, device, seed, shared_fakes=True, autocast=torch.bfloat16, fused=True)}
    rates = {name: [] for name in loops}
    for repeat in range(args.repeats):  # interleaved, so that a slow spell of the machine hits both
        for name, loop in loops.items():
            rates[name].append(loop(repeat))
            print(f"  repeat {repeat + 1}/{args.repeats} {name}: {rates[name][-1]:.0f} images/s", flush=True)
    medians = {name: statistics.median(r) for name, r in rates.items()}
    ratio = {name: medians[name] / medians["tutorial"] for name in loops}
    print(f"[measured] DCGAN training on {device.type} ({torch.get_num_threads()} threads), batch {BATCH}, medians "
          f"of {args.repeats} x {args.steps} rounds: " + "; ".join(
              f"{name} {medians[name]:.0f} images/s ({ratio[name]:.2f}x the tutorial)" for name in loops))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "device": device.type, "threads": torch.get_num_threads(),
            "machine": platform.processor() or platform.machine(),
            "torch": torch.__version__, "batch": BATCH, "steps": args.steps, "repeats": args.repeats,
            "images_per_second": rates, "median": medians, "ratio": ratio}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
