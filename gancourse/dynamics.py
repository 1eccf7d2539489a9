"""The troubles of training of chapter 2: the bilinear game, toy runs, and reading loss curves.

A GAN is a game, not a minimisation, and gradient steps on a game need not converge.
:func:`bilinear_game` shows this on the smallest game there is; :func:`train_toy_gan` trains small
toy GANs with two learning rates, two widths and a choice of optimizer, fast enough for a widget;
:func:`diagnose_history` reads a pair of loss curves and says which player, if any, has run away.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from . import losses, nets, train

# --- the bilinear game min_x max_y xy -----------------------------------------------------------


def bilinear_update_matrix(lr: float, alternating: bool) -> np.ndarray:
    """The 2x2 matrix M with (x, y) <- M (x, y) for one round of gradient play on min_x max_y xy.

    Simultaneous: both players step from the same point. Alternating: x steps first (the generator's
    move, descending y), then y steps from the new x (ascending x). Chapter 2 reads their eigenvalues.
    """
    if alternating:
        return np.array([[1.0, -lr], [lr, 1.0 - lr * lr]])
    return np.array([[1.0, -lr], [lr, 1.0]])


def bilinear_game(x0: float, y0: float, lr: float, steps: int, alternating: bool = False) -> np.ndarray:
    """Trajectory of gradient descent on x and ascent on y for the game min_x max_y xy (chapter 2).

    Returns an array of shape (steps + 1, 2) whose row t is (x, y) after t rounds. Simultaneous
    steps spiral outwards; alternating steps (x first, then y from the new x) circle for ever.
    """
    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    path = np.empty((steps + 1, 2))
    x, y = float(x0), float(y0)
    path[0] = x, y
    for t in range(1, steps + 1):
        if alternating:
            x = x - lr * y      # min player: d(xy)/dx = y, step downhill
            y = y + lr * x      # max player sees the new x: d(xy)/dy = x, step uphill
        else:
            x, y = x - lr * y, y + lr * x
        path[t] = x, y
    return path


# --- small toy GANs -----------------------------------------------------------------------------

OPTIMIZERS = ("Adam", "SGD", "RMSprop")


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    """One of the chapter-2 optimizers by name: Adam (DCGAN betas 0.5, 0.999), plain SGD or RMSprop."""
    key = name.lower()
    if key == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
    if key == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if key == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")


def train_toy_gan(
    real: torch.Tensor,
    *,
    steps: int = 600,
    d_lr: float = 1e-3,
    g_lr: float = 1e-3,
    optimizer: str = "Adam",
    d_width: int = 32,
    g_width: int = 32,
    k: int = 1,
    depth: int = 2,
    latent_dim: int = 4,
    batch_size: int = 128,
    d_loss_fn: train.LossOnLogits = losses.discriminator_loss,
    g_loss_fn: train.LossOnLogits = losses.non_saturating_generator_loss,
    discriminator_input: nn.Module | None = None,
    seed: int = 0,
    callback: Callable[[int, nn.Module, nn.Module, dict[str, float]], None] | None = None,
) -> tuple[nets.MLPGenerator, nets.MLPDiscriminator, train.History]:
    """Train a small MLP GAN on 1-D or 2-D toy data with separate settings for G and D (chapter 2).

    Both nets have ``depth`` hidden layers of the given widths; ``depth=0`` gives a linear G and a
    logistic-regression D. ``discriminator_input`` (for example :class:`InstanceNoise`) is applied to
    every sample D sees, real or fake. ``callback(step, G, D, record)`` runs after every round (to
    keep snapshots, say). Returns (G, D, history); the same seed gives the same run on the CPU.
    """
    dim = real.shape[1]
    train.seed_everything(seed)
    G = nets.MLPGenerator(latent_dim=latent_dim, out_shape=(dim,), hidden=(g_width,) * depth, tanh_output=False)
    D = nets.MLPDiscriminator(in_shape=(dim,), hidden=(d_width,) * depth)
    seen_by_d = D if discriminator_input is None else nn.Sequential(discriminator_input, D)
    history = train.train_gan(
        G, seen_by_d, real, steps=steps, batch_size=batch_size, k=k,
        g_opt=make_optimizer(optimizer, G.parameters(), g_lr),
        d_opt=make_optimizer(optimizer, D.parameters(), d_lr),
        d_loss_fn=d_loss_fn, g_loss_fn=g_loss_fn, device="cpu", seed=seed, progress=False,
        callback=None if callback is None else (lambda step, record: callback(step, G, D, record)),
    )
    return G, D, history


class InstanceNoise(nn.Module):
    """Adds Gaussian noise of a fixed std to every input of D while training (chapter 2).

    Real and fake samples both get blurred, so their distributions overlap and D cannot become
    perfectly sure (Sønderby et al. 2017). In eval mode it passes inputs through unchanged.
    """

    def __init__(self, std: float, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if std < 0:
            raise ValueError(f"the noise std must be non-negative, got {std}")
        self.std, self.generator = std, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.std == 0:
            return x
        noise = torch.randn(x.shape, generator=self.generator, dtype=x.dtype).to(x.device)
        return x + self.std * noise


# --- reading the loss curves --------------------------------------------------------------------

DIAGNOSES = ("healthy", "d-wins", "g-wins")
LOG2 = math.log(2.0)


def _as_losses(values: Sequence[float] | np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of per-step losses, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty: there is no training history to diagnose")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds nan or inf: the run diverged numerically, and no diagnosis applies")
    return array


def diagnose_history(d_losses: Sequence[float], g_losses: Sequence[float], tail: float = 0.25) -> str:
    """Read a GAN's loss curves: "d-wins", "g-wins" or "healthy" (neither has run away); chapter 2.

    Only the mean of each loss over the end of the run counts: the last floor(tail * steps) steps,
    at least one. Noise averages out, and the length of the run does not matter. The losses must be
    those of :func:`gancourse.losses.discriminator_loss` (2 log 2 at equilibrium) and the
    non-saturating G loss (log 2 at equilibrium). A player wins when its loss falls to half of its
    equilibrium value:

    * "d-wins" if the mean D loss is below log 2;
    * else "g-wins" if the mean G loss is below (log 2) / 2, i.e. D calls the fakes real with a
      (geometric) mean probability above 1/sqrt(2) = 0.71;
    * else "healthy". Healthy losses say nothing about sample quality.
    """
    d, g = _as_losses(d_losses, "d_losses"), _as_losses(g_losses, "g_losses")
    if d.shape != g.shape:
        raise ValueError(f"d_losses and g_losses must have one value per step each, got {d.size} and {g.size}")
    if not 0.0 < tail <= 1.0:
        raise ValueError(f"tail is the fraction of the run to average over, in (0, 1]; got {tail}")
    n = max(1, int(tail * d.size))  # the last floor(tail * steps) steps, at least one
    d_mean, g_mean = d[-n:].mean(), g[-n:].mean()
    if d_mean < LOG2:
        return "d-wins"
    if g_mean < LOG2 / 2:
        return "g-wins"
    return "healthy"


# --- how much signal reaches G ------------------------------------------------------------------

def generator_gradient_norm(
    generator: nn.Module, discriminator: nn.Module, z: torch.Tensor, g_loss_fn: train.LossOnLogits
) -> float:
    """Euclidean norm of the gradient of G's loss with respect to all of G's parameters (chapter 2).

    The gradient passes through D, so it shows how much a (fixed) discriminator tells G; neither
    net's ``.grad`` is touched.
    """
    params = [p for p in generator.parameters() if p.requires_grad]
    loss = g_loss_fn(discriminator(generator(z)))
    grads = torch.autograd.grad(loss, params)
    return torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item()
