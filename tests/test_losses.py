"""Claims of gancourse.losses, checked against NumPy float64 and torch's BCEWithLogitsLoss."""

import math

import numpy as np
import pytest
import torch

from gancourse.losses import (
    discriminator_loss,
    non_saturating_generator_loss,
    saturating_generator_loss,
)


def _logits(n: int, seed: int, scale: float = 3.0) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed)) * scale


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _with_grad(x: torch.Tensor) -> torch.Tensor:
    return x.clone().detach().requires_grad_(True)


# --- values -------------------------------------------------------------------------------------

def test_discriminator_loss_equals_bce_with_logits_on_real_ones_plus_fake_zeros():
    real, fake = _logits(7, 0), _logits(5, 1)  # different batch sizes on purpose
    bce = torch.nn.BCEWithLogitsLoss()  # reduction="mean"
    expected = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
    assert discriminator_loss(real, fake).item() == pytest.approx(expected.item(), rel=1e-6)


def test_discriminator_loss_matches_float64_numpy_hand_computation():
    real, fake = _logits(11, 2), _logits(4, 3)
    r, f = real.double().numpy(), fake.double().numpy()
    expected = -np.mean(np.log(_np_sigmoid(r))) - np.mean(np.log(1.0 - _np_sigmoid(f)))
    assert discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-5)


def test_discriminator_loss_averages_each_batch_over_its_own_size():
    # All-zero logits mean D(x) = 1/2 everywhere: each term is log 2, whatever the batch sizes.
    loss = discriminator_loss(torch.zeros(3), torch.zeros(17))
    assert loss.item() == pytest.approx(2 * math.log(2), rel=1e-6)
    # Repeating the fake batch (so it is 3x longer than the real one) leaves a mean unchanged.
    real, fake = _logits(6, 4), _logits(2, 5)
    once, thrice = discriminator_loss(real, fake), discriminator_loss(real, fake.repeat(3))
    assert thrice.item() == pytest.approx(once.item(), rel=1e-6)


def test_saturating_generator_loss_is_mean_log_one_minus_sigmoid():
    fake = _logits(9, 6)
    f = fake.double().numpy()
    expected = np.mean(np.log(1.0 - _np_sigmoid(f)))
    assert saturating_generator_loss(fake).item() == pytest.approx(expected, rel=1e-5)


def test_non_saturating_generator_loss_is_minus_mean_log_sigmoid():
    fake = _logits(9, 7)
    f = fake.double().numpy()
    expected = -np.mean(np.log(_np_sigmoid(f)))
    assert non_saturating_generator_loss(fake).item() == pytest.approx(expected, rel=1e-5)


def test_generator_losses_at_the_equilibrium_logit_zero_are_minus_and_plus_log_two():
    zeros = torch.zeros(5)
    assert saturating_generator_loss(zeros).item() == pytest.approx(-math.log(2), rel=1e-6)
    assert non_saturating_generator_loss(zeros).item() == pytest.approx(math.log(2), rel=1e-6)


# --- extreme logits -----------------------------------------------------------------------------

EXTREME = [100.0, -100.0, 1000.0, -1000.0]


@pytest.mark.parametrize("value", EXTREME)
def test_discriminator_loss_is_finite_with_finite_gradients_for_extreme_logits(value):
    real = _with_grad(torch.full((4,), value, dtype=torch.float32))
    fake = _with_grad(torch.full((3,), value, dtype=torch.float32))
    loss = discriminator_loss(real, fake)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()
    # -log sigmoid(v) + -log(1 - sigmoid(v)) = softplus(-v) + softplus(v), computed in float64.
    expected = np.logaddexp(0.0, -value) + np.logaddexp(0.0, value)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("value", EXTREME)
def test_saturating_generator_loss_is_finite_with_finite_gradients_for_extreme_logits(value):
    fake = _with_grad(torch.full((4,), value, dtype=torch.float32))
    loss = saturating_generator_loss(fake)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(fake.grad).all()
    assert loss.item() == pytest.approx(-np.logaddexp(0.0, value), rel=1e-6, abs=1e-30)


@pytest.mark.parametrize("value", EXTREME)
def test_non_saturating_generator_loss_is_finite_with_finite_gradients_for_extreme_logits(value):
    fake = _with_grad(torch.full((4,), value, dtype=torch.float32))
    loss = non_saturating_generator_loss(fake)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(fake.grad).all()
    assert loss.item() == pytest.approx(np.logaddexp(0.0, -value), rel=1e-6, abs=1e-30)


@pytest.mark.parametrize("value", [-20.0, -100.0, -1000.0])
def test_saturating_gradient_vanishes_when_d_confidently_rejects_the_fakes(value):
    fake = _with_grad(torch.full((8,), value))
    saturating_generator_loss(fake).backward()
    assert fake.grad.abs().max().item() < 1e-3


@pytest.mark.parametrize("value", [-20.0, -100.0, -1000.0])
def test_non_saturating_gradient_stays_near_minus_one_over_m_when_d_rejects_the_fakes(value):
    m = 8
    fake = _with_grad(torch.full((m,), value))
    non_saturating_generator_loss(fake).backward()
    np.testing.assert_allclose(fake.grad.numpy(), np.full(m, -1.0 / m), rtol=1e-4)


# --- gradients against the analytic formulas ---------------------------------------------------

def test_discriminator_loss_gradients_match_analytic_formulas():
    real, fake = _with_grad(_logits(6, 8)), _with_grad(_logits(10, 9))
    discriminator_loss(real, fake).backward()
    r, f = real.detach().double().numpy(), fake.detach().double().numpy()
    # d/dr [-log sigmoid(r)] / m_r = -(1 - sigmoid(r)) / m_r ;  d/df [-log(1 - sigmoid(f))] / m_f
    np.testing.assert_allclose(real.grad.numpy(), -(1.0 - _np_sigmoid(r)) / len(r),
                               rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(fake.grad.numpy(), _np_sigmoid(f) / len(f), rtol=1e-5, atol=1e-8)


def test_saturating_generator_loss_gradient_is_minus_sigmoid_over_m():
    fake = _with_grad(_logits(7, 10))
    saturating_generator_loss(fake).backward()
    f = fake.detach().double().numpy()
    np.testing.assert_allclose(fake.grad.numpy(), -_np_sigmoid(f) / len(f), rtol=1e-5, atol=1e-8)


def test_non_saturating_generator_loss_gradient_is_minus_one_minus_sigmoid_over_m():
    fake = _with_grad(_logits(7, 11))
    non_saturating_generator_loss(fake).backward()
    f = fake.detach().double().numpy()
    np.testing.assert_allclose(fake.grad.numpy(), -(1.0 - _np_sigmoid(f)) / len(f),
                               rtol=1e-5, atol=1e-8)


def test_both_generator_losses_push_fake_logits_upwards():
    # Minimizing either loss must raise D(G(z)): the gradient w.r.t. every fake logit is negative.
    for loss_fn in (saturating_generator_loss, non_saturating_generator_loss):
        fake = _with_grad(_logits(12, 12))
        loss_fn(fake).backward()
        assert (fake.grad < 0).all(), loss_fn.__name__
