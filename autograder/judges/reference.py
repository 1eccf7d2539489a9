"""The judges' own float64 references, written once and shared by every assignment.

Each is an independent NumPy computation of a concept the course teaches, so a judge compares a
student's numbers with something that does not use the course library or torch's version of it.
"""

from __future__ import annotations

import numpy as np


def softplus(t: np.ndarray) -> np.ndarray:
    """log(1 + e^t), stable for any t: -log(sigmoid(-t))."""
    return np.logaddexp(0.0, t)


def sigmoid(t: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-t), stable for any t."""
    return np.exp(-np.logaddexp(0.0, -t))


def gaussian_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (divided by n - 1) of an (n, d) array of features, in float64."""
    x = np.asarray(features, dtype=np.float64)
    mu = x.mean(axis=0)
    centred = x - mu
    return mu, centred.T @ centred / (len(x) - 1)


def _psd_root(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def root_trace(s1: np.ndarray, s2: np.ndarray) -> float:
    """Tr (S1 S2)^{1/2} = Tr (S1^{1/2} S2 S1^{1/2})^{1/2}: the square roots of the eigenvalues of a
    symmetric positive semi-definite matrix, so no general matrix square root is needed."""
    r1 = _psd_root(s1)
    inner = r1 @ s2 @ r1
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """The Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2): |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2)."""
    return float(((np.asarray(mu1) - np.asarray(mu2)) ** 2).sum() + np.trace(sigma1) + np.trace(sigma2)
                 - 2.0 * root_trace(np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)))


def frechet_distance_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    """The Fréchet distance between Gaussian fits of two (n, d) feature arrays (FID on those features)."""
    return frechet_distance(*gaussian_fit(real), *gaussian_fit(fake))
