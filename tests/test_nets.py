"""Claims of gancourse.nets: shapes, the seed-004 DCGAN layers, the DCGAN guidelines, init."""

import pytest
import torch
from torch import nn

from gancourse.nets import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    dcgan_weights_init,
)

WEIGHTED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def _trace(net: nn.Module, x: torch.Tensor) -> tuple[list, torch.Tensor]:
    """Run net on x and record every leaf module that ran, in order, with its output."""
    calls: list[tuple[nn.Module, torch.Tensor]] = []
    handles = [
        m.register_forward_hook(lambda mod, inp, out: calls.append((mod, out.detach().clone())))
        for m in net.modules()
        if len(list(m.children())) == 0
    ]
    try:
        out = net(x)
    finally:
        for h in handles:
            h.remove()
    return calls, out


@pytest.fixture(scope="module")
def g_trace():
    torch.manual_seed(0)
    g = DCGANGenerator(latent_dim=100)
    calls, out = _trace(g, torch.randn(4, 100))
    return g, calls, out


@pytest.fixture(scope="module")
def d_trace():
    torch.manual_seed(0)
    d = DCGANDiscriminator()
    calls, out = _trace(d, torch.rand(4, 1, 28, 28) * 2 - 1)
    return d, calls, out


# --- DCGAN generator ----------------------------------------------------------------------------

def test_dcgan_generator_maps_b_by_100_latents_to_b_by_1x28x28_images(g_trace):
    _, _, out = g_trace
    assert out.shape == (4, 1, 28, 28)
    assert out.dtype == torch.float32


def test_dcgan_generator_layers_are_dense_7x7x256_then_convt_128_64_1(g_trace):
    _, calls, _ = g_trace
    shapes = [(type(m), tuple(o.shape)) for m, o in calls if isinstance(m, WEIGHTED)]
    assert shapes == [
        (nn.Linear, (4, 7 * 7 * 256)),
        (nn.ConvTranspose2d, (4, 128, 7, 7)),
        (nn.ConvTranspose2d, (4, 64, 14, 14)),
        (nn.ConvTranspose2d, (4, 1, 28, 28)),
    ]


def test_dcgan_generator_has_batchnorm_and_relu_after_every_layer_but_the_output(g_trace):
    _, calls, _ = g_trace
    kinds = [m for m, _ in calls]
    weighted = [i for i, m in enumerate(kinds) if isinstance(m, WEIGHTED)]
    for i in weighted[:-1]:
        norm, act = kinds[i + 1], kinds[i + 2]
        assert isinstance(norm, NORMS), f"no BatchNorm after layer {i}: {norm}"
        assert norm.num_features == calls[i][1].shape[1]
        assert isinstance(act, nn.ReLU)


def test_dcgan_generator_output_layer_has_no_batchnorm_and_ends_in_tanh(g_trace):
    _, calls, out = g_trace
    kinds = [m for m, _ in calls]
    last = max(i for i, m in enumerate(kinds) if isinstance(m, WEIGHTED))
    assert not any(isinstance(m, NORMS) for m in kinds[last + 1:])
    pre_activation = calls[last][1]
    assert torch.allclose(out, torch.tanh(pre_activation), atol=1e-6)


def test_dcgan_generator_outputs_stay_within_minus_one_to_one_even_for_huge_latents():
    torch.manual_seed(1)
    g = DCGANGenerator().eval()
    with torch.no_grad():
        for m in g.modules():  # make the pre-activations huge so that tanh must saturate
            if isinstance(m, nn.ConvTranspose2d) and m.out_channels == 1:
                m.weight.mul_(1000.0)
        out = g(torch.randn(3, 100) * 100)
    assert out.min().item() >= -1.0 and out.max().item() <= 1.0
    assert out.abs().max().item() > 0.99  # really saturated, so the bound is not vacuous


# --- DCGAN discriminator ------------------------------------------------------------------------

def test_dcgan_discriminator_returns_one_logit_per_image(d_trace):
    _, _, out = d_trace
    assert out.shape == (4,)


def test_dcgan_discriminator_convs_are_64_then_128_with_stride_2(d_trace):
    _, calls, _ = d_trace
    convs = [(m, tuple(o.shape)) for m, o in calls if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c, _ in convs] == [64, 128]
    assert all(c.stride == (2, 2) for c, _ in convs)
    assert [s for _, s in convs] == [(4, 64, 14, 14), (4, 128, 7, 7)]


def test_dcgan_discriminator_uses_leaky_relu_and_dropout_0_3_after_each_conv(d_trace):
    _, calls, _ = d_trace
    kinds = [m for m, _ in calls]
    convs = [i for i, m in enumerate(kinds) if isinstance(m, nn.Conv2d)]
    for i in convs:
        assert isinstance(kinds[i + 1], nn.LeakyReLU) and kinds[i + 1].negative_slope > 0
        assert isinstance(kinds[i + 2], nn.Dropout) and kinds[i + 2].p == pytest.approx(0.3)
    assert not any(isinstance(m, (nn.ReLU, nn.Sigmoid, nn.Tanh)) for m in kinds)


def test_dcgan_discriminator_has_no_batchnorm_at_its_input(d_trace):
    d, _, _ = d_trace
    assert not any(isinstance(m, NORMS) for m in d.modules())


