"""Claims of gancourse.fixes: each fix for mode collapse does what chapter 5 says it does."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from gancourse.fixes import (
    MinibatchDiscrimination,
    MinibatchStdDev,
    ReplayBuffer,
    clip_weights,
    pack,
    truncate_toward_mean,
    truncated_latents,
)


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --- experience replay ----------------------------------------------------------------------------

def _rows_in(rows: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """For each row, whether it equals some row of pool exactly."""
    return (rows[:, None, :] == pool[None, :, :]).all(dim=2).any(dim=1)


def test_replay_buffer_returns_the_batch_unchanged_until_something_is_stored():
    buffer = ReplayBuffer(capacity=100, fraction=0.5)
    fakes = _randn(16, 3)
    assert torch.equal(buffer.mix(fakes), fakes)
    assert len(buffer) == 16


def test_replay_buffer_replays_exactly_the_asked_fraction_of_old_samples():
    old = -1.0 - torch.arange(40.0).reshape(20, 2)  # negative: distinguishable from the new batch
    new = 1.0 + torch.arange(64.0).reshape(32, 2)
    for fraction, expected_old in [(0.25, 8), (0.5, 16), (1.0, 32), (0.0, 0)]:
        buffer = ReplayBuffer(capacity=100, fraction=fraction, generator=torch.Generator().manual_seed(1))
        buffer.push(old)
        batch = buffer.mix(new)
        assert batch.shape == new.shape
        from_old = _rows_in(batch, old)
        from_new = _rows_in(batch, new)
        assert int(from_old.sum()) == expected_old
        assert bool((from_old | from_new).all())  # nothing made up
        # the new samples that were kept are distinct rows of the new batch
        kept = batch[from_new]
        assert len(torch.unique(kept, dim=0)) == len(kept) == 32 - expected_old


def test_replay_buffer_really_returns_old_samples_once_full():
    buffer = ReplayBuffer(capacity=8, fraction=0.5, generator=torch.Generator().manual_seed(0))
    first = torch.arange(16.0).reshape(8, 2)
    buffer.push(first)
    assert len(buffer) == 8
    stored_after_first = buffer.storage.clone()
    assert torch.equal(stored_after_first, first)  # the buffer holds copies of what was pushed
    later = 100.0 + torch.arange(8.0).reshape(4, 2)
    batch = buffer.mix(later)
    assert bool(_rows_in(batch[:2], first).all())  # replayed rows come from the first batch
    # the buffer stays full and now holds some of the later samples, overwriting old ones
    assert len(buffer) == 8
    assert 1 <= int(_rows_in(buffer.storage, later).sum()) <= 4
    assert int(_rows_in(buffer.storage, first).sum()) >= 4


def test_replay_buffer_stores_detached_copies():
    buffer = ReplayBuffer(capacity=4)
    fakes = torch.ones(4, 2, requires_grad=True)
    buffer.push(fakes * 2)
    assert not buffer.storage.requires_grad
    with torch.no_grad():
        fakes.mul_(0)  # changing the source afterwards must not change what was stored
    assert torch.equal(buffer.storage, torch.full((4, 2), 2.0))


def test_replay_buffer_is_deterministic_for_a_seeded_generator():
    def run(seed: int) -> torch.Tensor:
        buffer = ReplayBuffer(capacity=10, fraction=0.5, generator=torch.Generator().manual_seed(seed))
        out = []
        for i in range(6):
            out.append(buffer.mix(_randn(8, 2, seed=i)))
        return torch.cat(out)

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))


# --- minibatch discrimination ---------------------------------------------------------------------

def _reference_minibatch_features(x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Salimans et al.'s o(x_i)_b = sum_{j != i} exp(-||M_i,b - M_j,b||_1), with loops in float64."""
    n, (a, b, c) = len(x), T.shape
    m = (x @ T.reshape(a, b * c)).reshape(n, b, c)
    o = np.zeros((n, b))
    for i in range(n):
        for j in range(n):
            if i != j:
                o[i] += np.exp(-np.abs(m[i] - m[j]).sum(axis=1))
    return o


