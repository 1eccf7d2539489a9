"""StyleGAN's pieces (chapter 7): AdaIN, noise injection, the mapping network, style mixing and R1."""

import pytest
import torch
from torch import nn

from gancourse import stylegan


def feature_maps(n=4, c=3, h=5, w=6, seed=0):
    """Feature maps whose every (sample, channel) has its own mean and spread."""
    g = torch.Generator().manual_seed(seed)
    spread = torch.rand(n, c, 1, 1, generator=g) * 3 + 0.5
    offset = torch.randn(n, c, 1, 1, generator=g) * 4
    return torch.randn(n, c, h, w, generator=g) * spread + offset


def test_adain_output_has_the_style_mean_and_std_per_sample_and_channel():
    x = feature_maps()
    g = torch.Generator().manual_seed(1)
    scale, bias = torch.rand(4, 3, generator=g) * 2 + 0.5, torch.randn(4, 3, generator=g)
    out = stylegan.adain(x, scale, bias, eps=1e-8)
    assert torch.allclose(out.mean(dim=(2, 3)), bias, atol=1e-5)
    assert torch.allclose(out.std(dim=(2, 3), unbiased=False), scale, atol=1e-4)


def test_adain_matches_instance_norm_followed_by_the_style():
    x = feature_maps(seed=3)
    scale, bias = torch.full((4, 3), 2.0), torch.full((4, 3), -1.0)
    expected = 2.0 * nn.functional.instance_norm(x, eps=1e-5) - 1.0
    assert torch.allclose(stylegan.adain(x, scale, bias), expected, atol=1e-5)


def test_adain_module_output_stats_are_the_style_computed_from_w():
    torch.manual_seed(0)
    layer = stylegan.AdaIN(channels=3, w_dim=8)
    w = torch.randn(4, 8)
    out = layer(feature_maps(), w)
    with torch.no_grad():  # the affine map by hand: first half of the outputs is the scale, second the bias
        style = w @ layer.affine.weight.T + layer.affine.bias
    assert torch.allclose(out.mean(dim=(2, 3)), style[:, 3:], atol=1e-4)
    assert torch.allclose(out.std(dim=(2, 3), unbiased=False), style[:, :3].abs(), atol=1e-3)


def test_adain_starts_as_the_identity_style():
    layer = stylegan.AdaIN(channels=5, w_dim=4)
    nn.init.zeros_(layer.affine.weight)
    scale, bias = layer.style(torch.randn(2, 4))
    assert torch.equal(scale, torch.ones(2, 5)) and torch.equal(bias, torch.zeros(2, 5))


def test_noise_injection_uses_one_map_per_sample_shared_by_all_channels():
    layer = stylegan.NoiseInjection(channels=4)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.5, -1.0, 2.0, 3.0]).view(1, 4, 1, 1))
    x = torch.randn(3, 4, 6, 6)
    torch.manual_seed(0)
    added = (layer(x) - x) / layer.weight.detach()  # the raw noise each channel received
    assert torch.allclose(added, added[:, :1].expand_as(added), atol=1e-5)  # same in every channel
    assert not torch.allclose(added[0], added[1])  # differs between samples
    assert added[0, 0].std() > 0.3  # and across space
    assert layer.weight.shape == (1, 4, 1, 1)


def test_noise_injection_scales_given_noise_by_its_per_channel_weight():
    layer = stylegan.NoiseInjection(channels=2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([2.0, -3.0]).view(1, 2, 1, 1))
    x, noise = torch.zeros(2, 2, 3, 3), torch.randn(2, 1, 3, 3)
    out = layer(x, noise)
    assert torch.allclose(out[:, 0], 2.0 * noise[:, 0]) and torch.allclose(out[:, 1], -3.0 * noise[:, 0])


def test_noise_injection_weight_starts_at_zero_and_gets_gradients():
    layer = stylegan.NoiseInjection(channels=3)
    x = torch.randn(2, 3, 4, 4)
    assert torch.equal(layer(x), x)
    layer(x).pow(2).sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0


