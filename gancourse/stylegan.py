"""The pieces of StyleGAN (chapter 7), small enough to read in one sitting and to run on a CPU.

A mapping network turns z into an intermediate latent w. The synthesis network starts from a
learned constant and, at every layer, adds per-pixel noise and re-styles its feature maps with
AdaIN, whose scale and bias are a learned affine function of w. Because each layer reads its own
copy of w, two latents can be mixed: one for the coarse layers, another for the fine ones. The
discriminator is regularised with the R1 penalty on real data.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import losses
from .fixes import MinibatchStdDev
from .train import History, pick_device, real_batches, round_record, run_rounds, seed_everything


class MappingNetwork(nn.Module):
    """The MLP f: z -> w of StyleGAN (chapter 7); z is first scaled to unit mean square ("pixel norm")."""

    def __init__(self, latent_dim: int = 32, w_dim: int = 32, n_layers: int = 4) -> None:
        super().__init__()
        self.latent_dim, self.w_dim = latent_dim, w_dim
        layers: list[nn.Module] = []
        width = latent_dim
        for _ in range(n_layers):
            layers += [nn.Linear(width, w_dim), nn.LeakyReLU(0.2)]
            width = w_dim
        self.net = nn.Sequential(*layers)
        for layer in self.net:  # He initialisation keeps w on the scale of z (StyleGAN's equalised lr does too)
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, a=0.2)
                nn.init.zeros_(layer.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        return self.net(z)


def adain(x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Adaptive instance normalisation (chapter 7): each sample's channel gets mean ``bias`` and std ``scale``.

    ``x`` is (N, C, H, W); ``scale`` and ``bias`` are (N, C). Statistics are taken over H and W only,
    separately for every sample and channel.
    """
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = torch.sqrt(x.var(dim=(2, 3), keepdim=True, unbiased=False) + eps)
    return scale[:, :, None, None] * (x - mean) / std + bias[:, :, None, None]


