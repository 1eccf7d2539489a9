"""Claims of gancourse.dynamics: the bilinear game, the toy runs and the loss-curve diagnosis (chapter 2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gancourse import data, dynamics
from gancourse.dynamics import bilinear_game, bilinear_update_matrix, diagnose_history

LOG2 = math.log(2.0)


# --- the bilinear game --------------------------------------------------------------------------

def test_bilinear_game_starts_at_the_starting_point_and_has_one_row_per_round():
    path = bilinear_game(0.3, -0.7, lr=0.1, steps=25)
    assert path.shape == (26, 2)
    assert path[0].tolist() == [0.3, -0.7]


def test_simultaneous_first_step_is_descent_in_x_and_ascent_in_y_from_the_same_point():
    x, y, lr = 1.0, 2.0, 0.1
    path = bilinear_game(x, y, lr=lr, steps=1, alternating=False)
    assert path[1] == pytest.approx([x - lr * y, y + lr * x])


def test_alternating_step_lets_y_answer_the_new_x():
    x, y, lr = 1.0, 2.0, 0.1
    path = bilinear_game(x, y, lr=lr, steps=1, alternating=True)
    new_x = x - lr * y
    assert path[1] == pytest.approx([new_x, y + lr * new_x])


@pytest.mark.parametrize("alternating", [False, True])
def test_bilinear_trajectory_is_the_update_matrix_applied_again_and_again(alternating):
    lr, steps = 0.3, 40
    matrix = bilinear_update_matrix(lr, alternating)
    expected = [np.array([0.5, 1.5])]
    for _ in range(steps):
        expected.append(matrix @ expected[-1])
    np.testing.assert_allclose(bilinear_game(0.5, 1.5, lr, steps, alternating), np.array(expected), rtol=1e-10)


def test_simultaneous_steps_grow_the_radius_by_sqrt_one_plus_lr_squared_each_round():
    lr = 0.2
    radius = np.linalg.norm(bilinear_game(1.0, 0.0, lr, steps=50), axis=1)
    np.testing.assert_allclose(radius[1:] / radius[:-1], math.sqrt(1 + lr**2), rtol=1e-12)


def test_alternating_steps_stay_bounded_and_conserve_x2_minus_lr_xy_plus_y2():
    lr = 0.5
    path = bilinear_game(1.0, 1.0, lr, steps=2000, alternating=True)
    invariant = path[:, 0] ** 2 - lr * path[:, 0] * path[:, 1] + path[:, 1] ** 2
    np.testing.assert_allclose(invariant, invariant[0], rtol=1e-9)
    assert np.abs(path).max() < 3.0


def test_update_matrix_eigenvalues_lie_outside_the_unit_circle_only_for_simultaneous_steps():
    for lr in (0.01, 0.1, 1.0):
        simultaneous = np.abs(np.linalg.eigvals(bilinear_update_matrix(lr, False)))
        alternating = np.abs(np.linalg.eigvals(bilinear_update_matrix(lr, True)))
        np.testing.assert_allclose(simultaneous, math.sqrt(1 + lr**2))
        np.testing.assert_allclose(alternating, 1.0)


# --- the diagnosis on synthetic histories -------------------------------------------------------

def _history(d_level: float, g_level: float, n: int = 400, noise: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    d = d_level + noise * rng.standard_normal(n)
    g = g_level + noise * rng.standard_normal(n)
    return d.tolist(), g.tolist()


@pytest.mark.parametrize("levels, expected", [
    ((2 * LOG2, LOG2), "healthy"),        # the equilibrium: D is a coin flip
    ((1.1, 1.2), "healthy"),              # D somewhat ahead, as on MNIST in chapter 1
    ((0.05, 6.0), "d-wins"),              # D certain, G's loss climbing
    ((0.4, 2.5), "d-wins"),
    ((4.0, 0.05), "g-wins"),              # D fooled: it rates the fakes as real
    ((2.0, 0.2), "g-wins"),
])
def test_diagnose_history_classifies_flat_synthetic_histories(levels, expected):
    assert diagnose_history(*_history(*levels)) == expected


@pytest.mark.parametrize("levels, expected", [
    ((2 * LOG2, LOG2), "healthy"), ((0.1, 5.0), "d-wins"), ((3.0, 0.08), "g-wins")])
@pytest.mark.parametrize("noise_seed", range(5))
def test_diagnose_history_is_unchanged_by_reasonable_noise(levels, expected, noise_seed):
    assert diagnose_history(*_history(*levels, noise=0.15, seed=noise_seed)) == expected


@pytest.mark.parametrize("n", [1, 2, 3, 10, 101, 5000])
def test_diagnose_history_does_not_depend_on_the_length_of_the_run(n):
    assert diagnose_history(*_history(0.1, 5.0, n=n)) == "d-wins"
    assert diagnose_history(*_history(2 * LOG2, LOG2, n=n)) == "healthy"


def test_diagnose_history_judges_the_end_of_the_run_not_its_start():
    # A run that starts healthy and ends with D winning (the lectures' "D loss -> 0").
    d = np.r_[np.full(300, 2 * LOG2), np.linspace(2 * LOG2, 0.01, 100), np.full(200, 0.01)]
    g = np.r_[np.full(300, LOG2), np.linspace(LOG2, 8.0, 100), np.full(200, 8.0)]
    assert diagnose_history(d, g) == "d-wins"
    assert diagnose_history(d[::-1], g[::-1]) == "healthy"


def test_diagnose_history_accepts_lists_arrays_and_tensors_alike():
    d, g = _history(0.2, 4.0, noise=0.05)
    assert diagnose_history(d, g) == diagnose_history(np.array(d), np.array(g)) \
        == diagnose_history(torch.tensor(d), torch.tensor(g)) == "d-wins"


@pytest.mark.parametrize("d, g, message", [
    ([], [], "empty"),
    ([1.0, 1.2, 1.3], [0.7, 0.7], "one value per step"),
    ([1.0, float("nan")], [0.7, 0.7], "nan"),
    ([[1.0, 1.0]], [[0.7, 0.7]], "1-D"),
])
def test_diagnose_history_refuses_empty_mismatched_or_broken_inputs(d, g, message):
    with pytest.raises(ValueError, match=message):
        diagnose_history(d, g)


# --- the diagnosis on real toy runs (the chapter's settings, shortened) ------------------------

@pytest.fixture(scope="module")
def real_1d():
    return data.gaussian_mixture_1d(4000, means=(-1.5, 1.5), stds=(0.6, 0.6), seed=0)


@pytest.fixture
def one_thread():
    """Tiny nets train faster on one thread; restore the setting for the tests that follow."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("settings, expected", [
    (dict(), "healthy"),
    (dict(d_lr=2e-3, g_lr=1e-5, k=3, d_width=64), "d-wins"),
    (dict(d_lr=1e-5, g_lr=0.1, optimizer="SGD", g_width=64), "g-wins"),
])
def test_diagnose_history_recognises_real_toy_runs(real_1d, one_thread, settings, expected):
    _, _, history = dynamics.train_toy_gan(real_1d, steps=400, **settings)
    assert diagnose_history(history.d_loss, history.g_loss) == expected