def test_dcgan_discriminator_with_hidden_batchnorm_normalises_the_inner_convolution_only():
    """Guideline 2 in full: BatchNorm after the second convolution, before its LeakyReLU, never on the input."""
    torch.manual_seed(4)
    d = DCGANDiscriminator(hidden_batchnorm=True)
    calls, out = _trace(d, torch.rand(6, 1, 28, 28) * 2 - 1)
    kinds = [m for m, _ in calls]
    convs = [i for i, m in enumerate(kinds) if isinstance(m, nn.Conv2d)]
    norms = [i for i, m in enumerate(kinds) if isinstance(m, NORMS)]
    assert norms == [convs[1] + 1] and isinstance(kinds[norms[0] + 1], nn.LeakyReLU)
    normalised = calls[norms[0]][1]
    assert normalised.shape == (6, 128, 7, 7) and out.shape == (6,)
    assert normalised.mean(dim=(0, 2, 3)).abs().max() < 1e-5  # train mode: per-channel batch statistics
    plain = DCGANDiscriminator()
    assert set(plain.state_dict()) < set(d.state_dict())  # the default's weights (the shipped ones) still load


def test_dcgan_discriminator_dropout_is_random_in_train_mode_and_off_in_eval_mode():
    torch.manual_seed(2)
    d = DCGANDiscriminator()
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    d.train()
    assert not torch.equal(d(x), d(x))
    d.eval()
    assert torch.equal(d(x), d(x))


def test_dcgan_discriminator_ends_in_a_raw_logit_not_a_sigmoid():
    torch.manual_seed(3)
    d = DCGANDiscriminator().eval()
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    linears = [m for m in d.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        linears[-1].bias.fill_(10.0)
        high = d(x)
        linears[-1].bias.fill_(-10.0)
        low = d(x)
    assert (high > 1.0).all()
    assert (low < 0.0).all()


# --- MLP nets -----------------------------------------------------------------------------------

def test_mlp_generator_makes_2d_toy_points_that_are_unbounded_without_tanh():
    torch.manual_seed(4)
    g = MLPGenerator(latent_dim=3, out_shape=(2,), hidden=(16, 16), tanh_output=False)
    out = g(torch.randn(6, 3))
    assert out.shape == (6, 2)
    with torch.no_grad():
        big = g(torch.randn(50, 3) * 1000)
    assert big.abs().max().item() > 1.0


def test_mlp_generator_makes_images_in_minus_one_to_one_with_tanh():
    torch.manual_seed(5)
    g = MLPGenerator(latent_dim=8, out_shape=(1, 28, 28), hidden=(32,))
    with torch.no_grad():
        out = g(torch.randn(3, 8) * 1000)
    assert out.shape == (3, 1, 28, 28)
    assert out.min().item() >= -1.0 and out.max().item() <= 1.0


@pytest.mark.parametrize(
    "in_shape, x_shape", [((2,), (6, 2)), ((1, 28, 28), (6, 1, 28, 28)), ((1,), (6, 1))]
)
def test_mlp_discriminator_returns_one_logit_per_sample(in_shape, x_shape):
    torch.manual_seed(6)
    d = MLPDiscriminator(in_shape=in_shape, hidden=(16, 8))
    assert d(torch.randn(*x_shape)).shape == (6,)


def test_mlp_discriminator_dropout_is_used_only_when_asked_for():
    torch.manual_seed(7)
    x = torch.randn(8, 2)
    plain = MLPDiscriminator(in_shape=(2,), hidden=(64,)).train()
    assert torch.equal(plain(x), plain(x))
    dropped = MLPDiscriminator(in_shape=(2,), hidden=(64,), dropout=0.5).train()
    assert not torch.equal(dropped(x), dropped(x))


# --- DCGAN weight init --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def initialised():
    torch.manual_seed(8)
    g, d = DCGANGenerator(), DCGANDiscriminator()
    g.apply(dcgan_weights_init)
    d.apply(dcgan_weights_init)
    return g, d


def test_dcgan_init_draws_conv_and_linear_weights_with_mean_0_and_std_0_02(initialised):
    layers = [m for net in initialised for m in net.modules() if isinstance(m, WEIGHTED)]
    assert len(layers) == 7  # G: dense + 3 ConvT; D: 2 Conv + dense
    for m in layers:
        w = m.weight.detach().double()
        assert w.mean().abs().item() < 0.002, m
        assert w.std().item() == pytest.approx(0.02, rel=0.08), m
    # pooled over all weights, the estimate is tight
    pooled = torch.cat([m.weight.detach().double().ravel() for m in layers])
    assert pooled.std().item() == pytest.approx(0.02, rel=0.01)


def test_dcgan_init_draws_batchnorm_scales_around_1_with_std_0_02_and_zero_shifts(initialised):
    g, _ = initialised
    norms = [m for m in g.modules() if isinstance(m, NORMS)]
    assert len(norms) == 3
    scales = torch.cat([m.weight.detach().double() for m in norms])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.002)
    assert scales.std().item() == pytest.approx(0.02, rel=0.05)
    for m in norms:
        assert torch.count_nonzero(m.bias) == 0


def test_dcgan_init_sets_every_bias_to_zero(initialised):
    biases = [m.bias for net in initialised for m in net.modules()
              if isinstance(m, WEIGHTED) and m.bias is not None]
    assert len(biases) >= 3  # D's two convs and its dense layer have biases
    for b in biases:
        assert torch.count_nonzero(b) == 0


def test_dcgan_init_changes_pytorchs_default_conv_init():
    torch.manual_seed(9)
    d = DCGANDiscriminator()
    conv = next(m for m in d.modules() if isinstance(m, nn.Conv2d) and m.out_channels == 128)
    before = conv.weight.detach().std().item()
    d.apply(dcgan_weights_init)
    after = conv.weight.detach().std().item()
    assert before != pytest.approx(0.02, rel=0.1)  # kaiming-uniform default is ~0.0165 here
    assert after == pytest.approx(0.02, rel=0.05)
