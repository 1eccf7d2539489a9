"""Sample-quality metrics (chapter 6): the Fréchet distance between Gaussian fits of features.

FID is the Fréchet distance between Gaussians fitted to features of real and generated images,

    d^2 = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2}),

computed here in float64. The matrix square root is where implementations go wrong, so this
module handles its known pitfalls explicitly: near-singular covariances, tiny imaginary parts
from round-off, and SciPy versions whose ``sqrtm`` signature changed.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.spatial
import torch


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """scipy.linalg.sqrtm without its version-dependent extras (``disp`` changed over SciPy versions)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy warns on singular input; the caller checks the result
        root = scipy.linalg.sqrtm(matrix)
    return root[0] if isinstance(root, tuple) else root


def feature_statistics(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (float64, samples in rows) of a feature matrix of shape (n, d).

    Refuses n <= d: n samples give a covariance of rank at most n - 1, singular unless n > d, and the
    distance would then depend on round-off and on the eps a square root needs.
    """
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().numpy()
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be a 2-D array (samples, dimensions), got shape {x.shape}")
    n, d = x.shape
    if n <= d:
        raise ValueError(f"{n} samples of {d}-dimensional features: the Fréchet distance needs more samples than "
                         f"dimensions (at least {d + 1}: n samples give a covariance of rank at most n - 1), and "
                         "far more for a stable estimate")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
    eps: float = 1e-6, imag_tol: float = 1e-3,
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    If the square root of sigma1 @ sigma2 is not finite (near-singular covariances), ``eps`` is
    added to both diagonals and the root retried. Imaginary parts below ``imag_tol`` (round-off)
    are dropped; larger ones mean the inputs are not covariance matrices, and raise.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shapes do not match: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        worst = np.max(np.abs(np.diagonal(covmean).imag))
        if worst > imag_tol:
            raise ValueError(f"the matrix square root has an imaginary part of {worst:.3g} (> {imag_tol}); "
                             "are both inputs symmetric positive semi-definite covariance matrices?")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def frechet_distance_from_features(real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor) -> float:
    """Fréchet distance between Gaussian fits of two feature matrices (n, d); FID when the
    features come from an image classifier. Say which extractor: distances from different
    extractors are not comparable."""
    return frechet_distance(*feature_statistics(real), *feature_statistics(fake))


def _as_float64(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def mode_coverage(
    samples: np.ndarray | torch.Tensor, modes: np.ndarray | torch.Tensor, std: float
) -> tuple[int, float]:
    """Count the modes a toy GAN covers and the share of high-quality samples (chapter 5).

    A sample is *high quality* when it lies within 3 standard deviations of its nearest mode; a mode
    is *covered* when it is the nearest mode of at least one high-quality sample (the protocol of
    VEEGAN and PacGAN). Returns ``(modes_covered, fraction_high_quality)``.
    """
    x, centres = _as_float64(samples), _as_float64(modes)
    if x.ndim != 2 or centres.ndim != 2 or x.shape[1] != centres.shape[1]:
        raise ValueError(f"samples {x.shape} and modes {centres.shape} must be (n, d) and (m, d)")
    if len(x) == 0:
        raise ValueError("mode_coverage needs at least one sample")
    distances = scipy.spatial.distance.cdist(x, centres)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(x)), nearest] <= 3.0 * std
    return int(np.unique(nearest[good]).size), float(good.mean())


def _kth_neighbour_radii(features: np.ndarray, k: int) -> np.ndarray:
    # Distance from each point to its k-th nearest neighbour in the same set (itself excluded).
    tree = scipy.spatial.cKDTree(features)
    distances, _ = tree.query(features, k=k + 1)
    return distances[:, k]


def _inside_manifold(reference: np.ndarray, radii: np.ndarray, queries: np.ndarray) -> np.ndarray:
    # A query lies on the manifold when it falls inside at least one reference point's k-NN ball.
    distances = scipy.spatial.distance.cdist(queries, reference)
    return (distances <= radii[None, :]).any(axis=1)


def precision_recall(
    real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor, k: int = 3
) -> tuple[float, float]:
    """Improved precision and recall of Kynkäänniemi et al. (2019) on features (chapter 6).

    Each set's manifold is the union of balls around its points, each ball reaching that point's
    k-th nearest neighbour. Precision is the share of fake points inside the real manifold
    (fidelity); recall is the share of real points inside the fake manifold (diversity).
    """
    r, f = _as_float64(real), _as_float64(fake)
    if r.ndim != 2 or f.ndim != 2 or r.shape[1] != f.shape[1]:
        raise ValueError(f"real {r.shape} and fake {f.shape} must be (n, d) feature matrices of equal width")
    if min(len(r), len(f)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples in each set")
    precision = _inside_manifold(r, _kth_neighbour_radii(r, k), f).mean()
    recall = _inside_manifold(f, _kth_neighbour_radii(f, k), r).mean()
    return float(precision), float(recall)
