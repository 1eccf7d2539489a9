"""Walking through a generator's latent space: straight and great-circle paths between two codes.

Chapter 3 decodes points along these paths to show that a trained DCGAN maps nearby codes to
similar images, and explains why the spherical path suits Gaussian latent vectors better.
"""

from __future__ import annotations

import torch

# Below this angle (radians) z0 and z1 point the same way and slerp's 0/0 is replaced by the
# straight line, which is its limit as the angle goes to zero.
PARALLEL_ANGLE = 1e-4


def _weights(t: float | torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``t`` as a tensor shaped to broadcast against a code, and whether it was a batch of values."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if t.dim() > 1:
        raise ValueError(f"t must be a number or a 1-D tensor of positions, got shape {tuple(t.shape)}")
    return (t.unsqueeze(1), True) if t.dim() == 1 else (t, False)


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """The straight path (1 - t) z0 + t z1 between two latent vectors (chapter 3).

    ``z0`` and ``z1`` have shape ``(d,)``; ``t`` is a number (result ``(d,)``) or a 1-D tensor of
    ``T`` positions (result ``(T, d)``, one point per row). ``t = 0`` gives z0 and ``t = 1`` gives z1.
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