def test_mapping_network_normalises_z_so_its_scale_does_not_matter():
    torch.manual_seed(0)
    mapping = stylegan.MappingNetwork(latent_dim=6, w_dim=5, n_layers=3)
    z = torch.randn(7, 6)
    w = mapping(z)
    assert w.shape == (7, 5)
    assert torch.allclose(mapping(3.0 * z), w, atol=1e-5)


def test_mix_styles_switches_from_the_first_to_the_second_w_at_the_crossover():
    w1, w2 = torch.zeros(2, 3), torch.ones(2, 3)
    ws = stylegan.mix_styles(w1, w2, num_styles=6, crossover=2)
    assert ws.shape == (2, 6, 3)
    assert torch.equal(ws[:, :2], torch.zeros(2, 2, 3)) and torch.equal(ws[:, 2:], torch.ones(2, 4, 3))


def test_style_generator_output_depends_on_coarse_and_fine_styles_separately():
    torch.manual_seed(0)
    G = stylegan.StyleGenerator(latent_dim=8, w_dim=8, channels=(8, 8, 4, 4))
    noise = G.make_noise(2, torch.Generator().manual_seed(0))
    w1, w2 = G.mapping(torch.randn(2, 8)), G.mapping(torch.randn(2, 8))
    with torch.no_grad():
        pure = G.synthesis(G.broadcast(w1), noise)
        fine_swapped = G.synthesis(stylegan.mix_styles(w1, w2, G.num_styles, G.num_styles - 1), noise)
        same = G.synthesis(stylegan.mix_styles(w1, w1 + 0, G.num_styles, 3), noise)
    assert pure.shape == (2, 1, 28, 28) and G.num_styles == 8
    assert torch.allclose(same, pure)
    assert not torch.allclose(fine_swapped, pure)
    assert torch.allclose(G(torch.zeros(1, 8) + 1.0, [n[:1] for n in noise]),
                          G.synthesis(G.broadcast(G.mapping(torch.ones(1, 8))), [n[:1] for n in noise]))


def test_r1_penalty_of_a_linear_discriminator_is_half_gamma_times_the_squared_weight_norm():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Flatten(), nn.Linear(12, 1), nn.Flatten(0))
    real = torch.randn(5, 3, 2, 2)
    expected = 0.5 * 4.0 * D[1].weight.detach().pow(2).sum()
    assert torch.allclose(stylegan.r1_penalty(D, real, gamma=4.0), expected)


