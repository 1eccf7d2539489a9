"""Conditional and controllable generation (chapter 4): cGAN, ACGAN and InfoGAN side by side.

All three reuse the DCGAN bodies of :mod:`gancourse.nets` and differ only in where the label (or
code) enters and which extra loss is added:

* **cGAN** (Mirza & Osindero): the one-hot label is joined to z in G and to the image, as ten
  constant planes, in D. D judges "is this a real *digit of this class*?".
* **ACGAN** (Odena et al.): G is the cGAN generator, D sees only the image and has a second head
  that predicts the class; both players also minimise the cross-entropy of that head.
* **InfoGAN** (Chen et al.): no labels at all. G gets a categorical and two continuous codes next
  to its noise, and a head Q on D's body must recover them; the mutual-information bound is the
  cross-entropy of the categorical code plus a squared error on the continuous ones.

Each step below is the alternating step of chapter 1 with its extra terms written out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import fixes, losses
from .nets import DCGANDiscriminator, DCGANGenerator
from .train import History, pick_device, real_batches, round_record, run_rounds, seed_everything


def one_hot(labels: torch.Tensor, n_classes: int = 10) -> torch.Tensor:
    """Float one-hot rows for integer class labels: how a cGAN is told which digit to draw."""
    return F.one_hot(labels.long(), n_classes).float()


class ConditionalGenerator(DCGANGenerator):
    """G(z, y): the DCGAN generator fed with z joined to the one-hot label (cGAN and ACGAN).

    ``width`` is the DCGAN generator's (the channels of its first 7x7 layer); the defaults are those
    the book's cGAN and ACGAN were trained with.
    """

    def __init__(self, latent_dim: int = 100, n_classes: int = 10, width: int = 256) -> None:
        super().__init__(latent_dim + n_classes, width=width)
        self.latent_dim, self.n_classes = latent_dim, n_classes

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return super().forward(torch.cat([z, one_hot(labels, self.n_classes)], dim=1))


class ConditionalDiscriminator(DCGANDiscriminator):
    """D(x, y): the DCGAN discriminator reading the image plus one constant plane per class.

    ``width`` is the DCGAN discriminator's (the channels of its first convolution). ``minibatch=True``
    puts a :class:`~gancourse.fixes.MinibatchDiscrimination` layer between the flattened features and
    the logit, so that each logit also sees how close the other samples of the batch are (chapter 5;
    the portfolio's fix). ``dropout`` is the DCGAN discriminator's.
    """

    def __init__(self, n_classes: int = 10, width: int = 64, minibatch: bool = False, *,
                 dropout: float = 0.3) -> None:
        super().__init__(dropout=dropout, in_channels=1 + n_classes, width=width)
        self.n_classes = n_classes
        self.minibatch = fixes.MinibatchDiscrimination(self.logit.in_features) if minibatch else None
        if minibatch:
            self.logit = nn.Linear(self.logit.in_features + self.minibatch.num_kernels, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        planes = one_hot(labels, self.n_classes)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        h = self.features(torch.cat([x, planes.to(x.dtype)], dim=1))
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.logit(h).squeeze(1)


class ACGANDiscriminator(DCGANDiscriminator):
    """D(x) -> (real/fake logit, class logits): the DCGAN body with an auxiliary classifier head."""

    def __init__(self, n_classes: int = 10, dropout: float = 0.3) -> None:
        super().__init__(dropout=dropout)
        self.classify = nn.Linear(self.logit.in_features, n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.logit(h).squeeze(1), self.classify(h)


def acgan_auxiliary_loss(class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """ACGAN's extra term: cross-entropy of the class head against the true (or intended) label."""
    return F.cross_entropy(class_logits, labels)


class InfoGANGenerator(DCGANGenerator):
    """G(z, c): the DCGAN generator fed with noise, a one-hot categorical code and continuous codes."""

    def __init__(self, noise_dim: int = 62, n_categories: int = 10, n_continuous: int = 2) -> None:
        super().__init__(noise_dim + n_categories + n_continuous)
        self.latent_dim, self.n_categories, self.n_continuous = noise_dim, n_categories, n_continuous

    def forward(self, z: torch.Tensor, category: torch.Tensor, continuous: torch.Tensor) -> torch.Tensor:
        return super().forward(torch.cat([z, one_hot(category, self.n_categories), continuous], dim=1))


class InfoGANDiscriminator(DCGANDiscriminator):
    """D(x) -> (real/fake logit, Q's category logits, Q's continuous-code means), sharing one body."""

    def __init__(self, n_categories: int = 10, n_continuous: int = 2, dropout: float = 0.3) -> None:
        super().__init__(dropout=dropout)
        self.q_category = nn.Linear(self.logit.in_features, n_categories)
        self.q_continuous = nn.Linear(self.logit.in_features, n_continuous)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.logit(h).squeeze(1), self.q_category(h), self.q_continuous(h)


def infogan_information_loss(
    category_logits: torch.Tensor, continuous_mean: torch.Tensor, category: torch.Tensor, continuous: torch.Tensor
) -> torch.Tensor:
    """InfoGAN's mutual-information bound (negated): categorical cross-entropy + Gaussian error of the codes."""
    return F.cross_entropy(category_logits, category) + 0.5 * F.mse_loss(continuous_mean, continuous)


# --- one round of each game ---------------------------------------------------------------------

def cgan_step(G, D, g_opt, d_opt, real, labels, sample_z, sample_labels, r1_gamma: float = 0.0) -> dict[str, float]:
    """One cGAN round: D judges (image, label) pairs; fakes carry the labels they were drawn with.
    ``r1_gamma > 0`` adds the R1 penalty on the real pairs to D's loss, as ``train.train_gan(r1_gamma=...)`` does."""
    n = real.shape[0]
    # Phase I -- update D: maximize log D(x|y) + log(1 - D(G(z|y')|y')).
    fake_labels = sample_labels(n)
    with torch.no_grad():
        fake = G(sample_z(n), fake_labels)
    real = real.detach().requires_grad_(True) if r1_gamma else real
    real_logits, fake_logits = D(real, labels), D(fake, fake_labels)
    d_loss = losses.discriminator_loss(real_logits, fake_logits)
    if r1_gamma:
        d_loss = d_loss + losses.r1_from_logits(real_logits, real, r1_gamma)
    d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    d_opt.step()
    # Phase II -- update G: maximize log D(G(z|y)|y).
    g_labels = sample_labels(n)
    g_logits = D(G(sample_z(n), g_labels), g_labels)
    g_loss = losses.non_saturating_generator_loss(g_logits)
    g_opt.zero_grad(set_to_none=True)
    g_loss.backward()
    g_opt.step()
    return round_record(d_loss, g_loss, real_logits, fake_logits, g_logits)


def acgan_step(G, D, g_opt, d_opt, real, labels, sample_z, sample_labels, r1_gamma: float = 0.0) -> dict[str, float]:
    """One ACGAN round: the usual game plus the class head's cross-entropy for both players (``r1_gamma`` as in
    :func:`cgan_step`, on the real/fake logit only)."""
    n = real.shape[0]
    # Phase I -- update D: tell real from fake AND name the class of both.
    fake_labels = sample_labels(n)
    with torch.no_grad():
        fake = G(sample_z(n), fake_labels)
    real = real.detach().requires_grad_(True) if r1_gamma else real
    (real_logits, real_classes), (fake_logits, fake_classes) = D(real), D(fake)
    d_loss = (losses.discriminator_loss(real_logits, fake_logits)
              + acgan_auxiliary_loss(real_classes, labels) + acgan_auxiliary_loss(fake_classes, fake_labels))
    if r1_gamma:
        d_loss = d_loss + losses.r1_from_logits(real_logits, real, r1_gamma)
    d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    d_opt.step()
    # Phase II -- update G: look real AND be classified as the intended class.
    g_labels = sample_labels(n)
    g_logits, g_classes = D(G(sample_z(n), g_labels))
    g_loss = losses.non_saturating_generator_loss(g_logits) + acgan_auxiliary_loss(g_classes, g_labels)
    g_opt.zero_grad(set_to_none=True)
    g_loss.backward()
    g_opt.step()
    return round_record(d_loss, g_loss, real_logits, fake_logits, g_logits)


def infogan_step(G, D, g_opt, d_opt, real, labels, sample_z, sample_labels, info_weight: float = 1.0):
    """One InfoGAN round: labels are ignored; codes are drawn at random and Q must recover them."""
    n = real.shape[0]

    def codes():
        return sample_labels(n), 2.0 * torch.rand(n, G.n_continuous, device=real.device) - 1.0

    # Phase I -- update D (and Q's head through the shared body) on the usual game.
    category, continuous = codes()
    with torch.no_grad():
        fake = G(sample_z(n), category, continuous)
    real_logits, fake_logits = D(real)[0], D(fake)[0]
    d_loss = losses.discriminator_loss(real_logits, fake_logits)
    d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    d_opt.step()
    # Phase II -- update G and Q: fool D, and keep the codes recoverable from the image.
    category, continuous = codes()
    g_logits, q_category, q_continuous = D(G(sample_z(n), category, continuous))
    info = infogan_information_loss(q_category, q_continuous, category, continuous)
    g_loss = losses.non_saturating_generator_loss(g_logits) + info_weight * info
    # D's side gets the gradient of the information term only (not of G's adversarial loss).
    d_params = list(D.parameters())
    info_grads = torch.autograd.grad(info_weight * info, d_params, retain_graph=True, allow_unused=True)
    g_opt.zero_grad(set_to_none=True)
    g_loss.backward()
    g_opt.step()
    d_opt.zero_grad(set_to_none=True)
    for p, grad in zip(d_params, info_grads):
        p.grad = grad
    d_opt.step()
    return round_record(d_loss, g_loss, real_logits, fake_logits, g_logits)


STEPS: dict[str, Callable] = {"cgan": cgan_step, "acgan": acgan_step, "infogan": infogan_step}


def train_conditional(
    kind: str,
    generator: nn.Module,
    discriminator: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    steps: int,
    batch_size: int = 64,
    lr: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    n_classes: int = 10,
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool = True,
    callback: Callable[[int, dict[str, float]], None] | None = None,
    g_opt: torch.optim.Optimizer | None = None,
    d_opt: torch.optim.Optimizer | None = None,
    info_weight: float = 1.0,
    r1_gamma: float = 0.0,
) -> History:
    """Train a cGAN, ACGAN or InfoGAN (``kind``) for ``steps`` rounds and return the history.

    Both players get Adam with ``lr`` and ``betas`` unless optimizers are passed, as in ``train.train_gan``.
    ``info_weight`` weighs InfoGAN's information term (``infogan_step``); the other two kinds have none.
    ``r1_gamma > 0`` adds the R1 penalty on the real batch to D's loss (cGAN and ACGAN).
    """
    if kind not in STEPS:
        raise ValueError(f"kind must be one of {sorted(STEPS)}, got {kind!r}")
    if kind != "infogan" and info_weight != 1.0:
        raise ValueError(f"info_weight weighs InfoGAN's information term; a {kind} has none")
    if r1_gamma < 0 or (r1_gamma and kind == "infogan"):
        raise ValueError(f"r1_gamma must be 0 or more, and is for the cGAN and the ACGAN; got {r1_gamma} for {kind}")
    options = {"info_weight": info_weight} if kind == "infogan" else {"r1_gamma": r1_gamma}
    step = functools.partial(STEPS[kind], **options)
    device = pick_device(str(device)) if device is not None else pick_device()
    rng = seed_everything(seed)
    generator.to(device).train()
    discriminator.to(device).train()
    g_opt = g_opt or torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    d_opt = d_opt or torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    indices = real_batches(torch.arange(len(labels)), batch_size, rng)
    images, labels = images.to(device), labels.to(device)
    latent_dim = generator.latent_dim

    def sample_z(n: int) -> torch.Tensor:
        return torch.randn(n, latent_dim, generator=rng).to(device)

    def sample_labels(n: int) -> torch.Tensor:
        return torch.randint(n_classes, (n,), generator=rng).to(device)

    def one_round() -> dict[str, float]:
        idx = next(indices).to(device)
        return step(generator, discriminator, g_opt, d_opt, images[idx], labels[idx], sample_z, sample_labels)

    return run_rounds(one_round, steps, History(), desc=f"training {kind}", progress=progress, callback=callback)
