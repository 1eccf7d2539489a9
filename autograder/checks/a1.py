"""Hidden checks for assignment 1 (chapter 1): the GAN losses and one alternating training step.

Expected values are computed here independently, in float64 NumPy with the stable identities
-log sigmoid(t) = log(1 + e^-t) and -log(1 - sigmoid(t)) = log(1 + e^t), never by calling the
course library. Any correct formulation (softplus, logsigmoid, BCEWithLogitsLoss, ...) passes.
"""

from __future__ import annotations

import numpy as np
import torch

from gancourse import losses as lib_losses
from gancourse import nets as lib_nets
from gancourse import train as lib_train

from . import assert_close, fail, library_switched_off, refuse_borrowed, run_check, scalar_tensor, to_numpy

LIBRARY = [lib_losses.discriminator_loss, lib_losses.saturating_generator_loss,
           lib_losses.non_saturating_generator_loss, lib_train.alternating_step]


# --- independent references (NumPy, float64) ---------------------------------------------------

def _softplus(t: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, t)


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -t))


def _ref_d(real: np.ndarray, fake: np.ndarray):
    """Value and input-gradients of mean(-log s(real)) + mean(-log(1 - s(fake)))."""
    value = _softplus(-real).mean() + _softplus(fake).mean()
    return value, -(1 - _sigmoid(real)) / real.size, _sigmoid(fake) / fake.size


def _ref_sat(fake: np.ndarray):
    """Value and gradient of mean log(1 - s(fake)) = -mean softplus(fake)."""
    return -_softplus(fake).mean(), -_sigmoid(fake) / fake.size


def _ref_nonsat(fake: np.ndarray):
    """Value and gradient of -mean log s(fake) = mean softplus(-fake)."""
    return _softplus(-fake).mean(), -(1 - _sigmoid(fake)) / fake.size


def _logit_batches(gen: torch.Generator) -> list[torch.Tensor]:
    """Random logits of several scales and sizes, plus the extreme ones D produces when it is sure."""
    extreme = [torch.tensor([100.0, -100.0, 30.0, -30.0]), torch.tensor([1000.0, -1000.0, 0.0])]
    return extreme + [torch.randn(n, generator=gen) * scale for n, scale in ((7, 1.0), (5, 3.0), (64, 8.0), (1, 2.0))]


def _call_loss(fn, *logits: torch.Tensor):
    inputs = [t.clone().requires_grad_(True) for t in logits]
    with library_switched_off(LIBRARY):
        out = fn(*inputs)
    out = scalar_tensor(out, fn.__name__ if hasattr(fn, "__name__") else "the loss")
    if not out.requires_grad:
        fail("the returned loss is not connected to the logits (no gradient flows back); "
             "compute it with torch operations on the logits.")
    grads = torch.autograd.grad(out, inputs, allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, inputs)]
    return out, grads


# --- parts 1-3: the losses ----------------------------------------------------------------------

def check_discriminator_loss(discriminator_loss) -> None:
    def check():
        refuse_borrowed(discriminator_loss, "discriminator_loss", LIBRARY)
        gen = torch.Generator().manual_seed(11)
        batches = _logit_batches(gen)
        for real, fake in zip(batches, batches[1:] + batches[:1]):
            out, (g_real, g_fake) = _call_loss(discriminator_loss, real, fake)
            value, e_real, e_fake = _ref_d(to_numpy(real), to_numpy(fake))
            where = f"with {real.numel()} real and {fake.numel()} fake logits"
            assert_close(out, value, f"discriminator_loss value {where}")
            assert_close(g_real, e_real, f"gradient of discriminator_loss w.r.t. the real logits {where}")
            assert_close(g_fake, e_fake, f"gradient of discriminator_loss w.r.t. the fake logits {where}")
    run_check("discriminator_loss", check)


def _check_generator_loss(fn, name: str, reference, opposite: str) -> None:
    def check():
        refuse_borrowed(fn, name, LIBRARY)
        for fake in _logit_batches(torch.Generator().manual_seed(12)):
            out, (grad,) = _call_loss(fn, fake)
            value, e_grad = reference(to_numpy(fake))
            where = f"for {fake.numel()} fake logits"
            if abs(float(out) - value) > 1e-4 * abs(value) + 1e-5:
                other = (_ref_nonsat if reference is _ref_sat else _ref_sat)(to_numpy(fake))[0]
                hint = f" (that is the {opposite} loss)" if abs(float(out) - other) <= 1e-4 * abs(other) + 1e-5 else ""
                fail(f"{name} value {where}: expected {value:.5f}, got {float(out):.5f}{hint}.")
            assert_close(grad, e_grad, f"gradient of {name} w.r.t. the fake logits {where}")
    run_check(name, check)


def check_saturating_generator_loss(saturating_generator_loss) -> None:
    _check_generator_loss(saturating_generator_loss, "saturating_generator_loss", _ref_sat, "non-saturating")


