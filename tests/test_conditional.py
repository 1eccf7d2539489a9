"""Conditional generation (chapter 4): where the label enters, and the extra losses of ACGAN and InfoGAN."""

import math

import numpy as np
import pytest
import torch

from gancourse import conditional as C
from gancourse import data, pretrained


def test_one_hot_rows_have_a_single_one_at_the_label():
    labels = torch.tensor([3, 0, 9, 3])
    rows = C.one_hot(labels)
    assert rows.shape == (4, 10) and rows.dtype == torch.float32
    assert torch.equal(rows.sum(1), torch.ones(4))
    assert torch.equal(rows.argmax(1), labels)


def test_conditional_generator_output_depends_on_the_label():
    torch.manual_seed(0)
    G = C.ConditionalGenerator().eval()
    z = torch.randn(3, 100)
    a, b = G(z, torch.tensor([1, 1, 1])), G(z, torch.tensor([7, 7, 7]))
    assert a.shape == (3, 1, 28, 28) and a.abs().max() <= 1
    assert (a - b).abs().max() > 1e-4


def test_conditional_discriminator_sees_the_label_as_image_planes():
    torch.manual_seed(0)
    D = C.ConditionalDiscriminator().eval()
    x = torch.randn(4, 1, 28, 28)
    out = D(x, torch.tensor([0, 1, 2, 3]))
    assert out.shape == (4,)
    assert (out - D(x, torch.tensor([5, 6, 7, 8]))).abs().max() > 1e-5
    # The label is one plane per class: the first conv has 1 + 10 input channels.
    assert D.features[0].in_channels == 11
    # Changing one sample's label changes only that sample's logit (the label is per sample, not per batch).
    changed = D(x, torch.tensor([0, 1, 2, 9]))
    assert torch.allclose(changed[:3], out[:3]) and not torch.allclose(changed[3], out[3])


def test_width_sizes_both_conditional_networks_and_minibatch_lets_d_see_the_batch():
    def count(net):
        return sum(p.numel() for p in net.parameters())

    assert count(C.ConditionalGenerator(latent_dim=8, width=32)) < count(C.ConditionalGenerator(latent_dim=8))
    assert count(C.ConditionalDiscriminator(width=8)) < count(C.ConditionalDiscriminator())
    torch.manual_seed(0)
    x, y = torch.rand(6, 1, 28, 28) * 2 - 1, torch.arange(6)
    others = x.clone()
    others[3:] = -1.0  # the first three images are the same; the rest of the batch changes
    with_layer = C.ConditionalDiscriminator(width=8, minibatch=True).eval()
    plain = C.ConditionalDiscriminator(width=8).eval()
    assert (with_layer(x, y) - with_layer(others, y))[:3].abs().max() > 1e-6
    assert torch.allclose(plain(x, y)[:3], plain(others, y)[:3])


def test_acgan_auxiliary_loss_is_the_class_cross_entropy():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = torch.tensor([0, 1])
    p = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(1, keepdims=True)
    expected = -(math.log(p[0, 0]) + math.log(p[1, 1])) / 2
    assert C.acgan_auxiliary_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)


def test_infogan_information_loss_is_zero_only_when_codes_are_recovered():
    category = torch.tensor([2, 0])
    continuous = torch.tensor([[0.5, -0.5], [0.1, 0.9]])
    confident = torch.full((2, 10), -50.0)
    confident[0, 2] = confident[1, 0] = 50.0
    assert C.infogan_information_loss(confident, continuous, category, continuous).item() == pytest.approx(0, abs=1e-6)
    worse = C.infogan_information_loss(confident, continuous + 1.0, category, continuous).item()
    assert worse == pytest.approx(0.5, rel=1e-5)  # half the mean squared error of 1


@pytest.mark.parametrize("kind", ["cgan", "acgan", "infogan"])
def test_a_short_training_run_moves_both_players_and_stays_finite(kind):
    (images, labels), _ = data.split_held_out(*data.load_mnist_embedded())
    G_cls, D_cls = pretrained.BUILDERS[kind]
    torch.manual_seed(0)
    G, D = G_cls(), D_cls()
    g0 = [p.detach().clone() for p in G.parameters()]
    d0 = [p.detach().clone() for p in D.parameters()]
    history = C.train_conditional(kind, G, D, images[:256], labels[:256], steps=3, batch_size=32,
                                  device="cpu", progress=False)
    assert len(history) == 3 and all(math.isfinite(v) for v in history.d_loss + history.g_loss)
    assert any(not torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))


def test_infogan_step_gives_the_discriminator_only_the_information_gradient():
    # The adversarial part of G's loss must not update D: with the information weight at 0,
    # D's parameters after Phase II equal those after Phase I.
    torch.manual_seed(0)
    G, D = C.InfoGANGenerator(), C.InfoGANDiscriminator(dropout=0.0)
    g_opt = torch.optim.SGD(G.parameters(), lr=0.1)
    d_opt = torch.optim.SGD(D.parameters(), lr=0.1)
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    original_step = d_opt.step
    calls = []

    def step(*args, **kwargs):
        out = original_step(*args, **kwargs)
        calls.append([p.detach().clone() for p in D.parameters()])
        return out

    d_opt.step = step
    C.infogan_step(G, D, g_opt, d_opt, real, torch.zeros(8, dtype=torch.long),
                   lambda n: torch.randn(n, 62), lambda n: torch.randint(10, (n,)), info_weight=0.0)
    assert len(calls) == 2
    assert all(torch.equal(a, b) for a, b in zip(calls[0], calls[1]))


