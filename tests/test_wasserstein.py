"""Claims of the Wasserstein losses and the gradient penalty in gancourse.losses (chapter 5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from gancourse.losses import gradient_penalty, wasserstein_critic_loss, wasserstein_generator_loss


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _linear_critic(w: list[float]) -> nn.Linear:
    """D(x) = w . x + 1, whose gradient is w everywhere."""
    critic = nn.Linear(len(w), 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([w]))
        critic.bias.fill_(1.0)
    return critic


# --- the losses -----------------------------------------------------------------------------------

def test_wasserstein_critic_loss_is_mean_fake_minus_mean_real_by_hand():
    real = torch.tensor([1.0, 2.0, 3.0, 6.0])  # mean 3
    fake = torch.tensor([-1.0, 0.5])  # mean -0.25; the batches differ in size on purpose
    assert wasserstein_critic_loss(real, fake).item() == pytest.approx(-3.25)


def test_wasserstein_generator_loss_is_minus_mean_fake_score():
    assert wasserstein_generator_loss(torch.tensor([2.0, -4.0, 5.0])).item() == pytest.approx(-1.0)


def test_wasserstein_losses_match_numpy_on_random_scores():
    real, fake = _randn(50, seed=1) * 5, _randn(30, seed=2) * 5
    assert wasserstein_critic_loss(real, fake).item() == pytest.approx(
        fake.double().numpy().mean() - real.double().numpy().mean(), rel=1e-5)
    assert wasserstein_generator_loss(fake).item() == pytest.approx(-fake.double().numpy().mean(), rel=1e-5)


def test_minimizing_the_critic_loss_raises_real_scores_and_lowers_fake_scores():
    real, fake = torch.zeros(4, requires_grad=True), torch.zeros(4, requires_grad=True)
    wasserstein_critic_loss(real, fake).backward()
    assert (real.grad < 0).all() and (fake.grad > 0).all()  # descent moves real up, fake down


# --- the gradient penalty -------------------------------------------------------------------------

def test_gradient_penalty_is_zero_for_a_linear_critic_with_unit_norm_weight():
    critic = _linear_critic([0.6, -0.8])
    penalty = gradient_penalty(critic, _randn(64, 2, seed=3), _randn(64, 2, seed=4))
    assert penalty.item() == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("w", [[2.0, 0.0], [0.3, 0.4], [1.0, 2.0, 2.0]])
def test_gradient_penalty_equals_squared_norm_gap_for_a_linear_critic(w):
    critic = _linear_critic(w)
    d = len(w)
    penalty = gradient_penalty(critic, _randn(32, d, seed=5), _randn(32, d, seed=6))
    assert penalty.item() == pytest.approx((np.linalg.norm(w) - 1.0) ** 2, rel=1e-5)


def test_gradient_penalty_is_taken_at_random_interpolates_between_real_and_fake():
    # D(x) = |x|^2 / 2 has gradient x. Real points at x0 and fake points at -x0 both have gradient norm 1,
    # so a penalty taken at real or fake samples would be 0. At x_hat = eps x0 + (1 - eps)(-x0) the norm is
    # |2 eps - 1|, which is uniform on [0, 1] for eps ~ U(0, 1): E[(|2 eps - 1| - 1)^2] = 1/3.
    def critic(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x ** 2).sum(dim=1)

    x0 = torch.tensor([[0.6, 0.8]]).repeat(40_000, 1)
    penalty = gradient_penalty(critic, x0, -x0, generator=torch.Generator().manual_seed(0))
    assert penalty.item() == pytest.approx(1.0 / 3.0, abs=0.01)


def test_gradient_penalty_draws_one_eps_per_sample_and_repeats_for_a_seed():
    def critic(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x ** 2).flatten(1).sum(dim=1)

    real, fake = torch.ones(500, 1, 3, 3) / 3.0, -torch.ones(500, 1, 3, 3) / 3.0  # images, norm 1 each
    a = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1))
    b = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1))
    assert a.item() == b.item()
    assert a.item() == pytest.approx(1.0 / 3.0, abs=0.05)  # one eps per image, not per pixel


def test_gradient_penalty_trains_the_critic_toward_unit_gradient_norm():
    # For D(x) = w . x the penalty is (|w| - 1)^2, whose gradient in w is 2 (|w| - 1) w / |w|.
    w = torch.tensor([1.2, 1.6])  # |w| = 2
    critic = _linear_critic(w.tolist())
    gradient_penalty(critic, _randn(16, 2, seed=7), _randn(16, 2, seed=8)).backward()
    expected = 2 * (2.0 - 1.0) * w / 2.0
    assert torch.allclose(critic.weight.grad[0], expected, rtol=1e-5)  # descent shrinks |w| toward 1
    assert critic.bias.grad is None or critic.bias.grad.abs().max() == 0


def test_gradient_penalty_is_never_negative_and_ignores_gradients_of_the_inputs():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    real = _randn(64, 2, seed=9)
    fake = _randn(64, 2, seed=10).requires_grad_(True)
    penalty = gradient_penalty(critic, real, fake)
    assert penalty.item() >= 0
    penalty.backward()
    assert fake.grad is None  # the penalty trains the critic, not the generator
    # every weight matrix shapes the input gradient, so every one is trained (the last bias does not)
    assert all(layer.weight.grad is not None for layer in (critic[0], critic[2]))
