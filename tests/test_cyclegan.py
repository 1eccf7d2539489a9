"""CycleGAN's objectives (chapter 7): the cycle-consistency term and the generators' full loss."""

import pytest
import torch
from torch import nn

from gancourse import cyclegan, losses


class Affine(nn.Module):
    """x -> a x + b elementwise, so that every cycle can be worked out by hand."""

    def __init__(self, a, b):
        super().__init__()
        self.a, self.b = nn.Parameter(torch.tensor(float(a))), nn.Parameter(torch.tensor(float(b)))

    def forward(self, x):
        return self.a * x + self.b


def test_cycle_loss_equals_a_hand_computation_of_both_cycles():
    a, b = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.5, 3.0]])
    g_ab, g_ba = Affine(2.0, 1.0), Affine(1.0, 0.0)  # G_BA(G_AB(x)) = 2x + 1, G_AB(G_BA(y)) = 2y + 1
    forward = (abs(2 * 1 + 1 - 1) + abs(2 * -2 + 1 - (-2))) / 2  # |x + 1| averaged: (2 + 1) / 2
    backward = (abs(0.5 + 1) + abs(3 + 1)) / 2  # (1.5 + 4) / 2
    expected = 10.0 * (forward + backward)
    assert cyclegan.cycle_consistency_loss(a, b, g_ab, g_ba).item() == pytest.approx(expected)


def test_cycle_loss_counts_the_forward_and_the_backward_cycle():
    g_ab, g_ba = nn.ReLU(), nn.Identity()  # inverse to each other on positive numbers only
    positive, negative = torch.tensor([[1.0, 2.0]]), torch.tensor([[-1.0, -3.0]])
    # a > 0 comes back exactly; b < 0 comes back as relu(b) = 0, an error of |b| = 2 on average
    assert cyclegan.cycle_consistency_loss(positive, negative, g_ab, g_ba).item() == pytest.approx(10.0 * 2.0)
    # the other way round only the forward cycle a -> b -> a fails
    assert cyclegan.cycle_consistency_loss(negative, positive, g_ab, g_ba).item() == pytest.approx(10.0 * 2.0)
    assert cyclegan.cycle_consistency_loss(positive, positive, g_ab, g_ba).item() == 0.0
    assert cyclegan.cycle_consistency_loss(negative, negative, g_ab, g_ba).item() == pytest.approx(10.0 * 4.0)


def test_cycle_loss_is_the_l1_reconstruction_error_on_random_nets():
    torch.manual_seed(0)
    g_ab, g_ba = nn.Linear(3, 3), nn.Linear(3, 3)
    a, b = torch.randn(16, 3), torch.randn(16, 3)
    l1 = nn.L1Loss()
    with torch.no_grad():
        expected = 10.0 * (l1(g_ba(g_ab(a)), a) + l1(g_ab(g_ba(b)), b))
    assert torch.allclose(cyclegan.cycle_consistency_loss(a, b, g_ab, g_ba), expected)


def test_cycle_loss_scales_linearly_with_lambda():
    torch.manual_seed(1)
    g_ab, g_ba = nn.Linear(2, 2), nn.Linear(2, 2)
    a, b = torch.randn(10, 2), torch.randn(10, 2)
    one = cyclegan.cycle_consistency_loss(a, b, g_ab, g_ba, lam=1.0)
    assert one > 0
    assert torch.allclose(cyclegan.cycle_consistency_loss(a, b, g_ab, g_ba), 10 * one)
    assert torch.allclose(cyclegan.cycle_consistency_loss(a, b, g_ab, g_ba, lam=2.5), 2.5 * one)


def test_generator_objective_adds_both_adversarial_terms_and_the_cycle_term():
    torch.manual_seed(2)
    g_ab, g_ba = nn.Linear(2, 2), nn.Linear(2, 2)
    d_a = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
    d_b = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
    a, b = torch.randn(10, 2), torch.randn(10, 2)
    out = cyclegan.generator_objective(a, b, g_ab, g_ba, d_a, d_b, lam=10.0)
    with torch.no_grad():
        adversarial = (nn.functional.softplus(-d_b(g_ab(a))).mean() + nn.functional.softplus(-d_a(g_ba(b))).mean())
        cycle = 10 * ((g_ba(g_ab(a)) - a).abs().mean() + (g_ab(g_ba(b)) - b).abs().mean())
    assert torch.allclose(out["adversarial"], adversarial)
    assert torch.allclose(out["cycle"], cycle)
    assert torch.allclose(out["total"], adversarial + cycle)


def test_discriminator_objective_does_not_reach_the_generators():
    torch.manual_seed(3)
    g_ab, g_ba = nn.Linear(2, 2), nn.Linear(2, 2)
    d_a = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
    d_b = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
    a, b = torch.randn(10, 2), torch.randn(10, 2)
    loss = cyclegan.discriminator_objective(a, b, g_ab, g_ba, d_a, d_b)
    loss.backward()
    assert g_ab.weight.grad is None and g_ba.weight.grad is None
    assert d_a[0].weight.grad is not None and d_b[0].weight.grad is not None
    with torch.no_grad():
        expected = (losses.discriminator_loss(d_a(a), d_a(g_ba(b)))
                    + losses.discriminator_loss(d_b(b), d_b(g_ab(a))))
    assert torch.allclose(loss, expected)


def test_training_with_the_cycle_term_makes_the_two_maps_inverse_to_each_other():
    a = torch.randn(512, 2) * 0.3 + torch.tensor([2.0, 0.0])
    b = torch.randn(512, 2) * 0.3 + torch.tensor([0.0, -2.0])

    def run(lam):
        torch.manual_seed(0)
        nets = [nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2)) for _ in range(2)]
        ds = [nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Flatten(0)) for _ in range(2)]
        history = cyclegan.train_cyclegan(*nets, *ds, a, b, steps=150, batch_size=64, lam=lam, progress=False)
        return sum(history["cycle_error"][-20:]) / 20

    assert run(10.0) < 0.5 * run(0.0)
