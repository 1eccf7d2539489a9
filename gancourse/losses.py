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


def smoothed_discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_target: float = 0.9
) -> torch.Tensor:
    """D's loss with one-sided label smoothing: real samples get the target ``real_target``, fakes 0.

    Chapter 2 (Salimans et al. 2016): D's best answer on real data becomes ``real_target`` instead
    of 1, so D stops pushing its logits to infinity. Fake targets stay at 0 (hence "one-sided").
    """
    if not 0.0 <= real_target <= 1.0:
        raise ValueError(f"real_target is a probability, in [0, 1]; got {real_target}")
    # Cross-entropy against target t on a logit r: t * softplus(-r) + (1 - t) * softplus(r).
    real_term = real_target * F.softplus(-real_logits) + (1.0 - real_target) * F.softplus(real_logits)
    return real_term.mean() + F.softplus(fake_logits).mean()


def flipped_labels(n: int, label: float, flip_prob: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """n copies of a 0/1 label of which each is flipped (1 - label) with probability ``flip_prob``.

    The noisy labels of chapter 2; pass a seeded ``torch.Generator`` to get the same flips every run.
    """
    if not 0.0 <= flip_prob <= 1.0:
        raise ValueError(f"flip_prob is a probability, in [0, 1]; got {flip_prob}")
    flip = torch.rand(n, generator=generator) < flip_prob
    labels = torch.full((n,), float(label))
    return torch.where(flip, 1.0 - labels, labels)


def noisy_label_discriminator_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    flip_prob: float = 0.05,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """D's loss after flipping each real/fake label with probability ``flip_prob`` (chapter 2).

    A few "real" samples are labelled fake and a few fakes real, so no answer of D is ever certain.
    """
    return _bce_against_targets(real_logits, fake_logits,
                                flipped_labels(real_logits.shape[0], 1.0, flip_prob, generator),
                                flipped_labels(fake_logits.shape[0], 0.0, flip_prob, generator))


def uniform_label_noise_discriminator_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    scale: float = 0.05,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """D's loss with the lectures' label noise as written: every 0/1 target gets ``scale`` times a
    uniform draw from [0, 1) added, so real targets lie in [1, 1 + scale) and fake ones in [0, scale).

    A fake target above 0 gives D's fake logits a floor; a real target above 1 gives the real logits
    no ceiling at all (the loss keeps falling as they grow), unlike one-sided smoothing (chapter 2).
    """
    if scale < 0:
        raise ValueError(f"scale must be >= 0, got {scale}")
    noise = (torch.rand(real_logits.shape[0] + fake_logits.shape[0], generator=generator) * scale).double()
    return _bce_against_targets(real_logits, fake_logits, 1.0 + noise[: real_logits.shape[0]],
                                noise[real_logits.shape[0]:])


def _bce_against_targets(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_targets: torch.Tensor,
                         fake_targets: torch.Tensor) -> torch.Tensor:
    """Mean BCE of the real logits against their targets plus that of the fake logits (targets moved to the
    logits' device and dtype)."""
    return (F.binary_cross_entropy_with_logits(real_logits, real_targets.to(real_logits.device, real_logits.dtype))
            + F.binary_cross_entropy_with_logits(fake_logits, fake_targets.to(fake_logits.device, fake_logits.dtype)))


def saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss in the original minimax game: mean log(1 - D(G(z))), to be minimized.

    Its gradient vanishes when D confidently rejects the fakes, which is why it is rarely used.
    """
    return -F.softplus(fake_logits).mean()


def non_saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's non-saturating loss: mean -log D(G(z)). Same fixed point, strong gradient early on."""
    return F.softplus(-fake_logits).mean()


# --- the Wasserstein GAN (chapter 5): a critic's raw scores instead of logits --------------------

def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The WGAN critic's loss, mean f(G(z)) - mean f(x), to be minimized (chapter 5).

    Minimizing it maximizes the gap between the scores of real and fake samples, which estimates the
    Wasserstein-1 distance when the critic f is 1-Lipschitz (weight clipping or a gradient penalty).
    """
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The WGAN generator's loss, -mean f(G(z)): G raises the critic's score of its samples (chapter 5)."""
    return -fake_scores.mean()


def gradient_penalty(
    critic: torch.nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP's penalty mean (||grad f(x_hat)||_2 - 1)^2 on random interpolates x_hat (chapter 5).

    x_hat = eps x + (1 - eps) G(z) with one eps ~ U(0, 1) per sample pair. The graph is kept
    (create_graph=True), so the penalty trains the critic; multiply it by lambda (10 in the paper).
    """
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, generator=generator).to(device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.reshape(grad.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean()


def r1_from_logits(real_logits: torch.Tensor, real: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """The R1 penalty gamma/2 * E ||grad_x D(x)||^2 (Mescheder et al. 2018) from D's logits on ``real``, which
    must have been computed from ``real`` with its gradient tracked. The graph is kept, so the penalty can be
    backpropagated into D."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return 0.5 * gamma * grad.pow(2).flatten(1).sum(dim=1).mean()
