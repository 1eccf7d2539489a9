"""Claims of gancourse.train: devices, seeding, the alternating step, training, checkpoints."""

import copy
import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from gancourse import nets, train
from gancourse.data import ring_of_gaussians
from gancourse.nets import MLPDiscriminator, MLPGenerator
from gancourse.train import (
    History,
    alternating_step,
    load_checkpoint,
    pick_device,
    real_batches,
    sample,
    save_checkpoint,
    seed_everything,
    shared_fakes_step,
    train_gan,
)

HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "d_fake_g")


def _toy_nets(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    g = MLPGenerator(latent_dim=2, out_shape=(2,), hidden=(16,), tanh_output=False)
    d = MLPDiscriminator(in_shape=(2,), hidden=(16,))
    return g, d


@pytest.fixture(scope="module")
def ring():
    return ring_of_gaussians(256, seed=0)


def _params(net: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def _history_values(h: History) -> dict[str, list[float]]:
    return {key: list(getattr(h, key)) for key in HISTORY_KEYS}


# --- devices ------------------------------------------------------------------------------------

@pytest.fixture
def no_gpu(monkeypatch):
    """Make the tests mean the same on any machine: pretend there is neither CUDA nor MPS."""
    monkeypatch.delenv("GANCOURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_pick_device_returns_cpu_on_a_machine_without_gpu(no_gpu):
    assert pick_device() == torch.device("cpu")


def test_pick_device_prefers_cuda_when_it_is_available(no_gpu, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == torch.device("cuda")


def test_pick_device_honours_an_explicit_cpu_even_if_the_environment_says_otherwise(no_gpu,
                                                                                    monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("GANCOURSE_DEVICE", "cuda")
    assert pick_device("cpu") == torch.device("cpu")


def test_pick_device_honours_the_gancourse_device_variable(no_gpu, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("GANCOURSE_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")


def test_pick_device_raises_a_clear_error_for_cuda_without_a_gpu(no_gpu):
    with pytest.raises(RuntimeError) as info:
        pick_device("cuda")
    message = str(info.value)
    assert "cuda" in message.lower() and "cpu" in message


def test_pick_device_raises_for_cuda_from_the_environment_without_a_gpu(no_gpu, monkeypatch):
    monkeypatch.setenv("GANCOURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match=r"(?i)cuda"):
        pick_device()


def test_train_gan_on_cuda_without_a_gpu_fails_before_training(no_gpu, ring):
    g, d = _toy_nets()
    before = _params(g)
    with pytest.raises(RuntimeError, match=r"(?i)cuda"):
        train_gan(g, d, ring, steps=2, batch_size=16, device="cuda", progress=False)
    assert _same(before, _params(g))


# --- seeding ------------------------------------------------------------------------------------

def test_seed_everything_makes_torch_numpy_and_python_draws_repeat():
    seed_everything(123)
    first = (torch.randn(5), np.random.rand(5), random.random())
    seed_everything(123)
    second = (torch.randn(5), np.random.rand(5), random.random())
    assert torch.equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert first[2] == second[2]
    seed_everything(124)
    assert not torch.equal(first[0], torch.randn(5))


def test_seed_everything_returns_a_generator_seeded_with_the_seed():
    g = seed_everything(7)
    expected = torch.randn(4, generator=torch.Generator().manual_seed(7))
    assert torch.equal(torch.randn(4, generator=g), expected)


# --- one round of the game ----------------------------------------------------------------------

class _Round:
    """An alternating_step with tiny toy nets, instrumented with optimizer step hooks."""

    def __init__(self, ring: torch.Tensor, k: int):
        self.g, self.d = _toy_nets(1)
        self.g_opt = torch.optim.SGD(self.g.parameters(), lr=0.1)
        self.d_opt = torch.optim.SGD(self.d.parameters(), lr=0.1)
        self.g_start, self.d_start = _params(self.g), _params(self.d)
        self.events: list[str] = []
        self.g_grads_at_d_step: list[list] = []
        self.g_params_after_d_step: list[list[torch.Tensor]] = []
        self.d_params_after_d_step: list[list[torch.Tensor]] = []
        self.d_params_before_g_step: list[torch.Tensor] = []
        self.d_opt.register_step_pre_hook(self._d_pre)
        self.d_opt.register_step_post_hook(self._d_post)
        self.g_opt.register_step_pre_hook(self._g_pre)
        self.g_opt.register_step_post_hook(lambda *a: self.events.append("G"))
        self.real_calls = 0
        self.z_sizes: list[int] = []
        gen = torch.Generator().manual_seed(0)
        self.batches = real_batches(ring, 32, gen)
        self.record = alternating_step(self.g, self.d, self.g_opt, self.d_opt,
                                       self._next_real, self._sample_z, k=k)

    def _next_real(self):
        self.real_calls += 1
        return next(self.batches)

    def _sample_z(self, n):
        self.z_sizes.append(n)
        return torch.randn(n, 2)

    def _d_pre(self, *args):
        self.g_grads_at_d_step.append([p.grad for p in self.g.parameters()])

    def _d_post(self, *args):
        self.events.append("D")
        self.g_params_after_d_step.append(_params(self.g))
        self.d_params_after_d_step.append(_params(self.d))

    def _g_pre(self, *args):
        self.d_params_before_g_step = _params(self.d)


@pytest.fixture(scope="module")
def round_k3(ring):
    return _Round(ring, k=3)


def test_alternating_step_with_k_3_steps_d_three_times_then_g_once(round_k3):
    assert round_k3.events == ["D", "D", "D", "G"]


def test_alternating_step_draws_a_real_batch_for_every_d_update(round_k3):
    assert round_k3.real_calls == 3
    assert round_k3.z_sizes == [32, 32, 32, 32]  # k fake batches for D, one for G


def test_alternating_step_leaves_g_unchanged_during_phase_one(round_k3):
    for snapshot in round_k3.g_params_after_d_step:
        assert _same(snapshot, round_k3.g_start)
    assert not _same(_params(round_k3.g), round_k3.g_start)  # G does move in Phase II


def test_alternating_step_detaches_fakes_so_d_loss_gives_g_no_gradient(round_k3):
    assert len(round_k3.g_grads_at_d_step) == 3
    for grads in round_k3.g_grads_at_d_step:
        assert all(grad is None or torch.count_nonzero(grad) == 0 for grad in grads)


def test_alternating_step_d_moves_in_phase_one_but_not_in_phase_two(round_k3):
    after_d = round_k3.d_params_after_d_step
    assert not _same(after_d[0], round_k3.d_start)
    assert _same(round_k3.d_params_before_g_step, after_d[-1])
    assert _same(_params(round_k3.d), after_d[-1])


def test_alternating_step_sends_g_loss_gradient_to_every_generator_parameter(round_k3):
    for p in round_k3.g.parameters():
        assert p.grad is not None and torch.count_nonzero(p.grad) > 0


def test_alternating_step_reports_finite_losses_and_d_outputs_as_probabilities(round_k3):
    rec = round_k3.record
    assert set(rec) == set(HISTORY_KEYS)
    assert all(isinstance(v, float) and math.isfinite(v) for v in rec.values())
    for key in ("d_real", "d_fake", "d_fake_g"):
        assert 0.0 <= rec[key] <= 1.0


def test_alternating_step_uses_the_loss_functions_it_is_given(ring):
    g, d = _toy_nets(2)
    calls = {"d": [], "g": []}

    def d_loss(real_logits, fake_logits):
        calls["d"].append((real_logits.shape, fake_logits.shape))
        return (fake_logits - real_logits).mean()

    def g_loss(fake_logits):
        calls["g"].append(fake_logits.shape)
        return -fake_logits.mean()

    batches = real_batches(ring, 16, torch.Generator().manual_seed(0))
    rec = alternating_step(g, d, torch.optim.SGD(g.parameters(), lr=0.01),
                           torch.optim.SGD(d.parameters(), lr=0.01), lambda: next(batches),
                           lambda n: torch.randn(n, 2), k=2, d_loss_fn=d_loss, g_loss_fn=g_loss)
    assert calls["d"] == [(torch.Size([16]), torch.Size([16]))] * 2
    assert calls["g"] == [torch.Size([16])]
    assert isinstance(rec["g_loss"], float)


# --- train_gan ----------------------------------------------------------------------------------

def _run(ring, seed: int = 0, steps: int = 8, **kw) -> tuple[History, nn.Module, nn.Module]:
    g, d = _toy_nets(0)
    h = train_gan(g, d, ring, steps=steps, batch_size=32, seed=seed, progress=False, device="cpu",
                  **kw)
    return h, g, d


@pytest.fixture(scope="module")
def run_seed0(ring):
    return _run(ring, seed=0)


def test_train_gan_returns_a_history_with_one_finite_record_per_step(run_seed0):
    h, _, _ = run_seed0
    assert isinstance(h, History)
    assert len(h) == 8
    for key in HISTORY_KEYS:
        values = getattr(h, key)
        assert len(values) == 8, key
        assert all(math.isfinite(v) for v in values), key
    assert all(0.0 <= v <= 1.0 for key in ("d_real", "d_fake", "d_fake_g") for v in getattr(h, key))
    assert h.seconds > 0


def test_train_gan_with_the_same_seed_repeats_exactly(ring, run_seed0):
    h1, g1, d1 = run_seed0
    h2, g2, d2 = _run(ring, seed=0)
    assert _history_values(h1) == _history_values(h2)
    assert _same(_params(g1), _params(g2)) and _same(_params(d1), _params(d2))


def test_train_gan_with_another_seed_gives_a_different_history(ring, run_seed0):
    h1, _, _ = run_seed0
    h2, _, _ = _run(ring, seed=1)
    assert _history_values(h1) != _history_values(h2)


def test_train_gan_passes_k_to_the_alternating_step_and_calls_back_every_step(ring):
    g, d = _toy_nets(0)
    d_opt = torch.optim.Adam(d.parameters(), lr=1e-3)
    g_opt = torch.optim.Adam(g.parameters(), lr=1e-3)
    counts = {"d": 0, "g": 0}
    d_opt.register_step_post_hook(lambda *a: counts.__setitem__("d", counts["d"] + 1))
    g_opt.register_step_post_hook(lambda *a: counts.__setitem__("g", counts["g"] + 1))
    seen = []
    h = train_gan(g, d, ring, steps=4, batch_size=32, k=2, g_opt=g_opt, d_opt=d_opt,
                  progress=False, device="cpu", callback=lambda step, rec: seen.append(step))
    assert counts == {"d": 8, "g": 4}
    assert seen == [0, 1, 2, 3]
    assert len(h) == 4


def test_train_gan_appends_to_a_history_it_is_given(ring):
    h, g, d = _run(ring, steps=3)
    train_gan(g, d, ring, steps=2, batch_size=32, progress=False, device="cpu", history=h)
    assert len(h) == 5 and all(len(getattr(h, key)) == 5 for key in HISTORY_KEYS)


# --- shared_fakes_step: the PyTorch tutorial's round ---------------------------------------------

def _tutorial_round(g, d, g_opt, d_opt, real, z):
    """One round as the PyTorch DCGAN tutorial writes it, with BCE against label tensors."""
    bce = nn.BCEWithLogitsLoss()
    d.zero_grad()
    err_real = bce(d(real).view(-1), torch.ones(real.shape[0]))
    err_real.backward()
    fake = g(z)
    err_fake = bce(d(fake.detach()).view(-1), torch.zeros(real.shape[0]))
    err_fake.backward()
    d_opt.step()
    g.zero_grad()
    bce(d(fake).view(-1), torch.ones(real.shape[0])).backward()
    g_opt.step()


def test_shared_fakes_step_updates_both_nets_as_the_tutorials_round(ring):
    real, z = ring[:32], torch.randn(32, 2, generator=torch.Generator().manual_seed(5))
    nets = {}
    for name in ("library", "tutorial"):
        g, d = _toy_nets(3)
        g_opt, d_opt = torch.optim.Adam(g.parameters(), lr=1e-2), torch.optim.Adam(d.parameters(), lr=1e-2)
        if name == "library":
            rec = shared_fakes_step(g, d, g_opt, d_opt, lambda: real, lambda n: z[:n])
        else:
            _tutorial_round(g, d, g_opt, d_opt, real, z)
        nets[name] = (_params(g), _params(d))
    assert not _same(nets["library"][0], _params(_toy_nets(3)[0]))  # G moved
    for lib, tut in zip(nets["library"], nets["tutorial"], strict=True):
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(lib, tut, strict=True))
    assert set(rec) == set(HISTORY_KEYS) - {"r1"}


def test_shared_fakes_step_runs_g_once_where_alternating_step_runs_it_twice(ring):
    calls = {}
    for step in (alternating_step, shared_fakes_step):
        g, d = _toy_nets(0)
        count = []
        g.register_forward_hook(lambda *a, count=count: count.append(1))
        step(g, d, torch.optim.SGD(g.parameters(), lr=0.01), torch.optim.SGD(d.parameters(), lr=0.01),
             lambda: ring[:16], lambda n: torch.randn(n, 2))
        calls[step.__name__] = len(count)
    assert calls == {"alternating_step": 2, "shared_fakes_step": 1}


def test_train_gan_with_shared_fakes_plays_the_shared_round_and_refuses_k_above_1(ring):
    g, d = _toy_nets(0)
    count = []
    g.register_forward_hook(lambda *a: count.append(1))
    h = train_gan(g, d, ring, steps=3, batch_size=32, progress=False, device="cpu", shared_fakes=True)
    assert len(h) == 3 and len(count) == 3
    with pytest.raises(ValueError, match="k = 2"):
        train_gan(g, d, ring, steps=1, k=2, progress=False, device="cpu", shared_fakes=True)


# --- real_batches -------------------------------------------------------------------------------

def test_real_batches_yields_full_batches_that_cover_the_data_each_epoch():
    data = torch.arange(20, dtype=torch.float32).unsqueeze(1)
    it = real_batches(data, 5, torch.Generator().manual_seed(0))
    for _ in range(3):  # three epochs
        epoch = [next(it) for _ in range(4)]
        assert all(b.shape == (5, 1) for b in epoch)
        seen = torch.cat(epoch).squeeze(1).tolist()
        assert sorted(seen) == list(range(20))


def test_real_batches_shuffles_and_repeats_for_the_same_generator_seed():
    data = torch.arange(40, dtype=torch.float32).unsqueeze(1)

    def five(seed):
        it = real_batches(data, 8, torch.Generator().manual_seed(seed))
        return torch.cat([next(it) for _ in range(5)])

    first, again = five(1), five(1)
    assert torch.equal(first, again)
    assert first.squeeze(1).tolist() != list(range(40))
    assert not torch.equal(first, five(2))


def test_real_batches_never_yields_a_short_batch():
    data = torch.arange(23, dtype=torch.float32).unsqueeze(1)
    it = real_batches(data, 5, torch.Generator().manual_seed(2))
    sizes = [next(it).shape[0] for _ in range(12)]
    assert sizes == [5] * 12


class _LoopedForever(Exception):
    pass


def test_real_batches_with_a_batch_larger_than_the_data_does_not_loop_forever(monkeypatch):
    # A batch bigger than the data set can never be filled. Yielding a short batch or raising a
    # clear error are both fine; reshuffling forever without yielding (a silent hang) is not.
    # Count the epochs (one randperm each) and stop the generator if it never yields.
    real_randperm, epochs = torch.randperm, []

    def counting_randperm(*args, **kwargs):
        epochs.append(1)
        if len(epochs) > 50:
            raise _LoopedForever("real_batches reshuffled 50 times without yielding a batch")
        return real_randperm(*args, **kwargs)

    monkeypatch.setattr(torch, "randperm", counting_randperm)
    it = real_batches(torch.zeros(10, 2), 16, torch.Generator().manual_seed(0))
    try:
        batch = next(it)
    except (ValueError, RuntimeError) as err:  # a clear refusal
        assert "16" in str(err) or "batch" in str(err).lower()
    else:
        assert 0 < batch.shape[0] <= 10


# --- checkpoints --------------------------------------------------------------------------------

def _trained_with_optimizers(ring):
    g, d = _toy_nets(0)
    g_opt = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.5, 0.999))
    h = train_gan(g, d, ring, steps=3, batch_size=32, g_opt=g_opt, d_opt=d_opt, progress=False,
                  device="cpu")
    return g, d, g_opt, d_opt, h


def _fresh(seed: int = 99):
    g, d = _toy_nets(seed)
    return (g, d, torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.5, 0.999)),
            torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.5, 0.999)))


