"""Mode collapse and its fixes on the 2-D toys of chapter 5: one table, every fix, several seeds.

Every row trains the same MLP generator and discriminator for the same number of generator steps, on
the ring of 8 Gaussians (std 0.01) and the 5x5 grid (std 0.05), and counts modes and high-quality
samples on 2,500 samples with :func:`gancourse.metrics.mode_coverage`. The fixes differ in a few lines
of :func:`train_one`, each marked with its name, so that they can be read side by side.

    python scripts/mode_collapse_study.py                      # the full study (results/mode_collapse)
    python scripts/mode_collapse_study.py --quick --out /tmp/x # a few steps, to check the plumbing

The shared settings (5,000 generator steps, batches of 512, Adam at 3e-3 with betas (0.5, 0.9), the
learning rates falling linearly to zero over the last 80 % of the run) were chosen on seed 0 of
minibatch stddev, before the study, for the time two CPU cores allow: on the ring, batches of 128
gave 64 % high quality and 512 gave 89 % (2,500 steps); on the grid, a learning rate of 1e-3 left the
samples smeared between modes (9 % high quality) where 3e-3 and the long decay gave 92 % (5,000 steps).
Every run is saved under ``<out>/runs`` as soon as it ends, so an interrupted study resumes where it
stopped; a changed setting retrains. On a GPU the runs go one after another, on CPU one per core.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from gancourse import data, fixes, losses, metrics
from gancourse.train import pick_device, seed_everything

# --- what is shared by every row ------------------------------------------------------------------


@dataclass
class Shared:
    """Hyper-parameters shared by every row of the table (tuned once, for all methods together)."""

    steps: int = 5000  # generator updates per run
    batch_size: int = 512
    latent_dim: int = 16
    g_hidden: tuple[int, ...] = (128, 128, 128)
    d_hidden: tuple[int, ...] = (128, 128)
    lr: float = 3e-3
    betas: tuple[float, float] = (0.5, 0.9)
    decay_from: float = 0.2  # the learning rates fall linearly to zero over the last 80 % of training
    n_samples: int = 2500  # samples evaluated per run


DATASETS = {  # name -> (sampler, mode centres, std)
    "ring8": (data.ring_of_gaussians, data.ring_modes(), 0.01),
    "grid25": (data.grid_of_gaussians, data.grid_modes(), 0.05),
}

# --- the rows: what each fix changes --------------------------------------------------------------


@dataclass
class Method:
    loss: str = "non_saturating"  # or "wasserstein"
    n_critic: int = 1  # D updates per G update
    replay: float = 0.0  # experience replay: fraction of D's fake batch taken from old fakes
    d_layer: str | None = None  # "minibatch_discrimination" or "minibatch_stddev" before D's last layer
    pack: int = 1  # PacGAN: samples per input of D
    clip: float | None = None  # WGAN: clip the critic's weights into [-clip, clip]
    gp: float = 0.0  # WGAN-GP: weight of the gradient penalty


METHODS = {
    "vanilla": Method(),
    "experience_replay": Method(replay=0.5),
    "minibatch_discrimination": Method(d_layer="minibatch_discrimination"),
    "minibatch_stddev": Method(d_layer="minibatch_stddev"),
    "pacgan2": Method(pack=2),
    "pacgan4": Method(pack=4),
    "wgan_clip": Method(loss="wasserstein", n_critic=5, clip=0.01),
    "wgan_gp": Method(loss="wasserstein", n_critic=5, gp=10.0),
}


def mlp(widths: list[int], activation: type[nn.Module]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for w_in, w_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(w_in, w_out), activation()]
    return layers


def make_generator(s: Shared) -> nn.Sequential:
    return nn.Sequential(*mlp([s.latent_dim, *s.g_hidden], nn.ReLU), nn.Linear(s.g_hidden[-1], 2))


def make_discriminator(s: Shared, m: Method) -> nn.Sequential:
    """The same MLP for every row; a fix may widen its input (packing) or add features before the last layer."""
    body = mlp([2 * m.pack, *s.d_hidden], lambda: nn.LeakyReLU(0.2))
    width = s.d_hidden[-1]
    if m.d_layer == "minibatch_discrimination":
        body.append(fixes.MinibatchDiscrimination(width, num_kernels=5, kernel_dim=3))
        width += 5
    elif m.d_layer == "minibatch_stddev":
        body.append(fixes.MinibatchStdDev())
        width += 1
    return nn.Sequential(*body, nn.Linear(width, 1), nn.Flatten(0))


# --- one run --------------------------------------------------------------------------------------


def train_one(dataset: str, method: str, seed: int, s: Shared, device: str) -> dict:
    """Train one GAN and return its metrics and its samples."""
    m = METHODS[method]
    sampler, modes, std = DATASETS[dataset]
    rng = seed_everything(seed)
    G, D = make_generator(s).to(device), make_discriminator(s, m).to(device)
    g_opt = torch.optim.Adam(G.parameters(), lr=s.lr, betas=s.betas)
    d_opt = torch.optim.Adam(D.parameters(), lr=s.lr, betas=s.betas)
    decay_start = int(s.decay_from * s.steps)

    def schedule(step: int) -> float:  # 1 until decay_start, then linearly down to 0 at the last step
        return 1.0 if step < decay_start else (s.steps - step) / (s.steps - decay_start)

    g_sched = torch.optim.lr_scheduler.LambdaLR(g_opt, schedule)
    d_sched = torch.optim.lr_scheduler.LambdaLR(d_opt, schedule)
    buffer = fixes.ReplayBuffer(capacity=50 * s.batch_size, fraction=m.replay, generator=rng) if m.replay else None

    def real_batch() -> torch.Tensor:
        return sampler(s.batch_size, std=std, seed=rng).to(device)

    def z_batch() -> torch.Tensor:
        return torch.randn(s.batch_size, s.latent_dim, generator=rng).to(device)

    def d_out(x: torch.Tensor) -> torch.Tensor:  # PacGAN: D sees m.pack samples at a time
        return D(fixes.pack(x, m.pack))

    start = time.perf_counter()
    for _ in range(s.steps):
        # Phase I -- update D (the critic for WGANs) n_critic times.
        for _ in range(m.n_critic):
            real = real_batch()
            with torch.no_grad():
                fake = G(z_batch())
            if buffer is not None:  # experience replay: part of the fake batch comes from the past
                fake = buffer.mix(fake)
            if m.loss == "wasserstein":
                d_loss = losses.wasserstein_critic_loss(d_out(real), d_out(fake))
            else:
                d_loss = losses.discriminator_loss(d_out(real), d_out(fake))
            if m.gp:  # WGAN-GP: keep the critic's gradient norm near 1 between real and fake
                d_loss = d_loss + m.gp * losses.gradient_penalty(d_out, real, fake, generator=rng)
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            if m.clip is not None:  # WGAN: keep the critic Lipschitz by clipping its weights
                fixes.clip_weights(D, m.clip)
        # Phase II -- update G once.
        fake_scores = d_out(G(z_batch()))
        if m.loss == "wasserstein":
            g_loss = losses.wasserstein_generator_loss(fake_scores)
        else:
            g_loss = losses.non_saturating_generator_loss(fake_scores)
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        g_sched.step()
        d_sched.step()
    seconds = time.perf_counter() - start

    with torch.no_grad():
        z = torch.randn(s.n_samples, s.latent_dim, generator=torch.Generator().manual_seed(10_000 + seed))
        samples = G(z.to(device)).cpu().numpy()
    modes_covered, high_quality = metrics.mode_coverage(samples, modes, std)
    return {"dataset": dataset, "method": method, "seed": seed, "modes": modes_covered, "total_modes": len(modes),
            "high_quality_pct": 100.0 * high_quality, "seconds": seconds, "samples": samples.astype(np.float32)}


def _config(job: tuple) -> str:
    dataset, method, seed, s, _device = job
    return json.dumps({"dataset": dataset, "method": asdict(METHODS[method]), "seed": seed, "shared": asdict(s)},
                      sort_keys=True)


def _cache_path(cache: Path, job: tuple) -> Path:
    return cache / f"{job[0]}__{job[1]}__{job[2]}.npz"


def load_finished(cache: Path, job: tuple) -> dict | None:
    """A run saved by an earlier (perhaps interrupted) call with exactly the same settings, else None."""
    path = _cache_path(cache, job)
    if not path.exists():
        return None
    with np.load(path) as f:
        row = json.loads(str(f["row"]))
        if row.pop("config") != _config(job):
            return None
        row["samples"] = f["samples"]
    return row


def _work(job: tuple, cache: Path) -> dict:
    torch.set_num_threads(1)  # one run per core beats one run on all cores for nets this small
    row = train_one(*job)
    # Save each run as soon as it ends, so that an interrupted study loses at most the runs in flight.
    meta = {k: v for k, v in row.items() if k != "samples"}
    tmp = _cache_path(cache, job).with_suffix(".tmp.npz")
    np.savez(tmp, samples=row["samples"], row=json.dumps({**meta, "config": _config(job)}))
    tmp.replace(_cache_path(cache, job))
    return row


# --- the study ------------------------------------------------------------------------------------


def summarize(rows: list[dict]) -> list[dict]:
    out = []
    for dataset in DATASETS:
        for method in METHODS:
            sel = [r for r in rows if r["dataset"] == dataset and r["method"] == method]
            if not sel:
                continue
            modes = np.array([r["modes"] for r in sel], dtype=float)
            hq = np.array([r["high_quality_pct"] for r in sel])
            out.append({"dataset": dataset, "method": method, "n_seeds": len(sel), "total_modes": sel[0]["total_modes"],
                        "modes_mean": round(modes.mean(), 2), "modes_std": round(modes.std(), 2),
                        "high_quality_pct_mean": round(hq.mean(), 2), "high_quality_pct_std": round(hq.std(), 2),
                        "all_modes_runs": int((modes == sel[0]["total_modes"]).sum())})
    return out


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5, help="seeds per dataset and method (0 .. seeds-1)")
    p.add_argument("--steps", type=int, default=Shared.steps, help="generator updates per run")
    p.add_argument("--quick", action="store_true", help="a few steps and one seed, to test the plumbing")
    p.add_argument("--out", type=Path, default=Path("results/mode_collapse"))
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    p.add_argument("--workers", type=int, default=None, help="parallel runs on CPU (default: one per core)")
    args = p.parse_args(argv)
    shared = Shared(steps=20 if args.quick else args.steps)
    seeds = list(range(1 if args.quick else args.seeds))
    device = pick_device(args.device)
    # One run per core on CPU; a quick check is not worth the start-up of worker processes.
    workers = 1 if device.type != "cpu" or args.quick else (args.workers or os.cpu_count() or 1)
    jobs = [(d, m, seed, shared, str(device)) for d in args.datasets for m in args.methods for seed in seeds]
    cache = args.out / "runs"
    cache.mkdir(parents=True, exist_ok=True)
    rows, todo = [], []
    for job in jobs:  # each saved run is read once: kept if its settings match, else trained again
        row = load_finished(cache, job)
        rows.append(row) if row is not None else todo.append(job)
    if rows:
        print(f"{len(rows)} of {len(jobs)} runs were already done with these settings ({cache}); training the rest")
    # The slowest rows (several critic steps per generator step) first, so the workers finish together.
    todo.sort(key=lambda job: -METHODS[job[1]].n_critic)

    start = time.perf_counter()
    with tqdm(total=len(todo), desc="runs") as bar:
        if workers > 1:
            with mp.get_context("spawn").Pool(workers) as pool:
                for row in pool.imap_unordered(functools.partial(_work, cache=cache), todo):
                    rows.append(row)
                    bar.update()
                    bar.set_postfix_str(f"{row['dataset']}/{row['method']}/{row['seed']}: {row['modes']} modes")
        else:
            for job in todo:
                rows.append(_work(job, cache))
                bar.update()
    wall = time.perf_counter() - start
    rows.sort(key=lambda r: (args.datasets.index(r["dataset"]), args.methods.index(r["method"]), r["seed"]))

    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "runs.csv", [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()
                                       if k != "samples"} for r in rows])
    summary = summarize(rows)
    write_csv(args.out / "summary.csv", summary)
    arrays = {f"{r['dataset']}/{r['method']}": r["samples"] for r in rows if r["seed"] == seeds[0]}
    for dataset in args.datasets:
        sampler, _, std = DATASETS[dataset]
        arrays[f"{dataset}/real"] = sampler(shared.n_samples, std=std, seed=0).numpy()
    np.savez_compressed(args.out / "samples.npz", **arrays)
    seconds = {f"{d}/{m}": round(sum(r["seconds"] for r in rows if r["dataset"] == d and r["method"] == m), 1)
               for d in args.datasets for m in args.methods}
    meta = {"command": " ".join([Path(sys.argv[0]).as_posix(), *(argv if argv is not None else sys.argv[1:])]),
            "device": str(device), "workers": workers, "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "torch": torch.__version__, "seeds": seeds, "steps": shared.steps, "shared": asdict(shared),
            "methods": {m: asdict(METHODS[m]) for m in args.methods},
            "train_seconds_per_dataset_method": seconds, "wall_seconds": round(wall, 1),
            "train_seconds_total": round(sum(r["seconds"] for r in rows), 1),
            "runs_resumed": len(jobs) - len(todo)}
    (args.out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    for row in summary:
        print(f"{row['dataset']:7s} {row['method']:26s} modes {row['modes_mean']:5.2f} ± {row['modes_std']:4.2f} "
              f"/ {row['total_modes']}   high quality {row['high_quality_pct_mean']:5.1f} ± "
              f"{row['high_quality_pct_std']:4.1f} %")
    print(f"wall time {wall:.0f} s on {device} with {workers} worker(s)")


if __name__ == "__main__":
    main()