def test_train_conditional_uses_the_optimizers_it_is_given():
    """As train_gan does: a G optimizer with rate 0 keeps G as it was, while D's own Adam moves D."""
    (images, labels), _ = data.split_held_out(*data.load_mnist_embedded())
    torch.manual_seed(0)
    G, D = C.ConditionalGenerator(), C.ConditionalDiscriminator()
    g0 = [p.detach().clone() for p in G.parameters()]
    d0 = [p.detach().clone() for p in D.parameters()]
    C.train_conditional("cgan", G, D, images[:128], labels[:128], steps=2, batch_size=32, device="cpu",
                        progress=False, g_opt=torch.optim.SGD(G.parameters(), lr=0.0),
                        d_opt=torch.optim.Adam(D.parameters(), lr=1e-3))
    assert all(torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))


def test_train_conditional_weighs_infogan_information_term_and_refuses_a_weight_for_the_others():
    (images, labels), _ = data.split_held_out(*data.load_mnist_embedded())

    def trained(weight):
        torch.manual_seed(0)
        G, D = C.InfoGANGenerator(), C.InfoGANDiscriminator()
        C.train_conditional("infogan", G, D, images[:64], labels[:64], steps=2, batch_size=32, device="cpu",
                            progress=False, info_weight=weight)
        return [p.detach().clone() for p in G.parameters()]

    once, again, none = trained(1.0), trained(1.0), trained(0.0)
    assert all(torch.equal(a, b) for a, b in zip(once, again))
    assert any(not torch.equal(a, b) for a, b in zip(once, none)), "the weight reaches G's update"
    with pytest.raises(ValueError, match="a cgan has none"):
        C.train_conditional("cgan", C.ConditionalGenerator(), C.ConditionalDiscriminator(), images[:64],
                            labels[:64], steps=1, device="cpu", progress=False, info_weight=2.0)


@pytest.mark.parametrize("kind", ["cgan", "acgan"])
def test_an_r1_round_updates_d_with_the_gradient_penalty_on_the_real_pairs_added(kind):
    """One round with r1_gamma against the same round written out here: D's SGD step with the penalty
    gamma/2 E ||grad_x D(x, y)||^2 on the real batch equals the plain step plus the penalty's own gradient."""
    torch.manual_seed(0)
    G_cls, D_cls = pretrained.BUILDERS[kind]
    G, D = G_cls(), D_cls(dropout=0.0)
    real, labels = torch.rand(8, 1, 28, 28) * 2 - 1, torch.arange(8) % 10

    def one_round(gamma):
        g, d = G_cls(), D_cls(dropout=0.0)
        g.load_state_dict(G.state_dict())
        d.load_state_dict(D.state_dict())
        draws = torch.Generator().manual_seed(1)
        step = C.STEPS[kind]
        step(g, d, torch.optim.SGD(g.parameters(), lr=0.0), torch.optim.SGD(d.parameters(), lr=1.0), real.clone(),
             labels, lambda n: torch.randn(n, g.latent_dim, generator=draws),
             lambda n: torch.randint(10, (n,), generator=draws), r1_gamma=gamma)
        return [p.detach() for p in d.parameters()]

    x = real.clone().requires_grad_(True)
    logit = D(x, labels) if kind == "cgan" else D(x)[0]
    (grad_x,) = torch.autograd.grad(logit.sum(), x, create_graph=True)
    penalty = 0.5 * 3.0 * (grad_x ** 2).sum(dim=(1, 2, 3)).mean()
    penalty_grads = torch.autograd.grad(penalty, list(D.parameters()), allow_unused=True)
    plain, with_r1 = one_round(0.0), one_round(3.0)
    for a, b, pg in zip(plain, with_r1, penalty_grads):
        expected = a if pg is None else a - pg  # SGD with rate 1: the penalty's gradient is subtracted as well
        assert torch.allclose(b, expected, atol=1e-5)
    assert any(pg is not None and pg.abs().max() > 1e-6 for pg in penalty_grads), "the penalty reaches D"
    with pytest.raises(ValueError, match="r1_gamma"):
        C.train_conditional("infogan", C.InfoGANGenerator(), C.InfoGANDiscriminator(), real, labels, steps=1,
                            device="cpu", progress=False, r1_gamma=1.0)


def test_train_conditional_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        C.train_conditional("stylegan", None, None, torch.zeros(1), torch.zeros(1), steps=1)


def test_pretrained_loader_names_the_script_when_weights_are_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="scripts/train_models.py --models cgan"):
        pretrained.load_generator("cgan", folder=tmp_path)
    with pytest.raises(ValueError, match="unknown model"):
        pretrained.load_generator("biggan", folder=tmp_path)


def test_pretrained_round_trip_keeps_the_generator_up_to_half_precision(tmp_path):
    torch.manual_seed(0)
    G = C.ConditionalGenerator().eval()
    pretrained.save_generator(G, "cgan", {"model": "cgan"}, folder=tmp_path)
    loaded = pretrained.load_generator("cgan", folder=tmp_path)
    z, y = torch.randn(5, 100), torch.arange(5)
    assert (loaded(z, y) - G(z, y)).abs().max() < 2e-2
    assert pretrained.load_metadata("cgan", folder=tmp_path) == {"model": "cgan"}
