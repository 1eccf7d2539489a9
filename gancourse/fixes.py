"""The fixes for mode collapse of chapter 5, each a small piece you can add to a plain GAN.

Each fix changes one thing and leaves the rest of the training loop alone:

- what D sees as fake: :class:`ReplayBuffer` mixes old fakes into the fake batch (experience replay);
- what D sees of the batch: :class:`MinibatchDiscrimination` and :class:`MinibatchStdDev` append
  features computed across the batch, and :func:`pack` shows D several samples at once (PacGAN);
- how D is kept in check: :func:`clip_weights` (WGAN); the Wasserstein losses and the gradient
  penalty live in :mod:`gancourse.losses`;
- where z comes from: :func:`truncated_latents` and :func:`truncate_toward_mean` (the truncation trick).
"""

from __future__ import annotations

import torch
from torch import nn

# --- what D sees as fake: experience replay -------------------------------------------------------


class ReplayBuffer:
    """A store of past fakes that replaces a fraction of each new fake batch with old ones (chapter 5).

    Experience replay (Shrivastava et al., 2017): if G hops from mode to mode, D keeps seeing the modes
    G visited before and keeps penalising them, so G cannot simply come back to them. The buffer holds at
    most ``capacity`` detached samples; once full, each new sample overwrites a random old one. All random
    choices come from ``generator``, so a seeded run repeats exactly.
    """

    def __init__(self, capacity: int, fraction: float = 0.5, generator: torch.Generator | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must lie in [0, 1], got {fraction}")
        self.capacity, self.fraction = capacity, fraction
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.storage: torch.Tensor | None = None  # (capacity, *sample_shape), allocated on first push
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def push(self, fakes: torch.Tensor) -> None:
        """Store detached copies of ``fakes``: append while there is room, then overwrite random slots."""
        fakes = fakes.detach()
        if self.storage is None:
            self.storage = torch.empty(self.capacity, *fakes.shape[1:], dtype=fakes.dtype, device=fakes.device)
        room = min(self.capacity - self.size, len(fakes))
        self.storage[self.size:self.size + room] = fakes[:room]
        self.size += room
        rest = fakes[room:]
        if len(rest):
            slots = torch.randint(self.capacity, (len(rest),), generator=self.generator)
            self.storage[slots.to(self.storage.device)] = rest

    def sample(self, n: int) -> torch.Tensor:
        """n stored samples drawn uniformly with replacement."""
        if self.size == 0:
            raise ValueError("the replay buffer is empty")
        picks = torch.randint(self.size, (n,), generator=self.generator)
        return self.storage[picks.to(self.storage.device)]

    def mix(self, fakes: torch.Tensor) -> torch.Tensor:
        """The batch D should see: round(fraction * n) old fakes followed by the rest of ``fakes``.

        ``fakes`` is then pushed, so the next call can replay it. Until something is stored, the batch is
        returned unchanged.
        """
        n_old = round(self.fraction * len(fakes)) if self.size else 0
        batch = torch.cat([self.sample(n_old), fakes[n_old:]]) if n_old else fakes
        self.push(fakes)
        return batch


# --- what D sees of the batch: features across the minibatch --------------------------------------


class MinibatchDiscrimination(nn.Module):
    """Append to each sample how close it is to the rest of the batch (Salimans et al., 2016; chapter 5).

    With a learned tensor T of shape (A, B, C), each sample's features x_i (length A) give B rows
    M_i = x_i T of length C. For each row b, c_b(x_i, x_j) = exp(-||M_i,b - M_j,b||_1), and the B extra
    features of sample i are o_b(x_i) = sum over the other samples j of c_b(x_i, x_j). A collapsed batch
    has many near neighbours, large o, and D can learn to call it fake. Output: (N, A + B).
    """

    def __init__(self, in_features: int, num_kernels: int = 8, kernel_dim: int = 8) -> None:
        super().__init__()
        self.num_kernels, self.kernel_dim = num_kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, num_kernels, kernel_dim) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = torch.einsum("na,abc->nbc", x, self.T)  # (N, B, C)
        l1 = (m[:, None] - m[None, :]).abs().sum(dim=3)  # (N, N, B): distances between rows across the batch
        closeness = torch.exp(-l1).sum(dim=1) - 1.0  # drop j = i, whose term is exp(0) = 1
        return torch.cat([x, closeness], dim=1)


class MinibatchStdDev(nn.Module):
    """Append one feature: the batch's standard deviation, averaged over features (ProGAN; chapter 5).

    Within each group of ``group_size`` consecutive samples (the whole batch by default), take the
    standard deviation of every feature over the group, average these into one number, and append it to
    every sample of the group: as a column for (N, F) input, as a constant channel for (N, C, H, W). A
    collapsed batch has a small value, and D can learn to call it fake. No learned parameters.
    """

    def __init__(self, group_size: int | None = None, eps: float = 1e-8) -> None:
        super().__init__()
        self.group_size, self.eps = group_size, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        g = n if self.group_size is None else min(self.group_size, n)
        if n % g:
            raise ValueError(f"batch size {n} is not a multiple of the group size {g}")
        groups = x.reshape(n // g, g, *x.shape[1:])
        std = torch.sqrt(groups.var(dim=1, unbiased=False) + self.eps)  # (n/g, *features)
        stat = std.reshape(n // g, -1).mean(dim=1)  # one number per group
        extra = stat.repeat_interleave(g).reshape(n, *([1] * (x.dim() - 1)))
        extra = extra.expand(n, 1, *x.shape[2:])
        return torch.cat([x, extra], dim=1)


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """PacGAN's packing (Lin et al., 2018; chapter 5): join m consecutive samples into one input for D.

    (N, d...) becomes (N / m, m * prod(d)); D judges m samples jointly, so a batch of near-copies is easy
    to spot. Real and fake batches are packed the same way.
    """
    if m < 1 or x.shape[0] % m:
        raise ValueError(f"cannot pack a batch of {x.shape[0]} into groups of {m}")
    return x.reshape(x.shape[0] // m, -1)


# --- how D is kept in check: the WGAN critic's weight clipping ------------------------------------


@torch.no_grad()
def clip_weights(critic: nn.Module, c: float = 0.01) -> None:
    """Clamp every parameter of the critic into [-c, c], in place, after each critic update (WGAN, chapter 5).

    This is the original WGAN's crude way to keep the critic Lipschitz; the gradient penalty replaced it.
    """
    for p in critic.parameters():
        p.clamp_(-c, c)


# --- where z comes from: the truncation trick ------------------------------------------------------


def truncated_latents(n: int, dim: int, threshold: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """n standard-normal latent vectors whose components all lie in [-threshold, threshold] (chapter 5).

    BigGAN's truncation trick: components beyond the threshold are drawn again until they fall inside.
    A small threshold trades diversity for fidelity. Deterministic for a seeded ``generator``.
    """
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    z = torch.randn(n, dim, generator=generator)
    outside = z.abs() > threshold
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = z.abs() > threshold
    return z


def truncate_toward_mean(w: torch.Tensor, w_mean: torch.Tensor, psi: float) -> torch.Tensor:
    """StyleGAN's truncation in w-space (chapter 5): w_mean + psi (w - w_mean); psi = 1 changes nothing,
    psi = 0 gives the average sample."""
    return w_mean + psi * (w - w_mean)
