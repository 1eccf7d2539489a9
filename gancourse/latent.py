"""Walking through a generator's latent space: straight and great-circle paths between two codes, and
latent arithmetic on groups of generated digits.

Chapter 3 decodes points along these paths to show that a trained DCGAN maps nearby codes to
similar images, and explains why the spherical path suits Gaussian latent vectors better. Its
latent arithmetic sorts a pool of generated digits by class and stroke (:class:`StylePool`) and
adds a style direction averaged over many groups to the latents of other digits.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

# Below this angle (radians) z0 and z1 point the same way and slerp's 0/0 is replaced by the
# straight line, which is its limit as the angle goes to zero.
PARALLEL_ANGLE = 1e-4


def _weights(t: float | torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``t`` as a tensor shaped to broadcast against a code, and whether it was a batch of values."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if t.dim() == 2 and t.shape[1] == 1:  # already a column of positions: a slerp that made one passes it on
        return t, True
    if t.dim() > 1:
        raise ValueError(f"t must be a number, a 1-D tensor of positions or a column of them (T, 1), "
                         f"got shape {tuple(t.shape)}")
    return (t.unsqueeze(1), True) if t.dim() == 1 else (t, False)


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """The straight path (1 - t) z0 + t z1 between two latent vectors (chapter 3).

    ``z0`` and ``z1`` have shape ``(d,)``; ``t`` is a number (result ``(d,)``) or a 1-D tensor of
    ``T`` positions, or a column ``(T, 1)`` of them (result ``(T, d)``, one point per row). ``t = 0`` gives
    z0 and ``t = 1`` gives z1.
    """
    w, _ = _weights(t, z0)
    return (1 - w) * z0 + w * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """The great-circle path between two latent vectors, which keeps a typical length (chapter 3).

    slerp(z0, z1; t) = sin((1 - t) W) / sin W * z0 + sin(t W) / sin W * z1, where W is the angle
    between z0 and z1. Shapes as in :func:`lerp`. When the two vectors are (nearly) parallel the
    formula is 0/0 and its limit, the straight line, is returned instead.
    """
    w, _ = _weights(t, z0)
    cos_omega = torch.clamp((z0 / z0.norm()) @ (z1 / z1.norm()), -1, 1)
    omega = torch.arccos(cos_omega)
    if float(omega) < PARALLEL_ANGLE:
        return lerp(z0, z1, t)
    return (torch.sin((1 - w) * omega) * z0 + torch.sin(w * omega) * z1) / torch.sin(omega)


Style = Literal["bold", "thin"]


class StylePool:
    """A pool of a generator's digits, sorted by what a classifier reads and by how much ink they use.

    ``n`` latents drawn with ``seed`` are decoded by ``G`` and read by ``judge`` (the course classifier);
    a digit counts when the classifier's top probability exceeds ``confident``. Chapter 3 uses
    ``n = 4000``, ``seed = 11`` and groups of 40, and the live panel on its page is built from the same pool.
    """

    def __init__(self, G: nn.Module, judge: nn.Module, n: int = 4000, seed: int = 11,
                 confident: float = 0.9) -> None:
        self.z = torch.randn(n, G.latent_dim, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            images = G(self.z)
            probs = torch.softmax(judge(images), 1)
        self.digit, self.confidence = probs.argmax(1), probs.max(1).values
        self.confident = confident
        self.ink = ((images + 1) / 2).mean(dim=(1, 2, 3))  # share of the canvas that is ink, in [0, 1]

    def group(self, digit: int, style: Style, size: int = 40) -> torch.Tensor:
        """The latents of the ``size`` confident ``digit``s with the most (bold) or least (thin) ink, boldest
        or thinnest first; fewer when the pool holds fewer."""
        if style not in ("bold", "thin"):
            raise ValueError(f"style must be 'bold' or 'thin', got {style!r}")
        members = torch.nonzero((self.digit == digit) & (self.confidence > self.confident)).squeeze(1)
        order = self.ink[members].argsort(descending=(style == "bold"))
        return self.z[members[order[:size]]]

    def direction(self, towards: Style = "bold", away: Style = "thin", size: int = 40) -> torch.Tensor:
        """A style direction averaged over all ten digits: mean(group towards) - mean(group away) per digit,
        then the mean of the ten differences, so that what is particular to one digit cancels."""
        return torch.stack([self.group(d, towards, size).mean(0) - self.group(d, away, size).mean(0)
                            for d in range(10)]).mean(0)
