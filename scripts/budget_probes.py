"""Single-seed probes of the shipped DCGAN's full training budget (4,000 steps): what one change buys.

    python scripts/budget_probes.py plain decay          # each probe to 4,000 steps, seed 0, two at a time
    python scripts/budget_probes.py nodrop --steps 500 --out /tmp/probes     # a quick check

Chapter 6's ablation (scripts/small_data_ablations.py) stops at 1,500 steps, where G still improves
quickly. These probes train the DCGAN as scripts/train_models.py did before the R1 recipe won (the DCGAN
init, batch 64, Adam with betas 0.5 / 0.999 on the 4,000 training digits, one torch thread) for the whole
budget, with one change each (``PROBES``; a probe may join changes with ``+``, as in ``nodrop+sn``; the
shipped DCGAN is now ``nodrop+r1+adam0``), and keep three exponential moving averages of G beside it
(decays 0.99, 0.995, 0.999). Every ``--every`` steps, ``--samples`` (2,000) samples from
fixed latents of G and of each average are scored by the course classifier: the confident share (top
class over 0.9) and the number of digits over 5 % of the samples. Chapter 6's goal for the DCGAN is 90 %
confident with all 10 digits.

The R1 probe is ``train_gan(r1_gamma=1.0)``. The committed R1 runs were made with a copy of its round in this
script that asked D for its real logits a second time, for ``stylegan.r1_penalty``; for a D without dropout,
as in every R1 probe, that is the same round (tests/test_train.py checks it to 1e-6).

Each probe is one seed: a screen for a change large enough to be worth a three-seed ablation, not the
ablation itself. Each run is written to ``<out>/<probe>_seed<k>.json``; an existing one is kept.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gancourse import classifier, data, nets, small_data, train  # noqa: E402

PROBES = {
    "plain": "the recipe before chapter 6's R1 result: Adam 2e-4 for both players, D with dropout 0.3",
    "decay": "the learning rates fall linearly to zero over the second half of the budget",
    "nodrop": "D without dropout",
    "sn": "spectral normalisation on every layer of D",
    "lr5": "Adam 5e-4 for both players",
    "ttur2": "Adam 2e-4 for G, 4e-4 for D",
    "r1": "the R1 penalty (gamma 1) on D's real batch, as chapter 7's StyleGAN is trained (train_gan(r1_gamma=1))",
    "adam0": "Adam betas 0 / 0.99 for both players, chapter 7's StyleGAN's",
    "fast": "shared fakes and bf16 autocast (train_gan(shared_fakes=True, autocast=torch.bfloat16))",
}
EMA_DECAYS, SAMPLES = (0.99, 0.995, 0.999), 2000


def parts_of(probe: str) -> list[str]:
    parts = probe.split("+")
    unknown = [p for p in parts if p not in PROBES]
    if unknown:
        raise ValueError(f"unknown probe part(s) {unknown}; known: {sorted(PROBES)}")
    if {"r1", "fast"} <= set(parts):
        raise ValueError("r1 and fast cannot be joined: the R1 round has no shared fakes or bf16")
    return parts


def linear_decay(step: int, steps: int) -> float:
    """The "decay" probe's factor on the learning rate: 1 for the first half of ``steps``, then down to 0."""
    half = steps // 2
    return 1.0 if step < half else max(0.0, (steps - step) / (steps - half))


def run(probe: str, seed: int, steps: int, every: int, out: Path, samples: int = SAMPLES) -> list[dict]:
    path = out / f"{probe}_seed{seed}.json"
    if path.exists():
        return json.loads(path.read_text())["checks"]
    torch.set_num_threads(1)
    parts = parts_of(probe)
    (real_train, _), _ = data.split_held_out(*data.load_mnist_embedded())
    judge = classifier.load_course_classifier("cpu")
    torch.manual_seed(seed)
    G, D = nets.DCGANGenerator(), nets.DCGANDiscriminator(dropout=0.0 if "nodrop" in parts else 0.3)
    G.apply(nets.dcgan_weights_init)
    D.apply(nets.dcgan_weights_init)
    if "sn" in parts:
        D = small_data.with_spectral_norm(D)
    rates = {"lr5": (5e-4, 5e-4), "ttur2": (2e-4, 4e-4)}
    lr_g, lr_d = next((rates[p] for p in parts if p in rates), (2e-4, 2e-4))
    betas = (0.0, 0.99) if "adam0" in parts else (0.5, 0.999)
    g_opt = torch.optim.Adam(G.parameters(), lr=lr_g, betas=betas)
    d_opt = torch.optim.Adam(D.parameters(), lr=lr_d, betas=betas)
    averages = {decay: small_data.ema_of(G, decay) for decay in EMA_DECAYS}
    schedules = [torch.optim.lr_scheduler.LambdaLR(opt, functools.partial(linear_decay, steps=steps))
                 for opt in (g_opt, d_opt) if "decay" in parts]
    checks: list[dict] = []
    start = time.perf_counter()

    def after_round(step: int, record: dict) -> None:
        for average in averages.values():
            average.update_parameters(G)
        for schedule in schedules:
            schedule.step()
        if (step + 1) % every == 0:
            row = {"step": step + 1, "seconds": round(time.perf_counter() - start)}
            for name, net in [("G", G)] + [(f"EMA {decay}", avg.module) for decay, avg in averages.items()]:
                read = classifier.readability(train.sample(net, samples, seed=123).clamp(-1, 1), judge)
                row[name] = {"confident": round(read["confident"], 3), "classes": read["classes"]}
            checks.append(row)
            print(probe, seed, row, flush=True)

    fast = {"shared_fakes": True, "autocast": torch.bfloat16} if "fast" in parts else {}
    train.train_gan(G, D, real_train, steps=steps, device="cpu", seed=seed, callback=after_round, progress=False,
                    g_opt=g_opt, d_opt=d_opt, r1_gamma=1.0 if "r1" in parts else 0.0, **fast)
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"probe": probe, "what": [PROBES[p] for p in parts], "seed": seed, "steps": steps,
                                "samples": samples, "torch": torch.__version__, "checks": checks}, indent=1) + "\n")
    return checks


def screen(argv: list[str] | None, description: str, default_out: Path, parts_of, run) -> list[tuple[str, list]]:
    """The command line of a probe screen (this one and scripts/conditional_probes.py): each probe, checked by
    ``parts_of``, trained by ``run(probe, seed, steps, every, out, samples)`` in ``--jobs`` processes;
    (probe, checks)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("probes", nargs="+")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--samples", type=int, default=SAMPLES, help="samples scored per net at each check")
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args(argv)
    if args.samples < 10 or args.samples % 10:
        parser.error(f"--samples must be a positive multiple of 10 (ten digits), got {args.samples}")
    for probe in args.probes:
        parts_of(probe)
    # spawned, not forked: a fork of a process that has started torch's threads can hang at its exit
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        finals = list(pool.map(run, args.probes, *([x] * len(args.probes) for x in
                                                    (args.seed, args.steps, args.every, args.out, args.samples))))
    return list(zip(args.probes, finals))


def main(argv: list[str] | None = None) -> int:
    for probe, checks in screen(argv, __doc__, Path("results/small_data/budget_probes"), parts_of, run):
        last = checks[-1]
        print(f"{probe:>12} step {last['step']}: " + ", ".join(
            f"{name} {v['confident']:.1%} ({v['classes']} digits)" for name, v in last.items() if isinstance(v, dict)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
