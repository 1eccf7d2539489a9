"""Train the course's DCGAN with PyTorch DistributedDataParallel, one process per GPU (or per CPU process).

    torchrun --standalone --nproc_per_node 4 scripts/train_ddp.py --steps 4000       # 4 GPUs, NCCL
    torchrun --standalone --nproc_per_node 2 scripts/train_ddp.py --backend gloo     # 2 CPU processes
    python scripts/train_ddp.py --steps 50                                           # one process, no torchrun

Every process holds a replica of G and D wrapped in ``DistributedDataParallel``, draws its real batches from
its own shard of the 5,000 embedded digits (every ``world_size``-th digit, from ``rank`` on), and plays the
library's round, ``train.alternating_step``; DDP averages the gradients across processes in each backward
pass, so the replicas stay identical and a round sees ``world_size x batch`` real digits. Latents are seeded
per rank, so the ranks' fakes differ. Rank 0 writes the checkpoint (``train.save_checkpoint``) and a JSON
summary; every rank writes a fingerprint of its weights to ``--out``, which the tests compare.

Backends: ``nccl`` for cuda (the default when cuda is available), ``gloo`` for CPU. Run on one machine with
``--standalone``; across machines, give torchrun ``--nnodes``, ``--node_rank`` and ``--rdzv_endpoint``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gancourse import data, nets, train  # noqa: E402


def fingerprint(*modules: torch.nn.Module) -> str:
    """A hash of every parameter of the modules: equal across ranks iff DDP kept the replicas equal. (Buffers,
    BatchNorm's running statistics, are rank 0's at every forward pass and each rank's own after it.)"""
    digest = hashlib.sha256()
    for module in modules:
        for name, tensor in module.named_parameters():
            digest.update(name.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="rounds (each process plays every round)")
    parser.add_argument("--batch-size", type=int, default=64, help="real digits per process per round")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=["nccl", "gloo"], default=None,
                        help="default: nccl when cuda is available, else gloo")
    parser.add_argument("--out", type=Path, default=Path("runs/ddp"), help="folder for the checkpoint and summaries")
    args = parser.parse_args(argv)

    backend = args.backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend == "nccl" and not torch.cuda.is_available():
        print("error: --backend nccl needs cuda; use --backend gloo on CPU", file=sys.stderr)
        return 2
    for key, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": "29511"}.items():
        os.environ.setdefault(key, value)  # one process without torchrun
    dist.init_process_group(backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ["LOCAL_RANK"])
    device = torch.device("cuda", local_rank) if backend == "nccl" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)

    try:
        torch.manual_seed(args.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
        G, D = nets.DCGANGenerator().to(device), nets.DCGANDiscriminator().to(device)
        latent_dim = G.latent_dim
        ids = [device.index] if device.type == "cuda" else None
        G, D = DistributedDataParallel(G, device_ids=ids), DistributedDataParallel(D, device_ids=ids)
        g_opt = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
        d_opt = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))

        images, _ = data.load_mnist_embedded()
        shard = images[rank::world]  # this rank's digits
        rng = torch.Generator().manual_seed(args.seed * 1000 + rank)  # per-rank batches and latents
        batches = train.real_batches(shard.to(device), args.batch_size, rng)

        def sample_z(n: int) -> torch.Tensor:
            return torch.randn(n, latent_dim, generator=rng).to(device)

        history = train.History()
        start = time.perf_counter()
        rounds = train.run_rounds(
            lambda: train.alternating_step(G, D, g_opt, d_opt, lambda: next(batches), sample_z),
            args.steps, history, desc=f"rank {rank}", progress=rank == 0)
        seconds = time.perf_counter() - start

        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"rank{rank}.json").write_text(json.dumps({
            "rank": rank, "world_size": world, "shard_size": len(shard),
            "weights": fingerprint(G.module, D.module), "last_d_loss": rounds.d_loss[-1]}) + "\n")
        if rank == 0:
            train.save_checkpoint(args.out / "dcgan_ddp.pt", G.module, D.module, g_opt, d_opt, history,
                                  world_size=world, backend=backend, steps=args.steps, batch_size=args.batch_size)
            images_per_second = args.steps * args.batch_size * world / seconds
            (args.out / "summary.json").write_text(json.dumps({
                "world_size": world, "backend": backend, "device": device.type, "steps": args.steps,
                "batch_per_process": args.batch_size, "seconds": round(seconds, 2),
                "images_per_second": round(images_per_second, 1)}, indent=1) + "\n")
            print(f"[measured] DDP on {world} {device.type} process(es), {backend}: {args.steps} rounds in "
                  f"{seconds:.1f} s, {images_per_second:.0f} real images/s in all", flush=True)
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