def _assert_optimizer_states_equal(a: torch.optim.Optimizer, b: torch.optim.Optimizer) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert sa["state"].keys() == sb["state"].keys() and len(sa["state"]) > 0
    for key in sa["state"]:
        for name, value in sa["state"][key].items():
            other = sb["state"][key][name]
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(other)), (key, name)


def test_checkpoint_round_trip_restores_nets_optimizers_history_and_extras(ring, tmp_path):
    g, d, g_opt, d_opt, h = _trained_with_optimizers(ring)
    path = save_checkpoint(tmp_path / "ckpt" / "run.pt", g, d, g_opt, d_opt, h,
                           epoch=3, note="ring")
    assert path.is_file()
    g2, d2, g_opt2, d_opt2 = _fresh()
    assert not _same(_params(g), _params(g2))  # the fresh nets really start elsewhere
    h2, extra = load_checkpoint(path, g2, d2, g_opt2, d_opt2)
    assert _same(_params(g), _params(g2)) and _same(_params(d), _params(d2))
    _assert_optimizer_states_equal(g_opt, g_opt2)
    _assert_optimizer_states_equal(d_opt, d_opt2)
    assert h2 == h
    assert extra == {"epoch": 3, "note": "ring"}


def test_checkpoint_is_written_without_leaving_a_temporary_file(ring, tmp_path):
    g, d = _toy_nets(0)
    save_checkpoint(tmp_path / "a.pt", g, d)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt"]
    g2, _ = _toy_nets(5)
    history, extra = load_checkpoint(tmp_path / "a.pt", g2)  # generator only
    assert history is None and extra == {}
    assert _same(_params(g), _params(g2))