def check_non_saturating_generator_loss(non_saturating_generator_loss) -> None:
    _check_generator_loss(non_saturating_generator_loss, "non_saturating_generator_loss", _ref_nonsat,
                          "saturating")


# --- part 4: one round of the alternating algorithm ---------------------------------------------

def _params(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(x.shape == y.shape and bool((x == y).all()) for x, y in zip(a, b))


def _grads_match(net: torch.nn.Module, expected: list[torch.Tensor]) -> bool:
    for p, e in zip(net.parameters(), expected):
        g = torch.zeros_like(p) if p.grad is None else p.grad
        if to_numpy((g - e).abs().max()) > 1e-5 + 1e-4 * to_numpy(e.abs().max()):
            return False
    return True


class _Referee:
    """Watches one call of the student's alternating_step through the objects it is handed.

    The loss functions, optimizers, data and noise sources are the grader's own, instrumented, so
    every claim of the algorithm is observed directly: which logits reach which loss, whether the
    fakes are detached in Phase I, which gradients each optimizer step applies, and in what order.
    """

    def __init__(self, k: int, seed: int) -> None:
        torch.manual_seed(seed)
        self.k, self.batch = k, 8
        self.G = lib_nets.MLPGenerator(latent_dim=3, out_shape=(2,), hidden=(16,), tanh_output=False)
        self.D = lib_nets.MLPDiscriminator(in_shape=(2,), hidden=(16,))
        self.g_opt = torch.optim.SGD(self.G.parameters(), lr=0.1)
        self.d_opt = torch.optim.SGD(self.D.parameters(), lr=0.1)
        self.d_opt.register_step_pre_hook(lambda *_: self._before_d_step())
        self.d_opt.register_step_post_hook(lambda *_: self._after_d_step())
        self.g_opt.register_step_pre_hook(lambda *_: self._before_g_step())
        self.g_opt.register_step_post_hook(lambda *_: self._after_g_step())
        self.data_gen = torch.Generator().manual_seed(seed + 1)
        self.z_gen = torch.Generator().manual_seed(seed + 2)
        self.failure: str | None = None
        self.new_round()

    def new_round(self) -> None:
        """Forget the previous round's observations; the nets and optimizers carry over."""
        self.real_pool = [torch.randn(self.batch, 2, generator=self.data_gen) * 0.3 + 2.0
                          for _ in range(self.k + 1)]
        self.real_given: list[torch.Tensor] = []
        self.z_given: list[torch.Tensor] = []
        self.events: list[str] = []
        self.g_start = _params(self.G)
        self.d_after_phase1: list[torch.Tensor] | None = None
        self.expected_d_grads: list[torch.Tensor] | None = None
        self.expected_g_grads: list[torch.Tensor] | None = None
        self.used_real: list[int] = []
        self.last: dict[str, float] = {}

    def fail(self, message: str) -> None:
        """Record the first violation (so a try/except in the submission cannot hide it), then raise."""
        if self.failure is None:
            self.failure = message
        fail(message)

    # data sources handed to the student
    def next_real(self) -> torch.Tensor:
        if len(self.real_given) >= len(self.real_pool):
            self.fail("next_real() was called more often than one fresh real batch per discriminator step.")
        batch = self.real_pool[len(self.real_given)]
        self.real_given.append(batch)
        return batch.clone()

    def sample_z(self, n: int) -> torch.Tensor:
        z = torch.randn(int(n), 3, generator=self.z_gen)
        self.z_given.append(z)
        return z.clone()

    # instrumented losses (the grader's own, independent of the student's parts 1-3)
    def d_loss_fn(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        d_steps = self.events.count("D")
        if "G" in self.events or d_steps >= self.k:
            self.fail(f"the discriminator loss was computed after the {self.k} discriminator step(s) of Phase I.")
        self.events.append("d_loss")
        with torch.no_grad():
            for i, real in enumerate(self.real_given):
                if real_logits.shape == (self.batch,) and _close(real_logits, self.D(real)):
                    if i in self.used_real:
                        self.fail("each discriminator step must draw a fresh real batch with next_real().")
                    self.used_real.append(i)
                    break
            else:
                self.fail("the first argument of d_loss_fn must be D's logits on the current real batch "
                     "(are real and fake swapped?).")
            fakes = [self.D(self.G(z)) for z in self.z_given]
            if not any(fake_logits.shape == f.shape and _close(fake_logits, f) for f in fakes):
                self.fail("the second argument of d_loss_fn must be D's logits on G(z) for freshly sampled z.")
        if fake_logits.requires_grad:
            reach = torch.autograd.grad(fake_logits.sum(), list(self.G.parameters()), allow_unused=True,
                                        retain_graph=True)
            if any(g is not None for g in reach):
                self.fail("in Phase I the fake images must be detached from G (use .detach() or torch.no_grad()): "
                     "the discriminator loss reaches the generator's parameters.")
        loss = _stable_d(real_logits, fake_logits)
        self.expected_d_grads = [torch.zeros_like(p) if g is None else g for p, g in zip(
            self.D.parameters(),
            torch.autograd.grad(loss, list(self.D.parameters()), retain_graph=True, allow_unused=True))]
        self.last["d_loss"] = loss.item()
        return loss

    def g_loss_fn(self, fake_logits: torch.Tensor) -> torch.Tensor:
        if self.events.count("D") != self.k or "G" in self.events:
            self.fail(f"the generator loss must be computed after exactly {self.k} discriminator step(s) "
                 f"(saw {self.events.count('D')}).")
        self.events.append("g_loss")
        with torch.no_grad():
            fakes = [self.D(self.G(z)) for z in self.z_given]
        if not any(fake_logits.shape == f.shape and _close(fake_logits, f) for f in fakes):
            self.fail("g_loss_fn must receive the updated D's logits on G(z).")
        reach = torch.autograd.grad(fake_logits.sum(), list(self.G.parameters()), allow_unused=True,
                                    retain_graph=True) if fake_logits.requires_grad else [None]
        if all(g is None for g in reach):
            self.fail("in Phase II the generator loss must reach G's parameters: do not detach G(z) there.")
        loss = _stable_nonsat(fake_logits)
        self.expected_g_grads = [torch.zeros_like(p) if g is None else g for p, g in zip(
            self.G.parameters(),
            torch.autograd.grad(loss, list(self.G.parameters()), retain_graph=True, allow_unused=True))]
        self.last["g_loss"] = loss.item()
        return loss

    # optimizer hooks
    def _before_d_step(self) -> None:
        if "G" in self.events:
            self.fail("the discriminator was updated after the generator step; Phase I comes first.")
        if self.events.count("D") >= self.k:
            self.fail(f"the discriminator was updated more than k={self.k} times.")
        if not self.events or self.events[-1] != "d_loss":
            self.fail("each discriminator update must follow a new discriminator loss.")
        if not _grads_match(self.D, self.expected_d_grads):
            self.fail("the gradients in the discriminator update are not those of the discriminator loss "
                 "(forgot zero_grad, or called backward on something else?).")
        if not _same(_params(self.G), self.g_start):
            self.fail("the generator's parameters changed during Phase I.")

    def _after_d_step(self) -> None:
        self.events.append("D")
        self.d_after_phase1 = _params(self.D)

    def _before_g_step(self) -> None:
        if self.events.count("D") != self.k:
            self.fail(f"the generator was updated after {self.events.count('D')} discriminator step(s); "
                 f"k={self.k} come first.")
        if "G" in self.events:
            self.fail("the generator was updated more than once.")
        if not self.events or self.events[-1] != "g_loss":
            self.fail("the generator update must follow the generator loss.")
        if not _grads_match(self.G, self.expected_g_grads):
            self.fail("the gradients in the generator update are not those of the generator loss.")

    def _after_g_step(self) -> None:
        self.events.append("G")


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(to_numpy((a.detach() - b).abs().max()) <= 1e-5 + 1e-5 * to_numpy(b.abs().max()))


def _stable_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.softplus(-real_logits).mean() + torch.nn.functional.softplus(fake_logits).mean()


def _stable_nonsat(fake_logits: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.softplus(-fake_logits).mean()


def check_alternating_step(alternating_step) -> None:
    def check():
        refuse_borrowed(alternating_step, "alternating_step", LIBRARY)
        for k, seed in ((1, 100), (3, 200), (2, 300)):
            ref = _Referee(k, seed)
            for round_ in (1, 2):  # a second round exposes gradients left over from the first
                ref.new_round()
                with library_switched_off(LIBRARY):
                    result = alternating_step(ref.G, ref.D, ref.g_opt, ref.d_opt, ref.next_real,
                                              ref.sample_z, k=k, d_loss_fn=ref.d_loss_fn,
                                              g_loss_fn=ref.g_loss_fn)
                if ref.failure is not None:
                    fail(ref.failure)
                where = f"with k={k}, round {round_}"
                if ref.events.count("D") != k:
                    fail(f"{where} the discriminator was updated {ref.events.count('D')} time(s).")
                if ref.events.count("G") != 1:
                    fail(f"{where} the generator was updated {ref.events.count('G')} time(s) instead of once.")
                if not _same(_params(ref.D), ref.d_after_phase1):
                    fail("the discriminator's parameters changed during Phase II.")
                if not isinstance(result, dict) or not {"d_loss", "g_loss"} <= set(result):
                    fail("alternating_step must return a dict with the keys 'd_loss' and 'g_loss'.")
                for key in ("d_loss", "g_loss"):
                    value = result[key]
                    if isinstance(value, torch.Tensor):
                        fail(f"result['{key}'] must be a Python float (use .item()), not a tensor.")
                    assert_close(float(value), ref.last[key], f"result['{key}'] {where}")
    run_check("alternating_step", check)