class Quadratic(nn.Module):
    """D(x) = a * sum(x^2): its input gradient is 2 a x, so the penalty depends on where it is taken."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(0.7))

    def forward(self, x):
        return self.a * x.pow(2).flatten(1).sum(dim=1)


def test_r1_penalty_is_taken_at_the_real_samples_it_is_given():
    D = Quadratic()
    real = torch.randn(6, 4)
    by_hand = 0.5 * 2.0 * ((2 * 0.7 * real).pow(2).sum(dim=1)).mean()
    assert torch.allclose(stylegan.r1_penalty(D, real, gamma=2.0), by_hand)
    assert not torch.allclose(stylegan.r1_penalty(D, real + 1.0, gamma=2.0), by_hand)


def test_r1_penalty_matches_finite_differences_on_a_small_network():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0)).double()
    real = torch.randn(4, 3, dtype=torch.float64)
    h, grads = 1e-6, torch.zeros_like(real)
    with torch.no_grad():
        for j in range(3):
            step = torch.zeros(3, dtype=torch.float64)
            step[j] = h
            grads[:, j] = (D(real + step) - D(real - step)) / (2 * h)
    expected = 0.5 * 10.0 * grads.pow(2).sum(dim=1).mean()
    assert stylegan.r1_penalty(D, real, gamma=10.0).item() == pytest.approx(expected.item(), rel=1e-6)


def test_r1_penalty_backpropagates_into_the_discriminator_and_leaves_the_input_alone():
    D = Quadratic()
    real = torch.randn(6, 4)
    penalty = stylegan.r1_penalty(D, real, gamma=1.0)
    penalty.backward()
    # penalty = 0.5 * 4 a^2 * mean ||x||^2, so d penalty / da = 4 a * mean ||x||^2
    expected = 4 * 0.7 * real.pow(2).sum(dim=1).mean()
    assert torch.allclose(D.a.grad, expected)
    assert not real.requires_grad and real.grad is None


def test_mix_styles_takes_one_crossover_per_sample():
    w1, w2 = torch.zeros(3, 2), torch.ones(3, 2)
    ws = stylegan.mix_styles(w1, w2, num_styles=4, crossover=torch.tensor([1, 3, 4]))
    # the number of layers that read w_first is each sample's crossover
    assert ws[:, :, 0].eq(0).sum(dim=1).tolist() == [1, 3, 4]
    assert torch.equal(ws[1, :, 0], torch.tensor([0.0, 0.0, 0.0, 1.0]))


def test_mixing_regularisation_mixes_about_the_requested_share_of_samples():
    torch.manual_seed(0)
    G = stylegan.StyleGenerator(latent_dim=8, w_dim=8, channels=(8, 8, 4, 4))
    z = torch.randn(2000, 8)
    with torch.no_grad():
        never = stylegan.mixing_regularised_ws(G, z, 0.0, torch.Generator().manual_seed(1))
        mostly = stylegan.mixing_regularised_ws(G, z, 0.9, torch.Generator().manual_seed(1))
    w = G.mapping(z).detach()
    assert torch.allclose(never, G.broadcast(w))
    first_layer_is_own_w = torch.allclose(mostly[:, 0], w)
    changed = ~torch.isclose(mostly, w[:, None]).all(dim=2)  # (N, num_styles): layer reads another w
    mixed_share = changed.any(dim=1).float().mean().item()
    assert first_layer_is_own_w and 0.86 < mixed_share < 0.94
    # a mixed sample switches once, from its own w to the second one, and never back
    assert torch.equal(changed.int().diff(dim=1).clamp(max=0), torch.zeros(2000, G.num_styles - 1, dtype=torch.int))


def test_a_short_stylegan_run_updates_both_players_records_r1_and_is_reproducible():
    from gancourse import data

    (images, _), _ = data.split_held_out(*data.load_mnist_embedded())

    def run():
        torch.manual_seed(0)
        G = stylegan.StyleGenerator(latent_dim=8, w_dim=8, channels=(8, 8, 4, 4))
        D = stylegan.StyleDiscriminator(width=8)
        before = [p.detach().clone() for p in (*G.mapping.parameters(), G.const, *D.parameters())]
        history = stylegan.train_stylegan(G, D, images[:128], steps=3, batch_size=16, device="cpu", progress=False)
        after = [p.detach() for p in (*G.mapping.parameters(), G.const, *D.parameters())]
        return history, before, after

    history, before, after = run()
    assert len(history) == 3 and len(history.r1) == 3 and all(r >= 0 for r in history.r1)
    n_mapping = len(before) - 1 - len(list(stylegan.StyleDiscriminator(width=8).parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before[:n_mapping], after[:n_mapping]))  # the mapping learns
    assert not torch.equal(before[n_mapping], after[n_mapping])  # the constant input learns
    assert any(not torch.equal(a, b) for a, b in zip(before[n_mapping + 1:], after[n_mapping + 1:]))  # D learns
    assert run()[0].d_loss == history.d_loss


def test_style_discriminator_judges_a_sample_together_with_its_group():
    torch.manual_seed(0)
    D = stylegan.StyleDiscriminator(width=8, group_size=4)
    x = torch.randn(8, 1, 28, 28)
    with torch.no_grad():
        out = D(x)
        collapsed = x.clone()
        collapsed[1:4] = x[0]  # the first group becomes four copies of its first sample
        changed = D(collapsed)
    assert out.shape == (8,)
    assert not torch.isclose(changed[0], out[0])  # same image, different group spread, different logit
    assert torch.allclose(changed[4:], out[4:])  # the second group is untouched