# --- toy runs and instance noise ----------------------------------------------------------------

def test_train_toy_gan_repeats_exactly_with_the_same_seed(real_1d):
    runs = [dynamics.train_toy_gan(real_1d, steps=20, seed=3)[2] for _ in range(2)]
    assert runs[0].d_loss == runs[1].d_loss and runs[0].g_loss == runs[1].g_loss


def test_train_toy_gan_uses_the_requested_optimizer_settings(real_1d):
    # With a zero learning rate for G, G's weights must not move while D's do.
    G0, D0, _ = dynamics.train_toy_gan(real_1d, steps=0, seed=1)
    G, D, _ = dynamics.train_toy_gan(real_1d, steps=10, seed=1, g_lr=0.0, optimizer="SGD")
    assert all(torch.equal(a, b) for a, b in zip(G0.parameters(), G.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(D0.parameters(), D.parameters()))


def test_make_optimizer_refuses_unknown_names():
    with pytest.raises(ValueError, match="unknown optimizer"):
        dynamics.make_optimizer("adagrad", [torch.zeros(1, requires_grad=True)], 0.1)


def test_instance_noise_adds_noise_of_the_requested_std_only_in_training_mode():
    x = torch.zeros(20_000, 2)
    noise = dynamics.InstanceNoise(0.5, generator=torch.Generator().manual_seed(0))
    noisy = noise(x)
    assert noisy.std().item() == pytest.approx(0.5, rel=0.02)
    assert noisy.mean().abs().item() < 0.02
    noise.eval()
    assert torch.equal(noise(x), x)


def test_instance_noise_repeats_with_a_seeded_generator_and_lets_gradients_through():
    x = torch.randn(8, 2, requires_grad=True)
    a = dynamics.InstanceNoise(0.3, torch.Generator().manual_seed(5))(x)
    b = dynamics.InstanceNoise(0.3, torch.Generator().manual_seed(5))(x)
    assert torch.equal(a, b)
    a.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


# --- the gradient that reaches G ----------------------------------------------------------------

def _linear_pair(a: float, b: float, w: float, c: float):
    G, D = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    with torch.no_grad():
        G.weight.fill_(a), G.bias.fill_(b), D.weight.fill_(w), D.bias.fill_(c)
    return G, lambda x: D(x).squeeze(1)


@pytest.mark.parametrize("saturating", [True, False])
def test_generator_gradient_norm_matches_the_chain_rule_on_linear_nets(saturating):
    # G(z) = a z + b and logit t = w G(z) + c. d(loss)/dt is -sigmoid(t) (saturating) or
    # -(1 - sigmoid(t)) (non-saturating); then dt/da = w z and dt/db = w.
    from gancourse import losses
    a, b, w, c = 0.7, -0.3, 2.5, -4.0
    G, D = _linear_pair(a, b, w, c)
    z = torch.linspace(-2, 2, 9).unsqueeze(1)
    t = (w * (a * z + b) + c).squeeze(1).double()
    dl_dt = -torch.sigmoid(t) if saturating else -(1 - torch.sigmoid(t))
    grad_a, grad_b = (dl_dt * w * z.squeeze(1).double()).mean(), (dl_dt * w).mean()
    expected = math.hypot(grad_a.item(), grad_b.item())
    loss = losses.saturating_generator_loss if saturating else losses.non_saturating_generator_loss
    assert dynamics.generator_gradient_norm(G, D, z, loss) == pytest.approx(expected, rel=1e-5)
    assert G.weight.grad is None
