"""The alternating training algorithm of chapter 1, with device choice, seeding and checkpoints.

Phase I updates the discriminator k times on real and (detached) fake batches; Phase II updates
the generator once. :func:`alternating_step` is one such round (:func:`shared_fakes_step` is the PyTorch
tutorial's cheaper round, one batch of fakes for both updates); :func:`train_gan` repeats rounds with a
progress bar and records a :class:`History` of what the game looks like from the inside.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import losses

LossOnLogits = Callable[..., torch.Tensor]


# --- device and seeding -------------------------------------------------------------------------

def pick_device(name: str | None = None) -> torch.device:
    """The device to train on: ``name`` or $GANCOURSE_DEVICE if given, else cuda, then mps, then cpu.

    Asking for a device this machine does not have raises a clear error instead of failing later.
    """
    name = name or os.environ.get("GANCOURSE_DEVICE") or None
    if name is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} was asked for, but this machine has no CUDA GPU; "
                           "use pick_device() or 'cpu'.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(f"device {name!r} was asked for, but MPS is not available here; "
                           "use pick_device() or 'cpu'.")
    return device


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch so that a CPU run repeats exactly; returns a seeded generator."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


# --- one round of the game ----------------------------------------------------------------------

def alternating_step(
    generator: nn.Module,
    discriminator: nn.Module,
    g_opt: torch.optim.Optimizer,
    d_opt: torch.optim.Optimizer,
    next_real: Callable[[], torch.Tensor],
    sample_z: Callable[[int], torch.Tensor],
    k: int = 1,
    d_loss_fn: LossOnLogits = losses.discriminator_loss,
    g_loss_fn: LossOnLogits = losses.non_saturating_generator_loss,
) -> dict[str, float]:
    """k discriminator updates followed by one generator update; returns what the round measured.

    ``next_real()`` gives the next batch of real samples and ``sample_z(n)`` n latent vectors.
    The returned floats are the last D loss, the G loss, mean D(x), mean D(G(z)) seen by D, and
    mean D(G(z)) seen by G after D's update.
    """
    if k < 1:
        raise ValueError(f"k, the number of discriminator updates per round, must be at least 1, got {k}")
    for _ in range(k):
        # Phase I -- update D: maximize log D(x) + log(1 - D(G(z))), i.e. minimize d_loss_fn.
        real = next_real()
        with torch.no_grad():
            fake = generator(sample_z(real.shape[0]))
        real_logits, fake_logits = discriminator(real), discriminator(fake)
        d_loss = d_loss_fn(real_logits, fake_logits)
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()

    # Phase II -- update G: maximize log D(G(z)) (non-saturating), i.e. minimize g_loss_fn.
    g_logits = discriminator(generator(sample_z(real.shape[0])))
    g_loss = g_loss_fn(g_logits)
    g_opt.zero_grad(set_to_none=True)
    g_loss.backward()
    g_opt.step()
    return round_record(d_loss, g_loss, real_logits, fake_logits, g_logits)


def shared_fakes_step(
    generator: nn.Module,
    discriminator: nn.Module,
    g_opt: torch.optim.Optimizer,
    d_opt: torch.optim.Optimizer,
    next_real: Callable[[], torch.Tensor],
    sample_z: Callable[[int], torch.Tensor],
    d_loss_fn: LossOnLogits = losses.discriminator_loss,
    g_loss_fn: LossOnLogits = losses.non_saturating_generator_loss,
) -> dict[str, float]:
    """One round (k = 1) in which G draws one batch of fakes for both updates, as the PyTorch DCGAN tutorial does.

    D is updated on the fakes detached from G; G is then updated through the same fakes, judged by the
    updated D. This saves the second forward pass of G that :func:`alternating_step` makes for its fresh
    latents (chapter 1's algorithm draws new noise for G's update). Returns the same record.
    """
    real = next_real()
    fake = generator(sample_z(real.shape[0]))
    real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    d_loss = d_loss_fn(real_logits, fake_logits)
    d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    d_opt.step()

    g_logits = discriminator(fake)
    g_loss = g_loss_fn(g_logits)
    g_opt.zero_grad(set_to_none=True)
    g_loss.backward()
    g_opt.step()
    return round_record(d_loss, g_loss, real_logits, fake_logits, g_logits)


def round_record(d_loss, g_loss, real_logits, fake_logits, g_logits) -> dict[str, float]:
    """What a round measured, as floats: both losses, mean D(x), mean D(G(z)) seen by D and by G."""
    return {
        "d_loss": d_loss.item(),
        "g_loss": g_loss.item(),
        "d_real": torch.sigmoid(real_logits).mean().item(),
        "d_fake": torch.sigmoid(fake_logits).mean().item(),
        "d_fake_g": torch.sigmoid(g_logits).mean().item(),
    }


@dataclass
class History:
    """Per-step record of a run: both losses and the mean outputs of D (chapter 1 plots these)."""

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    d_fake_g: list[float] = field(default_factory=list)
    r1: list[float] = field(default_factory=list)  # the R1 penalty, filled by StyleGAN training only
    seconds: float = 0.0

    def append(self, record: dict[str, float]) -> None:
        for key, value in record.items():
            getattr(self, key).append(value)

    def __len__(self) -> int:
        return len(self.d_loss)

    def as_dict(self) -> dict:
        return asdict(self)


def real_batches(
    data: torch.Tensor, batch_size: int, generator: torch.Generator | None = None
) -> Iterator[torch.Tensor]:
    """Endless shuffled minibatches of a tensor that already sits on the training device.

    Indexing one tensor avoids a DataLoader's per-sample Python work, which dominates small GANs.
    """
    n = data.shape[0]
    if not 0 < batch_size <= n:
        raise ValueError(f"batch_size must be between 1 and the number of samples ({n}), got {batch_size}")
    while True:
        order = torch.randperm(n, generator=generator).to(data.device)
        for start in range(0, n - batch_size + 1, batch_size):
            yield data[order[start:start + batch_size]]


class R1OnReal:
    """The R1 penalty (gamma / 2) E ||grad_x D(x)||^2 on the real batch, added to D's loss in
    :func:`alternating_step` without changing it: use ``next_real`` and ``d_loss_fn`` in its place.

    ``next_real`` hands out each real batch with its gradient tracked; ``d_loss_fn`` adds the penalty,
    worked out from the same real logits D's loss reads (no second pass of D). ``stylegan.r1_penalty``
    is the same penalty for a D that is called on its own.
    """

    def __init__(self, next_real: Callable[[], torch.Tensor], d_loss_fn: LossOnLogits, gamma: float) -> None:
        self._next_real, self._d_loss_fn, self.gamma = next_real, d_loss_fn, gamma
        self.real: torch.Tensor | None = None

    def next_real(self) -> torch.Tensor:
        self.real = self._next_real().detach().requires_grad_(True)
        return self.real

    def d_loss_fn(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return self._d_loss_fn(real_logits, fake_logits) + losses.r1_from_logits(real_logits, self.real, self.gamma)


def train_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    data: torch.Tensor,
    *,
    steps: int,
    batch_size: int = 64,
    k: int = 1,
    lr: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    g_loss_fn: LossOnLogits = losses.non_saturating_generator_loss,
    d_loss_fn: LossOnLogits = losses.discriminator_loss,
    g_opt: torch.optim.Optimizer | None = None,
    d_opt: torch.optim.Optimizer | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
    history: History | None = None,
    progress: bool = True,
    callback: Callable[[int, dict[str, float]], None] | None = None,
    autocast: torch.dtype | None = None,
    shared_fakes: bool = False,
    r1_gamma: float = 0.0,
) -> History:
    """Train a GAN with the alternating algorithm for ``steps`` rounds and return its history.

    ``data`` holds the real samples (images or toy points). Adam with the DCGAN settings is used
    unless optimizers are passed. With the same seed, a CPU run gives the same history every time.
    ``autocast=torch.bfloat16`` runs the networks under ``torch.autocast`` in that dtype (the losses
    are still computed in float32, and the weights stay float32), at bf16's precision; the default
    runs in float32. ``shared_fakes=True`` plays each round with :func:`shared_fakes_step` (one batch
    of fakes for both updates, k = 1) instead of :func:`alternating_step`. bench/throughput.py
    measures what each gives against the PyTorch tutorial's loop. ``r1_gamma > 0`` adds the R1 penalty
    on each real batch to D's loss (:class:`R1OnReal`; chapter 7's StyleGAN is trained with it, and
    chapter 6 measures it on the DCGAN).
    """
    if shared_fakes and k != 1:
        raise ValueError(f"shared_fakes plays one D update a round (k = 1), got k = {k}")
    if r1_gamma < 0 or (r1_gamma and (shared_fakes or autocast is not None)):
        raise ValueError(f"r1_gamma must be 0 or more, and works with the default round in float32 only; got "
                         f"r1_gamma={r1_gamma}, shared_fakes={shared_fakes}, autocast={autocast}")
    device = pick_device(str(device)) if device is not None else pick_device()
    rng = seed_everything(seed)
    generator.to(device).train()
    discriminator.to(device).train()
    g_opt = g_opt or torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    d_opt = d_opt or torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    batches = real_batches(data.to(device), batch_size, rng)
    latent_dim = generator.latent_dim

    def sample_z(n: int) -> torch.Tensor:
        return torch.randn(n, latent_dim, generator=rng).to(device)

    if autocast is None:
        precision = contextlib.nullcontext
    else:  # the networks in `autocast`, the losses on float32 logits
        precision = functools.partial(torch.autocast, device.type, dtype=autocast)
        d_loss_fn = _on_float32_logits(d_loss_fn)
        g_loss_fn = _on_float32_logits(g_loss_fn)

    def next_real() -> torch.Tensor:
        return next(batches)

    if r1_gamma:
        r1 = R1OnReal(next_real, d_loss_fn, r1_gamma)
        next_real, d_loss_fn = r1.next_real, r1.d_loss_fn

    def one_round() -> dict[str, float]:
        with precision():
            if shared_fakes:
                return shared_fakes_step(generator, discriminator, g_opt, d_opt, lambda: next(batches),
                                         sample_z, d_loss_fn=d_loss_fn, g_loss_fn=g_loss_fn)
            return alternating_step(generator, discriminator, g_opt, d_opt, next_real,
                                    sample_z, k=k, d_loss_fn=d_loss_fn, g_loss_fn=g_loss_fn)

    return run_rounds(one_round, steps, history if history is not None else History(), desc="training",
                      progress=progress, callback=callback,
                      postfix=lambda r: {"D_x": f"{r['d_real']:.2f}", "D_G_z": f"{r['d_fake']:.2f}"})


def _on_float32_logits(loss_fn: LossOnLogits) -> LossOnLogits:
    """``loss_fn`` applied to its logits cast to float32 (under autocast they arrive in bf16 or fp16)."""

    @functools.wraps(loss_fn)
    def in_float32(*logits: torch.Tensor, **kwargs) -> torch.Tensor:
        return loss_fn(*(x.float() for x in logits), **kwargs)

    return in_float32


def run_rounds(
    one_round: Callable[[], dict[str, float]],
    steps: int,
    history: History,
    *,
    desc: str,
    progress: bool = True,
    callback: Callable[[int, dict[str, float]], None] | None = None,
    postfix: Callable[[dict[str, float]], dict[str, str]] | None = None,
) -> History:
    """Play ``steps`` rounds, appending each round's record to ``history``, with a tqdm bar.

    The bar shows both losses, plus what ``postfix(record)`` adds; ``callback(step, record)`` runs
    after every round. The rounds' wall time is added to ``history.seconds``.
    """
    start = time.perf_counter()
    bar = tqdm(range(steps), desc=desc, disable=not progress, mininterval=0.5)
    for step in bar:
        record = one_round()
        history.append(record)
        if step % 25 == 0 or step == steps - 1:
            bar.set_postfix(Loss_D=f"{record['d_loss']:.3f}", Loss_G=f"{record['g_loss']:.3f}",
                            **(postfix(record) if postfix else {}))
        if callback is not None:
            callback(step, record)
    history.seconds += time.perf_counter() - start
    return history


@torch.no_grad()
def sample(generator: nn.Module, n: int, seed: int = 0, device: str | torch.device | None = None) -> torch.Tensor:
    """n samples from G in eval mode, on the CPU, from a seeded latent draw (for figures)."""
    device = next(generator.parameters()).device if device is None else torch.device(device)
    z = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    with evaluating(generator):
        return generator(z).cpu()


@contextlib.contextmanager
def evaluating(net: nn.Module) -> Iterator[nn.Module]:
    """Put a net in eval mode (no dropout, BatchNorm running stats) for a block, then restore its mode."""
    was_training = net.training
    net.eval()
    try:
        yield net
    finally:
        net.train(was_training)


# --- checkpoints --------------------------------------------------------------------------------

def save_checkpoint(
    path: str | os.PathLike,
    generator: nn.Module,
    discriminator: nn.Module,
    g_opt: torch.optim.Optimizer | None = None,
    d_opt: torch.optim.Optimizer | None = None,
    history: History | None = None,
    **extra,
) -> Path:
    """Save both nets, their optimizers and the history to one file, written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "generator": generator.state_dict(),
        "discriminator": discriminator.state_dict(),
        "g_opt": g_opt.state_dict() if g_opt is not None else None,
        "d_opt": d_opt.state_dict() if d_opt is not None else None,
        "history": history.as_dict() if history is not None else None,
        "extra": extra,
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(
    path: str | os.PathLike,
    generator: nn.Module,
    discriminator: nn.Module | None = None,
    g_opt: torch.optim.Optimizer | None = None,
    d_opt: torch.optim.Optimizer | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[History | None, dict]:
    """Restore what :func:`save_checkpoint` wrote; returns (history, extra). Tensors only: safe to load."""
    state = torch.load(path, map_location=map_location, weights_only=True)
    generator.load_state_dict(state["generator"])
    if discriminator is not None:
        discriminator.load_state_dict(state["discriminator"])
    if g_opt is not None and state["g_opt"] is not None:
        g_opt.load_state_dict(state["g_opt"])
    if d_opt is not None and state["d_opt"] is not None:
        d_opt.load_state_dict(state["d_opt"])
    history = History(**state["history"]) if state["history"] is not None else None
    return history, state["extra"]