class AdaIN(nn.Module):
    """AdaIN whose style (scale, bias) is a learned affine map of w (chapter 7)."""

    def __init__(self, channels: int, w_dim: int) -> None:
        super().__init__()
        self.affine = nn.Linear(w_dim, 2 * channels)
        with torch.no_grad():  # start as the identity style: scale 1, bias 0
            self.affine.bias[:channels].fill_(1.0)
            self.affine.bias[channels:].zero_()

    def style(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-channel (scale, bias), each (N, C), that w asks for."""
        scale, bias = self.affine(w).chunk(2, dim=1)
        return scale, bias

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return adain(x, *self.style(w))


class NoiseInjection(nn.Module):
    """Adds one map of Gaussian noise per sample, shape (N, 1, H, W), times a learned weight per channel.

    The same noise map reaches every channel; each channel decides how much of it to use (chapter 7).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if noise is None:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        return x + self.weight * noise


class StyleLayer(nn.Module):
    """One style-based layer: (optional upsampling and) 3x3 conv, noise, LeakyReLU, AdaIN."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, size: int, upsample: bool) -> None:
        super().__init__()
        self.size, self.upsample = size, upsample
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.noise = NoiseInjection(c_out)
        self.adain = AdaIN(c_out, w_dim)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        x = F.leaky_relu(self.noise(self.conv(x), noise), 0.2)
        return self.adain(x, w)


class StyleGenerator(nn.Module):
    """A tiny style-based generator for 28x28 images (chapter 7): two styled layers at 4, 7, 14 and 28 px.

    ``forward(z)`` uses one w for every layer. ``synthesis(ws)`` takes one w per layer, shape
    (N, num_styles, w_dim), which is how styles are mixed (see :func:`mix_styles`).
    """

    def __init__(self, latent_dim: int = 32, w_dim: int = 32, channels: tuple[int, ...] = (64, 64, 32, 16),
                 sizes: tuple[int, ...] = (4, 7, 14, 28), mapping_layers: int = 4, out_channels: int = 1) -> None:
        super().__init__()
        self.latent_dim, self.w_dim = latent_dim, w_dim
        self.mapping = MappingNetwork(latent_dim, w_dim, mapping_layers)
        self.const = nn.Parameter(torch.randn(1, channels[0], sizes[0], sizes[0]))
        layers = []
        c_prev = channels[0]
        for i, (c, size) in enumerate(zip(channels, sizes)):
            layers.append(StyleLayer(c_prev, c, w_dim, size, upsample=i > 0))
            layers.append(StyleLayer(c, c, w_dim, size, upsample=False))
            c_prev = c
        self.layers = nn.ModuleList(layers)
        self.to_image = nn.Conv2d(c_prev, out_channels, 1)

    @property
    def num_styles(self) -> int:
        """How many layers read a w (each layer reads its own)."""
        return len(self.layers)

    def make_noise(self, n: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """One (n, 1, H, W) noise map per layer, for reproducible figures."""
        return [torch.randn(n, 1, layer.size, layer.size, generator=generator) for layer in self.layers]

    def synthesis(self, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Images from per-layer latents ``ws`` of shape (N, num_styles, w_dim)."""
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i], None if noise is None else noise[i].to(x.device))
        return torch.tanh(self.to_image(x))

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """The same w for every layer: (N, w_dim) -> (N, num_styles, w_dim)."""
        return w.unsqueeze(1).expand(-1, self.num_styles, -1)

    def forward(self, z: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        return self.synthesis(self.broadcast(self.mapping(z)), noise)


class StyleDiscriminator(nn.Module):
    """The discriminator trained against :class:`StyleGenerator` (chapter 7), at MNIST scale.

    Two strided 5x5 convolutions (64 and 128 channels, LeakyReLU 0.2), then ProGAN's minibatch
    standard deviation over groups of ``group_size`` samples, as StyleGAN's discriminator has, and a
    linear layer to one logit. No dropout and no normalisation: the R1 penalty keeps D in check.
    """

    def __init__(self, width: int = 64, group_size: int = 4, in_channels: int = 1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 5, 2, padding=2), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 5, 2, padding=2), nn.LeakyReLU(0.2),
            MinibatchStdDev(group_size),
        )
        self.logit = nn.Linear((2 * width + 1) * 7 * 7, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(self.features(x).flatten(1)).squeeze(1)


def mix_styles(w_first: torch.Tensor, w_second: torch.Tensor, num_styles: int,
               crossover: int | torch.Tensor) -> torch.Tensor:
    """Style mixing (chapter 7): layers before ``crossover`` read ``w_first``, the others ``w_second``.

    Both ws are (N, w_dim); the result is (N, num_styles, w_dim), ready for ``StyleGenerator.synthesis``.
    ``crossover`` is one layer index for all samples, or a tensor of N indices (one per sample).
    """
    crossover = torch.as_tensor(crossover, device=w_first.device).reshape(-1, 1, 1)
    use_first = torch.arange(num_styles, device=w_first.device)[None, :, None] < crossover
    return torch.where(use_first, w_first.unsqueeze(1), w_second.unsqueeze(1))


@torch.no_grad()
def average_w(generator: StyleGenerator, n: int = 10_000, seed: int = 0) -> torch.Tensor:
    """The average intermediate latent, over the mapping of ``n`` seeded draws of z: the "average digit" that
    the truncation trick pulls towards (chapter 7, and the live panel's exported graph)."""
    z = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    return generator.mapping(z.to(next(generator.parameters()).device)).mean(0)


def mixing_regularised_ws(generator: StyleGenerator, z: torch.Tensor, mixing_prob: float,
                          rng: torch.Generator | None = None) -> torch.Tensor:
    """Per-layer latents for a training batch with StyleGAN's mixing regularisation (chapter 7).

    With probability ``mixing_prob`` a sample gets a second latent and a random crossover layer
    in 1..num_styles-1; otherwise every layer reads the same w.
    """
    n, num_styles = z.shape[0], generator.num_styles
    second = torch.randn(z.shape, generator=rng).to(z.device)
    crossover = torch.randint(1, num_styles, (n,), generator=rng)
    mixed = torch.rand(n, generator=rng) < mixing_prob
    crossover = torch.where(mixed, crossover, torch.full_like(crossover, num_styles)).to(z.device)
    return mix_styles(generator.mapping(z), generator.mapping(second), num_styles, crossover)


def r1_penalty(discriminator: nn.Module, real: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """The R1 penalty gamma/2 * E ||grad_x D(x)||^2 on REAL samples only (Mescheder et al. 2018; chapter 7).

    D(x) is the discriminator's logit. The graph is kept, so the penalty can be backpropagated into D.
    """
    real = real.detach().requires_grad_(True)
    return losses.r1_from_logits(discriminator(real), real, gamma)


def train_stylegan(
    generator: StyleGenerator,
    discriminator: nn.Module,
    images: torch.Tensor,
    *,
    steps: int,
    batch_size: int = 64,
    lr: float = 2e-4,
    betas: tuple[float, float] = (0.0, 0.99),
    mapping_lr_ratio: float = 0.01,
    r1_gamma: float = 1.0,
    mixing_prob: float = 0.9,
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool = True,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> History:
    """Train the tiny StyleGAN the way the paper does, at MNIST scale (chapter 7); returns the history.

    Non-saturating loss, the R1 penalty on real images for D, style-mixing regularisation in G's
    batches, and a mapping network that learns ``mapping_lr_ratio`` times slower than the rest of G.
    The returned history has the usual loss fields plus ``r1``, the penalty of each step.
    """
    device = pick_device(str(device)) if device is not None else pick_device()
    rng = seed_everything(seed)
    generator.to(device).train()
    discriminator.to(device).train()
    synthesis = [p for name, p in generator.named_parameters() if not name.startswith("mapping.")]
    g_opt = torch.optim.Adam([{"params": synthesis},
                              {"params": generator.mapping.parameters(), "lr": lr * mapping_lr_ratio}],
                             lr=lr, betas=betas)
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    batches = real_batches(images.to(device), batch_size, rng)

    def fake_batch(n: int) -> torch.Tensor:
        z = torch.randn(n, generator.latent_dim, generator=rng).to(device)
        return generator.synthesis(mixing_regularised_ws(generator, z, mixing_prob, rng))

    def one_round() -> dict[str, float]:
        real = next(batches)
        with torch.no_grad():
            fake = fake_batch(real.shape[0])
        real_logits, fake_logits = discriminator(real), discriminator(fake)
        r1 = r1_penalty(discriminator, real, r1_gamma)
        d_loss = losses.discriminator_loss(real_logits, fake_logits)
        d_opt.zero_grad(set_to_none=True)
        (d_loss + r1).backward()
        d_opt.step()

        g_logits = discriminator(fake_batch(real.shape[0]))
        g_loss = losses.non_saturating_generator_loss(g_logits)
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        return {**round_record(d_loss, g_loss, real_logits, fake_logits, g_logits), "r1": r1.item()}

    return run_rounds(one_round, steps, History(), desc="training stylegan", progress=progress, callback=callback,
                      postfix=lambda record: {"R1": f"{record['r1']:.3f}"})