def test_minibatch_discrimination_matches_a_loop_over_sample_pairs():
    layer = MinibatchDiscrimination(in_features=5, num_kernels=4, kernel_dim=3)
    x = _randn(6, 5, seed=2)
    out = layer(x)
    assert out.shape == (6, 5 + 4)
    assert torch.equal(out[:, :5], x)  # the input features pass through
    expected = _reference_minibatch_features(x.double().numpy(), layer.T.detach().double().numpy())
    np.testing.assert_allclose(out[:, 5:].detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_minibatch_discrimination_features_of_a_sample_depend_on_the_other_samples():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(in_features=4, num_kernels=3, kernel_dim=2)
    x = _randn(5, 4, seed=3)
    y = x.clone()
    y[3] += 0.5  # change sample j = 3 only
    out_x, out_y = layer(x), layer(y)
    assert not torch.allclose(out_x[0, 4:], out_y[0, 4:])  # sample i = 0's extra features moved
    # per sample: a batch made of copies of one sample gets different features from a spread-out batch
    same = layer(x[:1].repeat(5, 1))
    assert torch.allclose(same[0, 4:], torch.full((3,), 4.0))  # four identical neighbours, exp(0) each
    assert (out_x[:, 4:] < 4.0).all()


def test_minibatch_discrimination_passes_gradients_to_its_tensor():
    layer = MinibatchDiscrimination(in_features=3, num_kernels=2, kernel_dim=2)
    layer(_randn(4, 3, seed=5)).sum().backward()
    assert layer.T.grad is not None and layer.T.grad.abs().sum() > 0


# --- minibatch standard deviation -----------------------------------------------------------------

def test_minibatch_stddev_equals_numpy_on_feature_vectors():
    x = _randn(8, 5, seed=6)
    out = MinibatchStdDev()(x)
    expected = np.sqrt(np.var(x.double().numpy(), axis=0) + 1e-8).mean()
    assert out.shape == (8, 6)
    assert torch.equal(out[:, :5], x)
    np.testing.assert_allclose(out[:, 5].numpy(), np.full(8, expected), rtol=1e-5)


def test_minibatch_stddev_with_groups_equals_numpy_per_group_on_images():
    x = _randn(8, 3, 4, 4, seed=7)
    out = MinibatchStdDev(group_size=4)(x)
    assert out.shape == (8, 4, 4, 4)
    xs = x.double().numpy()
    for group in (slice(0, 4), slice(4, 8)):
        expected = np.sqrt(np.var(xs[group], axis=0) + 1e-8).mean()
        np.testing.assert_allclose(out[group, 3].numpy(), np.full((4, 4, 4), expected), rtol=1e-5)


def test_minibatch_stddev_is_near_zero_for_a_collapsed_batch():
    out = MinibatchStdDev()(_randn(1, 6, seed=8).repeat(10, 1))
    assert out[:, 6].max() < 1e-3


def test_minibatch_stddev_refuses_a_batch_that_does_not_split_into_groups():
    with pytest.raises(ValueError, match="group size"):
        MinibatchStdDev(group_size=4)(_randn(6, 2))


# --- PacGAN ---------------------------------------------------------------------------------------

def test_pack_joins_consecutive_samples_into_one_row():
    x = torch.arange(12.0).reshape(6, 2)
    packed = pack(x, 3)
    assert packed.shape == (2, 6)
    assert packed[1].tolist() == [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]  # samples 3, 4, 5 side by side
    assert pack(_randn(4, 1, 2, 2), 2).shape == (2, 8)
    with pytest.raises(ValueError):
        pack(x, 4)


# --- weight clipping ------------------------------------------------------------------------------

def test_clip_weights_clips_every_parameter_and_leaves_small_ones_alone():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(10)
    before = [p.detach().clone() for p in critic.parameters()]
    clip_weights(critic, c=0.05)
    for old, p in zip(before, critic.parameters(), strict=True):
        assert p.abs().max() <= 0.05
        expected = np.clip(old.numpy(), -0.05, 0.05)
        np.testing.assert_array_equal(p.detach().numpy(), expected)
    assert any((old.abs() > 0.05).any() for old in before)  # the test really clipped something


# --- the truncation trick -------------------------------------------------------------------------

def test_truncated_latents_lie_within_the_threshold_and_repeat_for_a_seed():
    z = truncated_latents(5000, 8, threshold=0.5, generator=torch.Generator().manual_seed(0))
    assert z.shape == (5000, 8)
    assert z.abs().max() <= 0.5
    again = truncated_latents(5000, 8, threshold=0.5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(z, again)
    # resampling keeps the normal's shape inside the interval: not clamped onto its edges
    assert (z.abs() == 0.5).sum() == 0
    assert z.std().item() == pytest.approx(scipy.stats.truncnorm(-0.5, 0.5).std(), abs=0.005)


def test_truncated_latents_with_a_large_threshold_are_plain_normal_draws():
    z = truncated_latents(100, 4, threshold=100.0, generator=torch.Generator().manual_seed(9))
    assert torch.equal(z, torch.randn(100, 4, generator=torch.Generator().manual_seed(9)))


def test_truncate_toward_mean_interpolates_between_the_mean_and_the_sample():
    w, w_mean = _randn(3, 4, seed=10), _randn(4, seed=11)
    assert torch.allclose(truncate_toward_mean(w, w_mean, 1.0), w)
    assert torch.allclose(truncate_toward_mean(w, w_mean, 0.0), w_mean.expand(3, 4))
    assert torch.allclose(truncate_toward_mean(w, w_mean, 0.7), 0.3 * w_mean + 0.7 * w)
