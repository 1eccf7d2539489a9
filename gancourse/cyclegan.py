"""CycleGAN (chapter 7): two generators between unpaired domains A and B, tied by cycle consistency.

G_AB maps A to B and G_BA maps B back; discriminators D_A and D_B judge each domain. Without the
cycle term, the adversarial losses only ask that G_AB(A) *looks like* B as a whole, which many maps
satisfy, including ones that send several inputs to the same output.
"""

from __future__ import annotations

import time

import torch
from torch import nn
from tqdm.auto import tqdm

from . import losses
from .train import real_batches, seed_everything


def cycle_consistency_loss(real_a: torch.Tensor, real_b: torch.Tensor, g_ab: nn.Module, g_ba: nn.Module,
                           lam: float = 10.0) -> torch.Tensor:
    """lam * (mean |G_BA(G_AB(a)) - a| + mean |G_AB(G_BA(b)) - b|): both cycles, L1 (Zhu et al. 2017; chapter 7)."""
    forward_cycle = (g_ba(g_ab(real_a)) - real_a).abs().mean()
    backward_cycle = (g_ab(g_ba(real_b)) - real_b).abs().mean()
    return lam * (forward_cycle + backward_cycle)


def generator_objective(real_a: torch.Tensor, real_b: torch.Tensor, g_ab: nn.Module, g_ba: nn.Module,
                        d_a: nn.Module, d_b: nn.Module, lam: float = 10.0) -> dict[str, torch.Tensor]:
    """CycleGAN's loss for both generators: non-saturating adversarial terms plus lam times the cycle term.

    Returns ``{"total", "adversarial", "cycle", "cycle_error"}``: ``cycle`` includes the factor lam,
    ``cycle_error`` is the same term with lam = 1. (The paper used a least-squares adversarial loss;
    the course keeps the logit BCE of chapter 1.)
    """
    fake_b, fake_a = g_ab(real_a), g_ba(real_b)
    adversarial = (losses.non_saturating_generator_loss(d_b(fake_b))
                   + losses.non_saturating_generator_loss(d_a(fake_a)))
    cycle_error = cycle_consistency_loss(real_a, real_b, g_ab, g_ba, 1.0)
    cycle = lam * cycle_error
    return {"total": adversarial + cycle, "adversarial": adversarial, "cycle": cycle, "cycle_error": cycle_error}


def discriminator_objective(real_a: torch.Tensor, real_b: torch.Tensor, g_ab: nn.Module, g_ba: nn.Module,
                            d_a: nn.Module, d_b: nn.Module) -> torch.Tensor:
    """The two discriminators' BCE losses, each on its own domain, with the generated samples detached."""
    with torch.no_grad():
        fake_b, fake_a = g_ab(real_a), g_ba(real_b)
    return (losses.discriminator_loss(d_a(real_a), d_a(fake_a))
            + losses.discriminator_loss(d_b(real_b), d_b(fake_b)))


def train_cyclegan(g_ab: nn.Module, g_ba: nn.Module, d_a: nn.Module, d_b: nn.Module,
                   data_a: torch.Tensor, data_b: torch.Tensor, *, steps: int, batch_size: int = 128,
                   lr: float = 1e-3, betas: tuple[float, float] = (0.5, 0.999), lam: float = 10.0, seed: int = 0,
                   progress: bool = True) -> dict[str, list[float]]:
    """Train a CycleGAN on unpaired samples of two domains (chapter 7); ``lam=0`` drops the cycle term.

    Returns per-step lists of the discriminators' loss, the adversarial and the (scaled) cycle loss,
    and the unscaled cycle error, so that runs with different lam can be compared, and the seconds taken.
    """
    rng = seed_everything(seed)
    batches_a, batches_b = real_batches(data_a, batch_size, rng), real_batches(data_b, batch_size, rng)
    g_opt = torch.optim.Adam([*g_ab.parameters(), *g_ba.parameters()], lr=lr, betas=betas)
    d_opt = torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], lr=lr, betas=betas)
    history: dict[str, list[float]] = {"d_loss": [], "adversarial": [], "cycle": [], "cycle_error": []}
    start = time.perf_counter()
    for _ in tqdm(range(steps), desc="training", disable=not progress, mininterval=0.5):
        real_a, real_b = next(batches_a), next(batches_b)
        # Update D_A and D_B: tell each domain's real samples from the translated ones.
        d_loss = discriminator_objective(real_a, real_b, g_ab, g_ba, d_a, d_b)
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        # Update G_AB and G_BA: fool both discriminators and come back to where they started.
        g = generator_objective(real_a, real_b, g_ab, g_ba, d_a, d_b, lam)
        g_opt.zero_grad(set_to_none=True)
        g["total"].backward()
        g_opt.step()
        for key in history:
            history[key].append(d_loss.item() if key == "d_loss" else g[key].item())
    history["seconds"] = [time.perf_counter() - start]
    return history
