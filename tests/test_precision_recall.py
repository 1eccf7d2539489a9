"""Improved precision/recall and mode counting (chapters 5 and 6) agree with plain-loop versions of
their definitions and behave as the chapters claim on sets whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gancourse import data
from gancourse.metrics import mode_coverage, precision_recall

# --- brute-force definitions, written as plainly as possible --------------------------------------


def _distance(a, b) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def _radii(points, k: int) -> list[float]:
    # each point's distance to its k-th nearest *other* point of the same set
    out = []
    for i, p in enumerate(points):
        others = sorted(_distance(p, q) for j, q in enumerate(points) if j != i)
        out.append(others[k - 1])
    return out


def _share_inside(reference, queries, k: int) -> float:
    radii = _radii(reference, k)
    inside = 0
    for q in queries:
        if any(_distance(q, r) <= radius for r, radius in zip(reference, radii)):
            inside += 1
    return inside / len(queries)


def _brute_precision_recall(real, fake, k):
    real, fake = real.tolist(), fake.tolist()
    return _share_inside(real, fake, k), _share_inside(fake, real, k)


def _brute_mode_coverage(samples, modes, std):
    covered, good = set(), 0
    for s in samples.tolist():
        distances = [_distance(s, m) for m in modes.tolist()]
        nearest = min(range(len(distances)), key=distances.__getitem__)
        if distances[nearest] <= 3 * std:
            good += 1
            covered.add(nearest)
    return len(covered), good / len(samples)


# --- precision / recall -------------------------------------------------------------------------

@pytest.mark.parametrize("seed, k", [(0, 1), (1, 3), (2, 3), (3, 5)])
def test_precision_recall_match_a_plain_loop_over_the_definition(seed, k):
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(40, 3))
    fake = rng.normal(loc=0.4, scale=1.3, size=(35, 3))
    assert precision_recall(real, fake, k=k) == pytest.approx(_brute_precision_recall(real, fake, k), abs=1e-12)


def test_identical_sets_have_precision_and_recall_one():
    points = np.random.default_rng(4).normal(size=(50, 5))
    assert precision_recall(points, points.copy()) == (1.0, 1.0)


def test_far_apart_sets_have_precision_and_recall_zero():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(50, 2))
    fake = rng.normal(size=(50, 2)) + 100.0
    assert precision_recall(real, fake) == (0.0, 0.0)


def test_a_collapsed_generator_keeps_precision_but_loses_recall():
    real = data.ring_of_gaussians(800, std=0.05, seed=0)
    one_mode = data.ring_modes()[0] + 0.05 * torch.randn(800, 2, generator=torch.Generator().manual_seed(1))
    precision, recall = precision_recall(real, one_mode)
    assert precision > 0.9  # what it draws looks real...
    assert recall < 0.2  # ...but it covers about one mode in eight


def test_swapping_real_and_fake_swaps_precision_and_recall():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(60, 4)), rng.normal(scale=2.0, size=(45, 4))
    p, r = precision_recall(a, b)
    assert precision_recall(b, a) == (r, p)


def test_precision_recall_accept_torch_tensors_with_the_same_result():
    rng = np.random.default_rng(7)
    real, fake = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    assert precision_recall(torch.tensor(real, dtype=torch.float64), torch.tensor(fake)) == precision_recall(real, fake)


@pytest.mark.parametrize("real_shape, fake_shape", [((20, 3), (20, 4)), ((20,), (20,)), ((20, 3), (2, 5, 3))])
def test_precision_recall_refuse_feature_matrices_of_the_wrong_shape(real_shape, fake_shape):
    with pytest.raises(ValueError, match="feature matrices"):
        precision_recall(np.zeros(real_shape), np.zeros(fake_shape))


def test_precision_recall_refuse_sets_with_no_more_samples_than_k():
    rng = np.random.default_rng(8)
    with pytest.raises(ValueError, match="more than 3 samples"):
        precision_recall(rng.normal(size=(3, 2)), rng.normal(size=(10, 2)), k=3)
    with pytest.raises(ValueError, match="more than 5 samples"):
        precision_recall(rng.normal(size=(10, 2)), rng.normal(size=(5, 2)), k=5)


# --- mode coverage ------------------------------------------------------------------------------

def test_samples_exactly_on_three_of_eight_ring_modes_cover_three_modes_all_high_quality():
    modes = data.ring_modes()
    samples = modes[[0, 3, 5, 0, 3]]
    assert mode_coverage(samples, modes, std=0.01) == (3, 1.0)


def test_samples_three_and_a_half_sigma_from_every_mode_are_low_quality_and_cover_nothing():
    modes, std = data.ring_modes(), 0.01
    outward = modes * (1 + 3.5 * std)  # radially out by 3.5 sigma: still nearest to their own mode
    assert mode_coverage(outward, modes, std) == (0, 0.0)


def test_quality_threshold_sits_at_three_sigma():
    modes, std = data.ring_modes(), 0.01
    inside = modes[:4] * (1 + 2.9 * std)
    outside = modes[4:] * (1 + 3.1 * std)
    assert mode_coverage(torch.cat([inside, outside]), modes, std) == (4, 0.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mode_coverage_matches_a_plain_loop_on_noisy_grid_samples(seed):
    modes = data.grid_modes()
    samples = data.sample_modes(300, modes, std=0.12, seed=seed)  # wider than 0.05: some fall outside 3 sigma
    ours = mode_coverage(samples, modes, std=0.05)
    expected = _brute_mode_coverage(samples, modes, 0.05)
    assert ours[0] == expected[0] and ours[1] == pytest.approx(expected[1])
    assert 0.0 < ours[1] < 1.0  # the case really mixes high- and low-quality samples


def test_a_sample_between_two_modes_counts_only_for_the_nearer_one():
    modes = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    samples = torch.tensor([[0.4, 0.0]])
    assert mode_coverage(samples, modes, std=0.2) == (1, 1.0)  # 0.4 <= 3 * 0.2, nearest is mode 0


def test_mode_coverage_refuses_mismatched_shapes_and_empty_sample_sets():
    modes = data.ring_modes()
    with pytest.raises(ValueError, match="must be"):
        mode_coverage(torch.zeros(5, 3), modes, 0.01)
    with pytest.raises(ValueError, match="must be"):
        mode_coverage(torch.zeros(5), modes, 0.01)
    with pytest.raises(ValueError, match="at least one sample"):
        mode_coverage(torch.zeros(0, 2), modes, 0.01)