def test_training_resumed_from_a_checkpoint_continues_exactly_like_the_original(ring, tmp_path):
    g, d, g_opt, d_opt, h = _trained_with_optimizers(ring)
    save_checkpoint(tmp_path / "run.pt", g, d, g_opt, d_opt, h)
    g2, d2, g_opt2, d_opt2 = _fresh()
    h2, _ = load_checkpoint(tmp_path / "run.pt", g2, d2, g_opt2, d_opt2)
    for args in ((g, d, g_opt, d_opt, h), (g2, d2, g_opt2, d_opt2, h2)):
        gg, dd, go, do, hh = args
        train_gan(gg, dd, ring, steps=3, batch_size=32, g_opt=go, d_opt=do, history=hh, seed=1,
                  progress=False, device="cpu")
    assert len(h2) == 6
    assert _history_values(h) == _history_values(h2)
    assert _same(_params(g), _params(g2)) and _same(_params(d), _params(d2))


# --- sample -------------------------------------------------------------------------------------

class _NormedGenerator(nn.Module):
    """A tiny G with BatchNorm, so that train and eval mode give different outputs."""

    latent_dim = 3

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))

    def forward(self, z):
        return self.net(z)


@pytest.mark.parametrize("training", [True, False])
def test_sample_returns_n_cpu_samples_and_leaves_the_training_mode_as_it_was(training):
    torch.manual_seed(0)
    g = _NormedGenerator().train(training)
    out = sample(g, 7, seed=3)
    assert out.shape == (7, 2) and out.device.type == "cpu"
    assert g.training is training
    assert all(m.training is training for m in g.modules())


