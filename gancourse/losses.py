"""The GAN losses of chapter 1, written on logits so that they stay finite for any logit.

With ``s = sigmoid(logit)`` the identities ``-log s = softplus(-logit)`` and
``-log(1 - s) = softplus(logit)`` avoid computing ``log(0)`` when D is very sure of itself.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """D's binary cross-entropy: mean -log D(x) over real plus mean -log(1 - D(G(z))) over fake.

    Minimizing it is the discriminator's side of the minimax game (chapter 1). The two batches may
    have different sizes; each term is a mean over its own batch.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss in the original minimax game: mean log(1 - D(G(z))), to be minimized.

    Its gradient vanishes when D confidently rejects the fakes, which is why it is rarely used.
    """
    return -F.softplus(fake_logits).mean()


def non_saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's non-saturating loss: mean -log D(G(z)). Same fixed point, strong gradient early on."""
    return F.softplus(-fake_logits).mean()
