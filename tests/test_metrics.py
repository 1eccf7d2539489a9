"""The Fréchet distance agrees with pytorch-fid and with closed forms, and refuses bad input."""

from __future__ import annotations

import numpy as np
import pytest
from pytorch_fid.fid_score import calculate_frechet_distance

from gancourse.metrics import feature_statistics, frechet_distance, frechet_distance_from_features


def _features(seed: int, n: int, d: int, rank: int | None = None, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if rank is None:
        mixing = rng.normal(size=(d, d)) / np.sqrt(d)
        return rng.normal(size=(n, d)) @ mixing + shift
    return rng.normal(size=(n, rank)) @ rng.normal(size=(rank, d)) + shift


CASES = {
    "random": (_features(0, 600, 16), _features(1, 500, 16, shift=0.5)),
    "nearly_identical": (_features(2, 2000, 8), _features(2, 2000, 8) + 1e-4),
    "rank_deficient": (_features(3, 400, 32, rank=6), _features(4, 400, 32, rank=6, shift=0.2)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_frechet_distance_agrees_with_pytorch_fid(case):
    real, fake = CASES[case]
    ours = frechet_distance_from_features(real, fake)
    mu1, s1 = real.mean(axis=0), np.cov(real, rowvar=False)
    mu2, s2 = fake.mean(axis=0), np.cov(fake, rowvar=False)
    theirs = float(calculate_frechet_distance(mu1, s1, mu2, s2))
    assert np.isfinite(ours)
    assert abs(ours - theirs) <= 1e-6 * max(abs(theirs), 1e-12) + 1e-12, (ours, theirs)


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(5)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    v1, v2 = rng.uniform(0.1, 3, size=6), rng.uniform(0.1, 3, size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_of_a_distribution_to_itself_is_zero_and_it_is_symmetric():
    real, fake = CASES["random"]
    assert abs(frechet_distance_from_features(real, real)) < 1e-8
    assert frechet_distance_from_features(real, fake) == pytest.approx(frechet_distance_from_features(fake, real),
                                                                       rel=1e-8)


def test_no_more_samples_than_feature_dimensions_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="more samples than dimensions"):
        feature_statistics(np.zeros((10, 64)))
    square = np.random.default_rng(0).normal(size=(64, 64))
    assert np.linalg.matrix_rank(np.cov(square, rowvar=False)) == 63  # why n = d is refused too
    with pytest.raises(ValueError, match="at least 65"):
        feature_statistics(square)
    mu, sigma = feature_statistics(np.random.default_rng(0).normal(size=(65, 64)))
    assert sigma.shape == (64, 64) and np.linalg.matrix_rank(sigma) == 64


def test_statistics_are_float64_with_samples_in_rows():
    mu, sigma = feature_statistics(np.arange(12, dtype=np.float32).reshape(4, 3))
    assert mu.dtype == sigma.dtype == np.float64
    assert mu.shape == (3,) and sigma.shape == (3, 3)
    np.testing.assert_allclose(mu, [4.5, 5.5, 6.5])


def test_a_large_imaginary_square_root_raises_instead_of_being_dropped():
    indefinite = np.array([[1.0, 0.0], [0.0, -4.0]])  # not a covariance matrix
    with pytest.raises(ValueError, match="imaginary"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), indefinite)


def test_a_singular_covariance_product_is_retried_with_an_offset():
    singular = np.zeros((3, 3))
    value = frechet_distance(np.zeros(3), singular, np.ones(3), singular)
    assert np.isfinite(value) and value == pytest.approx(3.0, abs=1e-4)
