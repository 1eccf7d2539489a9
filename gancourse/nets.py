"""The generators and discriminators of the course.

Every discriminator returns one raw logit per sample, shape ``(N,)``: the probability D(x) is
``torch.sigmoid(logit)``, and the losses in :mod:`gancourse.losses` take logits because that form is
numerically stable (chapter 1). Generators for images end in tanh, matching data in [-1, 1].
"""

from __future__ import annotations

import math

import torch
from torch import nn


class MLPGenerator(nn.Module):
    """G(z) as a plain multilayer perceptron: the generator of chapter 1 and of the toy studies.

    ``out_shape`` is the shape of one sample, e.g. ``(2,)`` for 2-D toys or ``(1, 28, 28)`` for
    MNIST. ``tanh_output`` squashes samples into [-1, 1]; leave it off for unbounded toy data.
    """

    def __init__(
        self,
        latent_dim: int = 64,
        out_shape: tuple[int, ...] = (1, 28, 28),
        hidden: tuple[int, ...] = (256, 512),
        tanh_output: bool = True,
    ) -> None:
        super().__init__()
        self.latent_dim, self.out_shape = latent_dim, tuple(out_shape)
        layers: list[nn.Module] = []
        width = latent_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, math.prod(self.out_shape)))
        if tanh_output:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.out_shape)


class MLPDiscriminator(nn.Module):
    """D(x) as a multilayer perceptron with LeakyReLU; returns one logit per sample."""

    def __init__(
        self,
        in_shape: tuple[int, ...] = (1, 28, 28),
        hidden: tuple[int, ...] = (512, 256),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(in_shape)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class DCGANGenerator(nn.Module):
    """The 28x28 DCGAN generator of the lectures (chapter 3).

    z -> Dense 7*7*256 -> ConvT 128 (7x7) -> ConvT 64 (14x14) -> ConvT 1 (28x28) -> tanh, with
    BatchNorm and ReLU after every layer but the output, as the DCGAN guidelines ask.
    """

    def __init__(self, latent_dim: int = 100) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.project = nn.Sequential(
            nn.Linear(latent_dim, 7 * 7 * 256, bias=False), nn.BatchNorm1d(7 * 7 * 256), nn.ReLU()
        )

        def up(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
            return [
                nn.ConvTranspose2d(c_in, c_out, 5, stride, padding=2, output_padding=stride - 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            ]

        self.upsample = nn.Sequential(
            *up(256, 128, 1),
            *up(128, 64, 2),
            nn.ConvTranspose2d(64, 1, 5, 2, padding=2, output_padding=1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.project(z).view(-1, 256, 7, 7))


class DCGANDiscriminator(nn.Module):
    """The 28x28 DCGAN discriminator of the lectures (chapter 3).

    Conv 64 (stride 2) -> Conv 128 (stride 2), each with LeakyReLU(0.2) and Dropout(0.3), then a
    linear layer to one logit. Strided convolutions replace pooling.
    """

    def __init__(self, dropout: float = 0.3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 64, 5, 2, padding=2), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Conv2d(64, 128, 5, 2, padding=2), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Flatten(),
        )
        self.logit = nn.Linear(128 * 7 * 7, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(self.features(x)).squeeze(1)


def dcgan_weights_init(module: nn.Module) -> None:
    """The DCGAN paper's init: conv and linear weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02).

    Use it as ``net.apply(dcgan_weights_init)``; biases start at zero.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
