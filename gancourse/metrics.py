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
import torch


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """scipy.linalg.sqrtm without its version-dependent extras (``disp`` changed over SciPy versions)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy warns on singular input; the caller checks the result
        root = scipy.linalg.sqrtm(matrix)
    return root[0] if isinstance(root, tuple) else root


def feature_statistics(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (float64, samples in rows) of a feature matrix of shape (n, d).

    Refuses fewer samples than feature dimensions: the covariance would be singular and the
    distance meaningless.
    """
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().numpy()
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be a 2-D array (samples, dimensions), got shape {x.shape}")
    n, d = x.shape
    if n < d:
        raise ValueError(f"{n} samples of {d}-dimensional features: the Fréchet distance needs at least as "
                         f"many samples as dimensions ({d}), and far more for a stable estimate")
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
