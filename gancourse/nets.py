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

    The keyword switches exist for chapter 3's ablations; their defaults are the guidelines.
    ``width`` scales every channel count, ``upsample="resize"`` replaces each strided transposed
    convolution by nearest-neighbour upsampling and a convolution (the checkerboard-free
    alternative), ``output_batchnorm`` puts BatchNorm before the output, and ``output="linear"``
    drops the tanh.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        *,
        width: int = 256,
        upsample: str = "transposed",
        output_batchnorm: bool = False,
        output: str = "tanh",
    ) -> None:
        super().__init__()
        if upsample not in ("transposed", "resize") or output not in ("tanh", "linear"):
            raise ValueError(f"upsample must be 'transposed' or 'resize' and output 'tanh' or 'linear', "
                             f"got {upsample!r} and {output!r}")
        self.latent_dim, self.width = latent_dim, width
        c1, c2, c3 = width, width // 2, width // 4
        self.project = nn.Sequential(nn.Linear(latent_dim, 7 * 7 * c1, bias=False), nn.BatchNorm1d(7 * 7 * c1),
                                     nn.ReLU())

        def conv_up(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
            if stride == 1 or upsample == "transposed":
                return [nn.ConvTranspose2d(c_in, c_out, 5, stride, padding=2, output_padding=stride - 1, bias=False)]
            return [nn.Upsample(scale_factor=stride, mode="nearest"), nn.Conv2d(c_in, c_out, 5, 1, padding=2,
                                                                                bias=False)]

        tail: list[nn.Module] = conv_up(c3, 1, 2)
        if output_batchnorm:
            tail.append(nn.BatchNorm2d(1))
        if output == "tanh":
            tail.append(nn.Tanh())
        self.upsample = nn.Sequential(
            *conv_up(c1, c2, 1), nn.BatchNorm2d(c2), nn.ReLU(),
            *conv_up(c2, c3, 2), nn.BatchNorm2d(c3), nn.ReLU(),
            *tail,
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.project(z).view(-1, self.width, 7, 7))


class DCGANDiscriminator(nn.Module):
    """The 28x28 DCGAN discriminator of the lectures (chapter 3).

    Conv 64 (stride 2) -> Conv 128 (stride 2), each with LeakyReLU(0.2) and Dropout(0.3), then a
    linear layer to one logit. Strided convolutions replace pooling.

    ``in_channels`` > 1 lets a conditional D read label planes next to the image (chapter 4). The
    other switches exist for chapter 3's ablations, defaults being the guidelines:
    ``downsample="pool"`` uses stride-1 convolutions followed by 2x2 max-pooling,
    ``input_batchnorm`` normalises the input image, and ``activation="relu"`` replaces LeakyReLU.
    ``hidden_batchnorm`` puts BatchNorm after the inner (second) convolution, which is guideline 2 in
    full; it is off by default because the lectures' D, and the course's trained DCGAN, have none.
    """

    def __init__(
        self,
        dropout: float = 0.3,
        in_channels: int = 1,
        *,
        width: int = 64,
        downsample: str = "strided",
        input_batchnorm: bool = False,
        hidden_batchnorm: bool = False,
        activation: str = "leaky",
    ) -> None:
        super().__init__()
        if downsample not in ("strided", "pool") or activation not in ("leaky", "relu"):
            raise ValueError(f"downsample must be 'strided' or 'pool' and activation 'leaky' or 'relu', "
                             f"got {downsample!r} and {activation!r}")

        def conv_down(c_in: int, c_out: int, batchnorm: bool = False) -> list[nn.Module]:
            act = nn.LeakyReLU(0.2) if activation == "leaky" else nn.ReLU()
            norm = [nn.BatchNorm2d(c_out)] if batchnorm else []
            if downsample == "strided":
                return [nn.Conv2d(c_in, c_out, 5, 2, padding=2), *norm, act, nn.Dropout(dropout)]
            return [nn.Conv2d(c_in, c_out, 5, 1, padding=2), nn.MaxPool2d(2), *norm, act, nn.Dropout(dropout)]

        head: list[nn.Module] = [nn.BatchNorm2d(in_channels)] if input_batchnorm else []
        self.features = nn.Sequential(
            *head, *conv_down(in_channels, width), *conv_down(width, 2 * width, hidden_batchnorm), nn.Flatten(),
        )
        self.logit = nn.Linear(2 * width * 7 * 7, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(self.features(x)).squeeze(1)


def dcgan_weights_init(module: nn.Module) -> None:
    """The DCGAN init: conv and linear weights ~ N(0, 0.02) (the paper: every weight from a zero-centred
    normal with standard deviation 0.02), BatchNorm scale ~ N(1, 0.02) and shift 0 (the PyTorch DCGAN
    tutorial's convention; the paper gives no rule for BatchNorm).

    Use it as ``net.apply(dcgan_weights_init)``; biases start at zero.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
