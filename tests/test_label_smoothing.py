"""Claims of chapter 2's label tricks: one-sided smoothing and flipped labels, against torch's BCE in float64."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gancourse import losses
from gancourse.losses import flipped_labels, noisy_label_discriminator_loss, smoothed_discriminator_loss


def _logits(n: int, seed: int, scale: float = 4.0) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


def _bce(logits: torch.Tensor, target: float | torch.Tensor) -> torch.Tensor:
    targets = torch.as_tensor(target, dtype=torch.float64).expand_as(logits)
    return F.binary_cross_entropy_with_logits(logits.double(), targets)


# --- one-sided label smoothing ------------------------------------------------------------------

@pytest.mark.parametrize("real_target", [0.9, 0.8, 0.999, 0.5])
def test_smoothed_loss_is_bce_with_real_targets_smoothed_and_fake_targets_zero(real_target):
    real, fake = _logits(13, 0), _logits(6, 1)   # different batch sizes on purpose
    expected = _bce(real, real_target) + _bce(fake, 0.0)
    got = smoothed_discriminator_loss(real, fake, real_target=real_target)
    assert got.item() == pytest.approx(expected.item(), rel=1e-12)


def test_smoothed_loss_with_target_one_is_the_plain_discriminator_loss():
    real, fake = _logits(9, 2), _logits(9, 3)
    assert smoothed_discriminator_loss(real, fake, 1.0).item() == \
        pytest.approx(losses.discriminator_loss(real, fake).item(), rel=1e-12)


def test_smoothing_is_one_sided_fake_logits_see_the_plain_loss():
    real, fake = _logits(5, 4), _logits(7, 5).requires_grad_(True)
    (grad_smoothed,) = torch.autograd.grad(smoothed_discriminator_loss(real, fake, 0.9), fake)
    (grad_plain,) = torch.autograd.grad(losses.discriminator_loss(real, fake), fake)
    torch.testing.assert_close(grad_smoothed, grad_plain)


def test_smoothed_loss_is_finite_with_finite_gradients_at_extreme_logits():
    for sign in (1.0, -1.0):
        real = torch.full((4,), 100.0 * sign, requires_grad=True)
        fake = torch.full((4,), -100.0 * sign, requires_grad=True)
        loss = smoothed_discriminator_loss(real, fake, 0.9)
        loss.backward()
        assert math.isfinite(loss.item())
        assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()
    # At a real logit of +100, the smoothed target 0.9 costs 0.1 * 100 nats: D is punished for certainty.
    loss = smoothed_discriminator_loss(torch.tensor([100.0]), torch.tensor([-100.0]), 0.9)
    assert loss.item() == pytest.approx(0.1 * 100.0, rel=1e-3)


def test_smoothed_loss_is_smallest_where_d_of_real_equals_the_target():
    logits = torch.linspace(-6, 6, 2401, dtype=torch.float64)
    values = torch.stack([smoothed_discriminator_loss(t.view(1), torch.zeros(1, dtype=torch.float64), 0.9)
                          for t in logits])
    best = torch.sigmoid(logits[values.argmin()]).item()
    assert best == pytest.approx(0.9, abs=1e-3)


def test_smoothed_loss_refuses_targets_outside_zero_one():
    with pytest.raises(ValueError, match="real_target"):
        smoothed_discriminator_loss(torch.zeros(2), torch.zeros(2), real_target=1.2)


# --- flipped (noisy) labels ---------------------------------------------------------------------

def test_flipped_labels_flip_about_the_requested_fraction():
    labels = flipped_labels(50_000, 1.0, 0.1, torch.Generator().manual_seed(0))
    assert set(labels.unique().tolist()) <= {0.0, 1.0}
    assert (labels == 0).float().mean().item() == pytest.approx(0.1, abs=0.01)


def test_flipped_labels_never_or_always_flip_at_probability_zero_or_one():
    assert torch.equal(flipped_labels(100, 1.0, 0.0), torch.ones(100))
    assert torch.equal(flipped_labels(100, 0.0, 1.0), torch.ones(100))


def test_flipped_labels_repeat_with_the_same_seed_and_differ_with_another():
    a = flipped_labels(200, 0.0, 0.3, torch.Generator().manual_seed(7))
    b = flipped_labels(200, 0.0, 0.3, torch.Generator().manual_seed(7))
    c = flipped_labels(200, 0.0, 0.3, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_noisy_label_loss_is_bce_on_the_same_flipped_targets():
    real, fake = _logits(40, 6), _logits(30, 7)
    got = noisy_label_discriminator_loss(real, fake, flip_prob=0.25, generator=torch.Generator().manual_seed(1))
    replay = torch.Generator().manual_seed(1)  # draw the same flips independently: real first, then fake
    real_targets = torch.where(torch.rand(40, generator=replay) < 0.25, 0.0, 1.0).double()
    fake_targets = torch.where(torch.rand(30, generator=replay) < 0.25, 1.0, 0.0).double()
    assert (real_targets == 0).any() and (fake_targets == 1).any()  # some labels really flipped
    expected = _bce(real, real_targets) + _bce(fake, fake_targets)
    assert got.item() == pytest.approx(expected.item(), rel=1e-12)


def test_noisy_label_loss_without_flips_is_the_plain_discriminator_loss():
    real, fake = _logits(8, 8), _logits(8, 9)
    assert noisy_label_discriminator_loss(real, fake, flip_prob=0.0).item() == \
        pytest.approx(losses.discriminator_loss(real, fake).item(), rel=1e-12)


def test_noisy_label_loss_is_finite_at_extreme_logits():
    real = torch.full((50,), 100.0, requires_grad=True)
    fake = torch.full((50,), -100.0, requires_grad=True)
    loss = noisy_label_discriminator_loss(real, fake, 0.2, torch.Generator().manual_seed(0))
    loss.backward()
    assert math.isfinite(loss.item()) and torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()


# --- the lectures' label noise: labels += 0.05 * uniform ------------------------------------------

def test_uniform_label_noise_is_bce_on_targets_raised_by_a_uniform_draw():
    real, fake = _logits(40, 10), _logits(30, 11)
    got = losses.uniform_label_noise_discriminator_loss(real, fake, scale=0.05,
                                                        generator=torch.Generator().manual_seed(3))
    noise = (torch.rand(70, generator=torch.Generator().manual_seed(3)) * 0.05).double()  # real first, then fake
    assert 0 < noise.min() and noise.max() < 0.05
    expected = _bce(real, 1.0 + noise[:40]) + _bce(fake, noise[40:])
    assert got.item() == pytest.approx(expected.item(), rel=1e-12)
    assert losses.uniform_label_noise_discriminator_loss(real, fake, scale=0.0).item() == \
        pytest.approx(losses.discriminator_loss(real, fake).item(), rel=1e-12)


def test_uniform_label_noise_bounds_the_fake_logits_but_not_the_real_ones():
    """A fake target of 0.025 has its minimum at logit log(0.025/0.975); a real target above 1 has none."""
    def loss_at(real_logit, fake_logit):
        n = 1000
        return losses.uniform_label_noise_discriminator_loss(
            torch.full((n,), real_logit, dtype=torch.float64), torch.full((n,), fake_logit, dtype=torch.float64),
            scale=0.05, generator=torch.Generator().manual_seed(0)).item()
    assert loss_at(20.0, -3.0) > loss_at(40.0, -3.0) > loss_at(80.0, -3.0)  # ever larger real logits pay
    floor = math.log(0.025 / 0.975)
    assert loss_at(20.0, floor) < loss_at(20.0, floor - 3) and loss_at(20.0, floor) < loss_at(20.0, floor + 3)
    with pytest.raises(ValueError, match="scale"):
        losses.uniform_label_noise_discriminator_loss(torch.zeros(2), torch.zeros(2), scale=-0.1)
