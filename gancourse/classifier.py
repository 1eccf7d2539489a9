"""The course's own MNIST classifier: a small CNN whose features make FID work offline (chapter 6).

Inception-v3, the network behind the published FID numbers, was trained on ImageNet photographs and
comes in a separate 81 MB package (:mod:`gancourse.inception`). This classifier was trained by
``scripts/train_classifier.py`` on the 4,000 training digits of the embedded MNIST set; its weights
(about 430 kB) ship with the library in ``gancourse/weights``. Its 64-d bottleneck features play the
role of Inception's 2048-d pool features, so the Fréchet distance on them needs only a few hundred
samples per set.

Every number computed here is labelled *course-classifier FID*: it is not comparable with an
Inception FID, nor with a distance from another copy of this network trained with a different seed.
The same network judges conditional generators: :func:`per_class_accuracy` checks that the label
fed to a cGAN controls the digit it draws (chapter 4).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from . import metrics
from .train import evaluating

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_FILE = WEIGHTS_DIR / "mnist_classifier.pt"
METADATA_FILE = WEIGHTS_DIR / "mnist_classifier.json"
FEATURE_DIM = 64


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class MNISTClassifier(nn.Module):
    """A small CNN for 28x28 digits in [-1, 1]: two conv blocks, a 64-d linear bottleneck, a linear head.

    ``features(x)`` is the (N, 64) bottleneck activation that FID is computed on (the counterpart of
    Inception's 2048-d pool features); ``forward(x)`` maps it through ReLU and dropout to 10 logits.
    """

    feature_dim = FEATURE_DIM

    def __init__(self, n_classes: int = 10, dropout: float = 0.3) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv_block(1, 16), nn.MaxPool2d(2),                         # 28 -> 14
            _conv_block(16, 32), nn.MaxPool2d(2),                        # 14 -> 7
            nn.Flatten(), nn.Linear(32 * 7 * 7, FEATURE_DIM),            # -> (N, 64)
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(FEATURE_DIM, n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The (N, 64) embedding of images of shape (N, 1, 28, 28) in [-1, 1]."""
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"expected images of shape (N, 1, 28, 28) in [-1, 1], got {tuple(x.shape)}")
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def load_course_classifier(device: str | torch.device | None = None) -> MNISTClassifier:
    """The committed course classifier in eval mode, on ``device`` (CPU by default).

    The weights come from ``scripts/train_classifier.py``; chapter 6 explains what they are for.
    """
    if not WEIGHTS_FILE.is_file():
        raise FileNotFoundError(
            f"the course classifier's weights are missing ({WEIGHTS_FILE}). They are committed with the "
            "repository; to make them again run `python scripts/train_classifier.py` from the repository root.")
    net = MNISTClassifier()
    net.load_state_dict(torch.load(WEIGHTS_FILE, map_location="cpu", weights_only=True))
    return net.to(device or "cpu").eval()


def classifier_metadata() -> dict:
    """What the training script recorded next to the weights: held-out accuracy, seed, device, versions."""
    return json.loads(METADATA_FILE.read_text())


def _device_of(net: nn.Module) -> torch.device:
    return next(net.parameters()).device


@torch.no_grad()
def _in_batches(fn, images: torch.Tensor, device: torch.device, batch_size: int) -> torch.Tensor:
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"expected images of shape (N, 1, 28, 28) in [-1, 1], got {tuple(images.shape)}")
    if len(images) == 0:
        raise ValueError("no images were given")
    parts = [fn(images[i:i + batch_size].to(device, torch.float32)).cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(parts)


def classifier_features(
    images: torch.Tensor, classifier: MNISTClassifier | None = None, batch_size: int = 500
) -> torch.Tensor:
    """The course classifier's (N, 64) features of images (N, 1, 28, 28) in [-1, 1], on the CPU (chapter 6)."""
    net = classifier if classifier is not None else load_course_classifier()
    with evaluating(net):
        return _in_batches(net.features, images, _device_of(net), batch_size)


def classifier_fid(
    real_images: torch.Tensor, fake_images: torch.Tensor,
    classifier: MNISTClassifier | None = None, batch_size: int = 500,
    distance: Callable[[np.ndarray, np.ndarray], float] = metrics.frechet_distance_from_features,
) -> float:
    """Course-classifier FID: the Fréchet distance (float64) between the classifier's 64-d features
    of real and generated digits (chapter 6).

    ``distance`` receives the two sets' features as float64 arrays (N, 64), real first; another
    distance on the same features can be passed instead of the Fréchet distance. Label the result as
    course-classifier FID: it is not comparable with an Inception FID. Each set needs at least 64
    images, and a few hundred or more for a stable value (the estimate is biased upwards for small
    sets, so compare numbers only at the same sample size).
    """
    net = classifier if classifier is not None else load_course_classifier()
    return float(distance(classifier_features(real_images, net, batch_size).double().numpy(),
                          classifier_features(fake_images, net, batch_size).double().numpy()))


def per_class_accuracy(
    images: torch.Tensor, intended_labels: torch.Tensor, classifier: MNISTClassifier | None = None,
    batch_size: int = 500,
) -> tuple[float, np.ndarray]:
    """The share of images that the course classifier assigns to their intended class, overall and
    per class (chapter 4 uses it to check that a conditional GAN's label controls the digit).

    Returns ``(overall, per_class)`` where ``per_class[c]`` is the accuracy on images meant to be
    digit ``c`` (NaN for a class with no images).
    """
    labels = torch.as_tensor(intended_labels).long().cpu().reshape(-1)
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} intended labels")
    net = classifier if classifier is not None else load_course_classifier()
    with evaluating(net):
        logits = _in_batches(net, images, _device_of(net), batch_size)
    correct = (logits.argmax(dim=1) == labels).double()
    n_classes = logits.shape[1]
    per_class = np.full(n_classes, np.nan)
    for c in range(n_classes):
        mask = labels == c
        if mask.any():
            per_class[c] = float(correct[mask].mean())
    return float(correct.mean()), per_class


