"""Four additions from the literature for a GAN trained on few images, each measured in chapter 6.

Each one changes a single thing and leaves :func:`gancourse.train.train_gan` as it is:

- :func:`ema_of` keeps an exponential moving average of G's weights (torch's ``AveragedModel``); the
  average, not G itself, draws the samples (Karras et al. 2018; Yazici et al. 2019);
- :class:`DiffAugment` shifts and cuts out parts of every image D sees, real and fake alike, with operations
  the gradient passes through to G (Zhao et al. 2020): put it in front of D, ``nn.Sequential(DiffAugment(), D)``;
- :func:`ttur_optimizers` gives D a larger learning rate than G, the two time-scale update rule
  (Heusel et al. 2017), with the 1e-4 / 4e-4 pair of SAGAN (Zhang et al. 2019);
- :func:`with_spectral_norm` divides every weight of D by its largest singular value (Miyato et al. 2018),
  with torch's own parametrization.

``scripts/small_data_ablations.py`` trains the course's DCGAN with each of them over several seeds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def ema_of(generator: nn.Module, decay: float = 0.995) -> AveragedModel:
    """An exponential moving average of ``generator``'s weights and BatchNorm statistics.

    Call ``ema.update_parameters(generator)`` after every generator step (``train_gan``'s ``callback``
    does it), then sample from ``ema.module``. With ``decay=0.995`` a weight's contribution halves every
    138 steps, about 9,000 images at batch 64.
    """
    if not 0.0 < decay < 1.0:
        raise ValueError(f"decay must be between 0 and 1, got {decay}")
    return AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


class DiffAugment(nn.Module):
    """Random translation and cutout of a batch of images, differentiable with respect to the images.

    Every image is shifted by up to ``shift`` of its side (whole pixels, the uncovered border filled with
    ``background``) and gets a square of ``cutout`` of its side set to ``background``, at a random place.
    D then never sees the same training image twice, which is what keeps it from memorising 5,000 digits;
    because fakes are augmented the same way and gradients flow through both operations, G is still taught
    to draw un-augmented digits. Random draws come from ``generator`` when given (a seeded run repeats).
    The module augments in training mode and in eval mode alike, as D is meant to see only augmented images.
    """

    def __init__(self, shift: float = 0.125, cutout: float = 0.5, background: float = -1.0,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not (0.0 <= shift < 1.0 and 0.0 <= cutout < 1.0):
            raise ValueError(f"shift and cutout are fractions of the image side in [0, 1), got {shift}, {cutout}")
        self.shift, self.cutout, self.background, self.generator = shift, cutout, background, generator

    def _randint(self, high: int, n: int, device: torch.device) -> torch.Tensor:
        return torch.randint(0, high, (n,), generator=self.generator).to(device)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        dy, dx = round(h * self.shift), round(w * self.shift)
        if dy == 0 and dx == 0:
            return x
        padded = F.pad(x, (dx, dx, dy, dy), value=self.background)
        top, left = self._randint(2 * dy + 1, n, x.device), self._randint(2 * dx + 1, n, x.device)
        rows = (top[:, None] + torch.arange(h, device=x.device))[:, None, :, None].expand(n, x.shape[1], h, w + 2 * dx)
        cols = (left[:, None] + torch.arange(w, device=x.device))[:, None, None, :].expand(n, x.shape[1], h, w)
        return padded.gather(2, rows).gather(3, cols)

    def cut_out(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        size_y, size_x = round(h * self.cutout), round(w * self.cutout)
        if size_y == 0 or size_x == 0:
            return x
        top, left = self._randint(h - size_y + 1, n, x.device), self._randint(w - size_x + 1, n, x.device)
        ys, xs = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
        inside_y = (ys[None] >= top[:, None]) & (ys[None] < top[:, None] + size_y)
        inside_x = (xs[None] >= left[:, None]) & (xs[None] < left[:, None] + size_x)
        hole = (inside_y[:, :, None] & inside_x[:, None, :])[:, None]
        return torch.where(hole, torch.full_like(x, self.background), x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cut_out(self.translate(x))


def ttur_optimizers(generator: nn.Module, discriminator: nn.Module, lr_g: float = 1e-4, lr_d: float = 4e-4,
                    betas: tuple[float, float] = (0.5, 0.999)) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for G and for D with their own learning rates (the two time-scale update rule)."""
    return (torch.optim.Adam(generator.parameters(), lr=lr_g, betas=betas),
            torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=betas))


def with_spectral_norm(discriminator: nn.Module) -> nn.Module:
    """``discriminator`` with spectral normalisation on the weight of every convolution and linear layer."""
    for module in list(discriminator.modules()):
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            spectral_norm(module)
    return discriminator