def test_sample_draws_from_g_in_eval_mode_with_a_seeded_latent():
    torch.manual_seed(0)
    g = _NormedGenerator().train()
    with torch.no_grad():  # give BatchNorm running statistics that differ from a batch's own
        g.net[1].running_mean.fill_(0.5)
        g.net[1].running_var.fill_(2.0)
    out = sample(g, 6, seed=11)
    z = torch.randn(6, 3, generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        expected_eval = copy.deepcopy(g).eval()(z)
        expected_train = copy.deepcopy(g).train()(z)  # a copy: train mode updates running stats
    assert torch.allclose(out, expected_eval, atol=1e-6)
    assert not torch.allclose(out, expected_train, atol=1e-3)
    assert torch.equal(sample(g.train(), 6, seed=11), out)  # same seed, same samples
    assert not torch.equal(sample(g, 6, seed=12), out)
    assert out.grad_fn is None and not out.requires_grad


def test_sample_does_not_update_batchnorm_running_statistics():
    torch.manual_seed(0)
    g = _NormedGenerator().train()
    before = (g.net[1].running_mean.clone(), g.net[1].running_var.clone())
    sample(g, 16, seed=0)
    assert torch.equal(g.net[1].running_mean, before[0])
    assert torch.equal(g.net[1].running_var, before[1])


def test_history_length_is_the_number_of_recorded_steps():
    h = History()
    assert len(h) == 0
    h.append({"d_loss": 1.0, "g_loss": 2.0, "d_real": 0.6, "d_fake": 0.4, "d_fake_g": 0.45})
    assert len(h) == 1 and h.g_loss == [2.0] and h.as_dict()["d_fake_g"] == [0.45]


def test_bf16_autocast_runs_the_networks_in_bf16_and_the_losses_in_float32():
    """train_gan(autocast=torch.bfloat16): D's logits are made in bf16, the losses get them as float32, the
    weights stay float32, and the run still learns the same game (finite losses near the float32 run's)."""
    from gancourse import losses, nets

    seen = []

    def d_loss(real_logits, fake_logits):
        seen.append((real_logits.dtype, fake_logits.dtype))
        return losses.discriminator_loss(real_logits, fake_logits)

    images = torch.rand(64, 1, 28, 28) * 2 - 1
    runs = {}
    for dtype in (None, torch.bfloat16):
        torch.manual_seed(0)
        G, D = nets.DCGANGenerator(width=16), nets.DCGANDiscriminator(width=8)
        made: list[torch.dtype] = []
        D.register_forward_hook(lambda module, args, out, made=made: made.append(out.dtype))
        history = train_gan(G, D, images, steps=4, batch_size=16, progress=False, autocast=dtype, d_loss_fn=d_loss)
        runs[dtype] = history
        assert set(made) == {torch.float32 if dtype is None else torch.bfloat16}
        assert all(p.dtype == torch.float32 for p in [*G.parameters(), *D.parameters()])
    assert set(seen) == {(torch.float32, torch.float32)}, "the loss saw logits that were not float32"
    plain, bf16 = runs[None], runs[torch.bfloat16]
    assert all(math.isfinite(v) for v in bf16.d_loss + bf16.g_loss)
    assert abs(bf16.d_loss[0] - plain.d_loss[0]) < 0.05 and bf16.d_loss != plain.d_loss


# --- the R1 penalty in train_gan (chapter 6's three-seed ablation) ---------------------------------------------

def _r1_players(seed: int = 0):
    torch.manual_seed(seed)
    G, D = nets.DCGANGenerator(), nets.DCGANDiscriminator(dropout=0.0)
    G.apply(nets.dcgan_weights_init)
    D.apply(nets.dcgan_weights_init)
    return G, D


def test_train_gans_r1_round_is_the_alternating_step_plus_the_stylegan_penalty():
    """Three rounds of train_gan(r1_gamma=1) against rounds written out with stylegan.r1_penalty (which asks D for
    the real logits again; without dropout that is the same penalty)."""
    from gancourse import losses, stylegan

    data = torch.rand(256, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    G, D = _r1_players()
    # plain SGD: a change of the update is the change of the gradient (Adam would magnify round-off in gradients
    # near zero, which the order of float sums, and so the thread count, decides)
    train.train_gan(G, D, data, steps=3, batch_size=16, device="cpu", seed=5, progress=False, r1_gamma=1.0,
                    g_opt=torch.optim.SGD(G.parameters(), lr=0.05), d_opt=torch.optim.SGD(D.parameters(), lr=0.05))
    G_hand, D_hand = _r1_players()
    g_opt = torch.optim.SGD(G_hand.parameters(), lr=0.05)
    d_opt = torch.optim.SGD(D_hand.parameters(), lr=0.05)
    rng = train.seed_everything(5)
    batches = train.real_batches(data, 16, rng)
    for _ in range(3):
        real = next(batches)
        with torch.no_grad():
            fake = G_hand(torch.randn(16, G_hand.latent_dim, generator=rng))
        d_loss = losses.discriminator_loss(D_hand(real), D_hand(fake)) + stylegan.r1_penalty(D_hand, real, 1.0)
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        g_loss = losses.non_saturating_generator_loss(D_hand(G_hand(torch.randn(16, G_hand.latent_dim, generator=rng))))
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
    for net, hand in ((G, G_hand), (D, D_hand)):
        for a, b in zip(net.parameters(), hand.parameters()):
            assert torch.allclose(a, b, atol=1e-6), (a - b).abs().max()
    assert any(not torch.equal(a, b) for a, b in zip(D.parameters(), _r1_players()[1].parameters())), "D moved"


def test_r1_gamma_zero_is_the_plain_run_and_a_penalty_changes_d():
    data = torch.rand(128, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    runs = {}
    for gamma in (None, 0.0, 10.0):
        G, D = _r1_players()
        extra = {} if gamma is None else {"r1_gamma": gamma}
        train.train_gan(G, D, data, steps=2, batch_size=16, device="cpu", seed=5, progress=False, **extra)
        runs[gamma] = [p.detach().clone() for p in D.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(runs[None], runs[0.0]))
    assert any(not torch.allclose(a, b) for a, b in zip(runs[None], runs[10.0]))


@pytest.mark.parametrize("extra", [{"r1_gamma": -1.0}, {"r1_gamma": 1.0, "shared_fakes": True},
                                   {"r1_gamma": 1.0, "autocast": torch.bfloat16}])
def test_r1_gamma_is_refused_where_it_has_no_meaning(extra):
    G, D = _r1_players()
    with pytest.raises(ValueError, match="r1_gamma"):
        train.train_gan(G, D, torch.zeros(16, 1, 28, 28), steps=1, batch_size=16, device="cpu", progress=False,
                        **extra)