def code_purity(
    images: torch.Tensor, codes: torch.Tensor, classifier: MNISTClassifier | None = None, batch_size: int = 500,
) -> float:
    """How well an unsupervised categorical code (InfoGAN's) lines up with the digits (chapter 4): each code is
    matched to a different digit, the one-to-one matching that agrees with the course classifier most often
    (scipy's ``linear_sum_assignment``), and the purity is the share of images classified as their code's
    digit. 1.0 when every code draws a digit of its own; about 0.1 when code and digit are unrelated, and
    at most 1 / (number of codes) when every code draws the same digit.
    """
    codes = torch.as_tensor(codes).long().cpu().reshape(-1)
    if len(codes) != len(images):
        raise ValueError(f"{len(images)} images but {len(codes)} codes")
    if codes.min() < 0:
        raise ValueError("codes must be non-negative integers")
    net = classifier if classifier is not None else load_course_classifier()
    with evaluating(net):
        logits = _in_batches(net, images, _device_of(net), batch_size)
    n_digits = logits.shape[1]
    n_codes = int(codes.max()) + 1
    table = torch.bincount(codes * n_digits + logits.argmax(dim=1).cpu(), minlength=n_codes * n_digits)
    table = table.reshape(n_codes, n_digits).numpy()
    rows, columns = linear_sum_assignment(table, maximize=True)
    return float(table[rows, columns].sum()) / len(codes)


def readability(
    images: torch.Tensor, classifier: MNISTClassifier | None = None, confident: float = 0.9, batch_size: int = 500,
) -> dict:
    """How well the course classifier reads images as digits: the share it is confident on (top class
    probability over ``confident``) and the share of the images given to each class (chapter 6).

    Returns ``{"confident": share, "class_shares": [10 shares], "classes": number of classes over 5 %}``.
    The 4,000 training digits score 0.96 confident, with all 10 classes near 10 %.
    """
    net = classifier if classifier is not None else load_course_classifier()
    with evaluating(net):
        probs = torch.softmax(_in_batches(net, images, _device_of(net), batch_size), dim=1)
    shares = torch.bincount(probs.argmax(dim=1), minlength=probs.shape[1]).double() / len(images)
    return {"confident": float((probs.max(dim=1).values > confident).double().mean()),
            "class_shares": [round(float(s), 4) for s in shares], "classes": int((shares > 0.05).sum())}


def label_control(
    kind: str, generator: nn.Module, classifier: MNISTClassifier | None = None, n: int = 2000, seed: int = 123,
) -> dict:
    """How well a conditional generator's label (``kind`` "cgan" or "acgan") or categorical code ("infogan")
    picks the digit, on ``n`` samples from fixed latents (``seed``), ``n / 10`` per label or code, InfoGAN's
    continuous codes at 0 (chapter 6's screen, scripts/conditional_probes.py).

    Returns the label accuracy (:func:`per_class_accuracy`) or the code purity (:func:`code_purity`) under the
    key ``"accuracy"`` or ``"purity"``, with :func:`readability`'s confident share and digit count.
    """
    if kind not in ("cgan", "acgan", "infogan"):
        raise ValueError(f"kind must be cgan, acgan or infogan, got {kind!r}")
    if n < 10 or n % 10:
        raise ValueError(f"n must be a positive multiple of 10 (ten labels), got {n}")
    net = classifier if classifier is not None else load_course_classifier()
    device = next(generator.parameters()).device
    labels = torch.arange(10).repeat(n // 10)
    z = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad(), evaluating(generator):
        if kind == "infogan":
            images = generator(z.to(device), labels.to(device), torch.zeros(n, generator.n_continuous, device=device))
        else:
            images = generator(z.to(device), labels.to(device))
    images = images.float().cpu().clamp(-1, 1)
    if kind == "infogan":
        matched = {"purity": code_purity(images, labels, net)}
    else:
        matched = {"accuracy": per_class_accuracy(images, labels, net)[0]}
    read = readability(images, net)
    return {**matched, "confident": read["confident"], "classes": read["classes"]}


class CourseClassifierFeatures(nn.Module):
    """The course classifier as a feature extractor for torchmetrics' ``FrechetInceptionDistance(feature=...)``.

    Takes the course's images (N, 1, 28, 28), float in [-1, 1] or uint8 in [0, 255], and returns
    float64 features so that torchmetrics also reports the distance in float64. It stays in eval
    mode even when the metric is switched to training mode. Chapter 6 shows it in use.
    """

    num_features = FEATURE_DIM

    def __init__(self, classifier: MNISTClassifier | None = None) -> None:
        super().__init__()
        self.classifier = classifier if classifier is not None else load_course_classifier()
        self.train(False)

    def train(self, mode: bool = True) -> CourseClassifierFeatures:
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() / 127.5 - 1.0 if images.dtype == torch.uint8 else images.float()
        return self.classifier.features(x.to(_device_of(self.classifier))).double()
